"""The fast path of validation: a batch of rows checked column by column, all or nothing.

Problem: per row, Python bytecode dominates (~5 µs a row for seven columns, a row check,
a key and totals), several times what `csv.reader` needs to read the row.

Approach: most batches of a file hold no problem at all. A batch (~256 rows: small
enough to stay in the CPU cache) is transposed into columns and each step runs as a
C-level `map` over a whole column: the memoised parsers, "is any cell Bad", bounds that
name another column, row checks compiled column-wise (rowcheck.compile_columns), grain
hashes (checked with set operations against earlier keys when rows are passed on to
`on_row`), totals with `sum`. Only when every step finds nothing is the batch committed
(keys recorded, totals added, the rows passed on: to `on_batch` as the columns already
built, or to `on_row` a dict a row); otherwise the caller halves the batch and,
where a problem is, validates row by row, which reports every problem in row order. So
the fast path never builds an Issue.

Grain keys (`GrainKeys`): a dict of every key seen cost ~100 bytes a row, so a million
rows took ~100 MB and memory grew with the file. Instead each key's 64-bit hash and its
row number are gathered for `CHUNK` keys, then packed (16 bytes a key), split by one byte
of the hash into 256 partitions and written to an anonymous temporary file. At the end
each partition is read back from every chunk and checked with a set small enough to stay
in the CPU cache; only a partition that holds a repeat is walked key by key, to find
which rows repeat which. Sorting would find repeats too, but `sorted` costs ~1 µs a key
in CPython; packing, partitioning and the sets cost ~0.4 µs, less than the dict did
(0.5 µs a key at a million keys, 0.75 µs at three: its lookups miss the cache more as it
grows). Memory is one chunk plus, at the end, one partition.
When rows are passed on to `on_row`, a row whose key repeats an earlier row's is held
back, which only a set of all earlier keys can know at once: then, and only then, the
keys are also kept in a set (~70 bytes a row, less than the dict cost), and memory grows
with the file. `WINDOW` can bound that set to the last `WINDOW` to `2 * WINDOW` keys; a
repeat of a key further back would then be found only at the end, after its row was
passed on. A consumer of `on_batch` (the ingest) takes repeats instead -- the ledger's
primary key refuses them and the report, invalid, rolls the transaction back -- so
nothing is remembered and memory stays flat.
"""

from __future__ import annotations

import decimal
import heapq
import operator
import pickle
import re
import struct
import tempfile
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import IO, TYPE_CHECKING, Any

from contracts import cells
from contracts.headers import is_totals_row
from contracts.rowcheck import Fallback, compile_columns

if TYPE_CHECKING:
    from contracts.validate import _Run

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

    def commit(self, batch: list[tuple[int, list[Any]]]) -> bool:
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
        keys = run.keys
        hashes: list[int] = []
        if keys is not None:
            hashes = list(map(hash, zip(*[cols[i] for i in run.grain], strict=True)))
            if not keys.fresh(hashes):
                return False  # a key repeats within the batch or an earlier row's
        # Everything holds: record the batch.
        if keys is not None:
            keys.add_batch(hashes, numbers, [cols[i] for i in keys.shown])
        with decimal.localcontext(run.sum_ctx):
            for k, i in enumerate(run.numeric):
                # filter(None, ...) drops empty cells (None) and zeros alike.
                run.sums[k] = sum(filter(None, cols[i]), run.sums[k])
        if run.passes:
            run.pass_on(numbers, cols)
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


# ---- grain keys: every key of the file, repeats found at the end ---------------------

PARTS = 256  # partitions, by one byte of the hash
_BYTE = 7  # the byte of each 8-byte hash that picks its partition (any byte would do)

Repeat = tuple[int, int, tuple[Any, ...]]  # (row, row that first had the key, shown values)


def _int64(ints: list[int]) -> bytes:
    """The ints as 8-byte machine integers (struct converts faster than array)."""
    return struct.pack(f"{len(ints)}q", *ints)


