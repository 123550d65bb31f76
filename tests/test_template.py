"""The provider's reporting template (contracts.template).

Its sheets and rules are checked literally, and then against the validator: a template
filled with good rows validates clean, and for every data validation in the template a
value it refuses is refused by `validate_file` too, with the matching code at that cell.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.datavalidation import DataValidation

from contracts.contract_file import read_contract
from contracts.model import Contract
from contracts.outcome_sheet import validate_file
from contracts.periods import Period, find
from contracts.settle import term_periods
from contracts.template import (
    LAST_ROW,
    MARKER_SHEET,
    marker_values,
    read_marker,
    serial,
    write_template,
)
from tests.helpers import contract_of

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = {
    "sick-leave": "2025-Q1",
    "school-support": "HT2025",
}
GOOD: dict[str, list[dict[str, Any]]] = {
    "sick-leave": [
        {
            "unit_id": "U01",
            "employee_id": "E1",
            "month": "2025-01",
            "group": "intervention",
            "scheduled_hours": 160,
            "short_sick_hours": 8,
            "long_sick_hours": 0,
        },
        {
            "unit_id": "U20",
            "employee_id": "E2",
            "month": "2025-03",
            "group": "comparison",
            "scheduled_hours": 152.5,
            "short_sick_hours": 12.5,
            "long_sick_hours": 24,
        },
    ],
    "school-support": [
        {
            "pupil_id": "P1",
            "school_id": "S1",
            "term": "HT2025",
            "grade_level": 8,
            "attendance_pct": 85.5,
            "grade_swedish": "E",
            "grade_math": "F",
            "grade_english": "A",
            "eligible_upper_secondary": True,
        },
        {
            "pupil_id": "P2",
            "school_id": "S1",
            "term": "HT2025",
            "grade_level": 9,
            "attendance_pct": 100,
            "grade_swedish": "F",
            "grade_math": "E",
            "grade_english": "D",
            "eligible_upper_secondary": "FALSKT",  # the list's value, as Swedish Excel types it
        },
    ],
}


def sample(name: str) -> tuple[Contract, str, Period]:
    loaded = read_contract(ROOT / "sample_data" / name / "contract.yaml")
    assert loaded.contract is not None
    period = find(term_periods(loaded.contract), SAMPLES[name])
    assert period is not None
    return loaded.contract, loaded.sha256, period


def template(tmp_path: pathlib.Path, name: str, lang: str = "sv") -> pathlib.Path:
    contract, sha, period = sample(name)
    path = tmp_path / f"{name}-{lang}.xlsx"
    write_template(contract, sha, period, path, lang=lang)
    return path


def fill(path: pathlib.Path, rows: list[dict[str, Any]], sheet: str = "Data") -> None:
    """Type `rows` into the template's data sheet under its header, from row 2."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    names = [c.value for c in ws[1]]
    for r, row in enumerate(rows, 2):
        for c, name in enumerate(names, 1):
            if row.get(name) is not None:
                ws.cell(r, c, row[name])
    wb.save(path)


def pairs(report: Any) -> list[tuple[str | None, str]]:
    return [(i.location.cell, i.code) for i in report.errors]


def validations(path: pathlib.Path) -> dict[str, DataValidation]:
    """The data sheet's validations by column letter."""
    ws = openpyxl.load_workbook(path)["Data"]
    out = {}
    for dv in ws.data_validations.dataValidation:
        (rng,) = dv.sqref.ranges
        assert rng.min_row == 2 and rng.max_row == LAST_ROW and rng.min_col == rng.max_col
        out[openpyxl.utils.get_column_letter(rng.min_col)] = dv
    return out


def rule(dv: DataValidation) -> tuple[Any, ...]:
    return (dv.type, dv.operator, dv.formula1, dv.formula2)


# ---- what the template holds ----------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize(("lang", "first"), [("sv", "Instruktioner"), ("en", "Instructions")])
def test_sheets_header_and_marker(tmp_path: pathlib.Path, name: str, lang: str, first: str) -> None:
    contract, sha, period = sample(name)
    path = template(tmp_path, name, lang)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [first, "Data", MARKER_SHEET]
    assert wb[MARKER_SHEET].sheet_state == "veryHidden"
    ws = wb["Data"]
    assert [c.value for c in ws[1]] == [c.name for c in contract.outcome_file.columns]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 1  # the template holds no data
    marker = read_marker(path)
    assert marker == marker_values(contract, sha, period, lang)
    assert marker["contract_id"] == contract.contract.id and marker["period"] == period.id
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["contract_sha256"] == sha
    assert list(tmp_path.glob(".*tmp")) == []  # written atomically, nothing left behind


