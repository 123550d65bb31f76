"""The annotated copy a provider opens to fix a file (contracts.annotate).

Files with known problems are validated, annotated, and the copy is read back with
openpyxl: red cells are exactly the reported cells, comments carry the codes, the
summary's counts are the report's, provider text never becomes a formula, and a
personal identity number never comes back in full.
"""

from __future__ import annotations

import pathlib
from typing import Any

import openpyxl
import pytest

from contracts import annotate
from contracts.annotate import AMBER, RED, write_annotated
from contracts.outcome_sheet import validate_file
from contracts.periods import Period, find
from contracts.settle import term_periods
from contracts.validate import ValidationReport
from tests.test_template import sample

CONTRACT, _, Q1 = sample("sick-leave")
HEADER = [
    "unit_id",
    "employee_id",
    "month",
    "group",
    "scheduled_hours",
    "short_sick_hours",
    "long_sick_hours",
]
PNR = "19121212-1212"  # Skatteverket's test number: a valid personnummer
ROWS: list[list[Any]] = [
    ["U1", "E1", "2025-01", "intervention", 160, 8, 0],  # row 4: fine
    ["=SUM(A1)", "E2", "2025-01", "interv", 160, 8, 0],  # 5: enum-value; formula-like text
    ["@cmd", PNR, "2025-02", "comparison", 160, 500, 0],  # 6: personnummer, range-max, row-check
    ["+46701234567", "E4", "2025-02", "comparison", "abc", 8, 0],  # 7: cell-type
    ["-U1", "E1", "2025-01", "intervention", 160, 8, 0],  # 8: duplicate-key
    ["Summa", None, None, None, 640, 532, 0],  # 9: totals-row
]


def workbook(path: pathlib.Path, rows: list[list[Any]] = ROWS) -> pathlib.Path:
    """A provider's file: a title in B1, the table from B3, text kept as text."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Data"
    ws["B1"] = "Sjukfrånvaro Q1"
    for r, row in enumerate([HEADER, *rows], 3):
        for c, value in enumerate(row, 2):
            if value is not None:
                cell = ws.cell(r, c, value)
                if isinstance(value, str):
                    cell.data_type = "s"  # as the provider typed it, not a formula
    wb.save(path)
    return path


def annotated(
    tmp_path: pathlib.Path, source: pathlib.Path, period: Period | None = Q1, **kw: Any
) -> tuple[ValidationReport, openpyxl.Workbook]:
    report = validate_file(CONTRACT, source, period=period, **kw)
    out = tmp_path / "annotated.xlsx"
    write_annotated(CONTRACT, source, report, out)
    return report, openpyxl.load_workbook(out)


def filled(ws: Any, fill: Any) -> set[str]:
    return {
        c.coordinate
        for row in ws.iter_rows()
        for c in row
        if c.fill.fill_type == "solid" and c.fill.fgColor.rgb[-6:] == fill.fgColor.rgb[-6:]
    }


def summary_table(ws: Any, first: str) -> list[tuple[Any, ...]]:
    """The rows under the heading row whose first cell is `first`, up to a blank row."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first)
    out = []
    for r in rows[start + 1 :]:
        if r[0] is None:
            break
        out.append(r)
    return out


def test_red_cells_are_exactly_the_reported_cells(tmp_path: pathlib.Path) -> None:
    report, wb = annotated(tmp_path, workbook(tmp_path / "q1.xlsx"))
    assert [(i.location.cell or f"row {i.location.row}", i.code) for i in report.errors] == [
        ("E5", "enum-value"),
        ("C6", "personnummer"),
        ("G6", "range-max"),
        ("row 6", "row-check"),
        ("F7", "cell-type"),
        ("C8", "duplicate-key"),
        ("row 9", "totals-row"),
    ]
    assert wb.sheetnames == ["Sammanfattning", "Data"]
    ws = wb["Data"]
    assert filled(ws, RED) == {i.location.cell for i in report.errors if i.location.cell}
    # Whole-row problems mark the row's first cell (the table starts in column B).
    assert filled(ws, AMBER) == {"B6", "B9"}
    for issue in report.errors:
        cell = issue.location.cell or f"B{issue.location.row}"
        comment = ws[cell].comment
        assert comment is not None and f"{issue.code}: " in comment.text, cell
    assert ws.freeze_panes == "A4"
    assert ws["B3"].font.b and ws["B3"].value == "unit_id"


