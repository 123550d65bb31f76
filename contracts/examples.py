"""Worked examples ("räkneexempel"): rows written in the contract with the payments
they must produce. Running them at `contract check` keeps the contract text, the
examples and the engine from drifting apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from contracts.checks import Finding
from contracts.data import InMemoryData
from contracts.model import Contract, WorkedExample
from contracts.settle import settle
from contracts.settlement import Settlement
from contracts.values import parse_value


def typed_rows(
    c: Contract, ex: WorkedExample, index: int
) -> tuple[list[dict[str, Any]], list[Finding]]:
    columns = {col.name: col for col in c.outcome_file.columns}
    rows: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for r, raw in enumerate(ex.rows):
        path = ("worked_examples", index, "rows", r)
        row: dict[str, Any] = {}
        for name in raw:
            if name not in columns:
                findings.append(
                    Finding(
                        (*path, name),
                        "example-column",
                        f"{name!r} is not a column of the outcome file",
                    )
                )
        for name, col in columns.items():
            value, code = parse_value(col, raw.get(name))
            if code is not None:
                findings.append(
                    Finding(
                        (*path, name),
                        "example-value",
                        f"{name}: {raw.get(name)!r} is not a valid {col.type} value ({code})",
                    )
                )
            row[name] = value
        rows.append(row)
    return rows, findings


def run_example(
    c: Contract, ex: WorkedExample, index: int
) -> tuple[Settlement | None, list[Finding]]:
    rows, findings = typed_rows(c, ex, index)
    if findings:
        return None, findings
    supplied = {(mid, pid): v for mid, per in ex.supplied.items() for pid, v in per.items()}
    result = settle(c, ex.period, InMemoryData(c, rows, supplied))
    if result.settlement is None:
        return None, [
            Finding(
                ("worked_examples", index),
                "example-failed",
                f"example {ex.name!r} cannot be settled: {i.message}",
            )
            for i in result.issues
        ]
    return result.settlement, []


def check_examples(c: Contract) -> Iterator[Finding]:
    """Each example's expected amounts against the engine's, one finding per difference."""
    rule_ids = {r.id for r in c.rules}
    for i, ex in enumerate(c.worked_examples):
        for key in ex.expect:
            if key != "total" and key not in rule_ids:
                yield Finding(
                    ("worked_examples", i, "expect", key),
                    "example-unknown-rule",
                    f"{key!r} is neither a rule id nor `total`",
                )
        settlement, findings = run_example(c, ex, i)
        yield from findings
        if settlement is None:
            continue
        got: dict[str, Decimal] = dict(settlement.rule_totals)
        got["total"] = settlement.total
        for key, want in ex.expect.items():
            if key in got and got[key] != want:
                yield Finding(
                    ("worked_examples", i, "expect", key),
                    "example-mismatch",
                    f"example {ex.name!r}: the contract expects {key} = {want}, the engine "
                    f"computes {got[key]}",
                )
