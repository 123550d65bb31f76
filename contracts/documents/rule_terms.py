"""Payment rules in plain words: one function per rule family.

Problem: a rule in the contract file is a handful of fields (`price: 420`, `threshold:
{min: 0.05, relative: true}`); the signed document must say what they mean — what is
measured against what, what is paid per what, below which effect nothing is paid,
and where the caps are — with every amount exactly as the engine uses it.

Approach: each family picks sentences from the `wording` catalog and fills them with
figures formatted by `Words`; measures and thresholds, shared by six families, are
worded once. Expressions are shown in their canonical form (`Expr.render`: ≤ ≥ ≠).
"""

from __future__ import annotations

from decimal import Decimal

from contracts import money
from contracts.documents.context import BandDoc, OutcomeDoc, RuleDoc
from contracts.documents.wording import Words
from contracts.expressions import parse
from contracts.model import (
    Contract,
    FixedBaseline,
    PeriodsBaseline,
    PreviousYearBaseline,
)
from contracts.rule_model import (
    Bonus,
    FixedFee,
    Improvement,
    LinearScale,
    Malus,
    Measure,
    RateCard,
    RateOutcome,
    SavingsShare,
    Target,
    Threshold,
    Tiered,
)
from contracts.settle import term_periods

AnyRule = (
    FixedFee | Target | RateCard | Improvement | LinearScale | Tiered | Bonus | Malus | SavingsShare
)


def expr(text: str) -> str:
    """An expression as the contract means it, canonically written."""
    return parse(text).render()


def metric_label(c: Contract, mid: str) -> str:
    """`Title (id)` when the metric has a title, else its id."""
    m = c.metric(mid)
    title = getattr(m, "title", None)
    return f"{title} ({mid})" if title else mid


def baseline_definition(c: Contract, bid: str, w: Words) -> str:
    b = c.baseline(bid)
    if isinstance(b, FixedBaseline):
        return w.say("baseline.fixed", metric=metric_label(c, b.metric), value=w.num(b.value))
    if isinstance(b, PreviousYearBaseline):
        return w.say("baseline.previous_year", metric=metric_label(c, b.metric))
    assert isinstance(b, PeriodsBaseline), bid
    return w.say(
        "baseline.periods", metric=metric_label(c, b.metric), periods=w.listing(list(b.periods))
    )


def baseline_short(c: Contract, bid: str, w: Words) -> str:
    """What a measure is compared with, without repeating the metric."""
    b = c.baseline(bid)
    if isinstance(b, FixedBaseline):
        return w.say("baseline.short.fixed", value=w.num(b.value))
    if isinstance(b, PreviousYearBaseline):
        return w.say("baseline.short.previous_year")
    assert isinstance(b, PeriodsBaseline), bid
    return w.say("baseline.short.periods", periods=w.listing(list(b.periods)))


def level(value: Decimal, m: Measure, w: Words) -> str:
    """A level of a measure: a percentage when the measure is relative."""
    return w.pct(value) if m.relative else w.num(value)


def measure_terms(c: Contract, m: Measure, w: Words) -> list[str]:
    if m.baseline is None:
        return [
            w.say("measure.plain", metric=metric_label(c, m.metric), better=_better(m, w)),
        ]
    out = [
        w.say(
            "measure.change",
            metric=metric_label(c, m.metric),
            baseline=m.baseline,
            baseline_short=baseline_short(c, m.baseline, w),
            fall_rise=w.say(f"fall_rise.{m.direction}"),
        )
    ]
    if m.net_of is not None:
        out.append(
            w.say(
                "measure.net",
                metric=metric_label(c, m.net_of.metric),
                baseline_short=baseline_short(c, m.net_of.baseline, w),
            )
        )
    if m.relative:
        out.append(w.say("measure.relative"))
    return out


def _better(m: Measure, w: Words) -> str:
    return w.say(f"better.{m.direction}")


def threshold_terms(t: Threshold | None, m: Measure, w: Words) -> list[str]:
    if t is None:
        return []
    as_share = t.relative or m.relative
    out = [
        w.say(
            "threshold",
            relative=w.say("threshold.relative") if t.relative and not m.relative else "",
            min=w.pct(t.min) if as_share else w.num(t.min),
        )
    ]
    if t.precision is not None:
        out.append(w.say("threshold.precision", precision=w.num(t.precision)))
    else:
        out.append(w.say("threshold.exact"))
    return out


