"""`contract render`: the contract document as Markdown, HTML or PDF, in English or Swedish.

A thin command like the others in `cli.main`: parse the options, make one call
(`contracts.documents.render.render_contract`), print the contract's issues or write
the document, pick the exit status. Registered on the app by `register`, so the
command lives beside the other document commands rather than in `main.py`.
"""

# No `from __future__ import annotations` here: Typer reads the command's annotations,
# and ContractArg is imported inside `register` (cli.main imports this module at its end).
import pathlib
import sys
from enum import StrEnum
from typing import Annotated

import typer

from cli import output
from contracts.documents.render import render_contract
from contracts.files import write_bytes_atomically


class DocFormat(StrEnum):
    md = "md"
    html = "html"
    pdf = "pdf"
    docx = "docx"


class DocLang(StrEnum):
    en = "en"
    sv = "sv"


_SUFFIXES = {
    ".md": DocFormat.md,
    ".html": DocFormat.html,
    ".htm": DocFormat.html,
    ".pdf": DocFormat.pdf,
    ".docx": DocFormat.docx,
}


DocLangOpt = Annotated[
    DocLang | None,
    typer.Option(
        "--lang",
        help="Language of the document: en or sv (default: the contract's language).",
        show_default=False,
    ),
]
OutOpt = Annotated[
    pathlib.Path | None,
    typer.Option("--output", "-o", help="Write the document here instead of stdout."),
]
TemplateDirOpt = Annotated[
    pathlib.Path | None,
    typer.Option(
        "--template-dir",
        help="A folder of templates that replace the packaged ones of the same name.",
    ),
]


def _format_for(fmt: DocFormat | None, out: pathlib.Path | None) -> DocFormat:
    """An explicit --format wins; otherwise the output's suffix says; otherwise Markdown."""
    if fmt is not None:
        return fmt
    if out is not None:
        return _SUFFIXES.get(out.suffix.lower(), DocFormat.md)
    return DocFormat.md


def register(app: typer.Typer) -> None:
    """Add the `render` command to `app`."""
    from cli.main import ContractArg, guarded

    @app.command()
    def render(
        contract: ContractArg,
        fmt: Annotated[
            DocFormat | None,
            typer.Option(
                "--format",
                "-f",
                help="md, html, pdf or docx (default: from the -o suffix, else md).",
                show_default=False,
            ),
        ] = None,
        lang: DocLangOpt = None,
        out: OutOpt = None,
        template_dir: TemplateDirOpt = None,
    ) -> None:
        """Render the contract document: parties, rules in words, caps, maximum liability, charts."""
        doc_format = _format_for(fmt, out)
        if doc_format in (DocFormat.pdf, DocFormat.docx) and out is None:
            output.error(
                f"a {doc_format.value.upper()} is written to a file: give -o FILE.{doc_format.value}"
            )
            raise typer.Exit(2)
        report = guarded(
            lambda: render_contract(
                contract,
                doc_format.value,
                lang.value if lang else None,
                template_dir,
            )
        )
        if report.content is None:
            output.issues_table(report.check.issues)
            raise typer.Exit(1)
        data = report.content if isinstance(report.content, bytes) else report.content.encode()
        if out is None:
            sys.stdout.write(data.decode())
            raise typer.Exit(0)
        guarded(lambda: write_bytes_atomically(out, data))
        output.info(f"wrote {out}: {report.template}, {report.lang}")
        raise typer.Exit(0)
