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
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0].rsplit("/", 1)[-1] for line in lines] == [
        "broken.yaml:97:12"
    ]
    # shape errors come first; once the shape is right, meaning errors are listed
    broken.write_text(
        text.replace(
            "filter: 'group == \"comparison\"'", "filter: 'grup == \"comparison\"'"
        ).replace(
            "kind: previous_year, metric: short_sick_rate_c",
            "kind: previous_year, metric: short_sick_rate_x",
        ),
        encoding="utf-8",
    )
    result = run("check", broken)
    assert result.exit_code == 1
    located = [
        line.split(": error: ")[0].rsplit("/", 1)[-1]
        for line in result.stderr.splitlines()
        if ": error: " in line
    ]
    assert located == ["broken.yaml:71:161", "broken.yaml:76:54"]
    assert "[expression-name]" in result.stderr and "did you mean 'group'" in result.stderr


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
