"""Validation speed and memory against the floors of issue 3, as ratios taken in one run.

    .venv/bin/python bench/bench_validate.py            # 1,000,000 rows (generates bench/data/ once)
    .venv/bin/python bench/bench_validate.py --rows 200000

Each measurement runs in its own process so that its peak memory (max RSS) is its own.
Floors, measured in the same run on the same generated files:

- csv.reader reading the csv;          target: validating the csv takes at most 4x that,
                                        with peak memory under 150 MiB;
- openpyxl read-only (with defusedxml when installed) iterating the xlsx;
                                        target: validating the xlsx takes at most 0.3x
                                        that, with peak memory under 1 GiB.

Generated data only; nothing here is committed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
CONTRACT = ROOT / "sample_data" / "sick-leave" / "contract.yaml"

CSV_READ = """
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    n = sum(1 for _ in csv.reader(f))
print(n)
"""
OPENPYXL_READ = """
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
print(n)
"""
VALIDATE = """
import pathlib, sys
from contracts.contract_file import read_contract
from contracts.outcome_sheet import validate_file
contract = read_contract(pathlib.Path(sys.argv[2])).contract
report = validate_file(contract, pathlib.Path(sys.argv[1]))
print(report.rows, report.valid, dict(report.error_counts))
"""


def measure(code: str, *args: str) -> tuple[float, float, str]:
    """Wall time in seconds and peak RSS in MiB of `code` run in a fresh interpreter."""
    # The child reports its own peak: RUSAGE_CHILDREN would give the largest child so far.
    probe = (
        code
        + "\nimport resource\nprint('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr}")
    lines = done.stdout.strip().splitlines()
    peak_kib = int(lines[-1].split()[1])
    return wall, peak_kib / 1024, " ".join(lines[:-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    data = HERE / "data"
    csv_path = data / f"sick_leave_{args.rows}.csv"
    xlsx_path = data / f"sick_leave_{args.rows}.xlsx"
    if not (csv_path.exists() and xlsx_path.exists()):
        print(f"generating {args.rows:,} rows (xlsx takes minutes for a million) ...", flush=True)
        subprocess.run(
            [sys.executable, str(HERE / "gen_sick_leave.py"), str(args.rows)], check=True
        )
    results = {}
    for name, code, path in [
        ("csv.reader", CSV_READ, csv_path),
        ("validate csv", VALIDATE, csv_path),
        ("openpyxl read-only", OPENPYXL_READ, xlsx_path),
        ("validate xlsx", VALIDATE, xlsx_path),
    ]:
        wall, peak, out = measure(code, str(path), str(CONTRACT))
        results[name] = {"seconds": round(wall, 2), "peak_mib": round(peak, 1), "output": out}
        print(f"{name:<20} {wall:8.2f} s  peak {peak:8.1f} MiB   ({out})", flush=True)
    csv_ratio = results["validate csv"]["seconds"] / results["csv.reader"]["seconds"]
    xlsx_ratio = results["validate xlsx"]["seconds"] / results["openpyxl read-only"]["seconds"]
    print()
    print(
        f"validate csv  / csv.reader          = {csv_ratio:5.2f}x   (target <= 4x)   "
        f"peak {results['validate csv']['peak_mib']:.0f} MiB (target < 150)"
    )
    print(
        f"validate xlsx / openpyxl read-only  = {xlsx_ratio:5.2f}x   (target <= 0.3x) "
        f"peak {results['validate xlsx']['peak_mib']:.0f} MiB (target < 1024)"
    )
    (data / "last_run.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
