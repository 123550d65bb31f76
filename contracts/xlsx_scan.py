"""What calamine cannot tell us about an xlsx worksheet, learnt before it loads the sheet.

Problem: calamine (a) builds a dense grid over the cells' bounding box, so a 5 KB file
with cells at A1 and XFD200000 asks for 100 GB and aborts the whole process, and
(b) returns an error cell (`#N/A`) and a formula without a saved value as empty, which
would read as a missing value or, in an optional column, silently as nothing.

Approach: the worksheet XML is inflated by sheet_guard.inflate (size-checked) and
scanned with byte searches, chunk by chunk, never parsed: the bounding box from cell
references (cheap patterns catch columns beyond Z and rows beyond 999,999; a second, exact
pass runs only for sheets wider than `MAX_CELLS` / 1,048,576 columns); error cells by
`t="e"`; formulas followed directly by `</c>` or an empty `<v/>`. The reader then puts
`cells.CellError` / `cells.FORMULA_NO_VALUE` into the rows at those positions.
"""

from __future__ import annotations

import html
import pathlib
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from contracts.cells import FORMULA_NO_VALUE, CellError
from contracts.sheet_guard import Refused, inflate

MAX_CELLS = 50_000_000  # calamine keeps ~32 bytes a cell: about 1.6 GB
MAX_MARKS = 100_000
_EXCEL_ROWS = 1_048_576


def col_index(letters: bytes) -> int:
    """b"A" → 0, b"AA" → 26."""
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


@dataclass
class SheetScan:
    """Marks by row: {row number: [(0-based column, CellError or FORMULA_NO_VALUE)]}."""

    marks: dict[int, list[tuple[int, object]]] = field(default_factory=dict)
    count: int = 0


def sheet_members(path: pathlib.Path, members: dict[str, zipfile.ZipInfo]) -> dict[str, str]:
    """Worksheet name → zip member, from workbook.xml and its relationships (regex only)."""
    try:
        with zipfile.ZipFile(path) as zf:
            book = zf.read("xl/workbook.xml")
            rels = zf.read("xl/_rels/workbook.xml.rels")
    except (KeyError, zipfile.BadZipFile):
        return {}
    targets: dict[bytes, str] = {}
    for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        rid, target = re.search(rb'\bId="([^"]*)"', tag), re.search(rb'\bTarget="([^"]*)"', tag)
        if rid and target:
            t = html.unescape(target[1].decode("utf-8", "replace"))
            t = t.lstrip("/") if t.startswith("/") else posixpath.normpath("xl/" + t)
            targets[rid[1]] = t
    out: dict[str, str] = {}
    for tag in re.findall(rb"<(?:\w+:)?sheet\b[^>]*>", book):
        name, rid = re.search(rb'\bname="([^"]*)"', tag), re.search(rb'\b\w+:id="([^"]*)"', tag)
        if name and rid and targets.get(rid[1]) in members:
            out[html.unescape(name[1].decode("utf-8", "replace"))] = targets[rid[1]]
    return out


