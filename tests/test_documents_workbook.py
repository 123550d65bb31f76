"""The settlement workbook: exact amounts, live formulas, text that never runs.

The totals are checked where an auditor meets them: LibreOffice opens each workbook,
recalculates every formula and saves it, and the computed values must equal the
engine's `Decimal` totals exactly. All workbooks are recalculated in one LibreOffice run
(with a profile of its own, so parallel runs do not clash). Without `soffice` these
tests are skipped locally and fail under CI (CI or CONTRACT_TEST_PG set), where
`make system` installs it.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import signal
import subprocess
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from contracts import files
from contracts.api import InputFile, settle_files
from contracts.documents import workbook
from contracts.documents.formatting import Lang
from contracts.documents.workbook import StoredInfo, write_workbook
from contracts.errors import EnvironmentFailure, InputError
from contracts.metrics import MetricValue
from contracts.model import Contract
from contracts.settlement import Settlement
from tests.helpers import contract_of, settle_rows

ROOT = pathlib.Path(__file__).resolve().parent.parent
SICK = ROOT / "sample_data" / "sick-leave"
SCHOOL = ROOT / "sample_data" / "school-support"
SICK_FILES = ["baseline-2024.xlsx", "2025-Q1.xlsx", "2025-Q2.xlsx", "2025-Q3.xlsx", "2025-Q4.xlsx"]
SCHOOL_FILES = ["VT2025-intake.xlsx", "HT2025.xlsx", "VT2026.xlsx"]
Q1, Q2 = "2025-Q1", "2025-Q2"
SOFFICE_TIMEOUT = 300

# What a hostile outcome file could put in a participant id, a group or a file name.
PAYLOADS = (
    '=HYPERLINK("http://x","y")',
    "@SUM(A1)",
    "+1+2",
    "-3+4",
    "=1+1",
    "\t=1+1",
)


# ---- settlements ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    settlement: Settlement
    contract: Contract
    inputs: tuple[InputFile, ...] = ()


def sample(folder: pathlib.Path, files: list[str], period: str) -> Case:
    report = settle_files(
        folder / "contract.yaml", [folder / "outcomes" / f for f in files], period
    )
    assert report.settlement is not None and report.check.contract is not None, report.issues
    return Case(report.settlement, report.check.contract, report.inputs)


def inline(text: str, rows: list[dict[str, str]], **kw: Any) -> Case:
    contract = contract_of(text)
    return Case(settle_rows(contract, kw.pop("period", Q1), rows, **kw), contract)


# From tests/test_caps_rounding.py: four payers, per-rule shares, a tie in the remainders.
PAYERS = """
payers:
  - {name: Region, share: 0.5, shares: {bonus: 0.35}}
  - {name: Kommun A, share: 0.25, shares: {bonus: 0.175}}
  - {name: Kommun B, share: 0.25, shares: {bonus: 0.175}}
  - {name: Fonden, share: 0, shares: {bonus: 0.3}}
metrics:
  - {id: v, kind: supplied}
rules:
  - {id: fee, kind: fixed_fee, amount: 1000.01}
  - {id: bonus, kind: target, condition: "v >= 0", amount: 333.33}
"""
CUMULATIVE = """
settlement: {basis: cumulative}
metrics:
  - {id: rate, kind: ratio, numerator: x, denominator: hours}
  - {id: scheduled, kind: sum, of: hours}
  - {id: v, kind: supplied}
baselines:
  - {id: base, kind: fixed, metric: rate, value: 0.05}
rules:
  - {id: fee, kind: fixed_fee, amount: 1000}
  - {id: goal, kind: target, condition: "v >= 0.8", amount: 500}
  - id: imp
    kind: improvement
    measure: {metric: rate, baseline: base, direction: decrease}
    volume: scheduled
    price: 100
"""
# A rule id inside another ("fee" in "fee_extra"): SUMIFS must match whole cells.
NEGATIVE = """
settlement: {rounding: {quantum: 0.01, mode: half_up}, allow_negative: false}
metrics:
  - {id: sx, kind: sum, of: x}
rules:
  - {id: fee, kind: fixed_fee, amount: 1000}
  - {id: fee_extra, kind: fixed_fee, amount: 0.5}
  - {id: m, kind: malus, measure: {metric: sx}, below: 10, amount: 4000}
"""
# Rounded only on the total: the lines keep 50 digits, more than a double holds.
LONG = """
settlement: {rounding: {quantum: 0.01, mode: half_up, at: settlement}}
metrics:
  - {id: rate, kind: ratio, numerator: x, denominator: hours}
  - {id: scheduled, kind: sum, of: hours}
