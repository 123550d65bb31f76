"""Payment rules, one function per family: (rule, evaluator, window) → line items.

Amounts here are exact and unrounded; caps across lines and rounding are applied by
`settle.py` in the order the README's "How an amount is computed" table gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from contracts import money
from contracts import periods as P
from contracts.explain import Step, step
from contracts.measures import Evaluator, MeasureResult
from contracts.metrics import expression
from contracts.model import Rounding
from contracts.rule_model import (
    Bonus,
    FixedFee,
    Improvement,
    LinearScale,
    Malus,
    SavingsShare,
    Target,
    Threshold,
    Tiered,
)
from contracts.settlement import CapCut, LineItem, LineKind

ZERO = money.ZERO


@dataclass(frozen=True)
class RuleContext:
    """What a rule needs besides its metrics."""

    window: tuple[P.Period, ...]  # periods this settlement covers
    term_periods: tuple[P.Period, ...]  # every settlement period of the term
    prior_paid: Decimal  # already settled under this rule (per-period basis), else 0
    contract_value: Decimal | None  # the contract's stated value
    rounding: Rounding = field(default_factory=Rounding)  # rate cards round before capping


@dataclass
class RuleOutput:
    lines: list[LineItem] = field(default_factory=list)
    caps: list[CapCut] = field(default_factory=list)


def rounded(
    amount: Decimal, rounding: Rounding, steps: list[Step] | tuple[Step, ...]
) -> tuple[Decimal, tuple[Step, ...]]:
    """`amount` at the contract's quantum, with a `round` step when the value changed."""
    value = money.quantize(amount, rounding.quantum, rounding.mode)
    if value == amount:
        return value, tuple(steps)
    s = step(
        "round",
        "round.line",
        mode=rounding.mode,
        quantum=rounding.quantum,
        before=amount,
        after=value,
    )
    return value, (*steps, s)


def _label(rule_id: str, title: str | None) -> str:
    return title or rule_id.replace("_", " ")


def fixed_fee(rule: FixedFee, ctx: RuleContext) -> RuleOutput:
    steps: list[Step] = []
    if rule.amount is not None:
        fee = rule.amount
    else:
        assert rule.share_of_value is not None and ctx.contract_value is not None
        count = Decimal(len(ctx.term_periods))
        fee = money.div(money.mul(rule.share_of_value, ctx.contract_value), count) or ZERO
        steps.append(
            step(
                "price",
                "price.fee_share",
                share=rule.share_of_value,
                value=ctx.contract_value,
                count=count,
                fee=fee,
            )
        )
    n = Decimal(len(ctx.window))
    last = ctx.term_periods[-1]
    if rule.deferred:
        accrued = money.mul(fee, n)
        if last not in ctx.window:
            steps.append(step("price", "price.deferred", accrued=accrued, periods=n, last=last.id))
            return RuleOutput([_line(rule.id, rule.title, "payment", ZERO, n, fee, ctx, steps)])
        n = Decimal(len(ctx.term_periods))
    amount = money.mul(fee, n)
    if rule.share_of_value is not None and last in ctx.window and not rule.deferred:
        # A share spread over the periods adds up to the share exactly: the last period
        # takes what rounding the others left over (10 000 over 12 months is 11 × 833.33
        # and 833.37), so the remainder is never lost.
        q = ctx.rounding
        total = money.mul(rule.share_of_value, ctx.contract_value or ZERO)
        earlier = Decimal(len(ctx.term_periods) - 1)
        per_period = money.quantize(fee, q.quantum, q.mode)
        last_fee = total - per_period * earlier
        amount = money.add(per_period * (n - 1), last_fee)
        steps.append(
            step("price", "price.fee_last", periods=n, fee=per_period, last=last_fee, amount=amount)
        )
        return RuleOutput([_line(rule.id, rule.title, "payment", amount, n, fee, ctx, steps)])
    if rule.share_of_value is not None and not rule.deferred:
        fee = money.quantize(fee, ctx.rounding.quantum, ctx.rounding.mode)
        amount = money.mul(fee, n)
    steps.append(step("price", "price.fee", periods=n, fee=fee, amount=amount))
    return RuleOutput([_line(rule.id, rule.title, "payment", amount, n, fee, ctx, steps)])


