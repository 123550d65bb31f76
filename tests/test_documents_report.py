"""`contract report` end to end: from the ledger (SQLite and PostgreSQL) and from files.

The sick-leave contract is ingested and settled into a fresh ledger by a clock fixed
for the test (Q1 and Q2 approved, then a corrected Q2 file settled again: an
adjustment with a credit due from the provider); the school-support contract is
reported from its files. Snapshots of the documents live in tests/snapshots/ and change
only with `pytest --update-golden tests/test_documents_report.py`. Around them: every
amount in the document parsed back and compared with the engine's `Decimal`, a tampered
ledger that gives no document, atomic writes, escaping of text from outcome files.
"""

from __future__ import annotations

import html
import importlib.util
import itertools
import json
import pathlib
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from contracts.api import settle_files
from contracts.contract_file import parse_contract
from contracts.documents.report import render_report
from contracts.documents.report_content import ReportSource
from contracts.documents.report_doc import ReportDoc, reference
from contracts.settlement import PriorSettlement
from contracts.store import audit, ledger
from contracts.store.canonical import canonical_json
from contracts.store.db import Store, open_store
from contracts.store.ingest import ingest_outcomes
from tests.helpers import settle_rows
from tests.store_fixtures import store, store_url  # noqa: F401

ROOT = pathlib.Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "snapshots"
DOCS = ROOT / "docs" / "templates.md"
# Relative to ROOT, where the tests run, so file names in the documents are stable.
SICK = pathlib.Path("sample_data/sick-leave/contract.yaml")
SICK_OUT = pathlib.Path("sample_data/sick-leave/outcomes")
SCHOOL = pathlib.Path("sample_data/school-support/contract.yaml")
SCHOOL_OUT = pathlib.Path("sample_data/school-support/outcomes")
SCHOOL_FILES = ("VT2025-intake.xlsx", "HT2025.xlsx", "VT2026.xlsx")
START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
CASES = [(lang, fmt) for lang in ("sv", "en") for fmt in ("md", "html")]


def run(url: str, *args: str | pathlib.Path) -> Any:
    env = {"COLUMNS": "120", "CONTRACT_DB": url}
    return CliRunner(env=env).invoke(app, ["report", *(str(a) for a in args)])


def school_args(period: str = "VT2026") -> list[str]:
    files = SCHOOL_FILES[: SCHOOL_FILES.index(f"{period}.xlsx") + 1]
    return [str(SCHOOL), "--period", period, *(f"--outcomes={SCHOOL_OUT / f}" for f in files)]


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture
def outdir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A folder of its own for documents (the SQLite ledger lives in tmp_path)."""
    folder = tmp_path / "documents"
    folder.mkdir()
    return folder


@dataclass(frozen=True)
class Ledger:
    store: Store
    url: str


def fill(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Q1 and Q2 settled and approved; Q2 corrected, settled again (no. 3) and approved."""
    ticks = itertools.count()

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # a minute later at every call
            return START + timedelta(minutes=next(ticks))

    monkeypatch.setattr(ledger, "datetime", Clock)
    files = [
        ("baseline-2024.xlsx", "2024"),
        ("2025-Q1.xlsx", "2025-Q1"),
        ("2025-Q2.xlsx", "2025-Q2"),
    ]
    for name, period in files:
        assert ingest_outcomes(store, SICK, SICK_OUT / name, period, by="analytiker").ok
    for period in ("2025-Q1", "2025-Q2"):
        assert ledger.settle_period(store, SICK, period, by="anna").status == "stored"
    for number in (1, 2):
        ledger.approve(store, number, by="eva.ek")
    corrected = SICK_OUT / "2025-Q2-corrected.xlsx"
    assert ingest_outcomes(store, SICK, corrected, "2025-Q2", by="analytiker", replace=True).ok
    again = ledger.settle_period(store, SICK, "2025-Q2", by="anna")
    assert again.stored is not None and again.stored.number == 3 and again.stored.adjusts == 2
    ledger.approve(store, 3, by="eva.ek")


