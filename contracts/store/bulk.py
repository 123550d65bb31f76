"""Storing encoded outcome rows fast: SQLite multi-row INSERTs and PostgreSQL COPY, each
fed to a second thread.

Problem: the database's own work of storing a million rows -- about 2.4 s of SQLite's
on this machine, about 5 s of the PostgreSQL server's -- should overlap validation,
which holds the GIL, in one transaction and with memory flat.

Approach: rows.RowWriter encodes a batch into columns and hands it to `Inserts` or
`Copy`, which give their work to a `Worker` thread behind a short queue (memory: a few
statements or COPY chunks) and use the driver connection under the SQLAlchemy
transaction, so that the rows commit or roll back with everything else.

- SQLite: multi-row INSERTs of up to `INSERT_ROWS` rows (the variable limit, 32,766,
  permitting): one `sqlite3_step` per statement where `executemany` takes one per row
  (a million rows: 2.7 s against 5.9 s, measured). The sqlite3 module releases the GIL
  inside the step, so SQLite's B-tree work runs beside validation when a core is free.
  A connection that must stay in its thread (`:memory:`, or a URL that asks for
  check_same_thread) is written to inline.
- PostgreSQL: `COPY ... FROM STDIN` in text format, a batch joined by C-level `str.join`
  (0.4 µs a row, where binary `write_row` costs 1.9 µs); the worker sends it while the
  server stores what came before. psycopg's own QueuedLibpqWriter queues up to 1,024
  chunks, some 100 MB when the server lags behind, as it does: this queue holds
  `COPY_QUEUE` batches.

A key repeated within the file is refused by the primary key of outcome_row: the INSERT
fails (SQLite) or the COPY fails at its end (PostgreSQL).
Writing stops and `refusal` keeps the error; the caller, whose report names the rows,
rolls back, and `close` raises it when the report found nothing (a bug).
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

import psycopg

INSERT_ROWS = 2_500  # rows per SQLite INSERT at most: ~32,000 parameters for 13 columns
QUEUE = 2  # SQLite statements waiting for the worker: enough to keep it busy, no more
COPY_QUEUE = 32  # batches of COPY text (~30 kB each) waiting for the worker

Columns = list[Sequence[Any]]  # the values of outcome_row for a batch, column by column


# ---- the second thread ----------------------------------------------------------------


class Worker:
    """Calls `send` on each item in a thread of its own, behind a queue of `size` items,
    so that the database works while the caller validates the next rows.

    An error in `send` is raised to the caller at its next `put`, or at `join`; the items
    after it are dropped. Only the worker uses the connection until `join` returns.
    """

    def __init__(self, send: Callable[[Any], None], size: int) -> None:
        self._send = send
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self._error: BaseException | None = None
        self._drop = False
        self._thread = threading.Thread(target=self._run, name="outcome-rows", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _END:
            if self._error is None and not self._drop:
                try:
                    self._send(item)
                except BaseException as exc:  # for the caller's thread, which raises it
                    self._error = exc

    def put(self, item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def join(self, drop: bool = False) -> None:
        """Wait until the items queued are sent (or dropped); raise an error of `send`."""
        if self._thread.is_alive():
            self._drop = drop
            self._queue.put(_END)
            self._thread.join()
        if self._error is not None and not drop:
            raise self._error


class Inline:
    """`Worker`, sending in the caller's thread: for a connection that must stay in it."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send

    def put(self, item: Any) -> None:
        self._send(item)

    def join(self, drop: bool = False) -> None:
        pass


_END = object()  # the last item of a worker's queue


# ---- SQLite: multi-row INSERTs ---------------------------------------------------------


def _shareable(dbapi: Any) -> bool:
    """Whether another thread may use this sqlite3 connection.

    SQLAlchemy opens a file database with check_same_thread=False (its pool hands
    connections between threads); a `:memory:` one, or a URL asking for the check, not.
    """
    usable: list[bool] = []

    def probe() -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):
            dbapi.cursor().close()
            usable.append(True)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return bool(usable)


