"""Moving outcome rows in and out of `outcome_row`, fast, with memory flat.

Problem: a million validated rows must be stored in one transaction in at most the time
validation takes again, on SQLite and on PostgreSQL, with memory flat, and read back as
typed rows.

Approach: the validator hands each clean batch over as typed columns (`on_batch`), and
`_Columns` -- layout.Encoder a column at a time -- turns them into the columns of
outcome_row with one C-level `map` over the encoder's memoised conversions per column,
or none for text that goes on as it is: no dict and no Python call per row (through
`on_row`, a dict and an `encode` call a row cost 4 µs, more than validating the row).
bulk.py stores them (multi-row INSERTs, or COPY), the database working in a second
thread; its module says how and why. The ORM and even Core `insert()` were measured at
2–4× the cost (issue 4).

Repeated keys: the validator does not hold back a row that repeats an earlier row's
grain key -- knowing that at once takes every key in memory, ~70 bytes a row -- and the
primary key of outcome_row refuses it instead. Writing then stops; the report, which
finds every repeat at the end of the file, names the rows, and the caller rolls back.
A value the layout cannot hold (a decimal with more than six places) also stops the
writing, and becomes an issue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contracts.issues import Issue, Location
from contracts.model import Contract
from contracts.store import bulk
from contracts.store.bulk import Columns
from contracts.store.layout import (
    GRAIN_SEPARATOR,
    MEMO_LIMIT,
    SLOT_NAMES,
    Decoder,
    Encoder,
    Layout,
    TooPrecise,
)
from contracts.store.tables import OutcomeRow

BATCH = 10_000  # rows read back at a time (read_rows)
ROW = OutcomeRow.__table__  # type: ignore[attr-defined]
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _iso(d: date) -> Any:
    return d.isoformat()  # both drivers take ISO text for a date (COPY text, sqlite3)


def copy_text(value: Any) -> str:
    """A value, as layout.Encoder converts it, in COPY's text format."""
    if value is None:
        return "\\N"
    if type(value) is bool:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)


class _Then(dict[Any, Any]):
    """A memo after a memo: value → `then(first[value])`, computed once per value."""

    def __init__(self, first: Mapping[Any, Any], then: Callable[[Any], Any]) -> None:
        super().__init__()
        self.first, self.then = first, then

    def __missing__(self, value: Any) -> Any:
        if len(self) > MEMO_LIMIT:
            self.clear()
        out = self[value] = self.then(self.first[value])
        return out


_AS_IS = ("text", "enum")  # column types whose str values the encoder passes on unchanged
Plan = tuple[int | None, Mapping[Any, Any], bool]  # column in, memo, may go as it is