@pytest.fixture
def sick_ledger(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
    at_root: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Ledger:
    """The filled ledger on SQLite and on PostgreSQL."""
    fill(store, monkeypatch)
    return Ledger(store, store_url)


@pytest.fixture
def sqlite_ledger(
    tmp_path: pathlib.Path, at_root: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Ledger]:
    """The filled ledger on SQLite only, for what does not depend on the database."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    opened = open_store(url)
    try:
        fill(opened, monkeypatch)
        yield Ledger(opened, url)
    finally:
        opened.close()


# ---- reading amounts back out of a document ----------------------------------------


def parse_money(text: str, lang: str) -> Decimal:
    """`−50 400 kr`, `-SEK 50,400`, `SEK 829,110.71` → the Decimal it states."""
    t = text.replace("\u00a0", " ").replace("\u2212", "-").replace("*", "")
    t = t.replace("SEK", "").replace("kr", "").strip()
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("-").strip()
    t = t.replace(",", "") if lang == "en" else t.replace(" ", "").replace(",", ".")
    assert re.fullmatch(r"\d+(\.\d+)?", t.replace(" ", "")), text
    return sign * Decimal(t.replace(" ", ""))


def section(text: str, number: int, fmt: str) -> str:
    head = "\n## " if fmt == "md" else "<h2>"
    return text.split(f"{head}{number}. ", 1)[1].split(head, 1)[0]


def rows(part: str, fmt: str) -> list[list[str]]:
    """The cells of every table row in `part`, as plain text."""
    if fmt == "md":
        found = [
            [c.strip().strip("*").replace("`", "") for c in line.strip().strip("|").split(" | ")]
            for line in part.splitlines()
            if line.startswith("| ") and not line.startswith("| ---")
        ]
        return [[c.strip() for c in r] for r in found]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, flags=re.S)
        ]
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", part, flags=re.S)
    ]


def amount_rows(part: str, fmt: str) -> list[list[str]]:
    """The rows whose last cell is an amount (not headings)."""
    return [r for r in rows(part, fmt) if len(r) > 1 and re.search(r"\d.*kr$|SEK", r[-1])]


def plain(part: str, fmt: str) -> str:
    text = part if fmt == "md" else html.unescape(re.sub(r"<[^>]+>", "", part))
    return text.replace("\u00a0", " ").replace("*", "")


def check_amounts(text: str, lang: str, fmt: str, expect: dict[str, Any]) -> None:
    """Every total, payer part, line and adjustment in the document is the engine's."""
    s = expect["settlement"]
    money = lambda cell: parse_money(cell, lang)  # noqa: E731
    # Line items: the tables (HTML, and Markdown for rules with few lines) and the
    # explanation headings (Markdown) carry each line's amount.
    lines = section(text, 6, fmt)
    seen: dict[int, Decimal] = {}
    if fmt == "html":
        for cells in rows(lines, fmt):
            if len(cells) == 6 and cells[0].isdigit():
                seen[int(cells[0])] = money(cells[5])
    else:
        for n, amount in re.findall(r"^\*\*(\d+)\. .*\*\* \([^)]*\): (.+)$", lines, flags=re.M):
            seen[int(n)] = money(amount)
    assert seen == {n: x.amount for n, x in enumerate(s.lines, 1)}
    # Totals: per rule, the period's total, each payer's part.
    totals = {c[0]: money(c[-1]) for c in amount_rows(section(text, 8, fmt), fmt)}
    for rule, amount in s.rule_totals:
        (label,) = [k for k in totals if k.endswith(f"({rule})")]
        assert totals[label] == amount, rule
    (total,) = [v for k, v in totals.items() if k.startswith(("Total for", "Summa för"))]
    assert total == s.total
    for payer, amount in s.payers:
        assert totals[payer] == amount, payer
    if s.previously_settled:  # cumulative: earned to date less what was settled before
        earned, before = (
            ("Entitlement to date", "Settled before")
            if lang == "en"
            else (
                "Upparbetat hittills",
                "Tidigare avräknat",
            )
        )
        assert (totals[earned], totals[before]) == (s.entitlement, s.previously_settled)
    # The adjustment and what moves now.
    adj = expect["adjustment"]
    found = amount_rows(section(text, 9, fmt), fmt)
    if adj is None:
        assert found == []
    else:
        table = {cells[0]: [money(c) for c in cells[1:]] for cells in found}
        for x in adj.lines:
            (label,) = [k for k in table if k.endswith(f"({x.rule})")]
            assert table[label] == [x.settled, x.now, x.difference]
        assert table["Total" if lang == "en" else "Summa"] == [adj.settled, adj.now, adj.difference]
    payable = plain(section(text, 10, fmt), fmt)
    m = re.search(
        r"(Credit due from|Att återbetala av|Payable now to|Att betala till) [^:]+: (.+)", payable
    )
    assert m is not None, payable
    credit = m.group(1) in ("Credit due from", "Att återbetala av")
    assert credit == (expect["payable"] < 0)
    assert money(m.group(2)) == abs(expect["payable"])


def snapshot(name: str, text: str, update: bool) -> None:
    path = SNAPSHOTS / name
    if update:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is intended: pytest --update-golden {__file__}"
    )


