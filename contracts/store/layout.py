"""The fixed wide row layout: a contract's outcome columns mapped to typed slots.

Problem: outcome rows must be stored fast (a million rows per file, on SQLite and on
PostgreSQL), read back with their exact types, and summed exactly by the database --
for any contract, whose columns differ, without a schema change per contract.

Approach: one table with typed slots -- `n0..n11` BIGINT for integer and decimal
columns, `t0..t7` TEXT for text and enum, `d0..d3` DATE for date and month, `b0..b3`
BOOLEAN -- beside the fixed columns (period_start/period_end of the row's period, the
participant and a canonical grain key). Numbers are stored as integers in millionths
(`MICRO` units): SUM over BIGINT is exact on both databases, where SQLite's NUMERIC is
a float. A decimal with more than six places cannot be stored exactly and is refused.

`plan(contract)` assigns slots in column order, deterministically, and the result is
stored as JSON with the contract version, so rows are always decoded with the layout
they were written with, whatever amendments come later. `Encoder` turns a typed row
into a slot tuple (memoised per distinct value: outcome columns repeat heavily);
`Decoder` does the reverse. This module is pure: no database import.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.data import row_period
from contracts.issues import Issue, Location
from contracts.model import Contract

MICRO = 1_000_000
PLACES = 6
SLOTS = {"n": 12, "t": 8, "d": 4, "b": 4}
KIND = {
    "integer": "n",
    "decimal": "n",
    "text": "t",
    "enum": "t",
    "date": "d",
    "month": "d",
    "boolean": "b",
}
FIXED = ("row_number", "period_start", "period_end", "participant", "grain")
SLOT_NAMES = tuple(f"{k}{i}" for k, n in SLOTS.items() for i in range(n))
GRAIN_SEPARATOR = "\x1f"  # ASCII unit separator: never part of a cell a reader accepts


@dataclass(frozen=True)
class Layout:
    """Where each outcome column lives in `outcome_row`, and what identifies a row."""

    columns: tuple[tuple[str, str, str], ...]  # (column name, column type, slot) in file order
    grain: tuple[str, ...]  # the grain columns
    period_column: str  # the column naming the row's period
    participant: str | None  # the participant column, if any

    def to_json(self) -> str:
        return json.dumps(
            {
                "columns": [list(c) for c in self.columns],
                "grain": list(self.grain),
                "period_column": self.period_column,
                "participant": self.participant,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Layout:
        d = json.loads(text)
        return cls(
            tuple((n, t, s) for n, t, s in d["columns"]),
            tuple(d["grain"]),
            d["period_column"],
            d["participant"],
        )

    def slot(self, column: str) -> str:
        return next(s for n, _, s in self.columns if n == column)


def plan(contract: Contract) -> tuple[Layout | None, list[Issue]]:
    """Assign slots to the contract's outcome columns; too many of a kind is an issue."""
    of = contract.outcome_file
    used = dict.fromkeys(SLOTS, 0)
    columns: list[tuple[str, str, str]] = []
    for c in of.columns:
        k = KIND[c.type]
        columns.append((c.name, c.type, f"{k}{used[k]}"))
        used[k] += 1
    issues = []
    for k, n in used.items():
        if n > SLOTS[k]:
            types = ", ".join(t for t, kk in KIND.items() if kk == k)
            issues.append(
                Issue(
                    "layout-too-many-columns",
                    f"the outcome file has {n} columns of type {types}; the ledger stores at "
                    f"most {SLOTS[k]} of them per row",
                    Location(path="outcome_file.columns"),
                )
            )
    if issues:
        return None, issues
    layout = Layout(tuple(columns), of.grain, of.period_column, of.participant_column)
    return layout, []


class TooPrecise(Exception):
    """A number the ledger cannot hold exactly: too many places, or too large."""

    def __init__(self, column: str, value: Decimal | int, reason: str) -> None:
        super().__init__(column, value, reason)
        self.column, self.value, self.reason = column, value, reason


LIMIT = 2**63 // MICRO  # BIGINT in millionths holds numbers below about 9.2 × 10^12


