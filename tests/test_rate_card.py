"""The rate card: a price per participant outcome, replayed over the term's history."""

from __future__ import annotations

import textwrap
from decimal import Decimal

from contracts.settlement import Settlement
from tests.helpers import D, amounts, contract_of, settle_rows, table

QUARTERS = ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")


def row(pid: str, month: str, **values: object) -> dict[str, str]:
    return {"pid": pid, "month": month, **{k: str(v) for k, v in values.items()}}


def card(outcomes: str, extra: str = "") -> str:
    """A contract with one rate card `rc`; `outcomes` and `extra` are YAML lines of the rule."""
    lines = textwrap.indent(textwrap.dedent(outcomes).strip() + "\n", " " * 6)
    more = "".join(f"    {x.strip()}\n" for x in extra.strip().splitlines())
    return f"rules:\n  - id: rc\n    kind: rate_card\n{more}    outcomes:\n{lines}"


def paid(s: Settlement) -> list[tuple[str | None, str | None, Decimal]]:
    """(participant, outcome, amount) of each payment line, sorted (line order is layout)."""
    return sorted((x.participant, x.outcome, x.amount) for x in s.lines if x.kind == "payment")


def settle_all(
    body: str, rows: list[dict[str, str]]
) -> dict[str, list[tuple[str | None, str | None, Decimal]]]:
    """Settle Q1..Q4 per period; what each quarter paid (Z, who never qualifies, fills each)."""
    c = contract_of(body)
    rows = rows + [row("Z", m, x=0, y=0) for m in ("2025-03", "2025-06", "2025-09", "2025-12")]
    return {q: paid(settle_rows(c, q, rows)) for q in QUARTERS}


ONCE = "- {id: job, condition: 'x >= 1', price: 1000}"


def test_once_per_participant_across_periods() -> None:
    rows = [
        row("P1", "2025-01", x=1),
        row("P1", "2025-02", x=1),
        row("P1", "2025-04", x=1),
        row("P2", "2025-05", x=1),
        row("P2", "2025-07", x=0),
        row("P3", "2025-10", x=0),
    ]
    got = settle_all(card(ONCE), rows)
    assert got == {
        "2025-Q1": [("P1", "job", 1000)],
        "2025-Q2": [("P2", "job", 1000)],
        "2025-Q3": [],
        "2025-Q4": [],
    }


def test_once_per_period() -> None:
    body = card("- {id: job, condition: 'x >= 1', price: 1000, pays: once_per_period}")
    rows = [row("P1", m, x=1) for m in ("2025-01", "2025-02", "2025-04")]
    got = settle_all(body, rows)
    # two qualifying months of Q1 pay once; Q2 pays again
    assert got["2025-Q1"] == [("P1", "job", 1000)]
    assert got["2025-Q2"] == [("P1", "job", 1000)]


def test_every_time_pays_one_claim_per_qualifying_row() -> None:
    c = contract_of(card("- {id: visit, condition: 'x >= 1', price: 250, pays: every_time}"))
    rows = [
        row("P1", "2025-01", x=1),
        row("P1", "2025-02", x=0),
        row("P1", "2025-03", x=2),
        row("P2", "2025-03", x=5),
    ]
    s = settle_rows(c, "2025-Q1", rows)
    # 3 qualifying rows × 250 = 750
    assert amounts(s) == {"rc": D(750), "total": D(750)}, table(s)
    assert [p for p, _, _ in paid(s)] == ["P1", "P1", "P2"]


def test_baseline_is_the_participants_first_reported_row() -> None:
    body = card("- {id: better, condition: 'x <= baseline.x - 5', price: 1000}")
    rows = [
        row("P1", "2024-12", x=20),
        row("P1", "2025-01", x=14),  # 2024-12 is history: 14 ≤ 15
        row("P2", "2025-01", x=20),
        row("P2", "2025-02", x=16),  # 16 > 15
        row("P3", "2025-01", x=20),
        row("P3", "2025-05", x=15),
    ]  # 15 ≤ 15 in Q2
    got = settle_all(body, rows)
    assert got["2025-Q1"] == [("P1", "better", 1000)]
    assert got["2025-Q2"] == [("P3", "better", 1000)]


