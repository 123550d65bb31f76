"""Opening the ledger database: URL, engine, schema version, and one-line failures.

Problem: the embedded default (SQLite file `./contracts.db`) must just work -- created
and upgraded on first use, safe when a second process writes at the same time -- while
the shared PostgreSQL database is upgraded only on purpose (`contract db upgrade`),
and an unreachable or locked database is one line and exit 3, never a traceback.

Approach: `open_store(url)` makes the engine, runs Alembic's `upgrade head` for SQLite
and checks the revision for PostgreSQL. On SQLite every connection gets WAL (readers do
not block the writer), a 5 s busy timeout and foreign keys; pysqlite's own transaction
handling is switched off so that `Store.write()` can start with `BEGIN IMMEDIATE`: the
write lock is taken at the start (waiting up to the busy timeout) instead of failing
half-way when a reader upgrades to a writer. The migrations ship inside this package
and are found through importlib.resources, so an installed wheel finds them too.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from contracts.errors import EnvironmentFailure, UsageError

DEFAULT_URL = "sqlite:///contracts.db"
BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Store:
    """An open ledger: the engine and which database it is."""

    engine: Engine
    url: str  # as given, with any password hidden

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name  # 'sqlite' | 'postgresql'

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that writes: committed at the end, rolled back on any error."""
        with failures(self.url), self.engine.connect() as conn:
            conn = conn.execution_options(immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction (a consistent snapshot on both databases)."""
        with failures(self.url), self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def resolve_url(given: str | None = None) -> str:
    """`--db`, else CONTRACT_DB, else `./contracts.db`; a bare path means a SQLite file."""
    url = given or os.environ.get("CONTRACT_DB") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def _hidden(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


@contextmanager
def failures(url: str) -> Iterator[None]:
    """Database failures that are the environment's, as one-line EnvironmentFailures."""
    try:
        yield
    except sa.exc.DatabaseError as exc:
        # OperationalError is the environment's; a plain DatabaseError is "file is not a
        # database" (--db named some other file). Its other kinds (integrity, programming)
        # are for the caller or are bugs, and go on.
        if not isinstance(exc, sa.exc.OperationalError) and type(exc) is not sa.exc.DatabaseError:
            raise
        text = (str(exc.orig).strip().splitlines() or [str(exc)])[0] if exc.orig else str(exc)
        if "locked" in text or "busy" in text:
            raise EnvironmentFailure(
                f"the database {_hidden(url)} is locked by another process; try again"
            ) from exc
        raise EnvironmentFailure(f"the database {_hidden(url)} cannot be used: {text}") from exc
    except sa.exc.InterfaceError as exc:
        raise EnvironmentFailure(
            f"the database {_hidden(url)} cannot be reached: {exc.orig}"
        ) from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by _begin below
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")  # durable at checkpoints; safe in WAL
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA cache_size = -65536")  # 64 MB: index pages of a big ingest stay in memory
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise UsageError(
            f"{url} is not a database URL (write a file path, sqlite:///path or "
            "postgresql+psycopg://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = pathlib.Path(parsed.database).parent
            if not folder.is_dir():
                raise UsageError(f"{folder}: no such folder for the database")
        engine = sa.create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise UsageError(f"{_hidden(url)}: only SQLite and PostgreSQL databases are supported")


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    where = resources.files("contracts.store") / "migrations"
    cfg.set_main_option("script_location", str(where))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | None = None) -> str:
    """Bring the schema to the newest revision (`contract db upgrade`); returns it."""
    url = resolve_url(url)
    engine = make_engine(url)
    try:
        # Two upgrading at once: the second waits for the first, then finds nothing to do.
        with failures(url), engine.connect() as conn:
            conn = conn.execution_options(immediate=True)
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7001)")
                command.upgrade(alembic_config(conn), "head")
                return current_revision(conn) or ""
    finally:
        engine.dispose()


def open_store(url: str | None = None) -> Store:
    """Open the ledger; SQLite is created/upgraded here, PostgreSQL must be at head."""
    url = resolve_url(url)
    engine = make_engine(url)
    store = Store(engine, _hidden(url))
    try:
        with failures(url), engine.connect() as conn:
            current = current_revision(conn)
            conn.rollback()
        head = head_revision()
        if current != head:
            if engine.dialect.name == "sqlite":
                upgrade(url)
            else:
                raise EnvironmentFailure(
                    f"the database {store.url} is at schema revision {current or 'none'}, "
                    f"not {head}; run `contract db upgrade --db URL` first"
                )
    except BaseException:
        engine.dispose()
        raise
    return store
