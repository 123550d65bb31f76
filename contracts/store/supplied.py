"""Ingesting supplied figures (an evaluator's comparison-group rate, a published statistic).

Problem: figures that arrive aggregated are inputs like outcome files: hashed, recorded,
superseded, never edited; a second file giving a figure already on record must not
silently win.

Approach: the file is read with `supplied_file.read_supplied`; an invalid file stores
nothing. A file whose bytes are already live is recognised. A figure (metric, period)
already held by another live supplied submission is refused unless `replace`, which
supersedes every submission that held one of the file's figures (all stay on record).
One transaction, serialised per contract, events appended.
"""

from __future__ import annotations

import pathlib

import sqlalchemy as sa

from contracts.errors import UsageError
from contracts.issues import Issue, Location, errors
from contracts.store import events
from contracts.store.db import Store
from contracts.store.ingest import (
    SUB,
    IngestResult,
    new_submission,
    retire,
    supersede,
)
from contracts.store.tables import SuppliedFigure
from contracts.store.versions import actor, lock_contract, read_for_ledger, register
from contracts.supplied_file import read_supplied

FIGURE = SuppliedFigure.__table__  # type: ignore[attr-defined]


def ingest_supplied(
    store: Store,
    contract_path: pathlib.Path,
    file: pathlib.Path,
    *,
    by: str | None = None,
    replace: bool = False,
) -> IngestResult:
    """Store a file of supplied figures as one submission, all or nothing."""
    cf, issues = read_for_ledger(contract_path)
    if cf is None:
        return IngestResult("invalid", f"{contract_path} has errors", issues=tuple(issues))
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    figures, problems, digest = read_supplied(file, cf.contract)
    if errors(problems):
        return IngestResult(
            "invalid",
            f"{file} has problems; nothing was stored",
            sha256=digest,
            issues=tuple(problems),
        )
    who, cid = actor(by), cf.contract.contract.id
    with store.write() as conn:
        lock_contract(conn, cid)
        version, _ = register(conn, cf, who)
        live = sa.and_(SUB.c.contract_id == cid, SUB.c.kind == "supplied", SUB.c.status == "live")
        same = conn.execute(sa.select(SUB.c.id).where(live, SUB.c.sha256 == digest)).scalar()
        if same is not None:
            return IngestResult(
                "already",
                f"{file} is already ingested as submission {same}; nothing new was stored",
                int(same),
                version,
                sha256=digest,
            )
        held = conn.execute(
            sa.select(FIGURE.c.metric, FIGURE.c.period, FIGURE.c.submission_id)
            .join(SUB, SUB.c.id == FIGURE.c.submission_id)
            .where(live)
        ).all()
        clash = sorted({(m, p, s) for m, p, s in held if (m, p) in figures})
        if clash and not replace:
            found = tuple(
                Issue(
                    "figure-taken",
                    f"{m} for {p} is already on record in submission {s}; give --replace to "
                    "supersede it (both stay on record)",
                    Location(file=str(file), path=f"{m}.{p}"),
                )
                for m, p, s in clash
            )
            return IngestResult("refused", found[0].message, sha256=digest, issues=found)
        old = sorted({int(s) for _, _, s in clash})
        retire(conn, old)
        sid = new_submission(conn, cf, version, "supplied", None, file, digest, who)
        if figures:
            conn.execute(
                FIGURE.insert(),
                [
                    {"submission_id": sid, "metric": m, "period": p, "value": str(v)}
                    for (m, p), v in sorted(figures.items())
                ],
            )
        conn.execute(SUB.update().where(SUB.c.id == sid).values(rows=len(figures)))
        events.append(
            conn,
            "submission-ingested",
            who,
            f"submission:{sid}",
            {
                "submission": sid,
                "contract_version": version,
                "kind": "supplied",
                "file": str(file),
                "sha256": digest,
                "rows": len(figures),
                "replaces": old,
            },
        )
        supersede(conn, old, sid, who)
    return IngestResult(
        "stored",
        f"stored {len(figures)} figures of {file} as submission {sid}",
        sid,
        version,
        len(figures),
        digest,
        tuple(old),
    )