def _line(
    rid: str,
    title: str | None,
    kind: LineKind,
    amount: Decimal,
    qty: Decimal | None,
    price: Decimal | None,
    ctx: RuleContext,
    steps: Sequence[Step],
) -> LineItem:
    period = (
        ctx.window[-1].id if len(ctx.window) == 1 else f"{ctx.window[0].id}–{ctx.window[-1].id}"
    )
    return LineItem(
        rid,
        kind,
        _label(rid, title),
        amount,
        qty,
        price,
        period=period,
        steps=tuple(steps),
    )


def target(rule: Target, ev: Evaluator, ctx: RuleContext) -> RuleOutput:
    """A fixed sum per period in which the condition over metrics holds."""
    out = RuleOutput()
    expr = expression(rule.condition)
    for period in ctx.window:
        env: dict[str, Decimal | None] = {}
        steps: list[Step] = []
        for mid in sorted(expr.names()):
            mv = ev.metric(mid, [period])
            steps += ev.metric_steps(mv)
            v = mv.value
            if v is not None and rule.precision is not None:
                v = money.quantize(v, rule.precision, "half_up")
            env[mid] = v
        shown = ", ".join(f"{k} = {v}" for k, v in env.items())
        met = expr.evaluate_bool(env)
        amount = rule.amount if met else ZERO
        steps.append(
            step(
                "amount",
                "target.met" if met else "target.missed",
                condition=expr.render(),
                values=shown,
                amount=amount,
            )
        )
        one = RuleContext(
            (period,), ctx.term_periods, ctx.prior_paid, ctx.contract_value, ctx.rounding
        )
        out.lines.append(_line(rule.id, rule.title, "payment", amount, None, None, one, steps))
    return out


def _undefined(
    rule_id: str, title: str | None, r: MeasureResult, metric: str, ctx: RuleContext
) -> RuleOutput:
    steps = [*r.steps, step("amount", "undefined.zero", metric=metric)]
    return RuleOutput([_line(rule_id, title, "payment", ZERO, None, None, ctx, steps)])


def _gate(t: Threshold | None, ev: Evaluator, r: MeasureResult, steps: list[Step]) -> bool:
    if t is None:
        return True
    met, s = ev.threshold(t, r)
    steps.append(s)
    return met


def improvement(rule: Improvement, ev: Evaluator, ctx: RuleContext) -> RuleOutput:
    """Price × units of improvement; units = change × volume when a volume metric is given."""
    r = ev.measure(rule.measure, ctx.window)
    if r.value is None:
        return _undefined(rule.id, rule.title, r, rule.measure.metric, ctx)
    steps = list(r.steps)
    units = r.value
    if rule.volume is not None:
        vol = ev.metric(rule.volume, ctx.window)
        if vol.value is None:
            return _undefined(rule.id, rule.title, r, rule.volume, ctx)
        units = money.mul(r.value, vol.value)
        steps.append(
            step(
                "volume",
                "volume.units",
                effect=r.value,
                volume_metric=rule.volume,
                volume=vol.value,
                units=units,
            )
        )
    if not _gate(rule.threshold, ev, r, steps):
        return RuleOutput(
            [_line(rule.id, rule.title, "payment", ZERO, units, rule.price, ctx, steps)]
        )
    amount = money.mul(units, rule.price)
    steps.append(step("price", "price.units", units=units, price=rule.price, amount=amount))
    if amount < 0 and not rule.allow_negative:
        steps.append(step("amount", "negative.none"))
        amount = ZERO
    kind: LineKind = "deduction" if amount < 0 else "payment"
    return RuleOutput([_line(rule.id, rule.title, kind, amount, units, rule.price, ctx, steps)])


def _beyond(value: Decimal, level: Decimal, higher_is_better: bool) -> Decimal:
    """How far `value` is past `level` in the better direction (negative: short of it)."""
    return money.add(value, -level) if higher_is_better else money.add(level, -value)


