"""Validation of outcome rows (contracts.validate), in the provider's terms.

Rows are given as the reader would yield them -- lists of raw values under a header
row -- and reports are flattened to (cell, code) pairs: codes and places are the
contract with users, wording is not.
"""

from __future__ import annotations

import contextlib
import json
import random
import tempfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import cells, personnummer
from contracts import expressions as E
from contracts.contract_file import parse_contract
from contracts.headers import match_header
from contracts.model import Contract
from contracts.periods import parse_period
from contracts.rowcheck import RowCheck, compile_columns
from contracts.validate import ValidationReport, validate_rows
from contracts.validate_batch import GrainKeys

SICK_LEAVE = """\
contract: {id: test, title: T}
parties: {buyer: {name: B}, provider: {name: S}}
currency: SEK
term: {start: 2025-01-01, end: 2025-12-31}
periods: {kind: quarter}
rules: [{id: fee, kind: fixed_fee, amount: 1000}]
outcome_file:
  columns:
    - {name: unit_id, type: text, aliases: [Enhet]}
    - {name: employee_id, type: text, pseudonymous: true, aliases: [Anställnings-id]}
    - {name: month, type: month, aliases: [Månad]}
    - {name: group, type: enum, values: [intervention, comparison], aliases: [Grupp]}
    - {name: scheduled_hours, type: decimal, min: 0, aliases: [Schemalagda timmar]}
    - {name: short_sick_hours, type: decimal, min: 0, max: scheduled_hours,
       aliases: [Korttidsfrånvaro timmar]}
    - {name: long_sick_hours, type: decimal, min: 0, max: scheduled_hours,
       aliases: [Långtidsfrånvaro timmar]}
  grain: [employee_id, month]
  period_column: month
  participant_column: employee_id
  row_checks:
    - {name: hours_add_up, check: "short_sick_hours + long_sick_hours <= scheduled_hours"}
"""
HEADER = [
    "unit_id",
    "employee_id",
    "month",
    "group",
    "scheduled_hours",
    "short_sick_hours",
    "long_sick_hours",
]
PNR = "19811218-9876"  # Skatteverket's example personnummer (valid check digit)


def contract_of(text: str = SICK_LEAVE) -> Contract:
    loaded = parse_contract(text, "contract.yaml")
    assert loaded.contract is not None, loaded.issues
    return loaded.contract


def row(emp: str = "E1", month: str = "2025-01", **over: Any) -> list[Any]:
    values = {
        "unit_id": "U1",
        "employee_id": emp,
        "month": month,
        "group": "intervention",
        "scheduled_hours": "160",
        "short_sick_hours": "8",
        "long_sick_hours": "0",
    }
    values.update(over)
    return [values[h] for h in HEADER]


def validate(
    rows: list[list[Any]],
    *,
    header: list[Any] = HEADER,
    contract: Contract | None = None,
    period: str | None = None,
    limit: int = 100,
    sheet: str | None = None,
) -> tuple[ValidationReport, list[tuple[int, dict[str, Any]]]]:
    """Header in row 1, data from row 2, as a csv would give them."""
    contract = contract or contract_of()
    info = match_header(contract, header, 1, file="f.csv", sheet=sheet)
    assert info is not None
    seen: list[tuple[int, dict[str, Any]]] = []
    report = validate_rows(
        contract,
        info,
        enumerate(rows, 2),
        period=parse_period(period) if period else None,
        limit_errors=limit,
        on_row=lambda n, r: seen.append((n, r)),
    )
    return report, seen


def pairs(report: ValidationReport) -> list[tuple[Any, str]]:
    return [(i.location.cell or i.location.row, i.code) for i in report.errors]


