"""Regenerate the outcome-file corpus in tests/corpus/files/.

Outcome files arrive as clients make them, so most of the corpus is made the same way:
a sheet is written as flat OpenDocument XML (FODS), cell by cell as a Swedish user types
it (text where the user typed text, numbers, dates with a YYYY-MM format, formulas), and
LibreOffice headless saves it as xlsx, ods, xls or csv -- the bytes a provider's
LibreOffice would send. LibreOffice recalculates the formulas on load, so formula cells
carry the values (and the error values) LibreOffice computes.

Two password-protected workbooks are saved by LibreOffice too, through a small Basic
macro (``storeToURL`` with a password), since ``--convert-to`` cannot set one.

The rest reproduces one quirk each and is written byte by byte: csv files as Excel in a
Swedish locale saves them, a workbook written by a script (formula without a cached
value), and hostile or mislabelled files (a PDF named .xlsx, a truncated workbook,
macros, zip bombs, DTDs with entity expansion or an external entity, a sparse-grid
bomb, empty and random files). Hostile workbooks start from the LibreOffice-made clean
workbook and change one member, so everything else about them is genuine.

Usage: python tests/corpus/make_corpus.py [--out DIR] [--profile DIR]
(needs `soffice` on PATH; the profile directory lets it run as root and in parallel.)
"""

from __future__ import annotations

import argparse
import codecs
import os
import pathlib
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "files"
DEFAULT_PROFILE = pathlib.Path("/tmp/lo-corpus-profile")
SOFFICE_TIMEOUT = 180

# ---- cells as a user types them ------------------------------------------------------


@dataclass(frozen=True)
class Month:
    """A date cell formatted YYYY-MM: what Calc makes of `2025-01` typed in a cell."""

    iso: str  # "2025-01"


@dataclass(frozen=True)
class Formula:
    """A formula (OpenFormula syntax); LibreOffice computes its value on load."""

    expr: str  # "of:=[.E2]*0.05"
    month_format: bool = False  # shown as YYYY-MM (a date result)


@dataclass(frozen=True)
class Bool:
    value: bool


Cell = str | int | float | Month | Formula | Bool | None
Row = Sequence[Cell]

_FODS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document
 xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:automatic-styles>
 <number:date-style style:name="N1"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/></number:date-style>
 <style:style style:name="ce1" style:family="table-cell" style:parent-style-name="Default" style:data-style-name="N1"/>
