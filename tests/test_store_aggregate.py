"""Metrics aggregated in SQL equal the Python path exactly, on SQLite and PostgreSQL.

"Equal" is the strings of the Decimals too (`shown`), since settlements, goldens and the
audit compare strings: 312.5, not 312.500000; 10271.0 where a term had a place.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import pathlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from contracts import periods as P
from contracts.checks import check
from contracts.contract_file import parse_contract, read_contract
from contracts.expressions import ExpressionEvalError
from contracts.metrics import MetricValue, RowMetric, compute
from contracts.model import Contract, Metric, SuppliedMetric
from contracts.settle import settle
from contracts.settlement import PriorSettlement
from contracts.store import stored as stored_module
from contracts.store.db import Store
from contracts.store.ingest import ingest_outcomes
from contracts.store.layout import Encoder, plan
from contracts.store.rows import ROW
from contracts.store.stored import SUB, VERSION, StoredData
from tests.store_fixtures import CONTRACT, SICK, store, store_url, write_csv  # noqa: F401

GOLDEN = pathlib.Path(__file__).parent / "golden"
Q1, Q2, Q3, Q4 = (P.quarter(2025, q) for q in (1, 2, 3, 4))
YEAR = P.Period(date(2025, 1, 1), date(2025, 12, 31), "2025", "year")

COLUMNS = """\
    - {name: pid, type: text, pseudonymous: true}
    - {name: month, type: month}
    - {name: group, type: text, required: false}
    - {name: kind, type: enum, values: [a, b], required: false}
    - {name: x, type: decimal, required: false}
    - {name: y, type: decimal, required: false}
    - {name: n, type: integer, required: false}
    - {name: day, type: date, required: false}
    - {name: ok, type: boolean, required: false}
"""
# The same columns in another order, and one more: another layout (y in n0, x in n1, ...).
AMENDED = """\
    - {name: pid, type: text, pseudonymous: true}
    - {name: note, type: text, required: false}
    - {name: month, type: month}
    - {name: y, type: decimal, required: false}
    - {name: ok, type: boolean, required: false}
    - {name: x, type: decimal, required: false}
    - {name: kind, type: enum, values: [a, b], required: false}
    - {name: day, type: date, required: false}
    - {name: n, type: integer, required: false}
    - {name: group, type: text, required: false}
"""
TEMPLATE = """\
contract: {{id: {id}, title: Aggregates}}
parties: {{buyer: {{name: Kommunen}}, provider: {{name: Leverantören AB}}}}
currency: SEK
term: {{start: 2025-01-01, end: 2025-12-31}}
periods: {{kind: quarter}}
outcome_file:
  columns:
{columns}  grain: [pid, month]
  period_column: month
  participant_column: {participant}
metrics:
  - {{id: hours, kind: sum, of: x, filter: 'group == "a"'}}
  - {{id: rate, kind: ratio, numerator: x, denominator: y}}
  - {{id: people, kind: count, distinct: pid}}
rules:
  - {{id: fee, kind: fixed_fee, amount: 100}}
