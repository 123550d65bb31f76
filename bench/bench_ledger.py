"""Ingest speed and memory against validation, on SQLite and PostgreSQL, in one run.

    .venv/bin/python bench/bench_ledger.py                 # 1,000,000 rows (bench/data/)
    .venv/bin/python bench/bench_ledger.py --rows 200000 --pg postgresql+psycopg://...
    .venv/bin/python bench/bench_ledger.py --no-pg --repeat 1 --beside-another

Target (DESIGN.md, "Scale": storing costs at most as much again as validating): ingesting
a csv takes at most 2x validating it, on both databases, and peak memory does not grow
with the number of rows (compare two --rows).

Each step runs in its own process, so that its peak memory (max RSS) is its own; the
seconds are those of the call alone (validate_file, ingest_outcomes), timed in the child,
so interpreter start-up, imports and creating the schema are not counted; "MiB added"
is the peak during the call less the peak before it. The steps run in turn `--repeat`
times and each keeps its fastest run, so that a burst of load elsewhere on the machine
(the database server shares its cores) does not decide a ratio. The ledger is fresh for
every ingest: a new SQLite file in a temporary folder; on PostgreSQL (URL from --pg,
else CONTRACT_TEST_PG, else the default below) a new schema, dropped afterwards. With
--beside-another, a one-row file is ingested first (not timed), so that the check of the
new rows' keys against another live submission runs as it does from the second file on.
Generated data only; nothing here is committed.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import quote

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
CONTRACT = ROOT / "sample_data" / "sick-leave" / "contract.yaml"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Each child prints what it did, then `KEY value` lines: its peak RSS (KiB) before the
# step (imports, database opened) and after it, and the seconds of the step.
START = "import resource\nprint('START', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
VALIDATE = (
    """
import pathlib, sys, time
from contracts.contract_file import read_contract
from contracts.outcome_sheet import validate_file
contract = read_contract(pathlib.Path(sys.argv[2])).contract
"""
    + START
    + """
start = time.perf_counter()
report = validate_file(contract, pathlib.Path(sys.argv[1]))
took = time.perf_counter() - start
print(report.rows, "valid" if report.valid else dict(report.error_counts))
print("SECONDS", took)
"""
)
INGEST = (
    """
import pathlib, sys, time
from contracts.store.db import open_store, upgrade
from contracts.store.ingest import ingest_outcomes
url = sys.argv[3]
if url.startswith("postgresql"):
    upgrade(url)
store = open_store(url)
if sys.argv[4] != "-":  # an earlier live submission, for the cross-submission key check
    ingest_outcomes(store, pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[4]), None)
"""
    + START
    + """
start = time.perf_counter()
result = ingest_outcomes(store, pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[1]), None)
took = time.perf_counter() - start
store.close()
print(result.rows, result.status, result.message if not result.ok else "")
print("SECONDS", took)
"""
)
# A row whose key (employee X1) the generated files do not hold.
OTHER = (
    "unit_id,employee_id,month,group,scheduled_hours,short_sick_hours,long_sick_hours\n"
    "U000,X1,2024-12,intervention,160,8,0\n"
)
PROBE = "\nimport resource\nprint('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"

Step = tuple[float, float, float, str]  # seconds, peak MiB, MiB the step added, output


def measure(code: str, *args: str) -> Step:
    """Seconds of the step and peak RSS of `code` run in a fresh interpreter."""
    # The child reports its own peak: RUSAGE_CHILDREN would give the largest child so far.
    done = subprocess.run(
        [sys.executable, "-c", code + PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stderr}")
    out, kv = [], {}
    for line in done.stdout.strip().splitlines():
        key, _, value = line.partition(" ")
        if key in ("START", "PEAK", "SECONDS"):
            kv[key] = float(value)
        else:
            out.append(line)
    peak = kv["PEAK"] / 1024
    return kv["SECONDS"], peak, peak - kv["START"] / 1024, " ".join(out)


def pg_schema_url(base: str, schema: str) -> str:
    """`base` with every connection's search_path set to `schema` (as the tests do)."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def pg_step(base: str, csv_path: pathlib.Path, other: str) -> Step:
    import sqlalchemy as sa  # only the PostgreSQL step needs it in this process

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = pg_schema_url(base, schema)
        return measure(INGEST, str(csv_path), str(CONTRACT), url, other)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("CONTRACT_TEST_PG") or PG_DEFAULT)
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL step")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (fastest kept)")
    parser.add_argument(
        "--beside-another", action="store_true", help="ingest into a ledger holding a file"
    )
    args = parser.parse_args()
    csv_path = HERE / "data" / f"sick_leave_{args.rows}.csv"
    if not csv_path.exists():
        print(f"generating {args.rows:,} rows ...", flush=True)
        subprocess.run(
            [sys.executable, str(HERE / "gen_sick_leave.py"), str(args.rows), "--csv-only"],
            check=True,
        )
    results: dict[str, Step] = {}

    def step(name: str, outcome: Step) -> None:
        seconds, peak, added, out = outcome
        print(
            f"{name:<18} {seconds:8.2f} s  peak {peak:6.1f} MiB (+{added:.1f} in the step)  "
            f"({out})",
            flush=True,
        )
        if name in results:  # the fastest run, the highest peak
            best = results[name]
            outcome = (min(seconds, best[0]), max(peak, best[1]), max(added, best[2]), out)
        results[name] = outcome

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        other = "-"
        if args.beside_another:
            other = str(pathlib.Path(tmp) / "other.csv")
            pathlib.Path(other).write_text(OTHER, encoding="utf-8")
        for n in range(args.repeat):
            step("validate csv", measure(VALIDATE, str(csv_path), str(CONTRACT)))
            url = f"sqlite:///{pathlib.Path(tmp) / f'ledger{n}.db'}"
            step("ingest SQLite", measure(INGEST, str(csv_path), str(CONTRACT), url, other))
            if not args.no_pg:
                step("ingest PostgreSQL", pg_step(args.pg, csv_path, other))
    base = results["validate csv"][0]
    print()
    elapsed = time.perf_counter() - started
    print(f"{args.rows:,} csv rows, fastest of {args.repeat} runs, {elapsed:.0f} s in all")
    print()
    print("| step | seconds | peak MiB | MiB added by the step | ratio to validation |")
    print("|---|---:|---:|---:|---:|")
    for name, (seconds, peak, added, _) in results.items():
        print(f"| {name} | {seconds:.2f} | {peak:.0f} | {added:.0f} | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