def test_same_cells_as_the_original(tmp_path: pathlib.Path) -> None:
    source = workbook(tmp_path / "q1.xlsx")
    _, wb = annotated(tmp_path, source)
    original = openpyxl.load_workbook(source)["Data"]
    copy = wb["Data"]
    for row in original.iter_rows():
        for cell in row:
            expected = "19121212-****" if cell.value == PNR else cell.value
            assert copy[cell.coordinate].value == expected, cell.coordinate
    assert copy["B1"].value == "Sjukfrånvaro Q1"
    assert copy.max_row == original.max_row


def test_provider_text_never_becomes_a_formula(tmp_path: pathlib.Path) -> None:
    _, wb = annotated(tmp_path, workbook(tmp_path / "q1.xlsx"))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    ws = wb["Data"]
    for ref, text in [("B5", "=SUM(A1)"), ("B6", "@cmd"), ("B7", "+46701234567"), ("B8", "-U1")]:
        assert ws[ref].value == text and ws[ref].data_type == "s"
        assert ws[ref].quotePrefix  # Excel keeps it text when the cell is edited


def test_a_personnummer_is_masked_everywhere(tmp_path: pathlib.Path) -> None:
    _, wb = annotated(tmp_path, workbook(tmp_path / "q1.xlsx"))
    values = [str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v]
    assert not any("1212-1212" in v or "121212121" in v for v in values)
    assert wb["Data"]["C6"].value == "19121212-****"
    summary = dict(r[:2] for r in wb["Sammanfattning"].iter_rows(values_only=True) if r[0])
    assert summary["Maskerade personnummer"] == 1


def test_summary_counts_are_the_reports(tmp_path: pathlib.Path) -> None:
    report, wb = annotated(tmp_path, workbook(tmp_path / "q1.xlsx"))
    ws = wb["Sammanfattning"]
    head = dict(r[:2] for r in ws.iter_rows(values_only=True, max_row=9) if r[0])
    assert head["Fil"] == report.file and head["SHA-256"] == report.sha256
    assert head["Giltig"] == "nej" and head["Rader"] == report.rows == 6
    assert head["Fel"] == sum(report.error_counts.values()) == 7
    counts = {code: (n, shown) for code, n, shown, *_ in summary_table(ws, "Kod")}
    assert {code: n for code, (n, _) in counts.items()} == report.error_counts
    assert all(n == shown for n, shown in counts.values())
    listed = summary_table(ws, "Blad")
    assert [(r[1], r[2], r[4]) for r in listed] == [
        (i.location.cell, i.location.row, i.code) for i in report.errors
    ]
    # Each issue links to its cell in the copy (a whole-row issue to the row's first cell).
    links = {c.value: c.hyperlink.location for row in ws.iter_rows() for c in row if c.hyperlink}
    assert links["E5"] == "'Data'!E5" and links[6] == "'Data'!B6"


def test_a_capped_report_shows_what_is_shown(tmp_path: pathlib.Path) -> None:
    rows = [["U1", f"E{i}", "2025-01", "bad", 160, 8, 0] for i in range(5)]
    report, wb = annotated(tmp_path, workbook(tmp_path / "q1.xlsx", rows), limit_errors=2)
    assert report.error_counts == {"enum-value": 5} and len(report.errors) == 2
    assert filled(wb["Data"], RED) == {"E4", "E5"}
    assert summary_table(wb["Sammanfattning"], "Kod") == [("enum-value", 5, 2, None, None, None)]


