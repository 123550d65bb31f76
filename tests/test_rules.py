"""Payment rules family by family, settled from inline contracts with hand-computed amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts import money
from contracts.contract_file import parse_contract
from contracts.explain import STAGES
from contracts.settlement import PriorSettlement
from tests.helpers import HEADER, D, amounts, contract_of, settle_rows, table

Q1, Q2 = "2025-Q1", "2025-Q2"


def row(pid: str, month: str, **values: object) -> dict[str, str]:
    return {"pid": pid, "month": month, **{k: str(v) for k, v in values.items()}}


def supplied_rule(rule: str, metrics: str = "  - {id: v, kind: supplied}") -> str:
    return f"metrics:\n{metrics}\nrules:\n  - {rule}\n"


def settle_v(rule: str, value: str) -> Decimal:
    """Settle Q1 of a one-rule contract on a supplied metric `v`; the rule's amount."""
    s = settle_rows(contract_of(supplied_rule(rule)), Q1, [], supplied={("v", Q1): value})
    return amounts(s)["r"]


# --- fixed_fee -------------------------------------------------------------------------


def test_fixed_fee_amount_is_paid_each_period() -> None:
    c = contract_of("rules:\n  - {id: fee, kind: fixed_fee, amount: 25000}\n")
    for q in (Q1, "2025-Q3"):
        assert amounts(settle_rows(c, q, [])) == {"fee": D(25000), "total": D(25000)}


def test_fixed_fee_share_of_value_is_spread_over_the_term() -> None:
    c = contract_of(
        "contract_value: 1000000\nrules:\n  - {id: fee, kind: fixed_fee, share_of_value: 0.2}\n"
    )
    # 0.2 × 1 000 000 / 4 quarters = 50 000 per quarter
    assert amounts(settle_rows(c, Q2, []))["fee"] == D(50000)


def test_deferred_fee_pays_nothing_until_the_last_period_then_everything() -> None:
    c = contract_of("rules:\n  - {id: fee, kind: fixed_fee, amount: 1000, deferred: true}\n")
    for q in (Q1, Q2, "2025-Q3"):
        assert amounts(settle_rows(c, q, []))["fee"] == 0
    # 4 quarters × 1 000 accrued, paid in 2025-Q4
    assert amounts(settle_rows(c, "2025-Q4", []))["fee"] == D(4000)


# --- target ----------------------------------------------------------------------------

TARGET = """metrics:
  - {id: plan_share, kind: share, condition: "x >= 1"}
rules:
  - {id: plans, kind: target, condition: "plan_share >= 0.80", amount: 50000}
"""


@pytest.mark.parametrize(("with_plan", "expected"), [(4, 50000), (3, 0)])
def test_target_met_or_not(with_plan: int, expected: int) -> None:
    # share of 5 participants with a plan: 4/5 = 0.80 ≥ 0.80 → 50 000; 3/5 = 0.60 → 0
    rows = [row(f"P{i}", "2025-02", x=1 if i < with_plan else 0) for i in range(5)]
    s = settle_rows(contract_of(TARGET), Q1, rows)
    assert amounts(s)["plans"] == expected, table(s)


@pytest.mark.parametrize(("precision", "expected"), [("", 0), (", precision: 0.01", 50000)])
def test_target_precision_rounds_the_metric_before_comparing(precision: str, expected: int) -> None:
    # 0.7968 < 0.80 compared exactly; rounded half up to 0.01 it is 0.80 → met
    rule = f'{{id: r, kind: target, condition: "v >= 0.80", amount: 50000{precision}}}'
    assert settle_v(rule, "0.7968") == expected


# --- improvement -----------------------------------------------------------------------

SICK = """metrics:
  - {id: sick, kind: sum, of: x}
baselines:
  - {id: base, kind: fixed, metric: sick, value: 1000}
  - {id: last_year, kind: previous_year, metric: sick}
rules:
  - id: imp
    kind: improvement
    measure: {metric: sick, baseline: BASE, direction: decrease}
    price: 50
"""


