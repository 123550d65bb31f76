"""The ledger's commands: ingest, settle, approve, settlements, audit verify, db upgrade.

Registered on the app of cli.main (imported at its end). Every command takes `--db`
(or CONTRACT_DB); without either the ledger is `./contracts.db`, created on first use.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from cli import output
from cli.main import (
    ContractArg,
    Format,
    FormatOpt,
    Lang,
    LangOpt,
    LimitOpt,
    QuietOpt,
    app,
    emit_json,
    guarded,
    outcomes_app,
)
from contracts import api
from contracts.contract_file import read_contract
from contracts.errors import InputError
from contracts.store import audit, ledger
from contracts.store.db import Store, open_store, upgrade
from contracts.store.ingest import IngestResult, ingest_outcomes
from contracts.store.supplied import ingest_supplied

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="CONTRACT_DB",
        help="The ledger: a SQLite file or postgresql+psycopg://user@host/db "
        "(default ./contracts.db, or CONTRACT_DB).",
        show_default=False,
    ),
]
ByOpt = Annotated[
    str | None,
    typer.Option(
        "--by", help="Who does this, for the record (default: the OS user).", show_default=False
    ),
]
LinesOpt = Annotated[
    bool, typer.Option("--lines", help="Show every line item, also for rules with many.")
]


@contextmanager
def _ledger(db: str | None) -> Iterator[Store]:
    store = guarded(lambda: open_store(db))
    try:
        yield store
    finally:
        store.close()


def _ingest_json(result: IngestResult) -> dict[str, object]:
    return {
        "status": result.status,
        "message": result.message,
        "submission": result.submission_id,
        "contract_version": result.contract_version_id,
        "rows": result.rows,
        "sha256": result.sha256,
        "superseded": list(result.superseded),
        "issues": [i.to_dict() for i in result.issues],
        "validation": result.report.to_dict() if result.report is not None else None,
    }


@outcomes_app.command("ingest")
def outcomes_ingest(
    contract: ContractArg,
    file: Annotated[
        pathlib.Path,
        typer.Argument(
            help="The outcome file (or, with --supplied, a file of figures).", show_default=False
        ),
    ],
    period: Annotated[
        str | None,
        typer.Option(
            "--period", "-p", help="The period the file reports on; every row must belong to it."
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Supersede the file already stored for the period (both stay on record).",
        ),
    ] = False,
    supplied: Annotated[
        bool,
        typer.Option("--supplied", help="The file holds supplied figures (metric, period, value)."),
    ] = False,
    by: ByOpt = None,
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
    limit: LimitOpt = 100,
    quiet: QuietOpt = False,
) -> None:
    """Validate an outcome file and store all its rows in the ledger, or nothing."""
    with _ledger(db) as store:
        if supplied:
            if period is not None:
                output.error(
                    "--period does not apply to supplied figures: each figure names its period"
                )
                raise typer.Exit(2)
            result = guarded(lambda: ingest_supplied(store, contract, file, by=by, replace=replace))
        else:
            result = guarded(
                lambda: ingest_outcomes(
                    store, contract, file, period, by=by, replace=replace, limit_errors=limit
                )
            )
    if fmt is Format.json:
        emit_json(_ingest_json(result))
    else:
        output.ingest_result(result)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def settle(
    contract: ContractArg,
    period: Annotated[
        str, typer.Option("--period", "-p", help="The period to settle, e.g. 2025-Q1 or HT2025.")
    ],
    outcomes: Annotated[
        list[pathlib.Path] | None,
        typer.Option(
            "--outcomes",
            "-o",
            help="Outcome file(s) to ingest first (repeat for several); with --dry-run the "
            "settlement is computed from these files alone and the ledger is not used.",
        ),
    ] = None,
    supplied: Annotated[
        list[pathlib.Path] | None,
        typer.Option(
            "--supplied", help="File(s) of supplied figures (YAML or CSV), ingested first."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute and show; store nothing.")
    ] = False,
    by: ByOpt = None,
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
    lang: LangOpt = Lang.en,
    lines: LinesOpt = False,
) -> None:
    """Settle one period from the ledger's stored rows and store the settlement (numbered).

    Settling again after a corrected file stores a new settlement with adjustment lines
    against the previous one; with nothing changed, nothing is stored.
    """
    if dry_run and outcomes:
        _settle_files(contract, period, outcomes, supplied or [], fmt, lang, lines)
        return
    with _ledger(db) as store:
        for path in outcomes or []:
            ingested = guarded(lambda p=path: ingest_outcomes(store, contract, p, None, by=by))  # type: ignore[misc]
            _one_shot(ingested)
        for path in supplied or []:
            ingested = guarded(lambda p=path: ingest_supplied(store, contract, p, by=by))  # type: ignore[misc]
            _one_shot(ingested)
        result = guarded(
            lambda: ledger.settle_period(store, contract, period, by=by, dry_run=dry_run)
        )
    if result.status == "invalid":
        output.issues_table(result.issues)
        if not result.issues:
            output.error(result.message)
        raise typer.Exit(1)
    if fmt is Format.json:
        s = result.settlement
        emit_json(
            {
                "status": result.status,
                "message": result.message,
                "settlement": s.to_dict() if s is not None else None,
                "adjustment": result.adjustment.to_dict() if result.adjustment else None,
                "payable": str(result.payable) if result.payable is not None else None,
                "stored": result.stored.to_dict() if result.stored is not None else None,
            }
        )
    elif result.status == "unchanged":
        output.info(result.message)
    else:
        output.ledger_settlement(result, lang.value, all_lines=lines)
    raise typer.Exit(0)


def _one_shot(result: IngestResult) -> None:
    """An ingest before settling: a file already stored is fine, anything else stops."""
    if result.ok:
        output.info(result.message)
        return
    output.ingest_result(result)
    raise typer.Exit(1)


def _settle_files(
    contract: pathlib.Path,
    period: str,
    outcomes: list[pathlib.Path],
    supplied: list[pathlib.Path],
    fmt: Format,
    lang: Lang,
    lines: bool,
) -> None:
    report = guarded(lambda: api.settle_files(contract, outcomes, period, supplied))
    if report.settlement is None:
        output.issues_table(report.check.issues + report.issues)
        raise typer.Exit(1)
    if fmt is Format.json:
        emit_json(
            {
                **report.settlement.to_dict(),
                "files": [
                    {"name": i.name, "sha256": i.sha256, "rows": i.rows} for i in report.inputs
                ],
            }
        )
    else:
        output.settlement(report.settlement, report.inputs, lang.value, all_lines=lines)
        output.info("dry run from the files given: the ledger was not used, nothing was stored")
    raise typer.Exit(0)


NumberArg = Annotated[
    int, typer.Argument(help="The settlement's number.", show_default=False, min=1)
]


@app.command()
def approve(number: NumberArg, by: ByOpt = None, db: DbOpt = None) -> None:
    """Approve a stored settlement for payment (recorded with who and when)."""
    with _ledger(db) as store:
        s, done = guarded(lambda: ledger.approve(store, number, by=by))
    currency = s.document["settlement"]["currency"]
    moves = (
        f"{output.amount(s.payable)} {currency} to pay"
        if s.payable >= 0
        else f"{output.amount(-s.payable)} {currency} to credit from the provider"
    )
    if done:
        output.info(f"approved settlement {s.number} of {s.period} ({s.contract_id}): {moves}")
    else:
        output.info(
            f"settlement {s.number} was already approved by {s.approved_by} "
            f"at {s.approved_at:%Y-%m-%d %H:%M} UTC; nothing changed"
        )


settlements_app = typer.Typer(
    help="Stored settlements: list them, show one.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(settlements_app, name="settlements")


@settlements_app.command("list")
def settlements_list(
    contract: Annotated[
        pathlib.Path | None,
        typer.Argument(help="Only this contract's (file, or its id).", show_default=False),
    ] = None,
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Every stored settlement: number, period, status, totals, who and when."""
    with _ledger(db) as store:
        items = guarded(lambda: ledger.listing(store, _contract_id(contract)))
    if fmt is Format.json:
        emit_json([s.to_dict() for s in items])
    else:
        output.settlement_list(items, lang.value)