def test_clean_rows_are_typed_and_totalled() -> None:
    report, seen = validate([row("E1"), row("E2", short_sick_hours="1.5")])
    assert report.valid and report.rows == 2 and pairs(report) == []
    assert report.totals == {
        "scheduled_hours": Decimal("320"),
        "short_sick_hours": Decimal("9.5"),
        "long_sick_hours": Decimal("0"),
    }
    n, first = seen[0]
    assert n == 2
    assert first == {
        "unit_id": "U1",
        "employee_id": "E1",
        "month": date(2025, 1, 1),
        "group": "intervention",
        "scheduled_hours": Decimal("160"),
        "short_sick_hours": Decimal("8"),
        "long_sick_hours": Decimal("0"),
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234,5", "1234.5"),
        ("1 234,50", "1234.50"),
        ("1\u00a0234,50", "1234.50"),
        ("1\u202f234", "1234"),
        ("1.234,50", "1234.50"),
        ("1.234.567", "1234567"),
        ("1,234.50", "1234.50"),
        ("1,234,567", "1234567"),
        ("0,125", "0.125"),
        ("12,5", "12.5"),
        ("-3,25", "-3.25"),
        ("\u22123,25", "-3.25"),
        ("1.5", "1.5"),
        ("1e3", "1E+3"),
    ],
)
def test_numbers_as_text_in_swedish_and_english_forms(text: str, value: str) -> None:
    assert cells.number_text(text) == Decimal(value)
    assert str(cells.number_text(text)) == value


@pytest.mark.parametrize("text", ["1,234", "-1,234", "999,000"])
def test_a_comma_before_three_digits_is_ambiguous(text: str) -> None:
    assert cells.number_text(text) is cells.AMBIGUOUS


@pytest.mark.parametrize("text", ["1 23,5", "12.34.5", "1,2,3", "abc", "1..2", "NaN", "1_000"])
def test_malformed_numbers_are_type_errors(text: str) -> None:
    assert cells.number_text(text) is cells.TYPE


def test_swedish_numbers_in_rows() -> None:
    report, _ = validate(
        [
            row("E1", scheduled_hours="1 234,5", short_sick_hours="12,25"),
            row("E2", scheduled_hours="1,234"),
        ]
    )
    assert pairs(report) == [("E3", "cell-ambiguous")]
    # Totals take every valid cell, also in a row that has another problem.
    assert report.totals["scheduled_hours"] == Decimal("1234.5")
    assert report.totals["short_sick_hours"] == Decimal("20.25")


def test_every_cell_code_at_its_cell() -> None:
    report, seen = validate(
        [
            row("E1", scheduled_hours="lots"),  # 2
            row("E2", unit_id=""),  # 3
            row("E3", group="control"),  # 4
            row("E4", scheduled_hours="-1"),  # 5
            row("E5", short_sick_hours="31.5", scheduled_hours="24.0"),  # 6
            row("E6", long_sick_hours="#N/A"),  # 7
            row("E7", long_sick_hours=cells.CellError("#DIV/0!")),  # 8
            row("E8", long_sick_hours=cells.FORMULA_NO_VALUE),  # 9
            row("E9", month="2025-13"),  # 10
            row("E10", short_sick_hours="10", long_sick_hours="151"),  # 11
            row("E10"),  # 12
            row(PNR),  # 13
            row("E11", group="Comparison"),  # 14: a case slip is accepted
        ]
    )
    assert pairs(report) == [
        ("E2", "cell-type"),
        ("A3", "required"),
        ("D4", "enum-value"),
        ("E5", "range-min"),
        ("F6", "range-max"),
        (6, "row-check"),
        ("G7", "cell-error"),
        ("G8", "cell-error"),
        ("G9", "formula-no-value"),
        ("C10", "cell-type"),
        (11, "row-check"),
        ("B12", "duplicate-key"),
        ("B13", "personnummer"),
    ]
    assert [n for n, _ in seen] == [11 + 3]  # only row 14 is clean (row 11 fails its check)
    assert seen[0][1]["group"] == "comparison"
    assert report.error_counts["range-max"] == 1 and not report.valid
    messages = {i.code: i.message for i in report.errors}
    assert messages["range-max"] == "short_sick_hours 31.5 is above scheduled_hours 24"
    assert "row 11" in messages["duplicate-key"] and "E10" not in messages["duplicate-key"]


