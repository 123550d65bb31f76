"""Problems in what users wrote or sent: records with a stable code and a location.

They are collected, never raised; commands report all of them at once. Codes are
kebab-case and stable (tests and JSON consumers rely on them); messages may change.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is. Only the fields that apply are set."""

    file: str | None = None  # path as the user gave it
    line: int | None = None  # 1-based line in a text file (YAML)
    column: int | None = None  # 1-based column in a text file (YAML)
    path: str | None = None  # field path in a contract file, e.g. `rules[2].price`
    sheet: str | None = None  # worksheet name in a spreadsheet
    row: int | None = None  # 1-based row number as the spreadsheet shows it
    field: str | None = None  # outcome-file column name (the contract's name, not the header)
    cell: str | None = None  # spreadsheet cell reference, e.g. `F7`

    def short(self) -> str:
        """`contract.yaml:12:7 rules[2].price` or `Data!F7` — the form people click on."""
        parts: list[str] = []
        if self.file:
            pos = self.file
            if self.line is not None:
                pos += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
            parts.append(pos)
        if self.cell:
            parts.append(f"{self.sheet}!{self.cell}" if self.sheet else self.cell)
        elif self.row is not None:
            parts.append(f"row {self.row}")
        if self.path:
            parts.append(self.path)
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: what (code, message), where (location), how bad (severity)."""

    code: str  # stable kebab-case identifier, e.g. `range-max`, `expression-name`
    message: str  # plain sentence saying what is wrong and, where possible, what to do
    location: Location = field(default_factory=Location)  # where it is
    severity: Severity = "error"  # errors make the input unusable; warnings do not

    def to_dict(self) -> dict[str, Any]:
        loc = {k: v for k, v in asdict(self.location).items() if v is not None}
        return {"code": self.code, "message": self.message, "severity": self.severity, **loc}


def errors(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity == "error"]