def test_csv_keeps_positions_and_neutralises_text(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "q1.csv"
    source.write_text(
        "Rapport från lönesystemet;;;;;;\n"
        + ";".join(HEADER)
        + "\n"
        + '=HYPERLINK("http://x");E1;2025-01;intervention;160;8;0\n'
        + "@SUM(1);E2;2025-02;grupp;160;8,5;0\n"
        + f"U3;{PNR};2025-03;comparison;160;8;0\n",
        encoding="utf-8",
    )
    report, wb = annotated(tmp_path, source)
    assert [(i.location.cell, i.code) for i in report.errors] == [
        ("D4", "enum-value"),
        ("B5", "personnummer"),
    ]
    ws = wb["Data"]
    assert filled(ws, RED) == {"B5", "D4"}
    assert ws["A1"].value == "Rapport från lönesystemet"
    assert ws["A3"].value == '=HYPERLINK("http://x")' and ws["A3"].data_type == "s"
    assert ws["A4"].value == "@SUM(1)" and ws["F4"].value == "8,5"
    assert ws["B5"].value == "19121212-****"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_a_large_file_copies_only_rows_with_issues(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(annotate, "FULL_COPY_ROWS", 3)
    report, wb = annotated(tmp_path, workbook(tmp_path / "q1.xlsx"))
    ws = wb["Data"]
    assert ws["B4"].value is None and ws["C4"].value is None  # row 4 has no issue
    assert ws["B3"].value == "unit_id" and ws["B1"].value == "Sjukfrånvaro Q1"
    assert ws["E5"].value == "interv" and ws["C8"].value == "E1"  # at their own rows
    assert filled(ws, RED) == {i.location.cell for i in report.errors if i.location.cell}
    text = " ".join(str(v) for r in wb["Sammanfattning"].iter_rows(values_only=True) for v in r)
    assert "visar bara raderna fram till rubriken och de 5 rader som har fel" in text


def test_a_refused_file_gets_a_summary_only(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "q1.xlsx"
    source.write_bytes(b"%PDF-1.4 this is not a workbook")
    report, wb = annotated(tmp_path, source)
    assert [i.code for i in report.errors] == ["file-not-spreadsheet"]
    assert wb.sheetnames == ["Sammanfattning"]
    assert summary_table(wb["Sammanfattning"], "Kod") == [
        ("file-not-spreadsheet", 1, 1, None, None, None)
    ]


def test_english_and_a_spreadsheet_error_value(tmp_path: pathlib.Path) -> None:
    rows = [["U1", "E1", "2025-01", "intervention", "#N/A", 8, 0]]
    source = workbook(tmp_path / "q1.xlsx", rows)
    wb = openpyxl.load_workbook(source)
    wb["Data"]["F4"].data_type = "e"  # an error cell, as Excel saves #N/A
    wb.save(source)
    report = validate_file(CONTRACT, source, period=find(term_periods(CONTRACT), "2025-Q1"))
    assert [(i.location.cell, i.code) for i in report.errors] == [("F4", "cell-error")]
    out = tmp_path / "annotated.xlsx"
    write_annotated(CONTRACT, source, report, out, lang="en")
    copy = openpyxl.load_workbook(out)
    assert copy.sheetnames == ["Summary", "Data"]
    assert copy["Data"]["F4"].value == "#N/A" and filled(copy["Data"], RED) == {"F4"}
    assert summary_table(copy["Summary"], "Code") == [("cell-error", 1, 1, None, None, None)]


def test_a_missing_column_marks_the_header_row(tmp_path: pathlib.Path) -> None:
    rows = [row[:-1] for row in ROWS[:1]]
    source = tmp_path / "q1.xlsx"
    workbook(source, [])
    wb = openpyxl.load_workbook(source)
    wb["Data"].delete_cols(8)  # long_sick_hours
    for c, value in enumerate(rows[0], 2):
        wb["Data"].cell(4, c, value)
    wb.save(source)
    report, copy = annotated(tmp_path, source)
    assert [(i.location.cell, i.location.row, i.code) for i in report.errors] == [
        (None, 3, "header-missing")
    ]
    assert filled(copy["Data"], AMBER) == {"B3"} and filled(copy["Data"], RED) == set()
    comment = copy["Data"]["B3"].comment
    assert comment is not None and comment.text.startswith("header-missing: ")


def test_a_csv_that_breaks_off_is_copied_up_to_the_break(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "q1.csv"
    good = "U1,E1,2025-01,intervention,160,8,0\n"
    source.write_text(",".join(HEADER) + "\n" + good + '"' + "x" * 200_000 + '",E2\n' + good)
    report, wb = annotated(tmp_path, source)
    assert [i.code for i in report.errors] == ["file-corrupt"]
    assert wb["Data"]["A2"].value == "U1" and wb["Data"].max_row == 2
    text = " ".join(str(v) for r in wb["Sammanfattning"].iter_rows(values_only=True) for v in r)
    assert "Kopian slutar vid rad 2" in text


def test_comments_mask_too(tmp_path: pathlib.Path) -> None:
    _, wb = annotated(tmp_path, workbook(tmp_path / "q1.xlsx"))
    comments = [c.comment.text for row in wb["Data"].iter_rows() for c in row if c.comment]
    assert len(comments) == 7 and not any("1212-1212" in t for t in comments)
