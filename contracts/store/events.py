"""The append-only event log: each event carries the hash of the one before it.

Problem: an auditor must be able to tell, years later, whether anyone changed or
removed a record of what happened (a contract registered, a file ingested or superseded,
a settlement stored or approved) directly in the database.

Approach: every event's `hash` is SHA-256 over the canonical JSON of its own fields
(at, actor, kind, subject, payload) and the previous event's hash, starting from
`GENESIS`. Changing, inserting or deleting an event breaks the chain at that point;
`verify_chain` walks it in id order and reports the first broken link with the stored
and the recomputed value. Appends are serialised (a transaction-scoped advisory lock on
PostgreSQL; SQLite's write transactions are serial already) and `prev_hash` is unique,
so two writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contracts.issues import Issue, Location
from contracts.store.canonical import canonical_json
from contracts.store.tables import Event

GENESIS = "0" * 64
CHAIN_LOCK = 7002  # pg_advisory_xact_lock key for appending to the chain
EVENT = Event.__table__  # type: ignore[attr-defined]


def event_hash(prev_hash: str, at: str, actor: str, kind: str, subject: str, payload: str) -> str:
    """The hash an event must carry, given its fields and its predecessor's hash."""
    body = canonical_json(
        {
            "prev": prev_hash,
            "at": at,
            "actor": actor,
            "kind": kind,
            "subject": subject,
            "payload": payload,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def append(conn: Connection, kind: str, actor: str, subject: str, payload: Any) -> str:
    """Append one event inside the caller's transaction; returns its hash."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})
    last = conn.execute(sa.select(EVENT.c.hash).order_by(EVENT.c.id.desc()).limit(1)).scalar()
    prev = last or GENESIS
    at = now_text()
    body = canonical_json(payload)
    digest = event_hash(prev, at, actor, kind, subject, body)
    conn.execute(
        EVENT.insert().values(
            at=at,
            actor=actor,
            kind=kind,
            subject=subject,
            payload=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    return digest


def verify_chain(conn: Connection) -> list[Issue]:
    """Walk the chain in order; the first broken link as an `event-chain` issue, else []."""
    prev = GENESIS
    rows = conn.execute(sa.select(EVENT).order_by(EVENT.c.id)).mappings()
    for e in rows:
        where = Location(path=f"event[{e['id']}]")
        if e["prev_hash"] != prev:
            return [
                Issue(
                    "event-chain",
                    f"event {e['id']} ({e['kind']} {e['subject']}) follows {e['prev_hash']}, "
                    f"but the event before it has hash {prev}: an event was removed or inserted",
                    where,
                )
            ]
        should = event_hash(prev, e["at"], e["actor"], e["kind"], e["subject"], e["payload"])
        if e["hash"] != should:
            return [
                Issue(
                    "event-chain",
                    f"event {e['id']} ({e['kind']} {e['subject']}) has stored hash {e['hash']}, "
                    f"but its contents hash to {should}: the event was changed",
                    where,
                )
            ]
        prev = e["hash"]
    return []
