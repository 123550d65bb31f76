"""The real `contract` command: exit codes, stdout (data) and stderr (diagnostics)."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from cli.main import app

ROOT = pathlib.Path(__file__).resolve().parent.parent
SICK = ROOT / "sample_data" / "sick-leave"
SCHOOL = ROOT / "sample_data" / "school-support"


def run(*args: str | pathlib.Path):  # type: ignore[no-untyped-def]
    return CliRunner(env={"COLUMNS": "120"}).invoke(app, [str(a) for a in args])


def test_check_a_good_contract() -> None:
    result = run("check", SICK / "contract.yaml")
    assert result.exit_code == 0, result.stderr
    assert "OK" in result.stdout and "2 worked example(s) agree" in result.stdout
    assert result.stderr == ""


def test_check_a_broken_contract_lists_every_error_with_line_and_column(
    tmp_path: pathlib.Path,
) -> None:
    text = (SICK / "contract.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text.replace("price: 420", "price: -420")
        .replace("filter: 'group == \"comparison\"'", "filter: 'grup == \"comparison\"'")
        .replace(
            "kind: previous_year, metric: short_sick_rate_c",
            "kind: previous_year, metric: short_sick_rate_x",
        ),
        encoding="utf-8",
    )
    result = run("check", broken)
    assert result.exit_code == 1
    assert result.stdout == ""
    located = [
        line.split(": error: ")[0].rsplit("/", 1)[-1]
        for line in result.stderr.splitlines()
        if ": error: " in line
    ]
    assert located == ["broken.yaml:71:161", "broken.yaml:76:54", "broken.yaml:97:12"]
    assert "[expression-name]" in result.stderr and "did you mean 'group'" in result.stderr
    assert "3 error(s)" in result.stderr


def test_check_json(tmp_path: pathlib.Path) -> None:
    result = run("check", SCHOOL / "contract.yaml", "--format", "json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["examples"] == 2 and report["issues"] == []


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("check", "no-such-file.yaml"), 2),
        (("check",), 2),
        (("check", SICK / "contract.yaml", "--format", "xml"), 2),
        (("frobnicate",), 2),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], code: int) -> None:
    result = run(*args)
    assert result.exit_code == code
    assert "Traceback" not in result.stderr + result.stdout


def test_check_a_folder_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    result = run("check", tmp_path)
    assert result.exit_code == 2
    assert "is a folder" in result.stderr


def test_schema_to_stdout_and_file(tmp_path: pathlib.Path) -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Outcome contract" and "rules" in schema["properties"]
    out = tmp_path / "contract.schema.json"
    result = run("schema", "-o", out)
    assert result.exit_code == 0 and json.loads(out.read_text()) == schema
    assert run("schema", "-o", tmp_path / "missing" / "x.json").exit_code == 2


def sick_files(quarters: int) -> list[str]:
    """Settle from these files alone (--dry-run): the ledger is neither read nor written."""
    files = [SICK / "outcomes" / "baseline-2024.xlsx"]
    files += [SICK / "outcomes" / f"2025-Q{q}.xlsx" for q in range(1, quarters + 1)]
    return ["--dry-run", *(arg for f in files for arg in ("--outcomes", str(f)))]


def test_settle_prints_lines_explanations_caps_and_totals() -> None:
    result = run("settle", SICK / "contract.yaml", "--period", "2025-Q4", *sick_files(4))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "How each amount came about" in out
    assert "threshold: effect 0.161 ≥ 0.05 (compared at 0.001): met" in out
    assert "rule-period  avoided_sick_hours  750 000  843 539.75  750 000.00  93 539.75" in out
    assert "total payable (SEK)                     1 200 000.00" in out
    assert "earlier settlements counted against caps: 2025-Q1, 2025-Q2, 2025-Q3" in out


def test_settle_json_is_the_settlement() -> None:
    result = run(
        "settle", SICK / "contract.yaml", "--period", "2025-Q1", *sick_files(1), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == "450000.00"
    assert data["rule_totals"] == {"fixed_fee": "450000.00", "avoided_sick_hours": "0.00"}
    steps = [s["code"] for s in data["lines"][1]["steps"]]
    assert steps[-1] == "threshold.missed_at"
    assert [f["rows"] for f in data["files"]] == [15000, 3750]


def test_settle_in_swedish() -> None:
    result = run(
        "settle", SICK / "contract.yaml", "--period", "2025-Q2", *sick_files(2), "--lang", "sv"
    )
    assert result.exit_code == 0, result.stderr
    assert "tröskel: effekt 0,083 ≥ 0,05" in result.stdout
    assert "829 110,71" in result.stdout


def test_settle_school_groups_many_lines() -> None:
    files = ["VT2025-intake.xlsx", "HT2025.xlsx", "VT2026.xlsx"]
    args = [a for f in files for a in ("--outcomes", str(SCHOOL / "outcomes" / f))]
    result = run("settle", SCHOOL / "contract.yaml", "--period", "VT2026", "--dry-run", *args)
    assert result.exit_code == 0, result.stderr
    assert "shown grouped; --lines shows each" in result.stdout
    assert "contract     contract" in result.stdout
    assert "attendance (participant caps −14\u00a0000)" in result.stdout
    assert "714 000.00" in result.stdout


def test_settle_refuses_a_later_period_without_its_history() -> None:
    result = run(
        "settle",
        SICK / "contract.yaml",
        "--period",
        "2025-Q3",
        *sick_files(0),
        "--outcomes",
        SICK / "outcomes" / "2025-Q3.xlsx",
    )
    assert result.exit_code == 1
    assert "[history-missing]" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("--period", "2025-Q7"), 2, "not a settlement period"),
        (("--period", "2025-Q1", "--outcomes", "missing.xlsx"), 2, "no such file"),
        (("--period", "2025-Q1", "--dry-run", "--outcomes", "missing.xlsx"), 2, "no such file"),
        (("--outcomes", "x.xlsx"), 2, "Missing option"),
        (("--period", "2025-Q1"), 1, "there are no outcome rows for 2025-Q1"),
    ],
)
def test_settle_usage_errors(args: tuple[str, ...], code: int, needle: str) -> None:
    extra = () if "--outcomes" in args or args[-1] == "2025-Q1" else tuple(sick_files(1))
    assert "Traceback" not in run("settle", SICK / "contract.yaml", *args, *extra).stderr
    result = run("settle", SICK / "contract.yaml", *args, *extra)
    assert result.exit_code == code
    assert needle in result.stderr


def test_settle_with_a_broken_outcome_file_names_the_cells(tmp_path: pathlib.Path) -> None:
    csv = tmp_path / "2025-Q1.csv"
    csv.write_text(
        "unit_id;employee_id;month;group;scheduled_hours;short_sick_hours;long_sick_hours\n"
        "U01;E1;2025-01;intervention;160;12,5;0\n"
        "U01;E2;2025-01;intervention;160;170;0\n"
        "U01;E3;2025-01;interventon;160;1;0\n",
        encoding="utf-8",
    )
    result = run(
        "settle",
        SICK / "contract.yaml",
        "--period",
        "2025-Q1",
        "--outcomes",
        SICK / "outcomes" / "baseline-2024.xlsx",
        "--outcomes",
        csv,
    )
    assert result.exit_code == 1
    assert "nothing was stored" in result.stderr or "has problems" in result.stderr
    assert "F3" in result.stderr and "[range-max]" in result.stderr
    assert "D4" in result.stderr and "[enum-value]" in result.stderr


def test_outcomes_validate_table_and_json(tmp_path: pathlib.Path) -> None:
    good = run(
        "outcomes",
        "validate",
        SICK / "contract.yaml",
        SICK / "outcomes" / "2025-Q2.xlsx",
        "--period",
        "2025-Q2",
    )
    assert good.exit_code == 0, good.stderr
    assert "valid — 3,750 rows" in good.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "unit_id;employee_id;month;group;scheduled_hours;short_sick_hours;long_sick_hours\n"
        "U01;E1;2025-04;intervention;160;12,5;0\n"
        "U01;E2;2025-05;intervention;160;170;0\n"
        "U01;E3;2025-07;interventon;160;1;0\n",
        encoding="utf-8",
    )
    table = run("outcomes", "validate", SICK / "contract.yaml", bad, "--period", "2025-Q2")
    assert table.exit_code == 1
    assert "F3" in table.stdout and "range-max" in table.stdout
    js = run(
        "outcomes", "validate", SICK / "contract.yaml", bad, "--period", "2025-Q2", "-f", "json"
    )
    assert js.exit_code == 1
    report = json.loads(js.stdout)
    assert report["valid"] is False and report["rows"] == 3
    assert sorted((e["cell"] or "", e["code"]) for e in report["errors"]) == [
        ("", "row-check"),
        ("C4", "period-outside"),
        ("D4", "enum-value"),
        ("F3", "range-max"),
    ]
    assert report["totals"]["scheduled_hours"] == "480"


def test_outcomes_annotate_and_template(tmp_path: pathlib.Path) -> None:
    import openpyxl

    template = tmp_path / "mall.xlsx"
    made = run(
        "outcomes", "template", SCHOOL / "contract.yaml", "--period", "HT2025", "-o", template
    )
    assert made.exit_code == 0, made.stderr
    book = openpyxl.load_workbook(template)
    assert [c.value for c in book["Data"][1]] == [
        "pupil_id",
        "school_id",
        "term",
        "grade_level",
        "attendance_pct",
        "grade_swedish",
        "grade_math",
        "grade_english",
        "eligible_upper_secondary",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "pupil_id,school_id,term,grade_level,attendance_pct,grade_swedish,grade_math,"
        "grade_english,eligible_upper_secondary\n"
        "P1,S1,HT2025,8,101,E,G,E,false\n",
        encoding="utf-8",
    )
    annotated = tmp_path / "rättad.xlsx"
    result = run("outcomes", "validate", SCHOOL / "contract.yaml", bad, "--annotate", annotated)
    assert result.exit_code == 1
    book = openpyxl.load_workbook(annotated)
    data = book[book.sheetnames[1]]
    assert data["E2"].comment is not None and "range-max" in data["E2"].comment.text
    assert data["G2"].comment is not None and "enum-value" in data["G2"].comment.text
    assert (
        run(
            "outcomes", "template", SCHOOL / "contract.yaml", "--period", "HT1999x", "-o", template
        ).exit_code
        == 2
    )


def test_progress_bar_shows_rows_per_second_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from rich.console import Console

    from cli import output

    screen = io.StringIO()
    monkeypatch.setattr(output, "err", Console(file=screen, force_terminal=True, width=100))
    with output.progress(enabled=True, label="2025-Q1.xlsx") as update:
        assert update is not None
        update(20_000, None)
    assert "rows/s" in screen.getvalue()
    with output.progress(enabled=False, label="x") as update:
        assert update is None  # --quiet
    monkeypatch.setattr(output, "err", Console(file=io.StringIO(), force_terminal=False))
    with output.progress(enabled=True, label="x") as update:
        assert update is None  # stderr is not a terminal


def test_settle_with_supplied_figures(tmp_path: pathlib.Path) -> None:
    text = (SICK / "contract.yaml").read_text(encoding="utf-8")
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        text.replace(
            "metrics:\n",
            "metrics:\n  - {id: national_rate, kind: supplied, source: SCB}\n",
            1,
        ),
        encoding="utf-8",
    )
    figures = tmp_path / "figures.csv"
    figures.write_text(
        "metric;period;value\nnational_rate;2025-Q1;0,041\nunknown;2025-Q1;1\n", encoding="utf-8"
    )
    bad = run("settle", contract, "--period", "2025-Q1", *sick_files(1), "--supplied", figures)
    assert bad.exit_code == 1
    assert "[supplied-unknown]" in bad.stderr and "Traceback" not in bad.stderr
    figures.write_text("metric;period;value\nnational_rate;2025-Q1;0,041\n", encoding="utf-8")
    good = run(
        "settle",
        contract,
        "--period",
        "2025-Q1",
        *sick_files(1),
        "--supplied",
        figures,
        "-f",
        "json",
    )
    assert good.exit_code == 0, good.stderr
    data = json.loads(good.stdout)
    assert str(figures) in data["inputs"]
    assert (
        run(
            "settle",
            contract,
            "--period",
            "2025-Q1",
            *sick_files(1),
            "--supplied",
            tmp_path / "missing.yaml",
        ).exit_code
        == 2
    )


@pytest.mark.parametrize(
    "args",
    [
        ("schema", "-o"),
        ("render", SICK / "contract.yaml", "-o"),
        ("render", SICK / "contract.yaml", "--format", "docx", "-o"),
        (
            "report",
            SCHOOL / "contract.yaml",
            "--period",
            "HT2025",
            "--outcomes",
            SCHOOL / "outcomes" / "VT2025-intake.xlsx",
            "--outcomes",
            SCHOOL / "outcomes" / "HT2025.xlsx",
            "--format",
            "xlsx",
            "-o",
        ),
    ],
)
def test_writing_onto_a_folder_is_a_usage_error(
    tmp_path: pathlib.Path, args: tuple[str | pathlib.Path, ...]
) -> None:
    result = run(*args, tmp_path)
    assert result.exit_code == 2, result.stderr
    assert "is a folder; give the name of a file" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_a_template_that_fails_as_python_does_is_the_templates_fault(
    tmp_path: pathlib.Path,
) -> None:
    (tmp_path / "contract.sv.md.j2").write_text("ok\n{{ 1 / 0 }}\n", encoding="utf-8")
    out = tmp_path / "avtal.md"
    result = run("render", SICK / "contract.yaml", "--template-dir", tmp_path, "-o", out)
    assert result.exit_code == 1, result.stderr
    assert "contract.sv.md.j2:2" in result.stderr and "division by zero" in result.stderr
    assert not out.exists()
