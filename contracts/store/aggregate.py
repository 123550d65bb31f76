"""Row metrics aggregated in SQL over the slots of `outcome_row`, equal to the Python path.

Problem: settling a quarter of a million-row file must not stream every row back into
Python (DESIGN.md, "Scale"), yet a metric aggregated by the database must be identical to
what `contracts.metrics.compute` gives over the decoded rows -- down to the string of
every Decimal, which the settlement JSON, the golden files and `contract audit verify`
compare. The rows of one contract may be stored under several layouts.

Approach: an expression is compiled per layout (column names → slots) into SQL whose
value is the Python value, or the metric is refused (`Unsupported`) and computed in
Python over the rows instead -- correct first, then fast:

- Numbers are millionths in BIGINT, so sums, differences, negation and products with a
  whole literal stay exact integers. Division and products of two columns do not, and
  are not compiled. Where an operand could overflow BIGINT (SQLite would silently turn
  the result into a float) the arithmetic gives NULL and a guard column makes the metric
  fall back.
- A Decimal's string shows its exponent: compute adds decoded values, and a decoded slot
  has as many places as its normalised value (layout.from_micro: 152.5, 160), so a sum
  has the most places of any term (312.5; 10271.0). Beside each integer sum the query
  therefore takes the MAX of the places of every term (a CASE on the slot modulo powers
  of ten; a literal counts as written, 0.50 has two), and `_decimal` rebuilds the sum
  with that exponent.
- Nulls as `Expr.evaluate` treats them: arithmetic with NULL is NULL in both; a comparison
  with NULL is False, also under `not`, so every condition has a strict form that is never
  NULL (`_Val.strict`); the lax form (NULL meaning False) serves where that cannot differ
  (WHERE, CASE WHEN, and, or), because the IS NOT NULL tests cost time on every row.
  `x == null` is IS NULL. A ratio adds a row only when both parts are non-null.
  Text order is by code point, as in Python (COLLATE "C" on PostgreSQL).
- Count distinct and share count NULL as one value, as a Python set does.
- Combinations whose outcome would differ (mixed types, names a layout lacks, lists that
  are not literals, a number with more than six places) raise Unsupported.

`plan` compiles one metric for one layout into aggregates (`Plan`), with the filter in
each aggregate's CASE WHEN so that many metrics share one scan of the rows, or as WHERE
with the `by` column to group by; `Plan.read` turns the database's answer into a
`Tally` of exact integers, tallies of several layouts add up (distinct counts only
when one side is empty), and `finish` gives value and parts as compute does. Running
the queries is stored.py's business.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from contracts import money
from contracts.expressions import Binary, ListLit, Literal, Name, Node, Unary
from contracts.metrics import RowMetric, expression
from contracts.model import CountMetric, MeanMetric, RatioMetric, ShareMetric, SumMetric
from contracts.store.layout import KIND, MICRO, PLACES, Layout, from_micro, to_micro
from contracts.store.rows import ROW

_ONE: Any = sa.literal_column("1")
_ZERO: Any = sa.literal_column("0")
_MICRO: Any = sa.literal_column(str(MICRO))
_HALF = 2**62  # |a|, |b| below this: a + b fits BIGINT
_INT64 = 2**63
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
BLANK = "(blank)"  # compute's key for a row without a `by` value


class Unsupported(Exception):
    """No exact SQL form here: the metric is computed in Python over the rows instead."""


@dataclass(frozen=True)
class _Val:
    """An expression compiled for one layout."""

    kind: str  # 'n' number in millionths, 't' text, 'd' date, 'b' true/false, 'null'
    sql: Any  # for 'b', lax: NULL may stand for False
    nullable: bool = True  # may `sql` be NULL where Python has None?
    strict: Any = None  # for 'b': the condition, never NULL
    places: tuple[tuple[Any, int], ...] = ()  # 'n': (places of a term per row or None, added)
    const: int | None = None  # 'n': the millionths of a literal


def _places(col: Any) -> Any:
    """Places of the decoded value of a decimal slot: 152.5 → 1 (as from_micro writes it)."""
    whens = [(col % sa.literal_column(str(10 ** (PLACES - k))) == _ZERO, k) for k in range(PLACES)]
    return sa.case(*((w, sa.literal_column(str(k))) for w, k in whens), else_=PLACES)


def _notnull(*vals: _Val) -> list[Any]:
    return [v.sql.is_not(None) for v in vals if v.nullable]


def _all(*conds: Any) -> Any:
    """AND of the conditions that are given (None: no condition)."""
    given = [c for c in conds if c is not None]
    return None if not given else given[0] if len(given) == 1 else sa.and_(*given)


def _when(cond: Any, value: Any) -> Any:
    return value if cond is None else sa.case((cond, value))


def _cond(sql: Any) -> _Val:
    return _Val("b", sql, False, sql)


class _Compiler:
    """Expressions → SQL over the slots of one layout; raises Unsupported."""

    def __init__(self, layout: Layout, dialect: str) -> None:
        self.columns = {n: (t, s) for n, t, s in layout.columns}
        self.dialect = dialect
        self.guards: list[Any] = []  # rows where the SQL arithmetic would not be exact

    def column(self, name: str | None) -> Any:
        """The slot of a column, or NULL where this layout lacks it (row.get gives None)."""
        if name is None or name not in self.columns:
            return sa.cast(sa.null(), sa.Text())
        return ROW.c[self.columns[name][1]]

    def condition(self, text: str) -> Any:
        """A row condition (evaluate_bool), lax: NULL stands for False."""
        return self._truth(expression(text).node).sql

    def measure(self, text: str) -> _Val:
        """What a sum, mean or ratio adds up: a number, or true/false as 1/0 (_number)."""
        v = self.value(expression(text).node)
        if v.kind == "n":
            return v
        if v.kind == "b":
            one = sa.case((v.strict, _MICRO), else_=_ZERO)
            if v.nullable:  # a boolean column: NULL stays None
                one = sa.case((v.sql.is_(True), _MICRO), (v.sql.is_(False), _ZERO))
            return _Val("n", one, v.nullable, places=((None, 0),))
        raise Unsupported(f"{text!r} is not a number")

    def value(self, node: Node) -> _Val:
        match node:
            case Literal(value=None):
                return _Val("null", sa.null())
            case Literal(value=bool() as b):
                return _cond(sa.true() if b else sa.false())
            case Literal(value=str() as s):
                return _Val("t", sa.literal(s, sa.Text()), False)
            case Literal(value=Decimal() as d):
                return self._number(d)
            case Name(baseline=True):
                raise Unsupported("baseline values are not row values")
            case Name(name=name):
                return self._name(name)
            case Unary(op="not", operand=operand):
                return _cond(sa.not_(self._truth(operand).strict))
            case Unary(op="-", operand=operand):
                x = self._numeric(operand)
                const = None if x.const is None else -x.const
                return _Val("n", -x.sql, x.nullable, places=x.places, const=const)
            case Binary(op="and" | "or" as op, left=left, right=right):
                x, y = self._truth(left), self._truth(right)
                join = sa.and_ if op == "and" else sa.or_
                return _Val("b", join(x.sql, y.sql), False, join(x.strict, y.strict))
            case Binary(op="+" | "-"):
                return self._sum(node)
            case Binary(op="*"):
                return self._product(node)
            case Binary(op="in" | "not in"):
                return self._member(node)
            case Binary(op=op) if op in _ORDER:
                return self._compare(node)
        raise Unsupported(f"no exact SQL for {type(node).__name__} {getattr(node, 'op', '')}")

    def _number(self, d: Decimal) -> _Val:
        try:
            micro = to_micro(d)
        except ValueError as exc:
            raise Unsupported(f"the literal {d} {exc}") from None
        exponent = d.as_tuple().exponent
        assert isinstance(exponent, int)
        return _Val(
            "n", sa.literal(micro, sa.BigInteger()), False, places=((None, -exponent),), const=micro
        )

    def _name(self, name: str) -> _Val:
        if name not in self.columns:
            raise Unsupported(f"{name} is not a column of this layout")
        ctype, slot = self.columns[name]
        col, kind = ROW.c[slot], KIND[ctype]
        if kind == "n":
            # An integer column decodes to an int: no places, whatever is stored.
            return _Val("n", col, places=((None if ctype == "integer" else _places(col), 0),))
        if kind == "b":
            return _Val("b", col, True, col.is_(True))
        return _Val(kind, col)

    def _truth(self, node: Node) -> _Val:
        """An operand of and/or/not: True only if it is True (None counts as False)."""
        v = self.value(node)
        if v.kind == "null":
            return _cond(sa.false())
        if v.kind != "b":
            raise Unsupported("and/or/not over a value that is not true/false")
        return _cond(v.strict) if v.nullable else v  # a boolean column: NULL is not True

    def _numeric(self, node: Node) -> _Val:
        v = self.value(node)
        if v.kind != "n":
            raise Unsupported("arithmetic over a value that is not a number")
        return v

    def _below(self, v: _Val, bound: int) -> Any:
        """The condition that |v| < bound (None: a literal, checked here); guards the rest."""
        if v.const is not None:
            if abs(v.const) >= bound:
                raise Unsupported("a literal too large for exact SQL arithmetic")
            return None
        self.guards.append(sa.func.abs(v.sql) >= bound)
        return sa.func.abs(v.sql) < bound

    def _sum(self, node: Binary) -> _Val:
        a, b = self._numeric(node.left), self._numeric(node.right)
        sql = a.sql + b.sql if node.op == "+" else a.sql - b.sql
        safe = _all(self._below(a, _HALF), self._below(b, _HALF))
        return _Val(
            "n",
            _when(safe, sql),  # NULL where it could overflow; the guard then falls back
            a.nullable or b.nullable,
            places=a.places + b.places,  # Decimal a ± b has the smaller exponent
        )

    def _product(self, node: Binary) -> _Val:
        a, b = self._numeric(node.left), self._numeric(node.right)
        if b.const is None:
            a, b = b, a
        if b.const is None or b.const % MICRO:
            raise Unsupported("only products with a whole literal are exact in millionths")
        k, added = b.const // MICRO, b.places[0][1]
        safe = self._below(a, _INT64 // abs(k)) if k else None
        return _Val(
            "n",
            _when(safe, a.sql * sa.literal_column(str(k))),
            a.nullable,
            places=tuple((p, n + added) for p, n in a.places),  # exponents add up
        )

    def _compare(self, node: Binary) -> _Val:
        op = node.op
        nulls = [isinstance(x, Literal) and x.value is None for x in (node.left, node.right)]
        if op in ("==", "!=") and any(nulls):
            if all(nulls):
                return _cond(sa.true() if op == "==" else sa.false())
            v = self.value(node.right if nulls[0] else node.left)
            missing = v.sql.is_(None) if v.nullable else sa.false()
            return _cond(missing if op == "==" else sa.not_(missing))
        a, b = self.value(node.left), self.value(node.right)
        if "null" in (a.kind, b.kind):
            return _cond(sa.false())  # an ordering with None is False
        if a.kind != b.kind:
            raise Unsupported(f"{op} between {a.kind} and {b.kind}")
        left, right = a.sql, b.sql
        if a.kind == "b":
            if op not in ("==", "!="):
                raise Unsupported("true/false cannot be ordered")
            left, right = self._bit(a), self._bit(b)
        elif a.kind == "t" and op not in ("==", "!=") and self.dialect == "postgresql":
            left, right = sa.collate(left, "C"), sa.collate(right, "C")  # code point order
        test = _ORDER[op](left, right)
        return _Val("b", test, False, _all(*_notnull(a, b), test))

    def _bit(self, v: _Val) -> Any:
        if v.nullable:
            return sa.case((v.sql.is_(True), _ONE), (v.sql.is_(False), _ZERO))
        return sa.case((v.strict, _ONE), else_=_ZERO)

    def _member(self, node: Binary) -> _Val:
        a = self.value(node.left)
        items = node.right.items if isinstance(node.right, ListLit) else (node.right,)
        literals = [item for item in items if isinstance(item, Literal)]
        if not isinstance(node.right, ListLit) or len(literals) < len(items):
            raise Unsupported(f"'{node.op}' needs a list of literals")
        if a.kind == "null":
            return _cond(sa.false())  # None is in no list, and not "not in" one either
        values: list[Any] = []
        for item in literals:
            v = self.value(item)
            if v.kind == "null":
                continue  # equals nothing
            if v.kind != a.kind:
                raise Unsupported(f"'{node.op}' over mixed types")
            values.append(v.const if v.kind == "n" else item.value)
        left = a.sql
        if a.kind == "b":
            left, values = self._bit(a), [int(x) for x in values]
        if not values:
            empty = sa.false() if node.op == "in" else _all(*_notnull(a))
            return _cond(sa.true() if empty is None else empty)
        test = left.in_(values) if node.op == "in" else left.not_in(values)
        return _Val("b", test, False, _all(*_notnull(a), test))


@dataclass
class Tally:
    """Aggregates of one metric over some rows (all millionths or counts, exact ints)."""

    rows: int = 0  # rows after the filter
    a: int = 0  # sum / numerator, millionths
    b: int = 0  # count of values (mean) / denominator, millionths
    a_places: int = 0  # most places of a term of `a`
    b_places: int = 0
    distinct: int = 0  # distinct values / participants
    met: int = 0  # participants meeting the share's condition
    guard: int = 0  # 1: some row's arithmetic could not be exact in SQL

    def plus(self, other: Tally, distinct: bool) -> Tally:
        """The tally of both sets of rows; distinct counts add only when one is empty."""
        if distinct and self.rows and other.rows:
            raise Unsupported("distinct values over rows of several layouts")
        return Tally(
            self.rows + other.rows,
            self.a + other.a,
            self.b + other.b,
            max(self.a_places, other.a_places),
            max(self.b_places, other.b_places),
            self.distinct + other.distinct,
            self.met + other.met,
            max(self.guard, other.guard),
        )


_MAXED = frozenset({"a_places", "b_places", "guard"})


@dataclass(frozen=True)
class Plan:
    """One metric compiled for one layout: the aggregates to select and the group."""

    items: tuple[tuple[str, Any, int], ...]  # (Tally field, aggregate, places added)
    where: Any  # the filter, for a grouped query (None: every row)
    group: Any = None  # the `by` column's slot (text: NULL read as "(blank)")
    group_type: str | None = None  # its column type, to write keys as compute does

    def read(self, values: Sequence[Any]) -> Tally:
        t = Tally()
        for (name, _, added), raw in zip(self.items, values, strict=True):
            n = _integer(raw)
            if name in _MAXED:
                if n is not None:
                    setattr(t, name, max(getattr(t, name), n + added))
            else:
                setattr(t, name, getattr(t, name) + (n or 0))
        return t


def _integer(raw: Any) -> int | None:
    """An aggregate as int: PostgreSQL sums BIGINT as numeric; a float is never exact."""
    if raw is None or type(raw) is int:
        return raw
    if isinstance(raw, Decimal) and raw == raw.to_integral_value():
        return int(raw)
    raise Unsupported(f"the database returned {raw!r}, not an exact integer")


def distinct_based(metric: RowMetric) -> bool:
    return isinstance(metric, ShareMetric) or (
        isinstance(metric, CountMetric) and bool(metric.distinct)
    )


def plan(
    metric: RowMetric, layout: Layout, dialect: str, participant: str | None, grouped: bool
) -> Plan:
    """Compile `metric` for `layout`: with the filter inside each aggregate (for a batch of
    metrics over the same rows), or, when `grouped`, as `where` with the `by` column."""
    c = _Compiler(layout, dialect)
    flt = c.condition(metric.filter) if metric.filter else None
    cond = None if grouped else flt
    rows = sa.func.count() if cond is None else sa.func.count(_when(cond, _ONE))
    items: list[tuple[str, Any, int]] = [("rows", rows, 0)]

    def distinct(name: str, inside: Any, value: Any) -> None:
        # A Python set holds None as one more value; COUNT(DISTINCT) skips NULL.
        items.append((name, sa.func.count(sa.distinct(_when(inside, value))), 0))
        has_null = sa.case((_all(inside, value.is_(None)), _ONE), else_=_ZERO)
        items.append((name, sa.func.max(has_null), 0))

    def places(name: str, inside: Any, v: _Val) -> None:
        for p, added in v.places:
            items.append((name, sa.func.max(_when(inside, _ZERO if p is None else p)), added))

    if isinstance(metric, CountMetric):
        if metric.distinct:
            distinct("distinct", cond, c.column(metric.distinct))
    elif isinstance(metric, SumMetric | MeanMetric):
        v = c.measure(metric.of)
        items.append(("a", sa.func.sum(_when(cond, v.sql)), 0))
        items.append(("b", sa.func.count(_when(cond, v.sql)), 0))
        places("a_places", _all(cond, *_notnull(v)), v)
    elif isinstance(metric, RatioMetric):
        n, d = c.measure(metric.numerator), c.measure(metric.denominator)
        both = _all(cond, *_notnull(n, d))  # half a row would skew the ratio
        items.append(("a", sa.func.sum(_when(both, n.sql)), 0))
        items.append(("b", sa.func.sum(_when(both, d.sql)), 0))
        places("a_places", both, n)
        places("b_places", both, d)
    else:
        met = _all(cond, c.condition(metric.condition))
        if participant is None:  # every row is a participant of its own
            items.append(("distinct", rows, 0))
            items.append(("met", sa.func.count(_when(met, _ONE)), 0))
        else:
            who = c.column(participant)
            distinct("distinct", cond, who)
            distinct("met", met, who)
    if c.guards:
        items.append(("guard", sa.func.max(sa.case((sa.or_(*c.guards), _ONE), else_=_ZERO)), 0))
    group, group_type = None, None
    if grouped and metric.by:
        group = c.column(metric.by)
        if metric.by in c.columns:
            group_type = c.columns[metric.by][0]
            if KIND[group_type] == "t":  # compute merges None and "(blank)": so does SQL
                # A literal, not a parameter: the GROUP BY must repeat the expression exactly.
                group = sa.func.coalesce(group, sa.literal_column(f"'{BLANK}'", sa.Text()))
    return Plan(tuple(items), flt, group, group_type)


def group_key(raw: Any, column_type: str | None) -> str:
    """The key compute gives a `by` value: str of the decoded value, None as "(blank)"."""
    if raw is None or column_type is None:
        return BLANK
    kind = KIND[column_type]
    if kind == "n":
        return str(from_micro(int(raw), column_type == "integer"))
    if kind == "b":
        return str(bool(raw))
    if kind == "d" and not isinstance(raw, str):
        return str(raw.isoformat())
    return str(raw)


def _decimal(micro: int, places: int) -> Decimal:
    """The Decimal compute's sum would hold: `micro` millionths with `places` places."""
    if places <= PLACES:
        whole, rest = divmod(micro, 10 ** (PLACES - places))
        assert rest == 0, "every term has at most `places` places"
        return Decimal(f"{whole}E-{places}")
    return Decimal(f"{micro * 10 ** (places - PLACES)}E-{places}")


def finish(metric: RowMetric, t: Tally) -> tuple[Decimal | None, tuple[tuple[str, Decimal], ...]]:
    """Value and parts as metrics._finish gives them."""
    if isinstance(metric, CountMetric):
        return Decimal(t.distinct if metric.distinct else t.rows), ()
    if isinstance(metric, SumMetric):
        return _decimal(t.a, t.a_places), (("rows", Decimal(t.rows)),)
    if isinstance(metric, MeanMetric):
        total, count = _decimal(t.a, t.a_places), Decimal(t.b)
        return money.div(total, count), (("sum", total), ("count", count))
    if isinstance(metric, RatioMetric):
        num, den = _decimal(t.a, t.a_places), _decimal(t.b, t.b_places)
        return money.div(num, den), (("numerator", num), ("denominator", den))
    met, total = Decimal(t.met), Decimal(t.distinct)
    return money.div(met, total), (("meeting", met), ("participants", total))
