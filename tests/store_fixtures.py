"""Fixtures for the ledger tests: every test runs on SQLite and on PostgreSQL.

PostgreSQL is the server named by CONTRACT_TEST_PG (e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/test`). When the variable is set and the
server cannot be reached, the tests fail; when it is not set, the PostgreSQL variants are
skipped with that reason. Each PostgreSQL test gets a schema of its own (search_path in
the URL), dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from contracts.store.db import Store, open_store, upgrade

ROOT = pathlib.Path(__file__).resolve().parent.parent
SICK = ROOT / "sample_data" / "sick-leave"
CONTRACT = SICK / "contract.yaml"
PG_ENV = "CONTRACT_TEST_PG"
HEADER = "unit_id,employee_id,month,group,scheduled_hours,short_sick_hours,long_sick_hours"


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[str]:
    """A URL of an empty database (no schema yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set; set it to a PostgreSQL URL to run this variant")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:  # an unreachable server fails the test here
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield _pg_schema_url(base, schema)
    finally:
        try:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open ledger at the newest schema."""
    if store_url.startswith("postgresql"):
        upgrade(store_url)
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


def write_csv(path: pathlib.Path, rows: list[str]) -> pathlib.Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path
