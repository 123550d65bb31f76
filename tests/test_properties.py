"""Properties of settlement for any rows, prices and caps (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contracts import money
from contracts.model import Contract
from contracts.settlement import Settlement
from tests.helpers import amounts, contract_of, settle_rows, table

FAST = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
# Contracts with every rule family take ~30 ms to parse and check: fewer examples.
HEAVY = settings(FAST, max_examples=40)
QUARTERS = ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")
MONTHS = tuple(f"2025-{m:02d}" for m in range(1, 13))
MODES = ("half_up", "half_even", "down", "up", "floor", "ceiling")
# A participant who never qualifies gives every quarter a row.
FILLER = [
    {"pid": "Z", "month": f"2025-{m:02d}", "group": "v", "x": "0", "y": "0", "hours": "100"}
    for m in (3, 6, 9, 12)
]

Row = dict[str, str]


def cents(lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    """Exact amounts with two decimals between lo/100 and hi/100."""
    return st.integers(lo, hi).map(lambda n: Decimal(n) / 100)


def opt(name: str, value: object) -> str:
    return "" if value is None else f", {name}: {value}"


@st.composite
def outcome_rows(
    draw: st.DrawFn,
    pids: tuple[str, ...] = ("P1", "P2", "P3", "P4"),
    months: tuple[str, ...] = MONTHS,
    max_size: int = 20,
) -> list[Row]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(pids), st.sampled_from(months)),
            unique=True,
            max_size=max_size,
        )
    )
    return [
        {
            "pid": pid,
            "month": month,
            "group": draw(st.sampled_from(("u", "v"))),
            "x": str(draw(cents(0, 300))),
            "y": str(draw(st.integers(0, 3))),
            "hours": str(draw(st.integers(50, 200))),
        }
        for pid, month in keys
    ] + FILLER


@st.composite
def capped_contracts(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A fee, a rate card and an improvement rule under random caps; and the caps."""
    caps: dict[str, Any] = {
        "per_period": draw(st.none() | st.integers(0, 3000)),
        "contract": draw(st.none() | st.integers(0, 8000)),
        "participant": draw(st.none() | st.integers(0, 600)),
        "at_risk": draw(st.none() | st.sampled_from(("0.02", "0.05", "0.1", "0.3"))),
        "rule_period": {r: draw(st.none() | st.integers(0, 1500)) for r in ("rc", "imp")},
        "rule": {r: draw(st.none() | st.integers(0, 4000)) for r in ("rc", "imp")},
    }
    at, mode = draw(st.sampled_from(("line", "settlement"))), draw(st.sampled_from(MODES))
    rule_caps = {
        r: opt("cap_per_period", caps["rule_period"][r]) + opt("cap", caps["rule"][r])
        for r in ("rc", "imp")
    }
    contract_caps = opt("per_period", caps["per_period"]) + opt("contract", caps["contract"])
    text = f"""
    settlement: {{rounding: {{quantum: 0.01, mode: {mode}, at: {at}}}}}
    contract_value: 10000
    {"payment_at_risk: {share: " + caps["at_risk"] + "}" if caps["at_risk"] else ""}
    {"caps: {" + contract_caps[2:] + "}" if contract_caps else ""}
    metrics:
      - {{id: sx, kind: sum, of: x}}
    baselines:
      - {{id: zx, kind: fixed, metric: sx, value: 0}}
    rules:
      - {{id: fee, kind: fixed_fee, amount: {draw(st.integers(0, 1000))}}}
      - {{id: rc, kind: rate_card{rule_caps["rc"]}{opt("cap_per_participant", caps["participant"])},
          uplifts: [{{when: 'group == "u"', percent: {draw(st.integers(1, 80))}}}],
          outcomes: [{{id: a, condition: 'x >= 1', price: {draw(st.integers(0, 400))},
                       pays: every_time}},
                     {{id: b, condition: 'y >= 2', price: {draw(st.integers(0, 400))},
                       pays: once_per_period}}]}}
      - {{id: imp, kind: improvement, measure: {{metric: sx, baseline: zx}},
          price: {draw(cents(0, 20000))}{rule_caps["imp"]}}}
    """
    return text, caps


