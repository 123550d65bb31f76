"""Payment curves: what a rule pays in one period against the result, as inline SVG.

Problem: "420 kr per avoided hour, at most 750 000 kr a quarter, nothing below a 5 %
reduction" is easier to judge as a picture — where the payment starts, how steep it
is, where it stops. The document must stay a single file that prints and opens
offline, so the picture is hand-written SVG: no JavaScript, no fonts or scripts from
the network.

Approach: each family with a curve (improvement, linear_scale, tiered, savings_share)
becomes a `Chart`: a function of the result with its breakpoints (floor, target,
bands, threshold, break-even), sampled exactly at the breakpoints — between them
every family is linear — and clipped at the rule's cap per period; vertical and
horizontal marks label the thresholds and caps. Values stay `Decimal`; only pixel
positions are rounded, to a tenth of a pixel. All text is escaped before it enters
the markup, so a title from the contract file cannot inject anything.
"""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from contracts import money
from contracts.documents.rule_terms import AnyRule, higher_is_better, metric_label
from contracts.documents.wording import Words
from contracts.model import Contract
from contracts.rule_model import Improvement, LinearScale, Measure, SavingsShare, Threshold, Tiered

D = Decimal
Point = tuple[Decimal, Decimal]
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 92, 24, 18, 52  # room for tick labels and axis titles


@dataclass(frozen=True)
class Mark:
    """A labelled line across the plot: a threshold (x) or a cap (y)."""

    axis: str  # x: a vertical line at a result; y: a horizontal line at an amount
    value: Decimal  # where the line is
    label: str  # what it is, in the document's language
    show_value: bool = True  # print the value beside the label (not for computed points)


@dataclass(frozen=True)
class Chart:
    """A payment curve ready to draw."""

    key: str  # unique within the document (the rule id), for SVG ids
    title: str  # accessible title
    x_label: str  # what the result is
    y_label: str  # the payment, with its currency
    x_percent: bool  # x ticks as percentages
    points: tuple[Point, ...]  # the curve; two points at one x make a step
    marks: tuple[Mark, ...]  # thresholds and caps
    caption: str  # what the chart shows, in words


def chart_for(c: Contract, rule: AnyRule, w: Words) -> Chart | None:
    """The chart of a rule, or None for families without a curve."""
    with decimal.localcontext(money.CONTEXT):
        if isinstance(rule, Improvement):
            return _improvement(c, rule, w)
        if isinstance(rule, LinearScale):
            return _linear_scale(c, rule, w)
        if isinstance(rule, Tiered):
            return _tiered(c, rule, w)
        if isinstance(rule, SavingsShare):
            return _savings(c, rule, w)
    return None


# --- the families -------------------------------------------------------------------


def _x_label(c: Contract, m: Measure, w: Words) -> str:
    if m.baseline is None:
        return metric_label(c, m.metric)
    return w.say(
        "chart.relative" if m.relative else "chart.change", metric=metric_label(c, m.metric)
    )


def _drawable(t: Threshold | None, m: Measure) -> bool:
    """A threshold on the relative change cannot be drawn on an axis of the absolute one."""
    return t is not None and (not t.relative or m.relative)


def _met(t: Threshold | None, m: Measure, x: Decimal) -> bool:
    if t is None or not _drawable(t, m):
        return True
    effect = money.quantize(x, t.precision, "half_up") if t.precision else x
    return effect >= t.min if higher_is_better(m) else effect <= t.min


def _chart(
    rule: AnyRule,
    w: Words,
    x_label: str,
    x_percent: bool,
    f: Callable[[Decimal], Decimal],
    span: tuple[Decimal, Decimal],
    breaks: Sequence[Decimal],
    marks: list[Mark],
    caption: str,
) -> Chart:
    lo, hi, _ = _ticks(*span)
    points = _sample(f, lo, hi, breaks)
    if rule.cap_per_period is not None:
        points = _clip(points, rule.cap_per_period)
        marks.append(Mark("y", rule.cap_per_period, w.say("chart.cap")))
    return Chart(
        rule.id,
        rule.title or w.say(f"kind.{rule.kind}"),
        x_label,
        w.say("chart.payment", symbol=w.symbol),
        x_percent,
        tuple(points),
        tuple(marks),
        caption,
    )


