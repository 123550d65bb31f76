"""Contract versions: registering a contract file in the ledger by its content.

Problem: a settlement must be recomputable years later from the exact contract it used,
and an amended contract must not change what earlier settlements meant.

Approach: a version is the file's bytes (kept as text in `source`) identified by their
SHA-256. Registering the same bytes again returns the existing version; changed bytes
are a new version of the same contract id (an amendment). Only a contract that reads
and checks without errors is registered, with its row layout (layout.py) fixed at that
moment.
"""

from __future__ import annotations

import getpass
import hashlib
import pathlib
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contracts import checks
from contracts.contract_file import located, read_contract
from contracts.errors import InputError, UsageError
from contracts.issues import Issue, errors
from contracts.model import Contract
from contracts.store import events
from contracts.store.layout import Layout, plan
from contracts.store.tables import ContractVersion

VERSION = ContractVersion.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ContractFile:
    """A contract file read for the ledger: model, layout, bytes and hash."""

    path: str  # as the user gave it
    contract: Contract
    layout: Layout
    source: str  # the file's text
    sha256: str  # SHA-256 of the file's bytes


def actor(by: str | None) -> str:
    """Who does this: `--by`, else the operating-system user."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def read_for_ledger(path: pathlib.Path) -> tuple[ContractFile | None, list[Issue]]:
    """Read and check a contract file; None with the issues when it cannot be used."""
    try:
        raw = path.read_bytes()
        loaded = read_contract(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a contract file") from None
    if hashlib.sha256(raw).hexdigest() != loaded.sha256:
        raise InputError(f"{path} changed while it was being read; try again")
    issues = list(loaded.issues)
    contract = loaded.contract
    if contract is None or errors(issues):
        return None, issues
    issues += [
        located(loaded.doc, loaded.path, f.path, f.code, f.message, f.offset, f.severity)
        for f in checks.check(contract)
    ]
    layout, problems = plan(contract)
    issues += [
        located(loaded.doc, loaded.path, ("outcome_file", "columns"), i.code, i.message)
        for i in problems
    ]
    if layout is None or errors(issues):
        return None, issues
    text = raw.decode("utf-8-sig", errors="replace")
    return ContractFile(loaded.path, contract, layout, text, loaded.sha256), issues


def lock_contract(conn: Connection, contract_id: str) -> None:
    """Serialise writers of one contract (PostgreSQL; SQLite writers are serial already)."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(contract_id.encode()).digest()[:8], "big", signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def register(conn: Connection, cf: ContractFile, by: str) -> tuple[int, bool]:
    """The version id of this file, registering it if new; (id, created)."""
    found = conn.execute(sa.select(VERSION.c.id).where(VERSION.c.sha256 == cf.sha256)).first()
    if found is not None:
        return int(found.id), False
    earlier = conn.execute(
        sa.select(sa.func.count()).where(VERSION.c.contract_id == cf.contract.contract.id)
    ).scalar_one()
    new_id = conn.execute(
        VERSION.insert()
        .values(
            contract_id=cf.contract.contract.id,
            sha256=cf.sha256,
            source=cf.source,
            layout=cf.layout.to_json(),
            created_at=datetime.now(UTC),
            created_by=by,
        )
        .returning(VERSION.c.id)
    ).scalar_one()
    events.append(
        conn,
        "contract-registered",
        by,
        f"contract_version:{new_id}",
        {
            "contract": cf.contract.contract.id,
            "version": new_id,
            "sha256": cf.sha256,
            "file": cf.path,
            "amendment": earlier > 0,
        },
    )
    return int(new_id), True


def register_contract(
    store_conn: Connection, path: pathlib.Path, by: str | None = None
) -> tuple[int | None, bool, list[Issue]]:
    """Read, check and register a contract file: (version id or None, created, issues)."""
    cf, issues = read_for_ledger(path)
    if cf is None:
        return None, False, issues
    lock_contract(store_conn, cf.contract.contract.id)
    vid, created = register(store_conn, cf, actor(by))
    return vid, created, issues
