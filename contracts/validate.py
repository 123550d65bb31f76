"""Validating outcome rows against the contract's outcome-file schema: the core.

Problem: every problem in a file of up to a million rows must be found and located
(sheet, row, column, cell), capped per code so that a disaster stays readable, counted
in full, and valid rows must flow on, typed, to the settlement engine or the ingest --
while validation costs a small multiple of merely reading the file.

Approach: rows arrive as (row number, raw values) from the reader (outcome_sheet.py) and
a HeaderInfo says which position holds which column. Each column's memoised parser
(cells.py) types and checks a cell with one dict lookup in the common case. Rows are
taken in batches of `BATCH`: a batch without any problem is checked and committed column
by column in C-level loops (validate_batch.py); a batch with a problem is halved until
the clean halves pass, and the rest is validated row by row here, which reports each
cell in row order and runs a row check or the key only when its inputs are valid.
Issues are built only below the cap (messages.py); above it problems are only counted.
Grain keys are recorded compactly as the rows stream (validate_batch.GrainKeys) and
repeats are found at the end of the file -- past `GrainKeys.CHUNK` keys through an
anonymous temporary file, the only file this module touches -- so that memory stays
flat at any length (unless rows are passed on to `on_row`: see `validate_rows`); the
`duplicate-key` issues are then merged into the others in row order, exactly where the
row path used to put them.

Valid rows flow on while the file is read: `on_batch` takes each clean batch as typed
columns (the ingest: no dict per row), `on_row` a dict a row. Only `on_row` holds back a
row that repeats an earlier row's key, for which it keeps every key in memory (see
`validate_rows`); a batch consumer takes repeats and waits for the report.
"""

from __future__ import annotations

import decimal
import functools
import heapq
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import Any

from contracts import cells
from contracts import expressions as E
from contracts.data import row_period
from contracts.headers import HeaderInfo, is_totals_row
from contracts.issues import Issue, Location
from contracts.messages import cell_message, show
from contracts.model import Column, Contract
from contracts.periods import Period
from contracts.rowcheck import RowCheck
from contracts.validate_batch import Batches, GrainKeys, Repeat