@settlements_app.command("show")
def settlements_show(
    number: NumberArg,
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
    lang: LangOpt = Lang.en,
    lines: LinesOpt = False,
) -> None:
    """One stored settlement: its record, lines, explanations, totals and adjustment."""
    with _ledger(db) as store:
        s = guarded(lambda: ledger.show(store, number))
        if fmt is Format.json:
            emit_json(s.to_dict())
            return
        try:
            again = audit.reproduce(store, number).settlement
        except InputError:
            again = None  # shown as stored, with a warning
    output.stored_settlement(s, lang.value, all_lines=lines, again=again)
    raise typer.Exit(0 if again is not None else 1)


def _contract_id(contract: pathlib.Path | None) -> str | None:
    """A contract file's `contract.id`, or the argument itself taken as an id."""
    if contract is None:
        return None
    if contract.is_file():
        # Only the id is wanted: reading is enough, the worked examples need not run.
        loaded = guarded(lambda: read_contract(contract))
        if loaded.contract is None:
            output.issues_table(loaded.issues)
            raise typer.Exit(1)
        return loaded.contract.contract.id
    return str(contract)


audit_app = typer.Typer(
    help="The auditor's side: verify the ledger.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    contract: Annotated[
        pathlib.Path | None,
        typer.Argument(
            help="Only this contract's settlements (file, or its id).", show_default=False
        ),
    ] = None,
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Recompute every stored settlement from its stored rows and check the event chain."""
    cid = _contract_id(contract)
    with _ledger(db) as store:
        report = guarded(lambda: audit.verify(store, cid))
    if fmt is Format.json:
        emit_json(
            {
                "ok": report.ok,
                "settlements": report.settlements,
                "submissions": report.submissions,
                "events": report.events,
                "issues": [i.to_dict() for i in report.issues],
            }
        )
    else:
        output.audit_report(report)
    raise typer.Exit(0 if report.ok else 1)


db_app = typer.Typer(
    help="The ledger database itself.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Create or upgrade the ledger's tables (needed once for a PostgreSQL database)."""
    revision = guarded(lambda: upgrade(db))
    output.info(f"the ledger is at schema revision {revision}")
