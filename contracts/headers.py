"""Finding the header row of an outcome file and matching it to the contract's columns.

Providers put a title, a date or instructions above the table and name columns in their
own language, so the header is searched for: the first row within `SEARCH_ROWS` in which
at least half of the contract's required columns are recognised by name or alias, case,
spaces, underscores and hyphens ignored (`Schemalagda timmar` = `schemalagda_timmar`).
Pure: rows come in as lists of raw values, the result is a `HeaderInfo` value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from contracts.issues import Issue, Location
from contracts.model import Contract

SEARCH_ROWS = 50
# First cells of a totals row a provider may leave under the data (normalised).
_TOTALS_WORDS = frozenset(
    {
        "summa",
        "totalt",
        "total",
        "totalsumma",
        "summatotalt",
        "sum",
        "grandtotal",
        "totals",
        "summa:",
        "totalt:",
        "total:",
        "sum:",
    }
)
_IGNORED = re.compile(r"[\s_\-\u00a0\u202f]+")


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: the spreadsheet's name for a 0-based column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def normalise(text: Any) -> str:
    return _IGNORED.sub("", str(text)).casefold()


def is_totals_row(first: Any) -> bool:
    """A row whose first cell says Summa/Totalt/Total: a sum the provider added."""
    return type(first) is str and normalise(first) in _TOTALS_WORDS


@dataclass(frozen=True)
class HeaderInfo:
    """Where the table is and which raw position holds which contract column."""

    file: str  # the file as the user named it
    sheet: str | None  # worksheet name; None for csv
    row: int  # header row number as the spreadsheet shows it (1-based)
    first_column: int  # 0-based spreadsheet column of raw position 0 (for cell references)
    positions: dict[str, int]  # contract column name → position in each raw row
    issues: tuple[Issue, ...]  # header-missing, header-duplicate (errors), header-unknown

    def cell(self, position: int, row: int) -> str:
        return f"{column_letters(self.first_column + position)}{row}"


def _names(contract: Contract) -> dict[str, str]:
    """normalised header text → contract column; the name wins over another's alias."""
    out: dict[str, str] = {}
    for col in contract.outcome_file.columns:
        for alias in col.aliases:
            out.setdefault(normalise(alias), col.name)
    for col in contract.outcome_file.columns:
        out[normalise(col.name)] = col.name
    return out


def _needed(contract: Contract) -> int:
    required = [c for c in contract.outcome_file.columns if c.required]
    pool = len(required) or len(contract.outcome_file.columns)
    return max(1, (pool + 1) // 2)


def match_header(
    contract: Contract,
    values: list[Any],
    row: int,
    *,
    file: str,
    sheet: str | None,
    first_column: int = 0,
) -> HeaderInfo | None:
    """A HeaderInfo if `values` is the header row, else None."""
    names = _names(contract)
    required = {c.name for c in contract.outcome_file.columns if c.required}
    found = [(i, names.get(normalise(v))) for i, v in enumerate(values) if v not in ("", None)]
    hits = {name for _, name in found if name is not None}
    if len(hits & required if required else hits) < _needed(contract):
        return None
    positions: dict[str, int] = {}
    issues: list[Issue] = []

    def at(i: int, name: str | None) -> Location:
        ref = f"{column_letters(first_column + i)}{row}" if i >= 0 else None
        return Location(file=file, sheet=sheet, row=row, field=name, cell=ref)

    for i, name in found:
        if name is None:
            issues.append(
                Issue(
                    "header-unknown",
                    f"column {str(values[i]).strip()!r} is not in the contract and is ignored",
                    at(i, None),
                    "warning",
                )
            )
        elif name in positions:
            first = column_letters(first_column + positions[name])
            issues.append(
                Issue(
                    "header-duplicate",
                    f"{name} appears twice in the header "
                    f"(first in column {first}); this one is ignored",
                    at(i, name),
                )
            )
        else:
            positions[name] = i
    for col in contract.outcome_file.columns:
        if col.required and col.name not in positions:
            aliases = f" (or {', '.join(col.aliases)})" if col.aliases else ""
            issues.append(
                Issue(
                    "header-missing",
                    f"required column {col.name}{aliases} is not in the header",
                    at(-1, col.name),
                )
            )
    return HeaderInfo(file, sheet, row, first_column, positions, tuple(issues))


def find_header(
    contract: Contract,
    rows: Iterable[tuple[int, list[Any]]],
    *,
    file: str,
    sheet: str | None,
    first_column: int = 0,
) -> tuple[HeaderInfo | None, Iterator[tuple[int, list[Any]]]]:
    """Consume rows up to the header; return it and the iterator positioned after it."""
    it = iter(rows)
    for seen, (number, values) in enumerate(it):
        if seen >= SEARCH_ROWS:
            break
        info = match_header(
            contract, values, number, file=file, sheet=sheet, first_column=first_column
        )
        if info is not None:
            return info, it
    return None, it


def not_found(contract: Contract, file: str, sheets: list[str] | None) -> Issue:
    required = [c.name for c in contract.outcome_file.columns if c.required]
    where = f" of any sheet ({', '.join(sheets)})" if sheets else ""
    return Issue(
        "header-not-found",
        f"no header row found in the first {SEARCH_ROWS} rows"
        f"{where}: expected columns such as {', '.join(required[:6])}",
        Location(file=file),
    )
