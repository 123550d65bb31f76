"""Ingesting outcome files and supplied figures into the ledger: all or nothing.

Problem: a file is stored completely or not at all; the same file twice is recognised;
a second file for a period is refused unless it is meant to replace the first (both
stay on record); a row already stored under another live submission is refused; and a
million-row file is stored in at most the time validation takes again.

Approach: the cheap decisions come first, from the file's hash before it is read (same
file again, period already taken). Then ONE transaction: the contract version is
registered, the submission row inserted, and the file is read once, validated and
streamed into the database as it goes (rows.RowWriter on the validator's `on_batch`,
the database working in a second thread). Validity is known only at the end, so an
invalid file rolls the transaction back; the alternative -- validate first, then read
the file a second time to store it -- would cost a second parse of every cell (for xlsx
the dominant cost) on every valid file to save work only on invalid ones. A key
repeated within the file reaches the database, whose primary key refuses it, and the
report names its rows (rows.py says why). Grain keys are then checked against the
other live submissions in SQL, probing from whichever side has fewer rows
(`_any_clash`), the events appended, and the transaction committed. A process killed
at any point leaves the database as it was: the transaction never committed. Writers
of one contract are serialised (versions.lock_contract) so two ingests cannot both pass
the checks.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contracts.errors import UsageError
from contracts.issues import Issue, Location
from contracts.outcome_sheet import read_digest, validate_file
from contracts.periods import Period
from contracts.settle import any_period
from contracts.store import events
from contracts.store.db import Store
from contracts.store.rows import ROW, RowWriter
from contracts.store.tables import Submission
from contracts.store.versions import ContractFile, actor, lock_contract, read_for_ledger, register
from contracts.validate import ValidationReport

SUB = Submission.__table__  # type: ignore[attr-defined]
Status = Literal["stored", "already", "refused", "invalid"]


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file."""

    status: Status  # stored; already (same file, nothing new); refused; invalid (issues)
    message: str  # one plain sentence for the user
    submission_id: int | None = None  # the new submission, or the one already holding the file
    contract_version_id: int | None = None
    rows: int = 0  # rows (or figures) stored
    sha256: str = ""
    superseded: tuple[int, ...] = ()  # submissions this one replaced
    issues: tuple[Issue, ...] = ()  # why it was refused or invalid
    report: ValidationReport | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status in ("stored", "already")


class _Undo(Exception):
    """Roll the transaction back and return this result instead."""

    def __init__(self, result: IngestResult) -> None:
        super().__init__(result.message)
        self.result = result


def _live(contract_id: str, kind: str) -> Any:
    return sa.and_(SUB.c.contract_id == contract_id, SUB.c.kind == kind, SUB.c.status == "live")


def _same_file(conn: Connection, contract_id: str, kind: str, digest: str) -> int | None:
    found = conn.execute(
        sa.select(SUB.c.id).where(_live(contract_id, kind), SUB.c.sha256 == digest)
    ).scalar()
    return None if found is None else int(found)


def new_submission(
    conn: Connection,
    cf: ContractFile,
    version: int,
    kind: str,
    period: str | None,
    file: pathlib.Path,
    digest: str,
    by: str,
) -> int:
    return int(
        conn.execute(
            SUB.insert()
            .values(
                contract_id=cf.contract.contract.id,
                contract_version_id=version,
                kind=kind,
                period=period,
                file_name=str(file),
                sha256=digest,
                size=file.stat().st_size,
                rows=0,
                submitted_at=datetime.now(UTC),
                submitted_by=by,
                status="live",
            )
            .returning(SUB.c.id)
        ).scalar_one()
    )


def supersede(conn: Connection, old: list[int], new: int, by: str) -> None:
    """Mark `old` superseded by `new` (after `new` exists), with an event each."""
    for sid in old:
        conn.execute(SUB.update().where(SUB.c.id == sid).values(superseded_by=new))
        events.append(
            conn, "submission-superseded", by, f"submission:{sid}", {"submission": sid, "by": new}
        )


def retire(conn: Connection, old: list[int]) -> None:
    """Take `old` out of the live set first, so the new one may take its place."""
    if old:
        conn.execute(SUB.update().where(SUB.c.id.in_(old)).values(status="superseded"))


def ingest_outcomes(
    store: Store,
    contract_path: pathlib.Path,
    file: pathlib.Path,
    period: str | None,
    *,
    by: str | None = None,
    replace: bool = False,
    limit_errors: int = 100,
) -> IngestResult:
    """Validate `file` and store its rows as one submission, all or nothing."""
    cf, issues = read_for_ledger(contract_path)
    if cf is None:
        return IngestResult("invalid", f"{contract_path} has errors", issues=tuple(issues))
    wanted = None if period is None else any_period(cf.contract, period)
    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    digest, _ = read_digest(file)
    who = actor(by)
    cid = cf.contract.contract.id
    try:
        with store.write() as conn:
            lock_contract(conn, cid)
            version, _ = register(conn, cf, who)
            same = _same_file(conn, cid, "outcomes", digest)
            if same is not None:
                return IngestResult(
                    "already",
                    f"{file} is already ingested as submission {same}; nothing new was stored",
                    same,
                    version,
                    sha256=digest,
                )
            old = _taken(conn, cid, wanted, file, replace)
            retire(conn, old)
            sid = new_submission(
                conn, cf, version, "outcomes", (wanted.id if wanted else None), file, digest, who
            )
            report, stored = _store_rows(conn, cf, file, wanted, sid, limit_errors)
            _check_grain(conn, cf, sid, file, report, stored, limit_errors)
            conn.execute(SUB.update().where(SUB.c.id == sid).values(rows=stored))
            events.append(
                conn,
                "submission-ingested",
                who,
                f"submission:{sid}",
                {
                    "submission": sid,
                    "contract_version": version,
                    "kind": "outcomes",
                    "period": (wanted.id if wanted else None),
                    "file": str(file),
                    "sha256": digest,
                    "rows": stored,
                    "replaces": old,
                },
            )
            supersede(conn, old, sid, who)
    except _Undo as undo:
        return undo.result
    replaced = f", superseding submission {', '.join(map(str, old))}" if old else ""
    return IngestResult(
        "stored",
        f"stored {stored} rows of {file} as submission {sid}{replaced}",
        sid,
        version,
        stored,
        digest,
        tuple(old),
        report=report,
    )