</office:automatic-styles>
<office:body><office:spreadsheet>
"""
_FODS_TAIL = "</office:spreadsheet></office:body></office:document>\n"


def _cell(c: Cell) -> str:
    if c is None:
        return "<table:table-cell/>"
    if isinstance(c, Bool):
        v = "true" if c.value else "false"
        return (
            f'<table:table-cell office:value-type="boolean" office:boolean-value="{v}">'
            f"<text:p>{v.upper()}</text:p></table:table-cell>"
        )
    if isinstance(c, Month):
        return (
            f'<table:table-cell table:style-name="ce1" office:value-type="date" '
            f'office:date-value="{c.iso}-01"><text:p>{c.iso}</text:p></table:table-cell>'
        )
    if isinstance(c, Formula):
        style = ' table:style-name="ce1"' if c.month_format else ""
        # No cached value: LibreOffice computes it on load, as when the user typed it.
        return f"<table:table-cell{style} table:formula={quoteattr(c.expr)}/>"
    if isinstance(c, bool):
        raise TypeError("use Bool() for a boolean cell")
    if isinstance(c, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{c!r}">'
            f"<text:p>{c!r}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(c)}</text:p>'
        "</table:table-cell>"
    )


def fods(sheets: Sequence[tuple[str, Sequence[Row]]]) -> str:
    parts = [_FODS_HEAD]
    for name, rows in sheets:
        parts.append(f"<table:table table:name={quoteattr(name)}>\n")
        for row in rows:
            cells = "".join(_cell(c) for c in row) or "<table:table-cell/>"
            parts.append(f"<table:table-row>{cells}</table:table-row>\n")
        parts.append("</table:table>\n")
    parts.append(_FODS_TAIL)
    return "".join(parts)


# ---- the sheets ----------------------------------------------------------------------

HEADER = [
    "unit_id",
    "employee_id",
    "month",
    "group",
    "scheduled_hours",
    "short_sick_hours",
    "long_sick_hours",
]
HEADER_SV = [
    "Enhet",
    "Anställd",
    "Månad",
    "Grupp",
    "Schemalagd tid",
    "Korttidssjukfrånvaro",
    "Långtidssjukfrånvaro",
]

# A clean quarter (2025-Q1): every value valid, short + long <= scheduled.
CLEAN: list[Row] = [
    HEADER,
    ["U01", "E1001", Month("2025-01"), "intervention", 160, 8, 0],
    ["U01", "E1002", Month("2025-01"), "intervention", 152, 0, 16],
    ["U20", "E2001", Month("2025-01"), "comparison", 160, 12.5, 0],
    ["U01", "E1001", Month("2025-02"), "intervention", 160, 4, 0],
    ["U01", "E1002", Month("2025-02"), "intervention", 152, 0, 0],
    ["U20", "E2001", Month("2025-02"), "comparison", 160, 7.5, 24],
    ["U01", "E1001", Month("2025-03"), "intervention", 168, 0, 0],
    ["U01", "E1002", Month("2025-03"), "intervention", 159.5, 2.5, 0],
    ["U20", "E2001", Month("2025-03"), "comparison", 168, 16, 8],
]

# Instructions first, then the report with a title above a table that starts in B4.
INSTRUCTIONS: list[Row] = [
    ["Instruktioner för rapportering av sjukfrånvaro"],
    ["Fyll i en rad per medarbetare och månad på bladet Rapport."],
    [],
    ["Kolumn", "Beskrivning"],
    ["Enhet", "Enhetens id i personalsystemet"],
    ["Anställd", "Pseudonymiserat anställnings-id (aldrig personnummer)"],
    ["Månad", "ÅÅÅÅ-MM"],
    ["Grupp", "intervention eller comparison"],
    ["Schemalagd tid", "Schemalagda timmar under månaden"],
    ["Korttidssjukfrånvaro", "Sjukfrånvaro dag 1–14 i timmar"],
    ["Långtidssjukfrånvaro", "Sjukfrånvaro dag 15– i timmar"],
]
TITLED: list[Row] = [
    ["Rapport korttidssjukfrånvaro Q1 2025"],
    ["Leverantör: Friskare Arbetsplats AB", None, None, "Datum: 2025-04-10"],
    [],
    [None, *HEADER_SV],
    [None, "U01", "E1001", Month("2025-01"), "intervention", 160, 8, 0],
    [None, "U01", "E1002", Month("2025-01"), "Intervention", 152, 0, 16],
    [None, "U20", "E2001", Month("2025-01"), "comparison", 160, 12.5, 0],
    [None, "U20", "E2002", Month("2025-02"), "interventon", 160, 0, 0],
    [None, "U20", "E2001", Month("2025-02"), " comparison ", 160, 7.5, 24],
]

# Swedish headers and numbers typed as text the Swedish way.
SWEDISH_TEXT: list[Row] = [
    HEADER_SV,
    ["U01", "E1001", "2025-01-31", "intervention", "165,5", "8,25", "0"],
    ["U01", "E1002", 45689, "intervention", "152,0", "0", "16,0"],  # serial: 2025-02-01
    ["U01", "E1003", "2025-03", "comparison", "1 234,50", "0", "0"],
    ["U20", "E2001", Month("2025-01"), "comparison", "1\u00a0234", "0", "0"],
    ["U20", "E2002", "2025-02-28", "comparison", "160", "\u22122", "0"],
    ["U20", "E2003", "2025-3", "comparison", "160,0", "0,5", "0,0"],
]

# Formulas whose values LibreOffice computes and saves: a valid file.
FORMULAS: list[Row] = [
    HEADER,
    [
        Formula('of:="U"&"01"'),
        "E1001",
        Formula("of:=DATE(2025;1;1)", month_format=True),
        "intervention",
        Formula("of:=8*20"),
        Formula("of:=ROUND([.E2]*0.05;1)"),
        Formula("of:=0"),
    ],
    [
        "U01",
        "E1002",
        Formula("of:=EDATE([.C2];1)", month_format=True),
        Formula('of:=IF(1>0;"intervention";"comparison")'),
        Formula("of:=SUM(76;76)"),
        Formula("of:=[.E3]-[.E3]"),
        Formula("of:=[.E3]/8"),
    ],
    ["U20", "E2001", Month("2025-03"), "comparison", 168, Formula("of:=[.E4]*0.1"), 0],
]

# Formula errors: #DIV/0! (a division by zero) and #N/A (what a failed lookup gives).
FORMULA_ERRORS: list[Row] = [
    HEADER,
    ["U01", "E1001", Month("2025-01"), "intervention", 160, 8, 0],
    ["U01", "E1002", Month("2025-01"), "intervention", 152, Formula("of:=[.E3]/0"), 0],
    ["U20", "E2001", Month("2025-01"), "comparison", Formula("of:=NA()"), 0, 0],
    ["U20", "E2002", Month("2025-01"), Formula("of:=NA()"), 160, 0, 0],
]

# Numbers stored as text: unambiguous forms are read, `1,234` is ambiguous, `12 h` is not
# a number.
NUMBERS_AS_TEXT: list[Row] = [
    HEADER,
    ["U01", "E1001", "2025-01", "intervention", "160", "12.5", "0"],
    ["U01", "E1002", "2025-01", "intervention", "152,5", "0,5", "+4"],
    ["U01", "E1003", "2025-01", "intervention", "1,234", "0", "0"],
    ["U20", "E2001", "2025-01", "comparison", "160.00", "12 h", "0"],
    ["U20", "E2002", "2025-01", "comparison", "1.5e2", "1,5", "0"],
]

# One of each row problem; a blank row in the middle and a totals row at the end.
PROBLEMS: list[Row] = [
    HEADER,
    ["U01", "E1001", Month("2025-01"), "intervention", 160, 8, 0],
    ["U01", "850709-1232", Month("2025-01"), "intervention", 160, 0, 0],
    ["U01", 198507091232, Month("2025-02"), "intervention", 160, 0, 0],
    ["U02", "E1004", Month("2025-01"), "interventon", 160, 0, 0],
    [],
    ["U02", "E1005", Month("2025-02"), "comparison", 80, 90, 0],
    ["U02", "E1005", Month("2025-02"), "comparison", 80, 0, 0],
    ["U03", "E1006", Month("2025-03"), "comparison", 160, 100, 80],
    ["Summa", None, None, None, 960, 198, 80],
]

# long_sick_hours is missing; an extra Kommentar column is only a warning.
HEADER_MISSING: list[Row] = [
    ["Enhet", "Anställd", "Månad", "Grupp", "Schemalagd tid", "Korttidssjukfrånvaro", "Kommentar"],
    ["U01", "E1001", Month("2025-01"), "intervention", 160, 8, "sjukskriven v. 3"],
    ["U01", "E1002", Month("2025-01"), "intervention", 152, 0, None],
]

# The school-support contract (HT2025): Swedish headers, booleans typed three ways.
SCHOOL_HEADER = [
    "Elev-id",
    "Skola",
    "Termin",
    "Årskurs",
    "Närvaro",
    "Svenska",
    "Matematik",
    "Engelska",
    "Gymnasiebehörig",
]
SCHOOL: list[Row] = [
    SCHOOL_HEADER,
    ["P1001", "S1", "HT2025", 9, 94.5, "E", "C", "D", Bool(True)],
    ["P1002", "S1", "ht2025", 8, "92,5", "e", "F", "D", "Nej"],
    ["P1003", "S1", "HT2025", 5, 88, "D", "E", "E", Bool(False)],
    ["P1004", "S2", "HT2025", 7, 71, "G", "E", "E", "Ja"],
    ["P1005", "S2", "VT2026", 8, 90, "C", "C", "C", "kanske"],
]

# FODS source name → the sheets; converted to the formats listed in LO_TARGETS.
SOURCES: dict[str, list[tuple[str, list[Row]]]] = {
    "lo-clean-q1": [("Data", CLEAN)],
    "lo-title-rows-instructions": [("Instruktioner", INSTRUCTIONS), ("Rapport", TITLED)],
    "lo-swedish-text-numbers": [("Data", SWEDISH_TEXT)],
    "lo-formulas-cached": [("Data", FORMULAS)],
    "lo-formula-errors": [("Data", FORMULA_ERRORS)],
    "lo-numbers-as-text": [("Data", NUMBERS_AS_TEXT)],
    "lo-problems": [("Data", PROBLEMS)],
    "lo-header-missing": [("Data", HEADER_MISSING)],
    "lo-school-ht2025": [("Data", SCHOOL)],
}
LO_TARGETS: dict[str, list[str]] = {
    "xlsx": [
        "lo-clean-q1",
        "lo-title-rows-instructions",
        "lo-swedish-text-numbers",
        "lo-formulas-cached",
        "lo-formula-errors",
        "lo-numbers-as-text",
        "lo-problems",
        "lo-header-missing",
    ],
    "ods": ["lo-clean-q1", "lo-formulas-cached", "lo-formula-errors", "lo-school-ht2025"],
    "xls": ["lo-clean-q1", "lo-formula-errors"],
    # comma, double quote, UTF-8 (LibreOffice's encoding number 76)
    "csv:Text - txt - csv (StarCalc):44,34,76": ["lo-clean-q1"],
}
ENCRYPTED = {  # output name → (FODS source, filter, how the password is given)
    "hostile-encrypted.xlsx": ("lo-clean-q1", "Calc MS Excel 2007 XML", "oox"),
    "hostile-encrypted.ods": ("lo-clean-q1", "calc8", "odf"),
}
PASSWORD = "hemligt"

# ---- LibreOffice ---------------------------------------------------------------------


def _run(cmd: list[str], timeout: int = SOFFICE_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run soffice in its own process group, so a hung instance is killed whole."""
    with subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _soffice(profile: pathlib.Path, *args: str) -> None:
    cmd = ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", *args]
    done = _run(cmd)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr}")


