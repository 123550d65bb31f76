"""Caps in their order, rounding once where the contract says, sign, payers and the basis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts import money
from contracts.settlement import PriorSettlement, Settlement
from tests.helpers import D, amounts, contract_of, settle_rows, table

Q1, Q2 = "2025-Q1", "2025-Q2"

# Two "price per unit" rules on the sums of x and y (baseline 0): a = Σx, b = Σy.
BODY = """metrics:
  - {id: sx, kind: sum, of: x}
  - {id: sy, kind: sum, of: y}
baselines:
  - {id: zx, kind: fixed, metric: sx, value: 0}
  - {id: zy, kind: fixed, metric: sy, value: 0}
rules:
"""
FEE = "  - {id: fee, kind: fixed_fee, amount: 1000}\n"


def rule(rid: str, metric: str = "sx", price: str = "1", extra: str = "") -> str:
    base = {"sx": "zx", "sy": "zy"}[metric]
    return (
        f"  - {{id: {rid}, kind: improvement, measure: {{metric: {metric}, baseline: {base}}}, "
        f"price: {price}{extra}}}\n"
    )


def settle_xy(
    text: str, x: str, y: str = "0", prior: tuple[PriorSettlement, ...] = (), period: str = Q1
) -> Settlement:
    month = {Q1: "2025-01", Q2: "2025-04"}[period]
    s = settle_rows(
        contract_of(text), period, [{"pid": "P1", "month": month, "x": x, "y": y}], prior=prior
    )
    assert_sums(s)
    return s


def assert_sums(s: Settlement) -> None:
    assert money.add(*(x.amount for x in s.lines)) == s.total, table(s)
    assert money.add(*(a for _, a in s.rule_totals)) == s.total
    assert money.add(*(a for _, a in s.payers)) == s.total


def cuts(s: Settlement) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    return [(c.scope, c.name, c.limit, c.before, c.after) for c in s.caps]


def prior(total: int | str, **rules: int | str) -> tuple[PriorSettlement, ...]:
    return (PriorSettlement(Q1, {k: D(v) for k, v in rules.items()}, D(total)),)


# --- caps ------------------------------------------------------------------------------


def test_rule_cap_per_period() -> None:
    s = settle_xy(BODY + rule("a", extra=", cap_per_period: 1000"), "1500")
    assert amounts(s) == {"a": D(1000), "total": D(1000)}
    assert cuts(s) == [("rule-period", "a", 1000, 1500, 1000)]
    assert [(x.kind, x.amount) for x in s.lines] == [("payment", 1500), ("cap", -500)]


def test_rule_cap_over_the_contract_counts_prior_settlements() -> None:
    text = BODY + rule("a", extra=", cap: 2500")
    assert amounts(settle_xy(text, "1500"))["a"] == 1500
    # 2 000 settled before: 500 left of 2 500
    s = settle_xy(text, "1500", prior=prior(2000, a=2000), period=Q2)
    assert amounts(s)["a"] == 500
    assert cuts(s) == [("rule", "a", 2500, 1500, 500)]


def test_period_cap_cuts_the_last_rule_first_and_the_fee_survives() -> None:
    text = BODY + FEE + rule("a") + rule("b", "sy") + "caps: {per_period: 1200}\n"
    s = settle_xy(text, "500", "300")
    # 1 000 + 500 + 300 = 1 800, 600 over: b loses 300, then a 300
    assert amounts(s) == {"fee": D(1000), "a": D(200), "b": D(0), "total": D(1200)}
    assert cuts(s) == [("period", Q1, 1200, 1800, 1200)]


def test_contract_cap_with_prior_settlements() -> None:
    text = BODY + FEE + rule("a") + "caps: {contract: 10000}\n"
    s = settle_xy(text, "500", prior=prior(9000, fee=1000, a=8000), period=Q2)
    # 10 000 − 9 000 settled = 1 000 left: the fee; a is cut to 0
    assert amounts(s) == {"fee": D(1000), "a": D(0), "total": D(1000)}
    assert cuts(s) == [("contract", "contract", 10000, 1500, 1000)]


def test_payment_at_risk_caps_the_outcome_rules() -> None:
    text = (
        "contract_value: 10000\npayment_at_risk: {share: 0.3}\n"
        + BODY
        + "  - {id: fee, kind: fixed_fee, amount: 1750}\n"
        + rule("a")
    )
    s = settle_xy(text, "5000")
    # outcome payments at most 0.3 × 10 000 = 3 000; the fee is not at risk
    assert amounts(s) == {"fee": D(1750), "a": D(3000), "total": D(4750)}
    assert cuts(s) == [("at-risk", "outcome payments", 3000, 5000, 3000)]
    s = settle_xy(text, "5000", prior=prior(4250, fee=1750, a=2500), period=Q2)
    assert amounts(s)["a"] == 500


def test_payment_at_risk_counts_a_deduction_absorbed_by_a_lift_to_zero() -> None:
    """Q1: fee 1 750, outcomes −2 000, lifted by 250 to a total of 0: outcomes took −1 750."""
    text = (
        "contract_value: 10000\npayment_at_risk: {share: 0.3}\n"
        + BODY
        + "  - {id: fee, kind: fixed_fee, amount: 1750}\n"
        + rule("a")
    )
    earlier = prior(0, fee=1750, a=-2000, no_negative=250)
    s = settle_xy(text, "9000", prior=earlier, period=Q2)
    # room = 3 000 − (−2 000 + 250) = 4 750, so outcomes over the term come to exactly 3 000
    assert amounts(s)["a"] == 4750
    assert -2000 + 250 + amounts(s)["a"] == 3000


# --- rounding --------------------------------------------------------------------------


def rounding(quantum: str, mode: str, at: str = "line", negative: str = "false") -> str:
    return (
        f"settlement: {{rounding: {{quantum: {quantum}, mode: {mode}, at: {at}}}, "
        f"allow_negative: {negative}}}\n"
    )


@pytest.mark.parametrize(
    ("quantum", "mode", "expected"),
    [
        ("0.01", "half_up", "12.35"),
        ("0.01", "half_even", "12.34"),
        ("0.01", "down", "12.34"),
        ("1", "half_up", "12"),
        ("1", "half_even", "12"),
        ("0.05", "half_up", "12.35"),
        ("0.05", "half_even", "12.35"),
        ("0.05", "down", "12.30"),
    ],
)
def test_rounding_at_line(quantum: str, mode: str, expected: str) -> None:
    # 12.345 / 0.05 = 246.9 → 247 × 0.05 = 12.35 (down: 246 → 12.30)
    s = settle_xy(rounding(quantum, mode) + BODY + rule("a"), "12.345")
    assert amounts(s) == {"a": D(expected), "total": D(expected)}
    assert money.is_multiple(s.lines[0].amount, D(quantum))
    assert s.lines[0].steps[-1].stage == "round"


EVERY = """rules:
  - id: rc
    kind: rate_card
    outcomes: [{id: visit, condition: 'x >= 1', price: 10.125, pays: every_time}]