def to_micro(value: Decimal | int) -> int:
    """`value` in millionths, exactly; ValueError says why it cannot be."""
    if isinstance(value, int):
        if abs(value) >= LIMIT:
            raise ValueError(f"is {LIMIT} or more")
        return value * MICRO
    if abs(value) >= LIMIT:
        raise ValueError(f"is {LIMIT} or more")
    scaled = value.scaleb(PLACES)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"has more than {PLACES} decimal places")
    return int(scaled)


def from_micro(units: int, integer: bool) -> Decimal | int:
    q, r = divmod(units, MICRO)
    if integer:
        return q
    if r == 0:
        return Decimal(q)
    return Decimal(units).scaleb(-PLACES).normalize()


def _key_text(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is bool:
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 1.50 and 1.5 are one key
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Memo(dict[Any, Any]):
    """value → converted value, computed once per distinct value (one C lookup after)."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, value: Any) -> Any:
        if len(self) > MEMO_LIMIT:
            self.clear()
        out = self[value] = self.convert(value)
        return out


MEMO_LIMIT = 20_000


def _getter(names: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return operator.itemgetter(*names)


class Encoder:
    """Typed row (dict) → the values of `columns` (FIXED without the submission id, then
    the slots this layout uses), ready for the driver.

    `dates` converts a date for the driver (ISO text for sqlite3, itself for psycopg).
    Every conversion is memoised per distinct value, so a row costs a few C-level
    lookups; TooPrecise comes out of `encode` for a number the ledger cannot hold.
    """

    def __init__(self, contract: Contract, layout: Layout, dates: Callable[[date], Any]) -> None:
        self.contract, self.layout, self.dates = contract, layout, dates
        self.columns = FIXED + tuple(s for _, _, s in layout.columns)
        self._values = _getter([n for n, _, _ in layout.columns])
        self._memos = [_Memo(self._converter(n, t)) for n, t, _ in layout.columns]
        self._key = _getter(list(layout.grain)) if layout.grain else None
        self._key_memos = [_Memo(_key_text) for _ in layout.grain]
        self._period = _Memo(self._span)
        self._who = _Memo(lambda v: None if v is None else str(v))
        self._period_col, self._participant = layout.period_column, layout.participant

    def _converter(self, name: str, kind: str) -> Callable[[Any], Any]:
        def convert(value: Any) -> Any:
            if value is None:
                return None
            if kind in ("integer", "decimal"):
                try:
                    return to_micro(value)
                except ValueError as exc:
                    raise TooPrecise(name, value, str(exc)) from None
            if kind in ("date", "month"):
                return self.dates(value)
            return value

        return convert

    def _span(self, value: Any) -> tuple[Any, Any]:
        rp = row_period(value, self.contract)
        if rp is None:
            raise ValueError(f"{self._period_col} {value!r} names no period")
        return self.dates(rp.start), self.dates(rp.end)

    def encode(self, number: int, row: dict[str, Any]) -> tuple[Any, ...]:
        """The values of one row in `self.columns` order, without the submission id."""
        start, end = self._period[row[self._period_col]]
        grain = (
            GRAIN_SEPARATOR.join(map(operator.getitem, self._key_memos, self._key(row)))
            if self._key is not None
            else str(number)
        )
        who = self._who[row[self._participant]] if self._participant else None
        return (
            number,
            start,
            end,
            who,
            grain,
            *map(operator.getitem, self._memos, self._values(row)),
        )


class Decoder:
    """Slot values (a row of `outcome_row` from `SLOT_NAMES` on) → typed row dict."""

    def __init__(self, layout: Layout) -> None:
        names = {s: i for i, s in enumerate(SLOT_NAMES)}
        self.plan = [(n, t, names[s]) for n, t, s in layout.columns]

    def decode(self, slots: tuple[Any, ...]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, kind, i in self.plan:
            v = slots[i]
            if v is not None:
                if kind in ("integer", "decimal"):
                    v = from_micro(v, kind == "integer")
                elif kind in ("date", "month") and isinstance(v, str):
                    v = date.fromisoformat(v)
                elif kind == "boolean":
                    v = bool(v)
            row[name] = v
        return row
