"""Settling one quarter from the ledger: seconds on SQLite and PostgreSQL (target < 2 s).

    .venv/bin/python bench/bench_settle.py                       # 1,000,000 rows a year, SQLite
    CONTRACT_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/bench_settle.py                   # and PostgreSQL
    .venv/bin/python bench/bench_settle.py --rows 500000 --baseline-rows 500000 --python

The sick-leave sample contract. Its outcome file of N rows for 2025 (bench/gen_sick_leave.py:
one row per employee and month) is ingested as one submission for 2025, and a file of
--baseline-rows rows for 2024 (default N; same generator, another seed) for the
previous-year baselines, without which the contract cannot settle. Then 2025-Q1 is
settled with `settle(...)` over `StoredData`, each time from a new StoredData (nothing
cached between runs): its metrics read a quarter of the 2025 rows and a quarter of the
2024 rows. "settle s" is the first settlement straight after ingesting; "best s" the
best of --repeat more (on PostgreSQL after ANALYZE, as autovacuum would have run).
PostgreSQL runs in a schema of its own, dropped at the end. --python also times the
Python path (compute over streamed rows) for the same metrics.
Generated data only (bench/data/, git-ignored); nothing here is committed.
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.gen_sick_leave import DATA, HEADER, rows  # noqa: E402
from contracts.contract_file import read_contract  # noqa: E402
from contracts.metrics import compute  # noqa: E402
from contracts.model import Contract, SuppliedMetric  # noqa: E402
from contracts.periods import quarter  # noqa: E402
from contracts.settle import settle  # noqa: E402
from contracts.store.db import Store, open_store, upgrade  # noqa: E402
from contracts.store.ingest import ingest_outcomes  # noqa: E402
from contracts.store.stored import StoredData  # noqa: E402

CONTRACT = HERE.parent / "sample_data" / "sick-leave" / "contract.yaml"
PERIOD = "2025-Q1"


def outcome_file(n: int, year: int) -> pathlib.Path:
    """The generated csv of `n` rows for `year` (2025 as gen_sick_leave writes it)."""
    path = DATA / (f"sick_leave_{n}.csv" if year == 2025 else f"sick_leave_{n}_{year}.csv")
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for u, e, m, g, s, sh, lo in rows(n, seed=2026 - year):
            w.writerow([u, e, f"{year}-{m.month:02d}", g, repr(s), repr(sh), repr(lo)])
    return path


@contextmanager
def database(kind: str, base: str | None) -> Iterator[str]:
    """The URL of a new, empty database of `kind`, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    assert base is not None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def settle_once(store: Store, contract: Contract) -> tuple[float, StoredData, str]:
    data = StoredData(store, contract)
    start = time.perf_counter()
    result = settle(contract, PERIOD, data, [])
    seconds = time.perf_counter() - start
    assert result.settlement is not None, result.issues
    return seconds, data, str(result.settlement.total)


def python_path(store: Store, contract: Contract) -> float:
    """The metrics of the settlement computed by compute over streamed rows, as before."""
    data = StoredData(store, contract)
    q1 = quarter(2025, 1)
    start = time.perf_counter()
    for window in ([q1], [q1.shifted_years(-1)]):
        for m in contract.metrics:
            if not isinstance(m, SuppliedMetric):
                compute(m, data.rows_in(window), (window[0].id,), data.participant)
    return time.perf_counter() - start


def run(kind: str, base: str | None, files: list[tuple[pathlib.Path, str]], args: Any) -> dict:
    contract = read_contract(CONTRACT).contract
    assert contract is not None
    with database(kind, base) as url:
        store = open_store(url)
        try:
            start = time.perf_counter()
            stored = 0
            for path, period in files:
                result = ingest_outcomes(store, CONTRACT, path, period, by="bench")
                assert result.status == "stored", result.message
                stored += result.rows
            ingest = time.perf_counter() - start
            first, data, total = settle_once(store, contract)
            if kind == "postgresql":
                # What autovacuum does within a minute of a big COPY: without statistics
                # the planner may not choose the parallel scan.
                with store.write() as conn:
                    conn.exec_driver_sql("ANALYZE outcome_row")
            times = [settle_once(store, contract)[0] for _ in range(args.repeat)]
            py = python_path(store, contract) if args.python else None
        finally:
            store.close()
    return {
        "database": kind,
        "rows": stored,
        "ingest": ingest,
        "first": first,
        "best": min(times),
        "queries": data.sql.queries,
        "fallbacks": len(data.fallbacks),
        "total": total,
        "python": py,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows per outcome file")
    ap.add_argument("--baseline-rows", type=int, help="rows of the 2024 file (default: --rows)")
    ap.add_argument("--repeat", type=int, default=3, help="settlements timed per database")
    ap.add_argument("--python", action="store_true", help="also time the Python path")
    ap.add_argument("--pg", default=os.environ.get("CONTRACT_TEST_PG"), help="PostgreSQL URL")
    args = ap.parse_args()
    baseline = args.rows if args.baseline_rows is None else args.baseline_rows
    files = [(outcome_file(baseline, 2024), "2024"), (outcome_file(args.rows, 2025), "2025")]
    kinds = ["sqlite"] + (["postgresql"] if args.pg else [])
    results = [run(kind, args.pg, files, args) for kind in kinds]
    print(f"settling {PERIOD} of the sick-leave contract; target < 2 s")
    head = f"{'database':<11} {'rows':>9} {'ingest s':>9} {'settle s':>9} {'best s':>7}"
    print(head + f" {'queries':>7} {'fallbacks':>9} {'python s':>9}  total")
    for r in results:
        py = "-" if r["python"] is None else f"{r['python']:.2f}"
        print(
            f"{r['database']:<11} {r['rows']:>9} {r['ingest']:>9.1f} {r['first']:>9.2f} "
            f"{r['best']:>7.2f} {r['queries']:>7} {r['fallbacks']:>9} {py:>9}  {r['total']}"
        )


if __name__ == "__main__":
    main()
