"""Metrics: figures computed from outcome rows (count, sum, mean, ratio, share).

Pure: takes rows (mappings of column name to typed value) and returns a MetricValue
that carries the parts it was computed from, so a settlement can show
`1 234.5 h / 45 678 h = 0.027026` rather than a bare number.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contracts import money
from contracts.expressions import Expr, parse
from contracts.model import (
    CountMetric,
    MeanMetric,
    RatioMetric,
    ShareMetric,
    SumMetric,
)

Row = Mapping[str, Any]
RowMetric = CountMetric | SumMetric | MeanMetric | RatioMetric | ShareMetric


@functools.lru_cache(maxsize=4096)
def expression(text: str) -> Expr:
    """Parse once per distinct text; contract check has already proved it parses."""
    return parse(text)


@dataclass(frozen=True)
class MetricValue:
    """A metric over some periods, with what it was computed from."""

    metric: str  # metric id
    periods: tuple[str, ...]  # the period ids whose rows (or figures) were used
    value: Decimal | None  # None when undefined (no rows, or a zero denominator)
    rows: int  # rows used after the filter (0 for supplied figures)
    parts: tuple[
        tuple[str, Decimal], ...
    ] = ()  # e.g. (("numerator", 1234.5), ("denominator", 45678))
    groups: tuple[tuple[str, Decimal | None], ...] = ()  # value per `by` group, sorted by group
    supplied: bool = False  # True when the figure was supplied, not computed


@dataclass
class _Acc:
    """Running totals for one metric over a stream of rows (one per `by` group)."""

    rows: int = 0
    a: Decimal = money.ZERO  # sum / numerator / participants meeting the condition
    b: Decimal = money.ZERO  # count of values / denominator / participants
    distinct: set[Any] | None = None
    met: set[Any] | None = None


def _number(v: Any) -> Decimal | None:
    if v is None or isinstance(v, bool):
        return None if v is None else Decimal(int(v))
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int):
        return Decimal(v)
    raise TypeError(f"metric over a non-number: {v!r}")


def _feed(metric: RowMetric, acc: _Acc, row: Row, participant: str | None) -> None:
    acc.rows += 1
    if isinstance(metric, CountMetric):
        if metric.distinct:
            assert acc.distinct is not None
            acc.distinct.add(row.get(metric.distinct))
        return
    if isinstance(metric, SumMetric | MeanMetric):
        v = _number(expression(metric.of).evaluate(row))
        if v is not None:
            acc.a += v
            acc.b += 1
        return
    if isinstance(metric, RatioMetric):
        n = _number(expression(metric.numerator).evaluate(row))
        d = _number(expression(metric.denominator).evaluate(row))
        # A row counts in a ratio of sums only with both parts; half a row would skew it.
        if n is not None and d is not None:
            acc.a += n
            acc.b += d
        return
    assert acc.distinct is not None and acc.met is not None
    who = row.get(participant) if participant else id(row)
    acc.distinct.add(who)
    if expression(metric.condition).evaluate_bool(row):
        acc.met.add(who)


def _finish(metric: RowMetric, acc: _Acc) -> tuple[Decimal | None, tuple[tuple[str, Decimal], ...]]:
    if isinstance(metric, CountMetric):
        n = Decimal(len(acc.distinct) if acc.distinct is not None else acc.rows)
        return n, ()
    if isinstance(metric, SumMetric):
        return acc.a, (("rows", Decimal(acc.rows)),)
    if isinstance(metric, MeanMetric):
        return money.div(acc.a, acc.b), (("sum", acc.a), ("count", acc.b))
    if isinstance(metric, RatioMetric):
        return money.div(acc.a, acc.b), (("numerator", acc.a), ("denominator", acc.b))
    assert acc.distinct is not None and acc.met is not None
    met, total = Decimal(len(acc.met)), Decimal(len(acc.distinct))
    return money.div(met, total), (("meeting", met), ("participants", total))


def _new(metric: RowMetric) -> _Acc:
    needs_sets = isinstance(metric, ShareMetric) or (
        isinstance(metric, CountMetric) and metric.distinct
    )
    return _Acc(distinct=set() if needs_sets else None, met=set() if needs_sets else None)


def compute(
    metric: RowMetric, rows: Iterable[Row], periods: tuple[str, ...], participant: str | None
) -> MetricValue:
    """Compute `metric` over `rows` (already limited to `periods`).

    Rows failing the metric's filter are skipped. With `by`, the value is also
    computed per group; the headline value is always over all filtered rows.
    """
    flt = expression(metric.filter) if metric.filter else None
    total = _new(metric)
    groups: dict[str, _Acc] = {}
    for row in rows:
        if flt is not None and not flt.evaluate_bool(row):
            continue
        _feed(metric, total, row, participant)
        if metric.by:
            group = row.get(metric.by)
            key = "(blank)" if group is None else str(group)
            _feed(metric, groups.setdefault(key, _new(metric)), row, participant)
    value, parts = _finish(metric, total)
    by = tuple((k, _finish(metric, groups[k])[0]) for k in sorted(groups))
    return MetricValue(metric.id, periods, value, total.rows, parts, by)
