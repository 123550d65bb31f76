"""Settling from the ledger: numbered, immutable settlements with adjustments; approval.

Problem: a settlement is money leaving a public body. Settling a period must use exactly
the stored rows of the live submissions and what earlier periods were actually settled
for; it must be stored once and never edited; settling again after a correction must
show the difference from what was settled before; settling again with nothing new must
store nothing; and two officers settling the same period at the same moment must not
both succeed.

Approach: two phases. First, in a read transaction, the inputs are fixed -- the contract
version (by content hash), the live submissions for periods up to the one settled, and,
when the contract makes a period depend on earlier ones (`settle.history_dependent`),
the latest settlement of every earlier period -- and the engine computes the settlement
from the rows of exactly those submissions. When the latest settlement of the period
was made from the same inputs, nothing changed and nothing is stored. Otherwise, in one
write transaction serialised per contract, the inputs and the latest settlement are read
again; if another process changed either meanwhile, this one stores nothing and says so
(`Conflict`, exit 1); the unique (contract, period, sequence) and (number) constraints
back that check where two writers still meet. The stored document is the engine's
settlement, the adjustment against the last APPROVED settlement of the period (what was
released for payment; a draft replaced before approval was never paid, so nothing is
adjusted against it), and the amount payable now; its line items sum to that amount. Approval sets only the approval columns
and appends an event; `audit.verify` recomputes everything from what is stored here.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from contracts import money
from contracts import periods as P
from contracts.errors import Conflict, UsageError
from contracts.issues import Issue
from contracts.model import Contract
from contracts.settle import history_dependent, settle, term_period, term_periods
from contracts.settlement import PriorSettlement, Settlement
from contracts.store import events
from contracts.store.canonical import canonical_json, sha256_of
from contracts.store.db import Store
from contracts.store.stored import StoredData
from contracts.store.tables import ContractVersion, LineItem, Submission
from contracts.store.tables import Settlement as SettlementRow
from contracts.store.versions import ContractFile, actor, lock_contract, read_for_ledger, register

SUB = Submission.__table__  # type: ignore[attr-defined]
VERSION = ContractVersion.__table__  # type: ignore[attr-defined]
SETTLEMENT = SettlementRow.__table__  # type: ignore[attr-defined]
LINE = LineItem.__table__  # type: ignore[attr-defined]
NUMBER_LOCK = 7003  # pg_advisory_xact_lock key: settlement numbers are ledger-wide


@dataclass(frozen=True)
class SubmissionRef:
    """A stored submission a settlement was computed from."""

    id: int
    kind: str  # 'outcomes' | 'supplied'
    period: str | None
    file: str
    sha256: str
    rows: int  # rows (or figures) it holds


@dataclass(frozen=True)
class EarlierRef:
    """The settlement of an earlier period that counted (caps to date, cumulative basis)."""

    number: int
    period: str
    total: Decimal


@dataclass(frozen=True)
class Inputs:
    """Everything a settlement was computed from, as recorded with it."""

    contract_sha256: str
    submissions: tuple[SubmissionRef, ...]
    earlier: tuple[EarlierRef, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract_sha256": self.contract_sha256,
            "submissions": [
                {
                    "id": s.id,
                    "kind": s.kind,
                    "period": s.period,
                    "file": s.file,
                    "sha256": s.sha256,
                    "rows": s.rows,
                }
                for s in self.submissions
            ],
            "earlier": [
                {"number": e.number, "period": e.period, "total": str(e.total)}
                for e in self.earlier
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Inputs:
        return cls(
            d["contract_sha256"],
            tuple(SubmissionRef(**s) for s in d["submissions"]),
            tuple(EarlierRef(e["number"], e["period"], Decimal(e["total"])) for e in d["earlier"]),
        )

    def same_as(self, other: Inputs) -> bool:
        """Would settling from `other` give the same result (same version, rows, history)?"""
        return (
            self.contract_sha256 == other.contract_sha256
            and {s.id for s in self.submissions} == {s.id for s in other.submissions}
            and [e.number for e in self.earlier] == [e.number for e in other.earlier]
        )

    @property
    def submission_ids(self) -> tuple[int, ...]:
        return tuple(s.id for s in self.submissions)


@dataclass(frozen=True)
class AdjustLine:
    """One rule's part of an adjustment: settled before, owed now, the difference."""

    rule: str
    settled: Decimal
    now: Decimal

    @property
    def difference(self) -> Decimal:
        return self.now - self.settled


