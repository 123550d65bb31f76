"""Tests in the user's terms: a short contract written inline as YAML, a few rows, the settlement.

`contract_of(yaml)` prepends a small standard header (parties, term 2025 by quarter,
an outcome file with participant `pid`, `month`, `group` and numeric columns
`x`, `y`, `hours`) unless the text gives its own sections; `settle_rows` settles a
period from plain row mappings and, on failure, shows the issues.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from contracts.api import check_contract  # noqa: F401  (re-exported for tests)
from contracts.checks import check
from contracts.contract_file import parse_contract
from contracts.data import InMemoryData
from contracts.model import Contract
from contracts.settle import settle
from contracts.settlement import PriorSettlement, Settlement
from contracts.values import parse_value

HEADER = """\
contract: {id: test-contract, title: Test}
parties: {buyer: {name: Kommunen}, provider: {name: Leverantören AB}}
currency: SEK
term: {start: 2025-01-01, end: 2025-12-31}
periods: {kind: quarter}
outcome_file:
  columns:
    - {name: pid, type: text, pseudonymous: true}
    - {name: month, type: month}
    - {name: group, type: text, required: false}
    - {name: x, type: decimal, required: false}
    - {name: y, type: decimal, required: false}
    - {name: hours, type: decimal, required: false}
  grain: [pid, month]
  period_column: month
  participant_column: pid
"""


def contract_of(body: str, header: str = HEADER) -> Contract:
    """A contract from inline YAML; the header's sections are replaced by any the body gives."""
    body = textwrap.dedent(body)
    sections = {
        line.split(":", 1)[0]
        for line in body.splitlines()
        if line and not line[0].isspace() and not line.startswith("#") and ":" in line
    }
    kept: list[str] = []
    skip = False
    for line in header.splitlines():
        if line and not line[0].isspace():
            skip = line.split(":", 1)[0] in sections
        if not skip:
            kept.append(line)
    text = "\n".join(kept) + "\n" + body
    loaded = parse_contract(text, "inline.yaml")
    assert loaded.contract is not None, "\n".join(
        f"{i.location.short()} {i.code} {i.message}" for i in loaded.issues
    )
    findings = [f for f in check(loaded.contract) if f.severity == "error"]
    assert not findings, findings
    return loaded.contract


def typed(contract: Contract, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for raw in rows:
        row: dict[str, Any] = {}
        for col in contract.outcome_file.columns:
            value, code = parse_value(col, raw.get(col.name))
            assert code is None, f"{col.name}={raw.get(col.name)!r}: {code}"
            row[col.name] = value
        out.append(row)
    return out


def settle_rows(
    contract: Contract,
    period: str,
    rows: Iterable[Mapping[str, Any]],
    supplied: Mapping[tuple[str, str], Any] | None = None,
    prior: Sequence[PriorSettlement] = (),
) -> Settlement:
    figures = {k: Decimal(str(v)) for k, v in (supplied or {}).items()}
    result = settle(contract, period, InMemoryData(contract, typed(contract, rows), figures), prior)
    assert result.settlement is not None, [f"{i.code}: {i.message}" for i in result.issues]
    return result.settlement


def amounts(s: Settlement) -> dict[str, Decimal]:
    """Rule id → amount, plus `total`: the figures a reader checks first."""
    return {**dict(s.rule_totals), "total": s.total}


def table(s: Settlement) -> str:
    """The line items as text, for assertion messages."""
    rows = [f"{x.rule:<20} {x.kind:<18} {x.description[:30]:<30} {x.amount:>14}" for x in s.lines]
    return "\n".join(rows)


def D(text: str | int) -> Decimal:
    return Decimal(str(text))