def test_bounds_against_another_column_and_the_row_check_only_on_valid_values() -> None:
    report, _ = validate(
        [
            row("E1", scheduled_hours="x", short_sick_hours="500"),  # bound unknown
            row("E2", short_sick_hours="bad", long_sick_hours="500"),
        ]
    )
    assert pairs(report) == [("E2", "cell-type"), ("F3", "cell-type"), ("G3", "range-max")]


def test_row_check_message_names_the_values() -> None:
    report, _ = validate([row("E1", short_sick_hours="100", long_sick_hours="100")])
    (issue,) = report.errors
    assert issue.code == "row-check" and issue.location.row == 2
    assert "short_sick_hours = 100" in issue.message and "scheduled_hours = 160" in issue.message


def test_period_outside() -> None:
    report, seen = validate(
        [row("E1", month="2025-03"), row("E1", month="2025-04")], period="2025-Q1"
    )
    assert pairs(report) == [("C3", "period-outside")]
    assert "2025-Q1" in report.errors[0].message and len(seen) == 1


@pytest.mark.parametrize(
    "number",
    [PNR, "198112189876", "811218-9876", "8112189876", "811218+9876", "19811278-9873"],
)
def test_personnummer_is_refused_and_never_shown(number: str) -> None:
    assert personnummer.is_personnummer(number)
    report, _ = validate([row(number), row("E2")])
    assert pairs(report) == [("B2", "personnummer")]
    text = json.dumps(report.to_dict(), ensure_ascii=False)
    digits = number.replace("-", "").replace("+", "")
    assert number not in text and digits not in text and digits[-4:] not in text
    assert personnummer.mask(number) in text and "****" in text


@pytest.mark.parametrize("text", ["811218-9875", "19811318-9876", "E0001234", "123", "8112189"])
def test_not_a_personnummer(text: str) -> None:
    assert not personnummer.is_personnummer(text)


def test_personnummer_as_a_spreadsheet_number() -> None:
    report, _ = validate([row(198112189876.0)], sheet="Data")
    assert pairs(report) == [("B2", "personnummer")]
    assert "198112189876" not in json.dumps(report.to_dict())


def test_pseudonyms_are_not_echoed_in_messages() -> None:
    report, _ = validate([row("X-secret"), row("X-secret"), row("X-other", unit_id="")])
    text = json.dumps(report.to_dict())
    assert "X-secret" not in text and "X-other" not in text


def test_blank_rows_are_skipped_and_totals_rows_refused() -> None:
    report, seen = validate([row("E1"), ["", "  ", "", "", "", "", ""], [], row("E2"), ["Summa"]])
    assert pairs(report) == [(6, "totals-row")]
    assert report.rows == 3 and len(seen) == 2


def test_short_rows_are_padded_with_empty_cells() -> None:
    report, _ = validate([row("E1")[:5]])
    assert pairs(report) == [("F2", "required"), ("G2", "required")]


def test_errors_are_capped_per_code_but_counted_in_full() -> None:
    rows = [row(f"E{i}", group="x") for i in range(250)] + [row("E999", unit_id="")]
    report, _ = validate(rows, limit=100)
    assert report.error_counts == {"enum-value": 250, "required": 1}
    assert [c for _, c in pairs(report)] == ["enum-value"] * 100 + ["required"]