baselines:
  - {id: base, kind: fixed, metric: rate, value: 0.05}
rules:
  - {id: fee, kind: fixed_fee, amount: 1000}
  - id: imp
    kind: improvement
    measure: {metric: rate, baseline: base, direction: decrease}
    volume: scheduled
    price: 100.7
"""
# Rule ids that SUMIFS could not tell apart (it matches text case-insensitively).
CASES_ONLY = """
rules:
  - {id: fee, kind: fixed_fee, amount: 1000.25}
  - {id: Fee, kind: fixed_fee, amount: 2000.5}
"""


def cumulative_q2() -> Case:
    c = contract_of(CUMULATIVE)
    rows = [
        {"pid": "P1", "month": "2025-01", "x": "40", "hours": "1000"},
        {"pid": "P1", "month": "2025-04", "x": "20", "hours": "1000"},
    ]
    figures = {("v", Q1): "0.85", ("v", Q2): "0.7"}
    q1 = settle_rows(c, Q1, rows, supplied=figures)
    return Case(settle_rows(c, Q2, rows, supplied=figures, prior=[q1.as_prior()]), c)


def cases() -> dict[str, Case]:
    return {
        "sick-2025-Q2": sample(SICK, SICK_FILES[:3], "2025-Q2"),
        "sick-2025-Q4": sample(SICK, SICK_FILES, "2025-Q4"),
        "school-HT2025": sample(SCHOOL, SCHOOL_FILES[:2], "HT2025"),
        "school-VT2026": sample(SCHOOL, SCHOOL_FILES, "VT2026"),
        "payer-ties": inline(PAYERS, [], supplied={("v", Q1): "1"}),
        "cumulative": cumulative_q2(),
        "negative": inline(NEGATIVE, [{"pid": "P1", "month": "2025-01", "x": "5"}]),
        "long-digits": inline(
            LONG, [{"pid": "P1", "month": "2025-01", "x": "40", "hours": "1300"}]
        ),
        "case-only": inline(CASES_ONLY, []),
    }


SAMPLES = ("sick-2025-Q2", "sick-2025-Q4", "school-HT2025", "school-VT2026")
SYNTHETIC = ("payer-ties", "cumulative", "negative", "long-digits", "case-only")
LANGS: tuple[Lang, ...] = ("en", "sv")
BOTH = [(name, lang) for name in (*SAMPLES, "payer-ties") for lang in LANGS]
WORKBOOKS = BOTH + [(name, LANGS[0]) for name in SYNTHETIC if name != "payer-ties"]


@pytest.fixture(scope="module")
def settled() -> dict[str, Case]:
    return cases()


def injected(case: Case) -> Case:
    """The school sample with hostile text where outcome files put text."""
    s = case.settlement
    lines = list(s.lines)
    for i, payload in enumerate(PAYLOADS):
        x = lines[i]
        lines[i] = dataclasses.replace(x, participant=payload, description=payload)
    group = MetricValue("m", (s.period,), Decimal(1), 1, groups=((PAYLOADS[0], Decimal(1)),))
    s = dataclasses.replace(
        s,
        lines=tuple(lines),
        metrics=(*s.metrics, group),
        caps=(*s.caps, dataclasses.replace(s.caps[0], name=PAYLOADS[1])),
    )
    inputs = [InputFile(p, "0" * 64, 1) for p in PAYLOADS]
    return Case(s, case.contract, tuple(inputs))


# ---- LibreOffice ----------------------------------------------------------------------


def soffice() -> str:
    path = shutil.which("soffice")
    if path is None:
        message = "LibreOffice (soffice) is not installed; `make system` installs it"
        if os.environ.get("CI") or os.environ.get("CONTRACT_TEST_PG"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def recalculate(files: list[pathlib.Path], out: pathlib.Path, profile: pathlib.Path) -> None:
    """Open, recalculate and save each file with LibreOffice (as tests/corpus/make_corpus.py)."""
    cmd = [
        soffice(),
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(out),
        *map(str, files),
    ]
    # Its own process group, so a hung instance is killed whole.
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            _, err = proc.communicate(timeout=SOFFICE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    assert proc.returncode == 0, err
    missing = [f.name for f in files if not (out / f.name).is_file()]
    assert not missing, f"LibreOffice wrote no {missing}: {err}"


@dataclasses.dataclass(frozen=True)
class Recalculated:
    written: dict[str, pathlib.Path]  # name → the workbook as written
    computed: dict[str, pathlib.Path]  # name → the workbook after LibreOffice recalculated it


@pytest.fixture(scope="module")
def recalculated(
    settled: dict[str, Case], tmp_path_factory: pytest.TempPathFactory
) -> Recalculated:
    soffice()
    folder = tmp_path_factory.mktemp("workbooks")
    written: dict[str, pathlib.Path] = {}
    for name, lang in WORKBOOKS:
        case = settled[name]
        path = folder / f"{name}-{lang}.xlsx"
        write_workbook(path, case.settlement, case.contract, lang, case.inputs)
        written[f"{name}-{lang}"] = path
    school = injected(settled["school-VT2026"])
    for lang in LANGS:
        path = folder / f"injected-{lang}.xlsx"
        write_workbook(path, school.settlement, school.contract, lang, school.inputs)
        written[f"injected-{lang}"] = path
    written["tampered"] = tampered(written["sick-2025-Q2-en"], folder / "tampered.xlsx")
    out = folder / "recalculated"
    recalculate(list(written.values()), out, tmp_path_factory.mktemp("lo-profile"))
    return Recalculated(written, {k: out / p.name for k, p in written.items()})


def tampered(source: pathlib.Path, target: pathlib.Path) -> pathlib.Path:
    """The workbook with one line's amount raised by one krona on the Lines sheet."""
    wb = openpyxl.load_workbook(source)
    ws = wb["Lines"]
    ws["I3"] = ws["I3"].value + 1
    wb.save(target)
    return target