def test_improvement_decrease_against_a_fixed_baseline() -> None:
    c = contract_of(SICK.replace("BASE", "base"))
    s = settle_rows(c, Q1, [row("P1", "2025-01", x=300), row("P2", "2025-03", x=500)])
    # (1000 − 800) avoided hours × 50 = 10 000
    assert amounts(s) == {"imp": D(10000), "total": D(10000)}, table(s)


def test_improvement_against_the_same_quarter_a_year_earlier() -> None:
    c = contract_of(SICK.replace("BASE", "last_year"))
    rows = [
        row("P1", "2024-02", x=700),
        row("P1", "2024-05", x=999),  # 2024-Q2 is not the baseline
        row("P1", "2025-01", x=450),
    ]
    # baseline = 2024-Q1 = 700; (700 − 450) × 50 = 12 500
    assert amounts(settle_rows(c, Q1, rows))["imp"] == D(12500)


def test_improvement_net_of_a_comparison_group_computed_from_rows() -> None:
    c = contract_of("""
    metrics:
      - {id: sick_t, kind: sum, of: x, filter: 'group == "t"'}
      - {id: sick_c, kind: sum, of: x, filter: 'group == "c"'}
    baselines:
      - {id: bt, kind: fixed, metric: sick_t, value: 1000}
      - {id: bc, kind: fixed, metric: sick_c, value: 500}
    rules:
      - id: imp
        kind: improvement
        measure: {metric: sick_t, baseline: bt, direction: decrease,
                  net_of: {metric: sick_c, baseline: bc}}
        price: 10
    """)
    rows = [row("T1", "2025-01", group="t", x=800), row("C1", "2025-01", group="c", x=450)]
    # treatment 1000 − 800 = 200; comparison 500 − 450 = 50; net 150 × 10 = 1 500
    assert amounts(settle_rows(c, Q1, rows))["imp"] == D(1500)


def test_improvement_net_of_a_supplied_comparison_rate_times_volume() -> None:
    c = contract_of("""
    metrics:
      - {id: rate, kind: ratio, numerator: x, denominator: hours}
      - {id: scheduled, kind: sum, of: hours}
      - {id: comp_rate, kind: supplied, source: evaluator}
    baselines:
      - {id: base, kind: fixed, metric: rate, value: 0.05}
      - {id: comp_base, kind: fixed, metric: comp_rate, value: 0.05}
    rules:
      - id: imp
        kind: improvement
        measure: {metric: rate, baseline: base, direction: decrease,
                  net_of: {metric: comp_rate, baseline: comp_base}}
        volume: scheduled
        price: 500
    """)
    rows = [row("P1", "2025-01", x=15, hours=400), row("P2", "2025-02", x=25, hours=600)]
    s = settle_rows(c, Q1, rows, supplied={("comp_rate", Q1): "0.046"})
    # rate 40/1000 = 0.04 → change 0.01; comparison 0.05 − 0.046 = 0.004; net 0.006
    # units 0.006 × 1000 h = 6 avoided hours × 500 = 3 000
    assert amounts(s)["imp"] == D(3000), table(s)


THRESHOLD = """metrics:
  - {id: sick, kind: sum, of: x}
baselines:
  - {id: base, kind: fixed, metric: sick, value: 1000}
rules:
  - id: imp
    kind: improvement
    measure: {metric: sick, baseline: base, direction: decrease}
    price: 10
    threshold: THRESHOLD
"""