def settle_year(c: Contract, rows: list[Row], **kw: Any) -> list[Settlement]:
    """Q1..Q4 in turn, each with the ones before it as prior."""
    done: list[Settlement] = []
    for q in QUARTERS:
        done.append(settle_rows(c, q, rows, prior=[s.as_prior() for s in done], **kw))
    return done


def assert_sums(s: Settlement) -> None:
    assert money.add(*(x.amount for x in s.lines)) == s.total, table(s)
    assert money.add(*(a for _, a in s.rule_totals)) == s.total, table(s)
    assert money.add(*(a for _, a in s.payers)) == s.total, s.payers


@FAST
@given(capped_contracts(), outcome_rows())
def test_no_cap_is_ever_exceeded(contract: tuple[str, dict[str, Any]], rows: list[Row]) -> None:
    text, caps = contract
    year = settle_year(contract_of(text), rows)
    by_rule: dict[str, Decimal] = defaultdict(Decimal)
    by_participant: dict[str, Decimal] = defaultdict(Decimal)
    for s in year:
        assert_sums(s)
        totals = dict(s.rule_totals)
        for rid, cap in caps["rule_period"].items():
            assert cap is None or totals[rid] <= cap, table(s)
        assert caps["per_period"] is None or s.total <= caps["per_period"], table(s)
        for rid, amount in totals.items():
            by_rule[rid] += amount
        for x in s.lines:
            if x.participant is not None:
                by_participant[x.participant] += x.amount
    for rid, cap in caps["rule"].items():
        assert cap is None or by_rule[rid] <= cap
    total = sum(s.total for s in year)
    assert caps["contract"] is None or total <= caps["contract"]
    if caps["at_risk"] is not None:
        assert by_rule["rc"] + by_rule["imp"] <= Decimal(caps["at_risk"]) * 10000
    if caps["participant"] is not None:
        assert all(paid <= caps["participant"] for paid in by_participant.values()), by_participant


@FAST
@given(capped_contracts(), outcome_rows(), st.randoms(use_true_random=False))
def test_row_order_never_changes_a_settlement(
    contract: tuple[str, dict[str, Any]], rows: list[Row], rnd: Any
) -> None:
    c = contract_of(contract[0])
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    for q in ("2025-Q2", "2025-Q4"):
        assert settle_rows(c, q, shuffled).to_dict() == settle_rows(c, q, rows).to_dict()


