"""`pip install .` ships what the tool needs: the schema and templates travel in the wheel."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_carries_schema_templates_and_the_console_script(tmp_path: pathlib.Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("outcome_contracts-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "schemas/contract.schema.json" in names
    assert "templates/__init__.py" in names
    assert "contracts/settle.py" in names and "cli/main.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "contract = cli.main:run" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any(n.startswith(("tests/", "sample_data/")) for n in names)
