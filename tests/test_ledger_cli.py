"""The ledger through the real `contract` command, on SQLite and PostgreSQL.

Includes two real processes settling the same period at the same moment: exactly one
settlement is stored and the other process says so, exit 1.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from contracts.store.db import open_store
from contracts.store.versions import lock_contract
from tests.store_fixtures import CONTRACT, store_url, write_csv  # noqa: F401

CONTRACT_ID = "norrvik-korttidssjukfranvaro-2025"
BIN = pathlib.Path(sys.executable).parent / "contract"


def run(url: str, *args: str | pathlib.Path) -> Any:
    env = {"COLUMNS": "120", "CONTRACT_DB": url}
    return CliRunner(env=env).invoke(app, [str(a) for a in args])


def quarter(path: pathlib.Path, months: list[str], sick: str = "10") -> pathlib.Path:
    rows = [
        f"U{g[0]},{g[0]}{e},{m},{g},160,"
        f"{sick if m.startswith('2025') and g == 'intervention' else 12},0"
        for m in months
        for g in ("intervention", "comparison")
        for e in range(3)
    ]
    return write_csv(path, rows)


def files(tmp: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    return (
        quarter(tmp / "baseline.csv", ["2024-01", "2024-02", "2024-03"]),
        quarter(tmp / "q1.csv", ["2025-01", "2025-02", "2025-03"]),
        quarter(tmp / "q1-fixed.csv", ["2025-01", "2025-02", "2025-03"], sick="6"),
    )


def test_ingest_settle_correct_approve_show_verify(
    store_url: str,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    base, q1, fixed = files(tmp_path)
    if store_url.startswith("postgresql"):
        not_yet = run(store_url, "settlements", "list")
        assert not_yet.exit_code == 3 and "contract db upgrade" in not_yet.stderr
        up = run(store_url, "db", "upgrade")
        assert up.exit_code == 0 and "schema revision" in up.stderr
    r = run(store_url, "outcomes", "ingest", CONTRACT, base, "--period", "2024")
    assert r.exit_code == 0 and "as submission 1" in r.stdout, r.stderr
    r = run(store_url, "outcomes", "ingest", CONTRACT, q1, "--period", "2025-Q1", "--by", "lev")
    assert r.exit_code == 0, r.stderr
    again = run(store_url, "outcomes", "ingest", CONTRACT, q1, "--period", "2025-Q1")
    assert again.exit_code == 0 and "already ingested as submission 2" in again.stdout
    taken = run(store_url, "outcomes", "ingest", CONTRACT, fixed, "--period", "2025-Q1")
    assert taken.exit_code == 1 and "[period-taken]" in taken.stderr

    first = run(store_url, "settle", CONTRACT, "--period", "2025-Q1", "--by", "anna")
    assert first.exit_code == 0, first.stderr
    assert "stored settlement 1 of 2025-Q1 (draft)" in first.stdout
    assert "payable now (SEK): 457 560.00" in first.stdout  # fixed fee + 18 h × 420
    same = run(store_url, "settle", CONTRACT, "--period", "2025-Q1")
    assert same.exit_code == 0 and "nothing changed since settlement 1" in same.stderr

    ok = run(store_url, "approve", "1", "--by", "eva")
    assert ok.exit_code == 0 and "approved settlement 1" in ok.stderr
    r = run(store_url, "outcomes", "ingest", CONTRACT, fixed, "--period", "2025-Q1", "--replace")
    assert r.exit_code == 0 and "superseding submission 2" in r.stdout
    second = run(store_url, "settle", CONTRACT, "--period", "2025-Q1", "-f", "json")
    assert second.exit_code == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["status"] == "stored" and data["stored"]["number"] == 2
    assert data["adjustment"]["against"] == 1 and data["stored"]["adjusts"] == 1
    assert data["payable"] == data["adjustment"]["difference"]
    assert Decimal(data["payable"]) == Decimal(data["settlement"]["total"]) - Decimal("457560.00")
    assert Decimal(data["payable"]) > 0  # the correction shows more sick hours avoided

    again = run(store_url, "approve", "1")
    assert again.exit_code == 0 and "already approved by eva" in again.stderr

    listed = run(store_url, "settlements", "list", CONTRACT)
    assert listed.exit_code == 0
    assert "approved" in listed.stdout and "draft" in listed.stdout
    shown = run(store_url, "settlements", "show", "2")
    assert shown.exit_code == 0
    assert "adjustment against settlement 1" in shown.stdout and "draft" in shown.stdout
    assert run(store_url, "settlements", "show", "9").exit_code == 2

    verified = run(store_url, "audit", "verify", CONTRACT)
    assert verified.exit_code == 0 and "audit OK" in verified.stdout, verified.stderr
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE settlement SET payable = '0.00' WHERE number = 2"))
    finally:
        engine.dispose()
    failed = run(store_url, "audit", "verify")
    assert failed.exit_code == 1
    assert "[audit-record]" in failed.stderr and "audit FAILED" in failed.stderr
    report = json.loads(run(store_url, "audit", "verify", "-f", "json").stdout)
    assert report["ok"] is False and report["settlements"] == 2

    swedish = run(store_url, "settlements", "show", "1", "--lang", "sv")
    assert swedish.exit_code == 0 and "rader för 2025-Q1" in swedish.stdout
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE settlement SET document = replace(document, '450000', '450001')")
            )
    finally:
        engine.dispose()
    as_stored = run(store_url, "settlements", "show", "1")
    assert as_stored.exit_code == 1 and "no longer matches" in as_stored.stderr
    assert "450 001.00" in as_stored.stdout  # what the ledger holds, shown as it is


def test_two_processes_settling_the_same_period_at_once(
    store_url: str,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    """Both read the ledger before either writes; one stores, the other is told, exit 1.

    The test holds the contract's write lock while both processes start, so both
    compute from the same state; then it lets them go at once.
    """
    base, q1, _ = files(tmp_path)
    if store_url.startswith("postgresql"):
        assert run(store_url, "db", "upgrade").exit_code == 0
    for f, p in ((base, "2024"), (q1, "2025-Q1")):
        assert run(store_url, "outcomes", "ingest", CONTRACT, f, "--period", p).exit_code == 0
    store = open_store(store_url)
    env = {**os.environ, "CONTRACT_DB": store_url, "COLUMNS": "120"}
    cmd = [str(BIN), "settle", str(CONTRACT), "--period", "2025-Q1", "-f", "json"]
    try:
        with store.write() as conn:
            lock_contract(conn, CONTRACT_ID)
            procs = [
                subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(2)
            ]
            _until_both_wait(store_url, conn, procs, tmp_path)
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        store.close()
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 1], outs
    loser = next(o for p, o in zip(procs, outs, strict=True) if p.returncode == 1)
    assert b"nothing was stored" in loser[1] and b"Traceback" not in loser[1]
    winner = next(o for p, o in zip(procs, outs, strict=True) if p.returncode == 0)
    assert json.loads(winner[0])["stored"]["number"] == 1
    listed = json.loads(run(store_url, "settlements", "list", "-f", "json").stdout)
    assert [s["number"] for s in listed] == [1]


def _until_both_wait(
    url: str, conn: sa.Connection, procs: list[subprocess.Popen[bytes]], tmp: pathlib.Path
) -> None:
    """Return once both processes have read the ledger and wait for the write lock."""
    deadline = time.monotonic() + 60
    if url.startswith("postgresql"):
        # Each waits on the contract's advisory lock: visible in pg_locks as not granted.
        watcher = sa.create_engine(url)
        try:
            while time.monotonic() < deadline:
                with watcher.connect() as w:
                    waiting = w.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                            "AND NOT granted"
                        )
                    ).scalar_one()
                if waiting >= 2:
                    return
                assert all(p.poll() is None for p in procs), "a process ended early"
                time.sleep(0.05)
        finally:
            watcher.dispose()
        raise AssertionError("the processes never waited for the lock")
    # SQLite shows no waiters: wait until both have the database open (they then read
    # it and compute a settlement of a few rows in well under a second), then give
    # them time to reach BEGIN IMMEDIATE, within their 5 s busy timeout.
    db = pathlib.Path(url.removeprefix("sqlite:///")).resolve()
    while time.monotonic() < deadline:
        opened = 0
        for p in procs:
            assert p.poll() is None, "a process ended early"
            fds = pathlib.Path(f"/proc/{p.pid}/fd")
            with contextlib.suppress(FileNotFoundError, PermissionError):
                opened += any(os.path.realpath(f) == str(db) for f in fds.iterdir())
        if opened == 2:
            time.sleep(2.0)
            return
        time.sleep(0.05)
    raise AssertionError("the processes never opened the database")


def test_settle_with_outcomes_ingests_then_settles(
    store_url: str,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    base, q1, _ = files(tmp_path)
    if store_url.startswith("postgresql"):
        assert run(store_url, "db", "upgrade").exit_code == 0
    args = ("settle", CONTRACT, "--period", "2025-Q1", "--outcomes", base, "--outcomes", q1)
    first = run(store_url, *args)
    assert first.exit_code == 0, first.stderr
    assert "as submission 1" in first.stderr and "as submission 2" in first.stderr
    assert "stored settlement 1 of 2025-Q1" in first.stdout
    again = run(store_url, *args)
    assert again.exit_code == 0
    assert "already ingested as submission 2" in again.stderr
    assert "nothing changed since settlement 1" in again.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(q1.read_text(encoding="utf-8").replace(",160,", ",-5,", 1), encoding="utf-8")
    refused = run(store_url, "settle", CONTRACT, "--period", "2025-Q1", "--outcomes", bad)
    assert refused.exit_code == 1 and "[range-min]" in refused.stdout + refused.stderr
    assert len(json.loads(run(store_url, "settlements", "list", "-f", "json").stdout)) == 1


def test_supplied_figures_are_ingested_and_superseded(
    store_url: str,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    if store_url.startswith("postgresql"):
        assert run(store_url, "db", "upgrade").exit_code == 0
    text = CONTRACT.read_text(encoding="utf-8")
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        text.replace(
            "metrics:\n", "metrics:\n  - {id: national_rate, kind: supplied, source: SCB}\n", 1
        ),
        encoding="utf-8",
    )
    figures = tmp_path / "figures.csv"
    figures.write_text("metric;period;value\nnational_rate;2025-Q1;0,041\n", encoding="utf-8")
    ok = run(store_url, "outcomes", "ingest", contract, figures, "--supplied")
    assert ok.exit_code == 0 and "submission 1" in ok.stdout, ok.stderr
    usage = run(store_url, "outcomes", "ingest", contract, figures, "--supplied", "-p", "2025-Q1")
    assert usage.exit_code == 2
    newer = tmp_path / "figures2.csv"
    newer.write_text("metric;period;value\nnational_rate;2025-Q1;0,040\n", encoding="utf-8")
    taken = run(store_url, "outcomes", "ingest", contract, newer, "--supplied")
    assert taken.exit_code == 1 and "[figure-taken]" in taken.stderr
    replaced = run(
        store_url, "outcomes", "ingest", contract, newer, "--supplied", "--replace", "-f", "json"
    )
    assert replaced.exit_code == 0, replaced.stderr
    assert json.loads(replaced.stdout)["superseded"] == [1]
    data = json.loads(
        run(store_url, "outcomes", "ingest", contract, newer, "--supplied", "-f", "json").stdout
    )
    assert data["status"] == "already" and data["submission"] == 2


def test_a_contract_named_by_file_or_id(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    broken = CONTRACT.parent.parent / "broken-contract.yaml"
    bad = run(url, "audit", "verify", broken)
    assert bad.exit_code == 1 and "[field-invalid]" in bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr
    by_id = run(url, "settlements", "list", CONTRACT_ID)
    assert by_id.exit_code == 0 and "no settlements stored yet" in by_id.stdout


def test_a_row_naming_no_period_is_refused_not_a_crash(tmp_path: pathlib.Path) -> None:
    """Without --period nothing checked the term column; the ledger needs a period per row."""
    school = CONTRACT.parent.parent / "school-support" / "contract.yaml"
    csv = tmp_path / "terms.csv"
    csv.write_text(
        "pupil_id,school_id,term,grade_level,attendance_pct,grade_swedish,grade_math,"
        "grade_english,eligible_upper_secondary\n"
        "P1,S1,HT2025,8,90,E,E,E,false\n"
        "P2,S1,banana,8,90,E,E,E,false\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    checked = run(url, "outcomes", "validate", school, csv)
    assert checked.exit_code == 1 and "period-none" in checked.stdout
    assert "term banana names no period" in checked.stdout
    stored = run(url, "outcomes", "ingest", school, csv)
    assert stored.exit_code == 1 and "Traceback" not in stored.stdout + stored.stderr
    assert "period-none" in stored.stdout
    assert json.loads(run(url, "settlements", "list", "-f", "json").stdout) == []


def test_a_db_that_is_not_a_database_is_one_line(tmp_path: pathlib.Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n", encoding="utf-8")
    result = run(str(notes), "settlements", "list")
    assert result.exit_code == 3
    assert "cannot be used: file is not a database" in result.stderr
