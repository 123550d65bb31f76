"""Settlement periods: months, quarters, school terms and explicit date ranges.

Identifiers are what people write: `2025-03`, `2025-Q1`, `HT2025` (autumn term,
August–December), `VT2026` (spring term, January–June), or a name the contract gives
an explicit range. A period knows its first and last day; everything else (which rows
belong to it, which period a year earlier matches it) is derived from those dates.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

PeriodKind = Literal["month", "quarter", "school_term", "year", "explicit"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_TERM = re.compile(r"^(HT|VT)\s?(\d{4})$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, order=True)
class Period:
    """A closed range of days with the identifier people use for it."""

    start: date  # first day, inclusive
    end: date  # last day, inclusive
    id: str  # `2025-Q1`, `HT2025`, `2025-03`, or an explicit name
    kind: PeriodKind = "explicit"  # how the identifier was formed

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def contains_date(self, day: date) -> bool:
        return self.start <= day <= self.end

    def shifted_years(self, years: int) -> Period:
        """The same period `years` later (negative: earlier), e.g. 2025-Q1 → 2024-Q1."""
        if self.kind == "explicit":
            return Period(
                _shift(self.start, years), _shift(self.end, years), f"{self.id}{years:+d}y"
            )
        shifted = parse_period(_shift_id(self.id, self.kind, years))
        assert shifted is not None
        return shifted


def _shift(day: date, years: int) -> date:
    # 29 February a year away becomes 28 February, the last day of that month.
    last = calendar.monthrange(day.year + years, day.month)[1]
    return date(day.year + years, day.month, min(day.day, last))


def _shift_id(pid: str, kind: PeriodKind, years: int) -> str:
    p = parse_period(pid)
    assert p is not None
    y = p.start.year + years
    if kind == "month":
        return f"{y:04d}-{p.start.month:02d}"
    if kind == "quarter":
        return f"{y:04d}-Q{(p.start.month - 1) // 3 + 1}"
    if kind == "school_term":
        return f"{'HT' if p.start.month == 8 else 'VT'}{y:04d}"
    return f"{y:04d}"


def month(year: int, m: int) -> Period:
    last = calendar.monthrange(year, m)[1]
    return Period(date(year, m, 1), date(year, m, last), f"{year:04d}-{m:02d}", "month")


def quarter(year: int, q: int) -> Period:
    first = 3 * (q - 1) + 1
    last = calendar.monthrange(year, first + 2)[1]
    return Period(date(year, first, 1), date(year, first + 2, last), f"{year:04d}-Q{q}", "quarter")


def school_term(half: str, year: int) -> Period:
    if half.upper() == "HT":
        return Period(date(year, 8, 1), date(year, 12, 31), f"HT{year:04d}", "school_term")
    return Period(date(year, 1, 1), date(year, 6, 30), f"VT{year:04d}", "school_term")


def parse_period(text: str) -> Period | None:
    """Parse a standard identifier; None when the text is not one."""
    text = text.strip()
    if m := _MONTH.match(text):
        y, mo = int(m[1]), int(m[2])
        return month(y, mo) if 1 <= mo <= 12 and y >= 1900 else None
    if m := _QUARTER.match(text):
        return quarter(int(m[1]), int(m[2]))
    if m := _TERM.match(text):
        return school_term(m[1], int(m[2]))
    if m := _YEAR.match(text):
        y = int(m[1])
        return Period(date(y, 1, 1), date(y, 12, 31), f"{y:04d}", "year") if y >= 1900 else None
    return None


def generate(kind: PeriodKind, start: date, end: date) -> tuple[Period, ...]:
    """The standard periods of `kind` that overlap the term [start, end].

    A term that starts or ends inside a period still settles that whole period; the
    contract check reports such a term so the officer sees it (see checks.py).
    """
    out: list[Period] = []
    if kind == "month":
        y, m = start.year, start.month
        while date(y, m, 1) <= end:
            out.append(month(y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    elif kind == "quarter":
        y, q = start.year, (start.month - 1) // 3 + 1
        while quarter(y, q).start <= end:
            out.append(quarter(y, q))
            y, q = (y + 1, 1) if q == 4 else (y, q + 1)
    elif kind == "school_term":
        for y in range(start.year, end.year + 1):
            for p in (school_term("VT", y), school_term("HT", y)):
                if p.end >= start and p.start <= end:
                    out.append(p)
    elif kind == "year":
        for y in range(start.year, end.year + 1):
            out.append(Period(date(y, 1, 1), date(y, 12, 31), f"{y:04d}", "year"))
    return tuple(out)


def find(periods: Sequence[Period], pid: str) -> Period | None:
    """Look a period up by identifier, accepting `2025q1` for `2025-Q1` and `ht2025`."""
    for p in periods:
        if p.id == pid:
            return p
    parsed = parse_period(pid)
    if parsed is not None:
        for p in periods:
            if p.id == parsed.id:
                return p
    return None