def convert(
    profile: pathlib.Path, target: str, sources: list[pathlib.Path], out: pathlib.Path
) -> None:
    _soffice(profile, "--convert-to", target, "--outdir", str(out), *map(str, sources))
    ext = target.split(":", 1)[0]
    for src in sources:
        made = out / f"{src.stem}.{ext}"
        if not made.is_file() or made.stat().st_size == 0:
            raise RuntimeError(f"LibreOffice did not write {made}")


_MACRO = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">
REM Written by tests/corpus/make_corpus.py: save a document with an opening password.
Sub SaveWithPassword(src As String, dst As String, filt As String, pw As String, how As String, logf As String)
  On Error GoTo Failed
  Dim load(0) As New com.sun.star.beans.PropertyValue
  load(0).Name = "Hidden"
  load(0).Value = True
  doc = StarDesktop.loadComponentFromURL(ConvertToURL(src), "_blank", 0, load())
  Dim out(1) As New com.sun.star.beans.PropertyValue
  out(0).Name = "FilterName"
  out(0).Value = filt
  If how = "oox" Then
    Dim kind As New com.sun.star.beans.NamedValue
    kind.Name = "CryptoType"
    kind.Value = "StrongEncryptionDataSpace"
    Dim word As New com.sun.star.beans.NamedValue
    word.Name = "OOXPassword"
    word.Value = pw
    out(1).Name = "EncryptionData"
    out(1).Value = Array(kind, word)
  Else
    out(1).Name = "Password"
    out(1).Value = pw
  End If
  doc.storeToURL(ConvertToURL(dst), out())
  doc.close(True)
  Exit Sub
