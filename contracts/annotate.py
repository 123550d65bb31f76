"""The annotated copy: the provider's own data with every problem marked where it is.

Problem: a validation report says `Data!F7 range-max`; the provider wants to open a
workbook, see F7 in red with the reason beside it, fix it and send the file again. The
copy must keep every cell where it was (title rows, offsets), must not turn the
provider's text into formulas (`=SUM(A1)`, `@cmd`, `-1+1` stay text), must never write a
personal identity number back in full, and must cope with files of a million rows.

Approach: the source is read again through the same guarded path validate_file uses
(sheet_guard, xlsx_scan for size and error cells, calamine; csv with the module's
encoding rules) and streamed row by row into an openpyxl write-only workbook: a
summary sheet first (counts per code, shown and total, and a table of issues whose cell
references are hyperlinks), then the data sheet. Cells named by an issue are light red
with a comment of `code: message` lines; an issue of a whole row (a row check, a totals
row) marks the row's first cell amber. Text is neutralised by `put` (string type, and a
quote prefix for text Excel would read as a formula); anything that reads as a
personnummer is replaced by its mask. Above `FULL_COPY_ROWS` data rows only the rows up
to the header and the rows with issues are written, at their own row numbers, and the
summary says so.
"""

from __future__ import annotations

import contextlib
import csv
import io
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import chain, count, islice
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.hyperlink import Hyperlink
from python_calamine import CalamineError, CalamineWorkbook

from contracts import personnummer, sheet_guard, xlsx_scan
from contracts.cells import FORMULA_NO_VALUE, CellError
from contracts.files import write_atomically
from contracts.headers import SEARCH_ROWS, column_letters, find_header, match_header
from contracts.issues import Issue
from contracts.model import Contract
from contracts.outcome_sheet import SNIFF_BYTES, csv_encoding, read_digest
from contracts.validate import ValidationReport

FULL_COPY_ROWS = 100_000  # above this many data rows only rows with issues are copied
LISTED = 1_000  # issues listed on the summary sheet
AUTHOR = "outcome-contracts"
RED = PatternFill("solid", fgColor="FFC7CE")
AMBER = PatternFill("solid", fgColor="FFEB9C")
_RISKY = ("=", "+", "-", "@", "\t", "\r")
_BOLD = Font(bold=True)
_LINK = Font(color="0563C1", underline="single")
Rows = Iterator[tuple[int, list[Any]]]

# key: (Swedish, English)
# fmt: off
_TEXT: dict[str, tuple[str, str]] = {
    "summary": ("Sammanfattning", "Summary"),
    "title": ("Kontroll av {file}", "Check of {file}"),
    "file": ("Fil", "File"),
    "valid": ("Giltig", "Valid"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    "rows": ("Rader", "Rows"),
    "errors": ("Fel", "Errors"),
    "warnings": ("Varningar", "Warnings"),
    "masked": ("Maskerade personnummer", "Masked identity numbers"),
    "copy": ("Kopian", "The copy"),
    "full": ("Fliken {sheet} är en kopia av filens data på samma celler. Celler med fel är röda och har en kommentar; fel som gäller hela raden står på radens första cell (gul).", "The sheet {sheet} is a copy of the file's data in the same cells. Cells with errors are red and carry a comment; errors of a whole row are on its first cell (amber)."),
    "sparse": ("Filen har {rows} rader. Fliken {sheet} visar bara raderna fram till rubriken och de {n} rader som har fel, på sina ursprungliga radnummer.", "The file has {rows} rows. The sheet {sheet} shows only the rows up to the header and the {n} rows with errors, at their original row numbers."),
    "none": ("Filens data kunde inte läsas; se felen nedan.", "The file's data could not be read; see the errors below."),
    "cut": ("Kopian slutar vid rad {row}: resten av filen kunde inte läsas.", "The copy ends at row {row}: the rest of the file could not be read."),
    "code": ("Kod", "Code"),
    "count": ("Antal", "Count"),
    "shown": ("Visas", "Shown"),
    "issues": ("Fel (de första {n} av {total})", "Errors (the first {n} of {total})"),
    "head": ("Blad|Cell|Rad|Kolumn|Kod|Meddelande", "Sheet|Cell|Row|Column|Code|Message"),
}
# fmt: on


def put(cell: Any, value: Any) -> None:
    """Set `cell` (normal or write-only) to `value`; text is never a formula.

    openpyxl reads a string starting with `=` as a formula: the type is set back to
    string. Text starting with `= + - @`, tab or CR also gets Excel's quote prefix, so that
    editing the cell later does not turn it into one. Characters XML cannot hold are
    replaced, and text is cut at Excel's 32,767 characters.
    """
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)[:32767]
        cell.value = value
        cell.data_type = "s"
        if value.startswith(_RISKY):
            cell.quotePrefix = True
    else:
        cell.value = value


