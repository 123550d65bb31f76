"""Reading outcome files: spreadsheets through calamine, csv through the csv module.

An edge module, the only one that opens outcome files. It turns a file into raw rows
`(row number as the spreadsheet shows it, [raw values])`, finds the header
(headers.py), and hands the rows to the pure validator (validate.py):

- xlsx, xls, xlsb, ods via python-calamine, after sheet_guard has judged the file and,
  for xlsx, xlsx_scan has sized each worksheet and found its error cells. calamine loads a
  whole sheet into memory (its Python API has no streaming reader); memory is bounded by
  the guard's limits. Its `iter_rows` yields every row from row 1 but starts each row at
  the first used column, so the row number is the position and column letters are offset
  by `sheet.start[1]`.
- csv (`,` `;` or tab; UTF-8, UTF-8 with BOM, UTF-16 with BOM, or Windows-1252 when
  the bytes are not all UTF-8, which the hashing pass finds out), streamed with
  `csv.reader`, so memory stays flat at any length. The delimiter is the one under which
  a header row is found in the first lines.

`validate_file` is the one call the api uses.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import pathlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from itertools import count
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

from contracts import sheet_guard, xlsx_scan
from contracts.headers import SEARCH_ROWS, HeaderInfo, find_header, not_found
from contracts.issues import Issue, Location
from contracts.model import Contract
from contracts.periods import Period
from contracts.validate import OnBatch, OnRow, ValidationReport, validate_rows

Rows = Iterator[tuple[int, list[Any]]]
Progress = Callable[[int, int | None], None]  # (rows read, rows in the sheet if known)
SNIFF_BYTES = 64 * 1024
PROGRESS_EVERY = 10_000
_DELIMITERS = (",", ";", "\t")


def read_digest(path: pathlib.Path, check_utf8: bool = False) -> tuple[str, bool]:
    """SHA-256 of the bytes and, if asked, whether all of them are valid UTF-8.

    Knowing the whole file is UTF-8 before reading it means a `Å` in row 90,000 of an
    otherwise ASCII Windows-1252 file cannot break the reading off half-way.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")() if check_utf8 else None
    utf8 = check_utf8
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    decoder, utf8 = None, False
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return digest.hexdigest(), utf8


def validate_file(
    contract: Contract,
    path: pathlib.Path,
    *,
    period: Period | None = None,
    limit_errors: int = 100,
    on_row: OnRow | None = None,
    on_batch: OnBatch | None = None,
    progress: Progress | None = None,
    display: str | None = None,
) -> ValidationReport:
    """Validate one outcome file. Problems in it are in the report; OSError propagates.

    Valid rows are passed on as they are read, to `on_row` or `on_batch`
    (validate.validate_rows says how they differ).
    """
    file = display or str(path)
    digest, utf8 = read_digest(path, path.suffix.lower() in sheet_guard.TEXT_TYPES)
    verdict = sheet_guard.inspect(path, file)
    if verdict.issue is not None:
        return ValidationReport.refused(file, digest, [verdict.issue])
    problems: list[Issue] = []
    with contextlib.ExitStack() as stack:
        total: int | None = None
        reader: Any = None
        if verdict.kind == "text":
            header, rows, reader = _csv_table(contract, path, file, utf8, problems, stack)
        else:
            header, rows, total = _workbook_table(contract, path, file, verdict, problems)
        if header is None:
            return ValidationReport.refused(file, digest, problems)
        if progress is not None:
            rows = _reporting(rows, progress, total)
        try:
            report = validate_rows(
                contract,
                header,
                rows,
                period=period,
                limit_errors=limit_errors,
                on_row=on_row,
                on_batch=on_batch,
            )
        except (UnicodeDecodeError, csv.Error) as exc:
            # The csv breaks off: nothing after this point can be trusted, and rows
            # already passed on belong to an invalid file.
            return ValidationReport.refused(file, digest, [_csv_broken(file, reader, exc)])
    return replace(report, sha256=digest)


def _csv_broken(file: str, reader: Any, exc: Exception) -> Issue:
    line = reader.line_num + 1 if reader is not None else None
    if isinstance(exc, UnicodeDecodeError):
        return Issue(
            "file-encoding",
            f"the file is not valid {exc.encoding} text near line {line}; save it as CSV UTF-8",
            Location(file=file, row=line),
        )
    return Issue(
        "file-corrupt",
        f"the csv cannot be read near line {line}: {exc}",
        Location(file=file, row=line),
    )


def _reporting(rows: Rows, progress: Progress, total: int | None) -> Rows:
    for n, item in enumerate(rows, 1):
        if n % PROGRESS_EVERY == 0:
            progress(n, total)
        yield item


