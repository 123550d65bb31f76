"""The maximum liability: the most a contract can cost over its term, or why it is unbounded."""

from __future__ import annotations

import json
import pathlib
import textwrap
from decimal import Decimal

import pytest

from contracts.contract_file import read_contract
from contracts.documents.liability import Liability, maximum_liability
from contracts.model import Contract
from tests.helpers import D, contract_of

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def sample(name: str) -> Contract:
    contract = read_contract(ROOT / "sample_data" / name / "contract.yaml").contract
    assert contract is not None
    return contract


def codes(lia: Liability) -> dict[str, tuple[str, Decimal | None]]:
    return {r.rule: (r.bound.code, r.amount) for r in lia.rules}


def test_sick_leave_is_bounded_by_its_contract_cap() -> None:
    lia = maximum_liability(sample("sick-leave"))
    assert lia.amount == D("4500000.00") and lia.binding and lia.binding.code == "contract-cap"
    assert codes(lia) == {
        "fixed_fee": ("fee", D("1800000")),  # 450 000 × 4 quarters
        "avoided_sick_hours": ("cap-per-period", D("3000000")),  # 750 000 × 4; no price bound
    }
    assert {b.code: b.amount for b in lia.bounds} == {
        "rules": D("4800000"),
        "at-risk": D("4800000"),  # 1 800 000 fixed + 50 % of 6 000 000
        "contract-cap": D("4500000"),
    }


def test_school_support_rate_card_alone_is_unbounded_but_the_contract_cap_bounds_it() -> None:
    lia = maximum_liability(sample("school-support"))
    assert lia.amount == D("4200000")
    (rule,) = lia.unbounded_rules
    # A cap per pupil bounds nothing without the number of pupils.
    assert rule.bound.code == "no-count-cap"
    assert rule.bound.value("participant_cap") == D("40000")


@pytest.mark.parametrize(
    ("sample_name", "periods"),
    [
        ("sick-leave", ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]),
        ("school-support", ["HT2025", "VT2026"]),
    ],
)
def test_what_the_engine_settles_over_the_term_stays_within_it(
    sample_name: str, periods: list[str]
) -> None:
    settled = sum(
        Decimal(json.loads((GOLDEN / f"{sample_name}-{p}.json").read_text())["total"])
        for p in periods
    )
    lia = maximum_liability(sample(sample_name))
    assert lia.amount is not None and settled <= lia.amount
    if sample_name == "school-support":
        assert settled == lia.amount  # the spring term reaches the contract cap exactly


def test_fixed_fees_and_targets_bound_themselves() -> None:
    c = contract_of(
        """
        metrics: [{id: n, kind: count}]
        rules:
          - {id: fee, kind: fixed_fee, amount: 100000}
          - {id: hit, kind: target, condition: n >= 10, amount: 25000}
          - {id: scale, kind: linear_scale, measure: {metric: n}, floor: 0, target: 10, amount: 5000}
          - {id: bands, kind: tiered, measure: {metric: n}, bands: [{at_least: 5, amount: 1000}, {at_least: 9, amount: 3000}]}
          - {id: extra, kind: bonus, measure: {metric: n}, above: 10, amount: 700}
          - {id: late, kind: malus, measure: {metric: n}, below: 5, amount: 400}
        """
    )
    lia = maximum_liability(c)
    assert codes(lia) == {
        "fee": ("fee", D(400000)),
        "hit": ("amount-per-period", D(100000)),
        "scale": ("amount-per-period", D(20000)),
        "bands": ("band-per-period", D(12000)),  # the highest band, each quarter
        "extra": ("bonus-per-period", D(2800)),
        "late": ("deduction", D(0)),  # a deduction never adds to the cost
    }
    assert lia.amount == D(534800) and lia.binding and lia.binding.code == "rules"


def test_a_price_per_unit_without_a_cap_is_unbounded_with_the_reason() -> None:
    c = contract_of(
        """
        metrics: [{id: s, kind: sum, of: x}]
        baselines: [{id: s0, kind: fixed, metric: s, value: 100}]
        rules:
          - {id: fee, kind: fixed_fee, amount: 1000}
          - {id: units, kind: improvement, measure: {metric: s, baseline: s0}, price: 10}
          - {id: steps, kind: bonus, measure: {metric: s}, above: 10, per_step: 5}
        """
    )
    lia = maximum_liability(c)
    assert lia.amount is None and lia.binding is None and not lia.bounded
    assert [(r.rule, r.bound.code) for r in lia.unbounded_rules] == [
        ("units", "price-per-unit"),
        ("steps", "per-step"),
    ]