Failed:
  n = FreeFile
  Open logf For Output As #n
  Print #n, "error " &amp; Err &amp; ": " &amp; Error$ &amp; " at line " &amp; Erl
  Close #n
End Sub
</script:module>
"""


def save_with_password(
    profile: pathlib.Path, src: pathlib.Path, dst: pathlib.Path, filt: str, how: str
) -> None:
    """LibreOffice saves `src` as `dst` with an opening password (a Basic macro)."""
    module = profile / "user" / "basic" / "Standard" / "Module1.xba"
    if not module.parent.is_dir():
        raise RuntimeError(f"the LibreOffice profile {profile} has no Standard library")
    module.write_text(_MACRO, encoding="utf-8")
    log = dst.with_suffix(".log")
    call = f'macro:///Standard.Module1.SaveWithPassword("{src}","{dst}","{filt}","{PASSWORD}","{how}","{log}")'
    _soffice(profile, call)
    if log.exists():
        raise RuntimeError(f"saving {dst.name} with a password failed: {log.read_text()}")
    if not dst.is_file():
        raise RuntimeError(f"LibreOffice did not write {dst}")


# ---- zip archives built member by member ---------------------------------------------


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes
    declared: int | None = None  # uncompressed size written in the headers (a lie if set)


def write_zip(path: pathlib.Path, members: Sequence[Member]) -> None:
    """A deflated zip whose headers say what each Member says, true or not."""
    body = bytearray()
    central = bytearray()
    for m in members:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = comp.compress(m.data) + comp.flush()
        crc = zlib.crc32(m.data)
        size = len(m.data) if m.declared is None else m.declared
        name = m.name.encode("utf-8")
        offset = len(body)
        # version, flags, method 8, time, date, crc, sizes, name length, extra length
        fields = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0x21, crc, len(packed), size, len(name), 0)
        body += b"PK\x03\x04" + fields + name + packed
        central += (
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + fields
            + struct.pack("<HHHII", 0, 0, 0, 0, offset)
            + name
        )
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(body), 0)
    path.write_bytes(bytes(body + central + b"PK\x05\x06" + end))


def members_of(path: pathlib.Path) -> list[Member]:
    with zipfile.ZipFile(path) as zf:
        return [Member(i.filename, zf.read(i)) for i in zf.infolist()]


def replaced(
    members: list[Member], name: str, data: bytes, declared: int | None = None
) -> list[Member]:
    out = [Member(name, data, declared) if m.name == name else m for m in members]
    if not any(m.name == name for m in members):
        raise KeyError(name)
    return out


SHEET = "xl/worksheets/sheet1.xml"
XML_DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def with_doctype(sheet: bytes, doctype: bytes, cell_text: bytes, padding: bytes = b"") -> bytes:
    """The sheet with a DTD after its declaration and an entity used in cell A2."""
    if not sheet.startswith(XML_DECL):
        raise ValueError("unexpected sheet XML from LibreOffice")
    rest = sheet[len(XML_DECL) :]
    start = rest.index(b'<c r="A2"')
    end = rest.index(b"</c>", start) + len(b"</c>")
    inline = b'<c r="A2" t="inlineStr"><is><t>' + cell_text + b"</t></is></c>"
    return XML_DECL + padding + doctype + rest[:start] + inline + rest[end:]


def hostile_workbooks(out: pathlib.Path) -> None:
    base = members_of(out / "lo-clean-q1.xlsx")
    sheet = next(m.data for m in base if m.name == SHEET)

    laughs = [b'<!ENTITY lol0 "lol">']
    laughs += [
        b'<!ENTITY lol%d "%s">' % (i, b"".join(b"&lol%d;" % (i - 1) for _ in range(10)))
        for i in range(1, 10)
    ]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(laughs) + b"]>"
    write_zip(
        out / "hostile-billion-laughs.xlsx",
        replaced(base, SHEET, with_doctype(sheet, doctype, b"&lol9;")),
    )

    xxe = b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    write_zip(out / "hostile-xxe.xlsx", replaced(base, SHEET, with_doctype(sheet, xxe, b"&xxe;")))

    # The same external entity, after a comment that pushes it past the first 4 KB.
    comment = b"<!--" + b" Rapport korttidssjukfr\xc3\xa5nvaro." * 200 + b"-->"
    write_zip(
        out / "hostile-dtd-late.xlsx",
        replaced(base, SHEET, with_doctype(sheet, xxe, b"&xxe;", padding=comment)),
    )

    # A zip bomb: 20 MB of whitespace in the sheet compresses about 1000:1.
    pad = b" " * (20 << 20)
    bomb = sheet.replace(b"</sheetData>", b"</sheetData>" + pad)
    write_zip(out / "hostile-zip-bomb-ratio.xlsx", replaced(base, SHEET, bomb))

    # Headers that lie: the sheet says 4 KB and inflates to 8 MB.
    lie = sheet.replace(b"</sheetData>", b"</sheetData>" + b" " * (8 << 20))
    write_zip(out / "hostile-zip-bomb-lying-size.xlsx", replaced(base, SHEET, lie, 4096))

    # Headers that declare 3 GiB for one member (more than the whole-file limit).
    write_zip(
        out / "hostile-zip-bomb-declared.xlsx",
        replaced(base, "xl/sharedStrings.xml", _member(base, "xl/sharedStrings.xml"), 3 << 30),
    )

    # Two stray cells make the grid 1,048,576 rows x 16,384 columns.
    sparse = sheet.replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>',
    ).replace(b'<dimension ref="A1:G10"/>', b'<dimension ref="A1:XFD1048576"/>')
    write_zip(out / "hostile-sparse-grid.xlsx", replaced(base, SHEET, sparse))

    # Macros: a stand-in vbaProject.bin (an OLE2 header, VBA text), wired up as Excel does,
    # in an .xlsm and the same file renamed to .xlsx.
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Attribute VB_Name" * 8
    types = _member(base, "[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    types = types.replace(
        b"</Types>",
        b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    rels = _member(base, "xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/'
        b'vbaProject" Target="vbaProject.bin"/></Relationships>',
    )
    macro = replaced(
        replaced(base, "[Content_Types].xml", types), "xl/_rels/workbook.xml.rels", rels
    )
    write_zip(out / "hostile-macros.xlsm", [*macro, Member("xl/vbaProject.bin", vba)])
    shutil.copyfile(out / "hostile-macros.xlsm", out / "hostile-macros-renamed.xlsx")

    # A Word document named .xlsx: a zip, but no workbook in it.
    write_zip(
        out / "hostile-docx-named.xlsx",
        [
            Member(
                "[Content_Types].xml",
                b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                b'package/2006/content-types"><Override PartName="/word/document.xml" ContentType='
                b'"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
                b"</Types>",
            ),
            Member(
                "word/document.xml",
                b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
                b'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Utfall Q1'
                b"</w:t></w:r></w:p></w:body></w:document>",
            ),
        ],
    )

    # The first half of a real workbook, as a broken upload leaves it.
    data = (out / "lo-clean-q1.xlsx").read_bytes()
    (out / "hostile-truncated.xlsx").write_bytes(data[: len(data) // 2])

    # An old-style .xls renamed to .xlsx.
    shutil.copyfile(out / "lo-clean-q1.xls", out / "hostile-xls-named.xlsx")


def _member(members: list[Member], name: str) -> bytes:
    return next(m.data for m in members if m.name == name)


# ---- files that are not spreadsheets -------------------------------------------------


def minimal_pdf() -> bytes:
    text = b"BT /F1 12 Tf 72 720 Td (Utfallsrapport 2025-Q1) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def not_spreadsheets(out: pathlib.Path) -> None:
    (out / "hostile-pdf-named.xlsx").write_bytes(minimal_pdf())
    (out / "hostile-empty.xlsx").write_bytes(b"")
    (out / "hostile-empty.csv").write_bytes(b"")
    noise = bytearray(random.Random(20250401).randbytes(4096))
    noise[:4] = b"\x8f\x13\x00\x7f"  # not PK, not an OLE header: plain binary noise
    (out / "hostile-random.ods").write_bytes(bytes(noise))


# ---- csv as Excel and other programs write it ----------------------------------------


def _lines(rows: Sequence[Sequence[str]], sep: str) -> str:
    return "".join(sep.join(r) + "\r\n" for r in rows)


def csv_files(out: pathlib.Path) -> None:
    # Excel, Swedish locale, "CSV (semikolonavgränsad)": Windows-1252, ; and decimal comma.
    semicolon = [
        HEADER_SV,
        ["U01", "E1001", "2025-01", "intervention", "160", "8,5", "0"],
        ["U01", "E1002", "2025-01", "intervention", "152", "0", "16"],
        ["U20", "Å2001", "2025-02", "comparison", "165,5", "12,25", "0"],
        ["U20", "E2002", "2025-03", "comparison", "120,0", "0", "0"],
    ]
    (out / "excel-semicolon-cp1252.csv").write_bytes(_lines(semicolon, ";").encode("cp1252"))

    # Tab-separated, UTF-8 with a byte-order mark (Excel "CSV UTF-8"/Numbers export).
    tab = [
        HEADER,
        ["U01", "E1001", "2025-1", "intervention", "160", "8.5", "0"],
        ["U01", "Ö1002", "2025-02", "intervention", "152", "0", "16"],
        ["U20", "E2001", "2025-03", "comparison", "168", "0", "0"],
    ]
    text = _lines(tab, "\t")
    (out / "tab-utf8-bom.csv").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))

    # Comma-separated UTF-8 from a script, with problems: a quoted unit with a comma in
    # it (valid), month 13, text in a number column, an empty required cell, a month
    # outside the quarter and a number in `1,234` form.
    comma = (
        "unit_id,employee_id,month,group,scheduled_hours,short_sick_hours,long_sick_hours\n"
        '"Enhet 1, Norr",E1001,2025-01,intervention,160,8.5,0\n'
        "U01,E1002,2025-13,intervention,152,0,16\n"
        "U01,E1003,2025-02,intervention,abc,0,0\n"
        "U20,E2001,2025-02,,160,0,0\n"
        "U20,E2002,2025-04,comparison,160,0,0\n"
        'U20,E2003,2025-03,comparison,"1,234",0,0\n'
    )
    (out / "comma-utf8.csv").write_bytes(comma.encode("utf-8"))

    # Excel "Unicode text": UTF-16 little-endian with BOM, tab-separated, Swedish headers.
    unicode_rows = [
        HEADER_SV,
        ["U01", "E1001", "2025-01", "intervention", "160", "8,5", "0"],
        ["U20", "E2001", "2025-02", "comparison", "152", "0", "16"],
    ]
    (out / "excel-unicode-text.txt").write_bytes(
        codecs.BOM_UTF16_LE + _lines(unicode_rows, "\t").encode("utf-16-le")
    )


def other_writers(out: pathlib.Path) -> None:
    """The formula-error workbook as other programs write its worksheet XML."""
    base = members_of(out / "lo-formula-errors.xlsx")
    sheet = _member(base, SHEET)
    if not sheet.startswith(XML_DECL):
        raise ValueError("unexpected sheet XML from LibreOffice")
    body = sheet[len(XML_DECL) :]
    # The OpenXML SDK (.NET) writes every element with an `x:` namespace prefix.
    prefixed = re.sub(rb"<(/?)([A-Za-z]+)([ >/])", rb"<\1x:\2\3", body).replace(
        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
        b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
    )
    write_zip(out / "writer-sdk-prefixed.xlsx", replaced(base, SHEET, XML_DECL + prefixed))
    # Streaming writers may leave out the optional r= of rows and cells (ECMA-376 allows
    # it): every cell then sits at the next position.
    bare = re.sub(rb'<(c|row) r="[A-Z]*\d+"', rb"<\1", body)
    write_zip(out / "writer-no-cell-refs.xlsx", replaced(base, SHEET, XML_DECL + bare))


def script_workbook(out: pathlib.Path) -> None:
    """A workbook written by a script (openpyxl): the formula has no cached value."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(HEADER)
    ws.append(["U01", "E1001", "2025-01", "intervention", 160, "=E2*0.05", 0])
    ws.append(["U01", "E1002", "2025-01", "intervention", 152, 0, 16])
    path = out / "writer-openpyxl-formula-no-value.xlsx"
    wb.save(path)
    # openpyxl stamps the time; pin it so that regenerating changes nothing needlessly.
    fixed = [
        Member(
            m.name,
            m.data
            if m.name != "docProps/core.xml"
            else b'<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://'
            b'schemas.openxmlformats.org/package/2006/metadata/core-properties"/>',
        )
        for m in members_of(path)
    ]
    write_zip(path, fixed)


