"""Settle one period: rules → lines, caps in order, rounding once, basis, payers.

Order (README, "How an amount is computed"): each rule computes its lines (rate-card
lines already carry per-participant and count caps); lines are rounded if the contract
rounds per line; the rule's own caps; then payment at risk over outcome rules, the
period cap and the contract cap, each cutting rules from the last to the first (fixed
fees are listed first in practice, so outcome payments are cut before them); rounding
per rule or per settlement; under the cumulative basis, what was settled before is
subtracted; a negative total is lifted to zero unless the contract allows it; the
total is split among the payers.
"""

from __future__ import annotations

import dataclasses
import decimal
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from contracts import money
from contracts import periods as P
from contracts.data import OutcomeData
from contracts.errors import UsageError
from contracts.explain import step
from contracts.issues import Issue
from contracts.measures import Evaluator
from contracts.model import Contract, SuppliedMetric
from contracts.rate_card import rate_card
from contracts.rule_model import (
    Bonus,
    FixedFee,
    Improvement,
    LinearScale,
    Malus,
    RateCard,
    SavingsShare,
    Target,
    Tiered,
)
from contracts.rules import (
    RuleContext,
    RuleOutput,
    bonus,
    fixed_fee,
    improvement,
    linear_scale,
    malus,
    rounded,
    savings_share,
    target,
    tiered,
)
from contracts.settlement import CapCut, LineItem, PriorSettlement, Settlement, SettleResult

ROUNDING_RULE = "rounding"  # pseudo-rule for a settlement-level rounding line
NO_NEGATIVE_RULE = "no_negative"  # pseudo-rule lifting a negative total to zero


def term_periods(contract: Contract) -> tuple[P.Period, ...]:
    spec = contract.periods
    if spec.kind == "explicit":
        return tuple(P.Period(e.start, e.end, e.id) for e in spec.explicit)
    return P.generate(spec.kind, contract.term.start, contract.term.end)


def term_period(contract: Contract, pid: str) -> P.Period:
    """The settlement period `pid` of the contract; a usage error names the others."""
    periods = term_periods(contract)
    found = P.find(periods, pid)
    if found is None:
        raise UsageError(
            f"{pid} is not a settlement period of this contract; its periods are "
            f"{', '.join(p.id for p in periods)}"
        )
    return found


def any_period(contract: Contract, pid: str) -> P.Period:
    """A term period, or any standard one: baseline files report on periods before the term."""
    found = P.find(term_periods(contract), pid) or P.parse_period(pid)
    if found is None:
        raise UsageError(f"{pid} is not a period (write 2025-Q1, 2025-03, HT2025 or 2025)")
    return found


def _rule_output(
    rule: object, contract: Contract, ev: Evaluator, data: OutcomeData, ctx: RuleContext
) -> RuleOutput:
    if isinstance(rule, FixedFee):
        return fixed_fee(rule, ctx)
    if isinstance(rule, Target):
        return target(rule, ev, ctx)
    if isinstance(rule, RateCard):
        return rate_card(rule, contract, data, ctx)
    if isinstance(rule, Improvement):
        return improvement(rule, ev, ctx)
    if isinstance(rule, LinearScale):
        return linear_scale(rule, ev, ctx)
    if isinstance(rule, Tiered):
        return tiered(rule, ev, ctx)
    if isinstance(rule, Bonus):
        return bonus(rule, ev, ctx)
    if isinstance(rule, Malus):
        return malus(rule, ev, ctx)
    assert isinstance(rule, SavingsShare), rule
    return savings_share(rule, ev, ctx)


def history_dependent(contract: Contract) -> bool:
    """Does settling a period depend on what earlier periods paid or claimed?

    True for rate cards (once per participant, tiers, counts), caps over the whole
    contract, payment at risk, savings shares with a break-even, and the cumulative
    basis. Such a period cannot be settled from its own rows alone.
    """
    return (
        contract.settlement.basis == "cumulative"
        or contract.caps.contract is not None
        or contract.payment_at_risk is not None
        or any(isinstance(r, RateCard) or r.cap is not None for r in contract.rules)
        or any(isinstance(r, SavingsShare) and r.break_even is not None for r in contract.rules)
    )


def needs_rows(contract: Contract) -> bool:
    return any(isinstance(r, RateCard) for r in contract.rules) or any(
        not isinstance(m, SuppliedMetric) for m in contract.metrics
    )


