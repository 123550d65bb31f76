"""The rate card: a price per participant outcome.

Problem: whether an outcome pays in a period depends on history — was it paid before
(once per participant), was a prerequisite paid in an earlier period, has the condition
held for N consecutive periods, how many outcomes were paid before (volume tiers, count
caps, quotas), how much the participant has been paid (per-participant cap).

Approach: replay. Every settlement period of the term up to the one being settled is
evaluated in order from the rows, with the participant's first reported row as its
baseline (`baseline.<column>`, eligibility and uplifts are judged on it). The state
after each period feeds the next. The settlement keeps the claims that arise in its
window. Replaying from the rows, not from stored amounts, makes the result a function
of the data alone, so an auditor can recompute it; within a period participants are
taken in sorted order so row order never matters.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contracts import money
from contracts import periods as P
from contracts.data import OutcomeData, row_period
from contracts.explain import Step, step
from contracts.metrics import expression
from contracts.model import Contract, Rounding
from contracts.rule_model import RateCard, RateOutcome
from contracts.rules import RuleContext, RuleOutput, rounded
from contracts.settlement import CapCut, LineItem

Row = Mapping[str, Any]


@dataclass
class _Claim:
    participant: str
    outcome: RateOutcome
    period: P.Period
    steps: list[Step]


@dataclass
class _State:
    paid: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    streak: dict[tuple[str, str], tuple[int, int]] = field(
        default_factory=dict
    )  # (last index, length)
    per_outcome: Counter[str] = field(default_factory=Counter)
    per_category: Counter[str] = field(default_factory=Counter)
    total: int = 0
    amount: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def _participants(contract: Contract, rows: list[Row]) -> dict[str, list[tuple[P.Period, Row]]]:
    pcol = contract.outcome_file.participant_column
    per: dict[str, list[tuple[P.Period, Row]]] = defaultdict(list)
    for row in rows:
        rp = row_period(row.get(contract.outcome_file.period_column), contract)
        if rp is not None and pcol is not None and row.get(pcol) is not None:
            per[str(row[pcol])].append((rp, row))
    for history in per.values():
        history.sort(key=lambda item: (item[0], sorted((k, str(v)) for k, v in item[1].items())))
    return per


def rate_card(
    rule: RateCard, contract: Contract, data: OutcomeData, ctx: RuleContext
) -> RuleOutput:
    settle_to = ctx.window[-1]
    replay = [p for p in ctx.term_periods if p.end <= settle_to.end]
    history = _participants(contract, list(data.rows_until(settle_to.end)))
    first = {pid: h[0][1] for pid, h in history.items()}
    eligible = {
        pid
        for pid, row in first.items()
        if rule.eligibility is None or expression(rule.eligibility).evaluate_bool(row, row)
    }
    state, out = _State(), RuleOutput()
    for index, period in enumerate(replay):
        claims = _candidates(rule, history, first, eligible, state, index, period)
        claims = _count_caps(rule, claims, state, out, period in ctx.window)
        claims = _quotas(rule, claims, state, out, period in ctx.window)
        for claim in claims:
            line = _price(
                rule,
                claim,
                first[claim.participant],
                state,
                out,
                period in ctx.window,
                ctx.rounding,
            )
            if period in ctx.window:
                out.lines.append(line)
    out.caps = _merge(out.caps)
    # Lines read like the rate card: period, then outcome in the contract's order, then participant.
    order = {o.id: i for i, o in enumerate(rule.outcomes)}
    periods = {p.id: i for i, p in enumerate(replay)}
    out.lines.sort(
        key=lambda x: (
            periods.get(x.period or "", 0),
            order.get(x.outcome or "", 0),
            x.participant or "",
        )
    )
    return out


def _merge(caps: list[CapCut]) -> list[CapCut]:
    """One record per participant: several claims cut in a period become one cut."""
    merged: dict[tuple[str, str], CapCut] = {}
    for c in caps:
        key = (c.scope, c.name)
        if c.scope == "participant" and key in merged:
            a = merged[key]
            merged[key] = CapCut(c.scope, c.name, c.limit, c.after + a.cut + c.cut, c.after)
        else:
            merged[key if c.scope == "participant" else (c.scope, f"{c.name}#{len(merged)}")] = c
    return list(merged.values())


def _candidates(
    rule: RateCard,
    history: dict[str, list[tuple[P.Period, Row]]],
    first: dict[str, Row],
    eligible: set[str],
    state: _State,
    index: int,
    period: P.Period,
) -> list[_Claim]:
    claims: list[_Claim] = []
    for pid in sorted(history):
        rows = [row for rp, row in history[pid] if period.contains(rp)]
        if not rows or pid not in eligible:
            continue
        for oc in rule.outcomes:
            cond = expression(oc.condition)
            hits = [row for row in rows if cond.evaluate_bool(row, first[pid])]
            key = (pid, oc.id)
            if not hits:
                continue
            last, length = state.streak.get(key, (-2, 0))
            length = length + 1 if last == index - 1 else 1
            state.streak[key] = (index, length)
            if length < oc.sustain_periods:
                continue
            if oc.pays == "once" and state.paid[key]:
                continue
            if any(
                not [p for p in state.paid[(pid, req)] if p != period.id] for req in oc.requires
            ):
                continue
            n = len(hits) if oc.pays == "every_time" else 1
            held = f" for {length} consecutive periods" if oc.sustain_periods > 1 else ""
            for _ in range(n):
                s = step(
                    "price",
                    "price.outcome",
                    outcome=oc.id,
                    condition=cond.render() + held,
                    period=period.id,
                )
                claims.append(_Claim(pid, oc, period, [s]))
    return claims


def _count_caps(
    rule: RateCard, claims: list[_Claim], state: _State, out: RuleOutput, report: bool
) -> list[_Claim]:
    kept: list[_Claim] = []
    dropped: Counter[str] = Counter()
    taken: Counter[str] = Counter()
    for c in claims:
        oc = c.outcome
        over_outcome = (
            oc.max_count is not None and state.per_outcome[oc.id] + taken[oc.id] >= oc.max_count
        )
        over_rule = rule.max_count is not None and state.total + len(kept) >= rule.max_count
        if over_outcome or over_rule:
            dropped[oc.id if over_outcome else rule.id] += 1
            continue
        taken[oc.id] += 1
        kept.append(c)
    if report:
        for name, n in sorted(dropped.items()):
            oc_cap = next((o.max_count for o in rule.outcomes if o.id == name), None)
            limit = Decimal(oc_cap if oc_cap is not None else rule.max_count or 0)
            scope = "outcome-count" if oc_cap is not None else "rule-count"
            done = Decimal(taken[name] if oc_cap is not None else len(kept))
            out.caps.append(CapCut(scope, name, limit, done + n, done))
    return kept


def _quotas(
    rule: RateCard, claims: list[_Claim], state: _State, out: RuleOutput, report: bool
) -> list[_Claim]:
    for quota in rule.quotas:
        inside = [c for c in claims if c.outcome.category == quota.category]
        others = state.total - state.per_category[quota.category] + len(claims) - len(inside)
        # cat ≤ s·(cat + others)  ⇔  cat ≤ s·others / (1 − s)
        allowed_total = int(
            money.div(money.mul(quota.max_share, Decimal(others)), 1 - quota.max_share) or 0
        )
        allowed = max(0, allowed_total - state.per_category[quota.category])
        if len(inside) > allowed:
            drop = {id(c) for c in inside[allowed:]}
            if report:
                out.caps.append(
                    CapCut(
                        "quota",
                        quota.category,
                        quota.max_share,
                        Decimal(len(inside)),
                        Decimal(allowed),
                    )
                )
            claims = [c for c in claims if id(c) not in drop]
    for c in claims:
        state.paid[(c.participant, c.outcome.id)].append(c.period.id)
        if c.outcome.category:
            state.per_category[c.outcome.category] += 1
    return claims


def _tier_price(oc: RateOutcome, number: int) -> Decimal:
    if oc.price is not None:
        return oc.price
    for t in oc.tiers:
        if t.up_to is None or number <= t.up_to:
            return t.price
    return oc.tiers[-1].price


def _price(
    rule: RateCard,
    c: _Claim,
    first: Row,
    state: _State,
    out: RuleOutput,
    report: bool,
    rounding: Rounding,
) -> LineItem:
    oc, steps = c.outcome, c.steps
    number = state.per_outcome[oc.id] + 1
    price = _tier_price(oc, number)
    if oc.tiers:
        steps.append(step("tier", "tier.price", number=number, outcome=oc.id, price=price))
    for up in rule.uplifts:
        if expression(up.when).evaluate_bool(first, first):
            before = price
            price = money.mul(price, 1 + up.percent / 100)
            steps.append(
                step(
                    "uplift",
                    "uplift.percent",
                    percent=up.percent,
                    when=expression(up.when).render(),
                    before=before,
                    after=price,
                )
            )
    amount = price
    steps.append(step("price", "price.claims", count=1, price=price, amount=amount))
    if rounding.at == "line":
        # Rounded before the participant cap, so the cap holds for what is paid.
        amount, rounded_steps = rounded(price, rounding, steps)
        steps[:] = rounded_steps
    if rule.cap_per_participant is not None:
        paid = state.amount[c.participant]
        room = max(money.ZERO, rule.cap_per_participant - paid)
        if rounding.at == "line":
            room = money.quantize(room, rounding.quantum, "down")
        if amount > room:
            steps.append(
                step(
                    "cap",
                    "cap.participant",
                    limit=rule.cap_per_participant,
                    paid=paid,
                    before=amount,
                    after=room,
                )
            )
            if report:
                out.caps.append(
                    CapCut(
                        "participant",
                        f"participant {c.participant}",
                        rule.cap_per_participant,
                        paid + amount,
                        paid + room,
                    )
                )
            amount = room
    state.amount[c.participant] += amount
    if amount > 0:
        # A claim the participant cap cuts to nothing is not paid: it takes no tier
        # position and counts towards no count cap.
        state.per_outcome[oc.id] += 1
        state.total += 1
    return LineItem(
        rule.id,
        "payment",
        f"{oc.title or oc.id} – {c.participant}",
        amount,
        Decimal(1),
        price,
        c.participant,
        oc.id,
        c.period.id,
        tuple(steps),
    )
