"""The provider's reporting template: an xlsx whose rules are the validator's rules.

Problem: a provider fills a spreadsheet by hand; every rule the contract puts on the
outcome file (types, enums, ranges, bounds that name another column, the period) should
be felt while typing, not weeks later in a rejection. And a file sent back must be
matched to the contract and period it was made for.

Approach: one workbook written with openpyxl: an instructions sheet in plain words
(parties, contacts, period, one line per column, row checks, the unique key, the rule
on personal identity numbers), the data sheet with the contract's column names as a
frozen bold header, and one Excel data validation per column over rows 2..1,048,576.
Each validation is a subset of what `cells.py` accepts (booleans as this language's
TRUE/FALSE, months as `YYYY-MM` text in a text-formatted column), so a value the
template refuses the validator refuses too, with the matching code. A `veryHidden` sheet
`_contract` holds the marker (contract id and hash, period, template version) that
`read_marker` reads back through the guarded path outcome files take; the same values
are custom document properties, for people looking at the file's properties. When the
reader could take the instructions' column table for the header (one or two required
columns and no sheet name in the contract), the data sheet comes first.
"""

from __future__ import annotations

import pathlib
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineError, CalamineWorkbook

from contracts import expressions, sheet_guard, xlsx_scan
from contracts.annotate import put
from contracts.data import row_period
from contracts.files import write_atomically
from contracts.headers import SEARCH_ROWS, match_header
from contracts.model import Column, Contract
from contracts.periods import Period

TEMPLATE_VERSION = "1"
MARKER_SHEET = "_contract"
LAST_ROW = 1_048_576  # validations cover every row Excel has
MAX_SERIAL = 2_958_465  # 9999-12-31 as an Excel serial
_EPOCH = date(1899, 12, 30)
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")