class _Scanner:
    def __init__(self, exact: bool) -> None:
        self.exact = exact  # second pass: the true maximum row over all references
        self.carry = b""
        self.prefix: bytes | None = None
        self.max_col = -1
        self.max_row = 0
        self.scan = SheetScan()

    def _compile(self, prefix: bytes) -> None:
        p = re.escape(prefix)
        self.cell = b"<" + prefix + b"c "
        ref = rb"(?:([A-Z]{2,3})\d|[A-Z]{1,3}(\d{7,}))"
        if self.exact:
            ref = rb"([A-Z]{1,3})(\d+)"
        # One pass: a large reference, or (group 3) a cell whose r= is not first.
        self.refs = re.compile(b"<" + p + rb'c (?:r="' + ref + rb'|(?!r=")())')
        self.refs_any = re.compile(b"<" + p + rb'c\b[^>]*?\br="' + ref)
        self.formula = re.compile(
            b"<"
            + p
            + rb"f\b[^>]*?(?:/>|>[^<]*</"
            + p
            + rb"f>)(?:<"
            + p
            + rb"v\s*/>|<"
            + p
            + rb"v>\s*</"
            + p
            + rb"v>)?</"
            + p
            + rb"c>"
        )
        self.value = re.compile(b"<" + p + rb"v>([^<]*)</" + p + rb"v>")

    def feed(self, out: bytes) -> None:
        buf = self.carry + out
        if self.prefix is None:
            m = re.search(rb"<(\w+:)?sheetData\b", buf)
            if m is None and len(buf) < (8 << 20):
                self.carry = buf
                return
            self.prefix = (m[1] or b"") if m else b""
            self._compile(self.prefix)
        cut = buf.rfind(self.cell)
        if cut <= 0:
            cut = max(0, len(buf) - 65536)
        self.carry = buf[cut:]
        self._scan(buf[:cut])

    def finish(self) -> SheetScan:
        if self.prefix is None:
            self.prefix = b""
            self._compile(b"")
        self._scan(self.carry)
        self.carry = b""
        return self.scan

    def _scan(self, part: bytes) -> None:
        found = self.refs.findall(part)
        if any(not (letters or row) for letters, row, _ in found):
            # Some cell has its r= later among its attributes: the slower pattern.
            found = [(a, b, None) for a, b in self.refs_any.findall(part)]
        for letters, row, _ in found:
            if letters:
                self.max_col = max(self.max_col, col_index(letters))
            if row:
                self.max_row = max(self.max_row, int(row))
        if self.exact:
            return
        pos = part.find(b't="e"')
        while pos != -1:
            self._mark(part, pos, None)
            pos = part.find(b't="e"', pos + 5)
        for m in self.formula.finditer(part):
            self._mark(part, m.start(), FORMULA_NO_VALUE)

    def _mark(self, part: bytes, pos: int, mark: object) -> None:
        start = part.rfind(self.cell, 0, pos)
        end = part.find(b">", pos if mark is None else start)
        if start < 0 or end < 0 or self.scan.count >= MAX_MARKS:
            return
        tag = part[start:end]
        ref = re.search(rb'\br="([A-Z]{1,3})(\d+)"', tag)
        if ref is None or (mark is None and b't="e"' not in tag):
            return  # no position to report, or `t="e"` was text inside a formula
        if mark is not None and b't="str"' in tag:
            return  # a formula whose saved result is the empty text ""
        if mark is None:
            close = part.find(b"</", end)
            v = self.value.search(part, end, close + 64 if close >= 0 else len(part))
            mark = CellError(v[1].decode("utf-8", "replace") if v else "#ERROR")
        row = int(ref[2])
        self.scan.marks.setdefault(row, []).append((col_index(ref[1]), mark))
        self.scan.count += 1


def scan_sheet(path: pathlib.Path, info: zipfile.ZipInfo) -> SheetScan:
    """Inflate and scan one worksheet; raises Refused when its grid would be too large."""
    first = _Scanner(exact=False)
    inflate(path, info, first.feed)
    result = first.finish()
    cols = max(first.max_col + 1, 26)  # no reference beyond Z seen: at most 26 columns
    rows = max(first.max_row, _EXCEL_ROWS)  # none with 7+ digits: below 1,000,000
    if cols * rows > MAX_CELLS:
        exact = _Scanner(exact=True)
        inflate(path, info, exact.feed)
        exact.finish()
        cols, rows = exact.max_col + 1, exact.max_row
    if cols * rows > MAX_CELLS:
        raise Refused(
            "file-hostile",
            f"the sheet spans {rows:,} rows × {cols:,} columns "
            f"(more than {MAX_CELLS:,} cells); delete stray cells far from the "
            "table or split the file",
        )
    return result