# ---- reading back ---------------------------------------------------------------------


def named(wb: Any, name: str) -> Any:
    """The cell or cells a defined name points at."""
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref]


def exact(value: Any) -> Decimal:
    """A number read from a cell, as the decimal it reads back as."""
    assert isinstance(value, int | float) and not isinstance(value, bool), repr(value)
    return Decimal(repr(value))


def totals(wb: Any) -> dict[str, Any]:
    """Every total the summary computes: by rule, entitlement, before, total, payers."""
    got: dict[str, Any] = {f"rule {row[0].value}": row[1].value for row in named(wb, "rule_totals")}
    for key in ("entitlement", "previously_settled", "total"):
        got[key] = named(wb, key).value
    got |= {f"payer {row[0].value}": row[1].value for row in named(wb, "payer_totals")}
    return got


def expected(s: Settlement) -> dict[str, Decimal]:
    want = {f"rule {r}": a for r, a in s.rule_totals}
    want |= {
        "entitlement": s.entitlement,
        "previously_settled": s.previously_settled,
        "total": s.total,
    }
    return want | {f"payer {p}": a for p, a in s.payers}


# ---- the totals, recomputed by LibreOffice -------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("name", "lang"), BOTH, ids=[f"{n}-{lang}" for n, lang in BOTH])
def test_libreoffice_recomputes_every_total_exactly(
    name: str, lang: str, settled: dict[str, Case], recalculated: Recalculated
) -> None:
    s = settled[name].settlement
    wb = openpyxl.load_workbook(recalculated.computed[f"{name}-{lang}"], data_only=True)
    got = {k: exact(v) for k, v in totals(wb).items()}
    assert got == expected(s)
    # and to the quantum, as a payment is made
    quantum = settled[name].contract.settlement.rounding.quantum
    assert {k: v.quantize(quantum) for k, v in got.items()} == {
        k: v.quantize(quantum) for k, v in expected(s).items()
    }
    agrees = agreement_cells(recalculated.written[f"{name}-{lang}"], wb)
    assert agrees and all(v is True for v in agrees.values()), agrees


