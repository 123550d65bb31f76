"""Plain-language messages for cell problems, built only for issues below the cap.

Values are shown where that is safe; a pseudonymous column's value never is, and a
personal identity number only masked (`850101-****`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts import personnummer
from contracts.cells import Bad, CellError
from contracts.model import Column
from contracts.periods import Period

_WHAT = {
    "integer": "a whole number",
    "decimal": "a number",
    "date": "a date (YYYY-MM-DD)",
    "month": "a month (YYYY-MM)",
    "boolean": "yes/no (true/false)",
    "text": "text",
    "enum": "text",
}


def show(column: Column, value: Any) -> str:
    """A typed value as the provider would write it; hidden for pseudonymous columns."""
    if column.pseudonymous:
        return "(value not shown)"
    if isinstance(value, date) and column.type == "month":
        return f"{value:%Y-%m}"
    return value.isoformat() if isinstance(value, date) else str(value)


def show_raw(column: Column, raw: Any) -> str:
    if column.pseudonymous:
        return "the value"
    text = str(raw).strip()
    return repr(text if len(text) <= 40 else text[:37] + "...")


def cell_message(column: Column, raw: Any, bad: Bad, period: Period | None) -> str:
    name, code = column.name, bad.code
    if code == "required":
        return f"{name} is required but the cell is empty"
    if code == "cell-type":
        return f"{name}: {show_raw(column, raw)} is not {_WHAT[column.type]}"
    if code == "cell-ambiguous":
        return (
            f"{name}: {show_raw(column, raw)} is ambiguous (a decimal comma, or a "
            "thousands separator?); write it without thousands separators, e.g. 1234"
        )
    if code == "enum-value":
        return f"{name}: {show_raw(column, raw)} is not one of {', '.join(column.values)}"
    if code in ("range-min", "range-max"):
        word = "below the minimum" if code == "range-min" else "above the maximum"
        return f"{name} {show(column, bad.value)} is {word} {bad.bound}"
    if code == "cell-error":
        text = raw.text if isinstance(raw, CellError) else str(raw).strip()
        return f"{name}: the cell holds the spreadsheet error {text}"
    if code == "formula-no-value":
        return (
            f"{name}: the cell has a formula but no saved value; open the file in Excel "
            "and save it, or paste the values"
        )
    if code == "personnummer":
        return (
            f"{name}: {personnummer.mask(str(raw))} is a personal identity number; this "
            "column must hold pseudonyms"
        )
    if code == "period-none":
        return (
            f"{name} {show(column, bad.value)} names no period; write a month, a date or "
            "one of the contract's periods (e.g. 2025-Q1, HT2025)"
        )
    if code == "period-outside" and period is not None:
        return (
            f"{name} {show(column, bad.value)} is outside the period {period.id} "
            f"({period.start.isoformat()} – {period.end.isoformat()})"
        )
    return f"{name}: {code}"