@dataclass
class _Marks:
    """The report's errors by place: row → {1-based column: issues}, and whole rows."""

    cells: dict[int, dict[int, list[Issue]]] = field(default_factory=dict)
    rows: dict[int, list[Issue]] = field(default_factory=dict)

    @classmethod
    def of(cls, report: ValidationReport) -> _Marks:
        marks = cls()
        for issue in report.errors:
            loc = issue.location
            if loc.row is None or not _in_table(issue, report.sheet):
                continue
            if loc.cell:
                letters, row = coordinate_from_string(loc.cell)
                at = marks.cells.setdefault(row, {})
                at.setdefault(column_index_from_string(letters), []).append(issue)
            else:
                marks.rows.setdefault(loc.row, []).append(issue)
        return marks

    def row_numbers(self) -> set[int]:
        return set(self.cells) | set(self.rows)


def _in_table(issue: Issue, sheet: str | None) -> bool:
    """Does the issue name a row of the table (a refusal names a line of the file)?"""
    loc = issue.location
    return loc.sheet == sheet and loc.row is not None and not issue.code.startswith("file-")


@dataclass
class _Copied:
    """What the copy did, for the summary."""

    header: int | None = None  # header row number, if found
    first: int = 0  # 0-based column of the table's first cell
    masked: int = 0  # values replaced by their personnummer mask
    cut_at: int | None = None  # the row after which the source could not be read


def write_annotated(
    contract: Contract,
    source: pathlib.Path,
    report: ValidationReport,
    out: pathlib.Path,
    *,
    lang: str = "sv",
) -> None:
    """Write the annotated copy of `source` (validated as `report`) to `out`, atomically."""
    w = {k: v[1 if lang == "en" else 0] for k, v in _TEXT.items()}
    data_title = _sheet_title(report.sheet or "Data")
    summary_title = w["summary"] + (
        " 1" if w["summary"].casefold() == data_title.casefold() else ""
    )
    marks = _Marks.of(report)
    sparse = report.rows > FULL_COPY_ROWS
    wb = Workbook(write_only=True)
    summary = wb.create_sheet(summary_title)
    copied: _Copied | None = None
    with contextlib.ExitStack() as stack:
        table = _source(contract, source, report, stack)
        if table is not None:
            data = wb.create_sheet(data_title)
            copied = _copy(data, contract, table, marks, sparse)
    _summary(summary, report, data_title, copied, sparse, w)
    write_atomically(out, wb.save)