def agreement_cells(written: pathlib.Path, computed: Any) -> dict[str, Any]:
    """Every 'agrees' cell (=Bn=Cn) of the summary, as LibreOffice computed it."""
    source = openpyxl.load_workbook(written).worksheets[0]
    summary = computed.worksheets[0]
    return {
        c.coordinate: summary[c.coordinate].value
        for row in source.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value == f"=B{c.row}=C{c.row}"
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cumulative", "negative", "case-only"])
def test_libreoffice_recomputes_cumulative_negative_and_case_differing_rules(
    name: str, settled: dict[str, Case], recalculated: Recalculated
) -> None:
    s = settled[name].settlement
    wb = openpyxl.load_workbook(recalculated.computed[f"{name}-en"], data_only=True)
    assert {k: exact(v) for k, v in totals(wb).items()} == expected(s)
    if name == "cumulative":
        assert (s.entitlement, s.previously_settled, s.total) == (6500, 2500, 4000)
    if name == "negative":
        assert s.total == 0 and "no_negative" in dict(s.rule_totals)
    if name == "case-only":
        assert dict(s.rule_totals) == {"fee": Decimal("1000.25"), "Fee": Decimal("2000.50")}


@pytest.mark.slow
def test_payer_ties_go_to_the_payer_listed_first(
    settled: dict[str, Case], recalculated: Recalculated
) -> None:
    wb = openpyxl.load_workbook(recalculated.computed["payer-ties-sv"], data_only=True)
    got = {k: exact(v) for k, v in totals(wb).items() if k.startswith("payer")}
    # Kommun A and B have equal remainders: the left-over öre goes to A, listed first
    assert got == {
        "payer Region": Decimal("616.67"),
        "payer Kommun A": Decimal("308.34"),
        "payer Kommun B": Decimal("308.33"),
        "payer Fonden": Decimal("100.00"),
    }


@pytest.mark.slow
def test_totals_with_more_digits_than_a_double_agree_to_the_ore_and_keep_the_exact_text(
    settled: dict[str, Case], recalculated: Recalculated
) -> None:
    s = settled["long-digits"].settlement
    long = [x.amount for x in s.lines if workbook._float(x.amount) is None]
    assert long, "the case needs a line a double cannot hold"
    wb = openpyxl.load_workbook(recalculated.computed["long-digits-en"], data_only=True)
    got = totals(wb)
    for key, want in expected(s).items():
        assert abs(Decimal(repr(got[key])) - want) < Decimal("1e-9"), key
    # the total is on the quantum and is recovered exactly
    assert exact(got["total"]) == s.total
    written = openpyxl.load_workbook(recalculated.written["long-digits-en"])
    summary = written.worksheets[0]
    stated = [summary.cell(row=row[0].row, column=3).value for row in named(written, "rule_totals")]
    assert str(dict(s.rule_totals)["imp"]) in stated
    lines = written["Lines"]
    assert any(str(long[0]) in str(c.value) for c in lines["K"])


@pytest.mark.slow
def test_a_changed_line_changes_the_totals(
    settled: dict[str, Case], recalculated: Recalculated
) -> None:
    s = settled["sick-2025-Q2"].settlement
    wb = openpyxl.load_workbook(recalculated.computed["tampered"], data_only=True)
    got = {k: exact(v) for k, v in totals(wb).items()}
    assert got["total"] == s.total + 1
    assert got["rule avoided_sick_hours"] == dict(s.rule_totals)["avoided_sick_hours"] + 1
    assert False in agreement_cells(recalculated.written["tampered"], wb).values()


# ---- the totals are formulas ---------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES + SYNTHETIC)
def test_totals_are_live_formulas(
    name: str, settled: dict[str, Case], tmp_path: pathlib.Path
) -> None:
    case = settled[name]
    path = tmp_path / "w.xlsx"
    write_workbook(path, case.settlement, case.contract, "sv", case.inputs)
    wb = openpyxl.load_workbook(path)
    assert wb.calculation.fullCalcOnLoad  # Excel computes them on opening, too
    formulas = totals(wb)
    assert set(formulas) == set(expected(case.settlement))
    assert all(isinstance(v, str) and v.startswith("=") for v in formulas.values()), formulas
    rules = [row[1].value for row in named(wb, "rule_totals")]
    lines = "Rader" if name != "case-only" else "EXACT("
    assert all(lines in f for f in rules), rules


# ---- exact numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_every_amount_is_written_as_the_exact_number(
    name: str, settled: dict[str, Case], tmp_path: pathlib.Path
) -> None:
    case = settled[name]
    path = tmp_path / "w.xlsx"
    write_workbook(path, case.settlement, case.contract, "en", case.inputs)
    ws = openpyxl.load_workbook(path)["Lines"]
    rows = list(ws.iter_rows(min_row=2, values_only=False))
    assert len(rows) == len(case.settlement.lines)
    for row, line in zip(rows, case.settlement.lines, strict=True):
        assert row[0].value == line.rule
        assert exact(row[8].value) == line.amount, line
        assert row[8].number_format in ("#,##0.00", "#,##0")  # öre or whole kronor
        assert row[9].value.startswith("1. ")  # the explanation, step by step


