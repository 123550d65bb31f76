"""`contract report`: the settlement report, from the ledger or from files, in five formats.

A thin command like the others: parse the options, make one call
(`contracts.documents.report.from_ledger` or `from_files`), then render or write the
report and pick the exit status. Registered on the app by `register`, beside the
other document command (`render`). Nothing is written unless the whole report was
made: a tampered ledger, an invalid file or a broken template leaves `-o` untouched.
"""

# No `from __future__ import annotations`: Typer reads the command's annotations, and
# ContractArg and DbOpt are imported inside `register` (cli.main imports this module
# at its end, after cli.ledger).
import pathlib
import sys
from enum import StrEnum
from typing import Annotated, cast

import typer

from cli import output
from cli.documents import DocLang, DocLangOpt, OutOpt, TemplateDirOpt
from contracts.documents.report import (
    Format,
    Loaded,
    from_files,
    from_ledger,
    render_report,
    write_xlsx,
)
from contracts.files import write_bytes_atomically


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    pdf = "pdf"
    docx = "docx"
    xlsx = "xlsx"
    json = "json"


_SUFFIXES = {
    ".md": ReportFormat.md,
    ".html": ReportFormat.html,
    ".htm": ReportFormat.html,
    ".pdf": ReportFormat.pdf,
    ".docx": ReportFormat.docx,
    ".xlsx": ReportFormat.xlsx,
    ".json": ReportFormat.json,
}
_BINARY = (ReportFormat.pdf, ReportFormat.docx, ReportFormat.xlsx)


def _format_for(fmt: ReportFormat | None, out: pathlib.Path | None) -> ReportFormat:
    """An explicit --format wins; otherwise the output's suffix says; otherwise Markdown."""
    if fmt is not None:
        return fmt
    if out is not None:
        return _SUFFIXES.get(out.suffix.lower(), ReportFormat.md)
    return ReportFormat.md


def register(app: typer.Typer) -> None:
    """Add the `report` command to `app`."""
    from cli.ledger import DbOpt, _ledger
    from cli.main import ContractArg, guarded

    @app.command()
    def report(
        contract: ContractArg,
        period: Annotated[
            str, typer.Option("--period", "-p", help="The period settled, e.g. 2025-Q2 or HT2025.")
        ],
        number: Annotated[
            int | None,
            typer.Option(
                "--number",
                "-n",
                min=1,
                help="Report this stored settlement of the period (default: the latest).",
                show_default=False,
            ),
        ] = None,
        outcomes: Annotated[
            list[pathlib.Path] | None,
            typer.Option(
                "--outcomes",
                help="Report from these outcome files (repeat for several), not from the "
                "ledger; nothing is stored.",
                show_default=False,
            ),
        ] = None,
        supplied: Annotated[
            list[pathlib.Path] | None,
            typer.Option(
                "--supplied",
                help="File(s) of supplied figures, with --outcomes.",
                show_default=False,
            ),
        ] = None,
        fmt: Annotated[
            ReportFormat | None,
            typer.Option(
                "--format",
                "-f",
                help="md, html, pdf, docx, xlsx or json (default: from the -o suffix, else md).",
                show_default=False,
            ),
        ] = None,
        lang: DocLangOpt = None,
        out: OutOpt = None,
        template_dir: TemplateDirOpt = None,
        db: DbOpt = None,
    ) -> None:
        """The settlement report: inputs, metrics, every line explained, caps, totals, adjustment."""
        doc_format = _format_for(fmt, out)
        if doc_format in _BINARY and out is None:
            output.error(f"a {doc_format.value} report is written to a file: give -o FILE")
            raise typer.Exit(2)
        if outcomes and number is not None:
            output.error("--number picks a stored settlement; it does not go with --outcomes")
            raise typer.Exit(2)
        if supplied and not outcomes:
            output.error("--supplied goes with --outcomes (from the ledger, give it to settle)")
            raise typer.Exit(2)
        if outcomes:
            loaded = guarded(lambda: from_files(contract, period, outcomes, supplied or []))
        else:
            with _ledger(db) as store:
                loaded = guarded(lambda: from_ledger(store, contract, period, number))
        _write(loaded, doc_format, lang, out, template_dir)


def _write(
    loaded: Loaded,
    fmt: ReportFormat,
    lang: DocLang | None,
    out: pathlib.Path | None,
    template_dir: pathlib.Path | None,
) -> None:
    """Render the report and print it or write it to `out`; nothing is written on failure."""
    from cli.main import guarded

    source = loaded.source
    if source is None:
        output.issues_table(loaded.issues)
        raise typer.Exit(1)
    language = lang.value if lang else loaded.lang
    if fmt is ReportFormat.xlsx:
        assert out is not None  # checked before anything was computed
        guarded(lambda: write_xlsx(source, out, language))
    else:
        content = guarded(
            lambda: render_report(source, cast(Format, fmt.value), language, template_dir)
        )
        data = content if isinstance(content, bytes) else content.encode()
        if out is None:
            sys.stdout.write(data.decode())
            raise typer.Exit(0)
        guarded(lambda: write_bytes_atomically(out, data))
    s = source.stored
    what = (
        f"settlement {s.number} of {s.period} ({s.status})"
        if s is not None
        else f"{source.settlement.period}, computed from files"
    )
    output.info(f"wrote {out}: {what}, {language}")
    raise typer.Exit(0)
