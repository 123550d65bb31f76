"""Metric values, baselines and measures over a settlement window, with their steps.

One `Evaluator` per settlement caches each metric per set of periods, records every
value it computed (the settlement lists them as its metrics), and collects issues
such as a missing supplied figure instead of raising.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from contracts import money
from contracts import periods as P
from contracts.data import OutcomeData
from contracts.explain import Step, step
from contracts.issues import Issue
from contracts.metrics import MetricValue, expression
from contracts.model import (
    Contract,
    FixedBaseline,
    PeriodsBaseline,
    PreviousYearBaseline,
    SuppliedMetric,
)
from contracts.rule_model import Measure, Threshold


@dataclass(frozen=True)
class MeasureResult:
    """A measure's value and the figures behind it."""

    value: Decimal | None  # the measure (change when there is a baseline), None if undefined
    base: Decimal | None  # the baseline value, when there is one
    higher_is_better: bool  # how to read `value` against levels and thresholds
    steps: tuple[Step, ...]  # how the value was reached
    relative: bool = False  # `value` is already a share of the baseline


@dataclass
class Evaluator:
    contract: Contract
    data: OutcomeData
    all_periods: tuple[P.Period, ...]  # every settlement period of the term
    computed: dict[tuple[str, tuple[str, ...]], MetricValue] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def resolve(self, pid: str) -> P.Period | None:
        return (
            P.find(self.all_periods, pid)
            or P.parse_period(pid)
            or next(
                (
                    P.Period(e.start, e.end, e.id)
                    for e in self.contract.periods.explicit
                    if e.id == pid
                ),
                None,
            )
        )

    def metric(self, mid: str, window: Sequence[P.Period]) -> MetricValue:
        key = (mid, tuple(p.id for p in window))
        if key not in self.computed:
            m = self.contract.metric(mid)
            if isinstance(m, SuppliedMetric):
                self.computed[key] = self._supplied(m, window)
            else:
                self.computed[key] = self.data.metric(m, window)
        return self.computed[key]

    def _supplied(self, m: SuppliedMetric, window: Sequence[P.Period]) -> MetricValue:
        ids = tuple(p.id for p in window)
        figures = [self.data.supplied(m.id, pid) for pid in ids]
        missing = [pid for pid, v in zip(ids, figures, strict=True) if v is None]
        if missing:
            self.issues.append(
                Issue(
                    "supplied-missing",
                    f"no figure supplied for metric {m.id} in {', '.join(missing)}; supply it with "
                    "--supplied FILE before settling",
                )
            )
            return MetricValue(m.id, ids, None, 0, supplied=True)
        values = [v for v in figures if v is not None]
        if len(values) == 1:
            value: Decimal | None = values[0]
        elif m.combine == "sum":
            value = money.add(*values)
        elif m.combine == "mean":
            value = money.div(money.add(*values), Decimal(len(values)))
        else:
            self.issues.append(
                Issue(
                    "supplied-combine",
                    f"metric {m.id} is needed over {len(ids)} periods ({', '.join(ids)}) but the contract "
                    "does not say how its figures combine; set combine: sum or mean",
                )
            )
            value = None
        return MetricValue(m.id, ids, value, 0, tuple(zip(ids, values, strict=True)), supplied=True)

    def metric_steps(self, mv: MetricValue) -> list[Step]:
        periods = ", ".join(mv.periods)
        if mv.supplied:
            return [
                step("metric", "metric.supplied", metric=mv.metric, value=mv.value, periods=periods)
            ]
        m = self.contract.metric(mv.metric)
        if getattr(m, "filter", None):
            out = [
                step(
                    "select",
                    "select.rows_where",
                    rows=mv.rows,
                    periods=periods,
                    filter=expression(m.filter).render(),
                )
            ]
        else:
            out = [step("select", "select.rows", rows=mv.rows, periods=periods)]
        parts = dict(mv.parts)
        if "numerator" in parts:
            out.append(
                step(
                    "metric",
                    "metric.ratio",
                    metric=mv.metric,
                    numerator=parts["numerator"],
                    denominator=parts["denominator"],
                    value=mv.value,
                )
            )
        else:
            out.append(step("metric", "metric.value", metric=mv.metric, value=mv.value))
        return out

    def baseline(self, bid: str, window: Sequence[P.Period]) -> tuple[Decimal | None, list[Step]]:
        b = self.contract.baseline(bid)
        if isinstance(b, FixedBaseline):
            return b.value, [step("baseline", "baseline.fixed", baseline=bid, value=b.value)]
        if isinstance(b, PreviousYearBaseline):
            base_window: list[P.Period] = [p.shifted_years(-1) for p in window]
        else:
            assert isinstance(b, PeriodsBaseline)
            base_window = [p for p in (self.resolve(pid) for pid in b.periods) if p is not None]
        mv = self.metric(b.metric, base_window)
        if not mv.supplied and mv.rows == 0:
            self.issues.append(
                Issue(
                    "baseline-missing",
                    f"baseline {bid} needs rows for {', '.join(p.id for p in base_window)}, and there are "
                    "none; load the baseline period's outcome file",
                )
            )
        return mv.value, [
            step(
                "baseline",
                "baseline.computed",
                baseline=bid,
                metric=b.metric,
                periods=", ".join(mv.periods),
                value=mv.value,
            )
        ]

    def measure(self, m: Measure, window: Sequence[P.Period]) -> MeasureResult:
        mv = self.metric(m.metric, window)
        steps = self.metric_steps(mv)
        if m.baseline is None:
            return MeasureResult(mv.value, None, m.direction == "increase", tuple(steps))
        base, bsteps = self.baseline(m.baseline, window)
        steps += bsteps
        comparison: tuple[Decimal | None, Decimal | None] | None = None
        if m.net_of is not None:
            # The comparison group's figures come first, so the steps read in stage order.
            cv = self.metric(m.net_of.metric, window)
            steps += self.metric_steps(cv)
            cbase, csteps = self.baseline(m.net_of.baseline, window)
            steps += csteps
            comparison = (cv.value, cbase)
        change = _change(mv.value, base, m.direction, steps)
        if comparison is not None and change is not None:
            cchange = _change(comparison[0], comparison[1], m.direction, [])
            net = None if cchange is None else money.add(change, -cchange)
            steps.append(step("net", "net.comparison", change=change, comparison=cchange, net=net))
            change = net
        if m.relative and change is not None and base is not None:
            rel = money.div(change, base)
            steps.append(
                step("relative", "relative.change", change=change, base=base, relative=rel)
            )
            change = rel
        return MeasureResult(change, base, True, tuple(steps), relative=m.relative)

    def threshold(self, t: Threshold, r: MeasureResult) -> tuple[bool, Step]:
        """Is the minimum effect reached? Compared exactly unless a precision is stated."""
        effect = r.value
        # A measure that is already relative is not divided by its baseline a second time.
        if t.relative and not r.relative and effect is not None and r.base is not None:
            effect = money.div(effect, r.base)
        shown = effect
        if effect is not None and t.precision is not None:
            effect = money.quantize(effect, t.precision, "half_up")
            shown = effect
        met = effect is not None and (effect >= t.min if r.higher_is_better else effect <= t.min)
        code = ("threshold.met" if met else "threshold.missed") + ("_at" if t.precision else "")
        return met, step("threshold", code, effect=shown, min=t.min, precision=t.precision)


def _change(
    value: Decimal | None, base: Decimal | None, direction: str, steps: list[Step]
) -> Decimal | None:
    if value is None or base is None:
        return None
    if direction == "decrease":
        change = money.add(base, -value)
        steps.append(step("change", "change.decrease", base=base, value=value, change=change))
    else:
        change = money.add(value, -base)
        steps.append(step("change", "change.increase", base=base, value=value, change=change))
    return change
