"""The contract document's content, built from the contract model for one language.

Problem: the document is what the parties sign, so it must state every mechanism the
contract file holds — parties and payers, term and periods, what the provider
reports, the metrics, every payment rule with its prices and caps, rounding, the
worked examples and the maximum liability — in plain words of the document's
language, with amounts exactly as the engine uses them.

Approach: a pure function from the model to the template context (`context.py`):
figures formatted through Babel (`Words`), rules worded by `rule_terms`, curves drawn
by `charts`, the maximum liability derived by `liability`. Nothing here reads files
or knows about templates.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from contracts import money
from contracts.documents import charts
from contracts.documents.context import (
    AmountDoc,
    BaselineDoc,
    ColumnDoc,
    ContractDoc,
    ExampleDoc,
    LiabilityDoc,
    MetricDoc,
    OutcomeFileDoc,
    PartyDoc,
    PayerDoc,
    PeriodDoc,
    RowCheckDoc,
    RuleBoundDoc,
    RuleDoc,
)
from contracts.documents.formatting import Lang, date_range_text
from contracts.documents.liability import Bound, Liability, maximum_liability
from contracts.documents.rule_terms import AnyRule, baseline_definition, expr, rule_doc
from contracts.documents.wording import Words
from contracts.model import (
    Column,
    Contract,
    CountMetric,
    MeanMetric,
    Party,
    RatioMetric,
    ShareMetric,
    SumMetric,
    SuppliedMetric,
    WorkedExample,
)
from contracts.settle import term_periods


def build(contract: Contract, lang: Lang, version: str) -> ContractDoc:
    """The template context for `contract` in `lang`; `version` is the file's SHA-256."""
    c, w = contract, Words(lang, contract.currency)
    periods = term_periods(c)
    return ContractDoc(
        lang=lang,
        id=c.contract.id,
        title=c.contract.title,
        reference=c.contract.reference or "",
        description=(c.contract.description or "").strip(),
        version=version,
        buyer=party_doc(c.parties.buyer),
        provider=party_doc(c.parties.provider),
        investor=party_doc(c.parties.investor) if c.parties.investor else None,
        payers=tuple(_payer(c, i, w) for i in range(len(c.payers))),
        payers_note="" if c.payers else w.say("payers.none", buyer=c.parties.buyer.name),
        currency=c.currency,
        contract_value=w.money(c.contract_value) if c.contract_value is not None else "",
        term=date_range_text(c.term.start, c.term.end, lang),
        period_count=len(periods),
        periods=tuple(
            PeriodDoc(id=p.id, start=w.date(p.start), end=w.date(p.end)) for p in periods
        ),
        basis=w.say(f"basis.{c.settlement.basis}"),
        rounding=_rounding(c, w),
        negative=w.say("negative.yes" if c.settlement.allow_negative else "negative.no"),
        units=_units(c, w),
        outcome_file=_outcome_file(c, w),
        metrics=tuple(_metric(m, w) for m in c.metrics),
        baselines=tuple(
            BaselineDoc(id=b.id, definition=baseline_definition(c, b.id, w)) for b in c.baselines
        ),
        rules=tuple(_rule(c, r, w) for r in c.rules),
        caps=_caps(c, w),
        examples=tuple(_example(c, ex, w) for ex in c.worked_examples),
        liability=_liability(c, maximum_liability(c), w),
    )


def party_doc(p: Party) -> PartyDoc:
    return PartyDoc(name=p.name, org_number=p.org_number or "", contact=p.contact or "")


def rule_title(c: Contract, rid: str) -> str:
    rule = next((r for r in c.rules if r.id == rid), None)
    return (rule.title if rule is not None and rule.title else None) or rid


def _payer(c: Contract, i: int, w: Words) -> PayerDoc:
    p = c.payers[i]
    terms = [w.say("payer.share", share=w.pct(p.share))]
    terms += [
        w.say("payer.rule", share=w.pct(share), rule=rule_title(c, rid))
        for rid, share in p.shares.items()
    ]
    return PayerDoc(name=p.name, share=w.pct(p.share), terms=tuple(terms))


def _rounding(c: Contract, w: Words) -> str:
    r = c.settlement.rounding
    return w.say(
        "rounding",
        quantum=w.money(r.quantum),
        mode=w.say(f"rounding.mode.{r.mode}"),
        at=w.say(f"rounding.at.{r.at}"),
    )


def _units(c: Contract, w: Words) -> tuple[str, ...]:
    u = c.units
    out = []
    if u.days:
        out.append(w.say(f"days.{u.days}"))
    if u.staff:
        out.append(w.say(f"staff.{u.staff}"))
    return (*out, *u.notes)


def _allowed(col: Column, w: Words) -> str:
    if col.values:
        return ", ".join(col.values)

    def bound(v: Decimal | str | None) -> str:
        return w.num(v) if isinstance(v, Decimal) else str(v)

    if col.min is not None and col.max is not None:
        return w.say("range.both", min=bound(col.min), max=bound(col.max))
    if col.min is not None:
        return w.say("range.min", min=bound(col.min))
    if col.max is not None:
        return w.say("range.max", max=bound(col.max))
    return ""


