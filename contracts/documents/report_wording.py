"""The settlement report's words that are not in its templates, in English and Swedish.

Problem: most of the report's text is laid out by its templates, one per language, but
some words belong to values — the state of a settlement, the kind of a line, the scope
of a cap, the parts a metric was computed from — and must reach the template already in
the report's language.

Approach: one small catalog per language, keyed by the value's stable code; a code
without an entry prints as itself, so a new engine code never breaks a report.
"""

from __future__ import annotations

from contracts.settlement import LineItem

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Settlement {period}: {title}",
        "state.draft": "draft (not yet approved for payment)",
        "state.approved": "approved for payment",
        "state.replaced": "draft, replaced by settlement {later} before approval",
        "state.not-stored": "not stored (computed from files)",
        "input.outcomes": "outcome rows",
        "input.supplied": "supplied figures",
        "participant": "participant",
        "kind.payment": "payment",
        "kind.deduction": "deduction",
        "kind.cap": "cap",
        "kind.rounding": "rounding",
        "kind.previously_settled": "settled before",
        "scope.participant": "per participant",
        "scope.outcome-count": "count of an outcome",
        "scope.rule-count": "count under a rule",
        "scope.quota": "quota",
        "scope.rule-period": "rule, per period",
        "scope.rule": "rule, over the term",
        "scope.at-risk": "payment at risk",
        "scope.period": "per period",
        "scope.contract": "contract",
        "scope.no-negative": "no negative settlement",
        "part.numerator": "numerator",
        "part.denominator": "denominator",
        "part.rows": "rows",
        "part.sum": "sum",
        "part.count": "count",
        "part.participants": "participants",
        "part.meeting": "meeting the condition",
    },
    "sv": {
        "title": "Avräkning {period}: {title}",
        "state.draft": "utkast (ännu inte godkänd för betalning)",
        "state.approved": "godkänd för betalning",
        "state.replaced": "utkast, ersatt av avräkning {later} före godkännande",
        "state.not-stored": "inte lagrad (beräknad från filer)",
        "input.outcomes": "utfallsrader",
        "input.supplied": "tillhandahållna värden",
        "participant": "deltagare",
        "kind.payment": "ersättning",
        "kind.deduction": "avdrag",
        "kind.cap": "tak",
        "kind.rounding": "avrundning",
        "kind.previously_settled": "tidigare avräknat",
        "scope.participant": "per deltagare",
        "scope.outcome-count": "antal av ett utfall",
        "scope.rule-count": "antal enligt en regel",
        "scope.quota": "kvot",
        "scope.rule-period": "regel, per period",
        "scope.rule": "regel, under avtalstiden",
        "scope.at-risk": "ersättning med risk",
        "scope.period": "per period",
        "scope.contract": "avtalet",
        "scope.no-negative": "ingen negativ avräkning",
        "part.numerator": "täljare",
        "part.denominator": "nämnare",
        "part.rows": "rader",
        "part.sum": "summa",
        "part.count": "antal",
        "part.participants": "deltagare",
        "part.meeting": "som uppfyller villkoret",
    },
}


def described(x: LineItem, lang: str) -> str:
    """A line's label in the document's language.

    The engine names the lines it makes itself in English (`contract cap`, `rounding`,
    `settled before`); the contract's own titles stay as the contract wrote them.
    """
    words = WORDS[lang]
    if x.kind == "cap" and x.description.endswith(" cap"):
        scope = x.description.removesuffix(" cap")
        return f"{words['kind.cap']}: {words.get(f'scope.{scope}', scope)}"
    if x.kind == "cap" and x.description == "no negative settlement":
        return words["scope.no-negative"]
    if x.kind in ("rounding", "previously_settled") and x.description in (
        "rounding",
        "settled before",
    ):
        return words[f"kind.{x.kind}"]
    return x.description


def cap_name(name: str, lang: str) -> str:
    """`participant P3174` / `contract` as the engine names a cap, in the document's language."""
    words = WORDS[lang]
    if name == "contract":
        return words["scope.contract"]
    if name.startswith("participant "):
        return f"{words['participant']} {name.removeprefix('participant ')}"
    return name