def linear_scale(rule: LinearScale, ev: Evaluator, ctx: RuleContext) -> RuleOutput:
    r = ev.measure(rule.measure, ctx.window)
    if r.value is None:
        return _undefined(rule.id, rule.title, r, rule.measure.metric, ctx)
    steps = list(r.steps)
    if not _gate(rule.threshold, ev, r, steps):
        return RuleOutput([_line(rule.id, rule.title, "payment", ZERO, None, None, ctx, steps)])
    span = money.add(rule.target, -rule.floor)
    if span == 0:
        # floor == target is a step: all at or beyond it, nothing short of it
        raw = Decimal(1) if _beyond(r.value, rule.target, r.higher_is_better) >= 0 else ZERO
    else:
        raw = money.div(money.add(r.value, -rule.floor), span) or ZERO
    fraction = min(Decimal(1), max(ZERO, raw))
    steps.append(
        step(
            "amount",
            "scale.fraction",
            value=r.value,
            floor=rule.floor,
            target=rule.target,
            fraction=fraction,
        )
    )
    amount = money.mul(fraction, rule.amount)
    steps.append(step("amount", "scale.amount", fraction=fraction, full=rule.amount, amount=amount))
    return RuleOutput(
        [_line(rule.id, rule.title, "payment", amount, fraction, rule.amount, ctx, steps)]
    )


def tiered(rule: Tiered, ev: Evaluator, ctx: RuleContext) -> RuleOutput:
    r = ev.measure(rule.measure, ctx.window)
    if r.value is None:
        return _undefined(rule.id, rule.title, r, rule.measure.metric, ctx)
    steps = list(r.steps)
    amount = ZERO
    if _gate(rule.threshold, ev, r, steps):
        reached = [b for b in rule.bands if _beyond(r.value, b.at_least, r.higher_is_better) >= 0]
        if reached:
            # The highest band reached, in the better direction, pays (not the largest amount).
            best = max(reached, key=lambda b: b.at_least if r.higher_is_better else -b.at_least)
            amount = best.amount
            steps.append(
                step("amount", "band.reached", level=best.at_least, value=r.value, amount=amount)
            )
        else:
            steps.append(step("amount", "band.none", value=r.value))
    return RuleOutput([_line(rule.id, rule.title, "payment", amount, None, None, ctx, steps)])


def _full_steps(distance: Decimal, size: Decimal) -> Decimal:
    return (distance / size).quantize(Decimal(1), rounding=ROUND_FLOOR)


def bonus(rule: Bonus, ev: Evaluator, ctx: RuleContext) -> RuleOutput:
    r = ev.measure(rule.measure, ctx.window)
    if r.value is None:
        return _undefined(rule.id, rule.title, r, rule.measure.metric, ctx)
    steps = list(r.steps)
    beyond = _beyond(r.value, rule.above, r.higher_is_better)
    if beyond <= 0:
        steps.append(step("amount", "bonus.none", value=r.value, quota=rule.above))
        return RuleOutput([_line(rule.id, rule.title, "payment", ZERO, None, None, ctx, steps)])
    steps.append(step("amount", "bonus.beyond", value=r.value, beyond=beyond, quota=rule.above))
    if rule.amount is not None:
        amount = rule.amount
        steps.append(step("price", "price.fixed", amount=amount))
        return RuleOutput([_line(rule.id, rule.title, "payment", amount, None, None, ctx, steps)])
    assert rule.per_step is not None
    n = _full_steps(beyond, rule.step)
    amount = money.mul(n, rule.per_step)
    steps.append(
        step("price", "bonus.steps", steps=n, step=rule.step, per_step=rule.per_step, amount=amount)
    )
    return RuleOutput([_line(rule.id, rule.title, "payment", amount, n, rule.per_step, ctx, steps)])


