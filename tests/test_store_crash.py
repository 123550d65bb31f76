"""Crash safety: a process killed in the middle of an ingest leaves the ledger as it was.

A real process ingests a 200,000-row csv and is killed with SIGKILL once rows are being
written inside the transaction; the database must hold exactly what it held before, the
event chain must verify, and the next ingest must work without repair -- on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import signal
import subprocess
import sys

import pytest
import sqlalchemy as sa

from contracts.store import events
from contracts.store.db import Store
from contracts.store.ingest import ingest_outcomes
from tests.store_fixtures import CONTRACT, ROOT, store, store_url, write_csv  # noqa: F401

CHILD = """
import pathlib, sys
from contracts.store import rows
from contracts.store.db import open_store
from contracts.store.ingest import ingest_outcomes

call = rows.RowWriter.__call__
def noisy(self, numbers, columns):
    before = self.written
    call(self, numbers, columns)
    if before < 50_000 <= self.written:
        print("writing", flush=True)
rows.RowWriter.__call__ = noisy
store = open_store(sys.argv[1])
ingest_outcomes(store, pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), None)
print("finished", flush=True)
"""


def _generate(path: pathlib.Path, n: int) -> pathlib.Path:
    spec = importlib.util.spec_from_file_location(
        "gen_sick_leave", ROOT / "bench" / "gen_sick_leave.py"
    )
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.write_csv(n, path, False)
    return path


def _snapshot(store: Store) -> dict[str, int]:  # noqa: F811
    with store.read() as conn:
        return {
            t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("contract_version", "submission", "outcome_row", "event")
        }


@pytest.mark.slow
def test_a_killed_ingest_leaves_the_ledger_as_before(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    small = write_csv(tmp_path / "small.csv", ["U01,E1,2024-12,intervention,160,8,0"])
    assert ingest_outcomes(store, CONTRACT, small, None).status == "stored"
    before = _snapshot(store)
    big = _generate(tmp_path / "big.csv", 200_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store_url, str(CONTRACT), str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "writing", child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert _snapshot(store) == before
    with store.read() as conn:
        assert events.verify_chain(conn) == []
    again = ingest_outcomes(store, CONTRACT, big, None)
    assert again.status == "stored" and again.rows == 200_000
    with store.read() as conn:
        assert events.verify_chain(conn) == []