def _sheet_title(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    return name[:31] or "Data"


# ---- reading the source again ---------------------------------------------------------


def _source(
    contract: Contract, source: pathlib.Path, report: ValidationReport, stack: contextlib.ExitStack
) -> tuple[int, Rows] | None:
    """(0-based column of raw position 0, rows) of the table the report read, or None."""
    verdict = sheet_guard.inspect(source, str(source))
    if verdict.issue is not None:
        return None
    if verdict.kind == "text":
        return _csv_source(contract, source, stack)
    if report.sheet is None:
        return None
    scan = None
    if source.suffix.lower() == ".xlsx":
        member = xlsx_scan.sheet_members(source, verdict.members).get(report.sheet)
        if member is None:
            return None
        try:
            scan = xlsx_scan.scan_sheet(source, verdict.members[member])
        except sheet_guard.Refused:
            return None
    try:
        sheet = CalamineWorkbook.from_path(str(source)).get_sheet_by_name(report.sheet)
    except CalamineError:
        return None
    if sheet.start is None:
        return None
    first = sheet.start[1]
    rows: Rows = enumerate(sheet.iter_rows(), 1)
    if scan is not None and scan.marks:
        rows = _with_marks(rows, scan.marks, first)
    return first, rows


def _with_marks(rows: Rows, marks: dict[int, list[tuple[int, object]]], first: int) -> Rows:
    """Put the error values and empty formulas calamine does not report back in place."""
    for number, row in rows:
        for col, mark in marks.get(number, ()):
            i = col - first
            if i >= 0:
                row.extend([""] * (i + 1 - len(row)))
                row[i] = mark
        yield number, row


def _csv_source(
    contract: Contract, source: pathlib.Path, stack: contextlib.ExitStack
) -> tuple[int, Rows] | None:
    _, utf8 = read_digest(source, check_utf8=True)
    with source.open("rb") as raw:
        encoding = csv_encoding(raw.read(4), utf8)
    with source.open(newline="", encoding=encoding, errors="replace") as text:
        sample = text.read(SNIFF_BYTES)
    lines = "".join(sample.splitlines(keepends=True)[:SEARCH_ROWS])
    best: tuple[int, str] | None = None
    for d in (",", ";", "\t"):
        rows = zip(count(1), csv.reader(io.StringIO(lines), delimiter=d), strict=False)
        header, _ = find_header(contract, rows, file="", sheet=None)
        if header is not None and (best is None or header.row < best[0]):
            best = (header.row, d)
    if best is None:
        return None
    stream = stack.enter_context(source.open(newline="", encoding=encoding, errors="replace"))
    return 0, zip(count(1), csv.reader(stream, delimiter=best[1]), strict=False)


# ---- the copy -------------------------------------------------------------------------


def _copy(
    ws: Any, contract: Contract, table: tuple[int, Rows], marks: _Marks, sparse: bool
) -> _Copied:
    first, raw = table
    done = _Copied(first=first)
    rows = _readable(raw, done)
    head = list(islice(rows, SEARCH_ROWS))
    for number, values in head:
        if match_header(contract, values, number, file="", sheet=None, first_column=first):
            done.header = number
            ws.freeze_panes = f"A{number + 1}"
            for i, v in enumerate(values):
                width = min(max(len(str(v)) + 3, 10), 40)
                ws.column_dimensions[column_letters(first + i)].width = width
            break
    wanted = marks.row_numbers()
    next_row = 1
    for number, values in chain(head, rows):
        if sparse and number > (done.header or 0) and number not in wanted:
            continue
        next_row = _emit(ws, next_row, number, _row(ws, number, values, first, marks, done))
    for number in sorted(r for r in wanted if r >= next_row):  # issues past the last row
        next_row = _emit(ws, next_row, number, _row(ws, number, [], first, marks, done))
    return done


def _readable(rows: Rows, done: _Copied) -> Rows:
    """The rows until the source breaks off (a csv that stops being csv)."""
    number = 0
    try:
        for number, values in rows:
            yield number, values
    except (csv.Error, UnicodeDecodeError):
        done.cut_at = number


def _emit(ws: Any, next_row: int, number: int, cells: list[Any]) -> int:
    """Append `cells` as row `number` (a write-only sheet only appends: pad the gap)."""
    while next_row < number:
        ws.append([])
        next_row += 1
    ws.append(cells)
    return number + 1


def _row(
    ws: Any, number: int, values: list[Any], first: int, marks: _Marks, done: _Copied
) -> list[Any]:
    cells: list[Any] = [None] * first + [_value(ws, v, done) for v in values]
    if number == done.header:
        cells = [_styled(ws, v, font=_BOLD) if v is not None else None for v in cells]
    for col, issues in marks.cells.get(number, {}).items():
        _mark(ws, cells, col, issues, RED)
    whole = marks.rows.get(number)
    if whole:
        _mark(ws, cells, first + 1, whole, AMBER)
    return cells


def _mark(ws: Any, cells: list[Any], col: int, issues: list[Issue], fill: PatternFill) -> None:
    cells.extend([None] * (col - len(cells)))
    cell = cells[col - 1]
    if not isinstance(cell, Cell):
        cell = _styled(ws, cell)
    lines = [f"{i.code}: {i.message}" for i in issues]
    if cell.comment is not None:  # the cell's own issues come first, then its row's
        lines.insert(0, cell.comment.text)
        fill = RED
    cell.fill = fill
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", "\n".join(lines))[:32767]
    cell.comment = Comment(text, AUTHOR, height=min(400, 30 + 15 * (len(text) // 45 + len(lines))))
    cell.comment.width = 320
    cells[col - 1] = cell


def _styled(ws: Any, value: Any, font: Font | None = None) -> Cell:
    cell = value if isinstance(value, Cell) else WriteOnlyCell(ws)
    if not isinstance(value, Cell):
        put(cell, value)
    if font is not None:
        cell.font = font
    return cell


def _value(ws: Any, v: Any, done: _Copied) -> Any:
    """One source value as it may be written: text neutralised, identity numbers masked."""
    t = type(v)
    if t is str:
        if not v:
            return None
        if personnummer.is_personnummer(v.strip()):
            done.masked += 1
            v = personnummer.mask(v)
        if v.startswith(_RISKY) or len(v) > 32767 or ILLEGAL_CHARACTERS_RE.search(v):
            return _styled(ws, v)
        return v
    if t is int or (t is float and v.is_integer() and abs(v) < 1e13):
        digits = str(int(v))
        if len(digits) in (10, 12) and personnummer.is_personnummer(digits):
            done.masked += 1
            return personnummer.mask(digits)
        return v
    if t is float or t is bool or t in (date, datetime, time, timedelta):
        return v
    if t is CellError:
        return v.text
    if v is None or v is FORMULA_NO_VALUE:
        return None
    return _styled(ws, str(v))


# ---- the summary ----------------------------------------------------------------------


def _summary(
    ws: Any,
    report: ValidationReport,
    data_title: str,
    copied: _Copied | None,
    sparse: bool,
    w: dict[str, str],
) -> None:
    for letter, width in zip("ABCDEF", (24, 14, 10, 22, 18, 90), strict=True):
        ws.column_dimensions[letter].width = width

    def line(*values: Any, font: Font | None = None) -> None:
        ws.append([_styled(ws, v, font) if v is not None else None for v in values])

    name = pathlib.PurePath(report.file).name or report.file
    line(w["title"].format(file=name), font=Font(bold=True, size=14))
    total = sum(report.error_counts.values())
    line(w["file"], report.file)
    line("SHA-256", report.sha256)
    line(w["valid"], w["yes"] if report.valid else w["no"])
    line(w["rows"], report.rows)
    line(w["errors"], total)
    line(w["warnings"], len(report.warnings))
    line(w["masked"], copied.masked if copied else 0)
    if copied is None:
        line(w["copy"], w["none"])
    elif sparse:
        shown = len([r for r in _Marks.of(report).row_numbers() if r > (copied.header or 0)])
        line(w["copy"], w["sparse"].format(rows=report.rows, sheet=data_title, n=shown))
    else:
        line(w["copy"], w["full"].format(sheet=data_title))
    if copied is not None and copied.cut_at is not None:
        line("", w["cut"].format(row=copied.cut_at))
    ws.append([])
    line(w["code"], w["count"], w["shown"], font=_BOLD)
    shown_by_code: dict[str, int] = {}
    for issue in report.errors:
        shown_by_code[issue.code] = shown_by_code.get(issue.code, 0) + 1
    for code in sorted(report.error_counts):
        line(code, report.error_counts[code], shown_by_code.get(code, 0))
    ws.append([])
    listed = report.errors[:LISTED]
    line(w["issues"].format(n=len(listed), total=total), font=_BOLD)
    line(*w["head"].split("|"), font=_BOLD)
    for issue in listed:
        ws.append(_issue_row(ws, issue, data_title, copied, report.sheet))


def _issue_row(
    ws: Any, issue: Issue, data_title: str, copied: _Copied | None, sheet: str | None
) -> list[Any]:
    loc = issue.location
    values: list[Any] = [loc.sheet, loc.cell, loc.row, loc.field, issue.code, issue.message]
    cells = [_styled(ws, v) if v is not None else None for v in values]
    if copied is not None and loc.row is not None and _in_table(issue, sheet):
        # The cell of the issue, or for an issue of a whole row its first cell.
        target = loc.cell or f"{column_letters(copied.first)}{loc.row}"
        link = cells[1] if loc.cell else cells[2]
        assert link is not None
        quoted = data_title.replace("'", "''")
        link.hyperlink = Hyperlink(ref="", location=f"'{quoted}'!{target}")
        link.font = _LINK
    return cells
