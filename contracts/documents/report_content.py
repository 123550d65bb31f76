"""The settlement report's content, built from the engine's records for one language.

Problem: the report must state, in the reader's language, everything a payment rests
on — parties, period and basis, ledger status and approvals, the input files with
their hashes, the metrics (result, baseline, change, comparison group), every line
with its explanation, the caps that cut, totals, each payer's part, an adjustment to
what was settled before and the amount that moves now — with every amount exactly
the engine's `Decimal`.

Approach: a pure function from a `ReportSource` (the typed settlement, its contract
version, adjustment, inputs and ledger record) to the template context
(`report_doc.py`). Amounts go through `formatting` (Babel, exact); other figures and
the explanation steps are shown as `contracts.explain` shows them (`Step.text`), so
the tables and the steps beneath them agree digit for digit. The figures behind an
effect-based payment are read back from the line's own steps, which carry them as
values, rather than recomputed. Nothing here reads files, the ledger or templates.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from contracts import money
from contracts.documents.context import AmountDoc
from contracts.documents.contract_doc import party_doc, rule_title
from contracts.documents.formatting import Lang, date_range_text, date_text
from contracts.documents.report_doc import (
    AdjustLineDoc,
    AdjustmentDoc,
    CapDoc,
    EarlierDoc,
    InputDoc,
    LineDoc,
    LineGroupDoc,
    MeasureDoc,
    MetricValueDoc,
    PayableDoc,
    PayerPartDoc,
    ReportDoc,
    RuleReportDoc,
    StatusDoc,
    TotalsDoc,
)
from contracts.documents.report_wording import WORDS, cap_name, described
from contracts.documents.wording import Words
from contracts.explain import Step, show
from contracts.metrics import MetricValue
from contracts.model import Contract
from contracts.periods import find
from contracts.settle import term_periods
from contracts.settlement import CapCut, LineItem, Settlement
from contracts.store.ledger import Adjustment, StoredSettlement

GROUP_AFTER = 12  # a rule with more lines than this is also shown summed per outcome
COUNT_SCOPES = ("outcome-count", "rule-count", "quota")  # caps on counts, not amounts


@dataclass(frozen=True)
class ReportInput:
    """A file a settlement was computed from, as the report lists it."""

    file: str  # name as given (files) or as stored (ledger)
    kind: str  # 'outcomes' | 'supplied'
    period: str | None  # the period it was submitted for, when known
    submission: int | None  # the ledger's submission number, when stored
    rows: int  # rows (or figures) read from it
    sha256: str  # content hash


@dataclass(frozen=True)
class ReportSource:
    """A settlement to report on: the engine's records and where they stand."""

    contract: Contract  # the contract version the settlement was computed under
    version: str  # SHA-256 of that version
    settlement: Settlement
    adjustment: Adjustment | None  # against the last approved settlement of the period
    inputs: tuple[ReportInput, ...]
    stored: StoredSettlement | None = None  # the ledger's record; None when from files
    later: int | None = None  # number of a later settlement of the same period

    @property
    def payable(self) -> Decimal:
        """What this settlement moves now: its total less what was settled before."""
        settled = self.adjustment.settled if self.adjustment is not None else money.ZERO
        return money.add(self.settlement.total, -settled)


def build(source: ReportSource, lang: Lang) -> ReportDoc:
    """The template context of the settlement report for `source` in `lang`."""
    c, s = source.contract, source.settlement
    w, say = Words(lang, s.currency), WORDS[lang]
    period = find(term_periods(c), s.period)
    window = s.window[0] if len(s.window) == 1 else f"{s.window[0]} – {s.window[-1]}"
    r = c.settlement.rounding
    return ReportDoc(
        lang=lang,
        title=say["title"].format(period=s.period, title=c.contract.title),
        contract_title=c.contract.title,
        contract_id=c.contract.id,
        reference=c.contract.reference or "",
        version=source.version,
        buyer=party_doc(c.parties.buyer),
        provider=party_doc(c.parties.provider),
        investor=party_doc(c.parties.investor) if c.parties.investor else None,
        currency=s.currency,
        period=s.period,
        period_dates=date_range_text(period.start, period.end, lang) if period else "",
        window=window if s.window else "",
        basis=w.say(f"basis.{s.basis}"),
        rounding=w.say(
            "rounding",
            quantum=w.money(r.quantum),
            mode=w.say(f"rounding.mode.{r.mode}"),
            at=w.say(f"rounding.at.{r.at}"),
        ),
        status=_status(source, lang),
        inputs=tuple(_input(i, w) for i in source.inputs),
        metrics=tuple(_metric(c, m, w) for m in s.metrics),
        measures=tuple(m for n, x in enumerate(s.lines, 1) if (m := _measure(c, n, x, lang))),
        rules=_rules(c, s, w),
        line_count=len(s.lines),
        caps=tuple(_cap(x, w) for x in s.caps),
        totals=_totals(c, source, w),
        adjustment=_adjustment(c, source.adjustment, w) if source.adjustment else None,
        payable=PayableDoc(
            amount=w.money(source.payable),
            absolute=w.money(abs(source.payable)),
            credit=source.payable < 0,
        ),
    )


