"""Settling from the ledger, on SQLite and PostgreSQL: stored once, adjusted, approved, audited."""

from __future__ import annotations

import json
import pathlib
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.errors import Conflict, InputError, UsageError
from contracts.store import audit, ledger
from contracts.store.db import Store
from contracts.store.ingest import ingest_outcomes
from contracts.store.layout import Layout
from tests.store_fixtures import CONTRACT, SICK, store, store_url, write_csv  # noqa: F401

GOLDEN = pathlib.Path(__file__).parent / "golden"
OUT = SICK / "outcomes"


def ingest(store: Store, file: pathlib.Path, period: str, replace: bool = False) -> int:  # noqa: F811
    result = ingest_outcomes(store, CONTRACT, file, period, by="test", replace=replace)
    assert result.ok, (result.message, [i.message for i in result.issues])
    assert result.submission_id is not None
    return result.submission_id


def settle(store: Store, period: str, **kw: Any) -> ledger.LedgerSettleResult:  # noqa: F811
    return ledger.settle_period(store, CONTRACT, period, by="test", **kw)


def sql(store: Store, text: str, **params: Any) -> Any:  # noqa: F811
    with store.write() as conn:
        return conn.execute(sa.text(text), params)


def codes(report: audit.AuditReport) -> list[str]:
    return [i.code for i in report.issues]


def golden(period: str) -> dict[str, Any]:
    data = json.loads((GOLDEN / f"sick-leave-{period}.json").read_text(encoding="utf-8"))
    data.pop("inputs")
    return data


def test_a_year_settled_corrected_approved_and_audited(store: Store) -> None:  # noqa: F811
    ingest(store, OUT / "baseline-2024.xlsx", "2024")
    for q in range(1, 5):
        ingest(store, OUT / f"2025-Q{q}.xlsx", f"2025-Q{q}")

    stored = {}
    for q in range(1, 5):
        result = settle(store, f"2025-Q{q}")
        assert result.status == "stored", result.issues
        assert result.stored is not None and result.settlement is not None
        stored[q] = result.stored
        data = result.settlement.to_dict()
        data.pop("inputs")
        # The ledger settles exactly as the files do: the golden settlements of the samples.
        assert data == golden(f"2025-Q{q}")
        assert result.stored.payable == result.stored.total
    assert [stored[q].number for q in range(1, 5)] == [1, 2, 3, 4]
    assert stored[4].inputs.earlier[-1].number == 3

    # Settling again with nothing new stores nothing.
    again = settle(store, "2025-Q2")
    assert again.status == "unchanged" and "settlement 2" in again.message
    assert len(ledger.listing(store)) == 4

    for n in (1, 2, 3, 4):
        assert ledger.approve(store, n, by="eva")[1] is True

    # A corrected Q2: the new settlement adjusts the approved one; its line items add up
    # to the difference.
    ingest(store, OUT / "2025-Q2-corrected.xlsx", "2025-Q2", replace=True)
    dry = settle(store, "2025-Q2", dry_run=True)
    assert dry.status == "dry-run" and len(ledger.listing(store)) == 4
    fixed = settle(store, "2025-Q2")
    assert fixed.status == "stored" and fixed.stored is not None and fixed.adjustment is not None
    s5 = fixed.stored
    assert (s5.number, s5.sequence, s5.adjusts) == (5, 2, 2)
    assert fixed.adjustment.settled == Decimal("829110.71")
    assert s5.payable == s5.total - Decimal("829110.71") == dry.payable
    assert s5.payable == Decimal("-50400.00")
    with store.read() as conn:
        amounts = conn.execute(
            sa.text("SELECT amount FROM line_item WHERE settlement_id = :i"), {"i": s5.id}
        ).scalars()
        assert sum(Decimal(a) for a in amounts) == s5.payable

    approved, done = ledger.approve(store, 5, by="eva")
    assert done and approved.status == "approved" and approved.approved_by == "eva"
    assert ledger.approve(store, 5, by="eva")[1] is False

    report = audit.verify(store)
    assert report.ok, [i.message for i in report.issues]
    # the contract, 6 files, 1 supersession, 4 settlements and their approvals, the
    # re-settlement and its approval
    assert report.settlements == 5 and report.events == 1 + 6 + 1 + 8 + 2

    # A stored row altered directly in the database: the recomputation differs.
    with store.read() as conn:
        layout = Layout.from_json(
            conn.execute(sa.text("SELECT layout FROM contract_version")).scalar_one()
        )
    hours, group = layout.slot("short_sick_hours"), layout.slot("group")
    grain = sql(
        store,
        f"SELECT grain FROM outcome_row WHERE submission_id = 2 AND {group} = 'intervention' "
        "ORDER BY grain LIMIT 1",
    ).scalar_one()
    bump = f"UPDATE outcome_row SET {hours} = {hours} + :d WHERE submission_id = 2 AND grain = :g"
    sql(store, bump, d=40_000_000, g=grain)
    tampered = audit.verify(store)
    assert "audit-recompute" in codes(tampered)
    assert any("settlement 1" in (i.location.path or "") for i in tampered.issues)
    assert any("short_sick_rate_i" in i.message for i in tampered.issues)
    sql(store, bump, d=-40_000_000, g=grain)
    assert audit.verify(store).ok

    # A stored amount altered: the line item no longer matches what it should be.
    sql(
        store,
        "UPDATE line_item SET amount = '999999.00' WHERE settlement_id = :i AND position = 0",
        i=stored[1].id,
    )
    changed = audit.verify(store)
    assert any(
        i.code == "audit-record" and "stored 999999.00, should be 450000.00" in i.message
        for i in changed.issues
    ), [i.message for i in changed.issues]
    sql(
        store,
        "UPDATE line_item SET amount = '450000.00' WHERE settlement_id = :i AND position = 0",
        i=stored[1].id,
    )
    # ... and a document rewritten with its total: the hash and the event give it away.
    doc = json.loads(sql(store, "SELECT document FROM settlement WHERE number = 3").scalar_one())
    doc["settlement"]["total"] = "986600.79"
    sql(
        store,
        "UPDATE settlement SET document = :d, total = '986600.79' WHERE number = 3",
        d=json.dumps(doc),
    )
    rewritten = audit.verify(store)
    messages = [i.message for i in rewritten.issues]
    assert any("hashes to" in m for m in messages)
    assert any("total: stored 986600.79, recomputed 886600.79" in m for m in messages)
    assert any("the event that stored it says 886600.79" in m for m in messages)

    # An event altered: the chain breaks there.
    sql(store, "UPDATE event SET actor = 'mallory' WHERE id = 2")
    assert "event-chain" in codes(audit.verify(store))

    # A row removed: the submission's count no longer matches.
    sql(
        store,
        "DELETE FROM outcome_row WHERE submission_id = 5 AND grain = (SELECT min(grain) FROM outcome_row WHERE submission_id = 5)",
    )
    assert "audit-rows" in codes(audit.verify(store))


