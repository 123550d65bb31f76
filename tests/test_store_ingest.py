"""Ingesting into the ledger, on SQLite and PostgreSQL: all or nothing, exact, recognised."""

from __future__ import annotations

import pathlib
import sqlite3
from collections import Counter
from decimal import Decimal
from typing import Any
from unittest import mock

import psycopg
import pytest
import sqlalchemy as sa

from contracts.contract_file import read_contract
from contracts.data import InMemoryData
from contracts.model import RatioMetric
from contracts.outcome_sheet import validate_file
from contracts.periods import parse_period
from contracts.store import bulk, events
from contracts.store.db import Store, open_store
from contracts.store.ingest import ingest_outcomes
from contracts.store.layout import Layout
from contracts.store.stored import StoredData, rows_for
from contracts.store.supplied import ingest_supplied
from contracts.store.versions import register_contract
from contracts.validate_batch import GrainKeys
from tests.store_fixtures import CONTRACT, SICK, store, store_url, write_csv  # noqa: F401

Q1 = SICK / "outcomes" / "2025-Q1.xlsx"
Q2 = SICK / "outcomes" / "2025-Q2.xlsx"
Q2_FIXED = SICK / "outcomes" / "2025-Q2-corrected.xlsx"


def count(store: Store, table: str) -> int:  # noqa: F811
    with store.read() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def live(store: Store) -> list[tuple[int, str, str | None]]:  # noqa: F811
    with store.read() as conn:
        q = "SELECT id, status, period FROM submission ORDER BY id"
        return [tuple(r) for r in conn.execute(sa.text(q))]  # type: ignore[misc]


def canonical(rows: Any) -> Counter[tuple[Any, ...]]:
    """Rows as comparable values: equal type and equal value (152.50 == 152.5)."""
    return Counter(tuple(sorted((k, type(v).__name__, v) for k, v in r.items())) for r in rows)