def _stamp(at: dt.datetime | None, lang: Lang) -> str:
    if at is None:
        return ""
    at = at.astimezone(dt.UTC)
    return f"{date_text(at.date(), lang)} {at:%H:%M} UTC"


def _status(source: ReportSource, lang: Lang) -> StatusDoc:
    say, s = WORDS[lang], source.stored
    if s is None:
        return StatusDoc(
            stored=False,
            state="not-stored",
            label=say["state.not-stored"],
            number="",
            sequence="",
            created_at="",
            created_by="",
            approved_at="",
            approved_by="",
            adjusts="",
            later="",
            sha256="",
            contract_version="",
        )
    later = "" if source.later is None else str(source.later)
    # A draft with a later settlement of its period was replaced before it was approved.
    state = "replaced" if s.status == "draft" and later else s.status
    return StatusDoc(
        stored=True,
        state=state,
        label=say[f"state.{state}"].format(later=later),
        number=str(s.number),
        sequence=str(s.sequence),
        created_at=_stamp(s.created_at, lang),
        created_by=s.created_by,
        approved_at=_stamp(s.approved_at, lang),
        approved_by=s.approved_by or "",
        adjusts="" if s.adjusts is None else str(s.adjusts),
        later=later,
        sha256=s.sha256,
        contract_version=str(s.contract_version_id),
    )


def _input(i: ReportInput, w: Words) -> InputDoc:
    return InputDoc(
        file=i.file,
        kind=WORDS[w.lang].get(f"input.{i.kind}", i.kind),
        period=i.period or "",
        submission="" if i.submission is None else str(i.submission),
        rows=show(Decimal(i.rows), w.lang),
        sha256=i.sha256,
    )


def _metric(c: Contract, m: MetricValue, w: Words) -> MetricValueDoc:
    model, lang = c.metric(m.metric), w.lang
    return MetricValueDoc(
        id=m.metric,
        title=(getattr(model, "title", None) or m.metric),
        periods=", ".join(m.periods),
        rows="" if m.supplied else show(Decimal(m.rows), lang),
        value=show(m.value, lang),
        exact="–" if m.value is None else str(m.value),
        # A supplied figure's parts are its periods; a computed one's, what it sums.
        parts=tuple(f"{WORDS[lang].get(f'part.{k}', k)} {show(v, lang)}" for k, v in m.parts),
        groups=tuple(f"{k}: {show(v, lang)}" for k, v in m.groups),
        supplied=m.supplied,
    )


def _arg(st: Step, name: str, lang: Lang) -> str:
    value = dict(st.args).get(name)
    return show(value, lang) if value is not None else ""


def _measure(c: Contract, number: int, line: LineItem, lang: Lang) -> MeasureDoc | None:
    """The figures an effect-based line rests on, as its steps carry them.

    The steps come in stage order: the measured metric, its baseline, then (for a
    difference in differences) the comparison group's metric and baseline, the change,
    the net change, the relative change and the threshold.
    """
    metrics = [st for st in line.steps if st.stage == "metric"]
    if not metrics:
        return None
    baselines = [st for st in line.steps if st.stage == "baseline"]
    by_stage = {st.stage: st for st in line.steps}

    def at(items: list[Step], i: int, name: str) -> str:
        return _arg(items[i], name, lang) if len(items) > i else ""

    change, net = by_stage.get("change"), by_stage.get("net")
    relative, threshold = by_stage.get("relative"), by_stage.get("threshold")
    return MeasureDoc(
        rule=line.rule,
        rule_title=rule_title(c, line.rule),
        line=number,
        metric=at(metrics, 0, "metric"),
        result=at(metrics, 0, "value"),
        baseline_id=at(baselines, 0, "baseline"),
        baseline=at(baselines, 0, "value"),
        change=_arg(change, "change", lang) if change else "",
        comparison_metric=at(metrics, 1, "metric") if net else "",
        comparison_result=at(metrics, 1, "value") if net else "",
        comparison_baseline=at(baselines, 1, "value") if net else "",
        comparison_change=_arg(net, "comparison", lang) if net else "",
        net=_arg(net, "net", lang) if net else "",
        relative=_arg(relative, "relative", lang) if relative else "",
        threshold=threshold.text(lang) if threshold else "",
    )