def _plain(column: list[Any], text: bool) -> bool:
    """Whether a column of str may go on as it is: no None among them (what None becomes
    depends on the use) and, for COPY text, no character to escape. One C-level join."""
    try:
        joined = "".join(column)
    except TypeError:  # a None
        return False
    return not text or not ("\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined)


class _Columns(Encoder):
    """layout.Encoder a batch at a time: typed columns in, outcome_row's columns out.

    The columns in are the validator's, in the contract's column order; the columns out
    are `self.columns` (the submission id is the writer's), each made by one C-level
    `map` over the encoder's own memos, so that every conversion is the one `encode`
    makes. A column of text or enum values, which the encoder passes on unchanged, goes
    on as it is when `_plain`: no lookup at all. With `text`, every value comes out as
    COPY text.
    """

    def __init__(self, contract: Contract, layout: Layout, text: bool) -> None:
        super().__init__(contract, layout, _iso)
        at = {c.name: i for i, c in enumerate(contract.outcome_file.columns)}
        types = {n: t for n, t, _ in layout.columns}

        def plan(name: str | None, memo: Mapping[Any, Any], as_is: bool) -> Plan:
            if name is None:
                return None, memo, False
            return at[name], (_Then(memo, copy_text) if text else memo), as_is

        period = layout.period_column
        # ISO dates: nothing to escape in COPY text.
        self._fixed = [
            (at[period], _Then(self._period, itemgetter(0)), False),
            (at[period], _Then(self._period, itemgetter(1)), False),
            plan(layout.participant, self._who, types.get(layout.participant or "") in _AS_IS),
        ]
        # Escaping each part escapes the key: the separator is not special to COPY.
        self._grain = [
            plan(g, m, types[g] in _AS_IS)
            for g, m in zip(layout.grain, self._key_memos, strict=True)
        ]
        self._slots = [
            plan(n, m, t in _AS_IS)
            for (n, t, _), m in zip(layout.columns, self._memos, strict=True)
        ]
        self._none: Any = copy_text(None) if text else None
        self._text = text

    def batch(self, numbers: Sequence[int], cols: list[list[Any]]) -> Columns:
        """The columns of outcome_row for these rows; TooPrecise for a value it cannot hold.

        Every conversion happens here, so that TooPrecise comes out of this call and not
        later, from the writing.
        """
        n = len(numbers)
        fixed = [self._column(cols, p, n) for p in self._fixed]
        if not self._grain:
            grain: Sequence[Any] = list(map(str, numbers))
        else:
            parts = [self._column(cols, p, n) for p in self._grain]
            grain = (
                parts[0]
                if len(parts) == 1
                else list(map(GRAIN_SEPARATOR.join, zip(*parts, strict=True)))
            )
        slots = [self._column(cols, p, n) for p in self._slots]
        return [list(map(str, numbers)) if self._text else numbers, *fixed, grain, *slots]

    def _column(self, cols: list[list[Any]], plan: Plan, n: int) -> Sequence[Any]:
        i, memo, as_is = plan
        if i is None:
            return [self._none] * n
        column = cols[i]
        if as_is and _plain(column, self._text):
            return column
        return list(map(memo.__getitem__, column))


class _Out(Protocol):
    """Where encoded batches go: one database's way of storing rows fast."""

    refusal: Exception | None  # the database refused a row (its primary key): stop writing

    def write(self, columns: Columns, n: int) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class RowWriter:
    """A sink for the validator's `on_batch`: encodes valid rows, writes them under
    `submission_id`; `close()` when the report is valid, `abort()` otherwise."""

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
        text = conn.dialect.name != "sqlite"
        self.encoder = _Columns(contract, layout, text)
        self.names = [c.name for c in contract.outcome_file.columns]
        self.file, self.sheet, self.limit = file, sheet, limit
        self.issues: list[Issue] = []
        self.refused = 0  # rows the layout could not hold
        self.written = 0  # rows handed to the database
        dbapi = conn.connection.driver_connection
        out = bulk.Copy if text else bulk.Inserts
        self._out: _Out = out(dbapi, submission_id, self.encoder.columns)

    def __call__(self, numbers: Sequence[int], cols: list[list[Any]]) -> None:
        try:
            columns = self.encoder.batch(numbers, cols)
        except TooPrecise:
            self._refuse_rows(numbers, cols)
            return
        if self.refused or self._out.refusal is not None:
            return  # the transaction will be rolled back: stop writing
        self._out.write(columns, len(numbers))
        self.written += len(numbers)

    def _refuse_rows(self, numbers: Sequence[int], cols: list[list[Any]]) -> None:
        """Find, a row at a time, the rows of a batch the layout cannot hold."""
        for number, values in zip(numbers, zip(*cols, strict=True), strict=True):
            try:
                self.encoder.encode(number, dict(zip(self.names, values, strict=True)))
            except TooPrecise as exc:
                self._refuse(number, exc)

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

    def close(self) -> None:
        """Write what is pending and wait for it; errors from the database surface here,
        including its refusal of a row (which a valid report makes a bug)."""
        self._out.close()

    def abort(self) -> None:
        """Stop without caring what was written (the transaction is being rolled back)."""
        self._out.abort()


def read_rows(
    conn: Connection, submission_ids: list[int], layout: Layout, where: Any = None
) -> Iterator[dict[str, Any]]:
    """Typed rows of the given submissions (one layout), in no promised order."""
    decoder = Decoder(layout)
    slots = [ROW.c[s] for s in SLOT_NAMES]
    query = sa.select(*slots).where(ROW.c.submission_id.in_(submission_ids))
    if where is not None:
        query = query.where(where)
    # Closed also when the reader stops early or raises: an open server-side cursor on
    # PostgreSQL would otherwise outlive the transaction (psycopg warns).
    with conn.execution_options(stream_results=True, yield_per=BATCH).execute(query) as result:
        for r in result:
            yield decoder.decode(tuple(r))