def test_registering_the_same_file_twice_and_an_amendment(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    with store.write() as conn:
        first = register_contract(conn, CONTRACT, by="anna")
        again = register_contract(conn, CONTRACT, by="anna")
    assert first[1] is True and again == (first[0], False, [])
    amended = tmp_path / "contract.yaml"
    amended.write_text(CONTRACT.read_text(encoding="utf-8") + "\n# amended\n", encoding="utf-8")
    with store.write() as conn:
        second = register_contract(conn, amended, by="anna")
    assert second[1] is True and second[0] != first[0]
    with store.read() as conn:
        kinds = conn.execute(sa.text("SELECT kind, payload FROM event ORDER BY id")).all()
        source = conn.execute(
            sa.text("SELECT source FROM contract_version WHERE id = :i"), {"i": first[0]}
        ).scalar_one()
    assert [k for k, _ in kinds] == ["contract-registered", "contract-registered"]
    assert '"amendment":true' in kinds[1][1]
    assert source == CONTRACT.read_text(encoding="utf-8")


def test_q1_is_stored_exactly_and_sums_exactly_in_sql(store: Store) -> None:  # noqa: F811
    result = ingest_outcomes(store, CONTRACT, Q1, "2025-Q1", by="anna")
    assert result.status == "stored" and result.rows == 3750
    contract = read_contract(CONTRACT).contract
    assert contract is not None
    expected: list[dict[str, Any]] = []
    report = validate_file(contract, Q1, on_row=lambda _n, r: expected.append(r))
    got = list(rows_for(store, contract.contract.id))
    assert len(got) == 3750
    assert canonical(got) == canonical(expected)
    with store.read() as conn:
        layout = Layout.from_json(
            conn.execute(sa.text("SELECT layout FROM contract_version")).scalar_one()
        )
        slot = layout.slot("scheduled_hours")
        total = conn.execute(sa.text(f"SELECT SUM({slot}) FROM outcome_row")).scalar_one()
    assert Decimal(int(total)).scaleb(-6) == report.totals["scheduled_hours"]
    # The engine's view of the stored rows equals its view of the file.
    q1 = parse_period("2025-Q1")
    assert q1 is not None
    stored, memory = StoredData(store, contract), InMemoryData(contract, expected)
    assert stored.row_count(q1) == memory.row_count(q1) == 3750
    metric = next(m for m in contract.metrics if isinstance(m, RatioMetric))
    assert stored.metric(metric, [q1]) == memory.metric(metric, [q1])


def test_the_same_file_again_is_recognised(store: Store) -> None:  # noqa: F811
    first = ingest_outcomes(store, CONTRACT, Q1, "2025-Q1")
    again = ingest_outcomes(store, CONTRACT, Q1, "2025-Q1")
    assert again.status == "already" and again.submission_id == first.submission_id
    assert f"already ingested as submission {first.submission_id}" in again.message
    assert count(store, "submission") == 1 and count(store, "outcome_row") == 3750


def test_another_file_for_the_period_is_refused_unless_it_replaces(store: Store) -> None:  # noqa: F811
    first = ingest_outcomes(store, CONTRACT, Q2, "2025-Q2")
    refused = ingest_outcomes(store, CONTRACT, Q2_FIXED, "2025-Q2")
    assert refused.status == "refused" and [i.code for i in refused.issues] == ["period-taken"]
    assert count(store, "submission") == 1
    replaced = ingest_outcomes(store, CONTRACT, Q2_FIXED, "2025-Q2", replace=True)
    assert replaced.status == "stored" and replaced.superseded == (first.submission_id,)
    assert live(store) == [
        (first.submission_id, "superseded", "2025-Q2"),
        (replaced.submission_id, "live", "2025-Q2"),
    ]
    with store.read() as conn:
        by = conn.execute(
            sa.text("SELECT superseded_by FROM submission WHERE id = :i"),
            {"i": first.submission_id},
        ).scalar_one()
        kinds = [k for (k,) in conn.execute(sa.text("SELECT kind FROM event ORDER BY id"))]
    assert by == replaced.submission_id
    assert kinds[-2:] == ["submission-ingested", "submission-superseded"]
    assert sum(1 for _ in rows_for(store, "norrvik-korttidssjukfranvaro-2025")) == replaced.rows


def test_an_invalid_file_stores_nothing(store: Store, tmp_path: pathlib.Path) -> None:  # noqa: F811
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            "U01,E1,2025-01,intervention,160,8,0",
            "U01,E2,2025-01,intervention,lots,8,0",
        ],
    )
    result = ingest_outcomes(store, CONTRACT, bad, "2025-Q1")
    assert result.status == "invalid"
    assert [(i.location.cell, i.code) for i in result.issues] == [("E3", "cell-type")]
    assert count(store, "submission") == 0 and count(store, "outcome_row") == 0


