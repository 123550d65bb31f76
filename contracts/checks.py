"""What a contract means, checked: names exist, expressions parse, shares add up.

Pure: takes the model and returns findings located by field path (and, inside an
expression, by character offset); the edge turns paths into `line:column`.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from contracts import money
from contracts import periods as P
from contracts.expressions import ExpressionError, check_names, parse
from contracts.model import Contract, CountMetric, PeriodsBaseline, SuppliedMetric
from contracts.rule_model import MEASURE_RULES, FixedFee, Measure, RateCard, SavingsShare, Target
from contracts.settle import NO_NEGATIVE_RULE, ROUNDING_RULE

Path = tuple[str | int, ...]
T = TypeVar("T")
RESERVED = {ROUNDING_RULE, NO_NEGATIVE_RULE, "total"}


@dataclass(frozen=True)
class Finding:
    path: Path  # field path in the contract file
    code: str  # stable kebab-case code
    message: str  # what is wrong and what to do
    offset: int | None = None  # character offset inside an expression at `path`
    severity: str = "error"  # error or warning


@dataclass(frozen=True)
class Partial:
    """What is known of a contract whose shape is partly wrong, so that the meaning of
    the parts that are right can still be checked in the same run."""

    index: Mapping[str, tuple[int, ...]] = field(
        default_factory=dict
    )  # section → file index of each kept item
    missing: frozenset[str] = frozenset()  # top-level sections that could not be read at all
    shadow: Mapping[str, frozenset[str]] = field(
        default_factory=dict
    )  # ids of items that could not be read

    def items(self, section: str, seq: Sequence[T]) -> list[tuple[int, T]]:
        idx = self.index.get(section)
        return list(zip(idx, seq, strict=True)) if idx is not None else list(enumerate(seq))

    def names(self, section: str, known: Iterable[str]) -> list[str] | None:
        """Names a reference may use; None when the section is unreadable (nothing to check)."""
        if section in self.missing and not self.shadow.get(section):
            return None
        return [*known, *sorted(self.shadow.get(section, frozenset()))]


COMPLETE = Partial()


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _expr(
    path: Path, text: str, names: list[str] | None, baseline: list[str] | None, what: str
) -> Iterator[Finding]:
    try:
        e = parse(text)
    except ExpressionError as exc:
        yield Finding(path, "expression-syntax", f"{exc.message} in {what}", exc.offset)
        return
    if names is None:
        return
    for message, offset in check_names(e, names, baseline):
        yield Finding(path, "expression-name", f"{message} in {what}", offset)


def _ref(path: Path, name: str, choices: list[str] | None, what: str) -> Iterator[Finding]:
    if choices is not None and name not in choices:
        yield Finding(
            path,
            "unknown-reference",
            f"{what} {name!r} is not defined{_did_you_mean(name, choices)}",
        )


def _unique(items: list[str], path: str) -> Iterator[Finding]:
    for i, (name, n) in enumerate((x, Counter(items)[x]) for x in items):
        if n > 1 and items.index(name) != i:
            yield Finding((path, i, "id"), "duplicate-id", f"{name!r} is defined more than once")


def check(c: Contract, pt: Partial = COMPLETE) -> list[Finding]:
    """Every problem in the contract's meaning.

    With a Partial (the file's shape is partly wrong), sections that could not be read
    are skipped and references to items that could not be read are not reported, so
    the officer sees all the errors of one file at once without false alarms.
    """
    m = pt.missing
    return [
        *(_term(c) if not {"term", "periods"} & m else ()),
        *(_outcome_file(c) if "outcome_file" not in m else ()),
        *_metrics(c, pt),
        *_baselines(c, pt),
        *_rules(c, pt),
        *(_payers(c, pt) if "payers" not in m else ()),
        *(_money(c, pt) if not {"term", "periods", "settlement"} & m else ()),
    ]


def _columns(c: Contract, pt: Partial) -> list[str] | None:
    if "outcome_file" in pt.missing:
        return pt.names("columns", [])
    return [col.name for col in c.outcome_file.columns]


def _term(c: Contract) -> Iterator[Finding]:
    if c.term.end < c.term.start:
        yield Finding(("term", "end"), "term-order", "the term ends before it starts")
    if c.periods.kind == "explicit":
        if not c.periods.explicit:
            yield Finding(("periods", "explicit"), "periods-empty", "explicit periods need a list")
        for i, e in enumerate(c.periods.explicit):
            if e.end < e.start:
                yield Finding(
                    ("periods", "explicit", i, "end"),
                    "period-order",
                    f"{e.id} ends before it starts",
                )
    elif c.term.end >= c.term.start:
        ps = P.generate(c.periods.kind, c.term.start, c.term.end)
        if ps and (ps[0].start != c.term.start or ps[-1].end != c.term.end):
            yield Finding(
                ("term",),
                "term-periods",
                f"the term {c.term.start}–{c.term.end} does not "
                f"start and end on {c.periods.kind} boundaries; {ps[0].id} and {ps[-1].id} "
                "are settled whole",
                severity="warning",
            )


def _outcome_file(c: Contract) -> Iterator[Finding]:
    of = c.outcome_file
    names = [col.name for col in of.columns]
    yield from _unique(names, "outcome_file.columns")
    for i, g in enumerate(of.grain):
        yield from _ref(("outcome_file", "grain", i), g, names, "grain column")
    yield from _ref(("outcome_file", "period_column"), of.period_column, names, "period column")
    if of.participant_column is not None:
        yield from _ref(
            ("outcome_file", "participant_column"),
            of.participant_column,
            names,
            "participant column",
        )
    numeric = [col.name for col in of.columns if col.type in ("integer", "decimal")]
    for i, col in enumerate(of.columns):
        base: Path = ("outcome_file", "columns", i)
        if col.type == "enum" and not col.values:
            yield Finding(
                (*base, "values"), "enum-values", f"enum column {col.name} needs its values"
            )
        if col.values and col.type != "enum":
            yield Finding(
                (*base, "values"),
                "enum-values",
                f"values are only for enum columns, {col.name} is {col.type}",
            )
        if col.pseudonymous and col.type != "text":
            yield Finding(
                (*base, "pseudonymous"),
                "pseudonymous-type",
                f"{col.name} must be text to be pseudonymous",
            )
        for bound in ("min", "max"):
            v = getattr(col, bound)
            if v is None:
                continue
            if col.type not in ("integer", "decimal"):
                yield Finding(
                    (*base, bound),
                    "range-type",
                    f"{bound} applies to numbers; {col.name} is {col.type}",
                )
            elif isinstance(v, str):
                yield from _ref(
                    (*base, bound), v, numeric, f"{bound} of {col.name}: numeric column"
                )
    for i, rc in enumerate(of.row_checks):
        yield from _expr(
            ("outcome_file", "row_checks", i, "check"),
            rc.check,
            names,
            None,
            f"row check {rc.name}",
        )


def _metrics(c: Contract, pt: Partial) -> Iterator[Finding]:
    cols = _columns(c, pt)
    yield from _unique([m.id for m in c.metrics], "metrics")
    for i, m in pt.items("metrics", c.metrics):
        if isinstance(m, SuppliedMetric):
            continue
        base: Path = ("metrics", i)
        for f in ("filter", "of", "numerator", "denominator", "condition"):
            text = getattr(m, f, None)
            if text is not None:
                yield from _expr((*base, f), text, cols, None, f"metric {m.id}")
        if m.by is not None:
            yield from _ref((*base, "by"), m.by, cols, "column")
        if isinstance(m, CountMetric) and m.distinct is not None:
            yield from _ref((*base, "distinct"), m.distinct, cols, "column")


def _baselines(c: Contract, pt: Partial) -> Iterator[Finding]:
    mids = pt.names("metrics", [m.id for m in c.metrics])
    explicit = [] if "periods" in pt.missing else [e.id for e in c.periods.explicit]
    yield from _unique([b.id for b in c.baselines], "baselines")
    for i, b in pt.items("baselines", c.baselines):
        yield from _ref(("baselines", i, "metric"), b.metric, mids, "metric")
        if isinstance(b, PeriodsBaseline):
            for j, pid in enumerate(b.periods):
                if P.parse_period(pid) is None and pid not in explicit:
                    yield Finding(
                        ("baselines", i, "periods", j),
                        "period-unknown",
                        f"{pid!r} is not a period (write 2024-Q1, 2024-03, HT2024 or 2024)",
                    )


def _measure(c: Contract, pt: Partial, path: Path, m: Measure) -> Iterator[Finding]:
    mids = pt.names("metrics", [x.id for x in c.metrics])
    bids = pt.names("baselines", [b.id for b in c.baselines])
    yield from _ref((*path, "metric"), m.metric, mids, "metric")
    if m.baseline is not None:
        yield from _ref((*path, "baseline"), m.baseline, bids, "baseline")
    if m.net_of is not None:
        yield from _ref((*path, "net_of", "metric"), m.net_of.metric, mids, "metric")
        yield from _ref((*path, "net_of", "baseline"), m.net_of.baseline, bids, "baseline")


def _rules(c: Contract, pt: Partial) -> Iterator[Finding]:
    ids = [r.id for r in c.rules]
    yield from _unique(ids, "rules")
    cols = _columns(c, pt)
    mids = pt.names("metrics", [m.id for m in c.metrics])
    for i, r in pt.items("rules", c.rules):
        base: Path = ("rules", i)
        if r.id in RESERVED:
            yield Finding(
                (*base, "id"), "reserved-id", f"{r.id!r} is reserved; choose another rule id"
            )
        if isinstance(r, MEASURE_RULES):
            yield from _measure(c, pt, (*base, "measure"), r.measure)
            volume = getattr(r, "volume", None)
            if volume is not None:
                yield from _ref((*base, "volume"), volume, mids, "metric")
        if isinstance(r, Target):
            yield from _expr((*base, "condition"), r.condition, mids, None, f"rule {r.id}")
        if isinstance(r, SavingsShare) and r.return_gate is not None:
            yield from _expr((*base, "return_gate"), r.return_gate, mids, None, f"rule {r.id}")
        if isinstance(r, FixedFee) and r.share_of_value is not None and c.contract_value is None:
            yield Finding(
                (*base, "share_of_value"),
                "contract-value-missing",
                "share_of_value needs contract_value at the top of the file",
            )
        if isinstance(r, RateCard):
            yield from _rate_card(c, pt, base, r, cols)


def _rate_card(
    c: Contract, pt: Partial, base: Path, r: RateCard, cols: list[str] | None
) -> Iterator[Finding]:
    if "outcome_file" not in pt.missing and c.outcome_file.participant_column is None:
        yield Finding(
            base, "participant-missing", "a rate card needs outcome_file.participant_column"
        )
    if r.eligibility is not None:
        yield from _expr((*base, "eligibility"), r.eligibility, cols, cols, f"rule {r.id}")
    oids = [o.id for o in r.outcomes]
    yield from _unique(oids, f"{base[0]}")
    categories = {o.category for o in r.outcomes if o.category}
    for j, o in enumerate(r.outcomes):
        yield from _expr(
            (*base, "outcomes", j, "condition"), o.condition, cols, cols, f"outcome {o.id}"
        )
        for k, req in enumerate(o.requires):
            if req == o.id:
                yield Finding(
                    (*base, "outcomes", j, "requires", k),
                    "requires-self",
                    f"{o.id} cannot require itself",
                )
            else:
                yield from _ref((*base, "outcomes", j, "requires", k), req, oids, "outcome")
    for j, u in enumerate(r.uplifts):
        yield from _expr((*base, "uplifts", j, "when"), u.when, cols, cols, f"uplift of {r.id}")
    for j, q in enumerate(r.quotas):
        if q.category not in categories:
            yield Finding(
                (*base, "quotas", j, "category"),
                "unknown-reference",
                f"no outcome has category {q.category!r}{_did_you_mean(q.category, sorted(categories))}",
            )


def _payers(c: Contract, pt: Partial) -> Iterator[Finding]:
    if not c.payers:
        return
    ids = [r.id for r in c.rules]
    for i, p in pt.items("payers", c.payers):
        for rid in p.shares:
            yield from _ref(("payers", i, "shares", rid), rid, pt.names("rules", ids), "rule")
    for rid in ["", *ids]:
        total = money.add(*(p.shares.get(rid, p.share) for p in c.payers))
        if total != 1:
            where = f"rule {rid}" if rid else "lines outside per-rule shares"
            yield Finding(
                ("payers",), "payer-shares", f"payers' shares for {where} add up to {total}, not 1"
            )


def _money(c: Contract, pt: Partial) -> Iterator[Finding]:
    q = c.settlement.rounding.quantum
    caps: list[tuple[Path, Decimal | None]] = [
        (("caps", "per_period"), c.caps.per_period),
        (("caps", "contract"), c.caps.contract),
    ]
    for i, r in pt.items("rules", c.rules):
        caps += [(("rules", i, "cap"), r.cap), (("rules", i, "cap_per_period"), r.cap_per_period)]
    for path, v in caps:
        if v is not None and not money.is_multiple(v, q):
            yield Finding(
                path,
                "cap-quantum",
                f"cap {v} is not a multiple of the rounding quantum {q}",
                severity="warning",
            )
    if c.payment_at_risk is not None:
        if c.contract_value is None:
            yield Finding(
                ("payment_at_risk",),
                "contract-value-missing",
                "payment_at_risk needs contract_value",
            )
            return
        periods = (
            len(P.generate(c.periods.kind, c.term.start, c.term.end))
            if c.periods.kind != "explicit"
            else len(c.periods.explicit)
        )
        fixed = money.add(
            *(
                money.mul(r.amount, Decimal(periods))
                if r.amount is not None
                else money.mul(r.share_of_value or Decimal(0), c.contract_value)
                for r in c.rules
                if isinstance(r, FixedFee)
            )
        )
        room = money.mul(1 - c.payment_at_risk.share, c.contract_value)
        if fixed > room:
            yield Finding(
                ("payment_at_risk",),
                "at-risk-fixed",
                f"fixed fees over the term ({fixed}) exceed the part of the contract value not at "
                f"risk ({room})",
                severity="warning",
            )