# ---- main ----------------------------------------------------------------------------


def build(out: pathlib.Path, profile: pathlib.Path) -> list[pathlib.Path]:
    if shutil.which("soffice") is None:
        raise RuntimeError("soffice (LibreOffice) is not on PATH")
    out.mkdir(parents=True, exist_ok=True)
    old = [p for p in out.iterdir() if p.is_file()]
    if old and out != DEFAULT_OUT:
        raise RuntimeError(f"{out} is not empty; give a new or empty folder")
    for p in old:  # the corpus folder is made anew, so a renamed case leaves nothing behind
        p.unlink()
    with tempfile.TemporaryDirectory(prefix="corpus-src-") as tmp:
        src = pathlib.Path(tmp)
        for name, sheets in SOURCES.items():
            (src / f"{name}.fods").write_text(fods(sheets), encoding="utf-8")
        for target, names in LO_TARGETS.items():
            convert(profile, target, [src / f"{n}.fods" for n in names], out)
        for name, (source, filt, how) in ENCRYPTED.items():
            save_with_password(profile, src / f"{source}.fods", out / name, filt, how)
    hostile_workbooks(out)
    not_spreadsheets(out)
    csv_files(out)
    other_writers(out)
    script_workbook(out)
    return sorted(p for p in out.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    parser.add_argument("--profile", type=pathlib.Path, default=DEFAULT_PROFILE)
    args = parser.parse_args(argv)
    files = build(args.out.resolve(), args.profile.resolve())
    total = sum(p.stat().st_size for p in files)
    for p in files:
        print(f"{p.stat().st_size:>8}  {p.name}")
    print(f"{total:>8}  bytes in {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
