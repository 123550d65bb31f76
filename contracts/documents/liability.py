"""The maximum liability: the most a contract can cost the buyer over its whole term.

Problem: a buyer must know before signing what the contract can cost at most (the
figure a municipality budgets and the council approves), but outcome payments depend
on results nobody knows yet. Only the contract's fixed amounts and caps bound them,
and a careless contract has no bound at all — a price per avoided hour with no cap can
in principle cost anything.

Approach: pure arithmetic over the contract, no data. Each rule gets the smallest of
the bounds that apply to it — its own amounts over the term (a fixed fee, a target's
amount, a scale's full amount or the highest band, each once per period; a rate card's
count caps times its highest prices with every uplift; a savings share's break-even
plus its capped return and floors), its cap per period × the number of periods, its
cap over the contract. A malus only deducts, so it adds nothing. Then the contract as
a whole takes the smallest of: the sum over the rules (when every rule is bounded),
the fixed fees plus the payment at risk, the period cap × the number of periods, and
the contract cap. Caps count as the engine applies them, rounded down to the rounding
quantum. When none of these exists the result is unbounded, with the rules that have
no cap and why (a per-participant cap bounds nothing without the number of
participants).

Each bound carries a stable code and its values, so the documents word the derivation
in English or Swedish without this module knowing either.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

from contracts import money
from contracts.model import Contract
from contracts.rule_model import (
    Bonus,
    FixedFee,
    Improvement,
    LinearScale,
    Malus,
    RateCard,
    RateOutcome,
    SavingsShare,
    Target,
    Tiered,
)
from contracts.settle import term_periods

Value = Decimal | int | str
AnyRule = (
    FixedFee | Target | RateCard | Improvement | LinearScale | Tiered | Bonus | Malus | SavingsShare
)


@dataclass(frozen=True)
class Bound:
    """One way the cost is limited, with the figures it is computed from."""

    code: str  # what limits: e.g. `fee`, `cap-per-period`, `contract-cap` (see BOUND_CODES)
    amount: Decimal | None  # the limit; None when this bound does not exist (unbounded)
    values: tuple[tuple[str, Value], ...] = ()  # named figures behind the amount

    def value(self, name: str) -> Value | None:
        return dict(self.values).get(name)


@dataclass(frozen=True)
class RuleBound:
    """The most one rule can pay over the term, and every bound considered for it."""

    rule: str  # the rule's id
    kind: str  # its family (fixed_fee, target, ...)
    title: str | None  # its title, for documents
    bound: Bound  # the smallest bound, or the rule's own unbounded reason
    considered: tuple[Bound, ...]  # all bounds that apply (the smallest is `bound`)
    fixed: bool  # a fixed fee: outside the payment at risk

    @property
    def amount(self) -> Decimal | None:
        return self.bound.amount


@dataclass(frozen=True)
class Liability:
    """The maximum the contract can cost over its term, with its derivation."""

    amount: Decimal | None  # the maximum liability; None when the contract is unbounded
    binding: Bound | None  # the bound that gives the maximum
    rules: tuple[RuleBound, ...]  # per rule, in the contract's order
    bounds: tuple[Bound, ...]  # contract-wide bounds considered (`rules`, `at-risk`, ...)
    periods: int  # settlement periods in the term
    currency: str  # the contract's currency

    @property
    def bounded(self) -> bool:
        return self.amount is not None

    @property
    def unbounded_rules(self) -> tuple[RuleBound, ...]:
        """Rules without a bound of their own: why the sum over rules is no bound."""
        return tuple(r for r in self.rules if r.amount is None)


# Codes of bounds. Rule bounds: fee, fee-share, amount-per-period, band-per-period,
# bonus-per-period, count, break-even, deduction, cap-per-period, cap; reasons a rule
# has none: price-per-unit, per-step, saving-share, no-count-cap. Contract bounds:
# rules, at-risk, period-cap, contract-cap.


def maximum_liability(contract: Contract) -> Liability:
    """Derive the maximum liability of `contract` (see the module docstring)."""
    with decimal.localcontext(money.CONTEXT):
        n = len(term_periods(contract))
        q = contract.settlement.rounding
        rules = tuple(_rule_bound(rule, contract, n) for rule in contract.rules)
        bounds = _contract_bounds(contract, rules, n, q.quantum)
        present = [b for b in bounds if b.amount is not None]
        binding = min(present, key=lambda b: b.amount or money.ZERO) if present else None
        return Liability(
            binding.amount if binding else None, binding, rules, bounds, n, contract.currency
        )


def _down(cap: Decimal, quantum: Decimal) -> Decimal:
    # The engine cuts at the cap rounded down to the quantum (settle._Settler.limit).
    return money.quantize(cap, quantum, "down")


def _paid(amount: Decimal, contract: Contract) -> Decimal:
    """An amount as a line pays it: rounded to the quantum the contract's way."""
    r = contract.settlement.rounding
    return money.quantize(amount, r.quantum, r.mode)


def _per_period(code: str, each: Decimal, n: int, **values: Value) -> Bound:
    return Bound(code, each * n, (("each", each), ("periods", n), *values.items()))


