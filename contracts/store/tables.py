"""The ledger's tables, as SQLModel classes (migration 0001 creates exactly these).

Problem: the ledger must keep, for years and on SQLite as on PostgreSQL, every contract
version, every submitted file with its rows, every settlement and an append-only event
log, and guard its invariants in the database itself, where two processes meet.

Approach: plain SQL types chosen for both databases (TEXT, BIGINT, DATE, BOOLEAN).
Money and exact figures are TEXT holding a Decimal's string (never NUMERIC: SQLite's is
floating point); quantities in outcome rows are BIGINT in millionths (see layout.py), so
SUM is exact. The invariants that concurrency could break are constraints:

- one live submission per contract, kind and period (partial unique index);
- a grain key once per submission (the primary key of outcome_row, which also serves the
  cross-submission check at ingest);
- one settlement per (contract, period, sequence), so two settling at once cannot both
  be stored;
- one event per predecessor (unique prev_hash), so the hash chain cannot fork.

`tests/test_store_schema.py` compares these models with the migration so they cannot drift.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

TEXT = sa.Text()
STAMP = sa.DateTime(timezone=True)
N_SLOTS, T_SLOTS, D_SLOTS, B_SLOTS = 12, 8, 4, 4


class ContractVersion(SQLModel, table=True):
    """One contract file as it was registered; a changed file is a new version."""

    __tablename__ = "contract_version"
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(sa_type=TEXT, index=True)  # the contract's `id` in the file
    sha256: str = Field(sa_type=TEXT, unique=True)  # SHA-256 of the file's bytes
    source: str = Field(sa_type=TEXT)  # the YAML itself, to recompute years later
    layout: str = Field(sa_type=TEXT)  # JSON: outcome columns → row slots (layout.py)
    created_at: datetime = Field(sa_type=STAMP)
    created_by: str = Field(sa_type=TEXT)


class Submission(SQLModel, table=True):
    """One file given to the ledger: outcome rows or supplied figures for a period."""

    __tablename__ = "submission"
    __table_args__ = (
        sa.Index(
            "ux_submission_live_period",
            "contract_id",
            "kind",
            "period",
            unique=True,
            sqlite_where=sa.text("status = 'live'"),
            postgresql_where=sa.text("status = 'live'"),
        ),
        sa.Index("ix_submission_contract_status", "contract_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    contract_id: str = Field(sa_type=TEXT)
    contract_version_id: int = Field(foreign_key="contract_version.id")
    kind: str = Field(sa_type=TEXT)  # 'outcomes' | 'supplied'
    period: str | None = Field(default=None, sa_type=TEXT)  # period id; None: not one period
    file_name: str = Field(sa_type=TEXT)  # as the user gave it
    sha256: str = Field(sa_type=TEXT)  # SHA-256 of the file's bytes
    size: int = Field(sa_type=sa.BigInteger())  # bytes
    rows: int = Field(sa_type=sa.BigInteger())  # rows (or figures) stored
    submitted_at: datetime = Field(sa_type=STAMP)
    submitted_by: str = Field(sa_type=TEXT)
    status: str = Field(sa_type=TEXT)  # 'live' | 'superseded'
    superseded_by: int | None = Field(default=None, foreign_key="submission.id")


class OutcomeRow(SQLModel, table=True):
    """One valid row of an outcome file in the fixed wide layout (layout.py)."""

    __tablename__ = "outcome_row"
    # The primary key (submission, grain) is the only index: it makes a key unique within
    # a submission and serves the cross-submission check at ingest. Every further index
    # costs about a second per million rows stored on SQLite (measured), and rows are
    # read by submission, which a period mostly is.
    # No foreign key to submission: PostgreSQL checks one per row, which was measured to
    # add 5 s to storing a million rows (13.7 s against 8.3 s server time). Rows are only
    # written by ingest, in the transaction that creates their submission, and submissions
    # are never deleted.
    submission_id: int = Field(primary_key=True)
    grain: str = Field(sa_type=TEXT, primary_key=True)  # canonical key of the grain columns
    row_number: int = Field(sa_type=sa.BigInteger())  # the row as the spreadsheet shows it
    period_start: date  # first day of the period the row reports on
    period_end: date  # last day of that period
    participant: str | None = Field(default=None, sa_type=TEXT)
    n0: int | None = Field(default=None, sa_type=sa.BigInteger())  # integer/decimal, millionths
    n1: int | None = Field(default=None, sa_type=sa.BigInteger())
    n2: int | None = Field(default=None, sa_type=sa.BigInteger())
    n3: int | None = Field(default=None, sa_type=sa.BigInteger())
    n4: int | None = Field(default=None, sa_type=sa.BigInteger())
    n5: int | None = Field(default=None, sa_type=sa.BigInteger())
    n6: int | None = Field(default=None, sa_type=sa.BigInteger())
    n7: int | None = Field(default=None, sa_type=sa.BigInteger())
    n8: int | None = Field(default=None, sa_type=sa.BigInteger())
    n9: int | None = Field(default=None, sa_type=sa.BigInteger())
    n10: int | None = Field(default=None, sa_type=sa.BigInteger())
    n11: int | None = Field(default=None, sa_type=sa.BigInteger())
    t0: str | None = Field(default=None, sa_type=TEXT)  # text/enum
    t1: str | None = Field(default=None, sa_type=TEXT)
    t2: str | None = Field(default=None, sa_type=TEXT)
    t3: str | None = Field(default=None, sa_type=TEXT)
    t4: str | None = Field(default=None, sa_type=TEXT)
    t5: str | None = Field(default=None, sa_type=TEXT)
    t6: str | None = Field(default=None, sa_type=TEXT)
    t7: str | None = Field(default=None, sa_type=TEXT)
    d0: date | None = None  # date/month (a month is its first day)
    d1: date | None = None
    d2: date | None = None
    d3: date | None = None
    b0: bool | None = None  # boolean
    b1: bool | None = None
    b2: bool | None = None
    b3: bool | None = None


class SuppliedFigure(SQLModel, table=True):
    """One supplied figure (metric, period, value) of a supplied-figures submission."""

    __tablename__ = "supplied_figure"
    __table_args__ = (sa.UniqueConstraint("submission_id", "metric", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id")
    metric: str = Field(sa_type=TEXT)
    period: str = Field(sa_type=TEXT)
    value: str = Field(sa_type=TEXT)  # exact decimal as text


class Settlement(SQLModel, table=True):
    """A stored settlement: immutable once written; approval only sets approved_*."""

    __tablename__ = "settlement"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "period", "sequence"),
        sa.UniqueConstraint("number"),
    )
    id: int | None = Field(default=None, primary_key=True)
    number: int  # the settlement's number in the ledger, 1, 2, ... (what users cite)
    contract_id: str = Field(sa_type=TEXT)
    contract_version_id: int = Field(foreign_key="contract_version.id")
    period: str = Field(sa_type=TEXT)
    sequence: int  # 1 for a period's first settlement, 2 for its first re-settlement, ...
    basis: str = Field(sa_type=TEXT)  # 'per_period' | 'cumulative'
    status: str = Field(sa_type=TEXT)  # 'draft' | 'approved'
    total: str = Field(sa_type=TEXT)  # the period's total as now computed, exact decimal as text
    payable: str = Field(sa_type=TEXT)  # owed by this settlement: total less the one it adjusts
    adjusts: int | None = Field(default=None, foreign_key="settlement.id")  # previous of the period
    document: str = Field(sa_type=TEXT)  # canonical JSON of Settlement.to_dict()
    sha256: str = Field(sa_type=TEXT)  # SHA-256 of `document`
    inputs: str = Field(sa_type=TEXT)  # canonical JSON: submission ids and their sha256
    created_at: datetime = Field(sa_type=STAMP)
    created_by: str = Field(sa_type=TEXT)
    approved_at: datetime | None = Field(default=None, sa_type=STAMP)
    approved_by: str | None = Field(default=None, sa_type=TEXT)


class LineItem(SQLModel, table=True):
    """One line of a stored settlement with its explanation steps."""

    __tablename__ = "line_item"
    __table_args__ = (sa.UniqueConstraint("settlement_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    settlement_id: int = Field(foreign_key="settlement.id")
    position: int
    rule: str = Field(sa_type=TEXT)
    kind: str = Field(sa_type=TEXT)
    amount: str = Field(sa_type=TEXT)  # exact decimal as text
    steps: str = Field(sa_type=TEXT)  # canonical JSON of the explanation steps


class Event(SQLModel, table=True):
    """An append-only log entry carrying the hash of the entry before it (events.py)."""

    __tablename__ = "event"
    id: int | None = Field(default=None, primary_key=True)
    at: str = Field(sa_type=TEXT)  # UTC ISO 8601 text: hashed, so it must round-trip exactly
    actor: str = Field(sa_type=TEXT)
    kind: str = Field(sa_type=TEXT)  # e.g. contract-registered, submission-ingested
    subject: str = Field(sa_type=TEXT)  # e.g. `submission:12`
    payload: str = Field(sa_type=TEXT)  # canonical JSON
    prev_hash: str = Field(sa_type=TEXT, unique=True)
    hash: str = Field(sa_type=TEXT, unique=True)


METADATA = SQLModel.metadata
