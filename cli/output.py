"""Everything the `contract` command prints. The only module that uses Rich.

Data goes to stdout, diagnostics to stderr. Widths are fixed when output is not a
terminal, so what tests and the README show is what a user sees.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from contracts import money
from contracts.api import CheckReport, InputFile
from contracts.explain import show
from contracts.issues import Issue
from contracts.settlement import LineItem, Settlement
from contracts.store.audit import AuditReport
from contracts.store.ingest import IngestResult
from contracts.store.ledger import Adjustment, Inputs, LedgerSettleResult, StoredSettlement
from contracts.validate import ValidationReport

GROUP_AFTER = 12  # a rule with more lines than this is shown grouped by outcome


@contextlib.contextmanager
def progress(enabled: bool, label: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A progress bar with rows per second on stderr, only when stderr is a terminal."""
    if not enabled or not err.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None, rate=0.0)

        def update(rows: int, total: int | None) -> None:
            rate = rows / max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=rows, total=total, rate=rate)

        yield update


def _console(stderr: bool) -> Console:
    width = int(os.environ.get("COLUMNS", "0") or 0) or None
    return Console(
        stderr=stderr,
        width=width or (None if os.isatty(2 if stderr else 1) else 110),
        highlight=False,
        soft_wrap=False,
    )


out = _console(False)
err = _console(True)


def error(message: str) -> None:
    err.print(Text("error: ", style="bold red") + Text(message), soft_wrap=True)


def info(message: str) -> None:
    err.print(Text(message), soft_wrap=True)


def amount(value: Decimal, lang: str = "en") -> str:
    text = money.fmt(value, 2)
    return text.replace(".", ",").replace("-", "−") if lang == "sv" else text


def issues_table(issues: Sequence[Issue]) -> None:
    """Every issue on its own line, compiler style, so editors and grep can jump to it:
    `contract.yaml:12:7: error: rules[2].price: must be ≥ 0 [field-invalid]`."""
    for i in issues:
        loc = i.location
        where = loc.file or ""
        if loc.line is not None:
            where += f":{loc.line}" + (f":{loc.column}" if loc.column is not None else "")
        if loc.cell:
            where += f" {loc.sheet}!{loc.cell}" if loc.sheet else f" {loc.cell}"
        elif loc.row is not None:
            where += f" row {loc.row}"
        style = "red" if i.severity == "error" else "yellow"
        line = Text(f"{where}: " if where else "") + Text(i.severity, style=style) + Text(": ")
        if loc.path:
            line += Text(f"{loc.path}: ", style="bold")
        line += Text(i.message) + Text(f" [{i.code}]", style="cyan")
        err.print(line, soft_wrap=True)


def check_report(report: CheckReport) -> None:
    issues_table(report.issues)
    errors = sum(1 for i in report.issues if i.severity == "error")
    warnings = len(report.issues) - errors
    if report.ok:
        title = report.contract.contract.title if report.contract else ""
        ex = (
            f", {report.examples} worked example(s) agree with the engine"
            if report.examples
            else ""
        )
        warn = f", {warnings} warning(s)" if warnings else ""
        out.print(
            Text(f"{report.file}: OK", style="bold green") + Text(f" — {title}{ex}{warn}"),
            soft_wrap=True,
        )
        out.print(f"version sha256:{report.sha256[:16]}…")
    else:
        err.print(
            Text(f"{report.file}: {errors} error(s), {warnings} warning(s)", style="bold red")
        )


def _grouped(
    lines: Sequence[LineItem], lang: str
) -> list[tuple[str, int, Decimal | None, Decimal]]:
    """Lines of one rule summed per outcome and price; a cut inside the lines is named."""
    groups: dict[tuple[str, Decimal | None], list[LineItem]] = defaultdict(list)
    for line in lines:
        key = (
            line.outcome or line.description,
            line.unit_price if line.kind == "payment" else None,
        )
        groups[key].append(line)
    out = []
    for (name, price), items in groups.items():
        total = money.add(*(x.amount for x in items))
        label = name
        if price is not None:
            nominal = money.add(*(money.mul(price, x.quantity or Decimal(1)) for x in items))
            if nominal != total:
                cut = show(nominal - total, lang).replace(" ", "\u00a0")
                label += f" (participant caps −{cut})"
        out.append((label, len(items), price, total))
    return out