class _Settler:
    def __init__(self, contract: Contract, prior: Sequence[PriorSettlement]) -> None:
        self.c = contract
        r = contract.settlement.rounding
        self.rounding = r
        self.quantum, self.mode, self.at = r.quantum, r.mode, r.at
        self.cumulative = contract.settlement.basis == "cumulative"
        self.prior_rule: dict[str, Decimal] = defaultdict(Decimal)
        for p in prior:
            for rid, amount in p.rule_totals.items():
                self.prior_rule[rid] += amount
        self.prior_total = money.add(*(p.total for p in prior))
        self.lines: dict[str, list[LineItem]] = {}
        self.caps: list[CapCut] = []

    def limit(self, cap: Decimal, prior: Decimal) -> Decimal:
        """What a cap leaves for this settlement, rounded down to the quantum.

        A limit on the quantum stays a limit after rounding wherever the contract
        rounds: rounding a value at or below a multiple of the quantum cannot pass it.
        """
        room = cap if self.cumulative else max(money.ZERO, cap - prior)
        return money.quantize(room, self.quantum, "down")

    def on_quantum(self, value: Decimal) -> Decimal:
        """The same value written with the quantum's decimals (0 → 0.00), when it is on it."""
        exponent = self.quantum.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0 and money.is_multiple(value, self.quantum):
            return value.quantize(self.quantum)
        return value

    def round_line(self, line: LineItem) -> LineItem:
        # Even when the value is unchanged it is written at the quantum (3360.0000 → 3360.00).
        amount, steps = rounded(line.amount, self.rounding, line.steps)
        return dataclasses.replace(line, amount=amount, steps=steps)

    def cut(
        self,
        scope: str,
        name: str,
        rule_ids: Sequence[str],
        cap: Decimal,
        limit: Decimal,
        prior: Decimal,
    ) -> None:
        """Bring the lines of `rule_ids` down to `limit`, cutting the last rule first."""
        total = money.add(*(x.amount for rid in rule_ids for x in self.lines[rid]))
        excess = total - limit
        if excess <= 0:
            return
        self.caps.append(CapCut(scope, name, cap, total, limit))
        for rid in reversed(rule_ids):
            have = money.add(*(x.amount for x in self.lines[rid]))
            take = min(excess, max(money.ZERO, have))
            if take <= 0:
                continue
            code = "cap.line_prior" if prior and not self.cumulative else "cap.line"
            args = {"paid": prior} if code == "cap.line_prior" else {}
            s = step(
                "cap",
                code,
                scope=scope,
                name=name,
                limit=cap,
                before=have,
                after=have - take,
                **args,
            )
            self.lines[rid].append(LineItem(rid, "cap", f"{scope} cap", -take, steps=(s,)))
            excess -= take
            if excess <= 0:
                break

    def add_rounding(self, rid: str, target: Decimal, current: Decimal) -> None:
        if target != current:
            s = step(
                "round",
                "round.line",
                mode=self.mode,
                quantum=self.quantum,
                before=current,
                after=target,
            )
            self.lines.setdefault(rid, []).append(
                LineItem(rid, "rounding", "rounding", target - current, steps=(s,))
            )


def settle(
    contract: Contract, period_id: str, data: OutcomeData, prior: Sequence[PriorSettlement] = ()
) -> SettleResult:
    """Settle `period_id`: the pure engine. `prior` holds earlier settlements (see module doc)."""
    # Sums and products below are exact (200 digits), whatever the caller's context.
    with decimal.localcontext(money.CONTEXT):
        return _settle(contract, period_id, data, prior)