@pytest.mark.parametrize(("threshold", "expected"), [
    ("{min: 0.10, relative: true}", 0),  # 96.8 / 1000 = 9.68 % is not 10 %
    ("{min: 0.10, relative: true, precision: 0.01}", 968),  # 0.0968 → 0.10 met: 96.8 × 10
    ("{min: 97}", 0),  # 96.8 avoided hours < 97
    ("{min: 97, precision: 1}", 968),  # 96.8 → 97 met
    ("{min: 96.8}", 968),  # at the minimum is enough
])  # fmt: skip
def test_improvement_threshold(threshold: str, expected: int) -> None:
    c = contract_of(THRESHOLD.replace("THRESHOLD", threshold))
    s = settle_rows(c, Q1, [row("P1", "2025-01", x="903.2")])
    assert amounts(s)["imp"] == expected, table(s)


@pytest.mark.parametrize(("allow", "expected"), [("false", 0), ("true", -1000)])
def test_improvement_worsening(allow: str, expected: int) -> None:
    body = SICK.replace("BASE", "base").replace(
        "price: 50", f"price: 10\n    allow_negative: {allow}"
    )
    c = contract_of(body + "  - {id: fee, kind: fixed_fee, amount: 5000}\n")
    s = settle_rows(c, Q1, [row("P1", "2025-01", x=1100)])
    # (1000 − 1100) × 10 = −1 000: nothing, or a deduction from the 5 000 fee
    assert amounts(s) == {"imp": D(expected), "fee": D(5000), "total": D(5000 + expected)}
    assert [x.kind for x in s.lines if x.rule == "imp"] == ["deduction" if expected else "payment"]


def test_improvement_line_explains_itself_stage_by_stage() -> None:
    c = contract_of("""
    metrics:
      - {id: sick, kind: sum, of: x}
      - {id: staff, kind: count}
    baselines:
      - {id: base, kind: fixed, metric: sick, value: 10}
    rules:
      - id: imp
        kind: improvement
        measure: {metric: sick, baseline: base, direction: decrease}
        volume: staff
        price: 3.333
        threshold: {min: 1}
    """)
    s = settle_rows(c, Q1, [row("P1", "2025-01", x=4), row("P2", "2025-01", x=3)])
    # (10 − 7) × 2 staff = 6 units × 3.333 = 19.998 → 20.00
    assert amounts(s)["imp"] == D("20.00")
    stages = [st.stage for st in s.lines[0].steps]
    expected = ("select", "metric", "baseline", "change", "volume", "threshold", "price", "round")
    assert tuple(stages) == expected
    assert [STAGES.index(x) for x in stages] == sorted(STAGES.index(x) for x in stages)


def test_improvement_without_a_baseline_is_a_contract_error() -> None:
    text = HEADER + supplied_rule("{id: r, kind: improvement, measure: {metric: v}, price: 10}")
    loaded = parse_contract(text, "inline.yaml")
    assert loaded.contract is None
    assert [(i.code, i.location.path) for i in loaded.issues] == [("field-invalid", "rules[0]")]


def test_relative_threshold_on_a_relative_measure() -> None:
    body = THRESHOLD.replace("direction: decrease", "direction: decrease, relative: true")
    c = contract_of(
        body.replace("THRESHOLD", "{min: 0.10, relative: true}").replace("10\n", "1000\n")
    )
    s = settle_rows(c, Q1, [row("P1", "2025-01", x=850)])
    # relative change (1000 − 850) / 1000 = 0.15 ≥ 0.10 → 0.15 × 1 000 = 150
    assert amounts(s)["imp"] == D(150), table(s)


# --- linear_scale, tiered, bonus, malus ------------------------------------------------

SCALE = (
    "{id: r, kind: linear_scale, measure: {metric: v}, floor: 0.50, target: 0.90, amount: 10000}"
)
DOWN = (
    "{id: r, kind: linear_scale, measure: {metric: v, direction: decrease},"
    " floor: 0.06, target: 0.04, amount: 10000}"
)
BANDS = (
    "[{at_least: 0.05, amount: 1000}, {at_least: 0.10, amount: 3000},"
    " {at_least: 0.15, amount: 6000}]"
)
TIERED = f"{{id: r, kind: tiered, measure: {{metric: v}}, bands: {BANDS}}}"
BONUS = "{id: r, kind: bonus, measure: {metric: v}, above: 0.80, amount: 5000}"
STEPS = "{id: r, kind: bonus, measure: {metric: v}, above: 0.80, per_step: 1000, step: 0.01}"