@dataclass(frozen=True)
class Adjustment:
    """A re-settlement against the last approved settlement of the same period."""

    against: int  # number of the settlement adjusted
    lines: tuple[AdjustLine, ...]
    settled: Decimal  # the approved settlement's total
    now: Decimal  # this settlement's total

    @property
    def difference(self) -> Decimal:
        return self.now - self.settled

    def to_dict(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "settled": str(self.settled),
            "now": str(self.now),
            "difference": str(self.difference),
            "lines": [
                {
                    "rule": x.rule,
                    "settled": str(x.settled),
                    "now": str(x.now),
                    "difference": str(x.difference),
                }
                for x in self.lines
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Adjustment:
        return cls(
            d["against"],
            tuple(
                AdjustLine(x["rule"], Decimal(x["settled"]), Decimal(x["now"])) for x in d["lines"]
            ),
            Decimal(d["settled"]),
            Decimal(d["now"]),
        )


@dataclass(frozen=True)
class StoredSettlement:
    """A settlement as the ledger holds it."""

    id: int
    number: int
    contract_id: str
    contract_version_id: int
    period: str
    sequence: int
    basis: str
    status: str  # 'draft' | 'approved'
    total: Decimal  # the period's total as computed by this settlement
    payable: Decimal  # owed by this settlement (total less the settlement it adjusts)
    adjusts: int | None  # number of the settlement it adjusts
    document: dict[str, Any]  # {"settlement": …, "adjustment": …, "payable": …}
    sha256: str  # of the canonical document
    inputs: Inputs
    created_at: datetime
    created_by: str
    approved_at: datetime | None
    approved_by: str | None

    @property
    def rule_totals(self) -> dict[str, Decimal]:
        return {r: Decimal(a) for r, a in self.document["settlement"]["rule_totals"].items()}

    @property
    def adjustment(self) -> Adjustment | None:
        adj = self.document.get("adjustment")
        return None if adj is None else Adjustment.from_dict(adj)

    def as_prior(self) -> PriorSettlement:
        return PriorSettlement(self.period, self.rule_totals, self.total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "contract": self.contract_id,
            "contract_version": self.contract_version_id,
            "period": self.period,
            "sequence": self.sequence,
            "basis": self.basis,
            "status": self.status,
            "total": str(self.total),
            "payable": str(self.payable),
            "adjusts": self.adjusts,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
            "approved_by": self.approved_by,
            "sha256": self.sha256,
            "inputs": self.inputs.to_dict(),
            **{k: v for k, v in self.document.items() if k != "payable"},
        }


Status = Literal["stored", "unchanged", "dry-run", "invalid"]


@dataclass(frozen=True)
class LedgerSettleResult:
    """What `settle_period` did."""

    status: Status
    message: str
    settlement: Settlement | None = None  # as computed (None when invalid)
    adjustment: Adjustment | None = None
    payable: Decimal | None = None
    stored: StoredSettlement | None = None  # the new one, or the unchanged latest
    inputs: Inputs | None = None
    issues: tuple[Issue, ...] = ()


def _stamp(value: Any) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stored(row: Any, number_of: dict[int, int]) -> StoredSettlement:
    return StoredSettlement(
        id=int(row.id),
        number=int(row.number),
        contract_id=row.contract_id,
        contract_version_id=int(row.contract_version_id),
        period=row.period,
        sequence=int(row.sequence),
        basis=row.basis,
        status=row.status,
        total=Decimal(row.total),
        payable=Decimal(row.payable),
        adjusts=number_of.get(row.adjusts) if row.adjusts is not None else None,
        document=json.loads(row.document),
        sha256=row.sha256,
        inputs=Inputs.from_dict(json.loads(row.inputs)),
        created_at=_stamp(row.created_at),
        created_by=row.created_by,
        approved_at=_stamp(row.approved_at) if row.approved_at is not None else None,
        approved_by=row.approved_by,
    )


def settlements(
    conn: Connection, contract_id: str | None = None, number: int | None = None
) -> list[StoredSettlement]:
    """Stored settlements in number order, of one contract or all, or the one numbered."""
    query = sa.select(SETTLEMENT).order_by(SETTLEMENT.c.number)
    if contract_id is not None:
        query = query.where(SETTLEMENT.c.contract_id == contract_id)
    if number is not None:
        query = query.where(SETTLEMENT.c.number == number)
    rows = conn.execute(query).all()
    ids = {r.adjusts for r in rows if r.adjusts is not None}
    number_of = {}
    if ids:
        number_of = {
            int(i): int(n)
            for i, n in conn.execute(
                sa.select(SETTLEMENT.c.id, SETTLEMENT.c.number).where(SETTLEMENT.c.id.in_(ids))
            ).all()
        }
    return [_stored(r, number_of) for r in rows]


def latest(
    conn: Connection, contract_id: str, approved: bool = False
) -> dict[str, StoredSettlement]:
    """The latest settlement (or latest approved one) of each settled period of the contract."""
    return _latest_of(settlements(conn, contract_id), approved)


def _latest_of(
    items: list[StoredSettlement], approved: bool = False
) -> dict[str, StoredSettlement]:
    out: dict[str, StoredSettlement] = {}
    for s in items:
        if approved and s.status != "approved":
            continue
        if s.period not in out or s.sequence > out[s.period].sequence:
            out[s.period] = s
    return out


def _submissions(
    conn: Connection, contract: Contract, until: P.Period
) -> tuple[SubmissionRef, ...]:
    """Live submissions that can bear on a period: those for it, before it, or for no period.

    Rows of a submission made for a period all lie in that period (ingest checks it), so
    a later one cannot change this settlement; leaving it out keeps ingesting next
    quarter's file from making this quarter's settlement look out of date.
    """
    rows = conn.execute(
        sa.select(SUB.c.id, SUB.c.kind, SUB.c.period, SUB.c.file_name, SUB.c.sha256, SUB.c.rows)
        .where(SUB.c.contract_id == contract.contract.id, SUB.c.status == "live")
        .order_by(SUB.c.id)
    ).all()
    terms = term_periods(contract)
    out = []
    for sid, kind, period, file, digest, count in rows:
        p = None if period is None else (P.find(terms, period) or P.parse_period(period))
        if p is None or p.end <= until.end:
            out.append(SubmissionRef(int(sid), kind, period, file, digest, int(count)))
    return tuple(out)


@dataclass(frozen=True)
class _Plan:
    """What the read phase saw: the inputs, the earlier settlements and the previous one."""

    inputs: Inputs
    prior: tuple[PriorSettlement, ...]
    previous: StoredSettlement | None  # the latest settlement of the period
    against: StoredSettlement | None  # the latest approved one: what was released for payment
    missing: tuple[str, ...]  # earlier periods without a settlement, when they matter


def _plan(conn: Connection, cf: ContractFile, period: P.Period) -> _Plan:
    contract = cf.contract
    every = settlements(conn, contract.contract.id)
    done = _latest_of(every)
    earlier: list[StoredSettlement] = []
    missing: list[str] = []
    if history_dependent(contract):
        for p in term_periods(contract):
            if p.id == period.id:
                break
            if p.id in done:
                earlier.append(done[p.id])
            else:
                missing.append(p.id)
    inputs = Inputs(
        cf.sha256,
        _submissions(conn, contract, period),
        tuple(EarlierRef(s.number, s.period, s.total) for s in earlier),
    )
    released = _latest_of(every, approved=True).get(period.id)
    return _Plan(
        inputs,
        tuple(s.as_prior() for s in earlier),
        done.get(period.id),
        released,
        tuple(missing),
    )


def compute(
    store: Store,
    contract: Contract,
    period: str,
    inputs: Inputs,
    prior: tuple[PriorSettlement, ...],
) -> tuple[Settlement | None, tuple[Issue, ...]]:
    """The engine over exactly the stored rows of `inputs` (also used by the audit)."""
    data = StoredData(store, contract, submissions=inputs.submission_ids)
    result = settle(contract, period, data, prior)
    if result.settlement is None:
        return None, result.issues
    named = tuple((f"{s.file} (submission {s.id})", s.sha256) for s in inputs.submissions)
    return replace(result.settlement, inputs=named), result.issues


def adjustment_of(settlement: Settlement, previous: StoredSettlement) -> Adjustment:
    """The difference, rule by rule, between `settlement` and the settlement it replaces."""
    before = previous.rule_totals
    now = dict(settlement.rule_totals)
    rules = list(now) + [r for r in before if r not in now]
    lines = tuple(AdjustLine(r, before.get(r, money.ZERO), now.get(r, money.ZERO)) for r in rules)
    return Adjustment(previous.number, lines, previous.total, settlement.total)


def document_of(settlement: Settlement, adjustment: Adjustment | None) -> dict[str, Any]:
    payable = settlement.total - (adjustment.settled if adjustment else money.ZERO)
    return {
        "settlement": settlement.to_dict(),
        "adjustment": adjustment.to_dict() if adjustment else None,
        "payable": str(payable),
    }


def line_rows(settlement: Settlement, adjustment: Adjustment | None) -> list[dict[str, Any]]:
    """The line items to store: the settlement's, then one per rule settled before."""
    rows = [
        {
            "position": i,
            "rule": x.rule,
            "kind": x.kind,
            "amount": str(x.amount),
            "steps": canonical_json([s.to_dict() for s in x.steps]),
        }
        for i, x in enumerate(settlement.lines)
    ]
    if adjustment is not None:
        for x in adjustment.lines:
            if x.settled == 0:
                continue
            rows.append(
                {
                    "position": len(rows),
                    "rule": x.rule,
                    "kind": "adjustment",
                    "amount": str(-x.settled),
                    "steps": canonical_json(
                        [{"code": "adjust.settled", "settlement": adjustment.against}]
                    ),
                }
            )
    return rows


def settle_period(
    store: Store,
    contract_path: pathlib.Path,
    period: str,
    *,
    by: str | None = None,
    dry_run: bool = False,
) -> LedgerSettleResult:
    """Settle `period` from the stored rows; store it unless nothing changed or `dry_run`."""
    cf, issues = read_for_ledger(contract_path)
    if cf is None:
        return LedgerSettleResult("invalid", f"{contract_path} has errors", issues=tuple(issues))
    contract = cf.contract
    wanted = term_period(contract, period)
    with store.read() as conn:
        plan = _plan(conn, cf, wanted)
    if plan.missing:
        return LedgerSettleResult(
            "invalid",
            f"{wanted.id} cannot be settled yet",
            issues=(
                Issue(
                    "earlier-unsettled",
                    f"settling {wanted.id} depends on what earlier periods were settled for "
                    f"(caps to date, outcomes paid once); settle {', '.join(plan.missing)} first",
                ),
            ),
        )
    previous = plan.previous
    if previous is not None and previous.inputs.same_as(plan.inputs):
        return LedgerSettleResult(
            "unchanged",
            f"nothing changed since settlement {previous.number} of {wanted.id} "
            f"(stored {previous.created_at:%Y-%m-%d %H:%M} UTC by {previous.created_by}); "
            "nothing was stored",
            stored=previous,
            inputs=plan.inputs,
        )
    settlement, problems = compute(store, contract, wanted.id, plan.inputs, plan.prior)
    if settlement is None:
        return LedgerSettleResult(
            "invalid", f"{wanted.id} cannot be settled", inputs=plan.inputs, issues=problems
        )
    against = plan.against
    adjustment = adjustment_of(settlement, against) if against is not None else None
    document = document_of(settlement, adjustment)
    payable = Decimal(document["payable"])
    if dry_run:
        return LedgerSettleResult(
            "dry-run",
            "dry run: nothing was stored",
            settlement,
            adjustment,
            payable,
            inputs=plan.inputs,
        )
    who = actor(by)
    stored = _store(store, cf, wanted, plan, settlement, adjustment, document, who)
    what = f", adjusting settlement {against.number}" if against is not None else ""
    if previous is not None and (against is None or against.number != previous.number):
        what += f", replacing draft {previous.number}"
    return LedgerSettleResult(
        "stored",
        f"stored settlement {stored.number} of {wanted.id}{what} (draft)",
        settlement,
        adjustment,
        payable,
        stored,
        plan.inputs,
    )


def _store(
    store: Store,
    cf: ContractFile,
    period: P.Period,
    plan: _Plan,
    settlement: Settlement,
    adjustment: Adjustment | None,
    document: dict[str, Any],
    who: str,
) -> StoredSettlement:
    cid = cf.contract.contract.id
    try:
        with store.write() as conn:
            lock_contract(conn, cid)
            again = _plan(conn, cf, period)
            _same_or_conflict(plan, again, period)
            version, _ = register(conn, cf, who)
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": NUMBER_LOCK})
            number = (
                int(
                    conn.execute(
                        sa.select(sa.func.coalesce(sa.func.max(SETTLEMENT.c.number), 0))
                    ).scalar_one()
                )
                + 1
            )
            previous = plan.previous
            text = canonical_json(document)
            digest = sha256_of(document)
            sid = conn.execute(
                SETTLEMENT.insert()
                .values(
                    number=number,
                    contract_id=cid,
                    contract_version_id=version,
                    period=period.id,
                    sequence=(previous.sequence + 1) if previous else 1,
                    basis=settlement.basis,
                    status="draft",
                    total=str(settlement.total),
                    payable=document["payable"],
                    adjusts=plan.against.id if plan.against else None,
                    document=text,
                    sha256=digest,
                    inputs=canonical_json(plan.inputs.to_dict()),
                    created_at=datetime.now(UTC),
                    created_by=who,
                )
                .returning(SETTLEMENT.c.id)
            ).scalar_one()
            rows = line_rows(settlement, adjustment)
            conn.execute(LINE.insert(), [{"settlement_id": sid, **r} for r in rows])
            events.append(
                conn,
                "settlement-stored",
                who,
                f"settlement:{number}",
                {
                    "number": number,
                    "contract": cid,
                    "contract_version": version,
                    "period": period.id,
                    "total": str(settlement.total),
                    "payable": document["payable"],
                    "adjusts": plan.against.number if plan.against else None,
                    "sha256": digest,
                    "inputs": sha256_of(plan.inputs.to_dict()),
                },
            )
    except sa.exc.IntegrityError as exc:
        raise Conflict(
            f"another settlement of {period.id} was stored at the same moment; nothing was "
            "stored by this one -- run `contract settle` again to see whether anything changed"
        ) from exc
    with store.read() as conn:
        return settlements(conn, number=number)[0]


def _same_or_conflict(plan: _Plan, again: _Plan, period: P.Period) -> None:
    now = again.previous
    if (now.number if now else None) != (plan.previous.number if plan.previous else None):
        assert now is not None
        raise Conflict(
            f"settlement {now.number} of {period.id} was stored by {now.created_by} while this "
            "one was being computed; nothing was stored -- run `contract settle` again to see "
            "whether anything changed"
        )
    if (again.against.number if again.against else None) != (
        plan.against.number if plan.against else None
    ):
        raise Conflict(
            f"a settlement of {period.id} was approved while this one was being computed; "
            "nothing was stored -- run `contract settle` again so the adjustment counts it"
        )
    if not again.inputs.same_as(plan.inputs) or again.missing != plan.missing:
        raise Conflict(
            f"the stored outcome data for {period.id} changed while the settlement was being "
            "computed; nothing was stored -- run `contract settle` again"
        )


def approve(store: Store, number: int, *, by: str | None = None) -> tuple[StoredSettlement, bool]:
    """Approve settlement `number`; (the settlement, whether this call approved it)."""
    who = actor(by)
    with store.write() as conn:
        found = settlements(conn, number=number)
        if not found:
            raise UsageError(f"there is no settlement {number} in the ledger {store.url}")
        s = found[0]
        lock_contract(conn, s.contract_id)
        if s.status == "approved":
            return s, False
        newer = latest(conn, s.contract_id)[s.period]
        if newer.number != s.number:
            raise Conflict(
                f"settlement {number} of {s.period} was followed by settlement {newer.number}, "
                f"which adjusts it; approve {newer.number} instead"
            )
        at = datetime.now(UTC)
        updated = conn.execute(
            SETTLEMENT.update()
            .where(SETTLEMENT.c.id == s.id, SETTLEMENT.c.status == "draft")
            .values(status="approved", approved_at=at, approved_by=who)
        ).rowcount
        if updated != 1:
            raise Conflict(f"settlement {number} was approved by someone else just now")
        events.append(
            conn,
            "settlement-approved",
            who,
            f"settlement:{number}",
            {"number": number, "sha256": s.sha256, "approved_at": at.isoformat()},
        )
    with store.read() as conn:
        return settlements(conn, number=number)[0], True


def show(store: Store, number: int) -> StoredSettlement:
    with store.read() as conn:
        found = settlements(conn, number=number)
    if not found:
        raise UsageError(f"there is no settlement {number} in the ledger {store.url}")
    return found[0]


def listing(store: Store, contract_id: str | None = None) -> list[StoredSettlement]:
    with store.read() as conn:
        return settlements(conn, contract_id)