def _cap_terms(rule: AnyRule, w: Words) -> tuple[str, ...]:
    caps = []
    if rule.cap_per_period is not None:
        caps.append(w.say("cap.rule_period", amount=w.money(rule.cap_per_period)))
    if rule.cap is not None:
        caps.append(w.say("cap.rule", amount=w.money(rule.cap)))
    return tuple(caps)


def rule_doc(c: Contract, rule: AnyRule, w: Words) -> RuleDoc:
    """Everything but the chart (see `charts`), which `contract_doc` adds."""
    terms, outcomes, bands = _family_terms(c, rule, w)
    kind_name = w.say(f"kind.{rule.kind}")
    return RuleDoc(
        id=rule.id,
        kind=rule.kind,
        kind_name=kind_name,
        title=rule.title or kind_name,
        description=(rule.description or "").strip(),
        terms=tuple(terms),
        outcomes=tuple(outcomes),
        bands=tuple(bands),
        caps=_cap_terms(rule, w),
        chart="",
        chart_caption="",
    )


def _family_terms(
    c: Contract, rule: AnyRule, w: Words
) -> tuple[list[str], list[OutcomeDoc], list[BandDoc]]:
    if isinstance(rule, FixedFee):
        return _fixed_fee(c, rule, w), [], []
    if isinstance(rule, Target):
        return _target(c, rule, w), [], []
    if isinstance(rule, RateCard):
        return _rate_card_terms(rule, w), [_outcome(o, w) for o in rule.outcomes], []
    if isinstance(rule, Tiered):
        return _tiered(c, rule, w)
    terms = measure_terms(c, rule.measure, w)
    if isinstance(rule, Improvement):
        terms += _improvement(c, rule, w)
    elif isinstance(rule, LinearScale):
        terms += _linear_scale(rule, w)
    elif isinstance(rule, Bonus):
        terms += _bonus(rule, w)
    elif isinstance(rule, Malus):
        terms += _malus(rule, w)
    else:
        terms += _savings(rule, w)
    return terms, [], []


def _fixed_fee(c: Contract, rule: FixedFee, w: Words) -> list[str]:
    periods = term_periods(c)
    n = len(periods)
    if rule.amount is not None:
        out = [
            w.say(
                "fee.amount",
                amount=w.money(rule.amount),
                periods=n,
                total=w.money(money.mul(rule.amount, Decimal(n))),
            )
        ]
    else:
        value = c.contract_value or Decimal(0)
        share = rule.share_of_value or Decimal(0)
        q = c.settlement.rounding
        # As the engine pays it: the per-period fee rounded, the last period the remainder.
        spread = money.div(money.mul(share, value), Decimal(n)) or money.ZERO
        each = money.quantize(spread, q.quantum, q.mode)
        out = [
            w.say(
                "fee.share",
                share=w.pct(share),
                value=w.money(value),
                periods=n,
                each=w.money(each),
            )
        ]
    if rule.deferred and periods:
        out.append(w.say("fee.deferred", last=periods[-1].id))
    return out


def _target(c: Contract, rule: Target, w: Words) -> list[str]:
    parsed = parse(rule.condition)
    out = [w.say("target.amount", amount=w.money(rule.amount), condition=parsed.render())]
    names = sorted(parsed.names())
    if any(getattr(c.metric(n), "title", None) for n in names):
        out.append(w.say("target.metrics", metrics=w.listing([metric_label(c, n) for n in names])))
    if rule.precision is not None:
        out.append(w.say("target.precision", precision=w.num(rule.precision)))
    return out


def _rate_card_terms(rule: RateCard, w: Words) -> list[str]:
    out = [w.say("rate.intro")]
    if rule.eligibility:
        out.append(w.say("rate.eligibility", condition=expr(rule.eligibility)))
    if any(parse(o.condition).baseline_names() for o in rule.outcomes):
        out.append(w.say("rate.baseline"))
    for up in rule.uplifts:
        out.append(w.say("rate.uplift", percent=w.pct(up.percent / 100), condition=expr(up.when)))
    for quota in rule.quotas:
        out.append(w.say("rate.quota", share=w.pct(quota.max_share), category=quota.category))
    if rule.max_count is not None:
        out.append(w.say("rate.max_count", count=w.num(rule.max_count)))
    if rule.cap_per_participant is not None:
        out.append(w.say("rate.participant_cap", amount=w.money(rule.cap_per_participant)))
    return out


