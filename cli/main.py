"""The `contract` command: thin Typer commands over `contracts.api`.

Each command parses its options, makes one api call, hands the result to
`cli.output` and picks the exit status: 0 success, 1 the input has problems,
2 usage error, 3 the environment failed.
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer

from cli import output
from contracts import api
from contracts.errors import ContractError
from contracts.files import write_bytes_atomically
from contracts.schema_export import contract_schema

app = typer.Typer(
    name="contract",
    help="Define, check and settle outcomes-based procurement contracts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}
T = TypeVar("T")


class Format(StrEnum):
    table = "table"
    json = "json"


class Lang(StrEnum):
    en = "en"
    sv = "sv"


FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="table (for people) or json (for programs).")
]
LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of explanations: en or sv.")]
ContractArg = Annotated[
    pathlib.Path,
    typer.Argument(help="The contract file (YAML).", show_default=False, metavar="CONTRACT"),
]


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for every error.")
    ] = False,
) -> None:
    _state["debug"] = debug


def _report_bug(exc: Exception) -> None:
    output.error(
        f"internal error ({type(exc).__name__}: {exc}); this is a bug — run again with "
        "--debug and report the traceback"
    )


def guarded(call: Callable[[], T]) -> T:
    """Run an api call; a ContractError becomes one line on stderr and its exit status."""
    try:
        return call()
    except ContractError as exc:
        if _state["debug"]:
            raise
        output.error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        output.error("interrupted; nothing was stored")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so plainly, traceback with --debug
        if _state["debug"]:
            raise
        _report_bug(exc)
        raise typer.Exit(70) from None


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.command()
def check(contract: ContractArg, fmt: FormatOpt = Format.table) -> None:
    """Check a contract file: every problem with its line and column, then the worked examples."""
    report = guarded(lambda: api.check_contract(contract))
    if fmt is Format.json:
        emit_json(report.to_dict())
    else:
        output.check_report(report)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def schema(
    out: Annotated[
        pathlib.Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print (or write) the JSON Schema of contract files, for editors."""
    text = json.dumps(contract_schema(), ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    guarded(lambda: write_bytes_atomically(out, text.encode("utf-8")))
    output.info(f"wrote {out}")


outcomes_app = typer.Typer(
    help="The provider's side: templates and validation of outcome files.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(outcomes_app, name="outcomes")

LimitOpt = Annotated[
    int, typer.Option("--limit-errors", min=1, help="Show at most this many problems of each code.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


@outcomes_app.command("validate")
def outcomes_validate(
    contract: ContractArg,
    file: Annotated[
        pathlib.Path,
        typer.Argument(help="The outcome file: xlsx, xls, xlsb, ods or csv.", show_default=False),
    ],
    period: Annotated[
        str | None, typer.Option("--period", "-p", help="Every row must belong to this period.")
    ] = None,
    fmt: FormatOpt = Format.table,
    limit: LimitOpt = 100,
    annotate: Annotated[
        pathlib.Path | None,
        typer.Option(
            "--annotate", help="Also write a copy with every bad cell marked and commented."
        ),
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the annotated copy.")] = Lang.sv,
    quiet: QuietOpt = False,
) -> None:
    """Validate an outcome file against the contract: every problem with its sheet and cell."""
    with output.progress(enabled=not quiet, label=file.name) as progress:
        result = guarded(
            lambda: api.validate_outcomes(
                contract, file, period, limit, progress, annotate=annotate, lang=lang.value
            )
        )
    if result.report is None:
        output.issues_table(result.check.issues)
        raise typer.Exit(1)
    if fmt is Format.json:
        emit_json(result.report.to_dict())
    else:
        output.validation(result.report)
    if annotate is not None:
        output.info(f"wrote {annotate}: every problem marked on its cell, with a summary sheet")
    raise typer.Exit(0 if result.report.valid else 1)


@outcomes_app.command("template")
def outcomes_template(
    contract: ContractArg,
    period: Annotated[str, typer.Option("--period", "-p", help="The period the template is for.")],
    out: Annotated[
        pathlib.Path, typer.Option("--output", "-o", help="Where to write the xlsx template.")
    ],
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the instructions.")] = Lang.sv,
) -> None:
    """Write the reporting template for a period: header, validation, instructions."""
    check = guarded(lambda: api.outcome_template(contract, period, out, lang.value))
    if not check.ok:
        output.issues_table(check.issues)
        raise typer.Exit(1)
    output.info(f"wrote {out}: the reporting template for {period}")


from cli import documents  # noqa: E402

documents.register(app)

from cli import report  # noqa: E402

report.register(app)

from cli import ledger  # noqa: E402,F401  (registers settle, ingest, approve, audit, db)


def run() -> None:
    """Console-script entry: a bug anywhere (also while printing) is one line, exit 70."""
    try:
        app()
    except Exception as exc:
        if _state["debug"]:
            raise
        _report_bug(exc)
        sys.exit(70)
