"""Everything the `contract` command prints. The only module that uses Rich.

Data goes to stdout, diagnostics to stderr. Widths are fixed when output is not a
terminal, so what tests and the README show is what a user sees.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from contracts import money
from contracts.api import CheckReport, InputFile
from contracts.explain import show
from contracts.issues import Issue
from contracts.settlement import LineItem, Settlement

GROUP_AFTER = 12  # a rule with more lines than this is shown grouped by outcome


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
    err.print(Text("error: ", style="bold red") + Text(message))


def info(message: str) -> None:
    err.print(Text(message))


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


def _grouped(lines: Sequence[LineItem]) -> list[tuple[str, int, Decimal | None, Decimal]]:
    groups: dict[tuple[str, Decimal | None], list[LineItem]] = defaultdict(list)
    for line in lines:
        key = (line.outcome or line.kind, line.unit_price if line.kind == "payment" else None)
        groups[key].append(line)
    return [
        (name, len(items), price, money.add(*(x.amount for x in items)))
        for (name, price), items in groups.items()
    ]


def settlement(
    s: Settlement, inputs: Sequence[InputFile], lang: str, all_lines: bool = False
) -> None:
    window = s.window[0] if len(s.window) == 1 else f"{s.window[0]}–{s.window[-1]}"
    out.print(
        Text(f"Settlement {s.contract_id} · {s.period}", style="bold")
        + Text(f"  (basis {s.basis}, covering {window}, {s.currency})")
    )
    if inputs:
        files = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        files.add_column("input")
        files.add_column("rows", justify="right")
        files.add_column("sha256")
        for f in inputs:
            files.add_row(f.name, str(f.rows) if f.rows else "", f.sha256[:16] + "…")
        out.print(files)
    table = Table(show_header=True, header_style="bold", show_lines=False)
    table.add_column("rule", no_wrap=True)
    table.add_column("line")
    table.add_column("qty", justify="right")
    table.add_column("unit price", justify="right")
    table.add_column(f"amount ({s.currency})", justify="right", no_wrap=True)
    by_rule: dict[str, list[LineItem]] = defaultdict(list)
    for line in s.lines:
        by_rule[line.rule].append(line)
    for rule, lines in by_rule.items():
        if len(lines) > GROUP_AFTER and not all_lines:
            for name, count, price, total in _grouped(lines):
                table.add_row(
                    rule,
                    f"{name} × {count}",
                    str(count),
                    "" if price is None else show(price, lang),
                    amount(total, lang),
                )
            continue
        for line in lines:
            who = (
                f" – {line.participant}"
                if line.participant and line.participant not in line.description
                else ""
            )
            table.add_row(
                rule,
                line.description + who,
                "" if line.quantity is None else show(line.quantity, lang),
                "" if line.unit_price is None else show(line.unit_price, lang),
                amount(line.amount, lang),
            )
            for st in line.steps:
                table.add_row("", Text(f"  {st.stage}: {st.text(lang)}", style="dim"), "", "", "")
    out.print(table)
    if s.caps:
        caps = Table(
            title="caps that cut", show_header=True, header_style="bold", box=None, pad_edge=False
        )
        for col in ("scope", "name", "limit", "before", "after", "cut"):
            caps.add_column(
                col, justify="right" if col in ("limit", "before", "after", "cut") else "left"
            )
        for c in s.caps:
            caps.add_row(
                c.scope,
                c.name,
                show(c.limit, lang),
                show(c.before, lang),
                show(c.after, lang),
                show(c.cut, lang),
            )
        out.print(caps)
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