@st.composite
def mixed_contracts(
    draw: st.DrawFn,
    at: str | None = None,
    basis: str | None = None,
    allow_negative: bool | None = None,
) -> str:
    """Every family of rule with fractional prices, random rounding, sign and payers."""
    quantum = draw(st.sampled_from(("0.01", "0.05", "0.1", "1", "10")))
    at = at or draw(st.sampled_from(("line", "rule", "settlement")))
    basis = basis or draw(st.sampled_from(("per_period", "cumulative")))
    negative = draw(st.booleans()) if allow_negative is None else allow_negative
    share, imp_share = draw(cents(0, 100)), draw(cents(0, 100))
    price = draw(st.integers(0, 300_000).map(lambda n: Decimal(n) / 1000))
    return f"""
    settlement: {{basis: {basis}, allow_negative: {str(negative).lower()},
                  rounding: {{quantum: {quantum}, mode: {draw(st.sampled_from(MODES))}, at: {at}}}}}
    payers:
      - {{name: Region, share: {share}, shares: {{imp: {imp_share}}}}}
      - {{name: Kommunen, share: {1 - share}, shares: {{imp: {1 - imp_share}}}}}
    {"caps: {contract: " + str(draw(st.integers(0, 20000))) + "}" if draw(st.booleans()) else ""}
    metrics:
      - {{id: rate, kind: ratio, numerator: x, denominator: hours}}
      - {{id: scheduled, kind: sum, of: hours}}
      - {{id: v, kind: supplied, combine: mean}}
    baselines:
      - {{id: base, kind: fixed, metric: rate, value: 0.01}}
    rules:
      - {{id: fee, kind: fixed_fee, amount: {draw(cents(0, 100000))}}}
      - {{id: goal, kind: target, condition: "v >= 0.5", amount: {draw(cents(0, 100000))}}}
      - {{id: imp, kind: improvement,
          measure: {{metric: rate, baseline: base, direction: decrease}},
          volume: scheduled, price: {price}, allow_negative: {str(draw(st.booleans())).lower()}
          {opt("cap", draw(st.none() | cents(0, 300000)))}}}
      - {{id: rc, kind: rate_card{opt("cap_per_participant", draw(st.none() | cents(0, 50000)))},
          uplifts: [{{when: 'group == "u"', percent: {draw(cents(1, 9000))}}}],
          outcomes: [{{id: a, condition: 'x >= 1', price: {price}, pays: every_time}},
                     {{id: b, condition: 'y >= 2',
                       tiers: [{{up_to: 2, price: 99.999}}, {{price: 33.3}}]}}]}}
      - {{id: m, kind: malus, measure: {{metric: v}}, below: 0.4, per_step: {draw(cents(0, 99999))},
          step: 0.07, max_deduction: {draw(cents(0, 500000))}}}
      - {{id: ss, kind: savings_share,
          measure: {{metric: rate, baseline: base, direction: decrease}},
          unit_value: {draw(cents(1, 99999))}, share: 0.95, break_even: {draw(cents(1, 99999))},
          share_after: 0.4, return_cap: {draw(cents(0, 99999))}, floor: {draw(cents(0, 999))}}}
    """


def figures(draw: st.DrawFn) -> dict[tuple[str, str], Decimal]:
    return {("v", q): draw(cents(0, 100)) for q in QUARTERS}


def check_sums(text: str, rows: list[Row], draw: st.DrawFn) -> None:
    for s in settle_year(contract_of(text), rows, supplied=figures(draw)):
        assert_sums(s)
        lifts = (x.amount for x in s.lines if x.rule == "no_negative" and x.kind == "cap")
        lift = money.add(*lifts)  # this settlement's own lift to zero, if any
        assert money.add(s.entitlement, -s.previously_settled, lift) == s.total


@HEAVY
@given(mixed_contracts(at="line"), outcome_rows(), st.data())
def test_line_items_sum_to_the_total(text: str, rows: list[Row], data: st.DataObject) -> None:
    check_sums(text, rows, data.draw)


# 1/3 as a ratio, paid per unit: 33.333… (50 digits) rounded once to 33.33.
THIRD = """
settlement: {{rounding: {{quantum: 0.01, mode: half_up, at: {at}}}}}
metrics:
  - {{id: rate, kind: ratio, numerator: x, denominator: hours}}
baselines:
  - {{id: zero, kind: fixed, metric: rate, value: 0}}
rules:
  - {{id: imp, kind: improvement, measure: {{metric: rate, baseline: zero}}, price: 100}}
"""
THIRD_ROWS = [
    {"pid": "P1", "month": m, "x": "1", "hours": "3"}
    for m in ("2025-01", "2025-04", "2025-07", "2025-10")
]


@FAST
@example(THIRD.format(at="settlement"), THIRD_ROWS, None).via("1/3 rounded per settlement")
@example(THIRD.format(at="rule"), THIRD_ROWS, None).via("1/3 rounded per rule")
@given(
    st.sampled_from(("rule", "settlement")).flatmap(lambda at: mixed_contracts(at=at)),
    outcome_rows(),
    st.data(),
)
def test_line_items_sum_to_the_total_rounding_per_rule_or_settlement(
    text: str, rows: list[Row], data: st.DataObject | None
) -> None:
    check_sums(text, rows, data.draw if data else lambda s: Decimal(1))