def _settle(
    contract: Contract, period_id: str, data: OutcomeData, prior: Sequence[PriorSettlement]
) -> SettleResult:
    periods = term_periods(contract)
    period = P.find(periods, period_id)
    if period is None:
        known = ", ".join(p.id for p in periods)
        return SettleResult(
            None,
            (
                Issue(
                    "period-unknown",
                    f"{period_id} is not a settlement period of "
                    f"this contract; its periods are {known}",
                ),
            ),
        )
    idx = periods.index(period)
    window = periods[: idx + 1] if contract.settlement.basis == "cumulative" else (period,)
    issues: list[Issue] = []
    if needs_rows(contract):
        for p in window:
            if data.row_count(p) == 0:
                issues.append(
                    Issue(
                        "no-rows",
                        f"there are no outcome rows for {p.id}; load its outcome file first",
                    )
                )
    ev = Evaluator(contract, data, periods)
    s = _Settler(contract, prior)
    for rule in contract.rules:
        ctx = RuleContext(
            window,
            periods,
            money.ZERO if s.cumulative else s.prior_rule[rule.id],
            contract.contract_value,
            contract.settlement.rounding,
        )
        out = _rule_output(rule, contract, ev, data, ctx)
        lines = [s.round_line(x) for x in out.lines] if s.at == "line" else list(out.lines)
        s.lines[rule.id] = lines
        s.caps += out.caps
        if rule.cap_per_period is not None:
            cap = money.mul(rule.cap_per_period, Decimal(len(window)))
            s.cut("rule-period", rule.id, [rule.id], cap, s.limit(cap, money.ZERO), money.ZERO)
        if rule.cap is not None:
            s.cut(
                "rule",
                rule.id,
                [rule.id],
                rule.cap,
                s.limit(rule.cap, s.prior_rule[rule.id]),
                s.prior_rule[rule.id],
            )
        if s.at == "rule":
            # Rounded before caps across rules, so those cut amounts on the quantum and
            # rounding can never lift a total over them.
            have = money.add(*(x.amount for x in s.lines[rule.id]))
            s.add_rounding(rule.id, money.quantize(have, s.quantum, s.mode), have)
    issues += ev.issues
    if issues:
        return SettleResult(None, tuple(issues))
    rule_ids = [r.id for r in contract.rules]
    risk = contract.payment_at_risk
    if risk is not None and contract.contract_value is not None:
        outcome_ids = [r.id for r in contract.rules if not isinstance(r, FixedFee)]
        cap = money.mul(risk.share, contract.contract_value)
        # A deduction that an earlier settlement's lift to zero absorbed was never taken
        # off a payment: count the lift with the outcome rules, or the room grows by it.
        prior_outcome = money.add(
            *(s.prior_rule[r] for r in outcome_ids), s.prior_rule[NO_NEGATIVE_RULE]
        )
        s.cut(
            "at-risk",
            "outcome payments",
            outcome_ids,
            cap,
            s.limit(cap, prior_outcome),
            prior_outcome,
        )
    if contract.caps.per_period is not None:
        cap = money.mul(contract.caps.per_period, Decimal(len(window)))
        s.cut("period", period.id, rule_ids, cap, s.limit(cap, money.ZERO), money.ZERO)
    if contract.caps.contract is not None:
        s.cut(
            "contract",
            "contract",
            rule_ids,
            contract.caps.contract,
            s.limit(contract.caps.contract, s.prior_total),
            s.prior_total,
        )
    _round_groups(s, rule_ids)
    entitlement = money.add(*(x.amount for lines in s.lines.values() for x in lines))
    previously = money.ZERO
    if s.cumulative:
        for rid in sorted(set(s.prior_rule) | set(s.lines), key=_order(rule_ids)):
            before = s.prior_rule.get(rid, money.ZERO)
            if before == 0:
                continue
            have = money.add(*(x.amount for x in s.lines.get(rid, [])))
            st = step(
                "previous",
                "previous.settled",
                entitlement=have,
                settled=before,
                amount=have - before,
            )
            s.lines.setdefault(rid, []).append(
                LineItem(rid, "previously_settled", "settled before", -before, steps=(st,))
            )
            previously += before
    total = entitlement - previously
    if total < 0 and not contract.settlement.allow_negative:
        s.caps.append(CapCut("no-negative", "settlement", money.ZERO, total, money.ZERO))
        st = step("cap", "cap.no_negative", before=total, after=money.ZERO)
        s.lines.setdefault(NO_NEGATIVE_RULE, []).append(
            LineItem(NO_NEGATIVE_RULE, "cap", "no negative settlement", -total, steps=(st,))
        )
        total = money.ZERO
    ordered = sorted(s.lines, key=_order(rule_ids))
    total = s.on_quantum(total)
    all_lines = tuple(x for rid in ordered for x in s.lines[rid])
    rule_totals = tuple(
        (rid, s.on_quantum(money.add(*(x.amount for x in s.lines[rid])))) for rid in ordered
    )
    return SettleResult(
        Settlement(
            contract.contract.id,
            period.id,
            contract.settlement.basis,
            tuple(p.id for p in window),
            contract.currency,
            tuple(ev.computed.values()),
            all_lines,
            tuple(s.caps),
            rule_totals,
            entitlement,
            previously,
            total,
            split_payers(contract, dict(rule_totals), total),
            earlier=tuple((p.period, p.total) for p in prior),
        )
    )


def _order(rule_ids: list[str]):  # type: ignore[no-untyped-def]
    def key(rid: str) -> tuple[int, str]:
        return (rule_ids.index(rid) if rid in rule_ids else len(rule_ids), rid)

    return key


def _round_groups(s: _Settler, rule_ids: list[str]) -> None:
    if s.at == "settlement":
        have = money.add(*(x.amount for lines in s.lines.values() for x in lines))
        s.add_rounding(ROUNDING_RULE, money.quantize(have, s.quantum, s.mode), have)


def split_payers(
    contract: Contract, rule_totals: dict[str, Decimal], total: Decimal
) -> tuple[tuple[str, Decimal], ...]:
    """Each payer's part of the total, at the quantum, adding up to the total exactly.

    Per rule, a payer owes its share (a per-rule share overrides its default); lines
    outside any rule (rounding, no-negative) follow the default shares. Parts are
    rounded down to the quantum and the remaining quanta go to the largest remainders,
    ties to the payer listed first.
    """
    payers = contract.payers
    if not payers:
        return ((contract.parties.buyer.name, total),)
    quantum = contract.settlement.rounding.quantum
    raw = [
        money.add(
            *(money.mul(p.shares.get(rid, p.share), amount) for rid, amount in rule_totals.items())
        )
        for p in payers
    ]
    parts = [money.quantize(v, quantum, "floor") for v in raw]
    left = int((total - money.add(*parts)) / quantum)
    order = sorted(range(len(payers)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: max(0, left)]:
        parts[i] += quantum
    return tuple((p.name, a) for p, a in zip(payers, parts, strict=True))
