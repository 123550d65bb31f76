"""Supplied figures: numbers that arrive aggregated rather than as rows (a comparison
group's rate from an independent evaluator, a published statistic).

A file of figures is an input like an outcome file: hashed and recorded. Two forms:
YAML (`metric: {period: value}`) or CSV with the header `metric,period,value`
(comma or semicolon; a decimal comma is accepted).
"""

from __future__ import annotations

import csv
import hashlib
import io
import pathlib
from decimal import Decimal, InvalidOperation

from contracts.issues import Issue, Location
from contracts.model import Contract, SuppliedMetric
from contracts.yaml_source import load_yaml

Figures = dict[tuple[str, str], Decimal]


def _number(text: str) -> Decimal | None:
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")
    try:
        return Decimal(t)
    except InvalidOperation:
        return None


def read_supplied(path: pathlib.Path, contract: Contract) -> tuple[Figures, list[Issue], str]:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    name = str(path)
    text = raw.decode("utf-8-sig", errors="replace")
    figures: Figures = {}
    issues: list[Issue] = []
    entries: list[tuple[str, str, object, Location]] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        doc, problems = load_yaml(text)
        issues += [
            Issue(p.code, p.message, Location(file=name, line=p.line, column=p.column))
            for p in problems
        ]
        data = doc.data if doc is not None else None
        if not isinstance(data, dict):
            issues.append(
                Issue(
                    "supplied-shape",
                    "write figures as `metric: {period: value}`",
                    Location(file=name),
                )
            )
            return figures, issues, digest
        for mid, per in data.items():
            if not isinstance(per, dict):
                issues.append(
                    Issue(
                        "supplied-shape",
                        f"{mid}: expected `period: value` pairs",
                        Location(file=name),
                    )
                )
                continue
            for pid, v in per.items():
                pos = doc.positions.get((mid, pid)) if doc else None
                entries.append(
                    (
                        mid,
                        str(pid),
                        v,
                        Location(
                            file=name,
                            line=pos.line if pos else None,
                            column=pos.column if pos else None,
                        ),
                    )
                )
    else:
        dialect = (
            ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        )
        reader = csv.reader(io.StringIO(text), delimiter=dialect)
        header = [h.strip().lower() for h in next(reader, [])]
        if header[:3] != ["metric", "period", "value"]:
            issues.append(
                Issue(
                    "supplied-shape",
                    "the header must be metric, period, value",
                    Location(file=name, line=1),
                )
            )
            return figures, issues, digest
        for n, rec in enumerate(reader, start=2):
            if rec and any(x.strip() for x in rec):
                rec = [*rec, "", "", ""][:3]
                entries.append(
                    (rec[0].strip(), rec[1].strip(), rec[2], Location(file=name, line=n))
                )
    supplied = {m.id for m in contract.metrics if isinstance(m, SuppliedMetric)}
    for mid, pid, v, loc in entries:
        value = (
            v
            if isinstance(v, Decimal)
            else Decimal(v)
            if isinstance(v, int) and not isinstance(v, bool)
            else _number(v)
            if isinstance(v, str)
            else None
        )
        if mid not in supplied:
            issues.append(
                Issue("supplied-unknown", f"{mid!r} is not a supplied metric of this contract", loc)
            )
        elif value is None:
            issues.append(Issue("supplied-value", f"{mid} {pid}: {v!r} is not a number", loc))
        else:
            figures[(mid, pid)] = value
    return figures, issues, digest
