"""The fast path of validation: a batch of rows checked column by column, all or nothing.

Problem: per row, Python bytecode dominates (~5 µs a row for seven columns, a row check,
a key and totals), several times what `csv.reader` needs to read the row.

Approach: most batches of a file hold no problem at all. A batch (~256 rows: small
enough to stay in the CPU cache) is transposed into columns and each step runs as a
C-level `map` over a whole column: the memoised parsers, "is any cell Bad", bounds that
name another column, row checks compiled column-wise (rowcheck.compile_columns), grain
hashes checked against earlier keys with set operations, totals with `sum`. Only when
every step finds nothing is the batch committed (keys recorded, totals added, `on_row`
called); otherwise the caller halves the batch and, where a problem is, validates row by
row, which reports every problem in row order. So the fast path never builds an Issue.
"""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from contracts import cells
from contracts.headers import is_totals_row
from contracts.rowcheck import Fallback, compile_columns

if TYPE_CHECKING:
    from contracts.validate import OnRow, _Run

_NONE = type(None)


class Batches:
    """Column plan for one validation run; `commit(batch)` is the fast path."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        of_columns = run.columns
        self.readers = [
            (m.__getitem__, p) if ok else None
            for m, p, ok in zip(run.memos, run.positions, run.present, strict=True)
        ]
        self.all_optional = not any(
            c.required for c, ok in zip(of_columns, run.present, strict=True) if ok
        )
        self.memos = run.memos
        self.bools = run.bools
        self.bools_matter = [m.bools_matter for m in run.memos]
        self.optional = {i for i, c in enumerate(of_columns) if not c.required}
        types = {c.name: c.type for c in of_columns}
        # Row checks: compiled column-wise when possible, else evaluated row by row here.
        self.checks: list[tuple[Any, list[int], Callable[..., Any]]] = []
        for _rc, check, involved in run.checks:
            columnar = compile_columns(check.expr, run.names, types)
            self.checks.append((columnar, involved, check.fast or check.holds))
        self.refs = [
            (i, j, operator.lt if kind == "min" else operator.gt) for i, j, kind in run.refs
        ]

    def commit(self, batch: list[tuple[int, list[Any]]], on_row: OnRow | None) -> bool:
        """Validate and record a batch without problems; False (and no effect) otherwise."""
        run, n = self.run, len(batch)
        numbers, raws = zip(*batch, strict=True)
        if min(map(len, raws)) < run.width:
            return False  # a short or empty row: the row path pads it
        table = list(zip(*raws, strict=False))  # transposed: every column of the batch, in C
        if self.bools:
            cols = self._columns_checked(table, n)
            if cols is None:
                return False
        else:
            cols = [list(map(r[0], table[r[1]])) if r else [None] * n for r in self.readers]
        firsts = set(table[0])
        Bad = cells.Bad
        for memo, c in zip(self.memos, cols, strict=True):
            # A memo that never produced a Bad cannot have returned one: skip the scan.
            if memo.produced_bad and Bad in map(type, c):
                return False
        if self.all_optional and all(_NONE in map(type, c) for c in cols):
            return False  # there may be a blank row
        if any(type(f) is str and f[:1] in "SsTtGg" and is_totals_row(f) for f in firsts):
            return False
        if not self._refs_hold(cols) or not self._checks_hold(cols, n):
            return False
        hashes: list[int] = []
        if run.grain_ok:
            hashes = list(map(hash, zip(*[cols[i] for i in run.grain], strict=True)))
            fresh = set(hashes)
            if len(fresh) != n or not run.seen.keys().isdisjoint(fresh):
                return False  # a duplicate key in the batch or with an earlier row
        # Everything holds: record the batch.
        run.seen.update(zip(hashes, numbers, strict=False))
        with decimal.localcontext(run.sum_ctx):
            for k, i in enumerate(run.numeric):
                # filter(None, ...) drops empty cells (None) and zeros alike.
                run.sums[k] = sum(filter(None, cols[i]), run.sums[k])
        if on_row is not None:
            names = run.names
            for number, row in zip(numbers, zip(*cols, strict=True), strict=True):
                on_row(number, dict(zip(names, row, strict=True)))
        return True

    def _columns_checked(self, table: list[tuple[Any, ...]], n: int) -> list[list[Any]] | None:
        """Typed columns of a spreadsheet batch; None if a TRUE/FALSE cell needs the row path."""
        cols = []
        for r, matters in zip(self.readers, self.bools_matter, strict=True):
            if r is None:
                cols.append([None] * n)
            elif matters and bool in map(type, table[r[1]]):
                return None
            else:
                cols.append(list(map(r[0], table[r[1]])))
        return cols

    def _refs_hold(self, cols: Sequence[list[Any]]) -> bool:
        for i, j, op in self.refs:
            a, b = cols[i], cols[j]
            if i in self.optional or j in self.optional:
                if any(
                    x is not None and y is not None and op(x, y) for x, y in zip(a, b, strict=True)
                ):
                    return False
            elif True in map(op, a, b):
                return False
        return True

    def _checks_hold(self, cols: Sequence[list[Any]], n: int) -> bool:
        rows: list[tuple[Any, ...]] | None = None
        for columnar, involved, per_row in self.checks:
            results: Any = None
            if columnar is not None and not any(
                i in self.optional and _NONE in map(type, cols[i]) for i in involved
            ):
                try:
                    results = columnar(cols, n)
                except (Fallback, decimal.DecimalException):
                    results = None
            if results is None:
                rows = rows if rows is not None else list(zip(*cols, strict=True))
                try:
                    results = list(map(per_row, rows))
                except Exception:  # the row path reports what went wrong
                    return False
            if False in results:
                return False
        return True
