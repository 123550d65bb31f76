"""Golden settlements of both sample contracts, settled from their outcome files.

The golden JSON is the whole settlement: metrics, every line with its explanation steps,
caps and totals. It changes only when someone runs `pytest --update-golden` and commits
the difference, so a change in any amount is a reviewed change.
"""

from __future__ import annotations

import json
import pathlib
from decimal import Decimal

import pytest

from contracts.api import settle_files

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = pathlib.Path(__file__).parent / "golden"
SICK = ROOT / "sample_data" / "sick-leave"
SCHOOL = ROOT / "sample_data" / "school-support"

SICK_FILES = ["baseline-2024.xlsx", "2025-Q1.xlsx", "2025-Q2.xlsx", "2025-Q3.xlsx", "2025-Q4.xlsx"]
SCHOOL_FILES = ["VT2025-intake.xlsx", "HT2025.xlsx", "VT2026.xlsx"]

CASES = [
    ("sick-leave", SICK, SICK_FILES[:2], "2025-Q1"),
    ("sick-leave", SICK, SICK_FILES[:3], "2025-Q2"),
    ("sick-leave", SICK, SICK_FILES[:4], "2025-Q3"),
    ("sick-leave", SICK, SICK_FILES, "2025-Q4"),
    ("school-support", SCHOOL, SCHOOL_FILES[:2], "HT2025"),
    ("school-support", SCHOOL, SCHOOL_FILES, "VT2026"),
]

# The figures a reader checks first, written out so a golden regeneration cannot hide them.
TOTALS = {
    # the net effect (4.5 %) is below the 5 % threshold: the fixed fee alone
    ("sick-leave", "2025-Q1"): "450000.00",
    # the quarterly cap of 750 000 cuts the outcome payment
    ("sick-leave", "2025-Q4"): "1200000.00",
    # the contract cap of 4 200 000 is reached
    ("school-support", "VT2026"): "714000",
}


def settled(folder: pathlib.Path, files: list[str], period: str) -> dict:
    report = settle_files(
        folder / "contract.yaml", [folder / "outcomes" / f for f in files], period
    )
    assert report.settlement is not None, [(i.code, i.message) for i in report.issues]
    data = report.settlement.to_dict()
    data["inputs"] = {pathlib.Path(k).name: v for k, v in data["inputs"].items()}
    return data


@pytest.mark.parametrize(
    ("sample", "folder", "files", "period"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES]
)
def test_golden_settlement(
    sample: str, folder: pathlib.Path, files: list[str], period: str, update_golden: bool
) -> None:
    data = settled(folder, files, period)
    path = GOLDEN / f"{sample}-{period}.json"
    if update_golden:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    golden = json.loads(path.read_text(encoding="utf-8"))
    assert data["total"] == golden["total"]
    assert data["rule_totals"] == golden["rule_totals"]
    assert data == golden
    if (sample, period) in TOTALS:
        assert data["total"] == TOTALS[(sample, period)]


@pytest.mark.parametrize(
    ("sample", "folder", "files", "period"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES]
)
def test_settlement_adds_up(
    sample: str, folder: pathlib.Path, files: list[str], period: str
) -> None:
    data = settled(folder, files, period)
    assert sum(Decimal(x["amount"]) for x in data["lines"]) == Decimal(data["total"])
    assert sum(Decimal(v) for v in data["payers"].values()) == Decimal(data["total"])