@HEAVY
@given(mixed_contracts(at="line"), outcome_rows(), st.data())
def test_amounts_are_multiples_of_the_quantum_when_rounding_at_line(
    text: str, rows: list[Row], data: st.DataObject
) -> None:
    c = contract_of(text)
    q = c.settlement.rounding.quantum
    for s in settle_year(c, rows, supplied=figures(data.draw)):
        assert_sums(s)
        for x in [*(x.amount for x in s.lines), s.total, *(a for _, a in s.payers)]:
            assert money.is_multiple(x, q), (x, q, table(s))


# Rounding at line: per rule or settlement, see the rounding-line bug above.
@HEAVY
@given(
    mixed_contracts(at="line", basis="cumulative", allow_negative=True), outcome_rows(), st.data()
)
def test_cumulative_settlements_add_up_to_one_settlement_to_date(
    text: str, rows: list[Row], data: st.DataObject
) -> None:
    c = contract_of(text)
    supplied = figures(data.draw)
    year = settle_year(c, rows, supplied=supplied)
    at_once = settle_rows(c, QUARTERS[-1], rows, supplied=supplied)
    assert sum(s.total for s in year) == at_once.total, table(at_once)
    threaded: dict[str, Decimal] = defaultdict(Decimal)
    for s in year:
        for rid, amount in s.rule_totals:
            threaded[rid] += amount
    assert {k: v for k, v in threaded.items() if v} == {k: v for k, v in at_once.rule_totals if v}


SICK = """
settlement: {{rounding: {{quantum: {quantum}, mode: {mode}}}}}
metrics:
  - {{id: rate, kind: ratio, numerator: x, denominator: hours, filter: 'group == "t"'}}
  - {{id: comp, kind: ratio, numerator: x, denominator: hours, filter: 'group == "c"'}}
  - {{id: scheduled, kind: sum, of: hours, filter: 'group == "t"'}}
baselines:
  - {{id: base, kind: fixed, metric: rate, value: {base}}}
  - {{id: cbase, kind: fixed, metric: comp, value: 0.05}}
rules:
  - id: imp
    kind: improvement
    measure: {{metric: rate, baseline: base, direction: decrease,
               net_of: {{metric: comp, baseline: cbase}}}}
    volume: scheduled
    price: {price}
    allow_negative: {negative}
    {threshold}
    {cap}
"""


@FAST
@given(st.data())
def test_improvement_never_pays_less_when_results_improve(data: st.DataObject) -> None:
    d = data.draw
    c = contract_of(
        SICK.format(
            quantum=d(st.sampled_from(("0.01", "1", "0.05"))),
            mode=d(st.sampled_from(MODES)),
            base=d(cents(1, 20)),
            price=d(cents(0, 100000)),
            negative=d(st.sampled_from(("true", "false"))),
            threshold=d(
                st.sampled_from(
                    (
                        "",
                        "threshold: {min: 0.1, relative: true, precision: 0.01}",
                        "threshold: {min: 0.001}",
                    )
                )
            ),
            cap=d(st.sampled_from(("", "cap: 5000", "cap_per_period: 777.77"))),
        )
    )
    groups = ["c", "t", *d(st.lists(st.sampled_from(("t", "c")), max_size=6))]
    rows = [
        {
            "pid": f"P{i}",
            "month": MONTHS[i % 3],
            "group": g,
            "x": str(d(cents(0, 3000))),
            "hours": str(d(st.integers(100, 500))),
        }
        for i, g in enumerate(groups)
    ]
    # a treatment participant has fewer short sick hours; the rest is equal
    better = [dict(r) for r in rows]
    i = d(st.sampled_from([i for i, g in enumerate(groups) if g == "t"]))
    better[i]["x"] = str(max(Decimal(0), Decimal(better[i]["x"]) - d(cents(1, 3000))))
    worse_s, better_s = settle_rows(c, QUARTERS[0], rows), settle_rows(c, QUARTERS[0], better)
    assert amounts(better_s)["imp"] >= amounts(worse_s)["imp"], (table(worse_s), table(better_s))