def malus(rule: Malus, ev: Evaluator, ctx: RuleContext) -> RuleOutput:
    r = ev.measure(rule.measure, ctx.window)
    if r.value is None:
        return _undefined(rule.id, rule.title, r, rule.measure.metric, ctx)
    steps = list(r.steps)
    short = -_beyond(r.value, rule.below, r.higher_is_better)
    if short <= 0:
        steps.append(step("amount", "malus.none", value=r.value, level=rule.below))
        return RuleOutput([_line(rule.id, rule.title, "deduction", ZERO, None, None, ctx, steps)])
    steps.append(step("amount", "malus.short", value=r.value, short=short, level=rule.below))
    n: Decimal | None = None
    if rule.amount is not None:
        deduction = rule.amount
        steps.append(step("price", "price.fixed", amount=-deduction))
    else:
        assert rule.per_step is not None
        # A deduction counts every started step: falling 0.5 steps short costs one step.
        n = (short / rule.step).to_integral_value(rounding="ROUND_CEILING")
        deduction = money.mul(n, rule.per_step)
        steps.append(
            step(
                "price",
                "malus.steps",
                steps=n,
                step=rule.step,
                per_step=rule.per_step,
                amount=-deduction,
            )
        )
    if rule.max_deduction is not None and deduction > rule.max_deduction:
        deduction = rule.max_deduction
        steps.append(step("cap", "malus.max", max=rule.max_deduction))
    return RuleOutput(
        [_line(rule.id, rule.title, "deduction", -deduction, n, rule.per_step, ctx, steps)]
    )


def savings_share(rule: SavingsShare, ev: Evaluator, ctx: RuleContext) -> RuleOutput:
    """Share of a saving, switching share at break-even; floor, gated and capped return.

    Break-even is reached when the amount paid under this rule (before this settlement,
    plus this settlement's first part) equals `break_even`; the saving is split at that
    point, so a settlement that crosses it pays both shares on their own parts.
    """
    r = ev.measure(rule.measure, ctx.window)
    if r.value is None:
        return _undefined(rule.id, rule.title, r, rule.measure.metric, ctx)
    steps = list(r.steps)
    saving = max(ZERO, money.mul(r.value, rule.unit_value))
    steps.append(
        step("amount", "savings.saving", value=r.value, unit_value=rule.unit_value, saving=saving)
    )
    paid = ctx.prior_paid
    if rule.break_even is None:
        amount = money.mul(saving, rule.share)
        steps.append(step("price", "price.units", units=saving, price=rule.share, amount=amount))
    else:
        room = max(ZERO, money.add(rule.break_even, -paid))
        first_part = min(saving, money.div(room, rule.share) or ZERO)
        pay1 = money.mul(first_part, rule.share)
        steps.append(
            step(
                "price",
                "savings.before",
                share=rule.share,
                part=first_part,
                break_even=rule.break_even,
                paid=paid,
                amount=pay1,
            )
        )
        rest = money.add(saving, -first_part)
        assert rule.share_after is not None
        pay2 = money.mul(rest, rule.share_after)
        steps.append(step("price", "savings.after", share=rule.share_after, part=rest, amount=pay2))
        if rule.return_gate is not None and pay2 > 0:
            gate = expression(rule.return_gate)
            env = {mid: ev.metric(mid, ctx.window).value for mid in gate.names()}
            if not gate.evaluate_bool(env):
                steps.append(step("cap", "savings.gate_closed", gate=gate.render()))
                pay2 = ZERO
        if rule.return_cap is not None and pay2 > 0:
            returned_before = max(ZERO, money.add(paid, -rule.break_even))
            limit = max(ZERO, money.add(rule.return_cap, -returned_before))
            if pay2 > limit:
                steps.append(
                    step(
                        "cap",
                        "savings.return_cap",
                        limit=rule.return_cap,
                        paid=returned_before,
                        after=limit,
                    )
                )
                pay2 = limit
        amount = money.add(pay1, pay2)
    if rule.floor is not None:
        floor = money.mul(rule.floor, Decimal(len(ctx.window)))
        if amount < floor:
            steps.append(step("amount", "savings.floor", floor=floor, before=amount, after=floor))
            amount = floor
    return RuleOutput(
        [_line(rule.id, rule.title, "payment", amount, saving, rule.share, ctx, steps)]
    )