def test_sick_leave_validations(tmp_path: pathlib.Path) -> None:
    dvs = validations(template(tmp_path, "sick-leave"))
    q1 = f"AND(ISNUMBER(C2),C2>={serial(date(2025, 1, 1))},C2<={serial(date(2025, 3, 31))})"
    assert {k: rule(v) for k, v in dvs.items()} == {
        "A": (None, None, None, None),  # text: an input message only
        "B": (None, None, None, None),
        "C": (
            "custom",
            None,
            'OR(AND(ISTEXT(C2),LEN(C2)=7,MID(C2,5,1)="-",ISNUMBER(-LEFT(C2,4)),'
            f'ISNUMBER(-RIGHT(C2,2)),C2>="2025-01",C2<="2025-03"),{q1})',
            None,
        ),
        "D": ("list", None, '"intervention,comparison"', None),
        "E": ("decimal", "between", "0", "400"),
        "F": ("custom", None, "AND(ISNUMBER(F2),F2>=0,OR(NOT(ISNUMBER(E2)),F2<=E2))", None),
        "G": ("custom", None, "AND(ISNUMBER(G2),G2>=0,OR(NOT(ISNUMBER(E2)),G2<=E2))", None),
    }
    assert "2025-Q1" in dvs["C"].prompt
    assert dvs["B"].prompt.endswith("Pseudonym – aldrig personnummer.")
    assert all(dv.showInputMessage and dv.promptTitle for dv in dvs.values())
    assert all(dv.showErrorMessage and dv.error for k, dv in dvs.items() if k not in "AB")


def test_school_support_validations(tmp_path: pathlib.Path) -> None:
    dvs = validations(template(tmp_path, "school-support"))
    grades = ("list", None, '"A,B,C,D,E,F"', None)
    assert {k: rule(v) for k, v in dvs.items()} == {
        "A": (None, None, None, None),
        "B": (None, None, None, None),
        "C": ("list", None, '"HT2025"', None),  # the period column: the period itself
        "D": ("whole", "between", "6", "9"),
        "E": ("decimal", "between", "0", "100"),
        "F": grades,
        "G": grades,
        "H": grades,
        "I": ("list", None, '"SANT,FALSKT"', None),
    }
    dvs_en = validations(template(tmp_path, "school-support", "en"))
    assert dvs_en["I"].formula1 == '"TRUE,FALSE"'
    assert dvs_en["D"].error == "grade_level: 6–9"


@pytest.mark.parametrize("name", SAMPLES)
def test_text_and_month_columns_are_text_so_excel_keeps_2025_03(
    tmp_path: pathlib.Path, name: str
) -> None:
    contract, _, _ = sample(name)
    ws = openpyxl.load_workbook(template(tmp_path, name))["Data"]
    for i, col in enumerate(contract.outcome_file.columns, 1):
        dim = ws.column_dimensions[openpyxl.utils.get_column_letter(i)]
        assert (dim.number_format == "@") == (col.type in ("text", "month", "enum")), col.name
        assert dim.width >= len(col.name)


def test_instructions_in_plain_words(tmp_path: pathlib.Path) -> None:
    ws = openpyxl.load_workbook(template(tmp_path, "sick-leave"))["Instruktioner"]
    text = "\n".join(" | ".join(str(v) for v in row if v) for row in ws.iter_rows(values_only=True))
    assert "Samordnade tidiga insatser för minskad korttidssjukfrånvaro" in text
    assert "Dnr KS 2024/0412" in text
    assert "upphandling@norrvik.example" in text and "avtal@friskarearbetsplats.example" in text
    assert "2025-Q1 (2025-01-01 – 2025-03-31)" in text
    assert "short_sick_hours + long_sick_hours ≤ scheduled_hours" in text
    assert "Samma kombination av employee_id, month" in text
    assert "employee_id ska innehålla pseudonymer" in text
    assert (
        "short_sick_hours | tal (decimaler tillåtna) | ja | minst 0, högst scheduled_hours" in text
    )
    assert "month | månad (ÅÅÅÅ-MM, som text) | ja | inom perioden 2025-Q1: 2025-01 – 2025-03" in (
        text
    )
    assert "Schemalagd tid, Schematimmar" in text
    en = openpyxl.load_workbook(template(tmp_path, "school-support", "en"))["Instructions"]
    text = "\n".join(" | ".join(str(v) for v in row if v) for row in en.iter_rows(values_only=True))
    assert "grade_level | whole number | yes | 6–9" in text
    assert "never enter a personal identity number" in text.lower()


# ---- the template agrees with the validator -------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_a_template_filled_by_the_rules_validates_clean(tmp_path: pathlib.Path, name: str) -> None:
    contract, _, period = sample(name)
    path = template(tmp_path, name)
    fill(path, GOOD[name])
    report = validate_file(contract, path, period=period)
    assert pairs(report) == [] and report.valid and report.rows == 2
    assert report.sheet == "Data"