def _own_bound(rule: AnyRule, contract: Contract, n: int) -> Bound:
    """What the rule's own terms allow over the term, before its caps."""
    if isinstance(rule, FixedFee):
        if rule.amount is not None:
            return _per_period("fee", _paid(rule.amount, contract), n)
        value = contract.contract_value or money.ZERO
        total = _paid(money.mul(rule.share_of_value or money.ZERO, value), contract)
        return Bound(
            "fee-share",
            total,
            (("share", rule.share_of_value or money.ZERO), ("value", value), ("periods", n)),
        )
    if isinstance(rule, Target | LinearScale):
        return _per_period("amount-per-period", _paid(rule.amount, contract), n)
    if isinstance(rule, Tiered):
        return _per_period("band-per-period", _paid(max(b.amount for b in rule.bands), contract), n)
    if isinstance(rule, Bonus):
        if rule.amount is None:
            return Bound("per-step", None)
        return _per_period("bonus-per-period", _paid(rule.amount, contract), n)
    if isinstance(rule, Malus):
        return Bound("deduction", money.ZERO)
    if isinstance(rule, Improvement):
        return Bound("price-per-unit", None)
    if isinstance(rule, RateCard):
        return _rate_card_bound(rule, contract)
    return _savings_bound(rule, n)


def _rule_bound(rule: AnyRule, contract: Contract, n: int) -> RuleBound:
    quantum = contract.settlement.rounding.quantum
    considered = [_own_bound(rule, contract, n)]
    if rule.cap_per_period is not None:
        considered.append(_per_period("cap-per-period", _down(rule.cap_per_period, quantum), n))
    if rule.cap is not None:
        considered.append(Bound("cap", _down(rule.cap, quantum)))
    present = [b for b in considered if b.amount is not None]
    best = min(present, key=lambda b: b.amount or money.ZERO) if present else considered[0]
    return RuleBound(
        rule.id, rule.kind, rule.title, best, tuple(considered), isinstance(rule, FixedFee)
    )


def _highest_prices(outcome: RateOutcome, count: int) -> Decimal:
    """The sum of the first `count` prices of an outcome (marginal volume tiers)."""
    if outcome.price is not None:
        return outcome.price * count
    total, start = money.ZERO, 0
    for tier in outcome.tiers:
        end = count if tier.up_to is None else min(tier.up_to, count)
        if end > start:
            total += tier.price * (end - start)
            start = end
    if start < count:  # beyond the last closed tier the last price goes on (rate_card._tier_price)
        total += outcome.tiers[-1].price * (count - start)
    return total


def _top_price(outcome: RateOutcome) -> Decimal:
    return outcome.price if outcome.price is not None else max(t.price for t in outcome.tiers)


def _rate_card_bound(rule: RateCard, contract: Contract) -> Bound:
    """Count caps times the highest prices, every uplift applied; else no bound.

    A per-participant cap is no bound alone: the number of participants is not in the
    contract. Quotas only lower what is paid, so they are left out.
    """
    factor = Decimal(1)
    for up in rule.uplifts:
        factor *= 1 + up.percent / 100
    candidates: list[Decimal] = []
    if all(o.max_count is not None for o in rule.outcomes):
        candidates.append(
            sum(
                (_highest_prices(o, o.max_count or 0) * factor for o in rule.outcomes),
                money.ZERO,
            )
        )
    if rule.max_count is not None:
        top = max(_top_price(o) for o in rule.outcomes)
        candidates.append(top * factor * rule.max_count)
    if not candidates:
        reason = (
            (("participant_cap", rule.cap_per_participant),) if rule.cap_per_participant else ()
        )
        return Bound("no-count-cap", None, reason)
    return Bound(
        "count",
        _paid(min(candidates), contract),
        (("max_count", rule.max_count or 0), ("uplift", factor)),
    )


def _savings_bound(rule: SavingsShare, n: int) -> Bound:
    """Break-even, plus the return beyond it when capped (or nothing when its share is 0),
    plus the guaranteed floor in every period (a floor only lifts a payment)."""
    if rule.break_even is None:
        return Bound("saving-share", None)
    if rule.return_cap is None and rule.share_after != 0:
        return Bound("saving-share", None, (("break_even", rule.break_even),))
    ret = rule.return_cap if rule.return_cap is not None else money.ZERO
    floor = rule.floor or money.ZERO
    return Bound(
        "break-even",
        rule.break_even + ret + floor * n,
        (("break_even", rule.break_even), ("return_cap", ret), ("floor", floor), ("periods", n)),
    )


def _contract_bounds(
    contract: Contract, rules: tuple[RuleBound, ...], n: int, quantum: Decimal
) -> tuple[Bound, ...]:
    amounts = [r.amount for r in rules]
    total = (
        None
        if any(a is None for a in amounts)
        else sum((a for a in amounts if a is not None), money.ZERO)
    )
    bounds = [Bound("rules", total, (("rules", len(rules)),))]
    risk = contract.payment_at_risk
    if risk is not None and contract.contract_value is not None:
        fixed = sum((r.amount or money.ZERO for r in rules if r.fixed), money.ZERO)
        at_risk = _down(money.mul(risk.share, contract.contract_value), quantum)
        bounds.append(
            Bound(
                "at-risk",
                fixed + at_risk,
                (
                    ("fixed", fixed),
                    ("share", risk.share),
                    ("value", contract.contract_value),
                    ("at_risk", at_risk),
                ),
            )
        )
    if contract.caps.per_period is not None:
        bounds.append(_per_period("period-cap", _down(contract.caps.per_period, quantum), n))
    if contract.caps.contract is not None:
        bounds.append(Bound("contract-cap", _down(contract.caps.contract, quantum)))
    return tuple(bounds)