def test_a_quantity_a_double_cannot_hold_is_also_written_as_exact_text(
    settled: dict[str, Case], tmp_path: pathlib.Path
) -> None:
    case = settled["sick-2025-Q2"]
    path = tmp_path / "w.xlsx"
    write_workbook(path, case.settlement, case.contract, "sv", case.inputs)
    wb = openpyxl.load_workbook(path)
    line = next(x for x in case.settlement.lines if x.rule == "avoided_sick_hours")
    assert line.quantity is not None and workbook._float(line.quantity) is None
    row = next(r for r in wb["Rader"].iter_rows(min_row=2) if r[0].value == line.rule)
    assert row[10].value == f"Antal = {line.quantity}"
    assert row[9].value.splitlines()[0] == f"1. {line.steps[0].text('sv')}"
    assert wb.sheetnames == ["Summering", "Rader", "Underlag"]


# ---- text from outcome files never runs ----------------------------------------------------


def test_text_that_looks_like_a_formula_is_written_as_text(
    settled: dict[str, Case], tmp_path: pathlib.Path
) -> None:
    case = injected(settled["school-VT2026"])
    path = tmp_path / "w.xlsx"
    write_workbook(path, case.settlement, case.contract, "en", case.inputs)
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value in PAYLOADS]
    where = {(c.parent.title, c.column_letter) for c in cells}
    # participants and descriptions, file names, groups, cap names
    assert {
        ("Lines", "C"),
        ("Lines", "D"),
        ("Inputs", "A"),
        ("Inputs", "C"),
        ("Summary", "B"),
    } <= where
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    assert {c.value for c in cells} == set(PAYLOADS)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "sv"])
def test_after_libreoffice_the_injected_cells_still_hold_their_text(
    lang: str, recalculated: Recalculated
) -> None:
    path = recalculated.computed[f"injected-{lang}"]
    for data_only in (False, True):
        wb = openpyxl.load_workbook(path, data_only=data_only)
        lines = wb.worksheets[1]
        participants = [lines.cell(row=r, column=4).value for r in range(2, 2 + len(PAYLOADS))]
        assert participants == list(PAYLOADS)
        assert all(
            lines.cell(row=r, column=4).data_type == "s" for r in range(2, 2 + len(PAYLOADS))
        )
        files = [wb.worksheets[2].cell(row=r, column=1).value for r in range(2, 2 + len(PAYLOADS))]
        assert files == list(PAYLOADS)
    # calamine reads cached values: text, not the formula's result ("y", 2, 3 ...)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(1).to_python()
    assert [row[3] for row in sheet[1 : 1 + len(PAYLOADS)]] == list(PAYLOADS)


def test_control_characters_and_carriage_returns_are_made_visible() -> None:
    assert workbook._clean("a\x07b\x00") == "a\\x07b\\x00"
    assert workbook._clean("\r=1+1") == "\n=1+1"  # XML would read the CR as LF anyway
    assert len(workbook._clean("x" * 40_000)) == workbook.MAX_TEXT


# ---- the file -----------------------------------------------------------------------------


def test_the_same_settlement_gives_the_same_bytes(
    settled: dict[str, Case], tmp_path: pathlib.Path
) -> None:
    case = settled["sick-2025-Q4"]
    stored = StoredInfo(7, "approved", "Anna Berg", None, "ab" * 32)
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_workbook(a, case.settlement, case.contract, "sv", case.inputs, stored)
    write_workbook(b, case.settlement, case.contract, "sv", case.inputs, stored)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    summary = openpyxl.load_workbook(a).worksheets[0]
    texts = [c.value for row in summary.iter_rows() for c in row if isinstance(c.value, str)]
    assert "godkänd, nr 7" in texts and "Anna Berg" in texts


def test_written_atomically(
    settled: dict[str, Case], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = settled["sick-2025-Q2"]
    path = tmp_path / "w.xlsx"
    path.write_bytes(b"the earlier workbook")

    def broken(fd: int) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(files.os, "fsync", broken)  # after the temporary file is written
        # one line for the user (exit 3), not a traceback
        with pytest.raises(EnvironmentFailure, match=r"cannot write .*w\.xlsx: disk full"):
            write_workbook(path, case.settlement, case.contract, "en", case.inputs)
    assert path.read_bytes() == b"the earlier workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["w.xlsx"]
    write_workbook(path, case.settlement, case.contract, "en", case.inputs)
    assert openpyxl.load_workbook(path).sheetnames == ["Summary", "Lines", "Inputs"]
    assert [p.name for p in tmp_path.iterdir()] == ["w.xlsx"]


def test_too_many_lines_for_a_worksheet_is_refused(
    settled: dict[str, Case], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = settled["school-HT2025"]
    monkeypatch.setattr(workbook, "MAX_ROWS", 10)
    with pytest.raises(InputError, match="do not fit"):
        write_workbook(tmp_path / "w.xlsx", case.settlement, case.contract, "en")
    assert list(tmp_path.iterdir()) == []