def test_a_key_stored_under_another_submission_is_refused(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    a = write_csv(tmp_path / "a.csv", ["U01,E1,2025-01,intervention,160,8,0"])
    b = write_csv(
        tmp_path / "b.csv",
        ["U01,E2,2025-01,intervention,160,8,0", "U01,E1,2025-01,intervention,150,0,0"],
    )
    assert ingest_outcomes(store, CONTRACT, a, None).status == "stored"
    result = ingest_outcomes(store, CONTRACT, b, None)
    assert result.status == "refused"
    assert [(i.location.row, i.code) for i in result.issues] == [(3, "duplicate-key")]
    assert "row 2 of submission 1" in result.issues[0].message
    assert count(store, "submission") == 1 and count(store, "outcome_row") == 1


def test_a_decimal_with_seven_places_is_refused(store: Store, tmp_path: pathlib.Path) -> None:  # noqa: F811
    f = write_csv(
        tmp_path / "precise.csv",
        ["U01,E1,2025-01,intervention,160,8,0", "U01,E2,2025-01,intervention,160.1234567,8,0"],
    )
    result = ingest_outcomes(store, CONTRACT, f, "2025-Q1")
    assert result.status == "invalid"
    assert [(i.location.row, i.location.field, i.code) for i in result.issues] == [
        (3, "scheduled_hours", "ledger-precision")
    ]
    assert count(store, "submission") == 0 and count(store, "outcome_row") == 0


def test_the_event_chain_verifies_and_a_tampered_event_is_caught(store: Store) -> None:  # noqa: F811
    ingest_outcomes(store, CONTRACT, Q2, "2025-Q2")
    ingest_outcomes(store, CONTRACT, Q2_FIXED, "2025-Q2", replace=True)
    with store.read() as conn:
        assert events.verify_chain(conn) == []
    with store.write() as conn:
        conn.execute(
            sa.text(
                "UPDATE event SET payload = replace(payload, '2025-Q2', '2025-Q3') WHERE id = 2"
            )
        )
    with store.read() as conn:
        (issue,) = events.verify_chain(conn)
    assert issue.code == "event-chain" and issue.location.path == "event[2]"
    assert "was changed" in issue.message
    with store.write() as conn:
        conn.execute(sa.text("DELETE FROM event WHERE id = 2"))
    with store.read() as conn:
        (issue,) = events.verify_chain(conn)
    assert issue.location.path == "event[3]" and "removed or inserted" in issue.message


def test_supplied_figures_are_stored_recognised_and_superseded(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    contract = tmp_path / "contract.yaml"
    text = CONTRACT.read_text(encoding="utf-8")
    contract.write_text(
        text.replace("metrics:\n", "metrics:\n  - {id: evaluator_rate, kind: supplied}\n", 1),
        encoding="utf-8",
    )
    first = tmp_path / "figures.csv"
    first.write_text("metric,period,value\nevaluator_rate,2025-Q1,0.031\n", encoding="utf-8")
    fixed = tmp_path / "figures-fixed.csv"
    fixed.write_text("metric,period,value\nevaluator_rate,2025-Q1,0.0305\n", encoding="utf-8")
    a = ingest_supplied(store, contract, first)
    assert a.status == "stored" and a.rows == 1
    assert ingest_supplied(store, contract, first).status == "already"
    assert ingest_supplied(store, contract, fixed).status == "refused"
    b = ingest_supplied(store, contract, fixed, replace=True)
    assert b.status == "stored" and b.superseded == (a.submission_id,)
    loaded = read_contract(contract).contract
    assert loaded is not None
    assert StoredData(store, loaded).supplied("evaluator_rate", "2025-Q1") == Decimal("0.0305")


# ---- repeated keys and exact text: the writer's side of the ingest ---------------------


def test_repeated_keys_near_and_far_apart_in_a_big_file_are_refused(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    # Row 3 repeats row 2 at once; the last row repeats row 4, 70,000 rows later: more
    # keys than GrainKeys.CHUNK, so that one is found only through the spilled keys.
    many = [f"U01,E{i},2025-01,intervention,160,8,0" for i in range(1, 70_000)]
    rows = ["U01,E0,2025-01,intervention,160,8,0", "U01,E0,2025-01,comparison,150,0,0"]
    big = write_csv(tmp_path / "big.csv", [*rows, *many, "U01,E1,2025-01,intervention,1,0,0"])
    assert len(many) + 3 > GrainKeys.CHUNK
    result = ingest_outcomes(store, CONTRACT, big, None)
    assert result.status == "invalid"
    assert [(i.location.cell, i.code) for i in result.issues] == [
        ("B3", "duplicate-key"),
        ("B70003", "duplicate-key"),
    ]
    assert [i.message for i in result.issues] == [
        "same key (employee_id, month 2025-01) as row 2",
        "same key (employee_id, month 2025-01) as row 4",
    ]
    assert count(store, "submission") == 0 and count(store, "outcome_row") == 0
    # The same file without the repeats is stored whole.
    fixed = write_csv(tmp_path / "fixed.csv", [rows[0], *many])
    assert ingest_outcomes(store, CONTRACT, fixed, None).rows == 70_000


def test_a_repeat_the_report_missed_is_refused_by_the_database(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    """The primary key is the last guard: a valid report with a repeat stores nothing."""
    f = write_csv(
        tmp_path / "repeat.csv",
        ["U01,E1,2025-01,intervention,160,8,0", "U01,E1,2025-01,intervention,150,0,0"],
    )
    with (
        mock.patch.object(GrainKeys, "repeats", lambda self, limit: (0, [])),
        pytest.raises((sqlite3.IntegrityError, psycopg.errors.IntegrityError)),
    ):
        ingest_outcomes(store, CONTRACT, f, None)
    assert count(store, "submission") == 0 and count(store, "outcome_row") == 0


def test_rows_passed_on_in_batches_include_repeats(tmp_path: pathlib.Path) -> None:
    """The ingest's writer takes repeats (the database refuses them), so memory stays
    flat: nothing is held back from `on_batch`, and the report still names the repeat."""
    contract = read_contract(CONTRACT).contract
    assert contract is not None
    f = write_csv(
        tmp_path / "repeat.csv",
        ["U01,E1,2025-01,intervention,160,8,0", "U01,E1,2025-01,intervention,150,0,0"],
    )
    seen: list[int] = []
    report = validate_file(contract, f, on_batch=lambda numbers, _cols: seen.extend(numbers))
    assert seen == [2, 3]
    assert [(i.location.cell, i.code) for i in report.errors] == [("B3", "duplicate-key")]


def test_text_that_copy_and_sql_must_escape_is_stored_exactly(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    contract_path = tmp_path / "contract.yaml"
    text = CONTRACT.read_text(encoding="utf-8")
    optional = "{name: unit_id, type: text, required: false,"
    contract_path.write_text(text.replace("{name: unit_id, type: text,", optional, 1))
    units = ["U\\01", '"U\t02"', '"U\n03"', "\\N", "", "U'06", "Ü07"]
    employees = ["E\\1", "E2", "E3", "E\\N", "E5", "E6", "E7"]
    f = write_csv(
        tmp_path / "odd.csv",
        [f"{u},{e},2025-01,intervention,160,8,0" for u, e in zip(units, employees, strict=True)],
    )
    result = ingest_outcomes(store, contract_path, f, None)
    assert result.status == "stored" and result.rows == 7
    loaded = read_contract(contract_path).contract
    assert loaded is not None
    expected: list[dict[str, Any]] = []
    validate_file(loaded, f, on_row=lambda _n, r: expected.append(r))
    assert {r["unit_id"] for r in expected} == {
        "U\\01",
        "U\t02",
        "U\n03",
        "\\N",
        None,
        "U'06",
        "Ü07",
    }
    got = list(rows_for(store, loaded.contract.id))
    assert canonical(got) == canonical(expected)
    # The grain keys were stored escaped right too: the same keys again are refused.
    again = write_csv(tmp_path / "again.csv", ["U1,E\\1,2025-01,intervention,1,0,0"])
    clash = ingest_outcomes(store, contract_path, again, None)
    assert [(i.location.row, i.code) for i in clash.issues] == [(2, "duplicate-key")]


def test_a_key_already_stored_is_refused_whichever_side_has_fewer_rows(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    many = [f"U01,E{i},2025-01,intervention,160,8,0" for i in range(1, 6)]
    assert ingest_outcomes(store, CONTRACT, write_csv(tmp_path / "a.csv", many), None).ok
    one = write_csv(tmp_path / "b.csv", ["U01,E3,2025-01,intervention,150,0,0"])
    result = ingest_outcomes(store, CONTRACT, one, None)  # new rows fewer than stored ones
    assert [(i.location.row, i.code) for i in result.issues] == [(2, "duplicate-key")]
    assert "row 4 of submission 1" in result.issues[0].message
    assert count(store, "outcome_row") == 5


def test_a_sqlite_connection_kept_to_its_thread_is_written_inline(
    tmp_path: pathlib.Path,
) -> None:
    # SQLAlchemy opens a file database with check_same_thread=False; a URL may ask back.
    inline = open_store(f"sqlite:///{tmp_path / 'ledger.db'}?check_same_thread=true")
    try:
        with inline.write() as conn:
            assert not bulk._shareable(conn.connection.driver_connection)
        # More rows than one INSERT takes, and a remainder.
        n = bulk.INSERT_ROWS + 100
        lines = [f"U01,E{i},2025-01,intervention,160,8,0" for i in range(n)]
        f = write_csv(tmp_path / "f.csv", lines)
        assert ingest_outcomes(inline, CONTRACT, f, None).rows == n
        assert count(inline, "outcome_row") == n
    finally:
        inline.close()