def violations(
    dv: DataValidation, contract: Contract, period: Period, column: str
) -> list[tuple[Any, str]]:
    """Values the validation `dv` refuses, each with the code the validator must give.

    Derived from the validation itself (type, operator, bounds) where Excel's rule says it;
    custom formulas are named per column in CUSTOM below.
    """
    col = contract.column(column)
    assert col is not None
    if dv.type == "list":
        if col.type == "boolean":
            return [("kanske", "cell-type")]
        if col.type == "enum":
            return [("not-listed", "enum-value")]
        return [("VT2026" if period.id != "VT2026" else "HT2026", "period-outside")]
    if dv.type in ("whole", "decimal"):
        out: list[tuple[Any, str]] = [("abc", "cell-type")]
        if dv.type == "whole":
            out.append((float(Decimal(dv.formula1) + Decimal("0.5")), "cell-type"))
        if dv.operator in ("between", "greaterThanOrEqual"):
            out.append((float(Decimal(dv.formula1) - 1), "range-min"))
        high = dv.formula2 if dv.operator == "between" else dv.formula1
        if dv.operator in ("between", "lessThanOrEqual"):
            out.append((float(Decimal(high) + 1), "range-max"))
        return out
    if dv.type == "date":
        out = [("not a date", "cell-type")]
        if column == contract.outcome_file.period_column:
            start = date(1899, 12, 30) + timedelta(days=int(dv.formula1))
            end = date(1899, 12, 30) + timedelta(days=int(dv.formula2))
            out += [(start - timedelta(days=1), "period-outside")]
            out += [(end + timedelta(days=1), "period-outside")]
        return out
    assert dv.type == "custom", dv.type
    return CUSTOM[(contract.contract.id, column)]


CUSTOM: dict[tuple[str, str], list[tuple[Any, str]]] = {
    ("norrvik-korttidssjukfranvaro-2025", "month"): [
        ("2025-04", "period-outside"),
        ("2024-12", "period-outside"),
        ("mars 2025", "cell-type"),
        (date(2025, 4, 1), "period-outside"),
    ],
    ("norrvik-korttidssjukfranvaro-2025", "short_sick_hours"): [
        (-1, "range-min"),
        (200, "range-max"),  # above scheduled_hours (160) in the same row
        ("x", "cell-type"),
    ],
    ("norrvik-korttidssjukfranvaro-2025", "long_sick_hours"): [
        (-0.5, "range-min"),
        (160.5, "range-max"),
        ("x", "cell-type"),
    ],
    ("test-contract", "score"): [("n/a", "cell-type")],
    ("test-contract", "attended"): [(2.5, "cell-type"), (4, "range-max"), ("x", "cell-type")],
}


def check_every_validation(
    tmp_path: pathlib.Path, contract: Contract, period: Period, good: list[dict[str, Any]]
) -> int:
    """Write one row per refused value; the validator must flag exactly that cell."""
    path = tmp_path / "template.xlsx"
    write_template(contract, "0" * 64, period, path)
    dvs = validations(path)
    names = [c.name for c in contract.outcome_file.columns]
    participant = contract.outcome_file.participant_column or names[0]
    rows = list(good)
    expected: list[tuple[str, str]] = []
    checked = 0
    for letter, dv in sorted(dvs.items()):
        if dv.type is None:
            continue
        checked += 1
        column = names[openpyxl.utils.column_index_from_string(letter) - 1]
        for value, code in violations(dv, contract, period, column):
            row = {**good[0], participant: f"V{len(rows)}", column: value}
            rows.append(row)
            expected.append((f"{letter}{len(rows) + 1}", code))
    for col in contract.outcome_file.columns:
        if col.required and col.name != participant:
            rows.append({**good[0], participant: f"V{len(rows)}", col.name: None})
            letter = openpyxl.utils.get_column_letter(names.index(col.name) + 1)
            expected.append((f"{letter}{len(rows) + 1}", "required"))
    fill(path, rows)
    report = validate_file(contract, path, period=period, limit_errors=10_000)
    found = pairs(report)
    assert [e for e in expected if e not in found] == []
    # Nothing else at cell level; whole-row findings only from a row check.
    assert sorted(p for p in found if p[0] is not None) == sorted(expected)
    assert {code for cell, code in found if cell is None} <= {"row-check"}
    return checked


@pytest.mark.parametrize("name", SAMPLES)
def test_every_rule_in_the_template_is_a_rule_of_the_validator(
    tmp_path: pathlib.Path, name: str
) -> None:
    contract, _, period = sample(name)
    checked = check_every_validation(tmp_path, contract, period, GOOD[name])
    assert checked == {"sick-leave": 5, "school-support": 7}[name]