def settlement(
    s: Settlement, inputs: Sequence[InputFile], lang: str, all_lines: bool = False
) -> None:
    """Header, inputs, line items, how each amount came about, caps, totals."""
    window = s.window[0] if len(s.window) == 1 else f"{s.window[0]}–{s.window[-1]}"
    out.print(
        Text(f"Settlement {s.contract_id} · {s.period}", style="bold")
        + Text(f"  (basis {s.basis}, covering {window}, {s.currency})"),
        soft_wrap=True,
    )
    _inputs(inputs)
    by_rule: dict[str, list[LineItem]] = defaultdict(list)
    for line in s.lines:
        by_rule[line.rule].append(line)
    grouped = {r for r, lines in by_rule.items() if len(lines) > GROUP_AFTER and not all_lines}
    _lines_table(s, by_rule, grouped, lang)
    _explanations(by_rule, grouped, lang)
    _caps(s, lang)
    _totals(s, lang)


def _inputs(inputs: Sequence[InputFile]) -> None:
    if not inputs:
        return
    files = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    files.add_column("input")
    files.add_column("rows", justify="right")
    files.add_column("sha256")
    for f in inputs:
        files.add_row(f.name, str(f.rows) if f.rows else "", f.sha256[:16] + "…")
    out.print(files)


def _lines_table(
    s: Settlement, by_rule: dict[str, list[LineItem]], grouped: set[str], lang: str
) -> None:
    table = Table(show_header=True, header_style="bold")
    table.add_column("rule", no_wrap=True)
    table.add_column("line", no_wrap=True)
    table.add_column("qty", justify="right", no_wrap=True)
    table.add_column("unit price", justify="right", no_wrap=True)
    table.add_column(f"amount ({s.currency})", justify="right", no_wrap=True)
    for rule, lines in by_rule.items():
        if rule in grouped:
            for label, count, price, total in _grouped(lines, lang):
                price_text = "" if price is None else show(price, lang)
                qty = str(count) if price is not None else ""
                table.add_row(rule, label, qty, price_text, amount(total, lang))
            continue
        for line in lines:
            qty = "" if line.quantity is None else show(line.quantity, lang)
            price_text = "" if line.unit_price is None else show(line.unit_price, lang)
            table.add_row(rule, line.description, qty, price_text, amount(line.amount, lang))
    out.print(table)


def _explanations(by_rule: dict[str, list[LineItem]], grouped: set[str], lang: str) -> None:
    out.print(Text("How each amount came about", style="bold"))
    for rule, lines in by_rule.items():
        if rule in grouped:
            out.print(
                Text(
                    f"{rule}: {len(lines)} lines, shown grouped; --lines shows each with its steps"
                ),
                soft_wrap=True,
            )
            continue
        for line in lines:
            out.print(
                Text(f"{rule} · {line.description}: ", style="bold")
                + Text(amount(line.amount, lang)),
                soft_wrap=True,
            )
            for n, st in enumerate(line.steps, 1):
                out.print(Text(f"  {n:>2}. ") + Text(st.text(lang)), soft_wrap=True)


def _caps(s: Settlement, lang: str) -> None:
    if not s.caps:
        return
    caps = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    caps.title = "caps that cut"
    for col in ("scope", "name", "limit", "before", "after", "cut"):
        caps.add_column(col, justify="left" if col in ("scope", "name") else "right")
    participants = [c for c in s.caps if c.scope == "participant"]
    rows = [c for c in s.caps if c.scope != "participant" or len(participants) <= GROUP_AFTER]
    for c in rows:
        caps.add_row(
            c.scope,
            c.name,
            show(c.limit, lang),
            show(c.before, lang),
            show(c.after, lang),
            show(c.cut, lang),
        )
    if len(participants) > GROUP_AFTER:
        cut = money.add(*(c.cut for c in participants))
        caps.add_row(
            "participant",
            f"{len(participants)} participants",
            show(participants[0].limit, lang),
            "",
            "",
            show(cut, lang),
        )
    out.print(caps)


def _totals(s: Settlement, lang: str) -> None:
    totals = Table(box=None, show_header=False, pad_edge=False)
    totals.add_column("", style="bold")
    totals.add_column("", justify="right")
    for rule, value in s.rule_totals:
        totals.add_row(f"  {rule}", amount(value, lang))
    if s.previously_settled:
        totals.add_row("entitlement to date", amount(s.entitlement, lang))
        totals.add_row("settled before", amount(-s.previously_settled, lang))
    totals.add_row(f"total payable ({s.currency})", amount(s.total, lang))
    for payer, value in s.payers:
        totals.add_row(f"  owed by {payer}", amount(value, lang))
    out.print(totals)
    if s.earlier:
        paid = money.add(*(t for _, t in s.earlier))
        periods = ", ".join(p for p, _ in s.earlier)
        out.print(
            Text(
                f"earlier settlements counted against caps: {periods} ({amount(paid, lang)})",
                style="dim",
            ),
            soft_wrap=True,
        )


