"""Validating outcome rows against the contract's outcome-file schema: the pure core.

Problem: every problem in a file of up to a million rows must be found and located
(sheet, row, column, cell), capped per code so that a disaster stays readable, counted
in full, and valid rows must flow on, typed, to the settlement engine or the ingest --
while validation costs a small multiple of merely reading the file.

Approach: rows arrive as (row number, raw values) from the reader (outcome_sheet.py) and
a HeaderInfo says which position holds which column. Each column's memoised parser
(cells.py) types and checks a cell with one dict lookup in the common case. A row
without a bad cell takes the fast path, written with C-level building blocks (map,
itemgetter, list membership by type): bounds that name another column, row checks
(compiled, rowcheck.py), the grain key, totals and `on_row`. A row with a bad cell takes
the careful path (messages.py builds its Issues), which reports each cell and runs only
the checks whose inputs are valid. Issues are built only below the cap; above it
problems are only counted.
"""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contracts import cells
from contracts import expressions as E
from contracts.data import row_period
from contracts.headers import HeaderInfo, normalise
from contracts.issues import Issue, Location
from contracts.messages import cell_message, show
from contracts.model import Column, Contract
from contracts.periods import Period
from contracts.rowcheck import RowCheck

OnRow = Callable[[int, dict[str, Any]], None]
_TOTALS_WORDS = frozenset({"summa", "totalt", "total", "totalsumma", "summatotalt", "sum",
                           "grandtotal", "totals", "summa:", "totalt:", "total:", "sum:"})
_FLUSH = 4096  # rows of numbers gathered before they are added up
_NONE = type(None)


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
    return {"sheet": loc.sheet, "row": loc.row, "column": loc.field, "cell": loc.cell,
            "code": i.code, "message": i.message}


