"""Alembic environment: always run with a connection given by contracts.store.db."""

from __future__ import annotations

from alembic import context

from contracts.store.tables import METADATA

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through contracts.store.db.upgrade(url)")
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