OnRow = Callable[[int, dict[str, Any]], None]
# (row numbers, typed columns in the contract's column order; None for an absent column)
OnBatch = Callable[[Sequence[int], list[list[Any]]], None]
BATCH = 256  # rows per batch: small enough to stay in the CPU cache
MIN_BATCH = 16  # a failing batch is halved down to this, then taken row by row


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one file; `to_dict()` is the JSON of DESIGN.md."""

    valid: bool  # no errors at all (warnings allowed)
    rows: int  # data rows seen (blank rows not counted)
    errors: tuple[Issue, ...]  # the first `limit_errors` errors of each code, in file order
    error_counts: dict[str, int]  # every error counted by code, uncapped
    totals: dict[str, Decimal]  # sum of each integer/decimal column over its valid cells
    sheet: str | None  # the worksheet read; None for csv
    file: str  # the file as the user named it
    sha256: str = ""  # SHA-256 of the file's bytes (set by the file reader)
    warnings: tuple[Issue, ...] = field(default=())  # e.g. header-unknown; not in to_dict

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "rows": self.rows,
            "errors": [_issue_dict(i) for i in self.errors],
            "error_counts": dict(self.error_counts),
            "totals": {k: str(v) for k, v in self.totals.items()},
            "file": self.file,
            "sha256": self.sha256,
        }

    @classmethod
    def refused(cls, file: str, sha256: str, issues: Iterable[Issue]) -> ValidationReport:
        """A file that could not be read at all (hostile, encrypted, no header...)."""
        errs = tuple(issues)
        counts: dict[str, int] = {}
        for i in errs:
            counts[i.code] = counts.get(i.code, 0) + 1
        return cls(False, 0, errs, counts, {}, None, file, sha256)


def _issue_dict(i: Issue) -> dict[str, Any]:
    loc = i.location
    return {
        "sheet": loc.sheet,
        "row": loc.row,
        "column": loc.field,
        "cell": loc.cell,
        "code": i.code,
        "message": i.message,
    }


def _comparable(a: Column, b: Column) -> bool:
    kinds = {"integer": "number", "decimal": "number", "date": "date", "month": "date"}
    return kinds.get(a.type, a.type) == kinds.get(b.type, "other")


def _getter(idxs: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """itemgetter that returns a tuple whatever the number of positions."""
    if len(idxs) == 1:
        i = idxs[0]
        return lambda t: (t[i],)
    return operator.itemgetter(*idxs)


class _Run:
    """One validation: the column plan (built once), counters, grain keys, sums."""

    def __init__(
        self,
        contract: Contract,
        header: HeaderInfo,
        period: Period | None,
        limit: int,
        on_row: OnRow | None,
        on_batch: OnBatch | None,
    ) -> None:
        of = contract.outcome_file
        self.header, self.period, self.limit = header, period, limit
        self.on_row, self.on_batch = on_row, on_batch
        self.passes = on_row is not None or on_batch is not None  # valid rows flow on
        self.columns = of.columns
        self.names = [c.name for c in of.columns]
        index = {n: i for i, n in enumerate(self.names)}
        self.present = [n in header.positions for n in self.names]

        def period_problem(value: Any) -> str | None:
            # Every row must name a period (the ledger files it under one), and lie in
            # the period asked for, if any.
            rp = row_period(value, contract)
            if rp is None:
                return "period-none"
            return "period-outside" if period is not None and not period.contains(rp) else None

        self.memos: list[Any] = [
            cells.Memo(
                cells.column_parser(c, period_problem if c.name == of.period_column else None),
                bools_matter=c.type != "boolean",
            )
            if ok
            else cells.Absent()
            for c, ok in zip(of.columns, self.present, strict=True)
        ]
        # csv holds only text; a spreadsheet cell may be TRUE/FALSE (see cells.Memo).
        self.bools = header.sheet is not None
        self.positions = [header.positions.get(n, 0) for n in self.names]
        self.width = max(self.positions) + 1
        self.refs = [
            (i, index[b], kind)
            for i, c in enumerate(of.columns)
            for kind, b in (("min", c.min), ("max", c.max))
            if isinstance(b, str)
            and b in index
            and self.present[i]
            and self.present[index[b]]
            and _comparable(c, of.columns[index[b]])
        ]
        self.grain = [index[g] for g in of.grain if g in index]
        self.grain_ok = bool(self.grain) and all(self.present[i] for i in self.grain)
        self.grain_key = _getter(self.grain or [0])
        self.numeric = [
            i
            for i, c in enumerate(of.columns)
            if self.present[i] and c.type in ("integer", "decimal")
        ]
        self.sums: list[Any] = [Decimal(0)] * len(self.numeric)
        # Exact sums: enough digits for any real total, and never a trap mid-file.
        self.sum_ctx = decimal.Context(
            prec=100, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[]
        )
        self.pick = _getter(self.positions)
        shown = [i for i in self.grain if not self.columns[i].pseudonymous]
        # Keys are remembered only to hold repeats back from on_row (not from on_batch).
        self.keys = GrainKeys(shown, remember=on_row is not None) if self.grain_ok else None
        self.shown_key = _getter(shown) if shown else (lambda typed: ())
        self.counts: dict[str, int] = {}
        self.issues: list[Issue] = [i for i in header.issues if i.severity == "error"]
        for i in self.issues:
            self.counts[i.code] = self.counts.get(i.code, 0) + 1
        self.first_row: dict[str, int] = {}  # code → the data row it first occurred in
        self.checks = self._checks(contract, index)

    def _checks(self, contract: Contract, index: dict[str, int]) -> list[tuple[Any, ...]]:
        types = {c.name: c.type for c in self.columns}
        out = []
        for rc in contract.outcome_file.row_checks:
            try:
                expr = E.parse(rc.check)
            except E.ExpressionError as exc:
                text = f"row check {rc.name} cannot be read: {exc}; fix the contract"
                self.add("row-check", None, None, functools.partial(str, text))
                continue
            involved = [index[n] for n in expr.names() if n in index]
            if all(self.present[i] for i in involved):
                out.append((rc, RowCheck(expr, self.names, types), involved))
        return out

    def add(self, code: str, row: int | None, col: int | None, message: Callable[[], str]) -> None:
        n = self.counts.get(code, 0) + 1
        self.counts[code] = n
        if n == 1 and row is not None:
            self.first_row[code] = row
        if n <= self.limit:
            self.issues.append(self.issue(code, row, col, message()))

    def issue(self, code: str, row: int | None, col: int | None, message: str) -> Issue:
        h = self.header
        name = self.names[col] if col is not None else None
        cell = h.cell(self.positions[col], row) if col is not None and row else None
        return Issue(
            code, message, Location(file=h.file, sheet=h.sheet, row=row, field=name, cell=cell)
        )

    # ---- row-level checks, shared by both paths -------------------------------------

    def refs_ok(self, row: int, typed: list[Any]) -> bool:
        ok = True
        for i, j, kind in self.refs:
            a, b = typed[i], typed[j]
            if a is None or b is None or type(a) is cells.Bad or type(b) is cells.Bad:
                continue
            if (a < b) if kind == "min" else (a > b):
                ok = False
                ci, cj = self.columns[i], self.columns[j]
                word = "below" if kind == "min" else "above"
                text = f"{ci.name} {show(ci, a)} is {word} {cj.name} {show(cj, b)}"
                self.add(f"range-{kind}", row, i, functools.partial(str, text))
        return ok

    def check_ok(self, row: int, typed: list[Any], rc: Any, check: RowCheck) -> bool:
        try:
            if check.holds(typed):
                return True
            why = None
        except E.ExpressionError as exc:
            why = str(exc)

        def message() -> str:
            if why is not None:
                return f"row check {rc.name} cannot be evaluated on this row: {why}"
            if rc.message:
                return str(rc.message)
            used = sorted(self.names.index(n) for n in check.expr.names() if n in self.names)
            shown = ", ".join(f"{self.names[i]} = {show(self.columns[i], typed[i])}" for i in used)
            return f"{check.expr.render()} does not hold ({shown})"

        self.add("row-check", row, None, message)
        return False

    def key_ok(self, row: int, typed: list[Any]) -> bool:
        """Record the row's key; False if it repeats a remembered key (reported at the end)."""
        assert self.keys is not None
        return self.keys.add_row(hash(self.grain_key(typed)), row, self.shown_key(typed))

    def duplicate(self, repeat: Repeat) -> Issue:
        row, first, values = repeat
        shown = iter(values)
        parts = ", ".join(
            self.names[i]
            if self.columns[i].pseudonymous
            else f"{self.names[i]} {show(self.columns[i], next(shown))}"
            for i in self.grain
        )
        return self.issue("duplicate-key", row, self.grain[0], f"same key ({parts}) as row {first}")

    def merge_duplicates(self) -> None:
        """Count the rows that repeat a key and put the first `limit` in row order.

        A row's other issues come before its key's, as the row path finds them; the code
        takes its place in `counts` where its first occurrence puts it.
        """
        if self.keys is None:
            return
        # At least one repeat, for the place of the code in `counts` even with no issues.
        count, repeats = self.keys.repeats(max(self.limit, 1))
        if not count:
            return
        dups = [self.duplicate(r) for r in repeats[: max(self.limit, 0)]]
        # Both in row order (file-level issues, without a row, first); on a tie the
        # row's other issues come first, as merge is stable.
        self.issues = list(heapq.merge(self.issues, dups, key=lambda i: i.location.row or 0))
        first = repeats[0][0]
        counts: dict[str, int] = {}
        for code, n in self.counts.items():
            if "duplicate-key" not in counts and self.first_row.get(code, 0) > first:
                counts["duplicate-key"] = count
            counts[code] = n
        counts.setdefault("duplicate-key", count)
        self.counts = counts

    def pass_on(self, numbers: Sequence[int], cols: list[list[Any]]) -> None:
        """Hand clean rows on, in file order: as columns, or as a dict a row."""
        if self.on_batch is not None:
            self.on_batch(numbers, cols)
        elif self.on_row is not None:
            names = self.names
            for number, row in zip(numbers, zip(*cols, strict=True), strict=True):
                self.on_row(number, dict(zip(names, row, strict=True)))

    # ---- one row at a time: batches that hold a problem -------------------------------

    def row(self, number: int, raw: Sequence[Any]) -> int:
        """Validate one row; 0 if it is blank (not counted), else 1."""
        try:
            vals = self.pick(raw)
        except IndexError:  # a short row: the missing cells are empty
            vals = self.pick([*raw, *[""] * self.width])
        typed: list[Any] = list(map(operator.getitem, self.memos, vals))
        if self.bools and bool in map(type, vals):
            typed = [
                m.parse(v) if type(v) is bool and m.bools_matter else t
                for m, v, t in zip(self.memos, vals, typed, strict=True)
            ]
        Bad = cells.Bad
        first = raw[0] if raw else None
        if (first is None or first == "" or type(first) is str) and _blank(raw):
            return 0
        if is_totals_row(first):
            self.add(
                "totals-row",
                number,
                None,
                lambda: (
                    f"this looks like a totals row ({str(first).strip()!r}); remove it, totals "
                    "are computed from the rows"
                ),
            )
            return 1
        for i, v in enumerate(typed):
            if type(v) is Bad:
                message = functools.partial(cell_message, self.columns[i], vals[i], v, self.period)
                self.add(v.code, number, i, message)
        ok = self.refs_ok(number, typed)
        for rc, check, involved in self.checks:
            if all(type(typed[i]) is not Bad for i in involved):
                ok = self.check_ok(number, typed, rc, check) and ok
        if self.grain_ok and all(type(typed[i]) is not Bad for i in self.grain):
            ok = self.key_ok(number, typed) and ok
        for k, i in enumerate(self.numeric):
            if typed[i] is not None and type(typed[i]) is not Bad:
                self.sums[k] = self.sum_ctx.add(self.sums[k], typed[i])
        if ok and self.passes and Bad not in map(type, typed):
            self.pass_on((number,), [[v] for v in typed])
        return 1

    def report(self, rows: int) -> ValidationReport:
        self.merge_duplicates()
        totals = {self.names[i]: Decimal(s) for i, s in zip(self.numeric, self.sums, strict=True)}
        warnings = tuple(i for i in self.header.issues if i.severity == "warning")
        return ValidationReport(
            not self.counts,
            rows,
            tuple(self.issues),
            dict(self.counts),
            totals,
            self.header.sheet,
            self.header.file,
            "",
            warnings,
        )