# ---- from the ledger ------------------------------------------------------------------


def test_a_ledger_report_of_an_adjusted_settlement(
    sick_ledger: Ledger, update_golden: bool
) -> None:
    """On both databases: the same documents, every amount the engine's, the credit due."""
    again = audit.reproduce(sick_ledger.store, 3)
    assert again.stored.payable == Decimal("-50400.00")
    expect = {
        "settlement": again.settlement,
        "adjustment": again.adjustment,
        "payable": again.stored.payable,
    }
    for lang, fmt in CASES:
        args = (SICK, "--period", "2025-Q2", "--lang", lang, "--format", fmt)
        result = run(sick_ledger.url, *args)
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        # One snapshot for SQLite and PostgreSQL: the ledger's database makes no difference.
        snapshot(f"report-sick-leave-2025-Q2.{lang}.{fmt}", result.stdout, update_golden)
        check_amounts(result.stdout, lang, fmt, expect)
        text = plain(result.stdout, fmt)
        for needed in ("settlement 2" if lang == "en" else "avräkning 2", "eva.ek", "anna"):
            assert needed in text
        assert "2025-Q2-corrected.xlsx" in text and again.stored.sha256 in text


@pytest.mark.parametrize("suffix", ["md", "html", "json", "xlsx"])
def test_a_tampered_ledger_gives_no_report_and_writes_nothing(
    sick_ledger: Ledger, outdir: pathlib.Path, suffix: str
) -> None:
    document = ledger.show(sick_ledger.store, 3).document
    document["settlement"]["lines"][1]["amount"] = "428710.71"
    with sick_ledger.store.write() as conn:
        conn.execute(
            sa.text("UPDATE settlement SET document = :d WHERE number = 3"),
            {"d": canonical_json(document)},
        )
    kept = outdir / f"kept.{suffix}"
    kept.write_bytes(b"the report as it was")
    for out in (outdir / f"new.{suffix}", kept):
        result = run(sick_ledger.url, SICK, "--period", "2025-Q2", "-o", out)
        assert result.exit_code == 1, (result.stdout, result.stderr)
        message = " ".join(result.stderr.split())
        assert "settlement 3 no longer matches what the ledger stores for it" in message
        assert "Traceback" not in result.stderr
    assert sorted(p.name for p in outdir.iterdir()) == [f"kept.{suffix}"]
    assert kept.read_bytes() == b"the report as it was"
    # The untouched settlements still report.
    assert run(sick_ledger.url, SICK, "--period", "2025-Q1").exit_code == 0


def test_an_earlier_settlement_by_number_names_the_one_that_followed(
    sqlite_ledger: Ledger,
) -> None:
    result = run(sqlite_ledger.url, SICK, "--period", "2025-Q2", "--number", "2", "--lang", "en")
    assert result.exit_code == 0, result.stderr
    md = result.stdout
    assert "| Status | approved for payment |" in md
    assert "| Followed by | settlement 3 |" in md
    assert "This settlement adjusts no earlier settlement" in md
    assert "2025-Q2-corrected" not in md and "sample_data/sick-leave/outcomes/2025-Q2.xlsx" in md
    again = audit.reproduce(sqlite_ledger.store, 2)
    expect = {"settlement": again.settlement, "adjustment": None, "payable": again.stored.payable}
    check_amounts(md, "en", "md", expect)