def _outcome(o: RateOutcome, w: Words) -> OutcomeDoc:
    if o.price is not None:
        price = w.money(o.price)
    else:
        parts, first = [], 1
        for t in o.tiers:
            if t.up_to is None:
                parts.append(w.say("tier.open", first=w.num(first), price=w.money(t.price)))
            else:
                parts.append(
                    w.say(
                        "tier.closed",
                        first=w.num(first),
                        last=w.num(t.up_to),
                        price=w.money(t.price),
                    )
                )
                first = t.up_to + 1
        price = "; ".join(parts)
    notes = []
    if o.requires:
        notes.append(w.say("outcome.requires", outcomes=w.listing(list(o.requires))))
    if o.sustain_periods > 1:
        notes.append(w.say("outcome.sustain", periods=o.sustain_periods))
    if o.category:
        notes.append(w.say("outcome.category", category=o.category))
    if o.max_count is not None:
        notes.append(w.say("outcome.max_count", count=w.num(o.max_count)))
    return OutcomeDoc(
        id=o.id,
        title=o.title or o.id,
        condition=expr(o.condition),
        price=price,
        pays=w.say(f"pays.{o.pays}"),
        notes="; ".join(notes),
    )


def _improvement(c: Contract, rule: Improvement, w: Words) -> list[str]:
    out = []
    if rule.volume is not None:
        out.append(w.say("improvement.volume", volume=metric_label(c, rule.volume)))
    unit = rule.unit or w.say("improvement.unit")
    out.append(w.say("improvement.price", price=w.money(rule.price), unit=unit))
    out += threshold_terms(rule.threshold, rule.measure, w)
    out.append(w.say("improvement.negative" if rule.allow_negative else "improvement.no_negative"))
    return out


def _linear_scale(rule: LinearScale, w: Words) -> list[str]:
    m = rule.measure
    key = "scale.up" if rule.target >= rule.floor else "scale.down"
    out = [
        w.say(
            key,
            floor=level(rule.floor, m, w),
            target=level(rule.target, m, w),
            amount=w.money(rule.amount),
        )
    ]
    return out + threshold_terms(rule.threshold, m, w)


def higher_is_better(m: Measure) -> bool:
    # With a baseline the measure is the change in the better direction (measures.py).
    return m.baseline is not None or m.direction == "increase"


def _tiered(
    c: Contract, rule: Tiered, w: Words
) -> tuple[list[str], list[OutcomeDoc], list[BandDoc]]:
    m = rule.measure
    terms = [*measure_terms(c, m, w), w.say("tiered.intro")]
    up = higher_is_better(m)
    ordered = sorted(rule.bands, key=lambda b: b.at_least, reverse=not up)
    bands = [
        BandDoc(
            level=w.say("band.higher" if up else "band.lower", level=level(b.at_least, m, w)),
            amount=w.money(b.amount),
        )
        for b in ordered
    ]
    return terms + threshold_terms(rule.threshold, m, w), [], bands


def _bonus(rule: Bonus, w: Words) -> list[str]:
    m = rule.measure
    if rule.amount is not None:
        return [w.say("bonus.amount", amount=w.money(rule.amount), above=level(rule.above, m, w))]
    return [
        w.say(
            "bonus.steps",
            per_step=w.money(rule.per_step or 0),
            step=level(rule.step, m, w),
            above=level(rule.above, m, w),
        )
    ]


def _malus(rule: Malus, w: Words) -> list[str]:
    m = rule.measure
    if rule.amount is not None:
        out = [w.say("malus.amount", amount=w.money(rule.amount), below=level(rule.below, m, w))]
    else:
        out = [
            w.say(
                "malus.steps",
                per_step=w.money(rule.per_step or 0),
                step=level(rule.step, m, w),
                below=level(rule.below, m, w),
            )
        ]
    if rule.max_deduction is not None:
        out.append(w.say("malus.max", amount=w.money(rule.max_deduction)))
    return out


def _savings(rule: SavingsShare, w: Words) -> list[str]:
    out = [w.say("savings.saving", unit_value=w.money(rule.unit_value))]
    if rule.break_even is None:
        out.append(w.say("savings.share", share=w.pct(rule.share)))
    else:
        out.append(
            w.say(
                "savings.break_even",
                share=w.pct(rule.share),
                break_even=w.money(rule.break_even),
                share_after=w.pct(rule.share_after or 0),
            )
        )
    if rule.floor is not None:
        out.append(w.say("savings.floor", floor=w.money(rule.floor)))
    if rule.return_cap is not None:
        out.append(w.say("savings.return_cap", amount=w.money(rule.return_cap)))
    if rule.return_gate is not None:
        out.append(w.say("savings.gate", condition=expr(rule.return_gate)))
    return out