def test_eligibility_is_judged_at_the_start() -> None:
    # x is the age: 16 or younger at start; P1 turns 17 and stays eligible, P2 never was
    body = card("- {id: job, condition: 'y >= 1', price: 1000}", "eligibility: 'x <= 16'")
    rows = [
        row("P1", "2025-01", x=16, y=0),
        row("P1", "2025-04", x=17, y=1),
        row("P2", "2025-01", x=17, y=0),
        row("P2", "2025-04", x=16, y=1),
    ]
    assert settle_all(body, rows)["2025-Q2"] == [("P1", "job", 1000)]


def test_requires_a_prerequisite_paid_in_an_earlier_period() -> None:
    body = card("""
        - {id: w13, condition: 'y >= 1', price: 100}
        - {id: w26, condition: 'y >= 2', price: 300, requires: [w13]}
    """)
    rows = [row("P1", "2025-01", y=2), row("P1", "2025-04", y=2), row("P2", "2025-04", y=2)]
    got = settle_all(body, rows)
    # P1: w13 in Q1, w26 only in Q2; P2 meets both in Q2 but w13 is paid in that same period
    assert got["2025-Q1"] == [("P1", "w13", 100)]
    assert got["2025-Q2"] == [("P1", "w26", 300), ("P2", "w13", 100)]


def test_sustained_for_consecutive_periods_and_a_gap_resets() -> None:
    body = card("- {id: held, condition: 'x >= 1', price: 1000, sustain_periods: 2}")
    months = {
        "2025-Q1": "2025-01",
        "2025-Q2": "2025-04",
        "2025-Q3": "2025-07",
        "2025-Q4": "2025-10",
    }
    p1 = {"2025-Q1": 1, "2025-Q2": 1, "2025-Q3": 1, "2025-Q4": 1}
    p2 = {"2025-Q1": 1, "2025-Q2": 0, "2025-Q3": 1, "2025-Q4": 1}
    rows = [row(p, months[q], x=v) for p, held in (("P1", p1), ("P2", p2)) for q, v in held.items()]
    rows.append(row("P3", "2025-01", x=1))  # no row in Q2: the streak breaks
    rows.append(row("P3", "2025-07", x=1))
    got = settle_all(body, rows)
    assert got == {
        "2025-Q1": [],
        "2025-Q2": [("P1", "held", 1000)],
        "2025-Q3": [],
        "2025-Q4": [("P2", "held", 1000)],
    }


def test_uplift_for_a_sub_group_at_start() -> None:
    body = card(ONCE, "uplifts: [{when: 'group == \"newly_arrived\"', percent: 40}]")
    rows = [
        row("P1", "2025-01", group="newly_arrived", x=1),
        row("P2", "2024-12", group="other", x=0),
        row("P2", "2025-01", group="newly_arrived", x=1),
    ]
    s = settle_rows(contract_of(body), "2025-Q1", rows)
    # P1: 1 000 × 1.40 = 1 400; P2 was not newly arrived at start: 1 000
    assert paid(s) == [("P1", "job", 1400), ("P2", "job", 1000)]
    assert [x.unit_price for x in s.lines if x.participant == "P1"] == [1400]


def test_marginal_tiers_counted_over_the_contract_in_order() -> None:
    body = card("""
        - id: job
          condition: 'x >= 1'
          tiers: [{up_to: 2, price: 100}, {up_to: 3, price: 80}, {price: 50}]
    """)
    rows = [row(p, "2025-02", x=1) for p in ("P1", "P2", "P3")]
    rows += [row(p, "2025-05", x=1) for p in ("P4", "P5")]
    got = settle_all(body, rows)
    # outcomes no. 1-2 at 100, no. 3 at 80, no. 4 and 5 at 50
    assert [a for _, _, a in got["2025-Q1"]] == [100, 100, 80]
    assert [a for _, _, a in got["2025-Q2"]] == [50, 50]


def test_max_count_on_an_outcome() -> None:
    c = contract_of(card("- {id: job, condition: 'x >= 1', price: 1000, max_count: 2}"))
    rows = [row(p, "2025-02", x=1) for p in ("P1", "P2", "P3")] + [row("P4", "2025-04", x=1)]
    q1 = settle_rows(c, "2025-Q1", rows)
    assert paid(q1) == [("P1", "job", 1000), ("P2", "job", 1000)]
    assert [(x.scope, x.name, x.limit, x.before, x.after) for x in q1.caps] == [
        ("outcome-count", "job", 2, 3, 2)
    ]
    q2 = settle_rows(c, "2025-Q2", rows)
    assert paid(q2) == [] and [x.scope for x in q2.caps] == ["outcome-count"]