def test_spreadsheet_values_dates_serials_and_booleans() -> None:
    report, seen = validate(
        [
            row("E1", month=date(2025, 2, 14), scheduled_hours=160.5, short_sick_hours=0.1),
            row("E2", month=45658.0, scheduled_hours=1.0, short_sick_hours=1.0),  # 2025-01-01
            row("E3", scheduled_hours=True),  # TRUE is not a number, even after 1.0
            row("E4", month=45658.5),  # a serial with a time of day is not a month
        ],
        sheet="Data",
    )
    assert pairs(report) == [("E4", "cell-type"), ("C5", "cell-type")]
    assert seen[0][1]["month"] == date(2025, 2, 1)
    assert seen[0][1]["short_sick_hours"] == Decimal("0.1")  # repr, not binary expansion
    assert seen[1][1]["month"] == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("serial", "day"),
    [(1, date(1900, 1, 1)), (59, date(1900, 2, 28)), (61, date(1900, 3, 1)),
     (45658, date(2025, 1, 1)), (60, None), (0, None), (1.5, None)],
)  # fmt: skip
def test_excel_serials_in_the_1900_system(serial: float, day: date | None) -> None:
    assert cells.excel_serial(serial) == day


def test_batches_and_single_rows_agree() -> None:
    # 700 rows span three batches; one bad row sends only its batch down the row path.
    rows = [row(f"E{i}", short_sick_hours=str(i % 7)) for i in range(700)]
    rows[300] = row("E300", short_sick_hours="oops")
    report, seen = validate(rows)
    assert pairs(report) == [("F302", "cell-type")]
    assert [n for n, _ in seen] == [n for n in range(2, 702) if n != 302]
    expected = sum(Decimal(i % 7) for i in range(700) if i != 300)
    assert report.totals["short_sick_hours"] == expected


def test_duplicate_key_across_batches_names_the_first_row() -> None:
    rows = [row(f"E{i}") for i in range(600)] + [row("E5")]
    report, _ = validate(rows)
    assert pairs(report) == [("B602", "duplicate-key")]
    assert "as row 7" in report.errors[0].message


def test_json_shape() -> None:
    report, _ = validate([row("E1", scheduled_hours="-1")])
    d = report.to_dict()
    assert set(d) == {"valid", "rows", "errors", "error_counts", "totals", "file", "sha256"}
    assert d["errors"] == [
        {
            "sheet": None,
            "row": 2,
            "column": "scheduled_hours",
            "cell": "E2",
            "code": "range-min",
            "message": "scheduled_hours -1 is below the minimum 0",
        }
    ]
    assert d["totals"] == {"scheduled_hours": "0", "short_sick_hours": "8", "long_sick_hours": "0"}
    json.dumps(d)


def test_missing_required_column_keeps_checking_but_passes_no_rows_on() -> None:
    header = [h for h in HEADER if h != "group"]
    rows = [[v for h, v in zip(HEADER, row("E1"), strict=True) if h != "group"]]
    report, seen = validate(rows, header=header)
    assert [(i.location.field, i.code) for i in report.errors] == [("group", "header-missing")]
    assert seen == [] and report.rows == 1


# ---- properties ------------------------------------------------------------------------

hours = st.decimals(min_value=0, max_value=200, places=1, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(hours, hours, hours), min_size=1, max_size=40), st.randoms())
def test_row_order_is_irrelevant_to_totals_and_validity(
    values: list[tuple[Decimal, Decimal, Decimal]], rnd: random.Random
) -> None:
    rows = [
        row(f"E{i}", scheduled_hours=str(s), short_sick_hours=str(a), long_sick_hours=str(b))
        for i, (s, a, b) in enumerate(values)
    ]
    first, _ = validate(rows)
    rnd.shuffle(rows)
    second, _ = validate(rows)
    assert first.totals == second.totals and first.valid == second.valid
    assert first.error_counts == second.error_counts


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=5),
    st.lists(st.sampled_from(["ok", "type", "enum", "empty", "dup"]), max_size=60),
)
def test_the_cap_is_never_exceeded_and_counts_are_complete(limit: int, kinds: list[str]) -> None:
    change = {"type": {"scheduled_hours": "x"}, "enum": {"group": "y"}, "empty": {"unit_id": ""}}
    rows = [
        row("E0" if k == "dup" else f"E{i + 1}", **change.get(k, {})) for i, k in enumerate(kinds)
    ]
    report, _ = validate(rows, limit=limit)
    shown: dict[str, int] = {}
    for issue in report.errors:
        shown[issue.code] = shown.get(issue.code, 0) + 1
    assert all(n <= limit for n in shown.values())
    assert all(min(report.error_counts[c], limit) == n for c, n in shown.items())
    expected = {"type": "cell-type", "enum": "enum-value", "empty": "required"}
    for kind, code in expected.items():
        assert report.error_counts.get(code, 0) == kinds.count(kind)
    assert report.error_counts.get("duplicate-key", 0) == max(0, kinds.count("dup") - 1)