OTHER = contract_of(
    """
    periods: {kind: month}
    outcome_file:
      columns:
        - {name: pid, type: text, pseudonymous: true}
        - {name: day, type: date}
        - {name: visits, type: integer, min: 0, max: 10}
        - {name: attended, type: integer, required: false, max: visits}
        - {name: score, type: decimal, required: false}
        - {name: status, type: enum, values: ["ja, helt", "nej", 'sa "kanske"']}
      grain: [pid, day]
      period_column: day
      participant_column: pid
    rules:
      - {id: fee, kind: fixed_fee, amount: 1000}
    """
)


def test_dates_bounds_and_awkward_lists(tmp_path: pathlib.Path) -> None:
    period = find(term_periods(OTHER), "2025-03")
    assert period is not None
    path = tmp_path / "t.xlsx"
    write_template(OTHER, "0" * 64, period, path, lang="en")
    dvs = validations(path)
    march = (str(serial(date(2025, 3, 1))), str(serial(date(2025, 3, 31))))
    assert rule(dvs["B"]) == ("date", "between", *march)
    assert rule(dvs["C"]) == ("whole", "between", "0", "10")
    # A bound naming another column: one custom formula with the type and both bounds.
    attended = "AND(ISNUMBER(D2),D2=INT(D2),OR(NOT(ISNUMBER(C2)),D2<=C2))"
    assert rule(dvs["D"]) == ("custom", None, attended, None)
    assert rule(dvs["E"]) == ("custom", None, "ISNUMBER(E2)", None)
    # Values with a comma or a quote cannot be an inline list: a range on the marker sheet.
    assert rule(dvs["F"]) == ("list", None, f"'{MARKER_SHEET}'!$D$1:$D$3", None)
    marker = openpyxl.load_workbook(path)[MARKER_SHEET]
    assert [marker.cell(r, 4).value for r in (1, 2, 3)] == ["ja, helt", "nej", 'sa "kanske"']
    good = {"pid": "P1", "day": date(2025, 3, 3), "visits": 3, "attended": 2}
    good |= {"score": 1.25, "status": "ja, helt"}
    assert check_every_validation(tmp_path, OTHER, period, [good]) == 5


def test_the_column_table_is_never_taken_for_the_header(tmp_path: pathlib.Path) -> None:
    # With two required columns one recognised name makes a header row, so the column
    # table of the instructions would be read as data: the data sheet goes first.
    contract = contract_of(
        """
        outcome_file:
          columns:
            - {name: pid, type: text}
            - {name: month, type: month}
            - {name: x, type: decimal, required: false}
          grain: [pid, month]
          period_column: month
        rules:
          - {id: fee, kind: fixed_fee, amount: 1000}
        """
    )
    period = find(term_periods(contract), "2025-Q2")
    assert period is not None
    path = tmp_path / "t.xlsx"
    write_template(contract, "0" * 64, period, path)
    assert openpyxl.load_workbook(path).sheetnames == ["Data", "Instruktioner", MARKER_SHEET]
    fill(path, [{"pid": "A", "month": "2025-04", "x": 1}])
    report = validate_file(contract, path, period=period)
    assert report.valid and report.rows == 1 and report.sheet == "Data"


def test_read_marker_of_other_files(tmp_path: pathlib.Path) -> None:
    plain = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(plain)
    assert read_marker(plain) is None
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    assert read_marker(tmp_path / "data.csv") is None
    (tmp_path / "fake.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    assert read_marker(tmp_path / "fake.xlsx") is None


def test_writing_over_an_existing_file(tmp_path: pathlib.Path) -> None:
    path = template(tmp_path, "sick-leave")
    contract, sha, _ = sample("sick-leave")
    q2 = find(term_periods(contract), "2025-Q2")
    assert q2 is not None
    write_template(contract, sha, q2, path)
    assert (read_marker(path) or {})["period"] == "2025-Q2"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


# ---- a real spreadsheet program -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLES)
def test_a_template_saved_by_libreoffice_validates_clean(tmp_path: pathlib.Path, name: str) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed; `make system` installs it")
    contract, sha, period = sample(name)
    path = template(tmp_path, name)
    fill(path, GOOD[name])
    out = tmp_path / "libreoffice"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    saved = out / path.name
    report = validate_file(contract, saved, period=period)
    assert pairs(report) == [] and report.valid and report.rows == 2
    assert read_marker(saved) == marker_values(contract, sha, period, "sv")
    kept = openpyxl.load_workbook(saved)["Data"].data_validations.dataValidation
    # The rules survive (LibreOffice writes formula2 0 where none is needed).
    ours = {(dv.type, dv.formula1) for dv in validations(path).values() if dv.type}
    assert {(dv.type, dv.formula1) for dv in kept} >= ours