@pytest.mark.parametrize(("rule", "value", "expected"), [
    # (value − 0.50) / (0.90 − 0.50), clamped to 0–1, × 10 000
    (SCALE, "0.40", 0), (SCALE, "0.50", 0), (SCALE, "0.70", 5000), (SCALE, "0.95", 10000),
    # sick rate: nothing at 6 %, full at 4 %; (0.05 − 0.06) / (0.04 − 0.06) = 0.5
    (DOWN, "0.07", 0), (DOWN, "0.05", 5000), (DOWN, "0.03", 10000),
    # the highest band reached pays
    (TIERED, "0.04", 0), (TIERED, "0.05", 1000), (TIERED, "0.12", 3000), (TIERED, "0.30", 6000),
    # a bonus only beyond the quota
    (BONUS, "0.80", 0), (BONUS, "0.81", 5000),
    # 0.835 − 0.80 = 0.035 → 3 full steps of 0.01 × 1 000
    (STEPS, "0.805", 0), (STEPS, "0.835", 3000), (STEPS, "0.85", 5000),
    # floor == target is a step: all beyond it, nothing short of it
    (SCALE.replace("0.50", "0.90"), "0.95", 10000), (SCALE.replace("0.50", "0.90"), "0.85", 0),
])  # fmt: skip
def test_scale_bands_and_bonus(rule: str, value: str, expected: int) -> None:
    assert settle_v(rule, value) == expected


def test_tiered_pays_the_highest_band_reached() -> None:
    bands = "[{at_least: 0.05, amount: 500}, {at_least: 0.10, amount: 300}]"
    assert (
        settle_v(f"{{id: r, kind: tiered, measure: {{metric: v}}, bands: {bands}}}", "0.12") == 300
    )


MALUS = (
    "{id: r, kind: malus, measure: {metric: v}, below: 0.90, per_step: 2000, step: 0.01,"
    " max_deduction: 5000}"
)
FIXED_MALUS = "{id: r, kind: malus, measure: {metric: v}, below: 0.90, amount: 3000}"


@pytest.mark.parametrize(("rule", "value", "expected"), [
    (MALUS, "0.90", 0),
    (MALUS, "0.885", -4000),  # 0.90 − 0.885 = 0.015 → 2 started steps × 2 000
    (MALUS, "0.80", -5000),  # 10 steps short, limited to 5 000
    (FIXED_MALUS, "0.89", -3000),
])  # fmt: skip
def test_malus(rule: str, value: str, expected: int) -> None:
    c = contract_of(supplied_rule(rule) + "  - {id: fee, kind: fixed_fee, amount: 10000}\n")
    s = settle_rows(c, Q1, [], supplied={("v", Q1): value})
    assert amounts(s) == {"r": D(expected), "fee": D(10000), "total": D(10000 + expected)}


# --- savings_share ---------------------------------------------------------------------

SAVINGS = """metrics:
  - {id: care_days, kind: sum, of: x}
  - {id: quality, kind: supplied}
baselines:
  - {id: base, kind: fixed, metric: care_days, value: 500}
rules:
  - id: ss
    kind: savings_share
    measure: {metric: care_days, baseline: base, direction: decrease}
    unit_value: 4000
"""


def savings(extra: str, days: int, quality: str = "1", prior: int | None = None) -> Decimal:
    """The rule's amount for Q1, or for Q2 after `prior` was settled under it in Q1."""
    c = contract_of(SAVINGS + "".join(f"    {x}\n" for x in extra.split(";")))
    q, month = (Q1, "2025-02") if prior is None else (Q2, "2025-05")
    before = [] if prior is None else [PriorSettlement(Q1, {"ss": D(prior)}, D(prior))]
    s = settle_rows(c, q, [row("P1", month, x=days)], {("quality", q): quality}, before)
    return amounts(s)["ss"]


