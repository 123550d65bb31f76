"""Reading outcome files (contracts.outcome_sheet): spreadsheets, csv, hostile files.

Every file is built here, small, in tmp_path: workbooks with openpyxl, archives by hand.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import pathlib
import struct
import time
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook, XmlError

from contracts.outcome_sheet import validate_file
from contracts.validate import ValidationReport
from tests.test_validate import HEADER, SICK_LEAVE, contract_of, pairs, row

CONTRACT = contract_of()
SWEDISH = [
    "Enhet",
    "Anställnings-id",
    "Månad",
    "Grupp",
    "Schemalagda timmar",
    "korttidsfrånvaro_timmar",
    " LÅNGTIDSFRÅNVARO TIMMAR ",
]


def xlsx(
    path: pathlib.Path,
    rows: list[list[Any]],
    *,
    at: str = "A1",
    title: str = "Data",
    before: list[str] | None = None,
) -> pathlib.Path:
    """A workbook whose data sheet has `rows` starting at cell `at`."""
    wb = openpyxl.Workbook()
    first = wb.active
    assert first is not None
    if before is not None:
        first.title = "Instruktioner"
        for i, line in enumerate(before, 1):
            first.cell(i, 1, line)
        ws = wb.create_sheet(title)
    else:
        first.title = title
        ws = first
    col0, row0 = openpyxl.utils.cell.coordinate_from_string(at)
    c0 = openpyxl.utils.cell.column_index_from_string(col0)
    for r, values in enumerate(rows):
        for c, v in enumerate(values):
            if v not in ("", None):
                ws.cell(row0 + r, c0 + c, v)
    wb.save(path)
    return path


def run(path: pathlib.Path, **kw: Any) -> tuple[ValidationReport, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    report = validate_file(CONTRACT, path, on_row=lambda _n, r: seen.append(r), **kw)
    json.dumps(report.to_dict())  # always serialisable
    return report, seen


def refused(report: ValidationReport) -> list[str]:
    assert not report.valid and report.rows == 0
    return [i.code for i in report.errors]


# ---- spreadsheets ----------------------------------------------------------------------


def test_clean_workbook(tmp_path: pathlib.Path) -> None:
    path = xlsx(tmp_path / "q1.xlsx", [HEADER, row("E1"), row("E2", short_sick_hours=2.5)])
    report, seen = run(path)
    assert report.valid and report.rows == 2 and report.sheet == "Data"
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert report.totals["short_sick_hours"] == Decimal("10.5")
    assert seen[1]["short_sick_hours"] == Decimal("2.5")


def test_title_rows_instruction_sheet_and_table_at_b4(tmp_path: pathlib.Path) -> None:
    rows = [
        ["Sjukfrånvaro per månad, Q1 2025"],
        [],
        HEADER,
        row("E1"),
        row("E2", short_sick_hours=31.5, scheduled_hours=24.0),
        [],
        row("E3", scheduled_hours="x"),
    ]
    path = xlsx(tmp_path / "q1.xlsx", rows, at="B2", before=["Fyll i fliken Data.", "Tack!"])
    report, seen = run(path)
    assert report.sheet == "Data"
    assert pairs(report) == [("G6", "range-max"), (6, "row-check"), ("F8", "cell-type")]
    assert report.errors[0].location.sheet == "Data" and report.rows == 3
    assert len(seen) == 1


def test_swedish_headers_and_preferred_sheet(tmp_path: pathlib.Path) -> None:
    wb = openpyxl.Workbook()
    other = wb.active
    assert other is not None
    other.title = "Gammal"
    other.append(HEADER)
    other.append(row("OLD"))
    data = wb.create_sheet("Utfall")
    data.append([*SWEDISH, "Kommentar"])
    data.append([*row("E1"), "ok"])
    wb.save(tmp_path / "utfall.xlsx")
    contract = contract_of(SICK_LEAVE.replace("  grain:", "  sheet: utfall\n  grain:"))
    seen: list[dict[str, Any]] = []
    report = validate_file(contract, tmp_path / "utfall.xlsx", on_row=lambda _n, r: seen.append(r))
    assert report.valid and report.sheet == "Utfall"
    assert [w.code for w in report.warnings] == ["header-unknown"]
    assert seen[0]["employee_id"] == "E1"


def test_header_problems(tmp_path: pathlib.Path) -> None:
    header = ["unit_id", "employee_id", "Månad", "month", "scheduled_hours", "short_sick_hours"]
    path = xlsx(tmp_path / "h.xlsx", [header, [*row("E1")[:3], "2025-02", "1", "0"]])
    report, seen = run(path)
    assert [(i.location.cell, i.location.field, i.code) for i in report.errors] == [
        ("D1", "month", "header-duplicate"),
        (None, "group", "header-missing"),
        (None, "long_sick_hours", "header-missing"),
    ]
    assert seen == []


def test_no_header_anywhere(tmp_path: pathlib.Path) -> None:
    report, _ = run(xlsx(tmp_path / "x.xlsx", [["a", "b"], [1, 2]]))
    assert refused(report) == ["header-not-found"]


def test_excel_dates_serials_and_error_cells(tmp_path: pathlib.Path) -> None:
    path = xlsx(
        tmp_path / "d.xlsx",
        [
            HEADER,
            row("E1", month=datetime.date(2025, 1, 1)),
            row("E2", month=45689),  # a serial: 2025-02-01
            row("E3", long_sick_hours="#N/A"),  # openpyxl writes an error cell
            row("E4", long_sick_hours="=1/0"),  # a formula saved without its value
            row("E5", long_sick_hours="#DIV/0! "),  # text that merely looks like one
        ],
    )
    report, seen = run(path)
    assert pairs(report) == [("G4", "cell-error"), ("G5", "formula-no-value"), ("G6", "cell-error")]
    assert [r["month"] for r in seen] == [datetime.date(2025, 1, 1), datetime.date(2025, 2, 1)]


def test_booleans_in_a_number_column_after_ones(tmp_path: pathlib.Path) -> None:
    rows = [HEADER] + [row(f"E{i}", long_sick_hours=1.0) for i in range(5)]
    rows.append(row("E9", long_sick_hours=True))
    report, _ = run(xlsx(tmp_path / "b.xlsx", rows))
    assert pairs(report) == [("G7", "cell-type")]


def test_progress_is_reported(tmp_path: pathlib.Path) -> None:
    rows = [HEADER] + [row(f"E{i}") for i in range(25_000)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(",".join(r) for r in rows), encoding="utf-8")
    calls: list[tuple[int, int | None]] = []
    report = validate_file(CONTRACT, path, progress=lambda n, total: calls.append((n, total)))
    assert report.valid and report.rows == 25_000
    assert calls == [(10_000, None), (20_000, None)]


# ---- csv -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_encodings_and_delimiters(
    tmp_path: pathlib.Path, encoding: str, delimiter: str
) -> None:
    decimal_comma = delimiter != ","
    lines = [
        "Rapport från Överums vårdcentral",
        delimiter.join(SWEDISH),
        delimiter.join(
            row("Å1", unit_id="Överum", scheduled_hours="152,5" if decimal_comma else "152.5")
        ),
        delimiter.join(row("Å2", unit_id="Överum")),
    ]
    path = tmp_path / "q1.csv"
    path.write_bytes("\r\n".join(lines).encode(encoding))
    report, seen = run(path)
    assert report.valid, report.errors
    assert report.sheet is None and report.rows == 2
    assert seen[0]["unit_id"] == "Överum" and seen[0]["employee_id"] == "Å1"
    assert report.totals["scheduled_hours"] == Decimal("312.5")


def test_csv_cell_references_and_quoted_fields(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "q1.csv"
    path.write_text(
        ";".join(HEADER) + "\n"
        + ";".join(row("E1")) + "\n"
        + '"U1";"E2";"2025-01";"intervention";"1 234,5";"1,234";"0"\n',
        encoding="utf-8",
    )  # fmt: skip
    report, _ = run(path)
    assert pairs(report) == [("F3", "cell-ambiguous")]


def test_windows_1252_detected_beyond_the_first_bytes(tmp_path: pathlib.Path) -> None:
    # ASCII for the first 100 KB, then one Å: the whole file is judged, not its start.
    rows = [",".join(HEADER)] + [",".join(row(f"E{i}")) for i in range(3000)]
    rows.append(",".join(row("Å1", unit_id="Överum")))
    path = tmp_path / "q1.csv"
    path.write_bytes("\n".join(rows).encode("cp1252"))
    report, seen = run(path)
    assert report.valid and seen[-1]["unit_id"] == "Överum"


def test_bytes_that_are_no_text_at_all(tmp_path: pathlib.Path) -> None:
    rows = [",".join(HEADER)] + [",".join(row(f"E{i}")) for i in range(3000)]
    path = tmp_path / "q1.csv"
    path.write_bytes("\n".join(rows).encode() + b"\nU1,E\x81\xff,2025-01,intervention,1,0,0\n")
    assert refused(run(path)[0]) == ["file-encoding"]


def test_utf16_text_as_excel_saves_unicode_text(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "q1.txt"
    lines = ["\t".join(SWEDISH), "\t".join(row("Å1", scheduled_hours="12,5"))]
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    report, seen = run(path)
    assert report.valid and seen[0]["scheduled_hours"] == Decimal("12.5")


# ---- hostile and wrong files: one clear issue each, never an exception ----------------


def _minimal_xlsx(sheet_xml: str) -> dict[str, str]:
    return {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
        '.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd'
        '.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl'
        '/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats'
        '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
        'workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats'
        '.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"'
        "/></sheets></workbook>",
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
        '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
    }


def _zip(path: pathlib.Path, members: dict[str, str | bytes]) -> pathlib.Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


ENTITY_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + '<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t='
    '"inlineStr"><is><t>&j;</t></is></c><c r="B1" t="inlineStr"><is><t>&xxe;</t></is></c>'
    "</row></sheetData></worksheet>"
)


def test_pdf_named_xlsx(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "q1.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    assert refused(run(path)[0]) == ["file-not-spreadsheet"]


def test_word_document_named_xlsx_and_unknown_types(tmp_path: pathlib.Path) -> None:
    doc = _zip(tmp_path / "q1.xlsx", {"[Content_Types].xml": "<Types/>", "word/document.xml": "x"})
    assert refused(run(doc)[0]) == ["file-not-spreadsheet"]
    other = tmp_path / "q1.json"
    other.write_text("{}")
    assert refused(run(other)[0]) == ["file-not-spreadsheet"]
    zipped = _zip(tmp_path / "q1.csv", {"a.txt": "x"})
    assert refused(run(zipped)[0]) == ["file-not-spreadsheet"]


def test_truncated_zip(tmp_path: pathlib.Path) -> None:
    good = xlsx(tmp_path / "good.xlsx", [HEADER, row("E1")])
    path = tmp_path / "q1.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert refused(run(path)[0]) == ["file-corrupt"]


def test_zip_bomb_by_ratio(tmp_path: pathlib.Path) -> None:
    members: dict[str, str | bytes] = dict(_minimal_xlsx("<worksheet/>"))
    members["xl/sharedStrings.xml"] = b"<sst>" + b" " * (8 << 20) + b"</sst>"
    assert refused(run(_zip(tmp_path / "q1.xlsx", members))[0]) == ["file-hostile"]


def _patch_sizes(path: pathlib.Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size of `member` in its local and central headers."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(sig, at)) != -1:
            name_at = at + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[at + offset : at + offset + 4] = struct.pack("<I", size)
            at += 4
    path.write_bytes(bytes(data))


def test_zip_bomb_by_declared_size(tmp_path: pathlib.Path) -> None:
    path = xlsx(tmp_path / "q1.xlsx", [HEADER, row("E1")])
    _patch_sizes(path, "xl/styles.xml", 0xFFFF_FF00)  # ~4 GiB declared
    assert refused(run(path)[0]) == ["file-hostile"]


def test_member_that_expands_beyond_its_declared_size(tmp_path: pathlib.Path) -> None:
    path = xlsx(tmp_path / "q1.xlsx", [HEADER] + [row(f"E{i}") for i in range(50)])
    _patch_sizes(path, "xl/worksheets/sheet1.xml", 100)
    assert refused(run(path)[0]) == ["file-hostile"]


def test_sparse_grid_that_would_exhaust_memory(tmp_path: pathlib.Path) -> None:
    # Two cells, 5 KB on disk; calamine would allocate 200,000 × 16,384 cells and abort.
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADER)
    ws["XFD200000"] = "x"
    wb.save(tmp_path / "q1.xlsx")
    report, _ = run(tmp_path / "q1.xlsx")
    assert refused(report) == ["file-hostile"] and report.errors[0].location.sheet == "Sheet"


def test_macros_are_refused(tmp_path: pathlib.Path) -> None:
    good = xlsx(tmp_path / "good.xlsx", [HEADER, row("E1")])
    xlsm = tmp_path / "q1.xlsm"
    xlsm.write_bytes(good.read_bytes())
    assert refused(run(xlsm)[0]) == ["file-macros"]
    members: dict[str, str | bytes] = dict(_minimal_xlsx("<worksheet/>"))
    members["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0"
    assert refused(run(_zip(tmp_path / "q2.xlsx", members))[0]) == ["file-macros"]


def test_encrypted_workbook(tmp_path: pathlib.Path) -> None:
    # An encrypted xlsx is an OLE2 compound file holding an EncryptedPackage stream.
    ole = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024)
    ole += "EncryptionInfo".encode("utf-16-le") + b"\0" * 64
    ole += "EncryptedPackage".encode("utf-16-le") + b"\0" * 4096
    path = tmp_path / "q1.xlsx"
    path.write_bytes(bytes(ole))
    assert refused(run(path)[0]) == ["file-encrypted"]


def test_xml_entity_bomb_is_refused(tmp_path: pathlib.Path) -> None:
    path = _zip(tmp_path / "q1.xlsx", dict(_minimal_xlsx(ENTITY_BOMB)))
    started = time.monotonic()
    assert refused(run(path)[0]) == ["file-hostile"]
    assert time.monotonic() - started < 2


def test_calamine_itself_does_not_expand_entities(tmp_path: pathlib.Path) -> None:
    # Defence in depth: even past our guard, calamine's XML reader has no DTD support.
    path = _zip(tmp_path / "q1.xlsx", dict(_minimal_xlsx(ENTITY_BOMB)))
    started = time.monotonic()
    with pytest.raises(XmlError):
        book = CalamineWorkbook.from_path(str(path))
        list(book.get_sheet_by_index(0).iter_rows())
    assert time.monotonic() - started < 2


def test_opendocument_spreadsheet(tmp_path: pathlib.Path) -> None:
    def cell(v: str) -> str:
        return (
            f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
        )

    table = "".join(
        "<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>"
        for r in [["Rapport"], HEADER, row("E1"), row("E2", group="x")]
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis'
        ':names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument'
        ':xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Data">'
        f"{table}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
        'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml"'
        ' manifest:media-type="text/xml"/></manifest:manifest>'
    )
    path = _zip(
        tmp_path / "q1.ods",
        {
            "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": content,
            "META-INF/manifest.xml": manifest,
        },
    )
    report, seen = run(path)
    assert pairs(report) == [("D4", "enum-value")] and report.sheet == "Data"
    assert [r["employee_id"] for r in seen] == ["E1"]