def is_totals_row(first: Any) -> bool:
    return type(first) is str and normalise(first) in _TOTALS_WORDS


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
    """One validation: the column plan (built once), counters, seen keys, sums."""

    def __init__(self, contract: Contract, header: HeaderInfo, period: Period | None,
                 limit: int) -> None:
        of = contract.outcome_file
        self.header, self.period, self.limit = header, period, limit
        self.columns = of.columns
        self.names = [c.name for c in of.columns]
        index = {n: i for i, n in enumerate(self.names)}
        self.present = [n in header.positions for n in self.names]

        def in_period(value: Any) -> bool:
            rp = row_period(value, contract)
            return period is not None and rp is not None and period.contains(rp)

        self.memos: list[Any] = [
            cells.Memo(cells.column_parser(
                c, in_period if period is not None and c.name == of.period_column else None))
            if ok else cells.Absent()
            for c, ok in zip(of.columns, self.present, strict=True)
        ]
        self.positions = [header.positions.get(n, 0) for n in self.names]
        self.width = max(self.positions) + 1
        self.refs = [(i, index[b], kind) for i, c in enumerate(of.columns)
                     for kind, b in (("min", c.min), ("max", c.max))
                     if isinstance(b, str) and b in index and self.present[i]
                     and self.present[index[b]] and _comparable(c, of.columns[index[b]])]
        self.grain = [index[g] for g in of.grain if g in index]
        self.grain_ok = bool(self.grain) and all(self.present[i] for i in self.grain)
        self.grain_key = _getter(self.grain or [0])
        self.numeric = [i for i, c in enumerate(of.columns)
                        if self.present[i] and c.type in ("integer", "decimal")]
        self.sums: list[Any] = [Decimal(0)] * len(self.numeric)
        self.pending: list[tuple[Any, ...]] = []
        self.seen: dict[int, int] = {}
        self.counts: dict[str, int] = {}
        self.issues: list[Issue] = [i for i in header.issues if i.severity == "error"]
        for i in self.issues:
            self.counts[i.code] = self.counts.get(i.code, 0) + 1
        self.checks = self._checks(contract, index)

    def _checks(self, contract: Contract, index: dict[str, int]) -> list[tuple[Any, ...]]:
        types = {c.name: c.type for c in self.columns}
        out = []
        for rc in contract.outcome_file.row_checks:
            try:
                expr = E.parse(rc.check)
            except E.ExpressionError as exc:
                self.add("row-check", None, None, lambda rc=rc, exc=exc:
                         f"row check {rc.name} cannot be read: {exc}; fix the contract")
                continue
            involved = [index[n] for n in expr.names() if n in index]
            if all(self.present[i] for i in involved):
                check = RowCheck(expr, self.names, types)
                out.append((rc, check, involved, check.fast))
        return out

    def add(self, code: str, row: int | None, col: int | None,
            message: Callable[[], str]) -> None:
        n = self.counts.get(code, 0) + 1
        self.counts[code] = n
        if n <= self.limit:
            h = self.header
            name = self.names[col] if col is not None else None
            cell = h.cell(self.positions[col], row) if col is not None and row else None
            self.issues.append(Issue(code, message(), Location(
                file=h.file, sheet=h.sheet, row=row, field=name, cell=cell)))

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
                self.add(f"range-{kind}", row, i, lambda a=a, b=b, ci=ci, cj=cj, w=word:
                         f"{ci.name} {show(ci, a)} is {w} {cj.name} {show(cj, b)}")
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
            shown = ", ".join(f"{self.names[i]} = {show(self.columns[i], typed[i])}"
                              for i in used)
            return f"{check.expr.render()} does not hold ({shown})"

        self.add("row-check", row, None, message)
        return False

    def key_ok(self, row: int, typed: list[Any]) -> bool:
        # A hash per key, not the key: 1M rows cost ~100 MB less; a 64-bit collision
        # among a million keys (p ≈ 3e-8) would at worst report a false duplicate.
        first = self.seen.setdefault(hash(self.grain_key(typed)), row)
        if first != row:
            self.duplicate(row, typed, first)
        return first == row

    def duplicate(self, row: int, typed: list[Any], first: int) -> None:
        parts = ", ".join(self.names[i] if self.columns[i].pseudonymous else
                          f"{self.names[i]} {show(self.columns[i], typed[i])}"
                          for i in self.grain)
        self.add("duplicate-key", row, self.grain[0],
                 lambda: f"same key ({parts}) as row {first}")

    # ---- the careful path and the end -------------------------------------------------

    def bad_row(self, row: int, vals: Sequence[Any], typed: list[Any]) -> None:
        Bad = cells.Bad
        for i, v in enumerate(typed):
            if type(v) is Bad:
                col, raw = self.columns[i], vals[i]
                self.add(v.code, row, i, lambda c=col, r=raw, b=v: cell_message(
                    c, r, b, self.period))
        self.refs_ok(row, typed)
        for rc, check, involved, _ in self.checks:
            if all(type(typed[i]) is not Bad for i in involved):
                self.check_ok(row, typed, rc, check)
        if self.grain_ok and all(type(typed[i]) is not Bad for i in self.grain):
            self.key_ok(row, typed)
        self.pending.append(tuple(None if type(typed[i]) is Bad else typed[i]
                                  for i in self.numeric))

    def flush(self) -> None:
        """Add up the gathered numbers exactly (filter(None) drops empties and zeros)."""
        if not self.numeric:
            self.pending.clear()
            return
        ctx = decimal.Context(prec=100, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                              traps=[])
        with decimal.localcontext(ctx):
            for k, col in enumerate(zip(*self.pending, strict=True)):
                self.sums[k] = sum(filter(None, col), self.sums[k])
        self.pending.clear()

    def report(self, rows: int) -> ValidationReport:
        self.flush()
        totals = {self.names[i]: Decimal(s) for i, s in zip(self.numeric, self.sums, strict=True)}
        warnings = tuple(i for i in self.header.issues if i.severity == "warning")
        return ValidationReport(not self.counts, rows, tuple(self.issues), dict(self.counts),
                                totals, self.header.sheet, self.header.file, "", warnings)


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
) -> ValidationReport:
    """Validate the rows after the header; call `on_row` for each row without errors."""
    run = _Run(contract, header_info, period, limit_errors)
    if any(i.severity == "error" for i in header_info.issues):
        on_row = None  # the rows lack a column; nothing downstream may take them
    memos, names, getitem = run.memos, run.names, operator.getitem
    Bad, NoneType, ncols = cells.Bad, _NONE, len(names)
    # Columns in contract order from the first position: the row itself is the values.
    pick = None if run.positions == list(range(ncols)) else _getter(run.positions)
    # Bounds naming a required column never meet an empty value on the fast path, so
    # they can be compared in C; the others go through refs_ok.
    required = {i for i, c in enumerate(run.columns) if c.required}
    simple = [(i, j, k) for i, j, k in run.refs if i in required and j in required]
    lows = [(i, j) for i, j, k in simple if k == "min"]
    highs = [(i, j) for i, j, k in simple if k == "max"]
    low_a, low_b = _getter([i for i, _ in lows] or [0]), _getter([j for _, j in lows] or [0])
    high_a, high_b = _getter([i for i, _ in highs] or [0]), _getter([j for _, j in highs] or [0])
    other_refs = len(simple) < len(run.refs)
    lt, gt = operator.lt, operator.gt
    checks, grain_ok, grain_key, seen = run.checks, run.grain_ok, run.grain_key, run.seen
    numbers, pending = _getter(run.numeric or [0]), run.pending
    rows = 0
    for number, raw in raw_rows:
        if pick is None:
            typed = list(map(getitem, memos, raw))
            if len(typed) < ncols:  # a short row: the missing cells are empty
                typed = list(map(getitem, memos, [*raw, *[""] * ncols]))
            vals: Sequence[Any] = raw
        else:
            try:
                vals = pick(raw)
            except IndexError:
                vals = pick([*raw, *[""] * run.width])
            typed = list(map(getitem, memos, vals))
        types = list(map(type, typed))
        if types.count(NoneType) == ncols or (Bad in types and all(
                v is None or v is cells.REQUIRED for v in typed)):
            if _blank(raw):
                continue
        rows += 1
        first = raw[0] if raw else None
        if type(first) is str and first[:1] in "SsTtGg" and is_totals_row(first):
            run.add("totals-row", number, None, lambda f=first.strip(): (
                f"this looks like a totals row ({f!r}); remove it, totals are computed "
                "from the rows"))
            continue
        if Bad in types:
            run.bad_row(number, vals, typed)
        else:  # the fast path: every cell is valid
            ok = True
            if (lows and True in map(lt, low_a(typed), low_b(typed))) or (
                    highs and True in map(gt, high_a(typed), high_b(typed))) or other_refs:
                ok = run.refs_ok(number, typed)
            for rc, check, _, fast in checks:
                try:
                    holds = fast(typed) is True if fast is not None else check.holds(typed)
                except (decimal.DecimalException, E.ExpressionError):
                    holds = False
                if not holds:
                    ok = run.check_ok(number, typed, rc, check) and ok
            if grain_ok:
                seen_at = seen.setdefault(hash(grain_key(typed)), number)
                if seen_at != number:
                    run.duplicate(number, typed, seen_at)
                    ok = False
            pending.append(numbers(typed))
            if ok and on_row is not None:
                on_row(number, dict(zip(names, typed, strict=True)))
        if len(pending) >= _FLUSH:
            run.flush()
    return run.report(rows)
