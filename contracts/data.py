"""Outcome data as the engine sees it: typed rows by period, and supplied figures.

`OutcomeData` is the seam between the pure engine and where rows live. The in-memory
implementation here serves files and worked examples; the ledger provides one that
aggregates in the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from contracts import periods as P
from contracts.metrics import MetricValue, Row, RowMetric, compute
from contracts.model import Contract


class OutcomeData(Protocol):
    def rows_in(self, periods: Sequence[P.Period]) -> Iterable[Row]:
        """Rows whose period lies within one of `periods`."""
        ...

    def rows_until(self, end: date) -> Iterable[Row]:
        """Rows whose period ends on or before `end` (history for rate cards)."""
        ...

    def row_count(self, period: P.Period) -> int:
        """How many rows lie within `period`."""
        ...

    def supplied(self, metric_id: str, period_id: str) -> Decimal | None:
        """A supplied figure, or None when none was supplied."""
        ...

    def metric(self, metric: RowMetric, periods: Sequence[P.Period]) -> MetricValue:
        """A row metric over `periods`."""
        ...


def row_period(value: Any, contract: Contract) -> P.Period | None:
    """The period a row's period-column value denotes (a month, a date, or an identifier)."""
    if isinstance(value, date):
        col = contract.column(contract.outcome_file.period_column)
        if col is not None and col.type == "month":
            return P.month(value.year, value.month)
        return P.Period(value, value, value.isoformat(), "explicit")
    if isinstance(value, str):
        for e in contract.periods.explicit:
            if e.id == value.strip():
                return P.Period(e.start, e.end, e.id, "explicit")
        return P.parse_period(value)
    return None


class InMemoryData:
    """Rows held in memory, grouped by the period each row reports on."""

    def __init__(
        self,
        contract: Contract,
        rows: Iterable[Row],
        supplied: Mapping[tuple[str, str], Decimal] | None = None,
    ) -> None:
        self.contract = contract
        self.participant = contract.outcome_file.participant_column
        self._by_period: dict[P.Period, list[Row]] = defaultdict(list)
        column = contract.outcome_file.period_column
        for row in rows:
            rp = row_period(row.get(column), contract)
            if rp is not None:
                self._by_period[rp].append(row)
        self._supplied = dict(supplied or {})

    def _matching(self, windows: Sequence[P.Period]) -> list[P.Period]:
        return sorted(rp for rp in self._by_period if any(w.contains(rp) for w in windows))

    def rows_in(self, periods: Sequence[P.Period]) -> Iterable[Row]:
        for rp in self._matching(periods):
            yield from self._by_period[rp]

    def rows_until(self, end: date) -> Iterable[Row]:
        for rp in sorted(self._by_period):
            if rp.end <= end:
                yield from self._by_period[rp]

    def row_count(self, period: P.Period) -> int:
        return sum(len(self._by_period[rp]) for rp in self._matching([period]))

    def supplied(self, metric_id: str, period_id: str) -> Decimal | None:
        return self._supplied.get((metric_id, period_id))

    def metric(self, metric: RowMetric, periods: Sequence[P.Period]) -> MetricValue:
        ids = tuple(p.id for p in periods)
        return compute(metric, self.rows_in(periods), ids, self.participant)