def test_savings_share_plain() -> None:
    # (500 − 400) days × 4 000 = 400 000 saved × 0.3 = 120 000
    assert savings("share: 0.3", 400) == D(120000)


BREAK_EVEN = "share: 0.5;break_even: 100000;share_after: 0.25"


def test_savings_share_crossing_break_even_within_one_settlement() -> None:
    # 400 000 saved: 0.5 × 200 000 = 100 000 reaches break-even; 0.25 × 200 000 = 50 000 after
    assert savings(BREAK_EVEN, 400) == D(150000)


def test_savings_share_prior_settlements_count_towards_break_even() -> None:
    # 80 000 paid: 20 000 left to break-even = 0.5 × 40 000; the other 360 000 × 0.25 = 90 000
    assert savings(BREAK_EVEN, 400, prior=80000) == D(110000)


@pytest.mark.parametrize(("quality", "expected"), [("0.85", 100000), ("0.95", 150000)])
def test_savings_share_return_gate(quality: str, expected: int) -> None:
    # gate closed: only the part up to break-even (100 000) is paid
    assert savings(BREAK_EVEN + ";return_gate: quality >= 0.9", 400, quality) == D(expected)


def test_savings_share_return_cap_counts_what_was_returned_before() -> None:
    extra = BREAK_EVEN + ";return_cap: 30000"
    assert savings(extra, 400) == D(130000)  # 100 000 + min(50 000, 30 000)
    # 110 000 paid, 10 000 of it beyond break-even: 20 000 left of the return cap
    assert savings(extra, 400, prior=110000) == D(20000)


def test_savings_share_floor() -> None:
    # more care days than the baseline: saving 0, the guaranteed floor is paid
    assert savings("share: 0.3;floor: 10000", 600) == D(10000)
    assert savings("share: 0.3;floor: 10000", 400) == D(120000)


# --- metrics ---------------------------------------------------------------------------


def test_metric_kinds_and_groups() -> None:
    c = contract_of("""
    metrics:
      - {id: n, kind: count}
      - {id: n_b, kind: count, filter: 'group == "b"'}
      - {id: people, kind: count, distinct: pid}
      - {id: total_x, kind: sum, of: x, by: group}
      - {id: mean_x, kind: mean, of: x}
      - {id: rate, kind: ratio, numerator: x, denominator: y}
      - {id: reached, kind: share, condition: "x >= 3"}
      - {id: comp, kind: supplied}
    rules:
      - id: all
        kind: target
        amount: 1
        condition: >-
          n >= 0 and n_b >= 0 and people >= 0 and total_x >= 0 and mean_x >= 0
          and rate >= 0 and reached >= 0 and comp >= 0
    """)
    a, b = {"group": "a"}, {"group": "b"}
    rows = [row("P1", "2025-01", **a, x=2, y=10), row("P1", "2025-02", **a, x=4, y=10)]
    rows += [row("P2", "2025-01", **b, x=3, y=20), row("P3", "2025-03", **b, y=10)]
    s = settle_rows(c, Q1, rows, supplied={("comp", Q1): "0.5"})
    values = {m.metric: m.value for m in s.metrics}
    assert values == {"n": 4, "n_b": 2, "people": 3, "total_x": 9,
                      "mean_x": 3,  # 9 / 3 rows with a value
                      "rate": D("0.225"),  # 9 / 40: P3's row has no x, so it is not in the ratio
                      "reached": money.div(D(2), D(3)),  # P1 and P2 of 3 participants
                      "comp": D("0.5")}  # fmt: skip
    by = {m.metric: dict(m.groups) for m in s.metrics}
    assert by["total_x"] == {"a": 6, "b": 3}
    assert next(m for m in s.metrics if m.metric == "comp").supplied
    assert amounts(s)["all"] == 1
