"""`contract audit verify`: recompute every stored settlement and check the event chain.

Problem: years later an auditor must be able to tell whether what the ledger says was
settled is what the contract and the stored data give, and whether anyone changed a
row, an amount or the record of what happened directly in the database.

Approach: for each stored settlement, the contract version it used is parsed from the
stored YAML, the engine is run over exactly the stored rows of the submissions recorded
with it and the earlier settlements it counted, and the result is compared with the
stored document part by part (metrics, every line, caps, totals, payers, adjustment);
the stored document must also hash to its recorded SHA-256 and match the event that
recorded it, its line-item rows must equal its lines, and an approved settlement must
have its approval event. Submissions are checked against their recorded row counts, so
a deleted or inserted row is caught even where it would not change an amount. Finally
the hash chain of the event log is walked. Each discrepancy names what was stored and
what it should be.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from contracts.contract_file import parse_contract
from contracts.errors import InputError, UsageError
from contracts.explain import show
from contracts.issues import Issue, Location
from contracts.model import Contract
from contracts.settlement import Settlement
from contracts.store.canonical import sha256_of
from contracts.store.db import Store
from contracts.store.events import EVENT, verify_chain
from contracts.store.ledger import (
    LINE,
    SUB,
    VERSION,
    Adjustment,
    StoredSettlement,
    adjustment_of,
    compute,
    document_of,
    line_rows,
    settlements,
)
from contracts.store.rows import ROW


@dataclass(frozen=True)
class AuditReport:
    settlements: int  # settlements recomputed
    submissions: int  # submissions whose rows were counted
    events: int  # events in the chain
    issues: tuple[Issue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues


def _where(s: StoredSettlement, part: str = "") -> Location:
    return Location(path=f"settlement {s.number}{' ' + part if part else ''}")


def _diff(path: str, stored: Any, should: Any) -> Iterator[tuple[str, Any, Any]]:
    """Leaf differences between two JSON values, with a readable path."""
    if isinstance(stored, dict) and isinstance(should, dict):
        for key in list(should) + [k for k in stored if k not in should]:
            yield from _diff(
                f"{path}.{key}" if path else str(key), stored.get(key), should.get(key)
            )
    elif isinstance(stored, list) and isinstance(should, list) and len(stored) == len(should):
        for i, (a, b) in enumerate(zip(stored, should, strict=True)):
            yield from _diff(f"{path}[{i}]", a, b)
    elif stored != should:
        yield path, stored, should


def _short(value: Any) -> str:
    """A long exact decimal as a reader wants it (≈0.042085); anything else as it is."""
    if isinstance(value, str) and len(value) > 20:
        try:
            return show(Decimal(value))
        except ArithmeticError:
            return value
    return str(value)


def _line_label(document: dict[str, Any], path: str) -> str:
    """`lines[3].amount` → `line 4 (avoided_sick_hours, Avoided hours 2025-Q2) amount`."""
    if path.startswith("settlement.metrics["):
        index = int(path.split("[", 1)[1].split("]", 1)[0])
        rest = path.split("]", 1)[1].lstrip(".")
        metrics = document.get("settlement", {}).get("metrics", [])
        m = metrics[index] if index < len(metrics) else {}
        return f"metric {m.get('metric')} over {', '.join(m.get('periods', []))} {rest}"
    if not path.startswith("settlement.lines["):
        return path.removeprefix("settlement.")
    index = int(path.split("[", 1)[1].split("]", 1)[0])
    rest = path.split("]", 1)[1].lstrip(".")
    lines = document.get("settlement", {}).get("lines", [])
    line = lines[index] if index < len(lines) else {}
    return f"line {index + 1} ({line.get('rule')}, {line.get('description')}) {rest}".strip()


def _check_one(
    store: Store, s: StoredSettlement, by_number: dict[int, StoredSettlement]
) -> list[Issue]:
    issues: list[Issue] = []
    with store.read() as conn:
        source = conn.execute(
            sa.select(VERSION.c.source, VERSION.c.sha256).where(
                VERSION.c.id == s.contract_version_id
            )
        ).one()
        line_items = conn.execute(
            sa.select(LINE.c.position, LINE.c.rule, LINE.c.kind, LINE.c.amount, LINE.c.steps)
            .where(LINE.c.settlement_id == s.id)
            .order_by(LINE.c.position)
        ).all()
        stored_event = conn.execute(
            sa.select(EVENT.c.payload).where(
                EVENT.c.kind == "settlement-stored", EVENT.c.subject == f"settlement:{s.number}"
            )
        ).scalar()
        approval = conn.execute(
            sa.select(EVENT.c.actor, EVENT.c.payload).where(
                EVENT.c.kind == "settlement-approved", EVENT.c.subject == f"settlement:{s.number}"
            )
        ).first()
        subs = {
            int(i): sha
            for i, sha in conn.execute(
                sa.select(SUB.c.id, SUB.c.sha256).where(SUB.c.id.in_(s.inputs.submission_ids))
            ).all()
        }
    # The record itself: hash, event, columns, line items.
    if sha256_of(s.document) != s.sha256:
        issues.append(
            Issue(
                "audit-record",
                f"the stored document hashes to {sha256_of(s.document)}, but {s.sha256} was "
                "recorded: the document was changed after it was stored",
                _where(s),
            )
        )
    if stored_event is None:
        issues.append(Issue("audit-record", "no settlement-stored event records it", _where(s)))
    else:
        recorded = json.loads(stored_event)
        for key, have in (
            ("sha256", s.sha256),
            ("total", str(s.total)),
            ("payable", str(s.payable)),
        ):
            if recorded.get(key) != have:
                issues.append(
                    Issue(
                        "audit-record",
                        f"{key} is {have}, but the event that stored it says {recorded.get(key)}",
                        _where(s),
                    )
                )
    if Decimal(s.document["settlement"]["total"]) != s.total:
        issues.append(
            Issue(
                "audit-record",
                f"total column is {s.total}, but its document says {s.document['settlement']['total']}",
                _where(s),
            )
        )
    if s.status == "approved" and approval is None:
        issues.append(
            Issue(
                "audit-record",
                f"marked approved by {s.approved_by}, but no settlement-approved event records it",
                _where(s),
            )
        )
    if s.status not in ("draft", "approved"):
        issues.append(Issue("audit-record", f"unknown status {s.status!r}", _where(s)))
    if s.adjusts is not None:
        target = by_number.get(s.adjusts)
        if (
            target is None
            or target.period != s.period
            or target.contract_id != s.contract_id
            or target.sequence >= s.sequence
            or target.status != "approved"
        ):
            issues.append(
                Issue(
                    "audit-record",
                    f"it adjusts settlement {s.adjusts}, which is not an earlier approved "
                    f"settlement of {s.period}",
                    _where(s),
                )
            )
    lost = False
    for ref in s.inputs.submissions:
        lost = lost or ref.id not in subs
        if subs.get(ref.id) != ref.sha256:
            issues.append(
                Issue(
                    "audit-record",
                    f"input submission {ref.id} ({ref.file}) should have SHA-256 {ref.sha256}, "
                    f"the ledger holds {subs.get(ref.id) or 'no such submission'}",
                    _where(s),
                )
            )
    if lost:  # nothing to recompute from
        return issues
    # Recompute from the stored contract version, rows and earlier settlements.
    loaded = parse_contract(source.source, f"contract version {s.contract_version_id}")
    if loaded.contract is None:
        issues.append(
            Issue("audit-recompute", "its stored contract version no longer parses", _where(s))
        )
        return issues
    prior = []
    for counted in s.inputs.earlier:
        earlier = by_number.get(counted.number)
        if earlier is None:
            issues.append(
                Issue("audit-record", f"earlier settlement {counted.number} is missing", _where(s))
            )
            return issues
        prior.append(earlier.as_prior())
    settlement, problems = compute(store, loaded.contract, s.period, s.inputs, tuple(prior))
    if settlement is None:
        text = "; ".join(i.message for i in problems)
        issues.append(Issue("audit-recompute", f"it can no longer be computed: {text}", _where(s)))
        return issues
    previous = by_number.get(s.adjusts) if s.adjusts is not None else None
    adjustment = adjustment_of(settlement, previous) if previous is not None else None
    should = document_of(settlement, adjustment)
    found = list(_diff("", s.document, should))
    # Explanation steps follow from the figures; name them only when nothing else differs.
    figures = [d for d in found if ".steps[" not in d[0]]
    for path, have, want in figures or [d for d in found if not d[0].endswith(".text")][:3]:
        issues.append(
            Issue(
                "audit-recompute",
                f"{_line_label(s.document, path)}: stored {_short(have)}, "
                f"recomputed {_short(want)}",
                _where(s),
            )
        )
    expected_lines = line_rows(settlement, adjustment)
    if len(line_items) != len(expected_lines):
        issues.append(
            Issue(
                "audit-record",
                f"{len(line_items)} line items are stored, {len(expected_lines)} should be",
                _where(s, "line items"),
            )
        )
    for got, want_row in zip(line_items, expected_lines, strict=False):
        for key in ("rule", "kind", "amount"):
            if str(getattr(got, key)) != str(want_row[key]):
                issues.append(
                    Issue(
                        "audit-record",
                        f"line item {got.position + 1} {key}: stored {getattr(got, key)}, "
                        f"should be {want_row[key]}",
                        _where(s, "line items"),
                    )
                )
        if got.steps != want_row["steps"] and not found:
            issues.append(
                Issue(
                    "audit-record",
                    f"line item {got.position + 1}: its stored explanation is not the one "
                    "the settlement gives",
                    _where(s, "line items"),
                )
            )
    return issues


def _row_counts(store: Store, contract_id: str | None) -> tuple[int, list[Issue]]:
    issues: list[Issue] = []
    with store.read() as conn:
        query = sa.select(SUB.c.id, SUB.c.rows, SUB.c.file_name).where(SUB.c.kind == "outcomes")
        if contract_id is not None:
            query = query.where(SUB.c.contract_id == contract_id)
        subs = conn.execute(query).all()
        counted: dict[int, int] = dict(
            conn.execute(  # type: ignore[arg-type]
                sa.select(ROW.c.submission_id, sa.func.count()).group_by(ROW.c.submission_id)
            ).all()
        )
    for sid, rows, name in subs:
        have = int(counted.get(sid, 0))
        if have != rows:
            issues.append(
                Issue(
                    "audit-rows",
                    f"submission {sid} ({name}) was stored with {rows} rows; the ledger now "
                    f"holds {have}: rows were added or removed",
                    Location(path=f"submission {sid}"),
                )
            )
    return len(subs), issues


def verify(store: Store, contract_id: str | None = None) -> AuditReport:
    """Recompute every stored settlement (of one contract or all) and check the chain."""
    with store.read() as conn:
        every = settlements(conn)
        chain = verify_chain(conn)
        n_events = int(conn.execute(sa.select(sa.func.count()).select_from(EVENT)).scalar_one())
    by_number = {s.number: s for s in every}
    mine = [s for s in every if contract_id is None or s.contract_id == contract_id]
    issues: list[Issue] = []
    for s in mine:
        issues += _check_one(store, s, by_number)
    n_subs, counts = _row_counts(store, contract_id)
    issues += counts
    issues += chain
    return AuditReport(len(mine), n_subs, n_events, tuple(issues))


@dataclass(frozen=True)
class Reproduced:
    """A stored settlement with the typed records the engine gives for it again."""

    stored: StoredSettlement
    contract: Contract  # the contract version it was computed under
    settlement: Settlement
    adjustment: Adjustment | None


def reproduce(store: Store, number: int) -> Reproduced:
    """Settlement `number` recomputed from what is stored, for documents about it.

    Documents are rendered from the engine's typed records (explanations in any
    language), so the stored settlement is computed again from its stored rows and
    contract version; when that is not what was stored, no document is made -- the
    ledger needs an audit first.
    """
    with store.read() as conn:
        every = settlements(conn)
        found = [s for s in every if s.number == number]
        if not found:
            raise UsageError(f"there is no settlement {number} in the ledger {store.url}")
        s = found[0]
        source = conn.execute(
            sa.select(VERSION.c.source).where(VERSION.c.id == s.contract_version_id)
        ).scalar_one()
    by_number = {x.number: x for x in every}
    loaded = parse_contract(source, f"contract version {s.contract_version_id}")
    prior = [by_number[e.number].as_prior() for e in s.inputs.earlier if e.number in by_number]
    settlement = None
    if loaded.contract is not None and len(prior) == len(s.inputs.earlier):
        settlement, _ = compute(store, loaded.contract, s.period, s.inputs, tuple(prior))
    previous = by_number.get(s.adjusts) if s.adjusts is not None else None
    adjustment = (
        adjustment_of(settlement, previous)
        if settlement is not None and previous is not None
        else None
    )
    if (
        loaded.contract is None
        or settlement is None
        or document_of(settlement, adjustment) != s.document
    ):
        raise InputError(
            f"settlement {number} no longer matches what the ledger stores for it; "
            "run `contract audit verify` to see where"
        )
    return Reproduced(s, loaded.contract, settlement, adjustment)
