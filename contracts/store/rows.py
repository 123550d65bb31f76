"""Moving outcome rows in and out of `outcome_row`, fast, with memory flat.

Problem: a million validated rows must be stored in one transaction in at most the time
validation takes again, on SQLite and on PostgreSQL, and read back as typed rows.

Approach: rows arrive one by one from the validator's `on_row` and are encoded into slot
tuples (layout.Encoder, memoised). On PostgreSQL they go straight into `COPY ... FROM
STDIN` (psycopg 3 `cursor.copy`), which streams to the server; on SQLite into the sqlite3
driver's `executemany` in batches of `BATCH` rows. Both use the driver connection under
the SQLAlchemy transaction, so the rows commit or roll back with everything else; the
ORM and even Core `insert()` were measured at 2–4× the cost (issue 4). Memory holds one
batch. A value the layout cannot hold (a decimal with more than six places) stops the
writing and becomes an issue; the caller rolls the transaction back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from typing import Any

import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.engine import Connection

from contracts.issues import Issue, Location
from contracts.model import Contract
from contracts.store.layout import SLOT_NAMES, Decoder, Encoder, Layout, TooPrecise
from contracts.store.tables import OutcomeRow

BATCH = 10_000
ROW = OutcomeRow.__table__  # type: ignore[attr-defined]
PG_FIXED = {
    "row_number": "int8",
    "period_start": "date",
    "period_end": "date",
    "participant": "text",
    "grain": "text",
}
PG_SLOT = {"n": "int8", "t": "text", "d": "date", "b": "bool"}


def pg_type(column: str) -> str:
    """The PostgreSQL type binary COPY must be told for a column of outcome_row."""
    return PG_FIXED.get(column) or PG_SLOT[column[0]]


def _same(d: date) -> Any:
    return d


def _iso(d: date) -> Any:
    return d.isoformat()


class RowWriter:
    """A sink for `on_row`: encodes each valid row and writes it under `submission_id`."""

    def __init__(
        self,
        conn: Connection,
        contract: Contract,
        layout: Layout,
        submission_id: int,
        file: str,
        sheet: str | None,
        limit: int = 100,
    ) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self.encoder = Encoder(contract, layout, _iso if self.sqlite else _same)
        self.submission_id = submission_id
        self.file, self.sheet, self.limit = file, sheet, limit
        self.issues: list[Issue] = []
        self.refused = 0  # rows the layout could not hold
        self.written = 0
        self._batch: list[tuple[Any, ...]] = []
        self._stack = contextlib.ExitStack()
        self._cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self._copy: Any = None
        names = ",".join(("submission_id", *self.encoder.columns))
        if self.sqlite:
            marks = ",".join("?" * (1 + len(self.encoder.columns)))
            self._sql = f"INSERT INTO outcome_row ({names}) VALUES ({marks})"
        else:
            # Binary COPY, written from a second thread (QueuedLibpqWriter): the server
            # stores one chunk while this thread validates the next rows.
            sql = f"COPY outcome_row ({names}) FROM STDIN (FORMAT BINARY)"
            writer = QueuedLibpqWriter(self._cursor)
            self._copy = self._stack.enter_context(self._cursor.copy(sql, writer=writer))
            self._copy.set_types(["int4", *map(pg_type, self.encoder.columns)])

    def __call__(self, number: int, row: dict[str, Any]) -> None:
        try:
            values = self.encoder.encode(number, row)
        except TooPrecise as exc:
            self._refuse(number, exc)
            return
        if self.refused:
            return  # the transaction will be rolled back: stop writing
        if self._copy is not None:
            self._copy.write_row((self.submission_id, *values))
        else:
            self._batch.append((self.submission_id, *values))
            if len(self._batch) >= BATCH:
                self._flush()
        self.written += 1

    def _refuse(self, number: int, exc: TooPrecise) -> None:
        self.refused += 1
        if len(self.issues) < self.limit:
            self.issues.append(
                Issue(
                    "ledger-precision",
                    f"{exc.column} {exc.value} {exc.reason}; the ledger stores numbers "
                    "exactly to six decimal places below 9.2 × 10^12",
                    Location(file=self.file, sheet=self.sheet, row=number, field=exc.column),
                )
            )

    def _flush(self) -> None:
        if self._batch:
            self._cursor.executemany(self._sql, self._batch)
            self._batch = []

    def close(self) -> None:
        """Write what is pending (ends the COPY); errors from the database surface here."""
        try:
            if self.sqlite:
                self._flush()
            self._stack.close()
        finally:
            self._cursor.close()

    def abort(self) -> None:
        """Stop without caring what was written (the transaction is being rolled back)."""
        with contextlib.suppress(Exception):
            self._stack.close()
        with contextlib.suppress(Exception):
            self._cursor.close()


def read_rows(
    conn: Connection, submission_ids: list[int], layout: Layout, where: Any = None
) -> Iterator[dict[str, Any]]:
    """Typed rows of the given submissions (one layout), in no promised order."""
    decoder = Decoder(layout)
    slots = [ROW.c[s] for s in SLOT_NAMES]
    query = sa.select(*slots).where(ROW.c.submission_id.in_(submission_ids))
    if where is not None:
        query = query.where(where)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    for r in result:
        yield decoder.decode(tuple(r))