class Inserts:
    """Rows into outcome_row as multi-row INSERTs, executed by a worker thread (or inline).

    The submission id is written into the statement: one parameter fewer a row to bind.
    The other parameters are plain `?` in row order: numbered ones (`?N`), which would
    let them be gathered column by column, made SQLite's work 1.5x (row order) to 2.7x
    (column order) as slow, measured.
    """

    def __init__(self, dbapi: Any, submission_id: int, names: Sequence[str]) -> None:
        self.width = len(names)
        limit = dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self.rows = max(1, min(INSERT_ROWS, limit // self.width))
        # OR FAIL: a refused row ends the statement without undoing the rows before it
        # (the caller rolls everything back), so SQLite keeps no statement journal: 4%.
        self._head = f"INSERT OR FAIL INTO outcome_row (submission_id,{','.join(names)}) VALUES "
        self._sid = int(submission_id)
        self._full = self._sql(self.rows)
        self._params: list[Any] = []  # of the rows not yet sent, row after row
        self.refusal: Exception | None = None
        self._cursor = dbapi.cursor()
        self._worker = Worker(self._execute, QUEUE) if _shareable(dbapi) else Inline(self._execute)

    def _sql(self, rows: int) -> str:
        one = f"({self._sid},{','.join('?' * self.width)})"
        return self._head + ",".join([one] * rows)

    def write(self, columns: Columns, n: int) -> None:
        rows: list[Any] = [None] * (n * self.width)
        for j, column in enumerate(columns):
            rows[j :: self.width] = column  # row after row: one C-level copy a column
        self._params += rows
        size = self.rows * self.width
        while len(self._params) >= size:
            params, self._params = self._params[:size], self._params[size:]
            self._worker.put((self._full, params))

    def _execute(self, statement: tuple[str, list[Any]]) -> None:
        if self.refusal is None:
            try:
                self._cursor.execute(*statement)
            except sqlite3.IntegrityError as exc:
                self.refusal = exc  # the caller rolls back

    def close(self) -> None:
        try:
            if self._params:
                rows = len(self._params) // self.width
                self._worker.put((self._sql(rows), self._params))
                self._params = []
            self._worker.join()
        except BaseException:
            self._worker.join(drop=True)
            raise
        finally:
            self._cursor.close()
        if self.refusal is not None:
            raise self.refusal

    def abort(self) -> None:
        self._params = []
        self._worker.join(drop=True)
        with contextlib.suppress(Exception):
            self._cursor.close()


# ---- PostgreSQL: COPY in text format -------------------------------------------------


class _Abandoned(Exception):
    """Ends a COPY with CopyFail: the server drops it at once, storing nothing more."""


class Copy:
    """Rows into outcome_row through `COPY ... FROM STDIN`, text format, sent by a worker."""

    def __init__(self, dbapi: Any, submission_id: int, names: Sequence[str]) -> None:
        self.refusal: Exception | None = None
        self._sid = str(submission_id)
        self._stack = contextlib.ExitStack()
        self._cursor = dbapi.cursor()
        sql = f"COPY outcome_row (submission_id,{','.join(names)}) FROM STDIN"
        self._copy = self._stack.enter_context(self._cursor.copy(sql))
        self._worker = Worker(self._send, COPY_QUEUE)

    def write(self, columns: Columns, n: int) -> None:
        lines = map("\t".join, zip(repeat(self._sid, n), *columns, strict=True))
        self._worker.put("\n".join(lines) + "\n")

    def _send(self, text: str) -> None:
        if self.refusal is None:
            try:
                self._copy.write(text)
            except psycopg.errors.IntegrityError as exc:  # mostly seen only at the end
                self.refusal = exc

    def close(self) -> None:
        try:
            self._worker.join()
            if self.refusal is not None:
                raise self.refusal
        except BaseException:
            self.abort()
            raise
        try:
            self._stack.close()  # ends the COPY: the server's refusal of a row comes here
        finally:
            self._cursor.close()

    def abort(self) -> None:
        self._worker.join(drop=True)
        with contextlib.suppress(Exception):
            self._stack.__exit__(_Abandoned, _Abandoned("the ingest is rolled back"), None)
        with contextlib.suppress(Exception):
            self._cursor.close()