def _outcome_file(c: Contract, w: Words) -> OutcomeFileDoc:
    f = c.outcome_file
    return OutcomeFileDoc(
        sheet=f.sheet or "",
        columns=tuple(
            ColumnDoc(
                name=col.name,
                type=w.say(f"type.{col.type}"),
                required=col.required,
                description=col.description or "",
                unit=col.unit or "",
                allowed=_allowed(col, w),
                aliases=", ".join(col.aliases),
                pseudonymous=col.pseudonymous,
            )
            for col in f.columns
        ),
        grain=w.listing(list(f.grain)),
        period_column=f.period_column,
        participant_column=f.participant_column or "",
        row_checks=tuple(
            RowCheckDoc(name=rc.name, check=expr(rc.check), message=rc.message or "")
            for rc in f.row_checks
        ),
    )


def _metric(m: Any, w: Words) -> MetricDoc:
    if isinstance(m, SuppliedMetric):
        text = (
            w.say("metric.supplied_by", source=m.source) if m.source else w.say("metric.supplied")
        )
        if m.combine != "none":
            text += w.say(f"metric.combine.{m.combine}")
        return MetricDoc(id=m.id, title=m.title or m.id, definition=text, unit=m.unit or "")
    if isinstance(m, CountMetric):
        text = (
            w.say("metric.count_distinct", column=m.distinct)
            if m.distinct
            else w.say("metric.count")
        )
    elif isinstance(m, SumMetric):
        text = w.say("metric.sum", expr=expr(m.of))
    elif isinstance(m, MeanMetric):
        text = w.say("metric.mean", expr=expr(m.of))
    elif isinstance(m, RatioMetric):
        text = w.say("metric.ratio", numerator=expr(m.numerator), denominator=expr(m.denominator))
    else:
        assert isinstance(m, ShareMetric), m
        text = w.say("metric.share", condition=expr(m.condition))
    if m.filter:
        text += w.say("metric.filter", filter=expr(m.filter))
    if m.by:
        text += w.say("metric.by", column=m.by)
    return MetricDoc(id=m.id, title=m.title or m.id, definition=text, unit=m.unit or "")


def _rule(c: Contract, rule: AnyRule, w: Words) -> RuleDoc:
    doc = rule_doc(c, rule, w)
    chart = charts.chart_for(c, rule, w)
    if chart is None:
        return doc
    return doc.model_copy(update={"chart": charts.svg(chart, w), "chart_caption": chart.caption})


def _caps(c: Contract, w: Words) -> tuple[str, ...]:
    out = []
    if c.caps.per_period is not None:
        out.append(w.say("cap.period", amount=w.money(c.caps.per_period)))
    if c.caps.contract is not None:
        out.append(w.say("cap.contract", amount=w.money(c.caps.contract)))
    risk = c.payment_at_risk
    if risk is not None and c.contract_value is not None:
        out.append(
            w.say(
                "cap.at_risk",
                share=w.pct(risk.share),
                amount=w.money(money.mul(risk.share, c.contract_value)),
            )
        )
    return tuple(out) or (w.say("cap.none"),)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _example(c: Contract, ex: WorkedExample, w: Words) -> ExampleDoc:
    order = [col.name for col in c.outcome_file.columns]
    used = {k for row in ex.rows for k in row}
    columns = [n for n in order if n in used] + sorted(used - set(order))
    expected = tuple(
        AmountDoc(
            label=rule_title(c, key) if key != "total" else w.say("total"),
            rule=key,
            amount=w.money(amount),
        )
        for key, amount in ex.expect.items()
    )
    return ExampleDoc(
        name=ex.name,
        period=ex.period,
        description=(ex.description or "").strip(),
        columns=tuple(columns),
        rows=tuple(tuple(_cell(row.get(n)) for n in columns) for row in ex.rows),
        supplied=tuple(
            f"{mid} {pid}: {w.num(v)}" for mid, per in ex.supplied.items() for pid, v in per.items()
        ),
        expected=expected,
    )


def _bound_text(b: Bound, w: Words) -> str:
    values: dict[str, object] = {}
    for name, v in b.values:
        if name in ("share", "uplift"):
            values[name] = w.pct(v) if isinstance(v, Decimal) else v
        elif name in ("periods", "max_count", "rules"):
            values[name] = v
        else:
            values[name] = w.money(v) if isinstance(v, Decimal) else v
    if b.amount is not None:
        values["amount"] = w.money(b.amount)
    key = f"bound.{b.code}"
    if b.code == "no-count-cap" and "participant_cap" in values:
        key += ".participant"
    return w.say(key, **values)


def _liability(c: Contract, lia: Liability, w: Words) -> LiabilityDoc:
    rules = tuple(
        RuleBoundDoc(
            label=r.title or r.rule,
            rule=r.rule,
            derivation=_bound_text(r.bound, w),
            amount=w.money(r.amount) if r.amount is not None else "",
        )
        for r in lia.rules
    )
    missing = [r.title or r.rule for r in lia.unbounded_rules]
    bounds = []
    for b in lia.bounds:
        if b.code == "rules" and b.amount is None:
            have = w.say("have.1" if len(missing) == 1 else "have.n")
            bounds.append(w.say("bound.rules.none", rules=w.listing(missing), have=have))
        else:
            bounds.append(_bound_text(b, w))
    if lia.amount is not None and lia.binding is not None:
        conclusion = w.say(
            "liability.amount",
            amount=w.money(lia.amount),
            binding=w.say(f"binding.{lia.binding.code}"),
        )
    else:
        reasons = [f"{r.title or r.rule}: {_bound_text(r.bound, w)}" for r in lia.unbounded_rules]
        conclusion = w.say("liability.none", reasons="; ".join(reasons))
    return LiabilityDoc(
        bounded=lia.bounded,
        amount=w.money(lia.amount) if lia.amount is not None else "",
        conclusion=conclusion,
        rules=rules,
        bounds=tuple(bounds),
    )