"""
THREE = [{"pid": "P1", "month": f"2025-0{m}", "x": "1"} for m in (1, 2, 3)]


@pytest.mark.parametrize(
    ("mode", "at", "expected", "rounding_line"),
    [
        ("half_up", "line", "30.39", None),  # 3 × (10.125 → 10.13)
        ("half_even", "line", "30.36", None),  # 3 × (10.125 → 10.12)
        ("half_up", "rule", "30.38", "0.005"),  # 30.375 → 30.38, the remainder on a rounding line
        ("half_even", "rule", "30.38", "0.005"),
        ("down", "rule", "30.37", "-0.005"),
        ("half_up", "settlement", "30.38", "0.005"),
    ],
)
def test_rounding_point_changes_the_payment(
    mode: str, at: str, expected: str, rounding_line: str | None
) -> None:
    s = settle_rows(contract_of(rounding("0.01", mode, at) + EVERY), Q1, THREE)
    assert_sums(s)
    assert s.total == D(expected), table(s)
    extra = [(x.rule, x.amount) for x in s.lines if x.kind == "rounding"]
    if rounding_line is None:
        assert extra == []
    else:
        assert extra == [("rc" if at == "rule" else "rounding", D(rounding_line))]


def test_rounding_at_settlement_rounds_the_sum_of_rules_once() -> None:
    s = settle_xy(
        rounding("1", "half_up", "settlement") + BODY + rule("a") + rule("b", "sy"), "10.4", "20.3"
    )
    # per line 10 + 20 = 30; once over 30.7 → 31
    assert amounts(s) == {"a": D("10.4"), "b": D("20.3"), "rounding": D("0.3"), "total": D(31)}


@pytest.mark.parametrize(("allow", "expected"), [("false", 0), ("true", -3000)])
def test_negative_total(allow: str, expected: int) -> None:
    text = (
        rounding("0.01", "half_up", negative=allow)
        + BODY
        + FEE
        + ("  - {id: m, kind: malus, measure: {metric: sx}, below: 10, amount: 4000}\n")
    )
    s = settle_xy(text, "5")
    assert s.total == expected
    if expected == 0:
        assert amounts(s) == {"fee": D(1000), "m": D(-4000), "no_negative": D(3000), "total": D(0)}
        assert cuts(s) == [("no-negative", "settlement", 0, -3000, 0)]
    else:
        assert "no_negative" not in amounts(s) and not s.caps


def test_payers_split_each_rule_by_its_shares_exactly() -> None:
    text = """
    payers:
      - {name: Region, share: 0.5, shares: {bonus: 0.35}}
      - {name: Kommun A, share: 0.25, shares: {bonus: 0.175}}
      - {name: Kommun B, share: 0.25, shares: {bonus: 0.175}}
      - {name: Fonden, share: 0, shares: {bonus: 0.3}}
    metrics:
      - {id: v, kind: supplied}
    rules:
      - {id: fee, kind: fixed_fee, amount: 1000.01}
      - {id: bonus, kind: target, condition: "v >= 0", amount: 333.33}
    """
    s = settle_rows(contract_of(text), Q1, [], supplied={("v", Q1): "1"})
    assert_sums(s)
    # Region 500.005 + 116.6655 = 616.6705; A and B 250.0025 + 58.33275 = 308.33525; Fonden 99.999
    # floors 616.67 + 308.33 + 308.33 + 99.99 = 1 333.32; two öre left go to the largest
    # remainders: Fonden (0.009), then Kommun A (0.00525, listed before B)
    assert dict(s.payers) == {
        "Region": D("616.67"),
        "Kommun A": D("308.34"),
        "Kommun B": D("308.33"),
        "Fonden": D("100.00"),
    }
    assert all(money.is_multiple(a, D("0.01")) for _, a in s.payers)


def test_cumulative_basis_pays_entitlement_to_date_less_what_was_settled() -> None:
    c = contract_of("""
    settlement: {basis: cumulative}
    metrics:
      - {id: rate, kind: ratio, numerator: x, denominator: hours}
      - {id: scheduled, kind: sum, of: hours}
      - {id: v, kind: supplied}
    baselines:
      - {id: base, kind: fixed, metric: rate, value: 0.05}
    rules:
      - {id: fee, kind: fixed_fee, amount: 1000}
      - {id: goal, kind: target, condition: "v >= 0.8", amount: 500}
      - id: imp
        kind: improvement
        measure: {metric: rate, baseline: base, direction: decrease}
        volume: scheduled
        price: 100
    """)
    rows = [
        {"pid": "P1", "month": "2025-01", "x": "40", "hours": "1000"},
        {"pid": "P1", "month": "2025-04", "x": "20", "hours": "1000"},
    ]
    figures = {("v", Q1): "0.85", ("v", Q2): "0.7"}
    q1 = settle_rows(c, Q1, rows, supplied=figures)
    # rate 40/1000 = 0.04: 0.01 × 1 000 h × 100 = 1 000; goal met 500; fee 1 000
    assert amounts(q1) == {"fee": D(1000), "goal": D(500), "imp": D(1000), "total": D(2500)}
    q2 = settle_rows(c, Q2, rows, supplied=figures, prior=[q1.as_prior()])
    assert_sums(q2)
    # to date: rate 60/2000 = 0.03 → 0.02 × 2 000 h × 100 = 4 000; goal 500 (Q1 only); fee 2 000
    assert (q2.entitlement, q2.previously_settled, q2.total) == (6500, 2500, 4000)
    assert amounts(q2) == {"fee": D(1000), "goal": D(0), "imp": D(3000), "total": D(4000)}
    assert {x.rule: x.amount for x in q2.lines if x.kind == "previously_settled"} == {
        "fee": -1000,
        "goal": -500,
        "imp": -1000,
    }


# --- known engine bugs -----------------------------------------------------------------


def test_rounding_at_rule_never_exceeds_the_contract_cap() -> None:
    text = rounding("0.01", "half_up", "rule") + BODY + rule("a") + rule("b", "sy")
    s = settle_xy(text + "caps: {contract: 100}\n", "33.335", "70")
    # 33.335 + 70 cut to 100; each rule rounded half up: 33.34 + 66.67 = 100.01 > 100
    assert s.total <= 100, table(s)


def test_line_rounding_never_exceeds_the_participant_cap() -> None:
    c = contract_of("""
    rules:
      - id: rc
        kind: rate_card
        cap_per_participant: 250
        uplifts: [{when: 'group == "u"', percent: 50}]
        outcomes: [{id: o, condition: 'x >= 1', price: 66.67, pays: every_time}]
    """)
    rows = [{**r, "group": "u"} for r in THREE]
    s = settle_rows(c, Q1, rows)
    # 66.67 × 1.5 = 100.005 → 100.01 twice, then 250 − 200.01 = 49.99: 250.01 > 250
    assert s.total <= 250, table(s)
