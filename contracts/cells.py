"""Typing one outcome-file cell, fast: a parser per column, memoised by raw value.

Problem: a quarterly file has up to a million rows of seven columns, and every cell must
be typed and checked (type, required, enum, constant range, period, personnummer) with
Swedish conventions: decimal comma, space or no-break-space thousands, `1.234,50`, Excel
serial dates, error values such as `#N/A`.

Approach: `column_parser(column, ...)` returns a `Memo` -- a dict from raw value to the
typed result whose `__missing__` runs the full parse once per distinct raw value. Outcome
columns repeat heavily (units, months, groups, hours), so most cells cost one dict lookup
in C; the memo is cleared when it grows past `MEMO_LIMIT`, which bounds memory and adapts
to files sorted by participant. A parse never raises: a problem is a `Bad` record (code
plus what the message needs), so validation can count problems without building Issues.
Every check whose answer depends on the cell alone is folded into the parser, so it is
memoised too; checks against another column of the row are left to validate.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts import personnummer
from contracts.model import Column

MEMO_LIMIT = 20_000
EXCEL_ERRORS = frozenset(
    {
        "#N/A",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#UNKNOWN!",
        "#CONNECT!",
        "#BUSY!",
    }
)


class Bad:
    """A cell that failed: the code, and the figures its message needs."""

    __slots__ = ("bound", "code", "value")

    def __init__(self, code: str, value: Any = None, bound: Any = None) -> None:
        self.code = code  # stable issue code, e.g. `cell-type`
        self.value = value  # the typed value, when the problem is with a valid value
        self.bound = bound  # the limit it broke (range-min / range-max)


class CellError:
    """An Excel error value that the reader found in the workbook XML (`#DIV/0!`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellError) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("CellError", self.text))


class FormulaNoValue:
    """A formula cell saved without its computed value (written by a program, not Excel)."""

    __slots__ = ()


FORMULA_NO_VALUE = FormulaNoValue()
TYPE = Bad("cell-type")
AMBIGUOUS = Bad("cell-ambiguous")
ENUM = Bad("enum-value")
REQUIRED = Bad("required")
ERROR = Bad("cell-error")
FORMULA = Bad("formula-no-value")
PERSONNUMMER = Bad("personnummer")

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SPACE_GROUPS = re.compile(r"[+-]?\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?")
_COMMA_DECIMAL = re.compile(r"[+-]?\d+,\d+")
_COMMA_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")
_DOT_GROUPS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?")
_COMMA_GROUPS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_TRUE = frozenset({"true", "yes", "ja", "sant", "1", "x"})
_FALSE = frozenset({"false", "no", "nej", "falskt", "0"})
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 61 is 1 March 1900 counted from here
_MAX_SERIAL = 2_958_465  # 9999-12-31


def number_text(s: str) -> Decimal | Bad:
    """A number written as text, in any unambiguous Swedish or English form.

    `1 234,50`, `1234,5`, `1.234,50`, `1,234.50`, `1,234,567` are accepted; `1,234` is
    refused as ambiguous (1.234 with a decimal comma, or 1234 with a thousands comma).
    `1.234` is the plain decimal 1.234, as every csv writer with a decimal point means it.
    """
    if _PLAIN.fullmatch(s):
        return Decimal(s)
    s = s.replace("\u2212", "-")  # the typographic minus sign Swedish Word/Excel may use
    if _PLAIN.fullmatch(s):
        return Decimal(s)
    if _SPACE_GROUPS.fullmatch(s):
        return Decimal(re.sub(r"[ \u00a0\u202f]", "", s).replace(",", "."))
    if _COMMA_DECIMAL.fullmatch(s):
        if _COMMA_AMBIGUOUS.fullmatch(s):
            return AMBIGUOUS
        return Decimal(s.replace(",", "."))
    if _DOT_GROUPS.fullmatch(s):
        return Decimal(s.replace(".", "").replace(",", "."))
    if _COMMA_GROUPS.fullmatch(s):
        return Decimal(s.replace(",", ""))
    return TYPE


def excel_serial(x: float | int) -> date | None:
    """The date of a whole Excel serial number (1900 system), None if it is not one."""
    if x != int(x) or not 1 <= x <= _MAX_SERIAL:
        return None
    n = int(x)
    if n < 61:
        # Excel counts a 29 February 1900 that never was; before it, days are one off.
        return None if n == 60 else _EXCEL_EPOCH + timedelta(days=n + 1)
    return _EXCEL_EPOCH + timedelta(days=n)


def canonical(d: Decimal) -> Decimal:
    """The one written form of a number: `160` for 160.0 and 160,00, `12.5` for 12,50.

    A value reads the same from any file and from the ledger (which keeps no trailing
    zeros), so a settlement's explanation does not depend on how the provider typed it.
    """
    return Decimal(int(d)) if d == d.to_integral_value() else d.normalize()


def _decimal(raw: Any) -> Decimal | Bad:
    t = type(raw)
    if t is str:
        d = number_text(raw)
        # Only text with trailing zeros after a separator needs rewriting (cheap to test).
        if raw[-1:] == "0" and not isinstance(d, Bad) and d.as_tuple().exponent < 0:  # type: ignore[operator]
            return canonical(d)
        return d
    if t is float:
        # A spreadsheet stores doubles; repr gives the shortest text that reads back as
        # the same double, which is the number the provider typed. Never float arithmetic.
        if raw.is_integer():
            return Decimal(int(raw))
        return (
            Decimal(repr(raw)) if raw == raw and raw not in (float("inf"), float("-inf")) else TYPE
        )
    if t is int:
        return Decimal(raw)
    return TYPE


