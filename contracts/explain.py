"""Explanation steps: how each amount came about, in English and Swedish.

A step stores a stage, a message code and the values put into the formula; the text
is produced from a catalog per language, so the same settlement reads correctly in an
English report and a Swedish one. Numbers are kept exact in the step and only
shortened for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contracts import money

Arg = Decimal | str | int | None

# Stages in the order a reader follows them (README: "How an amount is computed").
STAGES = (
    "select",
    "metric",
    "baseline",
    "change",
    "net",
    "relative",
    "volume",
    "threshold",
    "price",
    "uplift",
    "tier",
    "quota",
    "count-cap",
    "amount",
    "cap",
    "round",
    "previous",
)


@dataclass(frozen=True)
class Step:
    """One step of an explanation."""

    stage: str  # one of STAGES
    code: str  # key into the message catalog
    args: tuple[tuple[str, Arg], ...]  # named values put into the message

    def text(self, lang: str = "en") -> str:
        template = CATALOG[lang].get(self.code) or CATALOG["en"][self.code]
        return template.format(
            **{k: MODES[lang].get(v, v) if k == "mode" else show(v, lang) for k, v in self.args}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "code": self.code,
            "values": {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.args},
            "text": self.text("en"),
        }


# Rounding modes are contract words (half_up) in English; a Swedish reader gets Swedish.
MODES: dict[str, dict[object, str]] = {
    "en": {},
    "sv": {
        "half_up": "uppåt från hälften",
        "half_even": "till jämnt från hälften",
        "down": "mot noll",
        "up": "bort från noll",
        "floor": "nedåt",
        "ceiling": "uppåt",
    },
}


def step(stage: str, code: str, **args: Arg) -> Step:
    assert code in CATALOG["en"], code
    return Step(stage, code, tuple(args.items()))


def show(value: Arg, lang: str = "en") -> str:
    """Display form: grouped digits, at most six decimals (marked ≈ when shortened)."""
    if value is None:
        return "–"
    if not isinstance(value, Decimal):
        return str(value)
    exp = value.as_tuple().exponent
    text = money.fmt(value)
    if isinstance(exp, int) and exp < -6:
        text = "≈" + money.fmt(value, 6).rstrip("0")
    if lang == "sv":
        text = text.replace(".", ",").replace("-", "−")
    return text


CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "select.rows": "{rows} rows of {periods}",
        "select.rows_where": "{rows} rows of {periods} where {filter}",
        "metric.ratio": "{metric} = {numerator} / {denominator} = {value}",
        "metric.value": "{metric} = {value}",
        "metric.supplied": "{metric} = {value} (supplied for {periods})",
        "baseline.fixed": "baseline {baseline} = {value} (fixed in the contract)",
        "baseline.computed": "baseline {baseline} = {metric} over {periods} = {value}",
        "change.decrease": "change = baseline {base} − result {value} = {change}",
        "change.increase": "change = result {value} − baseline {base} = {change}",
        "net.comparison": "net of comparison group: {change} − comparison change {comparison} = {net}",
        "relative.change": "relative change = {change} / baseline {base} = {relative}",
        "volume.units": "units = {effect} × {volume_metric} {volume} = {units}",
        "threshold.met": "threshold: effect {effect} ≥ {min} (compared exactly): met",
        "threshold.missed": "threshold: effect {effect} < {min} (compared exactly): nothing is paid",
        "threshold.met_at": "threshold: effect {effect} ≥ {min} (compared at {precision}): met",
        "threshold.missed_at": "threshold: effect {effect} < {min} (compared at {precision}): nothing is paid",
        "price.units": "{units} × {price} = {amount}",
        "price.fixed": "fixed amount {amount}",
        "price.fee": "{periods} period(s) × {fee} = {amount}",
        "price.fee_last": "the last period takes the remainder of the share: {fee} per period, {last} in the last; {periods} period(s) = {amount}",
        "price.fee_share": "fee per period = {share} × contract value {value} / {count} periods = {fee}",
        "price.deferred": "deferred: {accrued} accrued over {periods} period(s), paid in {last}",
        "price.outcome": "{outcome}: {condition} met in {period}",
        "price.claims": "{count} × {price} = {amount}",
        "uplift.percent": "uplift +{percent} % ({when}): price {before} → {after}",
        "tier.price": "outcome no. {number} of {outcome}: tier price {price}",
        "target.met": "target {condition} met ({values}): {amount}",
        "target.missed": "target {condition} not met ({values}): nothing is paid",
        "scale.fraction": "scale: ({value} − floor {floor}) / (target {target} − floor {floor}) = {fraction}, clamped to 0–1",
        "scale.amount": "{fraction} × {full} = {amount}",
        "band.reached": "band from {level} reached with {value}: {amount}",
        "band.none": "no band reached with {value}: nothing is paid",
        "bonus.beyond": "{value} is {beyond} beyond the quota {quota}",
        "bonus.none": "{value} does not exceed the quota {quota}: no bonus",
        "bonus.steps": "{steps} full step(s) of {step} × {per_step} = {amount}",
        "malus.short": "{value} falls {short} short of {level}",
        "malus.none": "{value} reaches {level}: no deduction",
        "malus.steps": "{steps} step(s) of {step} × {per_step} = deduction {amount}",
        "malus.max": "deduction limited to {max}",
        "savings.saving": "saving = {value} × {unit_value} = {saving}",
        "savings.before": "{share} of {part} until break-even {break_even} (paid before: {paid}) = {amount}",
        "savings.after": "{share} of {part} beyond break-even = {amount}",
        "savings.gate_closed": "return gate {gate} not met: nothing beyond break-even is paid",
        "savings.return_cap": "return beyond break-even limited to {limit} (paid before: {paid}): {after}",
        "savings.floor": "guaranteed floor {floor}: {before} → {after}",
        "negative.none": "a worsening pays nothing (no deductions under this rule)",
        "undefined.zero": "{metric} is undefined (no data or zero denominator): nothing is paid",
        "quota.cut": "quota: {category} at most {share} of outcomes paid: {before} → {after}",
        "count.cut": "count cap {limit} on {name} reached: not paid",
        "cap.participant": "cap per participant {limit} (paid before: {paid}): {before} → {after}",
        "cap.line": "{scope} cap on {name}, {limit}: {before} → {after}",
        "cap.line_prior": "{scope} cap on {name}, {limit} less {paid} settled before: {before} → {after}",
        "cap.no_negative": "a settlement is never negative under this contract: {before} → {after}",
        "round.line": "rounded {mode} to {quantum}: {before} → {after}",
        "previous.settled": "entitlement to date {entitlement} − settled before {settled} = {amount}",
    },
    "sv": {
        "select.rows": "{rows} rader för {periods}",
        "select.rows_where": "{rows} rader för {periods} där {filter}",
        "metric.ratio": "{metric} = {numerator} / {denominator} = {value}",
        "metric.value": "{metric} = {value}",
        "metric.supplied": "{metric} = {value} (tillhandahållet för {periods})",
        "baseline.fixed": "utgångsvärde {baseline} = {value} (fast i avtalet)",
        "baseline.computed": "utgångsvärde {baseline} = {metric} för {periods} = {value}",
        "change.decrease": "förändring = utgångsvärde {base} − utfall {value} = {change}",
        "change.increase": "förändring = utfall {value} − utgångsvärde {base} = {change}",
        "net.comparison": "netto mot jämförelsegrupp: {change} − jämförelsegruppens förändring {comparison} = {net}",
        "relative.change": "relativ förändring = {change} / utgångsvärde {base} = {relative}",
        "volume.units": "enheter = {effect} × {volume_metric} {volume} = {units}",
        "threshold.met": "tröskel: effekt {effect} ≥ {min} (exakt jämförelse): uppnådd",
        "threshold.missed": "tröskel: effekt {effect} < {min} (exakt jämförelse): ingen ersättning",
        "threshold.met_at": "tröskel: effekt {effect} ≥ {min} (jämfört med precisionen {precision}): uppnådd",
        "threshold.missed_at": "tröskel: effekt {effect} < {min} (jämfört med precisionen {precision}): ingen ersättning",
        "price.units": "{units} × {price} = {amount}",
        "price.fixed": "fast belopp {amount}",
        "price.fee": "{periods} period(er) × {fee} = {amount}",
        "price.fee_last": "sista perioden får resten av andelen: {fee} per period, {last} i den sista; {periods} period(er) = {amount}",
        "price.fee_share": "ersättning per period = {share} × kontraktsvärde {value} / {count} perioder = {fee}",
        "price.deferred": "uppskjuten: {accrued} upparbetat under {periods} period(er), betalas {last}",
        "price.outcome": "{outcome}: {condition} uppfyllt {period}",
        "price.claims": "{count} × {price} = {amount}",
        "uplift.percent": "påslag +{percent} % ({when}): pris {before} → {after}",
        "tier.price": "utfall nr {number} av {outcome}: pris i volymtrappan {price}",
        "target.met": "mål {condition} uppnått ({values}): {amount}",
        "target.missed": "mål {condition} ej uppnått ({values}): ingen ersättning",
        "scale.fraction": "skala: ({value} − golv {floor}) / (mål {target} − golv {floor}) = {fraction}, begränsat till 0–1",
        "scale.amount": "{fraction} × {full} = {amount}",
        "band.reached": "intervall från {level} uppnått med {value}: {amount}",
        "band.none": "inget intervall uppnått med {value}: ingen ersättning",
        "bonus.beyond": "{value} ligger {beyond} över kvoten {quota}",
        "bonus.none": "{value} överstiger inte kvoten {quota}: ingen bonus",
        "bonus.steps": "{steps} hela steg om {step} × {per_step} = {amount}",
        "malus.short": "{value} ligger {short} under {level}",
        "malus.none": "{value} når {level}: inget avdrag",
        "malus.steps": "{steps} steg om {step} × {per_step} = avdrag {amount}",
        "malus.max": "avdraget begränsas till {max}",
        "savings.saving": "besparing = {value} × {unit_value} = {saving}",
        "savings.before": "{share} av {part} fram till break-even {break_even} (betalt tidigare: {paid}) = {amount}",
        "savings.after": "{share} av {part} efter break-even = {amount}",
        "savings.gate_closed": "villkoret {gate} är inte uppfyllt: inget betalas utöver break-even",
        "savings.return_cap": "avkastning utöver break-even begränsas till {limit} (betalt tidigare: {paid}): {after}",
        "savings.floor": "garanterat golv {floor}: {before} → {after}",
        "negative.none": "en försämring ger ingen ersättning (inga avdrag enligt denna regel)",
        "undefined.zero": "{metric} kan inte beräknas (inga data eller nämnaren är noll): ingen ersättning",
        "quota.cut": "kvot: {category} högst {share} av betalda utfall: {before} → {after}",
        "count.cut": "taket {limit} för antal {name} är nått: betalas inte",
        "cap.participant": "tak per deltagare {limit} (betalt tidigare: {paid}): {before} → {after}",
        "cap.line": "tak ({scope}) för {name}, {limit}: {before} → {after}",
        "cap.line_prior": "tak ({scope}) för {name}, {limit} med avdrag för tidigare avräknat {paid}: {before} → {after}",
        "cap.no_negative": "en avräkning är aldrig negativ enligt detta avtal: {before} → {after}",
        "round.line": "avrundat ({mode}) till {quantum}: {before} → {after}",
        "previous.settled": "upparbetat hittills {entitlement} − tidigare avräknat {settled} = {amount}",
    },
}
