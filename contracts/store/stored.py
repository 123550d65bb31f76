"""Reading the ledger back: typed rows of live submissions, as the engine's OutcomeData.

Problem: the settlement engine reads outcome data through the `OutcomeData` protocol
(contracts/data.py); from the ledger it must see exactly the rows of the live
submissions of a contract, each decoded with the layout of the contract version it was
stored under, and the live supplied figures.

Approach: `StoredData` selects the live submissions, groups them by contract version
(one layout each) and streams rows filtered by period in SQL (`period_start` and
`period_end` are stored per row, so "within a period" is exact). Metrics are computed
by `contracts.metrics.compute` over the streamed rows for now; aggregating in SQL over
the `n` slots (exact BIGINT sums) is the next step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from contracts import periods as P
from contracts.metrics import MetricValue, Row, RowMetric, compute
from contracts.model import Contract
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
) -> Iterator[dict[str, Any]]:
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

    def rows_in(self, periods: Sequence[P.Period]) -> Iterable[Row]:
        return rows_for(self.store, self.contract_id, periods, None, self.submissions)

    def rows_until(self, end: date) -> Iterable[Row]:
        return rows_for(
            self.store, self.contract_id, None, ROW.c.period_end <= end, self.submissions
        )

    def row_count(self, period: P.Period) -> int:
        with self.store.read() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(ROW.join(SUB, SUB.c.id == ROW.c.submission_id))
                    .where(
                        _sources(self.contract_id, self.submissions),
                        SUB.c.kind == "outcomes",
                        _within([period]),
                    )
                ).scalar_one()
            )

    def supplied(self, metric_id: str, period_id: str) -> Decimal | None:
        if self._figures is None:
            self._figures = supplied_figures(self.store, self.contract_id, self.submissions)
        return self._figures.get((metric_id, period_id))

    def metric(self, metric: RowMetric, periods: Sequence[P.Period]) -> MetricValue:
        ids = tuple(p.id for p in periods)
        return compute(metric, self.rows_in(periods), ids, self.participant)


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