def validation(report: ValidationReport) -> None:
    """Verdict, the problems (sheet, cell, code, message), counts per code, totals."""
    where = f"{report.file}" + (f" (sheet {report.sheet})" if report.sheet else "")
    verdict = (
        Text("valid", style="bold green") if report.valid else Text("invalid", style="bold red")
    )
    out.print(
        Text(f"{where}: ")
        + verdict
        + Text(f" — {report.rows:,} rows, sha256 {report.sha256[:16]}…"),
        soft_wrap=True,
    )
    if report.errors:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("cell", "row", "column", "code", "problem"):
            table.add_column(col, no_wrap=col != "problem", style="cyan" if col == "code" else None)
        for i in report.errors:
            loc = i.location
            cell = f"{loc.sheet}!{loc.cell}" if loc.sheet and loc.cell else (loc.cell or "")
            table.add_row(
                cell, "" if loc.row is None else str(loc.row), loc.field or "", i.code, i.message
            )
        out.print(table)
        shown = len(report.errors)
        total = sum(report.error_counts.values())
        counts = ", ".join(f"{code} {n:,}" for code, n in sorted(report.error_counts.items()))
        more = f" (first {shown:,} shown)" if shown < total else ""
        out.print(Text(f"{total:,} problem(s){more}: {counts}"), soft_wrap=True)
    for w in report.warnings:
        err.print(
            Text("warning: ", style="yellow") + Text(f"{w.message} [{w.code}]"), soft_wrap=True
        )
    if report.totals:
        out.print(Text("totals, to reconcile with your own sums:", style="bold"))
        totals = Table(box=None, pad_edge=False, show_header=False)
        totals.add_column("")
        totals.add_column("", justify="right")
        for name, value in report.totals.items():
            totals.add_row(f"  {name}", show(value))
        out.print(totals)


def ingest_result(result: IngestResult) -> None:
    """One line for what happened to the file; the validation report when it was invalid."""
    if result.report is not None and not result.report.valid:
        validation(result.report)
    issues_table(result.issues)
    if result.ok:
        out.print(Text(result.message, style="bold green"), soft_wrap=True)
    elif not result.issues or result.report is not None:
        error(result.message)


def ledger_inputs(inputs: Inputs) -> list[InputFile]:
    return [
        InputFile(f"{s.file} (submission {s.id})", s.sha256, s.rows) for s in inputs.submissions
    ]


def ledger_settlement(result: LedgerSettleResult, lang: str, all_lines: bool = False) -> None:
    """The settlement as computed, its adjustment, what is payable now, and what was stored."""
    s = result.settlement
    if s is not None and result.inputs is not None:
        settlement(s, ledger_inputs(result.inputs), lang, all_lines)
    if result.adjustment is not None:
        _adjustment(result.adjustment, lang)
    if result.payable is not None and s is not None:
        _payable(result.payable, s.currency, lang)
    style = "bold green" if result.status in ("stored", "unchanged") else "bold"
    out.print(Text(result.message, style=style), soft_wrap=True)


def _payable(value: Decimal, currency: str, lang: str) -> None:
    """What this settlement moves: a payment, or a credit when a correction lowered it."""
    if value < 0:
        label = f"credit due from the provider ({currency}): "
        value = -value
    else:
        label = f"payable now ({currency}): "
    out.print(Text(label, style="bold") + Text(amount(value, lang)))


def _adjustment(adj: Adjustment, lang: str) -> None:
    table = Table(show_header=True, header_style="bold")
    table.title = f"adjustment against settlement {adj.against}"
    table.add_column("rule", no_wrap=True)
    table.add_column("settled before", justify="right", no_wrap=True)
    table.add_column("owed now", justify="right", no_wrap=True)
    table.add_column("difference", justify="right", no_wrap=True)
    for x in adj.lines:
        table.add_row(
            x.rule, amount(x.settled, lang), amount(x.now, lang), amount(x.difference, lang)
        )
    table.add_row(
        "total",
        amount(adj.settled, lang),
        amount(adj.now, lang),
        amount(adj.difference, lang),
        style="bold",
    )
    out.print(table)