def _blank(raw: Sequence[Any]) -> bool:
    return all(v is None or (type(v) is str and not v.strip()) for v in raw)


def validate_rows(
    contract: Contract,
    header_info: HeaderInfo,
    raw_rows: Iterable[tuple[int, list[Any]]],
    *,
    period: Period | None,
    limit_errors: int = 100,
    on_row: OnRow | None = None,
    on_batch: OnBatch | None = None,
) -> ValidationReport:
    """Validate the rows after the header; pass the rows without errors on as they go.

    Rows stream: `on_batch` (or `on_row`; at most one of them) sees a row as soon as its
    batch is checked, before later rows are read, so a consumer that must take all or
    nothing (the ingest) keeps the rows until the report says `valid`: whether the file
    is valid is known only from the report. Missing required columns: no row is passed
    on. Rows come in file order; `on_batch` gets a batch as its row numbers and typed
    columns (the lists are the validator's: read them, do not keep or change them).

    Memory stays flat at any length without `on_row`, and with `on_batch`, which may
    therefore be given a row that repeats an earlier row's key (every repeat is reported,
    at the end: the file is then invalid). With `on_row`, the grain keys of the rows are
    also remembered in a set (~70 bytes a row), so that no row repeating an earlier row's
    key is ever passed on; setting `GrainKeys.WINDOW` bounds that set, and a repeat of a
    key further back is then passed on and found only at the end, in the report.
    """
    if on_row is not None and on_batch is not None:
        raise ValueError("give on_row or on_batch, not both")
    if any(i.severity == "error" for i in header_info.issues):
        # The rows lack a column; nothing downstream may take them.
        on_row = on_batch = None
    run = _Run(contract, header_info, period, limit_errors, on_row, on_batch)
    fast = Batches(run)

    def take(batch: list[tuple[int, list[Any]]]) -> int:
        if fast.commit(batch):
            return len(batch)
        if len(batch) > MIN_BATCH:  # halve, so that clean stretches stay on the fast path
            half = len(batch) // 2
            return take(batch[:half]) + take(batch[half:])
        return sum(run.row(number, raw) for number, raw in batch)

    try:
        rows = 0
        it = iter(raw_rows)
        while batch := list(islice(it, BATCH)):
            rows += take(batch)
        return run.report(rows)
    finally:
        if run.keys is not None:
            run.keys.close()  # the spill file, if any