def test_max_count_on_the_rule() -> None:
    body = card(
        """
        - {id: a, condition: 'x >= 1', price: 100}
        - {id: b, condition: 'y >= 1', price: 200}
    """,
        "max_count: 3",
    )
    rows = [row("P1", "2025-01", x=1, y=1), row("P2", "2025-01", x=1, y=1)]
    s = settle_rows(contract_of(body), "2025-Q1", rows)
    # claims in order: P1 a, P1 b, P2 a | P2 b is the 4th
    assert paid(s) == [("P1", "a", 100), ("P1", "b", 200), ("P2", "a", 100)]
    assert [(x.scope, x.name, x.limit, x.before, x.after) for x in s.caps] == [
        ("rule-count", "rc", 3, 4, 3)
    ]


def test_quota_on_a_category() -> None:
    body = card(
        """
        - {id: short, condition: 'x >= 1', price: 100, category: short_job}
        - {id: long, condition: 'y >= 1', price: 300, category: long_job}
    """,
        "quotas: [{category: short_job, max_share: 0.4}]",
    )
    rows = [row(f"P{i}", "2025-02", x=1, y=1 if i <= 3 else 0) for i in range(1, 6)]
    s = settle_rows(contract_of(body), "2025-Q1", rows)
    # 3 long outcomes; short ≤ 0.4 × total ⇔ short ≤ 0.4 × 3 / 0.6 = 2
    got = paid(s)
    assert sorted(o for _, o, _ in got) == ["long"] * 3 + ["short"] * 2
    short = sum(1 for _, o, _ in got if o == "short")
    assert short <= Decimal("0.4") * len(got)
    assert amounts(s)["rc"] == 2 * 100 + 3 * 300
    assert [(x.scope, x.name, x.limit, x.before, x.after) for x in s.caps] == [
        ("quota", "short_job", Decimal("0.4"), 5, 2)
    ]


def test_cap_per_participant_across_periods() -> None:
    body = card(
        "- {id: visit, condition: 'x >= 1', price: 1000, pays: every_time}",
        "cap_per_participant: 1500",
    )
    rows = [
        row("P1", "2025-01", x=1),
        row("P1", "2025-04", x=1),
        row("P1", "2025-07", x=1),
        row("P2", "2025-04", x=1),
    ]
    c = contract_of(body)
    got = {q: amounts(settle_rows(c, q, rows))["rc"] for q in QUARTERS[:3]}
    # P1: 1 000, then 500 up to the cap, then 0; P2 1 000 in Q2
    assert got == {"2025-Q1": 1000, "2025-Q2": 1500, "2025-Q3": 0}
    q2 = settle_rows(c, "2025-Q2", rows)
    assert [(x.scope, x.name, x.limit, x.before, x.after) for x in q2.caps] == [
        ("participant", "participant P1", 1500, 2000, 1500)
    ]


def test_row_order_is_irrelevant() -> None:
    body = card(
        """
        - id: a
          condition: 'x >= 1'
          tiers: [{up_to: 2, price: 100}, {price: 60}]
          category: c1
        - {id: b, condition: 'y >= baseline.y + 1', price: 300, pays: once_per_period, category: c2}
        - {id: c, condition: 'x >= 1 and y >= 4', price: 200, requires: [a]}
    """,
        "uplifts: [{when: 'group == \"u\"', percent: 25}]\nquotas: [{category: c1, max_share: 0.5}]"
        "\ncap_per_participant: 500",
    )
    rows = [
        row(f"P{i}", f"2025-0{m}", group="u" if i % 2 else "v", x=(i + m) % 2, y=m)
        for i in range(6)
        for m in range(1, 7)
    ]
    c = contract_of(body)
    for q in ("2025-Q1", "2025-Q2"):
        forward = settle_rows(c, q, rows).to_dict()
        assert Decimal(forward["total"]) > 0
        assert settle_rows(c, q, rows[::-1]).to_dict() == forward
        assert settle_rows(c, q, rows[1::2] + rows[::2]).to_dict() == forward