def test_json_is_the_stored_record_the_settlement_and_the_adjustment(
    sqlite_ledger: Ledger,
) -> None:
    result = run(sqlite_ledger.url, SICK, "--period", "2025-Q2", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    stored = ledger.show(sqlite_ledger.store, 3)
    assert data["source"] == "ledger" and data["status"] == "approved" and data["later"] is None
    assert data["settlement"] == stored.document["settlement"]
    assert data["adjustment"] == stored.document["adjustment"]
    assert data["payable"] == stored.document["payable"] == "-50400.00"
    assert data["stored"]["number"] == 3 and data["stored"]["approved_by"] == "eva.ek"
    assert data["stored"]["created_at"] == "2026-03-02T09:34:00+00:00"  # the test's clock
    assert data["stored"]["sha256"] == stored.sha256
    assert data["contract"]["version"] == stored.inputs.contract_sha256
    assert [(i["file"], i["submission"], i["rows"]) for i in data["inputs"]] == [
        ("sample_data/sick-leave/outcomes/baseline-2024.xlsx", 1, 15000),
        ("sample_data/sick-leave/outcomes/2025-Q1.xlsx", 2, 3750),
        ("sample_data/sick-leave/outcomes/2025-Q2-corrected.xlsx", 4, 3750),
    ]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_workbook_is_written_from_the_stored_settlement(
    sqlite_ledger: Ledger, outdir: pathlib.Path, lang: str
) -> None:
    out = outdir / "avrakning.xlsx"
    result = run(sqlite_ledger.url, SICK, "--period", "2025-Q2", "--lang", lang, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "wrote" in result.stderr and "settlement 3 of 2025-Q2 (approved)" in result.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["avrakning.xlsx"]
    wb = openpyxl.load_workbook(out)
    names = ["Summary", "Lines", "Inputs"] if lang == "en" else ["Summering", "Rader", "Underlag"]
    assert wb.sheetnames == names
    cells = [c for row in wb.worksheets[0].iter_rows(values_only=True) for c in row if c]
    assert ledger.show(sqlite_ledger.store, 3).sha256 in cells
    assert Decimal("778710.71") in {Decimal(str(c)) for c in cells if isinstance(c, float)}


def test_a_period_without_a_settlement_is_a_clear_message(
    sqlite_ledger: Ledger, outdir: pathlib.Path
) -> None:
    out = outdir / "r.md"
    result = run(sqlite_ledger.url, SICK, "--period", "2025-Q3", "-o", out)
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert (
        "no settlement of 2025-Q3 is stored yet; run `contract settle` first, "
        "or give --outcomes to report from files" in message
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--number", "1"), "settlement 1 settles 2025-Q1, not 2025-Q2"),
        (("--number", "9"), "there is no settlement 9"),
        (("--period", "2031-Q1"), "2031-Q1 is not a settlement period of this contract"),
    ],
)
def test_asking_for_what_is_not_there_is_a_usage_error(
    sqlite_ledger: Ledger, args: tuple[str, ...], expected: str
) -> None:
    result = run(sqlite_ledger.url, SICK, "--period", "2025-Q2", *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert expected in " ".join(result.stderr.split())


def test_writing_a_file_is_atomic_and_the_format_follows_the_suffix(
    sqlite_ledger: Ledger, outdir: pathlib.Path
) -> None:
    out = outdir / "rapport.html"
    out.write_text("an older version", encoding="utf-8")
    result = run(sqlite_ledger.url, SICK, "--period", "2025-Q2", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    html_text = run(sqlite_ledger.url, SICK, "-p", "2025-Q2", "-f", "html").stdout
    assert out.read_text(encoding="utf-8") == html_text
    assert sorted(p.name for p in outdir.iterdir()) == ["rapport.html"]  # no temporary left


# ---- from files -------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "fmt"), CASES)
def test_a_report_from_files(at_root: None, lang: str, fmt: str, update_golden: bool) -> None:
    result = run("sqlite:///unused.db", *school_args(), "--lang", lang, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert not (ROOT / "unused.db").exists()  # the ledger is not opened
    snapshot(f"report-school-support-VT2026.{lang}.{fmt}", result.stdout, update_golden)
    engine = settle_files(SCHOOL, [SCHOOL_OUT / f for f in SCHOOL_FILES], "VT2026").settlement
    assert engine is not None and engine.caps  # participant caps and the contract cap cut
    check_amounts(
        result.stdout,
        lang,
        fmt,
        {"settlement": engine, "adjustment": None, "payable": engine.total},
    )
    status = (
        "not stored (computed from files)" if lang == "en" else "inte lagrad (beräknad från filer)"
    )
    assert status in plain(result.stdout, fmt)


def test_json_from_files(at_root: None) -> None:
    result = run("sqlite:///unused.db", *school_args("HT2025"), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    engine = settle_files(SCHOOL, [SCHOOL_OUT / f for f in SCHOOL_FILES[:2]], "HT2025")
    assert engine.settlement is not None
    assert data["source"] == "files" and data["status"] == "not-stored" and data["stored"] is None
    assert data["settlement"] == engine.settlement.to_dict()
    assert data["payable"] == str(engine.settlement.total) and data["adjustment"] is None
    assert [i["sha256"] for i in data["inputs"]] == [i.sha256 for i in engine.inputs]


HOSTILE = "<img src=x onerror=alert(1)>"


def hostile_files(tmp_path: pathlib.Path) -> list[pathlib.Path]:
    header = (
        "pupil_id,school_id,term,grade_level,attendance_pct,grade_swedish,grade_math,"
        "grade_english,eligible_upper_secondary\n"
    )
    intake = tmp_path / "intake.csv"
    intake.write_text(header + f'"{HOSTILE}",S1,VT2025,7,70,F,C,C,false\n', encoding="utf-8")
    term = tmp_path / "ht2025<script>.csv"
    term.write_text(header + f'"{HOSTILE}",S1,HT2025,8,95,E,C,C,false\n', encoding="utf-8")
    return [intake, term]


def test_html_escapes_text_from_outcome_files(tmp_path: pathlib.Path) -> None:
    args = [ROOT / SCHOOL, "--period", "HT2025"]
    args += [f"--outcomes={f}" for f in hostile_files(tmp_path)]
    page = run("sqlite:///unused.db", *args, "--format", "html", "--lang", "en")
    assert page.exit_code == 0, page.stderr
    assert "<img" not in page.stdout and "<script" not in page.stdout
    assert html.escape(HOSTILE, quote=False) in page.stdout
    assert "ht2025&lt;script&gt;.csv" in page.stdout
    md = run("sqlite:///unused.db", *args, "--format", "md", "--lang", "en").stdout
    assert not re.search(r"(?<!\\)<(script|img)", md)


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "pdf"),  # a PDF needs -o
        ("--format", "xlsx"),
        ("--format", "docx"),
        ("--lang", "fi"),
        ("--number", "1", "--outcomes", "x.xlsx"),
        ("--supplied", "figures.yaml"),
        ("--template-dir", "no-such-folder"),
    ],
)
def test_usage_errors_exit_2(at_root: None, args: tuple[str, ...]) -> None:
    result = run("sqlite:///unused.db", *school_args(), *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr


def test_an_invalid_contract_or_file_reports_nothing(at_root: None, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "r.md"
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    broken = run(url, "sample_data/broken-contract.yaml", "-p", "2025-Q1", "-o", out)
    assert broken.exit_code == 1 and "[field-invalid]" in broken.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("pupil_id,term\nP1,HT2025\n", encoding="utf-8")
    files = run("sqlite:///unused.db", SCHOOL, "-p", "HT2025", f"--outcomes={bad}", "-o", out)
    assert files.exit_code == 1 and "[header-not-found]" in files.stderr
    assert not out.exists()


PDF_READY = importlib.util.find_spec("weasyprint") is not None and shutil.which("pdftotext")


@pytest.mark.slow
@pytest.mark.skipif(not PDF_READY, reason="needs weasyprint and pdftotext (make system)")
def test_pdf_carries_the_credit_and_the_adjustment(
    sqlite_ledger: Ledger, outdir: pathlib.Path
) -> None:
    out = outdir / "rapport.pdf"
    result = run(sqlite_ledger.url, SICK, "--period", "2025-Q2", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True
    ).stdout
    text = " ".join(text.replace("\u00a0", " ").split())
    assert "Att återbetala av Friskare Arbetsplats AB: 50 400 kr" in text
    assert "379 110,71 kr 328 710,71 kr −50 400 kr" in text


@pytest.mark.parametrize("basis", ["per_period", "cumulative"])
def test_every_rule_family_is_reported_with_its_amounts(basis: str) -> None:
    """A contract with every rule family, settled for a year: each report's amounts exact."""
    text = (SNAPSHOTS / "all-families.contract.yaml").read_text(encoding="utf-8")
    contract = parse_contract(text.replace("basis: per_period", f"basis: {basis}"), "x.yaml")
    assert contract.contract is not None
    quarters = ["2024-01", "2024-04", "2025-01", "2025-04", "2025-07", "2025-10"]
    rows = [
        {
            "pid": f"P{i}",
            "month": month,
            "group": "new" if i % 2 else "old",
            "x": str(12 if month.startswith("2024") else 4 + i % 3 + q),
            "y": str(Decimal("0.4") + Decimal(i) / 10),
            "hours": "160",
        }
        for i in range(6)
        for q, month in enumerate(quarters)
    ]
    supplied = {("wellbeing", f"2025-Q{q}"): "3.8" for q in range(1, 5)}
    prior: list[PriorSettlement] = []
    for q in range(1, 5):
        settlement = settle_rows(contract.contract, f"2025-Q{q}", rows, supplied, prior)
        prior.append(settlement.as_prior())
        source = ReportSource(contract.contract, "0" * 64, settlement, None, ())
        expect = {"settlement": settlement, "adjustment": None, "payable": settlement.total}
        for lang, fmt in CASES:
            document = render_report(source, fmt, lang)  # type: ignore[arg-type]
            assert isinstance(document, str)
            check_amounts(document, lang, fmt, expect)
    assert settlement.caps and (basis == "per_period" or settlement.previously_settled)


# ---- the documented context ---------------------------------------------------------------

BEGIN, END = "<!-- generated: report context -->\n", "<!-- end: report context -->"


def test_docs_templates_md_carries_the_report_context_reference(update_golden: bool) -> None:
    text = DOCS.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    current = BEGIN + reference() + "\n" + END
    if update_golden:
        DOCS.write_text(head + current + tail, encoding="utf-8")
        rest = current[len(BEGIN) :]
    assert BEGIN + rest.split(END, 1)[0] + END == current, (
        "docs/templates.md is stale: run pytest --update-golden tests/test_documents_report.py"
    )


def _models(model: Any) -> Iterator[Any]:
    seen = [model]
    for m in seen:
        yield m
        for field in m.model_fields.values():
            for arg in [field.annotation, *getattr(field.annotation, "__args__", ())]:
                for sub in [arg, *getattr(arg, "__args__", ())]:
                    if isinstance(sub, type) and hasattr(sub, "model_fields") and sub not in seen:
                        seen.append(sub)


def test_every_report_context_field_has_a_description() -> None:
    models = list(_models(ReportDoc))
    assert len(models) > 12
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"


def test_the_workbook_of_an_adjustment_recomputes_the_credit(
    sqlite_ledger: Ledger, outdir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """LibreOffice recalculates the adjustment block: the credit equals the engine's."""
    from tests.test_documents_workbook import named, recalculate

    out = outdir / "avrakning.xlsx"
    assert run(sqlite_ledger.url, SICK, "--period", "2025-Q2", "-o", out).exit_code == 0
    written = openpyxl.load_workbook(out)
    assert str(named(written, "payable").value).startswith("=ROUND(")
    recalculate([out], tmp_path / "calc", tmp_path / "profile")
    computed = openpyxl.load_workbook(tmp_path / "calc" / out.name, data_only=True)
    payable = Decimal(repr(named(computed, "payable").value)).quantize(Decimal("0.01"))
    assert payable == ledger.show(sqlite_ledger.store, 3).payable == Decimal("-50400.00")
    texts = [c for row in computed.worksheets[0].iter_rows(values_only=True) for c in row]
    assert "Justering mot avräkning 2" in texts