NAMES = ["a", "b", "c"]
TYPES = {"a": "decimal", "b": "decimal", "c": "integer"}
leaf = st.one_of(
    st.sampled_from(NAMES),
    st.decimals(min_value=-5, max_value=5, places=1, allow_nan=False).map(str),
    st.just("null"),
)


def _arith(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    op = st.sampled_from(["+", "-", "*", "/"])
    return st.one_of(
        st.tuples(children, op, children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda x: f"-{x}"),
    )


numeric = st.recursive(leaf, _arith, max_leaves=5)
comparison = st.tuples(numeric, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), numeric)
condition = st.recursive(
    comparison.map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["and", "or"]), c).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        c.map(lambda x: f"not ({x})"),
    ),
    max_leaves=4,
)
value = st.one_of(st.none(), st.decimals(min_value=-3, max_value=3, places=1, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(condition, st.lists(st.tuples(value, value, st.one_of(st.none(), st.integers(-3, 3)))))
def test_compiled_row_checks_agree_with_the_expression_module(
    text: str, rows: list[tuple[Any, Any, Any]]
) -> None:
    expr = E.parse(text)
    check = RowCheck(expr, NAMES, TYPES)
    assert check.fast is not None
    columnar = compile_columns(expr, NAMES, TYPES)
    for r in rows:
        assert check.holds(list(r)) == expr.evaluate_bool(dict(zip(NAMES, r, strict=True)))
    clean = [r for r in rows if None not in r]
    if columnar is not None and clean:
        try:
            got = columnar([list(c) for c in zip(*clean, strict=True)], len(clean))
        except Exception:  # Fallback: the row-wise evaluator takes over
            return
        assert got == [check.holds(list(r)) for r in clean]


# ---- duplicate keys: found at the end of the file, in bounded memory ---------------------


@contextlib.contextmanager
def key_store(chunk: int, window: int | None) -> Iterator[None]:
    """Small chunks spill to the temporary file after a few keys; a window forgets keys."""
    with (
        mock.patch.object(GrainKeys, "CHUNK", chunk),
        mock.patch.object(GrainKeys, "WINDOW", window),
    ):
        yield


def test_first_and_last_row_share_a_key_far_apart() -> None:
    # 70,000 keys: more than a chunk, so the keys spill to the temporary file.
    rows = [row(f"E{i}") for i in range(70_000)] + [row("E0")]
    assert len(rows) > GrainKeys.CHUNK
    report, seen = validate(rows)
    assert pairs(report) == [("B70002", "duplicate-key")]
    assert report.errors[0].message == "same key (employee_id, month 2025-01) as row 2"
    assert report.error_counts == {"duplicate-key": 1} and not report.valid
    # As before, a row repeating a key is never passed on (the ledger's key is the grain).
    assert len(seen) == 70_000 and seen[-1][0] == 70_001
    contract = contract_of()
    info = match_header(contract, HEADER, 1, file="f.csv", sheet=None)
    assert info is not None
    flat = validate_rows(contract, info, enumerate(rows, 2), period=None)  # no on_row
    assert flat == report


def test_a_bounded_window_passes_far_repeats_on_but_reports_them() -> None:
    rows = [row(f"E{i}") for i in range(100)] + [row("E0"), row("E99")]
    with key_store(1 << 16, 16):
        report, seen = validate(rows)
    assert pairs(report) == [("B102", "duplicate-key"), ("B103", "duplicate-key")]
    assert [n for n, _ in seen] == [*range(2, 102), 102]  # E0 again (row 102) is far back


@pytest.mark.parametrize(("chunk", "window"), [(4, 2), (64, 16), (1 << 16, None)])
def test_several_repeats_of_one_key_name_its_first_row(chunk: int, window: int | None) -> None:
    rows = [row(f"E{i}", month=f"2025-{i % 12 + 1:02d}") for i in range(400)]
    for n in (50, 300, 399):
        rows[n - 2] = row("E7", month="2025-08")  # row 9 first had E7 in 2025-08
    with key_store(chunk, window):
        report, _ = validate(rows)
    assert pairs(report) == [
        ("B50", "duplicate-key"),
        ("B300", "duplicate-key"),
        ("B399", "duplicate-key"),
    ]
    assert {i.message for i in report.errors} == {"same key (employee_id, month 2025-08) as row 9"}
    assert report.error_counts == {"duplicate-key": 3}


@pytest.mark.parametrize(("chunk", "window"), [(4, 2), (1 << 16, None)])
@pytest.mark.parametrize("limit", [0, 1, 2, 100])
def test_repeats_beyond_the_cap_are_counted(chunk: int, window: int | None, limit: int) -> None:
    # Keys E0..E9 twice over, then E0 a third time: 11 repeats, in rows 12..22.
    rows = [row(f"E{i % 10}") for i in range(21)] + [row("E99", group="x")]
    with key_store(chunk, window):
        report, _ = validate(rows, limit=limit)
    assert report.error_counts == {"duplicate-key": 11, "enum-value": 1}
    shown = min(limit, 11)
    expected = [(f"B{n}", "duplicate-key") for n in range(12, 12 + shown)]
    assert pairs(report) == expected + ([("D23", "enum-value")] if limit else [])
    firsts = [*range(2, 12), 2]  # row 22 repeats E0 a second time: first had it row 2
    assert [int(i.message.rsplit(" ", 1)[1]) for i in report.errors[:shown]] == firsts[:shown]


def test_the_code_keeps_its_place_in_the_counts() -> None:
    # error_counts is JSON: its order is that of each code's first occurrence, as before.
    rows = [row("E1"), row("E1"), row("E2", group="x"), row("E3", short_sick_hours="y")]
    report, _ = validate(rows)
    assert list(report.error_counts) == ["duplicate-key", "enum-value", "cell-type"]
    rows = [row("E2", group="x"), row("E1"), row("E1", scheduled_hours="z"), row("E1")]
    report, _ = validate(rows)
    assert list(report.error_counts) == ["enum-value", "cell-type", "duplicate-key"]
    assert pairs(report) == [
        ("D2", "enum-value"),
        ("E4", "cell-type"),
        ("B4", "duplicate-key"),
        ("B5", "duplicate-key"),
    ]


def test_the_spill_file_is_closed_even_when_reading_breaks(tmp_path: Any) -> None:
    opened: list[Any] = []
    real = tempfile.TemporaryFile

    def recording(*args: Any, **kw: Any) -> Any:
        f = real(*args, **kw)
        opened.append(f)
        return f

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for i in range(2000):
            yield i + 2, row(f"E{i}")
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    contract = contract_of()
    info = match_header(contract, HEADER, 1, file="f.csv", sheet=None)
    assert info is not None
    with key_store(64, 16), mock.patch.object(tempfile, "TemporaryFile", recording):
        report = validate_rows(contract, info, enumerate((row("E1"),) * 200, 2), period=None)
        with pytest.raises(UnicodeDecodeError):
            validate_rows(contract, info, rows(), period=None)
    assert report.error_counts == {"duplicate-key": 199}
    assert len(opened) == 2 and all(f.closed for f in opened)


def reference(
    rows: list[list[Any]], limit: int
) -> tuple[list[tuple[Any, str, str]], list[tuple[str, int]], list[int]]:
    """The report the naive way: every other issue from the same rows with a unique key
    each (employee ids are never shown and feed no other check), then each row whose
    valid key was seen before, merged in by row, capped per code."""
    unique = [[r[0], f"Q{n}", *r[2:]] if r[1] else r for n, r in enumerate(rows)]
    report, seen = validate(unique, limit=len(rows) + 10)
    issues = [
        (i.location.row, i.location.cell or i.location.row, i.code, i.message)
        for i in report.errors
    ]
    first: dict[tuple[str, str], int] = {}
    for number, r in enumerate(rows, 2):
        emp, month = r[1] if len(r) > 1 else "", r[2] if len(r) > 2 else ""
        if not emp or month not in MONTHS:  # blank, totals or an invalid month: no key
            continue
        at = first.setdefault((emp, month), number)
        if at != number:
            message = f"same key (employee_id, month {month}) as row {at}"
            issues.append((number, f"B{number}", "duplicate-key", message))
    issues.sort(key=lambda i: (i[0], i[2] == "duplicate-key"))  # stable: row, key last
    counts: dict[str, int] = {}
    out = []
    for _, where, code, message in issues:
        counts[code] = counts.get(code, 0) + 1
        if counts[code] <= limit:
            out.append((where, code, message))
    dups = {i[0] for i in issues if i[2] == "duplicate-key"}
    return out, list(counts.items()), [n for n, _ in seen if n not in dups]


MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
cells_of_a_row = st.fixed_dictionaries(
    {
        "emp": st.sampled_from(["E1", "E2", "E3", "E4", "E5", "E6"]),
        "month": st.sampled_from([*MONTHS[:4], "2025-13"]),
        "kind": st.sampled_from(["ok"] * 6 + ["type", "enum", "range", "check", "blank", "totals"]),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(cells_of_a_row, max_size=80),
    st.sampled_from([0, 1, 3, 100]),
    st.sampled_from([(2, 1), (8, 4), (2, None), (1 << 16, None)]),
)
def test_the_report_is_the_naive_one(
    spec: list[dict[str, str]], limit: int, sizes: tuple[int, int | None]
) -> None:
    change = {
        "type": {"scheduled_hours": "x"},
        "enum": {"group": "y"},
        "range": {"short_sick_hours": "500"},
        "check": {"short_sick_hours": "100", "long_sick_hours": "100"},
    }
    rows: list[list[Any]] = []
    for s in spec:
        if s["kind"] == "blank":
            rows.append([""] * 7)
        elif s["kind"] == "totals":
            rows.append(["Summa", "", "", "", "1", "", ""])
        else:
            rows.append(row(s["emp"], month=s["month"], **change.get(s["kind"], {})))
    contract = contract_of()
    info = match_header(contract, HEADER, 1, file="f.csv", sheet=None)
    assert info is not None
    with key_store(*sizes):
        report, seen = validate(rows, limit=limit)
        flat = validate_rows(contract, info, enumerate(rows, 2), period=None, limit_errors=limit)
    assert flat == report  # without on_row nothing is remembered: the same report
    assert list(flat.error_counts) == list(report.error_counts)
    expected, counts, clean = reference(rows, limit)
    got = [(i.location.cell or i.location.row, i.code, i.message) for i in report.errors]
    assert got == expected
    assert list(report.error_counts.items()) == counts
    assert report.valid == (not counts) and report.rows == len(rows) - sum(
        s["kind"] == "blank" for s in spec
    )
    # Rows passed on: the clean ones and, beyond a bounded window, late repeats.
    numbers = [n for n, _ in seen]
    assert set(clean) <= set(numbers) and numbers == sorted(numbers)
    window = sizes[1]
    if window is None or len(rows) < window:  # every key is remembered: no repeat passes
        assert numbers == clean
