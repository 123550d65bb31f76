"""Turning raw cell values into typed values for a column of the outcome file.

Raw values come from YAML (worked examples), CSV text or spreadsheet cells. The result
is a value the expressions understand (Decimal, int, str, bool, date) or an error code
from the stable list (`cell-type`, `enum-value`, `required`), never an exception.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from contracts.model import Column

_TRUE = {"true", "yes", "ja", "sant", "1", "x"}
_FALSE = {"false", "no", "nej", "falskt", "0"}
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def parse_value(column: Column, raw: Any) -> tuple[Any, str | None]:
    """(typed value, None) or (None, error code). Empty text counts as missing."""
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            raw = None
    if raw is None:
        return None, ("required" if column.required else None)
    kind = column.type
    if kind == "text":
        if isinstance(raw, bool | date):
            return None, "cell-type"
        return (str(raw), None) if isinstance(raw, str | int | Decimal) else (None, "cell-type")
    if kind == "enum":
        text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
        if text is None:
            return None, "cell-type"
        return (text, None) if text in column.values else (None, "enum-value")
    if kind == "integer":
        return _integer(raw)
    if kind == "decimal":
        return _decimal(raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw, None
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, "cell-type"
    if kind == "date":
        return _date(raw)
    return _month(raw)


def _integer(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, bool):
        return None, "cell-type"
    if isinstance(raw, int):
        return raw, None
    if isinstance(raw, float):
        # Spreadsheets store every number as a double: 7.0 is the integer 7.
        return (int(raw), None) if raw.is_integer() else (None, "cell-type")
    if isinstance(raw, Decimal):
        return (int(raw), None) if raw == raw.to_integral_value() else (None, "cell-type")
    if isinstance(raw, str) and _INTEGER.match(raw):
        return int(raw), None
    return None, "cell-type"


def _decimal(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, bool):
        return None, "cell-type"
    if isinstance(raw, Decimal):
        return raw, None
    if isinstance(raw, int):
        return Decimal(raw), None
    if isinstance(raw, float):
        # A spreadsheet stores doubles; repr gives the shortest text that reads back
        # as the same double, which is the number the provider typed.
        return Decimal(repr(raw)), None
    if isinstance(raw, str) and _DECIMAL.match(raw):
        try:
            return Decimal(raw), None
        except InvalidOperation:
            return None, "cell-type"
    return None, "cell-type"


def _date(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, datetime):
        return (raw.date(), None) if raw.time() == datetime.min.time() else (None, "cell-type")
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw), None
        except ValueError:
            return None, "cell-type"
    return None, "cell-type"


def _month(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):
        # A date typed in a month column names its month unambiguously.
        return date(raw.year, raw.month, 1), None
    if isinstance(raw, str) and (m := _MONTH.match(raw)):
        y, mo = int(m[1]), int(m[2])
        return (date(y, mo, 1), None) if 1 <= mo <= 12 else (None, "cell-type")
    return None, "cell-type"