def _line(number: int, x: LineItem, w: Words) -> LineDoc:
    lang = w.lang
    return LineDoc(
        number=number,
        rule=x.rule,
        kind=x.kind,
        kind_label=WORDS[lang].get(f"kind.{x.kind}", x.kind),
        description=described(x, lang),
        participant=x.participant or "",
        outcome=x.outcome or "",
        period=x.period or "",
        quantity="" if x.quantity is None else show(x.quantity, lang),
        unit_price="" if x.unit_price is None else w.money(x.unit_price),
        amount=w.money(x.amount),
        steps=tuple(st.text(lang) for st in x.steps),
    )


def _outcome_titles(c: Contract, rid: str) -> dict[str, str]:
    rule = next((r for r in c.rules if r.id == rid), None)
    return {o.id: o.title or o.id for o in getattr(rule, "outcomes", ())}


def _groups(c: Contract, rid: str, lines: list[LineItem], w: Words) -> tuple[LineGroupDoc, ...]:
    """Lines summed per outcome and price; cuts (caps, rounding) per label."""
    titles = _outcome_titles(c, rid)
    groups: dict[tuple[str, Decimal | None], list[LineItem]] = defaultdict(list)
    for x in lines:
        price = x.unit_price if x.kind == "payment" else None
        label = titles.get(x.outcome or "", x.outcome or described(x, w.lang))
        groups[(label, price)].append(x)
    out = []
    for (label, price), items in groups.items():
        amount = money.add(*(x.amount for x in items))
        capped = money.ZERO
        if price is not None:  # a line capped per participant pays less than its price
            nominal = money.add(*(money.mul(price, x.quantity or Decimal(1)) for x in items))
            capped = money.add(nominal, -amount)
        out.append(
            LineGroupDoc(
                label=label,
                count=len(items),
                unit_price="" if price is None else w.money(price),
                amount=w.money(amount),
                capped="" if capped == 0 else w.money(capped),
            )
        )
    return tuple(out)


def _rules(c: Contract, s: Settlement, w: Words) -> tuple[RuleReportDoc, ...]:
    numbered: dict[str, list[tuple[int, LineItem]]] = defaultdict(list)
    for n, x in enumerate(s.lines, 1):
        numbered[x.rule].append((n, x))
    totals = dict(s.rule_totals)
    order = [r for r, _ in s.rule_totals] + [r for r in numbered if r not in totals]
    out = []
    for rid in order:
        items = numbered.get(rid, [])
        lines = [x for _, x in items]
        out.append(
            RuleReportDoc(
                id=rid,
                title=rule_title(c, rid),
                amount=w.money(totals.get(rid, money.add(*(x.amount for x in lines)))),
                grouped=len(lines) > GROUP_AFTER,
                groups=_groups(c, rid, lines, w),
                lines=tuple(_line(n, x, w) for n, x in items),
            )
        )
    return tuple(out)


def _cap(x: CapCut, w: Words) -> CapDoc:
    fmt = w.num if x.scope in COUNT_SCOPES else w.money
    return CapDoc(
        scope=x.scope,
        scope_label=WORDS[w.lang].get(f"scope.{x.scope}", x.scope),
        name=cap_name(x.name, w.lang),
        limit=fmt(x.limit),
        before=fmt(x.before),
        after=fmt(x.after),
        cut=fmt(x.cut),
    )


def _totals(c: Contract, source: ReportSource, w: Words) -> TotalsDoc:
    s = source.settlement
    numbers = {}
    if source.stored is not None:
        numbers = {e.period: e.number for e in source.stored.inputs.earlier}
    earlier = tuple(
        EarlierDoc(period=p, number=str(numbers.get(p, "")), total=w.money(t)) for p, t in s.earlier
    )
    return TotalsDoc(
        rules=tuple(
            AmountDoc(label=rule_title(c, r), rule=r, amount=w.money(a)) for r, a in s.rule_totals
        ),
        cumulative=s.previously_settled != 0,
        entitlement=w.money(s.entitlement),
        previously_settled=w.money(s.previously_settled),
        total=w.money(s.total),
        payers=tuple(PayerPartDoc(name=p, amount=w.money(a)) for p, a in s.payers),
        earlier=earlier,
        earlier_total=w.money(money.add(*(t for _, t in s.earlier))) if s.earlier else "",
    )


def _adjustment(c: Contract, adj: Adjustment, w: Words) -> AdjustmentDoc:
    return AdjustmentDoc(
        against=str(adj.against),
        lines=tuple(
            AdjustLineDoc(
                rule=x.rule,
                title=rule_title(c, x.rule),
                settled=w.money(x.settled),
                now=w.money(x.now),
                difference=w.money(x.difference),
            )
            for x in adj.lines
        ),
        settled=w.money(adj.settled),
        now=w.money(adj.now),
        difference=w.money(adj.difference),
    )