def _taken(
    conn: Connection, cid: str, wanted: Period | None, file: pathlib.Path, replace: bool
) -> list[int]:
    """The live submissions for this period: refused unless `replace`, else to supersede."""
    if wanted is None:
        return []
    rows = conn.execute(
        sa.select(SUB.c.id, SUB.c.file_name).where(
            _live(cid, "outcomes"), SUB.c.period == wanted.id
        )
    ).all()
    if rows and not replace:
        first = rows[0]
        message = (
            f"{wanted.id} already has submission {first.id} ({first.file_name}); "
            "give --replace to supersede it with this file (both stay on record)"
        )
        raise _Undo(
            IngestResult(
                "refused",
                message,
                issues=(Issue("period-taken", message, Location(file=str(file))),),
            )
        )
    return [int(r.id) for r in rows]


def _store_rows(
    conn: Connection,
    cf: ContractFile,
    file: pathlib.Path,
    wanted: Period | None,
    sid: int,
    limit_errors: int,
) -> tuple[ValidationReport, int]:
    writer = RowWriter(conn, cf.contract, cf.layout, sid, str(file), None, limit_errors)
    try:
        report = validate_file(
            cf.contract, file, period=wanted, limit_errors=limit_errors, on_batch=writer
        )
    except BaseException:
        writer.abort()
        raise
    # A key the database refused as repeated is in the report too, which is then invalid.
    if not report.valid or writer.refused:
        writer.abort()
        issues = tuple(report.errors) + tuple(writer.issues)
        if not issues:
            issues = (Issue("file-invalid", "the file is not valid", Location(file=str(file))),)
        count = sum(report.error_counts.values()) + writer.refused
        raise _Undo(
            IngestResult(
                "invalid",
                f"{file} has {count} problem(s); nothing was stored",
                sha256=report.sha256,
                issues=issues,
                report=report,
            )
        )
    writer.close()  # raises if the database refused a row of this valid report (a bug)
    return report, writer.written


def _check_grain(
    conn: Connection,
    cf: ContractFile,
    sid: int,
    file: pathlib.Path,
    report: ValidationReport,
    stored: int,
    limit: int,
) -> None:
    """Refuse rows whose grain key another live submission of the contract already holds."""
    cid = cf.contract.contract.id
    held = conn.execute(
        sa.select(SUB.c.id, SUB.c.rows).where(_live(cid, "outcomes"), SUB.c.id != sid)
    ).all()
    others = [int(h.id) for h in held]
    if not others or not _any_clash(conn, sid, others, stored < sum(h.rows for h in held)):
        return
    new, old = ROW.alias("new"), ROW.alias("old")
    clash = (
        sa.select(new.c.row_number, new.c.grain, old.c.submission_id, old.c.row_number.label("was"))
        .join(old, sa.and_(old.c.grain == new.c.grain, old.c.submission_id.in_(others)))
        .where(new.c.submission_id == sid)
        .order_by(new.c.row_number)
    )
    found = conn.execute(clash.limit(limit)).all()
    if not found:
        return
    total = conn.execute(sa.select(sa.func.count()).select_from(clash.subquery())).scalar_one()
    grain = cf.layout.grain
    first = grain[0] if grain else None
    issues = tuple(
        Issue(
            "duplicate-key",
            f"the row with this {', '.join(grain)} is already stored as row {r.was} of "
            f"submission {r.submission_id}; supersede that submission or remove the row",
            Location(file=str(file), sheet=report.sheet, row=r.row_number, field=first),
        )
        for r in found
    )
    raise _Undo(
        IngestResult(
            "refused",
            f"{total} row(s) of {file} are already stored under another live submission; "
            "nothing was stored",
            sha256=report.sha256,
            issues=issues,
            report=report,
        )
    )


def _any_clash(conn: Connection, sid: int, others: list[int], from_new: bool) -> bool:
    """Whether another live submission holds a grain key of submission `sid`.

    The rows of one side are walked and the other side probed through the primary key,
    from the side with fewer rows (`from_new`): the planners cannot tell, as the new rows
    are not in PostgreSQL's statistics yet, and probing a million new rows against one
    old one took 1.4 s there (0.3 s on SQLite), against nothing the other way round.
    Only when the answer is yes (rarely) are the clashes looked up row by row.
    """
    walk, probe = ROW.alias("walk"), ROW.alias("probe")
    walked, probed = ([sid], others) if from_new else (others, [sid])
    match = sa.select(sa.literal(1)).where(
        probe.c.submission_id.in_(probed), probe.c.grain == walk.c.grain
    )
    # A count, not `LIMIT 1`: PostgreSQL would answer that with a merge join, which walks
    # both sides when nothing matches (0.5 s a million rows).
    query = sa.select(sa.func.count()).where(walk.c.submission_id.in_(walked), match.exists())
    return bool(conn.execute(query).scalar_one())
