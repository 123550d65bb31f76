"""Reading the ledger back: typed rows and metrics of stored submissions, as OutcomeData.

Problem: the settlement engine reads outcome data through the `OutcomeData` protocol
(contracts/data.py); from the ledger it must see exactly the rows of the live
submissions of a contract (or of the submissions a settlement recorded), each decoded
with the layout of the contract version it was stored under, and the supplied figures.
Settling a quarter of a million-row file must take well under two seconds, so its
metrics cannot bring the rows into Python.

Approach: `StoredData` reads the list of submissions once, with layout, declared period
and row count. Metrics are aggregated in SQL (`SqlMetrics`, compiled by aggregate.py):
the first time a window of periods is asked for, every row metric of the contract is
computed over it in one query per layout -- the rows of a period are read once however
many metrics use them -- and cached. Submissions whose declared period cannot overlap
the window are not read (ingest refuses rows outside a file's period), and a row count
of files that lie within the period is their stored count. A metric without an exact
SQL form is computed by `contracts.metrics.compute` over rows streamed by period
(`period_start`/`period_end` are stored per row, so "within a period" is exact), and
`fallbacks` says which and why. A StoredData is one reading of the ledger: make a new
one after storing more.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from contracts import periods as P
from contracts.expressions import ExpressionError
from contracts.metrics import MetricValue, Row, RowMetric, compute
from contracts.model import Contract, SuppliedMetric
from contracts.store.aggregate import (
    Plan,
    Tally,
    Unsupported,
    distinct_based,
    finish,
    group_key,
    plan,
)
from contracts.store.db import Store
from contracts.store.layout import Layout
from contracts.store.rows import ROW, read_rows
from contracts.store.tables import ContractVersion, Submission, SuppliedFigure

SUB = Submission.__table__  # type: ignore[attr-defined]
VERSION = ContractVersion.__table__  # type: ignore[attr-defined]
FIGURE = SuppliedFigure.__table__  # type: ignore[attr-defined]


def _within(periods: Sequence[P.Period]) -> Any:
    return sa.or_(
        *(sa.and_(ROW.c.period_start >= p.start, ROW.c.period_end <= p.end) for p in periods)
    )


def _sources(contract_id: str, submissions: Sequence[int] | None) -> Any:
    """The submissions to read: exactly those given (a settlement's inputs), else the live ones."""
    if submissions is not None:
        return SUB.c.id.in_(list(submissions))
    return sa.and_(SUB.c.contract_id == contract_id, SUB.c.status == "live")


def rows_for(
    store: Store,
    contract_id: str,
    periods: Sequence[P.Period] | None = None,
    where: Any = None,
    submissions: Sequence[int] | None = None,
) -> Generator[dict[str, Any], None, None]:
    """Typed rows of the contract's live outcome submissions (or of `submissions`)."""
    if periods is not None and not periods:
        return
    cond = _within(periods) if periods is not None else None
    if where is not None:
        cond = where if cond is None else sa.and_(cond, where)
    with store.read() as conn:
        live = conn.execute(
            sa.select(SUB.c.id, VERSION.c.layout)
            .join(VERSION, VERSION.c.id == SUB.c.contract_version_id)
            .where(_sources(contract_id, submissions), SUB.c.kind == "outcomes")
            .order_by(SUB.c.id)
        ).all()
        by_layout: dict[str, list[int]] = defaultdict(list)
        for sid, layout in live:
            by_layout[layout].append(int(sid))
        for layout, ids in by_layout.items():
            yield from read_rows(conn, ids, Layout.from_json(layout), cond)


@dataclass(frozen=True)
class Stored:
    """One stored outcome submission, as far as reading it by period goes."""

    id: int
    layout: str  # the layout JSON of its contract version
    period: P.Period | None  # the period its rows were validated to lie in; None: unknown
    rows: int


def stored_submissions(
    store: Store, contract: Contract, submissions: Sequence[int] | None = None
) -> list[Stored]:
    """The outcome submissions to read, with layout, declared period and row count."""
    with store.read() as conn:
        found = conn.execute(
            sa.select(SUB.c.id, VERSION.c.layout, SUB.c.period, SUB.c.rows)
            .join(VERSION, VERSION.c.id == SUB.c.contract_version_id)
            .where(_sources(contract.contract.id, submissions), SUB.c.kind == "outcomes")
            .order_by(SUB.c.id)
        ).all()
    return [Stored(int(i), layout, _declared(contract, pid), int(n)) for i, layout, pid, n in found]


def _declared(contract: Contract, pid: str | None) -> P.Period | None:
    """The period a submission was stored for, when its identifier fixes the dates.

    A name the contract defines (explicit periods) could mean other dates in another
    version of the contract, so it counts as unknown: its rows are then always read.
    """
    if pid is None or any(e.id == pid for e in contract.periods.explicit):
        return None
    return P.parse_period(pid)


@dataclass
class _Window:
    """What is known of one window of periods: its row count, and metrics as computed."""

    rows: int
    tallies: dict[RowMetric, Tally | str] = field(default_factory=dict)  # str: why not SQL


class SqlMetrics:
    """Row metrics of some stored submissions, aggregated in SQL and cached per window.

    `metric` returns None when a metric has no exact SQL form; `fallbacks` records why.
    """

    def __init__(
        self,
        store: Store,
        submissions: Sequence[Stored],
        participant: str | None,
        metrics: Iterable[RowMetric],
    ) -> None:
        self.store, self.submissions, self.participant = store, tuple(submissions), participant
        self.metrics = tuple(metrics)  # computed together, one query per window and layout
        self.queries = 0  # SQL statements run, for tests and measurements
        self.fallbacks: list[tuple[str, str]] = []  # (metric id, why it was computed in Python)
        self._windows: dict[tuple[P.Period, ...], _Window] = {}
        self._layouts: dict[str, Layout] = {}

    def row_count(self, period: P.Period) -> int:
        """Rows within `period`; from the submissions' row counts when their periods decide."""
        window = (period,)
        if window in self._windows:
            return self._windows[window].rows
        read = self._reading(window)
        if all(s.period is not None and period.contains(s.period) for s in read):
            return sum(s.rows for s in read)
        return self._window(window, ()).rows  # the period's metrics are asked for next

    def metric(self, metric: RowMetric, periods: Sequence[P.Period]) -> MetricValue | None:
        window = tuple(periods)
        tally = self._window(window, (metric,)).tallies[metric]
        groups: tuple[tuple[str, Decimal | None], ...] = ()
        if not isinstance(tally, str) and metric.by:
            try:
                groups = self._groups(metric, window)
            except (Unsupported, ExpressionError) as exc:
                tally = str(exc)
        if isinstance(tally, str):
            self.fallbacks.append((metric.id, tally))
            return None
        value, parts = finish(metric, tally)
        return MetricValue(
            metric.id, tuple(p.id for p in periods), value, tally.rows, parts, groups
        )

    def _reading(self, window: Sequence[P.Period]) -> list[Stored]:
        """The submissions that may hold rows within the window."""
        return [
            s
            for s in self.submissions
            if s.period is None
            or any(w.start <= s.period.end and s.period.start <= w.end for w in window)
        ]

    def _by_layout(self, window: Sequence[P.Period]) -> list[tuple[Layout, list[int]]]:
        ids: dict[str, list[int]] = {}
        for s in self._reading(window):
            ids.setdefault(s.layout, []).append(s.id)
        return [(self._layout(text), sorted(sids)) for text, sids in ids.items()]

    def _layout(self, text: str) -> Layout:
        if text not in self._layouts:
            self._layouts[text] = Layout.from_json(text)
        return self._layouts[text]

    def _window(self, window: tuple[P.Period, ...], wanted: Sequence[RowMetric]) -> _Window:
        """The window's tallies, computing those of `wanted` (all the metrics, first time)."""
        known = self._windows.get(window)
        todo = [m for m in wanted if known is None or m not in known.tallies]
        if known is not None and not todo:
            return known
        metrics = list(dict.fromkeys([*todo, *(self.metrics if known is None else ())]))
        rows, tallies = self._batch(window, metrics)
        if known is None:
            known = self._windows[window] = _Window(rows)
        known.tallies.update(tallies)
        return known

    def _batch(
        self, window: tuple[P.Period, ...], metrics: Sequence[RowMetric]
    ) -> tuple[int, dict[RowMetric, Tally | str]]:
        """One query per layout: COUNT(*) and every compilable metric's aggregates."""
        tallies: dict[RowMetric, Tally | str] = {m: Tally() for m in metrics}
        rows = 0
        for layout, ids in self._by_layout(window) if window else ():
            plans: dict[RowMetric, Plan] = {}
            for m in metrics:
                if isinstance(tallies[m], Tally):
                    try:
                        plans[m] = plan(m, layout, self.store.dialect, self.participant, False)
                    except (Unsupported, ExpressionError) as exc:
                        # Only this metric: compute then says what is wrong, if anything.
                        tallies[m] = str(exc)
            count = sa.func.count()
            columns: dict[str, Any] = {self._key(count): count}
            for p in plans.values():  # the same aggregate is selected once
                for _, agg, _ in p.items:
                    columns.setdefault(self._key(agg), agg)
            try:
                (values,) = self._select(list(columns.values()), ids, window)
            except Unsupported as exc:  # an integer sum overflowed (SQLite)
                tallies.update({m: str(exc) for m in plans})
                ((counted,),) = self._select([count], ids, window)
                rows += int(counted)
                continue
            at = {key: i for i, key in enumerate(columns)}
            rows += int(values[0])
            for m, p in plans.items():
                got = p.read([values[at[self._key(agg)]] for _, agg, _ in p.items])
                tallies[m] = self._add(m, tallies[m], got)
        return rows, tallies

    @staticmethod
    def _add(metric: RowMetric, before: Tally | str, got: Tally) -> Tally | str:
        if isinstance(before, str):
            return before
        if got.guard:
            return "a value too large for exact integer arithmetic in SQL"
        try:
            return before.plus(got, distinct_based(metric))
        except Unsupported as exc:
            return str(exc)

    def _groups(
        self, metric: RowMetric, window: tuple[P.Period, ...]
    ) -> tuple[tuple[str, Decimal | None], ...]:
        """The value per `by` group: one grouped query per layout, added by key."""
        groups: dict[str, Tally] = {}
        for layout, ids in self._by_layout(window) if window else ():
            p = plan(metric, layout, self.store.dialect, self.participant, True)
            aggs = [agg for _, agg, _ in p.items]
            for raw, *values in self._select([p.group, *aggs], ids, window, p.where, p.group):
                key, got = group_key(raw, p.group_type), p.read(values)
                if got.guard:
                    raise Unsupported("a value too large for exact integer arithmetic in SQL")
                before = groups.get(key)
                groups[key] = got if before is None else before.plus(got, distinct_based(metric))
        return tuple((k, finish(metric, groups[k])[0]) for k in sorted(groups))

    def _key(self, agg: Any) -> str:
        dialect = self.store.engine.dialect
        return str(agg.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    def _select(
        self,
        columns: list[Any],
        ids: list[int],
        window: Sequence[P.Period],
        where: Any = None,
        group: Any = None,
    ) -> list[Any]:
        query = sa.select(*columns).where(ROW.c.submission_id.in_(ids), _within(window))
        if where is not None:
            query = query.where(where)
        if group is not None:
            query = query.group_by(group)
        self.queries += 1
        # Its own transaction: on PostgreSQL an error ends the transaction it happens in.
        with self.store.read() as conn:
            try:
                return list(conn.execute(query).all())
            except (sa.exc.OperationalError, sa.exc.DataError) as exc:
                if "overflow" not in str(exc.orig) and "out of range" not in str(exc.orig):
                    raise
                raise Unsupported("an integer sum overflowed in SQL") from None


class StoredData:
    """OutcomeData over the ledger: the live submissions of one contract, or those given.

    `submissions` pins the data to a settlement's recorded inputs, so the audit reads
    exactly what the settlement read even after a file was superseded.
    """

    def __init__(
        self, store: Store, contract: Contract, submissions: Sequence[int] | None = None
    ) -> None:
        self.store, self.contract = store, contract
        self.submissions = None if submissions is None else tuple(submissions)
        self.contract_id = contract.contract.id
        self.participant = contract.outcome_file.participant_column
        self._figures: dict[tuple[str, str], Decimal] | None = None
        self._sql: SqlMetrics | None = None

    @property
    def sql(self) -> SqlMetrics:
        """The SQL aggregation (made on first use: it reads the submissions once)."""
        if self._sql is None:
            metrics = [m for m in self.contract.metrics if not isinstance(m, SuppliedMetric)]
            found = stored_submissions(self.store, self.contract, self.submissions)
            self._sql = SqlMetrics(self.store, found, self.participant, metrics)
        return self._sql

    @property
    def fallbacks(self) -> tuple[tuple[str, str], ...]:
        """(metric id, reason) of each metric computed in Python over the rows."""
        return () if self._sql is None else tuple(self._sql.fallbacks)

    def rows_in(self, periods: Sequence[P.Period]) -> Iterable[Row]:
        return rows_for(self.store, self.contract_id, periods, None, self.submissions)

    def rows_until(self, end: date) -> Iterable[Row]:
        return rows_for(
            self.store, self.contract_id, None, ROW.c.period_end <= end, self.submissions
        )

    def row_count(self, period: P.Period) -> int:
        return self.sql.row_count(period)

    def supplied(self, metric_id: str, period_id: str) -> Decimal | None:
        if self._figures is None:
            self._figures = supplied_figures(self.store, self.contract_id, self.submissions)
        return self._figures.get((metric_id, period_id))

    def metric(self, metric: RowMetric, periods: Sequence[P.Period]) -> MetricValue:
        value = self.sql.metric(metric, periods)
        if value is not None:
            return value
        ids = tuple(p.id for p in periods)
        # Closed even when compute raises, so no database cursor is left open.
        with contextlib.closing(
            rows_for(self.store, self.contract_id, periods, None, self.submissions)
        ) as rows:
            return compute(metric, rows, ids, self.participant)


def supplied_figures(
    store: Store, contract_id: str, submissions: Sequence[int] | None = None
) -> dict[tuple[str, str], Decimal]:
    """Every live supplied figure of the contract (or of `submissions`), by (metric, period)."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(FIGURE.c.metric, FIGURE.c.period, FIGURE.c.value)
            .join(SUB, SUB.c.id == FIGURE.c.submission_id)
            .where(_sources(contract_id, submissions))
        ).all()
    return {(m, p): Decimal(v) for m, p, v in rows}
