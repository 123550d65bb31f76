"""`contract render`: the contract document, one orchestrator, top to bottom.

Check the contract (a contract with errors renders nothing), build the context for
the language, render the template for the format; for PDF, render the HTML and lay
it out with WeasyPrint. The caller writes the result.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Literal

from contracts.api import CheckReport, check_contract
from contracts.documents import contract_doc
from contracts.documents.context import ROOT
from contracts.documents.environment import render
from contracts.documents.formatting import Lang
from contracts.errors import UsageError

Format = Literal["md", "html", "pdf", "docx"]


@dataclass(frozen=True)
class RenderReport:
    """The outcome of rendering a contract document."""

    check: CheckReport  # the contract's check; its issues when it has errors
    content: (
        str | bytes | None
    )  # the document (bytes for PDF, DOCX); None when the contract is invalid
    template: str  # name of the template rendered
    lang: Lang  # the document's language


def template_name(fmt: Format, lang: Lang) -> str:
    # PDF and DOCX are made from the HTML document.
    return f"contract.{lang}.{'html' if fmt in ('pdf', 'docx') else fmt}.j2"


def render_contract(
    path: pathlib.Path,
    fmt: Format = "md",
    lang: Lang | None = None,
    template_dir: pathlib.Path | None = None,
) -> RenderReport:
    if template_dir is not None and not template_dir.is_dir():
        raise UsageError(f"{template_dir}: no such folder of templates")
    check = check_contract(path)
    language: Lang = lang or (check.contract.contract.language if check.contract else "sv")
    name = template_name(fmt, language)
    if not check.ok or check.contract is None:
        return RenderReport(check, None, name, language)
    doc = contract_doc.build(check.contract, language, check.sha256)
    text = render(name, {ROOT: doc}, template_dir)
    if fmt == "pdf":
        from contracts.documents.pdf import html_to_pdf

        return RenderReport(check, html_to_pdf(text), name, language)
    if fmt == "docx":
        from contracts.documents.docx import html_to_docx

        return RenderReport(check, html_to_docx(text), name, language)
    return RenderReport(check, text, name, language)