def _improvement(c: Contract, rule: Improvement, w: Words) -> Chart:
    m, t, price = rule.measure, rule.threshold, rule.price
    caption = w.say("chart.caption")
    if rule.volume is not None:
        # Units = effect × volume: the axis is units, and a threshold on the effect
        # has no place on it.
        x_label = w.say("chart.units", unit=rule.unit or metric_label(c, rule.volume))
        x_percent, marks, breaks = False, [], []
        if t is not None:
            caption += " " + w.say("chart.caption_threshold")
    else:
        x_label, x_percent = _x_label(c, m, w), m.relative
        marks = [Mark("x", t.min, w.say("chart.threshold"))] if t and _drawable(t, m) else []
        breaks = [t.min] if t and _drawable(t, m) else []
        if t is not None and not _drawable(t, m):
            caption += " " + w.say("chart.caption_threshold")
    if rule.cap_per_period is not None and price > 0:
        top = rule.cap_per_period / price * D("1.25")
    elif breaks:
        top = abs(breaks[0]) * 4
    else:
        top = D(1000) if rule.volume is not None else D("0.2")
    lo = -top / 4 if rule.allow_negative else D(0)

    def f(x: Decimal) -> Decimal:
        if rule.volume is None and not _met(t, m, x):
            return D(0)
        pay = x * price
        return pay if pay >= 0 or rule.allow_negative else D(0)

    return _chart(rule, w, x_label, x_percent, f, (lo, top), [*breaks, D(0)], marks, caption)


def _linear_scale(c: Contract, rule: LinearScale, w: Words) -> Chart:
    m, t = rule.measure, rule.threshold
    lo, hi = min(rule.floor, rule.target), max(rule.floor, rule.target)
    gap = (hi - lo) / 4 or abs(hi) / 4 or D(1)
    span = rule.target - rule.floor

    def f(x: Decimal) -> Decimal:
        if not _met(t, m, x):
            return D(0)
        if span == 0:
            reached = x >= rule.target if higher_is_better(m) else x <= rule.target
            return rule.amount if reached else D(0)
        fraction = min(D(1), max(D(0), (x - rule.floor) / span))
        return fraction * rule.amount

    marks = [
        Mark("x", rule.floor, w.say("chart.floor")),
        Mark("x", rule.target, w.say("chart.target")),
    ]
    breaks = [rule.floor, rule.target]
    if t is not None and _drawable(t, m):
        marks.append(Mark("x", t.min, w.say("chart.threshold")))
        breaks.append(t.min)
    caption = w.say("chart.caption")
    if t is not None and not _drawable(t, m):
        caption += " " + w.say("chart.caption_threshold")
    return _chart(
        rule, w, _x_label(c, m, w), m.relative, f, (lo - gap, hi + gap), breaks, marks, caption
    )


def _tiered(c: Contract, rule: Tiered, w: Words) -> Chart:
    m, t = rule.measure, rule.threshold
    up = higher_is_better(m)
    levels = sorted(b.at_least for b in rule.bands)
    lo, hi = levels[0], levels[-1]
    gap = (hi - lo) / 2 or abs(hi) / 2 or D(1)

    def f(x: Decimal) -> Decimal:
        if not _met(t, m, x):
            return D(0)
        reached = [b for b in rule.bands if (x >= b.at_least if up else x <= b.at_least)]
        if not reached:
            return D(0)
        return max(reached, key=lambda b: b.at_least if up else -b.at_least).amount

    marks, breaks = [], list(levels)
    if t is not None and _drawable(t, m):
        marks.append(Mark("x", t.min, w.say("chart.threshold")))
        breaks.append(t.min)
    caption = w.say("chart.caption")
    if t is not None and not _drawable(t, m):
        caption += " " + w.say("chart.caption_threshold")
    return _chart(
        rule, w, _x_label(c, m, w), m.relative, f, (lo - gap, hi + gap), breaks, marks, caption
    )