"""


def contract_with(cid: str = "agg", columns: str = COLUMNS, participant: str = "pid") -> Contract:
    text = TEMPLATE.format(id=cid, columns=columns, participant=participant)
    loaded = parse_contract(text, "inline.yaml")
    assert loaded.contract is not None, [i.message for i in loaded.issues]
    assert not [f for f in check(loaded.contract) if f.severity == "error"]
    return loaded.contract


def metric(spec: dict[str, Any]) -> RowMetric:
    m = TypeAdapter(Metric).validate_python({"id": "m", **spec})
    assert not isinstance(m, SuppliedMetric)
    return m


def put(
    store: Store,  # noqa: F811
    contract: Contract,
    rows: Sequence[dict[str, Any]],
    period: str | None = None,
    status: str = "live",
) -> int:
    """Store typed rows as one submission under the contract's layout, encoded as ingest
    encodes them (written with plain INSERTs: the speed of ingest is not tested here)."""
    layout, issues = plan(contract)
    assert layout is not None, issues
    text, cid = layout.to_json(), contract.contract.id
    now = datetime.now(UTC)
    with store.write() as conn:
        vid = conn.execute(
            sa.select(VERSION.c.id).where(VERSION.c.contract_id == cid, VERSION.c.layout == text)
        ).scalar()
        if vid is None:
            vid = conn.execute(
                VERSION.insert()
                .values(
                    contract_id=cid,
                    sha256=hashlib.sha256(f"{cid}{text}".encode()).hexdigest(),
                    source="",
                    layout=text,
                    created_at=now,
                    created_by="test",
                )
                .returning(VERSION.c.id)
            ).scalar_one()
        sid = conn.execute(
            SUB.insert()
            .values(
                contract_id=cid,
                contract_version_id=vid,
                kind="outcomes",
                period=period,
                file_name="rows.csv",
                sha256=hashlib.sha256(repr(rows).encode()).hexdigest(),
                size=0,
                rows=len(rows),
                submitted_at=now,
                submitted_by="test",
                status=status,
            )
            .returning(SUB.c.id)
        ).scalar_one()
        encoder = Encoder(contract, layout, lambda d: d)
        values = [encoder.encode(number, row) for number, row in enumerate(rows, start=2)]
        if values:
            names = ("submission_id", *encoder.columns)
            conn.execute(ROW.insert(), [dict(zip(names, (sid, *v), strict=True)) for v in values])
    return int(sid)


def shown(mv: MetricValue) -> tuple[Any, ...]:
    """A MetricValue with every Decimal as its string: what a settlement document shows."""
    return (
        mv.metric,
        mv.periods,
        str(mv.value),
        mv.rows,
        tuple((k, str(v)) for k, v in mv.parts),
        tuple((k, str(v)) for k, v in mv.groups),
        mv.supplied,
    )


def python_path(data: StoredData, m: RowMetric, periods: Sequence[P.Period]) -> MetricValue:
    # A list, so that rows are distinct objects (share without participants counts id(row)).
    rows = list(data.rows_in(periods))
    return compute(m, rows, tuple(p.id for p in periods), data.participant)


def both(data: StoredData, m: RowMetric, periods: Sequence[P.Period]) -> tuple[Any, Any]:
    return shown(data.metric(m, periods)), shown(python_path(data, m, periods))


NUMBERS = ["160", "152.5", "12.50", "0", "-3", "0.000001", "8.25", "1.5", "99999.999999", "40"]
GROUPS = [None, "a", "b", "(blank)", "ä", "B", "a "]


def sample_rows(seed: int, months: Sequence[int], pids: int = 6) -> list[dict[str, Any]]:
    """Rows with every kind of value and plenty of nulls, one per participant and month."""
    rng = random.Random(seed)

    def number() -> Decimal | None:
        return None if rng.random() < 0.2 else Decimal(rng.choice(NUMBERS))

    return [
        {
            "pid": f"P{p}",
            "month": date(2025, m, 1),
            "group": rng.choice(GROUPS),
            "kind": rng.choice([None, "a", "b"]),
            "x": number(),
            "y": number(),
            "n": rng.choice([None, 0, 3, -2, 160]),
            "day": rng.choice([None, date(2025, m, 1), date(2025, m, 15), date(2024, 12, 31)]),
            "ok": rng.choice([None, True, False]),
        }
        for p in range(pids)
        for m in months
    ]


@pytest.fixture
def ledger(store: Store) -> Iterator[tuple[Store, Contract]]:  # noqa: F811
    """Q1 and Q2 in files for their quarter, Q3 in a file for no period, and a superseded
    Q1 file whose rows must never count."""
    contract = contract_with()
    put(store, contract, sample_rows(9, [1, 2, 3]), "2025-Q1", status="superseded")
    put(store, contract, sample_rows(1, [1, 2, 3]), "2025-Q1")
    put(store, contract, sample_rows(2, [4, 5, 6]), "2025-Q2")
    put(store, contract, sample_rows(3, [7, 8, 9], pids=4))
    yield store, contract


SUPPORTED = [
    {"kind": "count"},
    {"kind": "count", "filter": 'group == "a"'},
    {"kind": "count", "distinct": "pid"},
    {"kind": "count", "distinct": "group"},
    {"kind": "count", "distinct": "x", "filter": "x > 0"},
    {"kind": "count", "distinct": "ok"},
    {"kind": "count", "distinct": "missing_column"},
    {"kind": "sum", "of": "x"},
    {"kind": "sum", "of": "n"},
    {"kind": "sum", "of": "x + y"},
    {"kind": "sum", "of": "x - y + n"},
    {"kind": "sum", "of": "-x"},
    {"kind": "sum", "of": "x * 3"},
    {"kind": "sum", "of": "2.0 * x"},
    {"kind": "sum", "of": "x * 0"},
    {"kind": "sum", "of": "x + 0.50"},
    {"kind": "sum", "of": "1"},
    {"kind": "sum", "of": "x > 1"},
    {"kind": "sum", "of": "ok"},
    {"kind": "mean", "of": "x"},
    {"kind": "mean", "of": "y", "filter": "kind == null"},
    {"kind": "ratio", "numerator": "x", "denominator": "y"},
    {"kind": "ratio", "numerator": "x", "denominator": "n", "filter": 'group != "a"'},
    {"kind": "share", "condition": "x >= 1.5"},
    {"kind": "share", "condition": "ok", "filter": "not (y > 100)"},
]
FILTERS = [
    'group == "a"',
    'group != "a"',
    'group < "b"',
    'group >= "B"',
    'group in ["a", "b", null]',
    'group not in ["a"]',
    "group in []",
    "group not in []",
    "not (x > 1)",
    "x == null",
    "x != null",
    "null == x",
    "x > null",
    "null == null",
    "x in [1.5, 160, 0.000001]",
    "x not in [1.5]",
    "x + y <= n",
    "-x < 0",
    "(x > 1) == (y > 1)",
    "(x > 1) != true",
    'x > 1 or kind == "b"',
    "x > 1 and not ok",
    "ok",
    "not ok",
    "ok == true",
    "ok != false",
    "ok in [true]",
    "day >= month",
    "day != month",
    "day == null",
    "true",
    "false",
    "n * 2 > x",
]
BY = ["group", "kind", "x", "n", "month", "day", "ok", "missing_column"]
WINDOWS = [[Q1], [Q2], [Q1, Q2], [Q3], [YEAR], [P.quarter(2024, 1)], []]


@pytest.mark.parametrize("spec", SUPPORTED, ids=[json.dumps(s) for s in SUPPORTED])
def test_every_metric_kind_equals_the_python_path(
    ledger: tuple[Store, Contract], spec: dict[str, Any]
) -> None:
    store, contract = ledger  # noqa: F811
    data = StoredData(store, contract)
    for window in WINDOWS:
        sql, python = both(data, metric(spec), window)
        assert sql == python, window
    assert data.fallbacks == ()


@pytest.mark.parametrize("flt", FILTERS)
def test_filters_keep_the_null_semantics_of_the_evaluator(
    ledger: tuple[Store, Contract], flt: str
) -> None:
    store, contract = ledger  # noqa: F811
    data = StoredData(store, contract)
    for spec in ({"kind": "count"}, {"kind": "ratio", "numerator": "x", "denominator": "y"}):
        sql, python = both(data, metric({**spec, "filter": flt}), [YEAR])
        assert sql == python
    sql, python = both(data, metric({"kind": "share", "condition": flt}), [Q1, Q2])
    assert sql == python
    assert data.fallbacks == ()


@pytest.mark.parametrize("by", BY)
def test_by_groups_equal_the_python_path(ledger: tuple[Store, Contract], by: str) -> None:
    store, contract = ledger  # noqa: F811
    data = StoredData(store, contract)
    for spec in [*SUPPORTED[::3], {"kind": "share", "condition": "x > 1"}]:
        sql, python = both(data, metric({**spec, "by": by}), [Q1, Q2, Q3])
        assert sql == python, spec
    assert data.fallbacks == ()


def test_superseded_rows_never_count_and_the_row_count_is_free_when_periods_decide(
    ledger: tuple[Store, Contract],
) -> None:
    store, contract = ledger  # noqa: F811
    with store.read() as conn:
        declared = conn.execute(
            sa.select(SUB.c.id).where(SUB.c.status == "live", SUB.c.period.is_not(None))
        ).scalars()
        pinned = StoredData(store, contract, submissions=list(declared))
    # Files stored for Q1 and Q2 lie within their quarter: counted from the submissions.
    assert [pinned.row_count(p) for p in (Q1, Q2, Q3)] == [18, 18, 0]
    assert pinned.sql.queries == 0
    # The Q3 file was stored for no period, so its rows could be anywhere: each count is
    # a query, which also computes the period's metrics (asked for next when settling).
    data = StoredData(store, contract)
    assert [data.row_count(p) for p in (Q1, Q3, Q4)] == [18, 12, 0]
    assert data.sql.queries == 3
    assert data.row_count(Q1) == 18 and data.sql.queries == 3
    hours = contract.metrics[0]
    assert not isinstance(hours, SuppliedMetric)
    data.metric(hours, [Q1])
    assert data.sql.queries == 3  # the contract's metrics came with the row count
    data.metric(metric({"kind": "sum", "of": "x", "filter": 'group == "a"'}), [Q1])
    assert data.sql.queries == 4  # a metric not in the contract: computed on its own
    assert data.row_count(Q3) == sum(1 for _ in data.rows_in([Q3]))
    live = sample_rows(1, [1, 2, 3])
    count = metric({"kind": "sum", "of": "n"})
    expected = sum((r["n"] for r in live if r["n"] is not None), Decimal(0))
    assert data.metric(count, [Q1]).value == expected


UNSUPPORTED = [
    ({"kind": "sum", "of": "x / y"}, "division"),
    ({"kind": "sum", "of": "x * y"}, "product of two columns"),
    ({"kind": "sum", "of": "x * 1.5"}, "product with a fraction"),
    ({"kind": "count", "filter": "group == 1"}, "text against a number"),
    ({"kind": "count", "filter": "x in [y]"}, "a list of columns"),
    ({"kind": "count", "filter": "x > 0.0000001"}, "seven places"),
]


@pytest.mark.parametrize(("spec", "why"), UNSUPPORTED, ids=[w for _, w in UNSUPPORTED])
def test_what_sql_cannot_do_exactly_falls_back_to_python(
    ledger: tuple[Store, Contract], spec: dict[str, Any], why: str
) -> None:
    store, contract = ledger  # noqa: F811
    data = StoredData(store, contract)
    m = metric(spec)
    assert shown(data.metric(m, [Q1, Q2])) == shown(python_path(data, m, [Q1, Q2]))
    assert [mid for mid, _ in data.fallbacks] == ["m"]


def test_an_expression_python_refuses_is_refused_the_same_way(
    ledger: tuple[Store, Contract],
) -> None:
    store, contract = ledger  # noqa: F811
    data = StoredData(store, contract)
    with pytest.raises(ExpressionEvalError, match="cannot order"):
        data.metric(metric({"kind": "count", "filter": "group > 1"}), [Q1])


def test_share_without_participants_counts_rows(ledger: tuple[Store, Contract]) -> None:
    store, contract = ledger  # noqa: F811
    data = StoredData(store, contract)
    data.participant = None  # as for a contract without a participant column
    share = metric({"kind": "share", "condition": "x > 1", "by": "kind"})
    sql, python = both(data, share, [Q1, Q2])
    assert sql == python and sql[2:5] == python[2:5]
    assert data.fallbacks == ()


def test_numbers_too_large_for_integer_arithmetic_fall_back(store: Store) -> None:  # noqa: F811
    contract = contract_with("large")
    big = Decimal("9000000000000")  # 9 × 10^12: in millionths just below 2^63
    rows = [{**r, "x": big, "y": big} for r in sample_rows(4, [1])]
    put(store, contract, rows, "2025-Q1")
    data = StoredData(store, contract)
    for spec in ({"kind": "sum", "of": "x + y"}, {"kind": "count", "filter": "x * 2 > 0"}):
        m = metric(spec)
        assert shown(data.metric(m, [Q1])) == shown(python_path(data, m, [Q1]))
    assert len(data.fallbacks) == 2
    # A plain sum of six such rows overflows BIGINT on SQLite (PostgreSQL sums in numeric).
    total = metric({"kind": "sum", "of": "x"})
    fresh = StoredData(store, contract)
    assert shown(fresh.metric(total, [Q1])) == shown(python_path(data, total, [Q1]))
    assert fresh.row_count(Q1) == len(rows)


def test_rows_of_several_layouts_are_added_and_distinct_counts_fall_back(
    store: Store,  # noqa: F811
) -> None:
    old, new = contract_with("amended"), contract_with("amended", AMENDED)
    put(store, old, sample_rows(5, [7, 8, 9]), "2025-Q3")
    put(store, new, [{**r, "note": "n"} for r in sample_rows(6, [10, 11, 12])], "2025-Q4")
    data = StoredData(store, new)
    for spec in SUPPORTED:
        for window in ([Q3], [Q4], [Q3, Q4]):
            sql, python = both(data, metric(spec), window)
            assert sql == python, (spec, window)
    # Only the distinct counts over rows of both layouts fell back.
    assert all("several layouts" in why for _, why in data.fallbacks)
    assert len(data.fallbacks) == sum(
        1 for s in SUPPORTED if s["kind"] == "share" or "distinct" in s
    )


VALUES = st.one_of(
    st.none(),
    st.integers(-(10**9), 10**9).map(Decimal),
    st.builds(lambda n, p: Decimal(n).scaleb(-p), st.integers(-(10**8), 10**8), st.integers(0, 6)),
)
TEMPLATES = [
    {"kind": "count", "distinct": "group"},
    {"kind": "sum", "of": "x"},
    {"kind": "sum", "of": "x + y * 2"},
    {"kind": "mean", "of": "y - x"},
    {"kind": "ratio", "numerator": "x", "denominator": "y"},
    {"kind": "share", "condition": "x > y"},
]
RANDOM_FILTERS = [None, 'group == "a"', "x >= 0", "not (y < x)", "y != null or ok", "n == null"]
counter = itertools.count()


@st.composite
def random_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(["P1", "P2", "P3", "P4"]), st.integers(1, 6)),
            unique=True,
            max_size=25,
        )
    )
    return [
        {
            "pid": pid,
            "month": date(2025, m, 1),
            "group": draw(st.sampled_from([None, "a", "b"])),
            "kind": None,
            "x": draw(VALUES),
            "y": draw(VALUES),
            "n": draw(st.one_of(st.none(), st.integers(-1000, 1000))),
            "day": None,
            "ok": draw(st.one_of(st.none(), st.booleans())),
        }
        for pid, m in keys
    ]


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=random_rows(),
    spec=st.sampled_from(TEMPLATES),
    flt=st.sampled_from(RANDOM_FILTERS),
    by=st.sampled_from([None, "group", "x"]),
)
def test_any_rows_give_the_same_metric_in_sql_and_python(
    store: Store,  # noqa: F811
    rows: list[dict[str, Any]],
    spec: dict[str, Any],
    flt: str | None,
    by: str | None,
) -> None:
    contract = contract_with(f"random-{next(counter)}")
    q1 = [r for r in rows if r["month"].month <= 3]
    put(store, contract, q1, "2025-Q1")
    put(store, contract, [r for r in rows if r["month"].month > 3])
    m = metric({**spec, **({"filter": flt} if flt else {}), **({"by": by} if by else {})})
    data = StoredData(store, contract)
    for window in ([Q1], [Q1, Q2]):
        sql, python = both(data, m, window)
        assert sql == python
    assert data.fallbacks == ()


SICK_FILES = ["baseline-2024.xlsx", "2025-Q1.xlsx", "2025-Q2.xlsx", "2025-Q3.xlsx", "2025-Q4.xlsx"]
SICK_PERIODS = ["2024", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]


def test_the_sick_leave_sample_settles_from_the_ledger_as_its_goldens(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, period in zip(SICK_FILES, SICK_PERIODS, strict=True):
        stored = ingest_outcomes(store, CONTRACT, SICK / "outcomes" / name, period, by="test")
        assert stored.status == "stored", stored.message
    contract = read_contract(CONTRACT).contract
    assert contract is not None

    def no_rows(*_: Any, **__: Any) -> Any:
        raise AssertionError("a metric was computed in Python over the rows")

    # Proof that the SQL path is taken: no row is read back into Python at all.
    monkeypatch.setattr(stored_module, "rows_for", no_rows)
    prior: list[PriorSettlement] = []
    for k, period in enumerate(SICK_PERIODS[1:], start=2):
        data = StoredData(store, contract)
        result = settle(contract, period, data, prior)
        assert result.settlement is not None and not result.issues, result.issues
        assert data.fallbacks == ()
        # The quarter's rows and the 2024 file's, once each; the row count is free.
        assert data.sql.queries == 2
        digests = tuple(
            (f, hashlib.sha256((SICK / "outcomes" / f).read_bytes()).hexdigest())
            for f in SICK_FILES[:k]
        )
        settlement = replace(result.settlement, inputs=digests)
        golden = json.loads((GOLDEN / f"sick-leave-{period}.json").read_text(encoding="utf-8"))
        assert settlement.to_dict() == golden
        prior.append(settlement.as_prior())


def test_a_file_with_rows_outside_its_period_is_not_stored(
    store: Store,  # noqa: F811
    tmp_path: pathlib.Path,
) -> None:
    # The SQL path skips submissions whose declared period cannot overlap a window; that
    # is exact only because such rows never reach the ledger.
    rows = ["U01,E1,2025-03,intervention,160,8,0", "U01,E1,2025-04,intervention,160,8,0"]
    path = write_csv(tmp_path / "q1.csv", rows)
    result = ingest_outcomes(store, CONTRACT, path, "2025-Q1", by="test")
    assert result.status == "invalid"
    assert [i.code for i in result.issues] == ["period-outside"]
