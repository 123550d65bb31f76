"""The ledger's schema: migrations create exactly the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from contracts.errors import EnvironmentFailure, UsageError
from contracts.store.db import Store, head_revision, open_store, upgrade
from contracts.store.tables import METADATA
from tests.store_fixtures import store, store_url  # noqa: F401

TABLES = {
    "contract_version",
    "submission",
    "outcome_row",
    "supplied_figure",
    "settlement",
    "line_item",
    "event",
    "alembic_version",
}


def test_migration_creates_the_tables_of_the_models(store: Store) -> None:  # noqa: F811
    with store.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == TABLES
        diff = compare_metadata(MigrationContext.configure(conn), METADATA)
    assert diff == []


def test_sqlite_is_created_on_first_use_and_postgresql_needs_an_upgrade(store_url: str) -> None:  # noqa: F811
    if store_url.startswith("sqlite"):
        s = open_store(store_url)
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        s.close()
        return
    with pytest.raises(EnvironmentFailure, match="contract db upgrade"):
        open_store(store_url)
    assert upgrade(store_url) == head_revision()
    assert upgrade(store_url) == head_revision()  # a second upgrade has nothing to do
    open_store(store_url).close()


def test_unreachable_database_is_an_environment_failure() -> None:
    with pytest.raises(EnvironmentFailure, match="cannot"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_a_missing_folder_or_unknown_database_is_a_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        open_store(f"sqlite:///{tmp_path / 'absent' / 'x.db'}")
    with pytest.raises(UsageError, match="only SQLite and PostgreSQL"):
        open_store("mysql://u@h/db")