# key: (Swedish, English)
# fmt: off
_TEXT: dict[str, tuple[str, str]] = {
    "sheet": ("Instruktioner", "Instructions"),
    "heading": ("Rapporteringsmall: {title}", "Reporting template: {title}"),
    "contract_id": ("Avtals-id", "Contract id"),
    "reference": ("Diarienummer", "Reference"),
    "buyer": ("Beställare", "Buyer"),
    "provider": ("Leverantör", "Provider"),
    "period": ("Period", "Period"),
    "how": ("Så fyller du i mallen", "How to fill in the template"),
    "how1": ("Fyll i en rad per {grain} på fliken {sheet}, från rad 2. Ändra inte rubrikraden.", "Enter one row per {grain} on the sheet {sheet}, from row 2. Do not change the header row."),
    "how2": ("Markera en cell för att se vad kolumnen ska innehålla; Excel stoppar värden som inte är tillåtna.", "Select a cell to see what the column must hold; Excel stops values that are not allowed."),
    "how3": ("Frågor om mallen eller avtalet: {contact}.", "Questions about the template or the contract: {contact}."),
    "columns": ("Kolumner", "Columns"),
    "head": ("Kolumn|Typ|Obligatorisk|Tillåtna värden|Enhet|Beskrivning|Alternativa rubriker", "Column|Type|Required|Allowed values|Unit|Description|Other header names"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    "grain": ("Unik nyckel", "Unique key"),
    "grain_text": ("Samma kombination av {cols} får bara förekomma på en rad.", "The same combination of {cols} may appear on one row only."),
    "checks": ("Radkontroller", "Row checks"),
    "pseudo": ("Personuppgifter", "Personal data"),
    "pseudo_text": ("Kolumnerna {cols} ska innehålla pseudonymer. Skriv aldrig personnummer eller samordningsnummer: en fil med personnummer i dessa kolumner avvisas.", "The columns {cols} hold pseudonyms. Never enter a personal identity number (personnummer or samordningsnummer): a file with one in these columns is refused."),
    "units": ("Definitioner", "Definitions"),
    "text": ("text", "text"),
    "integer": ("heltal", "whole number"),
    "decimal": ("tal (decimaler tillåtna)", "number (decimals allowed)"),
    "date": ("datum (ÅÅÅÅ-MM-DD)", "date (YYYY-MM-DD)"),
    "month": ("månad (ÅÅÅÅ-MM, som text)", "month (YYYY-MM, as text)"),
    "boolean": ("sant/falskt", "true/false"),
    "enum": ("ett av värdena i listan", "one of the listed values"),
    "true": ("SANT", "TRUE"),
    "false": ("FALSKT", "FALSE"),
    "booleans": ("SANT eller FALSKT (ja/nej godtas också)", "TRUE or FALSE (yes/no also accepted)"),
    "min": ("minst {v}", "at least {v}"),
    "max": ("högst {v}", "at most {v}"),
    "range": ("{lo}–{hi}", "{lo}–{hi}"),
    "any_month": ("ÅÅÅÅ-MM, t.ex. 2025-03", "YYYY-MM, e.g. 2025-03"),
    "any_date": ("ÅÅÅÅ-MM-DD", "YYYY-MM-DD"),
    "in_period": ("inom perioden {id}: {lo} – {hi}", "within the period {id}: {lo} – {hi}"),
    "required": ("Obligatorisk.", "Required."),
    "optional": ("Frivillig.", "Optional."),
    "pseudonym": ("Pseudonym – aldrig personnummer.", "Pseudonym – never a personal identity number."),
    "invalid": ("Ogiltigt värde", "Invalid value"),
}
# fmt: on


def words(lang: str) -> dict[str, str]:
    """The template's wording in `lang` (sv or en)."""
    return {k: v[1 if lang == "en" else 0] for k, v in _TEXT.items()}


def serial(day: date) -> int:
    """The Excel serial number of a day (1900 system, days after 1 March 1900)."""
    return (day - _EPOCH).days


def write_template(
    contract: Contract,
    contract_sha256: str,
    period: Period,
    path: pathlib.Path,
    *,
    lang: str = "sv",
) -> None:
    """Write the reporting template for `period` to `path`, atomically."""
    w = words(lang)
    of = contract.outcome_file
    data_name = of.sheet or "Data"
    wb = Workbook()
    info = wb.active
    assert isinstance(info, Worksheet)
    info.title = w["sheet"] + (" 1" if w["sheet"].casefold() == data_name.casefold() else "")
    rows = _instruction_rows(contract, period, data_name, w)
    _write_instructions(info, rows)
    data = wb.create_sheet(data_name)
    if of.sheet is None and _header_among(contract, rows):
        # The reader takes the first sheet with a header; the column table must not be it.
        wb.move_sheet(data, offset=-1)
    marker = wb.create_sheet(MARKER_SHEET)
    marker.sheet_state = "veryHidden"
    values = marker_values(contract, contract_sha256, period, lang)
    for r, (key, value) in enumerate(values.items(), 1):
        put(marker.cell(r, 1), key)
        put(marker.cell(r, 2), value)
        wb.custom_doc_props.append(StringProperty(name=key, value=value))
    _write_data(data, contract, period, w, _Lists(marker))
    wb.active = wb.index(info)
    write_atomically(path, wb.save)


def marker_values(
    contract: Contract, contract_sha256: str, period: Period, lang: str
) -> dict[str, str]:
    """What a template carries to say which contract and period it was made for."""
    return {
        "contract_id": contract.contract.id,
        "contract_sha256": contract_sha256,
        "period": period.id,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "template_version": TEMPLATE_VERSION,
        "language": lang,
    }


# ---- the instructions -----------------------------------------------------------------


def _party(p: Any) -> str:
    org = f" ({p.org_number})" if p.org_number else ""
    return p.name + org + (f", {p.contact}" if p.contact else "")


def _instruction_rows(
    contract: Contract, period: Period, data_name: str, w: dict[str, str]
) -> list[list[str]]:
    of, parties = contract.outcome_file, contract.parties
    grain = " + ".join(of.grain)
    contact = parties.buyer.contact or parties.buyer.name
    rows: list[list[str]] = [
        [w["heading"].format(title=contract.contract.title)],
        [w["contract_id"], contract.contract.id],
        [w["reference"], contract.contract.reference or ""],
        [w["buyer"], _party(parties.buyer)],
        [w["provider"], _party(parties.provider)],
        [w["period"], f"{period.id} ({period.start.isoformat()} – {period.end.isoformat()})"],
        [],
        [w["how"]],
        [w["how1"].format(grain=grain, sheet=data_name)],
        [w["how2"]],
        [w["how3"].format(contact=contact)],
        [],
        [w["columns"]],
        w["head"].split("|"),
    ]
    for col in of.columns:
        rows.append(
            [
                col.name,
                w[col.type],
                w["yes"] if col.required else w["no"],
                allowed(col, contract, period, w),
                col.unit or "",
                col.description or "",
                ", ".join(col.aliases),
            ]
        )
    rows += [[], [w["grain"], w["grain_text"].format(cols=", ".join(of.grain))]]
    if of.row_checks:
        rows += [[], [w["checks"]]]
        rows += [[rc.name, _readable(rc.check), rc.message or ""] for rc in of.row_checks]
    pseudo = [c.name for c in of.columns if c.pseudonymous]
    if pseudo:
        rows += [[], [w["pseudo"], w["pseudo_text"].format(cols=", ".join(pseudo))]]
    if contract.units.notes:
        rows += [[], [w["units"]], *[["", note] for note in contract.units.notes]]
    return rows


def _readable(check: str) -> str:
    try:
        return expressions.parse(check).render()
    except expressions.ExpressionError:
        return check


def _write_instructions(ws: Worksheet, rows: list[list[str]]) -> None:
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            if not value:
                continue
            cell = ws.cell(r, c)
            put(cell, value)
            cell.alignment = _WRAP
            if c == 1 and (len(row) == 1 or r == 1):
                cell.font = Font(bold=True, size=14 if r == 1 else 11)
    head = next(r for r, row in enumerate(rows, 1) if len(row) == 7)
    for c in range(1, 8):
        ws.cell(head, c).font = _BOLD
    for letter, width in zip("ABCDEFG", (24, 40, 14, 34, 10, 44, 28), strict=True):
        ws.column_dimensions[letter].width = width


def _header_among(contract: Contract, rows: list[list[str]]) -> bool:
    return any(
        match_header(contract, list(row), r, file="", sheet="") is not None
        for r, row in enumerate(rows[:SEARCH_ROWS], 1)
    )


def _num(d: Decimal, w: dict[str, str]) -> str:
    text = format(d, "f")
    return text.replace(".", ",") if w["yes"] == "ja" else text


def _bound(b: Decimal | str, w: dict[str, str]) -> str:
    return _num(b, w) if isinstance(b, Decimal) else b


def allowed(col: Column, contract: Contract, period: Period | None, w: dict[str, str]) -> str:
    """The allowed values of a column in plain words (the period's, for the period column)."""
    in_period = period if col.name == contract.outcome_file.period_column else None
    if col.type == "enum":
        return ", ".join(_period_values(col, contract, in_period))
    if col.type == "boolean":
        return w["booleans"]
    if in_period is not None and col.type in ("text", "month", "date"):
        lo, hi = in_period.start.isoformat(), in_period.end.isoformat()
        if col.type == "month":
            lo, hi = lo[:7], hi[:7]
        if col.type == "text":
            return in_period.id
        return w["in_period"].format(id=in_period.id, lo=lo, hi=hi)
    if col.type == "month":
        return w["any_month"]
    if col.type == "date":
        return w["any_date"]
    if isinstance(col.min, Decimal) and isinstance(col.max, Decimal):
        return w["range"].format(lo=_bound(col.min, w), hi=_bound(col.max, w))
    parts = [
        w[k].format(v=_bound(b, w))
        for k, b in (("min", col.min), ("max", col.max))
        if b is not None
    ]
    return ", ".join(parts)


def _period_values(col: Column, contract: Contract, period: Period | None) -> list[str]:
    if period is None:
        return list(col.values)
    inside = [v for v in col.values if (p := row_period(v, contract)) and period.contains(p)]
    return inside or list(col.values)


# ---- the data sheet -------------------------------------------------------------------


class _Lists:
    """List validations: inline when Excel allows, else a range on the marker sheet."""

    def __init__(self, sheet: Worksheet) -> None:
        self.sheet = sheet
        self.used = 3  # columns A:B hold the marker

    def formula(self, values: list[str]) -> str:
        inline = ",".join(values)
        if values and not any("," in v or '"' in v for v in values) and len(inline) < 250:
            return f'"{inline}"'
        self.used += 1
        letter = get_column_letter(self.used)
        for r, v in enumerate(values, 1):
            put(self.sheet.cell(r, self.used), v)
        return f"'{MARKER_SHEET}'!${letter}$1:${letter}${max(len(values), 1)}"


def _write_data(
    ws: Worksheet, contract: Contract, period: Period, w: dict[str, str], lists: _Lists
) -> None:
    of = contract.outcome_file
    for i, col in enumerate(of.columns, 1):
        cell = ws.cell(1, i)
        put(cell, col.name)
        cell.font, cell.fill = _BOLD, _HEADER_FILL
        dim = ws.column_dimensions[get_column_letter(i)]
        dim.width = max(len(col.name) + 4, min(len(col.description or ""), 30), 10)
        if col.type in ("text", "month", "enum"):
            dim.number_format = "@"  # 2025-03 and 007 stay as typed
        elif col.type == "date":
            dim.number_format = "yyyy-mm-dd"
        ws.add_data_validation(_validation(i, col, contract, period, w, lists))
    ws.freeze_panes = "A2"


def _validation(
    i: int, col: Column, contract: Contract, period: Period, w: dict[str, str], lists: _Lists
) -> DataValidation:
    letter = get_column_letter(i)
    in_period = period if col.name == contract.outcome_file.period_column else None
    kind, op, f1, f2 = _rule(col, f"{letter}2", contract, in_period, w, lists)
    rule = allowed(col, contract, period, w) or w[col.type]
    prompt = " ".join(
        part
        for part in (
            (col.description or "").rstrip(".") + "." if col.description else "",
            f"{w[col.type][:1].upper()}{w[col.type][1:]}: {rule}." if rule != w[col.type] else "",
            w["required"] if col.required else w["optional"],
            w["pseudonym"] if col.pseudonymous else "",
            f"{w['period']} {period.id}." if in_period else "",
        )
        if part
    )
    dv = DataValidation(
        type=kind,
        operator=op,
        formula1=f1,
        formula2=f2,
        allow_blank=True,
        showInputMessage=True,
        showErrorMessage=kind is not None,
        errorStyle="stop",
        promptTitle=col.name[:32],
        prompt=prompt[:255],
        errorTitle=w["invalid"][:32],
        error=f"{col.name}: {rule}"[:225],
    )
    dv.add(f"{letter}2:{letter}{LAST_ROW}")
    return dv


Rule = tuple[str | None, str | None, str | None, str | None]  # type, operator, formula1, 2


def _rule(
    col: Column,
    cell: str,
    contract: Contract,
    period: Period | None,
    w: dict[str, str],
    lists: _Lists,
) -> Rule:
    if col.type == "enum":
        return "list", None, lists.formula(_period_values(col, contract, period)), None
    if col.type == "boolean":
        return "list", None, lists.formula([w["true"], w["false"]]), None
    if col.type == "text":
        return ("list", None, lists.formula([period.id]), None) if period else (None,) * 4
    if col.type == "month":
        return "custom", None, _month_formula(cell, period), None
    lo: str | None = None
    hi: str | None = None
    if col.type == "date":
        if period is not None:
            lo, hi = str(serial(period.start)), str(serial(period.end))
    else:
        lo = format(col.min, "f") if isinstance(col.min, Decimal) else None
        hi = format(col.max, "f") if isinstance(col.max, Decimal) else None
    refs = _refs(col, contract)
    if not refs and (lo is not None or hi is not None or col.type == "date"):
        native = {"integer": "whole", "decimal": "decimal", "date": "date"}[col.type]
        if col.type == "date" and lo is None:
            lo, hi = "1", str(MAX_SERIAL)
        if lo is not None and hi is not None:
            return native, "between", lo, hi
        if lo is not None:
            return native, "greaterThanOrEqual", lo, None
        return native, "lessThanOrEqual", hi, None
    conds = [f"ISNUMBER({cell})"]
    if col.type == "integer":
        conds.append(f"{cell}=INT({cell})")
    conds += [f"{cell}>={lo}"] if lo is not None else []
    conds += [f"{cell}<={hi}"] if hi is not None else []
    for op, other in refs:
        conds.append(f"OR(NOT(ISNUMBER({other})),{cell}{op}{other})")
    return "custom", None, conds[0] if len(conds) == 1 else f"AND({','.join(conds)})", None


def _refs(col: Column, contract: Contract) -> list[tuple[str, str]]:
    """(operator, cell) for bounds naming another column Excel can compare with."""
    names = [c.name for c in contract.outcome_file.columns]
    numbers = ("integer", "decimal")
    out = []
    for op, bound in ((">=", col.min), ("<=", col.max)):
        other = contract.column(bound) if isinstance(bound, str) else None
        if other is None:
            continue
        same = (col.type in numbers and other.type in numbers) or col.type == other.type == "date"
        if same:
            out.append((op, f"{get_column_letter(names.index(other.name) + 1)}2"))
    return out


def _month_formula(c: str, period: Period | None) -> str:
    text = f'ISTEXT({c}),LEN({c})=7,MID({c},5,1)="-",ISNUMBER(-LEFT({c},4)),ISNUMBER(-RIGHT({c},2))'
    if period is None:
        return f"OR(AND({text},-RIGHT({c},2)<=-1,-RIGHT({c},2)>=-12),AND(ISNUMBER({c}),{c}>=1))"
    lo, hi = f"{period.start:%Y-%m}", f"{period.end:%Y-%m}"
    s0, s1 = serial(period.start), serial(period.end)
    return f'OR(AND({text},{c}>="{lo}",{c}<="{hi}"),AND(ISNUMBER({c}),{c}>={s0},{c}<={s1}))'


# ---- reading the marker back ----------------------------------------------------------


def read_marker(path: pathlib.Path) -> dict[str, str] | None:
    """The marker of a template sent back, or None when the file carries none.

    The file comes from outside: it is judged by sheet_guard (and the marker sheet sized by
    xlsx_scan) before calamine reads it, exactly as an outcome file is.
    """
    verdict = sheet_guard.inspect(path, str(path))
    if verdict.issue is not None or verdict.kind == "text":
        return None
    found = _marker_sheet(path, verdict)
    return found if found and found.get("contract_id") else None


def _marker_sheet(path: pathlib.Path, verdict: sheet_guard.Verdict) -> dict[str, str]:
    if path.suffix.lower() == ".xlsx":
        member = xlsx_scan.sheet_members(path, verdict.members).get(MARKER_SHEET)
        if member is None:
            return {}
        try:
            xlsx_scan.scan_sheet(path, verdict.members[member])
        except sheet_guard.Refused:
            return {}
    try:
        book = CalamineWorkbook.from_path(str(path))
        if MARKER_SHEET not in book.sheet_names:
            return {}
        rows = book.get_sheet_by_name(MARKER_SHEET).to_python()
    except CalamineError:
        return {}
    return {
        str(row[0]): str(row[1])
        for row in rows[:20]
        if len(row) >= 2 and isinstance(row[0], str) and row[0] and row[1] not in ("", None)
    }