def _integer(raw: Any) -> int | Bad:
    d = _decimal(raw)
    if isinstance(d, Bad):
        return d
    return int(d) if d == d.to_integral_value() else TYPE


def _text(raw: Any) -> str | Bad:
    t = type(raw)
    if t is str:
        return raw
    if t is float:
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if t is int:
        return str(raw)
    return TYPE


def _date(raw: Any) -> date | Bad:
    t = type(raw)
    if t is date:
        return raw
    if t is datetime:
        return raw.date() if raw.time() == datetime.min.time() else TYPE
    if t is str:
        m = _ISO_DATE.fullmatch(raw)
        if m is None:
            return TYPE
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return TYPE
    if t is float or t is int:
        d = excel_serial(raw)
        return TYPE if d is None else d
    return TYPE


def _month(raw: Any) -> date | Bad:
    if type(raw) is str and (m := _ISO_MONTH.fullmatch(raw)):
        y, mo = int(m[1]), int(m[2])
        return date(y, mo, 1) if 1 <= mo <= 12 and y >= 1 else TYPE
    if type(raw) is datetime:
        raw = raw.date()  # a month column takes the month of any moment in it
    d = _date(raw)
    return d if isinstance(d, Bad) else d.replace(day=1)


def _boolean(raw: Any) -> bool | Bad:
    t = type(raw)
    if t is bool:
        return raw
    if t is str:
        low = raw.lower()
        return True if low in _TRUE else False if low in _FALSE else TYPE
    if (t is float or t is int) and raw in (0, 1):
        return raw == 1
    return TYPE


def _enum(values: tuple[str, ...]) -> Callable[[Any], str | Bad]:
    exact = set(values)
    lower: dict[str, str] = {}
    for v in values:
        lower[v.casefold()] = v if v.casefold() not in lower else ""  # "" marks a clash
    lower = {k: v for k, v in lower.items() if v}

    def parse(raw: Any) -> str | Bad:
        text = _text(raw)
        if isinstance(text, Bad):
            return text
        if text in exact:
            return text
        # `Intervention` for `intervention` is unambiguous; return the contract's spelling.
        return lower.get(text.casefold(), ENUM)

    return parse


_BY_TYPE: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "month": _month,
    "boolean": _boolean,
}


def _constant_bound(b: Decimal | str | None) -> Decimal | None:
    return b if isinstance(b, Decimal) else None


def column_parser(
    column: Column, period_problem: Callable[[Any], str | None] | None = None
) -> Callable[[Any], Any]:
    """The full parse of one raw value of `column`: typed value, None (empty) or Bad.

    `period_problem(value)` is given for the period column: the code of what is wrong
    with the period the value names (none, or outside the one asked for), or None.
    """
    typed = _enum(column.values) if column.type == "enum" else _BY_TYPE[column.type]
    missing = REQUIRED if column.required else None
    lo, hi = _constant_bound(column.min), _constant_bound(column.max)
    ranged = (lo is not None or hi is not None) and column.type in ("integer", "decimal")
    pseudonymous = column.pseudonymous

    def parse(raw: Any) -> Any:
        if type(raw) is str:
            raw = raw.strip()
            if not raw:
                return missing
            if raw[0] == "#" and raw in EXCEL_ERRORS:
                return ERROR
        elif raw is None:
            return missing
        elif type(raw) is CellError:
            return ERROR
        elif raw is FORMULA_NO_VALUE:
            return FORMULA
        value: Any = typed(raw)
        if type(value) is Bad:
            return value
        if pseudonymous and type(value) in (str, int) and personnummer.is_personnummer(str(value)):
            return PERSONNUMMER
        if ranged:
            if lo is not None and value < lo:
                return Bad("range-min", value, lo)
            if hi is not None and value > hi:
                return Bad("range-max", value, hi)
        if period_problem is not None and (code := period_problem(value)) is not None:
            return Bad(code, value)
        return value

    return parse


class Memo(dict[Any, Any]):
    """raw value → parse result, computed on first sight; `memo[raw]` is the fast path.

    True == 1 == 1.0 as dict keys, so a TRUE cell would find the entry of the number 1.
    Booleans are never stored; outside boolean columns (where True and 1 mean the same)
    callers must not look a boolean up but call `parse` (see `bools_matter`).
    """

    def __init__(self, parse: Callable[[Any], Any], bools_matter: bool) -> None:
        super().__init__()
        self.parse = parse
        self.bools_matter = bools_matter  # a boolean raw value must bypass the memo
        self.produced_bad = False  # until True, no lookup can have returned a Bad

    def __missing__(self, raw: Any) -> Any:
        result = self.parse(raw)
        if type(result) is Bad:
            self.produced_bad = True
        if type(raw) is bool:
            return result
        if len(self) >= MEMO_LIMIT:
            self.clear()
        self[raw] = result
        return result


class Absent:
    """Stands in for the memo of a column the file does not have: always empty."""

    bools_matter = False
    produced_bad = False

    def parse(self, raw: Any) -> None:
        return None

    def __getitem__(self, raw: Any) -> None:
        return None