def stored_settlement(
    s: StoredSettlement, lang: str, all_lines: bool = False, again: Settlement | None = None
) -> None:
    """`contract settlements show N`: the ledger's record, then the settlement itself.

    `again` is the settlement as the engine gives it again from what is stored (typed, so
    its explanations read in either language); without it the stored text is shown.
    """
    head = Table(box=None, show_header=False, pad_edge=False)
    head.add_column("", style="bold")
    head.add_column("")
    head.add_row("settlement", f"{s.number} ({s.contract_id}, {s.period}, sequence {s.sequence})")
    head.add_row("status", s.status)
    head.add_row("created", f"{s.created_at:%Y-%m-%d %H:%M} UTC by {s.created_by}")
    if s.approved_at is not None:
        head.add_row("approved", f"{s.approved_at:%Y-%m-%d %H:%M} UTC by {s.approved_by}")
    if s.adjusts is not None:
        head.add_row("adjusts", f"settlement {s.adjusts}")
    head.add_row(
        "contract version", f"{s.contract_version_id} (sha256 {s.inputs.contract_sha256[:16]}…)"
    )
    head.add_row("document sha256", s.sha256)
    out.print(head)
    if again is not None:
        settlement(again, ledger_inputs(s.inputs), lang, all_lines)
        if s.adjustment is not None:
            _adjustment(s.adjustment, lang)
        _payable(s.payable, again.currency, lang)
        return
    error(
        f"settlement {s.number} no longer matches what the ledger stores for it; shown as "
        "stored -- run `contract audit verify` to see where"
    )
    doc = s.document["settlement"]
    table = Table(show_header=True, header_style="bold")
    table.add_column("rule", no_wrap=True)
    table.add_column("line")
    table.add_column(f"amount ({doc['currency']})", justify="right", no_wrap=True)
    lines = doc["lines"]
    shown = lines if all_lines or len(lines) <= 3 * GROUP_AFTER else lines[:GROUP_AFTER]
    for line in shown:
        table.add_row(line["rule"], line["description"], amount(Decimal(line["amount"]), lang))
    out.print(table)
    if len(shown) < len(lines):
        out.print(f"… {len(lines) - len(shown)} more lines; --lines shows them all")
    out.print(Text("How each amount came about (as stored)", style="bold"))
    for line in shown:
        out.print(
            Text(f"{line['rule']} · {line['description']}: ", style="bold")
            + Text(amount(Decimal(line["amount"]), lang)),
            soft_wrap=True,
        )
        for n, st in enumerate(line["steps"], 1):
            out.print(Text(f"  {n:>2}. ") + Text(st["text"]), soft_wrap=True)
    totals = Table(box=None, show_header=False, pad_edge=False)
    totals.add_column("", style="bold")
    totals.add_column("", justify="right")
    for rule, value in doc["rule_totals"].items():
        totals.add_row(f"  {rule}", amount(Decimal(value), lang))
    totals.add_row(f"total for {s.period} ({doc['currency']})", amount(s.total, lang))
    for payer, value in doc["payers"].items():
        totals.add_row(f"  owed by {payer}", amount(Decimal(value), lang))
    out.print(totals)
    if s.adjustment is not None:
        _adjustment(s.adjustment, lang)
    _payable(s.payable, doc["currency"], lang)


def settlement_list(items: Sequence[StoredSettlement], lang: str) -> None:
    if not items:
        out.print("no settlements stored yet")
        return
    several = len({s.contract_id for s in items}) > 1
    table = Table(show_header=True, header_style="bold")
    columns = ["no", *(["contract"] if several else []), "period", "seq", "status"]
    columns += ["total", "payable", "adjusts", "created", "approved"]
    for col in columns:
        right = col in ("no", "seq", "total", "payable", "adjusts")
        wrap = col in ("contract", "created", "approved")
        table.add_column(col, justify="right" if right else "left", no_wrap=not wrap)
    last: dict[tuple[str, str], int] = {}
    for s in items:
        key = (s.contract_id, s.period)
        last[key] = max(last.get(key, 0), s.sequence)
    for s in items:
        # A draft with a later settlement of its period was replaced before approval.
        replaced = s.status == "draft" and s.sequence < last[(s.contract_id, s.period)]
        table.add_row(
            str(s.number),
            *([s.contract_id] if several else []),
            s.period,
            str(s.sequence),
            "replaced" if replaced else s.status,
            amount(s.total, lang),
            amount(s.payable, lang),
            "" if s.adjusts is None else str(s.adjusts),
            f"{s.created_at:%Y-%m-%d} {s.created_by}",
            f"{s.approved_at:%Y-%m-%d} {s.approved_by}" if s.approved_at else "",
        )
    if not several:
        out.print(Text(f"settlements of {items[0].contract_id}", style="bold"))
    out.print(table)


def audit_report(report: AuditReport) -> None:
    issues_table(report.issues)
    what = (
        f"{report.settlements} settlement(s) recomputed, {report.submissions} submission(s) "
        f"counted, {report.events} event(s) in the chain"
    )
    if report.ok:
        out.print(Text("audit OK", style="bold green") + Text(f" — {what}"), soft_wrap=True)
    else:
        err.print(
            Text(f"audit FAILED: {len(report.issues)} discrepancy(ies)", style="bold red")
            + Text(f" — {what}"),
            soft_wrap=True,
        )
