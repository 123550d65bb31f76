"""The corpus of messy and hostile outcome files, through the real `contract` command.

tests/corpus/files/ holds outcome files made the way clients make them (LibreOffice
headless saving xlsx, ods, xls and csv; csv as Swedish Excel writes it) and files that
reproduce one quirk or attack each (see tests/corpus/make_corpus.py, which regenerates
them). tests/corpus/expected.json says, per file, the command's arguments and what
`contract outcomes validate CONTRACT FILE --format json` must report: the exit status,
the rows counted and the exact (cell, code) pairs of the errors. Where the tool and a
user's reasonable expectation disagree, the expectation stands and the case carries
`xfail` with the reason, strictly, so that a fix shows up as XPASS.

Every file runs once per session in a subprocess of the installed console script (in
parallel), and must end with exit 0 or 1, no traceback and a JSON report of the shape
DESIGN.md gives.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
FILES = CORPUS / "files"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (CORPUS / "expected.json").read_text(encoding="utf-8")
)
NAMES = sorted(p.name for p in FILES.iterdir() if p.is_file())
DEFAULT_ARGS = ["sample_data/sick-leave/contract.yaml", "--period", "2025-Q1"]
TIMEOUT = 60  # seconds for one validation; every corpus file takes about one

# The outcome-file codes of README.md ("`contract outcomes`: the provider's side").
KNOWN_CODES = {
    "cell-type",
    "cell-ambiguous",
    "cell-error",
    "formula-no-value",
    "required",
    "enum-value",
    "range-min",
    "range-max",
    "row-check",
    "duplicate-key",
    "period-outside",
    "personnummer",
    "totals-row",
    "header-missing",
    "header-duplicate",
    "header-not-found",
    "file-not-spreadsheet",
    "file-corrupt",
    "file-encrypted",
    "file-macros",
    "file-hostile",
    "file-encoding",
    "file-invalid",
}
REPORT_KEYS = {"valid", "rows", "errors", "error_counts", "totals", "file", "sha256"}
ERROR_KEYS = {"sheet", "row", "column", "cell", "code", "message"}
CELL = re.compile(r"[A-Z]{1,3}([1-9][0-9]*)")


def contract_command() -> list[str]:
    """The installed console script, next to this interpreter or on PATH."""
    beside = pathlib.Path(sys.executable).parent / "contract"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("contract")
    if found is None:
        raise RuntimeError("the `contract` console script is not installed (pip install -e .)")
    return [found]


@dataclass(frozen=True)
class Observed:
    """One run of `contract outcomes validate ... --format json`."""

    path: pathlib.Path
    returncode: int
    stdout: str
    stderr: str

    def report(self) -> dict[str, Any]:
        return json.loads(self.stdout)  # type: ignore[no-any-return]


def args_of(name: str) -> list[str]:
    return list(EXPECTED.get(name, {}).get("args", DEFAULT_ARGS))


def validate(path: pathlib.Path, args: list[str]) -> Observed:
    contract, *options = args
    command = [
        *contract_command(),
        "outcomes",
        "validate",
        contract,
        str(path),
        *options,
        "--format",
        "json",
    ]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "120"}
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=TIMEOUT,
        env=env,
        check=False,
    )
    return Observed(path, done.returncode, done.stdout, done.stderr)


def validate_all(items: Iterable[tuple[pathlib.Path, list[str]]]) -> list[Observed]:
    jobs = list(items)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda job: validate(*job), jobs))


def sort_key(pair: list[Any]) -> tuple[bool, str, str]:
    return (pair[0] is not None, pair[0] or "", pair[1])


def pairs(report: dict[str, Any]) -> list[list[Any]]:
    return sorted(([e["cell"], e["code"]] for e in report["errors"]), key=sort_key)


@pytest.fixture(scope="module")
def observed(request: pytest.FixtureRequest) -> dict[str, Observed]:
    """Every corpus file the selected tests need, validated once, in parallel."""
    wanted = sorted(
        {
            item.callspec.params["name"]
            for item in request.session.items
            if getattr(item, "module", None) is sys.modules[__name__]
            and hasattr(item, "callspec")
            and "name" in item.callspec.params
        }
    )
    runs = validate_all((FILES / name, args_of(name)) for name in wanted)
    return dict(zip(wanted, runs, strict=True))


# ---- the corpus itself --------------------------------------------------------------


def test_every_file_has_an_expectation_and_every_expectation_a_file() -> None:
    assert NAMES, "the corpus is empty; run tests/corpus/make_corpus.py"
    assert set(NAMES) == set(EXPECTED)
    for name, exp in EXPECTED.items():
        assert exp["exit"] in (0, 1), name
        assert (exp["exit"] == 0) == (exp["errors"] == []), name
        assert exp["errors"] == sorted(exp["errors"], key=sort_key), f"{name}: keep errors sorted"
        assert {code for _, code in exp["errors"]} <= KNOWN_CODES, name
        assert exp["about"].strip(), name


def test_corpus_files_are_small() -> None:
    sizes = {name: (FILES / name).stat().st_size for name in NAMES}
    assert max(sizes.values()) <= 64 * 1024, sizes
    assert sum(sizes.values()) < 1024 * 1024


def test_corpus_covers_every_format_and_refusal() -> None:
    suffixes = {pathlib.Path(n).suffix for n in NAMES}
    assert {".xlsx", ".xls", ".ods", ".csv", ".xlsm", ".txt"} <= suffixes
    codes = {code for exp in EXPECTED.values() for _, code in exp["errors"]}
    refusals = {c for c in KNOWN_CODES if c.startswith("file-")} - {"file-encoding", "file-invalid"}
    assert refusals <= codes
    assert {"cell-error", "cell-ambiguous", "personnummer", "totals-row", "header-missing"} <= codes


# ---- (a) no file ends in a traceback; every report has the documented shape -----------


@pytest.mark.parametrize("name", NAMES)
def test_file_gives_a_json_report_and_exit_0_or_1(name: str, observed: dict[str, Observed]) -> None:
    run = observed[name]
    output = run.stdout + run.stderr
    assert run.returncode in (0, 1), f"exit {run.returncode}: {run.stderr}"
    assert "Traceback" not in output
    assert "internal error" not in output
    report = run.report()
    assert set(report) >= REPORT_KEYS
    assert isinstance(report["valid"], bool)
    assert report["valid"] == (run.returncode == 0) == (report["errors"] == [])
    assert isinstance(report["rows"], int) and report["rows"] >= 0
    assert report["file"] == str(run.path)
    assert report["sha256"] == hashlib.sha256(run.path.read_bytes()).hexdigest()
    for error in report["errors"]:
        assert set(error) == ERROR_KEYS, error
        assert error["code"] in KNOWN_CODES, error
        assert isinstance(error["message"], str) and error["message"].strip(), error
        if error["cell"] is not None:
            m = CELL.fullmatch(error["cell"])
            assert m is not None and int(m[1]) == error["row"], error
            assert error["column"] is not None, error
    counts = report["error_counts"]
    assert all(isinstance(n, int) and n > 0 for n in counts.values()), counts
    for code in {e["code"] for e in report["errors"]}:
        assert counts.get(code, 0) >= sum(e["code"] == code for e in report["errors"])
    for column, total in report["totals"].items():
        assert isinstance(column, str)
        Decimal(total)  # a number as text


# ---- (b) exactly the problems a user expects, cell by cell ----------------------------


def expectation_params() -> list[Any]:
    params = []
    for name in sorted(EXPECTED):
        reason = EXPECTED[name].get("xfail")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


@pytest.mark.parametrize("name", expectation_params())
def test_file_reports_exactly_the_expected_problems(
    name: str, observed: dict[str, Observed]
) -> None:
    exp = EXPECTED[name]
    run = observed[name]
    report = run.report()
    assert pairs(report) == exp["errors"], [
        (e["cell"], e["code"], e["message"]) for e in report["errors"]
    ]
    assert run.returncode == exp["exit"]
    assert report["rows"] == exp["rows"]
    for code, rows in exp.get("row_level", {}).items():
        found = sorted(e["row"] for e in report["errors"] if e["code"] == code)
        assert found == rows, code
    for secret in exp.get("absent", []):
        assert secret not in run.stdout + run.stderr, secret


def test_personnummer_is_masked_in_the_table_output_too() -> None:
    path = FILES / "lo-problems.xlsx"
    contract, *options = args_of(path.name)
    done = subprocess.run(
        [*contract_command(), "outcomes", "validate", contract, str(path), *options],
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"},
        check=False,
    )
    assert done.returncode == 1
    assert "personnummer" in done.stdout and "850709-****" in done.stdout
    for secret in EXPECTED[path.name]["absent"]:
        assert secret not in done.stdout + done.stderr


# ---- (c) the corpus can be made again --------------------------------------------------


@pytest.mark.slow
def test_corpus_regenerates_with_the_same_results(tmp_path: pathlib.Path) -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed; `make system` installs it")
    out = tmp_path / "files"
    done = subprocess.run(
        [
            sys.executable,
            str(CORPUS / "make_corpus.py"),
            "--out",
            str(out),
            "--profile",
            str(tmp_path / "lo-profile"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    made = sorted(p.name for p in out.iterdir())
    assert made == NAMES
    # Regenerated files must behave as the committed ones: the expectation where the
    # tool meets it, else the committed file's own (xfail) result.
    xfails = [n for n in NAMES if EXPECTED[n].get("xfail")]
    runs = validate_all(
        [(out / n, args_of(n)) for n in NAMES] + [(FILES / n, args_of(n)) for n in xfails]
    )
    fresh = dict(zip(NAMES, runs[: len(NAMES)], strict=True))
    committed = dict(zip(xfails, runs[len(NAMES) :], strict=True))

    def outcome(run: Observed) -> tuple[int, int, list[list[Any]]]:
        report = run.report()
        return run.returncode, report["rows"], pairs(report)

    for name in NAMES:
        exp = EXPECTED[name]
        want = (
            outcome(committed[name])
            if name in committed
            else (exp["exit"], exp["rows"], exp["errors"])
        )
        assert outcome(fresh[name]) == want, name