def _savings(c: Contract, rule: SavingsShare, w: Words) -> Chart | None:
    """The first period's payment: nothing paid before, so break-even is still ahead."""
    u = rule.unit_value
    if u == 0:
        return None
    marks: list[Mark] = []
    breaks = [D(0)]
    be_x = rc_x = None
    if rule.break_even is not None:
        be_x = rule.break_even / rule.share / u
        breaks.append(be_x)
        marks.append(Mark("x", be_x, w.say("chart.break_even"), show_value=False))
        if rule.return_cap is not None and rule.share_after:
            rc_x = (rule.break_even / rule.share + rule.return_cap / rule.share_after) / u
            breaks.append(rc_x)
    if rule.floor is not None:
        marks.append(Mark("y", rule.floor, w.say("chart.floor")))

    def f(x: Decimal) -> Decimal:
        saving = max(D(0), x * u)
        if rule.break_even is None:
            pay = saving * rule.share
        else:
            first = min(saving, rule.break_even / rule.share)
            after = (saving - first) * (rule.share_after or D(0))
            if rule.return_cap is not None:
                after = min(after, rule.return_cap)
            pay = first * rule.share + after
        return max(pay, rule.floor or D(0))

    top = (rc_x or (be_x * 2 if be_x else None) or D(1000)) * D("1.2")
    caption = w.say("chart.caption_savings")
    if rule.return_gate is not None:
        caption += " " + w.say("chart.caption_gate")
    return _chart(
        rule,
        w,
        _x_label(c, rule.measure, w),
        rule.measure.relative,
        f,
        (D(0), top),
        breaks,
        marks,
        caption,
    )


# --- geometry -------------------------------------------------------------------------


def _sample(
    f: Callable[[Decimal], Decimal], lo: Decimal, hi: Decimal, breaks: Sequence[Decimal]
) -> list[Point]:
    """The curve at every breakpoint, with its limits from either side where f jumps.

    Between breakpoints every family is linear, so the limits at an interval's ends
    follow exactly from two values just inside it.
    """
    xs = sorted({lo, hi, *(b for b in breaks if lo < b < hi)})
    limits: list[tuple[Decimal, Decimal]] = []  # (right limit at a, left limit at b)
    for a, b in itertools.pairwise(xs):
        d = (b - a) / D(10) ** 6
        ya, yb = f(a + d), f(b - d)
        slope = (yb - ya) / (b - a - 2 * d)
        limits.append((ya - slope * d, yb + slope * d))
    points: list[Point] = []
    for i, x in enumerate(xs):
        ys = [limits[i - 1][1]] if i > 0 else []
        ys.append(f(x))
        if i < len(limits):
            ys.append(limits[i][0])
        for y in ys:
            if not points or points[-1][0] != x or not _close(points[-1][1], y):
                points.append((x, y))
    return points


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= (abs(a) + abs(b)) / D(10) ** 12 + D(10) ** -12


def _clip(points: list[Point], cap: Decimal) -> list[Point]:
    """Cut the curve at `cap`, adding the point where a segment crosses it."""
    out: list[Point] = []
    for i, (x, y) in enumerate(points):
        if i > 0:
            x0, y0 = points[i - 1]
            if (y0 - cap) * (y - cap) < 0 and x != x0:
                out.append((x0 + (cap - y0) * (x - x0) / (y - y0), cap))
        out.append((x, min(y, cap)))
    return out


def _nice_step(span: Decimal) -> Decimal:
    raw = span / 5
    magnitude = D(1).scaleb(raw.adjusted())
    for factor in (1, 2, 5, 10):
        if raw <= magnitude * factor:
            return magnitude * factor
    return magnitude * 10