MONTHS_2024 = ["2024-01", "2024-02", "2024-03"]
MONTHS_2025 = ["2025-01", "2025-02", "2025-03"]


def small(path: pathlib.Path, months: list[str], sick: str = "10") -> pathlib.Path:
    rows = [
        f"U{g[0]},{g[0]}{e},{m},{g},160,{sick if m.startswith('2025') and g == 'intervention' else 12},0"
        for m in months
        for g in ("intervention", "comparison")
        for e in range(3)
    ]
    return write_csv(path, rows)


def test_earlier_periods_first_and_dry_run_stores_nothing(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    later = settle(store, "2025-Q2")
    assert later.status == "invalid" and [i.code for i in later.issues] == ["earlier-unsettled"]
    assert "settle 2025-Q1 first" in later.issues[0].message
    dry = settle(store, "2025-Q1", dry_run=True)
    assert dry.status == "dry-run" and dry.settlement is not None
    assert ledger.listing(store) == []
    with store.read() as conn:
        kinds = conn.execute(sa.text("SELECT kind FROM event ORDER BY id")).scalars().all()
    assert "settlement-stored" not in kinds
    first = settle(store, "2025-Q1")
    assert first.status == "stored" and first.payable == dry.payable


def test_a_settlement_stored_meanwhile_is_a_conflict(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process stores the period between this one's reading and writing."""
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    real = ledger.compute
    calls = []

    def racing(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            assert settle(store, "2025-Q1").status == "stored"  # the other officer
        return real(*args, **kw)

    monkeypatch.setattr(ledger, "compute", racing)
    with pytest.raises(Conflict, match="settlement 1 of 2025-Q1 was stored by test"):
        settle(store, "2025-Q1")
    assert [s.number for s in ledger.listing(store)] == [1]


def test_a_correction_arriving_meanwhile_is_a_conflict(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    real = ledger.compute

    def racing(*args: Any, **kw: Any) -> Any:
        monkeypatch.setattr(ledger, "compute", real)
        ingest(store, small(tmp_path / "q1b.csv", MONTHS_2025, sick="8"), "2025-Q1", replace=True)
        return real(*args, **kw)

    monkeypatch.setattr(ledger, "compute", racing)
    with pytest.raises(Conflict, match="changed while the settlement was being computed"):
        settle(store, "2025-Q1")
    assert ledger.listing(store) == []


def test_a_later_file_does_not_make_a_period_out_of_date(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    assert settle(store, "2025-Q1").status == "stored"
    ingest(store, small(tmp_path / "q2.csv", ["2025-04", "2025-05", "2025-06"]), "2025-Q2")
    assert settle(store, "2025-Q1").status == "unchanged"


def test_an_amended_contract_is_a_change_and_keeps_the_old_version(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    first = settle(store, "2025-Q1")
    assert first.stored is not None
    ledger.approve(store, 1, by="eva")
    amended = tmp_path / "contract.yaml"
    amended.write_text(
        CONTRACT.read_text(encoding="utf-8").replace("amount: 450000", "amount: 460000"),
        encoding="utf-8",
    )
    assert "amount: 460000" in amended.read_text(encoding="utf-8")
    second = ledger.settle_period(store, amended, "2025-Q1", by="test")
    assert second.stored is not None and second.adjustment is not None
    assert second.stored.contract_version_id != first.stored.contract_version_id
    assert second.payable == Decimal("10000.00")
    assert audit.verify(store).ok


def test_a_draft_corrected_before_approval_is_replaced_not_adjusted(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    """Nothing of a draft was paid, so its replacement owes its whole total."""
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    first = settle(store, "2025-Q1")
    ingest(store, small(tmp_path / "q1b.csv", MONTHS_2025, sick="8"), "2025-Q1", replace=True)
    second = settle(store, "2025-Q1")
    assert second.stored is not None and first.stored is not None
    assert "replacing draft 1" in second.message
    assert second.adjustment is None and second.stored.adjusts is None
    assert second.payable == second.stored.total != first.stored.total
    with pytest.raises(Conflict, match="approve 2 instead"):
        ledger.approve(store, 1, by="eva")
    assert ledger.approve(store, 2, by="eva")[1] is True
    assert audit.verify(store).ok


def test_an_approval_meanwhile_is_a_conflict(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Approved while a correction was being settled: the adjustment must count it."""
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    settle(store, "2025-Q1")
    ingest(store, small(tmp_path / "q1b.csv", MONTHS_2025, sick="8"), "2025-Q1", replace=True)
    real = ledger.compute

    def racing(*args: Any, **kw: Any) -> Any:
        monkeypatch.setattr(ledger, "compute", real)
        ledger.approve(store, 1, by="eva")
        return real(*args, **kw)

    monkeypatch.setattr(ledger, "compute", racing)
    with pytest.raises(Conflict, match="was approved while this one was being computed"):
        settle(store, "2025-Q1")
    again = settle(store, "2025-Q1")
    assert again.adjustment is not None and again.adjustment.against == 1


def test_documents_are_made_only_from_a_settlement_that_still_reproduces(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    ingest(store, small(tmp_path / "b.csv", MONTHS_2024), "2024")
    ingest(store, small(tmp_path / "q1.csv", MONTHS_2025), "2025-Q1")
    stored = settle(store, "2025-Q1").stored
    assert stored is not None
    again = audit.reproduce(store, 1)
    assert again.settlement.to_dict() == stored.document["settlement"]
    assert again.contract.contract.id == stored.contract_id and again.adjustment is None
    sql(store, "UPDATE settlement SET document = replace(document, '457560.00', '457561.00')")
    with pytest.raises(InputError, match="run `contract audit verify`"):
        audit.reproduce(store, 1)
    with pytest.raises(UsageError):
        audit.reproduce(store, 2)
