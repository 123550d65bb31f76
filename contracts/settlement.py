"""What a settlement is: line items with explanations, caps that cut, totals.

Plain frozen records; `to_dict` gives the canonical JSON form (decimals as strings)
used by `--format json`, the ledger and the content hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from contracts.explain import Step
from contracts.issues import Issue
from contracts.metrics import MetricValue

LineKind = Literal["payment", "deduction", "cap", "rounding", "previously_settled"]


@dataclass(frozen=True)
class LineItem:
    """One amount and how it came about."""

    rule: str  # id of the rule the line belongs to
    kind: LineKind  # payment, deduction, cap (a cut), rounding, or previously_settled
    description: str  # short label, e.g. `math_pass P1042` or `Fixed fee 2025-Q1`
    amount: Decimal  # the line's amount; lines sum to the settlement total
    quantity: Decimal | None = None  # units paid for (outcomes, avoided hours, periods)
    unit_price: Decimal | None = None  # price per unit after uplifts and tiers
    participant: str | None = None  # participant (pseudonym) for rate-card lines
    outcome: str | None = None  # rate-card outcome id
    period: str | None = None  # the period the line arises in
    steps: tuple[Step, ...] = ()  # ordered explanation: select → metric → … → cap → round


@dataclass(frozen=True)
class CapCut:
    """A cap that bit: what it limits, its limit, and the amount before and after."""

    scope: str  # participant, outcome-count, rule-count, quota, rule-period, rule, at-risk, period, contract, no-negative
    name: str  # what the cap belongs to: a rule id, `participant P1042`, `contract`
    limit: Decimal  # the cap (amount, or a count for count caps)
    before: Decimal  # amount or count before the cap
    after: Decimal  # amount or count after the cap

    @property
    def cut(self) -> Decimal:
        return self.before - self.after


@dataclass(frozen=True)
class PriorSettlement:
    """What was settled earlier, as the engine needs it for caps to date and cumulative basis."""

    period: str  # period id settled
    rule_totals: Mapping[str, Decimal]  # rule id → amount settled under that rule
    total: Decimal  # settlement total


@dataclass(frozen=True)
class Settlement:
    """The result of settling one period of one contract."""

    contract_id: str  # the contract's identity id
    period: str  # the period settled
    basis: str  # per_period or cumulative
    window: tuple[str, ...]  # periods whose results this settlement covers
    currency: str  # ISO 4217
    metrics: tuple[MetricValue, ...]  # every metric and baseline computed, in order of first use
    lines: tuple[LineItem, ...]  # line items; they sum to `total`
    caps: tuple[CapCut, ...]  # caps that cut something
    rule_totals: tuple[tuple[str, Decimal], ...]  # rule id → amount in this settlement
    entitlement: Decimal  # amount earned over the window before subtracting earlier settlements
    previously_settled: Decimal  # amount settled before (cumulative basis), else 0
    total: Decimal  # amount payable now
    payers: tuple[tuple[str, Decimal], ...]  # payer → amount owed of `total`
    inputs: tuple[tuple[str, str], ...] = ()  # input name → SHA-256 (set by the edges)
    earlier: tuple[tuple[str, Decimal], ...] = ()  # earlier settlements counted: period → total

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract_id,
            "period": self.period,
            "basis": self.basis,
            "window": list(self.window),
            "currency": self.currency,
            "metrics": [_metric_dict(m) for m in self.metrics],
            "lines": [_line_dict(line) for line in self.lines],
            "caps": [
                {
                    "scope": c.scope,
                    "name": c.name,
                    "limit": str(c.limit),
                    "before": str(c.before),
                    "after": str(c.after),
                    "cut": str(c.cut),
                }
                for c in self.caps
            ],
            "rule_totals": {r: str(a) for r, a in self.rule_totals},
            "entitlement": str(self.entitlement),
            "previously_settled": str(self.previously_settled),
            "total": str(self.total),
            "payers": {p: str(a) for p, a in self.payers},
            "inputs": dict(self.inputs),
            "earlier": [{"period": p, "total": str(t)} for p, t in self.earlier],
        }

    def as_prior(self) -> PriorSettlement:
        return PriorSettlement(self.period, dict(self.rule_totals), self.total)


@dataclass(frozen=True)
class SettleResult:
    """A settlement, or the issues that prevented one."""

    settlement: Settlement | None
    issues: tuple[Issue, ...] = field(default=())


def _num(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _metric_dict(m: MetricValue) -> dict[str, Any]:
    return {
        "metric": m.metric,
        "periods": list(m.periods),
        "value": _num(m.value),
        "rows": m.rows,
        "parts": {k: str(v) for k, v in m.parts},
        "groups": {k: _num(v) for k, v in m.groups},
        "supplied": m.supplied,
    }


def _line_dict(line: LineItem) -> dict[str, Any]:
    return {
        "rule": line.rule,
        "kind": line.kind,
        "description": line.description,
        "amount": str(line.amount),
        "quantity": _num(line.quantity),
        "unit_price": _num(line.unit_price),
        "participant": line.participant,
        "outcome": line.outcome,
        "period": line.period,
        "steps": [s.to_dict() for s in line.steps],
    }