def _ticks(lo: Decimal, hi: Decimal) -> tuple[Decimal, Decimal, list[Decimal]]:
    """Round axis ends and tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    step = _nice_step(hi - lo)
    start = (lo / step).to_integral_value(rounding=decimal.ROUND_FLOOR) * step
    end = (hi / step).to_integral_value(rounding=decimal.ROUND_CEILING) * step
    count = int((end - start) / step)
    return start, end, [start + step * i for i in range(count + 1)]


# --- SVG ------------------------------------------------------------------------------


def _mark_text(m: Mark, fmt: Callable[[Decimal], str]) -> str:
    return f"{m.label} {fmt(m.value)}" if m.show_value else m.label


def _px(v: Decimal) -> str:
    return format(v.quantize(D("0.1")), "f")


def svg(chart: Chart, w: Words) -> str:
    """The chart as a standalone inline SVG element."""
    with decimal.localcontext(money.CONTEXT):
        return _svg(chart, w)


def _svg(chart: Chart, w: Words) -> str:
    xs = [p[0] for p in chart.points] + [m.value for m in chart.marks if m.axis == "x"]
    ys = [p[1] for p in chart.points] + [m.value for m in chart.marks if m.axis == "y"]
    x0, x1, xticks = _ticks(min(xs), max(xs))
    y0, y1, yticks = _ticks(min(D(0), *ys), max(ys) * D("1.05"))
    pw, ph = D(WIDTH - LEFT - RIGHT), D(HEIGHT - TOP - BOTTOM)

    def X(v: Decimal) -> str:
        return _px(LEFT + (v - x0) / (x1 - x0) * pw)

    def Y(v: Decimal) -> str:
        return _px(TOP + ph - (v - y0) / (y1 - y0) * ph)

    fx = w.pct if chart.x_percent else w.num
    ident = f"chart-{chart.key}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{ident}-t {ident}-d" '
        'class="chart" font-size="11">',
        f'<title id="{ident}-t">{escape(chart.title)}</title>',
        f'<desc id="{ident}-d">{escape(chart.caption)}</desc>',
    ]
    bottom, left, right = _px(TOP + ph), str(LEFT), _px(LEFT + pw)
    for v in yticks:
        out.append(
            f'<line x1="{left}" y1="{Y(v)}" x2="{right}" y2="{Y(v)}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{Y(v)}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(w.num(v))}</text>"
        )
    for v in xticks:
        out.append(
            f'<line x1="{X(v)}" y1="{bottom}" x2="{X(v)}" y2="{_px(TOP + ph + 4)}" stroke="#000"/>'
            f'<text x="{X(v)}" y="{_px(TOP + ph + 16)}" text-anchor="middle">{escape(fx(v))}</text>'
        )
    out.append(
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#000"/>'
        f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}" stroke="#000"/>'
    )
    if y0 < 0:
        out.append(f'<line x1="{left}" y1="{Y(D(0))}" x2="{right}" y2="{Y(D(0))}" stroke="#000"/>')
    for m in chart.marks:
        if m.axis == "x":
            out.append(
                f'<line x1="{X(m.value)}" y1="{TOP}" x2="{X(m.value)}" y2="{bottom}" '
                'stroke="#b03a2e" stroke-dasharray="4 3"/>'
                f'<text x="{X(m.value)}" y="{TOP + 10}" dx="3" fill="#b03a2e">'
                f"{escape(_mark_text(m, fx))}</text>"
            )
        else:
            out.append(
                f'<line x1="{left}" y1="{Y(m.value)}" x2="{right}" y2="{Y(m.value)}" '
                'stroke="#b03a2e" stroke-dasharray="4 3"/>'
                f'<text x="{right}" y="{Y(m.value)}" dy="-4" text-anchor="end" fill="#b03a2e">'
                f"{escape(_mark_text(m, w.money))}</text>"
            )
    path = " ".join(f"{X(x)},{Y(y)}" for x, y in chart.points)
    out.append(f'<polyline points="{path}" fill="none" stroke="#1f4e79" stroke-width="2.5"/>')
    out.append(
        f'<text x="{_px(LEFT + pw / 2)}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(chart.x_label)}</text>"
        f'<text transform="translate(14 {_px(TOP + ph / 2)}) rotate(-90)" text-anchor="middle">'
        f"{escape(chart.y_label)}</text>"
    )
    out.append("</svg>")
    return "\n".join(out)