class _Chunk:
    """`CHUNK` keys packed as one blob: hashes by partition, rows, partition bytes, values.

    The blob stays in memory (the last chunk) or lies in the spill file at `offset`.
    """

    __slots__ = ("blob", "n", "offset", "starts", "values_len")

    def __init__(self, n: int, starts: array[int], values_len: int) -> None:
        self.n = n  # keys in the chunk
        self.starts = starts  # partition p is hashes[starts[p]:starts[p + 1]]
        self.values_len = values_len  # bytes of the pickled shown values, at the end
        self.blob: bytes | None = None
        self.offset = 0


class GrainKeys:
    """The grain key of every row as (hash, row); `repeats()` at the end finds the repeats.

    A key is a 64-bit hash of the typed grain values, not the values: a collision among a
    million keys (p ≈ 3e-8) would at worst report a false duplicate. The values of the
    grain columns that messages may show (`shown`: the non-pseudonymous ones) are kept
    alongside, and spilled with their chunk, so that the message of any repeat names them.
    """

    CHUNK = 1 << 16  # keys per chunk: ~5 MB as lists of ints (cache-friendly), 1 MB packed
    # Keys remembered for on_row: None, all of them; a number n, only the last n to 2n.
    WINDOW: int | None = None

    def __init__(self, shown: list[int], remember: bool) -> None:
        self.shown = shown  # column indexes of the grain values a message shows
        self.remember = remember  # keep keys in a set, to hold repeats back from on_row
        # Lists while a chunk fills: extending an array converts each int (~100 ns).
        self.hashes: list[int] = []
        self.rows: list[int] = []
        self.values: list[list[Any]] = [[] for _ in shown]
        self.recent: set[int] = set()
        self.older: set[int] = set()
        self.chunks: list[_Chunk] = []
        self.file: IO[bytes] | None = None

    # ---- while the rows stream --------------------------------------------------------

    def fresh(self, hashes: list[int]) -> bool:
        """No key of the batch repeats in it or a remembered key (if keys are remembered).

        The last check before a batch is committed: its keys are remembered.
        """
        if not self.remember:
            return True
        keys = set(hashes)
        if len(keys) != len(hashes) or not keys.isdisjoint(self.recent):
            return False
        if self.older and not keys.isdisjoint(self.older):
            return False
        self.recent |= keys  # the batch is committed next
        self._forget()
        return True

    def _forget(self) -> None:
        if self.WINDOW is not None and len(self.recent) >= self.WINDOW:
            self.older, self.recent = self.recent, set()

    def add_batch(self, hashes: list[int], rows: Sequence[int], values: list[list[Any]]) -> None:
        self.hashes.extend(hashes)
        self.rows.extend(rows)
        for kept, column in zip(self.values, values, strict=True):
            kept.extend(column)
        if len(self.hashes) >= self.CHUNK:
            self._spill()

    def add_row(self, key: int, row: int, values: tuple[Any, ...]) -> bool:
        """Record one row's key; False if it repeats a remembered key (if keys are kept)."""
        new = True
        if self.remember:
            new = key not in self.recent and key not in self.older
            self.recent.add(key)
            self._forget()
        self.hashes.append(key)
        self.rows.append(row)
        for kept, value in zip(self.values, values, strict=True):
            kept.append(value)
        if len(self.hashes) >= self.CHUNK:
            self._spill()
        return new

    def _pack(self) -> tuple[_Chunk, bytes]:
        """The keys gathered so far as a chunk and its blob; the lists start afresh."""
        hashes, n = self.hashes, len(self.hashes)
        picks = _int64(hashes)[_BYTE::8]  # one byte of each hash: its partition
        parts: list[list[int]] = [[] for _ in range(PARTS)]
        deque(map(list.append, map(parts.__getitem__, picks), hashes), 0)
        values = pickle.dumps(self.values, pickle.HIGHEST_PROTOCOL)
        blob = b"".join([*map(_int64, parts), _int64(self.rows), picks, values])
        chunk = _Chunk(n, array("q", accumulate(map(len, parts), initial=0)), len(values))
        self.hashes, self.rows = [], []
        self.values = [[] for _ in self.shown]
        return chunk, blob

    def _spill(self) -> None:
        chunk, blob = self._pack()
        if self.file is None:
            # Anonymous, closed by close(): validate_rows calls it whatever happens.
            self.file = tempfile.TemporaryFile()  # noqa: SIM115
        chunk.offset = self.file.seek(0, 2)
        self.file.write(blob)
        self.chunks.append(chunk)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    # ---- at the end of the file -------------------------------------------------------

    def repeats(self, limit: int) -> tuple[int, list[Repeat]]:
        """How many rows repeat an earlier row's key, and the first `limit` of them."""
        if not self.chunks and len(set(self.hashes)) == len(self.hashes):
            return 0, []  # the common case of a small file: nothing to spill or walk
        chunks = self.chunks
        if self.hashes:
            tail, blob = self._pack()
            tail.blob = blob
            chunks = [*chunks, tail]
        count = 0
        best: list[tuple[int, int, int, int]] = []  # (row, first row, chunk, position)
        for p in range(PARTS):
            seen: set[int] = set()
            total = 0
            for chunk in chunks:
                part = self._part(chunk, p)
                total += len(part)
                seen.update(part)
            if total == len(seen):
                continue
            count += total - len(seen)
            if limit > 0:
                best = heapq.nsmallest(limit, [*best, *self._walk(chunks, p, limit)])
        return count, self._shown(chunks, best)

    def _read(self, chunk: _Chunk, start: int, size: int) -> bytes:
        if chunk.blob is not None:
            return chunk.blob[start : start + size]
        assert self.file is not None
        self.file.seek(chunk.offset + start)
        return self.file.read(size)

    def _part(self, chunk: _Chunk, p: int) -> array[int]:
        start, end = chunk.starts[p], chunk.starts[p + 1]
        part = array("q")
        part.frombytes(self._read(chunk, 8 * start, 8 * (end - start)))
        return part

    def _walk(self, chunks: list[_Chunk], p: int, limit: int) -> list[tuple[int, int, int, int]]:
        """The first `limit` repeats in partition p, in file order: a key at a time.

        Each is (row, first row, chunk, position in the chunk); the j-th key of partition
        p in a chunk is the j-th key of the chunk whose partition byte is p.
        """
        first: dict[int, tuple[int, int]] = {}  # hash → (chunk, index in the partition)
        found: list[tuple[tuple[int, int], tuple[int, int]]] = []
        for k, chunk in enumerate(chunks):
            for j, key in enumerate(self._part(chunk, p)):
                earlier = first.setdefault(key, (k, j))
                if earlier[0] != k or earlier[1] != j:
                    found.append(((k, j), earlier))
                    if len(found) == limit:
                        break
            else:
                continue
            break
        positions: dict[int, list[int]] = {}  # chunk → positions of partition p's keys

        def locate(k: int, j: int) -> tuple[int, int]:
            chunk = chunks[k]
            if k not in positions:
                picks = self._read(chunk, 16 * chunk.n, chunk.n)
                positions[k] = [m.start() for m in re.finditer(re.escape(bytes([p])), picks)]
            at = positions[k][j]
            row = array("q")
            row.frombytes(self._read(chunk, 8 * (chunk.n + at), 8))
            return row[0], at

        out = []
        for (k, j), (fk, fj) in found:
            row, at = locate(k, j)
            out.append((row, locate(fk, fj)[0], k, at))
        return out

    def _shown(self, chunks: list[_Chunk], best: list[tuple[int, int, int, int]]) -> list[Repeat]:
        """The repeats in row order, with their shown values: one chunk's values at a time."""
        out = []
        loaded, values = -1, []
        for row, first, k, at in sorted(best, key=operator.itemgetter(2)):
            if k != loaded:
                chunk = chunks[k]
                # Unpickling our own anonymous temporary file (or memory), written above.
                loaded, values = k, pickle.loads(self._read(chunk, 17 * chunk.n, chunk.values_len))
            out.append((row, first, tuple(column[at] for column in values)))
        return sorted(out, key=operator.itemgetter(0))