# ---- csv ------------------------------------------------------------------------------


def csv_encoding(head: bytes, utf8: bool) -> str:
    """utf-8-sig / utf-16 by their BOM, else utf-8 if the whole file is, else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8" if utf8 else "cp1252"


def _csv_table(
    contract: Contract,
    path: pathlib.Path,
    file: str,
    utf8: bool,
    problems: list[Issue],
    stack: contextlib.ExitStack,
) -> tuple[HeaderInfo | None, Rows, Any]:
    with path.open("rb") as raw:
        encoding = csv_encoding(raw.read(4), utf8)
    with path.open(newline="", encoding=encoding, errors="replace") as text:
        sample = text.read(SNIFF_BYTES)
    lines = "".join(sample.splitlines(keepends=True)[:SEARCH_ROWS])
    best: tuple[int, str] | None = None
    for d in _DELIMITERS:
        rows = zip(count(1), csv.reader(io.StringIO(lines), delimiter=d), strict=False)
        header, _ = find_header(contract, rows, file=file, sheet=None)
        if header is not None and (best is None or header.row < best[0]):
            best = (header.row, d)
    if best is None:
        problems.append(not_found(contract, file, None))
        return None, iter(()), None
    # Strict decoding: a byte that is not text in this encoding is reported, not guessed.
    stream = stack.enter_context(path.open(newline="", encoding=encoding))
    reader = csv.reader(stream, delimiter=best[1])
    header, rest = find_header(contract, zip(count(1), reader, strict=False), file=file, sheet=None)
    return header, rest, reader


# ---- spreadsheets ---------------------------------------------------------------------


def _sheet_rows(sheet: Any, scan: xlsx_scan.SheetScan | None) -> Rows:
    """Rows of one calamine sheet, with the scan's error marks put in place."""
    rows: Rows = enumerate(sheet.iter_rows(), 1)
    if scan is None or not scan.marks:
        return rows
    return _marked(rows, scan.marks, sheet.start[1])


def _marked(rows: Rows, marks: dict[int, list[tuple[int, object]]], first_column: int) -> Rows:
    for number, row in rows:
        found = marks.get(number)
        if found:
            for col, mark in found:
                i = col - first_column
                if i >= 0:
                    if i >= len(row):
                        row.extend([""] * (i + 1 - len(row)))
                    row[i] = mark
        yield number, row


def _sheet_order(book: CalamineWorkbook, preferred: str | None) -> list[str]:
    names = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    if preferred:
        first = [n for n in names if n.casefold() == preferred.casefold()]
        names = first + [n for n in names if n not in first]
    return names


def _workbook_table(
    contract: Contract,
    path: pathlib.Path,
    file: str,
    verdict: sheet_guard.Verdict,
    problems: list[Issue],
) -> tuple[HeaderInfo | None, Rows, int | None]:
    is_xlsx = path.suffix.lower() == ".xlsx"
    members = xlsx_scan.sheet_members(path, verdict.members) if is_xlsx else {}
    try:
        book = CalamineWorkbook.from_path(str(path))
    except PasswordError:
        problems.append(
            Issue(
                "file-encrypted",
                "the workbook is password-protected; save a copy without a password",
                Location(file=file),
            )
        )
        return None, iter(()), None
    except CalamineError as exc:
        problems.append(_corrupt(file, None, exc))
        return None, iter(()), None
    names = _sheet_order(book, contract.outcome_file.sheet)
    for name in names:
        try:
            scan = None
            if name in members:
                scan = xlsx_scan.scan_sheet(path, verdict.members[members[name]])
            elif is_xlsx:
                # A sheet we could not size could still be a sparse-grid bomb.
                raise sheet_guard.Refused(
                    "file-corrupt", f"sheet {name} cannot be located in the workbook"
                )
            sheet = book.get_sheet_by_name(name)
        except sheet_guard.Refused as r:
            problems.append(sheet_guard.refusal(r, file, name))
            return None, iter(()), None
        except CalamineError as exc:
            problems.append(_corrupt(file, name, exc))
            return None, iter(()), None
        if sheet.start is None:  # an empty sheet (iter_rows would fail on it)
            continue
        header, rest = find_header(
            contract, _sheet_rows(sheet, scan), file=file, sheet=name, first_column=sheet.start[1]
        )
        if header is not None:
            return header, rest, sheet.total_height + 1
    problems.append(not_found(contract, file, names))
    return None, iter(()), None


def _corrupt(file: str, sheet: str | None, exc: Exception) -> Issue:
    return Issue(
        "file-corrupt",
        f"the workbook cannot be read ({type(exc).__name__}: "
        f"{exc}); save it again from the spreadsheet program",
        Location(file=file, sheet=sheet),
    )
