"""Payment curves: the points follow the rule exactly, and the SVG is plain and escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from contracts.documents.charts import Chart, chart_for, svg
from contracts.documents.wording import Words
from contracts.model import Contract
from tests.helpers import D, contract_of

W = Words("en", "SEK")


def chart(body: str) -> Chart:
    c: Contract = contract_of(
        """
        metrics: [{id: m, kind: mean, of: x, title: Employment rate}, {id: s, kind: sum, of: x}]
        baselines: [{id: m0, kind: fixed, metric: m, value: 0.5}]
        """
        + body
    )
    (rule,) = c.rules
    drawn = chart_for(c, rule, W)
    assert drawn is not None
    return drawn


def points(c: Chart) -> list[tuple[Decimal, Decimal]]:
    return [(x.normalize(), y.normalize()) for x, y in c.points]


def test_a_linear_scale_is_flat_rising_and_cut_at_its_cap() -> None:
    c = chart(
        """
        rules: [{id: r, kind: linear_scale, measure: {metric: m}, floor: 0.3, target: 0.5, amount: 1000, cap_per_period: 800}]
        """
    )
    assert points(c) == [
        (D("0.2"), D(0)),
        (D("0.3"), D(0)),
        (D("0.46"), D(800)),  # where the line meets the cap
        (D("0.5"), D(800)),
        (D("0.6"), D(800)),
    ]
    assert [(m.axis, m.value, m.label) for m in c.marks] == [
        ("x", D("0.3"), "floor"),
        ("x", D("0.5"), "target"),
        ("y", D(800), "cap"),
    ]


def test_tiered_bands_are_steps_in_the_better_direction() -> None:
    c = chart(
        """
        rules: [{id: r, kind: tiered, measure: {metric: m, direction: decrease}, bands: [{at_least: 0.2, amount: 100}, {at_least: 0.1, amount: 300}]}]
        """
    )
    # lower is better: at most 0.2 pays 100, at most 0.1 pays 300
    assert points(c) == [
        (D("0.05"), D(300)),
        (D("0.1"), D(300)),
        (D("0.1"), D(100)),
        (D("0.2"), D(100)),
        (D("0.2"), D(0)),
        (D("0.25"), D(0)),
    ]


def test_an_improvement_jumps_at_its_threshold() -> None:
    c = chart(
        """
        rules: [{id: r, kind: improvement, measure: {metric: m, baseline: m0}, price: 1000, threshold: {min: 0.05}}]
        """
    )
    assert (D("0.05"), D(0)) in points(c) and (D("0.05"), D(50)) in points(c)
    assert c.marks[0].label == "threshold" and c.x_label == "change in Employment rate (m)"


def test_a_threshold_on_the_relative_change_is_not_drawn_on_the_absolute_axis() -> None:
    c = chart(
        """
        rules: [{id: r, kind: improvement, measure: {metric: m, baseline: m0}, price: 1000, threshold: {min: 0.05, relative: true}}]
        """
    )
    assert c.marks == () and "cannot be drawn" in c.caption


def test_a_savings_share_switches_share_at_break_even_and_stops_at_the_return_cap() -> None:
    c = chart(
        """
        rules: [{id: r, kind: savings_share, measure: {metric: s}, unit_value: 10, share: 0.5, break_even: 1000, share_after: 0.25, return_cap: 500}]
        """
    )
    pts = points(c)
    assert (D(0), D(0)) in pts
    assert (D(200), D(1000)) in pts  # break-even: 200 units × 10 × 0.5
    assert (D(400), D(1500)) in pts  # + 200 units × 10 × 0.25 = the return cap
    assert pts[-1][1] == D(1500)


def test_the_svg_is_well_formed_static_and_escapes_every_text() -> None:
    c = contract_of(
        """
        metrics: [{id: m, kind: mean, of: x, title: '<script>alert(1)</script>'}]
        rules: [{id: r, kind: linear_scale, title: 'A & <b>', measure: {metric: m}, floor: 0, target: 1, amount: 10}]
        """
    )
    (rule,) = c.rules
    drawn = chart_for(c, rule, Words("sv", "SEK"))
    assert drawn is not None
    text = svg(drawn, Words("sv", "SEK"))
    root = ET.fromstring(text)  # well-formed XML: nothing unescaped got in
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in text and "&lt;script&gt;" in text and "A &amp; &lt;b&gt;" in text
    assert "Ersättning per period (kr)" in text
    assert not [e for e in root.iter() if e.tag.endswith(("script", "image", "foreignObject"))]


def test_families_without_a_curve_have_no_chart() -> None:
    c = contract_of("rules: [{id: f, kind: fixed_fee, amount: 100}]")
    assert chart_for(c, c.rules[0], W) is None
