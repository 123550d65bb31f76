"""`contract report`: the settlement report, one orchestrator per source, top to bottom.

Problem: the report is what a finance department pays from and what an auditor reads,
so it must show exactly what the ledger holds for a settlement — or, before anything
is stored, what the files give — and never a document made from a ledger that was
changed behind its back.

Approach: two ways to a `ReportSource`. From the ledger, the contract file names the
contract; the latest settlement of the period (or the one numbered) is recomputed from
its stored rows and contract version (`audit.reproduce`), which refuses a settlement
whose stored document no longer matches — so the report is built from the engine's
typed records (explanations in either language) that are provably the stored ones.
From files, the period is settled from the files alone (`api.settle_files`), as
`contract settle --dry-run --outcomes` does. Then one renderer per format: Markdown
and HTML through the templates, PDF laid out from the HTML, JSON as a plain dict, and
the settlement workbook. The caller writes the result.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from contracts.api import InputFile, check_contract, settle_files
from contracts.documents.context import ROOT
from contracts.documents.environment import render
from contracts.documents.formatting import Lang
from contracts.documents.report_content import ReportInput, ReportSource, build
from contracts.documents.workbook import StoredInfo, write_workbook
from contracts.errors import InputError, UsageError
from contracts.issues import Issue
from contracts.settle import term_period
from contracts.store import audit, ledger
from contracts.store.db import Store

Format = Literal["md", "html", "pdf", "docx", "xlsx", "json"]


@dataclass(frozen=True)
class Loaded:
    """A settlement to report on, or the problems that prevent one."""

    source: ReportSource | None  # None when the contract or the files have errors
    issues: tuple[Issue, ...]  # the contract's and the files' problems (and warnings)
    lang: Lang  # the contract's own language, the report's default


def from_ledger(
    store: Store, contract_path: pathlib.Path, period: str, number: int | None = None
) -> Loaded:
    """The latest stored settlement of `period` (or settlement `number`), as reproduced."""
    check = check_contract(contract_path)
    if not check.ok or check.contract is None:
        return Loaded(None, check.issues, _lang(check.contract))
    contract = check.contract
    cid = contract.contract.id
    wanted = term_period(contract, period).id
    with store.read() as conn:
        latest = ledger.latest(conn, cid).get(wanted)
        if number is None:
            chosen = latest
        else:
            found = ledger.settlements(conn, number=number)
            chosen = found[0] if found else None
    if number is not None:
        _check_numbered(chosen, number, cid, wanted, store)
    if chosen is None:
        raise InputError(
            f"no settlement of {wanted} is stored yet; run `contract settle` first, "
            "or give --outcomes to report from files"
        )
    again = audit.reproduce(store, chosen.number)
    inputs = tuple(
        ReportInput(s.file, s.kind, s.period, s.id, s.rows, s.sha256)
        for s in again.stored.inputs.submissions
    )
    later = latest.number if latest is not None and latest.number != chosen.number else None
    source = ReportSource(
        again.contract,
        again.stored.inputs.contract_sha256,
        again.settlement,
        again.adjustment,
        inputs,
        again.stored,
        later,
    )
    return Loaded(source, check.issues, _lang(contract))


def _check_numbered(
    chosen: ledger.StoredSettlement | None, number: int, cid: str, period: str, store: Store
) -> None:
    if chosen is None:
        raise UsageError(f"there is no settlement {number} in the ledger {store.url}")
    if chosen.contract_id != cid:
        raise UsageError(f"settlement {number} is of contract {chosen.contract_id}, not of {cid}")
    if chosen.period != period:
        raise UsageError(f"settlement {number} settles {chosen.period}, not {period}")


def from_files(
    contract_path: pathlib.Path,
    period: str,
    outcome_paths: Sequence[pathlib.Path],
    supplied_paths: Sequence[pathlib.Path] = (),
) -> Loaded:
    """The period settled from the files alone; nothing is read from or stored in a ledger."""
    report = settle_files(contract_path, outcome_paths, period, supplied_paths)
    lang = _lang(report.check.contract)
    contract = report.check.contract
    if report.settlement is None or contract is None:
        return Loaded(None, report.check.issues + report.issues, lang)
    # settle_files lists the outcome files first, then the supplied ones.
    kinds = ["outcomes"] * len(outcome_paths) + ["supplied"] * len(supplied_paths)
    inputs = tuple(
        ReportInput(i.name, kind, None, None, i.rows, i.sha256)
        for i, kind in zip(report.inputs, kinds, strict=True)
    )
    source = ReportSource(contract, report.check.sha256, report.settlement, None, inputs)
    return Loaded(source, report.check.issues + report.issues, lang)


def _lang(contract: Any) -> Lang:
    return contract.contract.language if contract is not None else "sv"


def template_name(fmt: Format, lang: Lang) -> str:
    # PDF is laid out from the HTML report.
    return f"report.{lang}.{'html' if fmt in ('pdf', 'docx') else fmt}.j2"


def render_report(
    source: ReportSource, fmt: Format, lang: Lang, template_dir: pathlib.Path | None = None
) -> str | bytes:
    """The report as text (md, html, json) or bytes (pdf, docx). xlsx is written by `write_xlsx`."""
    if fmt == "json":
        return json.dumps(report_json(source), ensure_ascii=False, indent=2) + "\n"
    if fmt == "xlsx":
        raise ValueError("the workbook is written to a file: use write_xlsx")
    if template_dir is not None and not template_dir.is_dir():
        raise UsageError(f"{template_dir}: no such folder of templates")
    text = render(template_name(fmt, lang), {ROOT: build(source, lang)}, template_dir)
    if fmt == "pdf":
        from contracts.documents.pdf import html_to_pdf  # WeasyPrint only when asked for

        return html_to_pdf(text)
    if fmt == "docx":
        from contracts.documents.docx import html_to_docx  # LibreOffice only when asked for

        return html_to_docx(text)
    return text


def write_xlsx(source: ReportSource, path: pathlib.Path, lang: Lang) -> None:
    """The settlement workbook (formulas that rebuild the totals), written atomically."""
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such folder")
    s = source.stored
    stored = None
    if s is not None:
        status: Literal["draft", "approved"] = "approved" if s.status == "approved" else "draft"
        adj = source.adjustment
        stored = StoredInfo(
            s.number,
            status,
            s.approved_by,
            s.approved_at,
            s.sha256,
            adj.against if adj is not None else None,
            tuple((x.rule, x.settled) for x in adj.lines) if adj is not None else (),
            source.payable if adj is not None else None,
        )
    inputs = [
        InputFile(
            i.file if i.submission is None else f"{i.file} (submission {i.submission})",
            i.sha256,
            i.rows,
        )
        for i in source.inputs
    ]
    write_workbook(path, source.settlement, source.contract, lang, inputs, stored)


def report_json(source: ReportSource) -> dict[str, Any]:
    """The report for programs; every decimal is a string, exact.

    `source` is `ledger` or `files`; `status` is `draft`, `approved`, `replaced` or
    `not-stored`; `stored` is the ledger's record (number, sequence, status, who and
    when, adjusts, sha256 of the document, contract version, recorded inputs) or null;
    `later` the number of a later settlement of the period or null; `inputs` the files
    with kind, period, submission, rows and sha256; `settlement` the engine's settlement
    (as `contract settle --format json`); `adjustment` what was settled before, what is
    owed now and the difference per rule, or null; `payable` the amount this settlement
    moves (negative: a credit due from the provider).
    """
    s = source.stored
    record = None
    if s is not None:
        record = {k: v for k, v in s.to_dict().items() if k not in ("settlement", "adjustment")}
    status = "not-stored" if s is None else s.status
    if s is not None and s.status == "draft" and source.later is not None:
        status = "replaced"
    c = source.contract.contract
    return {
        "source": "files" if s is None else "ledger",
        "contract": {"id": c.id, "title": c.title, "version": source.version},
        "period": source.settlement.period,
        "status": status,
        "stored": record,
        "later": source.later,
        "inputs": [
            {
                "file": i.file,
                "kind": i.kind,
                "period": i.period,
                "submission": i.submission,
                "rows": i.rows,
                "sha256": i.sha256,
            }
            for i in source.inputs
        ],
        "settlement": source.settlement.to_dict(),
        "adjustment": source.adjustment.to_dict() if source.adjustment else None,
        "payable": str(source.payable),
    }