def test_caps_across_rules_bound_an_unbounded_rule_and_the_smallest_binds() -> None:
    body = textwrap.dedent(
        """
        metrics: [{id: s, kind: sum, of: x}]
        baselines: [{id: s0, kind: fixed, metric: s, value: 100}]
        contract_value: 1000000
        rules:
          - {id: fee, kind: fixed_fee, amount: 50000}
          - {id: units, kind: improvement, measure: {metric: s, baseline: s0}, price: 10, cap: 900000}
        """
    )
    at_risk = maximum_liability(contract_of(body + "payment_at_risk: {share: 0.3}\n"))
    assert at_risk.amount == D(500000)  # 4 × 50 000 fixed + 30 % of 1 000 000
    assert at_risk.binding and at_risk.binding.code == "at-risk"
    per_period = maximum_liability(
        contract_of(body + "payment_at_risk: {share: 0.3}\ncaps: {per_period: 100000}\n")
    )
    assert per_period.amount == D(400000) and per_period.binding
    assert per_period.binding.code == "period-cap"
    rule_cap = maximum_liability(contract_of(body))
    assert rule_cap.amount == D(1100000) and codes(rule_cap)["units"] == ("cap", D(900000))


def test_a_cap_counts_as_the_engine_applies_it_rounded_down_to_the_quantum() -> None:
    c = contract_of(
        """
        metrics: [{id: s, kind: sum, of: x}]
        baselines: [{id: s0, kind: fixed, metric: s, value: 100}]
        settlement: {rounding: {quantum: 1}}
        rules:
          - {id: units, kind: improvement, measure: {metric: s, baseline: s0}, price: 10, cap_per_period: 1000.75}
        caps: {contract: 3999.99}
        """
    )
    lia = maximum_liability(c)
    assert codes(lia)["units"] == ("cap-per-period", D(4000))  # 1000 × 4
    assert lia.amount == D(3999)


def test_fixed_fee_as_a_share_of_the_contract_value() -> None:
    c = contract_of(
        """
        contract_value: 1000000
        rules: [{id: base, kind: fixed_fee, share_of_value: 0.3333, deferred: true}]
        """
    )
    assert codes(maximum_liability(c)) == {"base": ("fee-share", D("333300.00"))}


def test_a_rate_card_with_count_caps_tiers_and_uplifts() -> None:
    c = contract_of(
        """
        rules:
          - id: card
            kind: rate_card
            outcomes:
              - {id: a, condition: x > 0, tiers: [{up_to: 3, price: 100}, {up_to: 5, price: 50}, {price: 10}], max_count: 7}
              - {id: b, condition: y > 0, price: 1000, max_count: 2}
            uplifts: [{when: 'group == "new"', percent: 50}, {when: 'group == "far"', percent: 10}]
            cap_per_participant: 500
        """
    )
    # a: 3 × 100 + 2 × 50 + 2 × 10 = 420; b: 2 × 1000; both uplifts: × 1.5 × 1.1
    assert codes(maximum_liability(c)) == {"card": ("count", D("3993.00"))}
    capped_rule = contract_of(
        """
        rules:
          - id: card
            kind: rate_card
            outcomes: [{id: a, condition: x > 0, price: 100}, {id: b, condition: y > 0, price: 300}]
            max_count: 4
        """
    )
    assert codes(maximum_liability(capped_rule)) == {"card": ("count", D("1200.00"))}


def test_a_savings_share_is_bounded_by_break_even_return_cap_and_floors() -> None:
    body = """
        metrics: [{id: days, kind: sum, of: x}]
        baselines: [{id: d0, kind: fixed, metric: days, value: 1000}]
        rules:
          - id: sav
            kind: savings_share
            measure: {metric: days, baseline: d0, direction: decrease}
            unit_value: 5200
            share: 0.95
            break_even: 3000000
            share_after: {after}
            floor: 100000
            {cap}
        """
    capped = contract_of(body.replace("{after}", "0.4").replace("{cap}", "return_cap: 1500000"))
    assert codes(maximum_liability(capped)) == {"sav": ("break-even", D(4900000))}
    open_ended = contract_of(body.replace("{after}", "0.4").replace("{cap}", ""))
    assert maximum_liability(open_ended).amount is None
    nothing_after = contract_of(body.replace("{after}", "0").replace("{cap}", ""))
    assert codes(maximum_liability(nothing_after)) == {"sav": ("break-even", D(3400000))}
