"""Row checks evaluated fast: numeric expressions compiled to closures over row positions.

Problem: `Expr.evaluate_bool` walks the tree with full type checking (~12 µs a row); a
million-row file would spend most of its validation time there.

Approach: the common checks relate numbers (`short_sick_hours + long_sick_hours <=
scheduled_hours`). For an expression that only uses numeric columns, number and null
literals, arithmetic, comparisons and and/or/not, every value is a Decimal or None, so
no type error can occur and the semantics of `contracts.expressions` reduce to: missing
or division by zero gives None, a comparison with None is False (`== null` / `!= null`
test for missing), and/or/not treat None as False. Those are compiled to closures that
read a row list by position, with the expressions module's decimal context. Any other
expression, and any row whose arithmetic raises, falls back to `Expr.evaluate_bool`;
tests/test_validate.py checks both paths agree on random expressions.
"""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from contracts import expressions as E

Row = Sequence[Any]
Compiled = Callable[[Row], Any]

# The same pinned context (a copy, so its flags stay untouched): the same figures.
_CTX = E._CONTEXT.copy()
_ARITH = {"+": _CTX.add, "-": _CTX.subtract, "*": _CTX.multiply, "/": _CTX.divide}
# Column-wise code runs inside `localcontext(_CTX)`, where the plain operators are the
# same operations as the context's methods, only cheaper to call.
_COLUMN_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _numeric(node: E.Node, pos: Mapping[str, int], ints: frozenset[str]) -> Compiled | None:
    if isinstance(node, E.Literal):
        v = node.value
        if v is None or isinstance(v, Decimal):
            return lambda row: v
        return None
    if isinstance(node, E.Name):
        if node.baseline or node.name not in pos:
            return None
        i = pos[node.name]
        if node.name in ints:
            return lambda row: None if row[i] is None else Decimal(row[i])
        return operator.itemgetter(i)  # a C call: the cheapest way to read a position
    if isinstance(node, E.Unary) and node.op == "-":
        inner = _numeric(node.operand, pos, ints)
        if inner is None:
            return None
        sub = _CTX.subtract
        zero = Decimal(0)
        return lambda row: None if (x := inner(row)) is None else sub(zero, x)
    if isinstance(node, E.Binary) and node.op in _ARITH:
        left, right = _numeric(node.left, pos, ints), _numeric(node.right, pos, ints)
        if left is None or right is None:
            return None
        fn = _ARITH[node.op]
        if node.op == "/":
            return lambda row: (
                None
                if (a := left(row)) is None or (b := right(row)) is None or b == 0
                else fn(a, b)
            )
        return lambda row: (
            None if (a := left(row)) is None or (b := right(row)) is None else fn(a, b)
        )
    return None


def _boolean(node: E.Node, pos: Mapping[str, int], ints: frozenset[str]) -> Compiled | None:
    if isinstance(node, E.Literal) and isinstance(node.value, bool):
        v = node.value
        return lambda row: v
    if isinstance(node, E.Unary) and node.op == "not":
        inner = _boolean(node.operand, pos, ints)
        return None if inner is None else (lambda row: inner(row) is not True)
    if isinstance(node, E.Binary) and node.op in ("and", "or"):
        lb, rb = _boolean(node.left, pos, ints), _boolean(node.right, pos, ints)
        if lb is None or rb is None:
            return None
        lf, rf = lb, rb  # narrowed: the closures below never see None
        if node.op == "and":
            return lambda row: lf(row) is True and rf(row) is True
        return lambda row: lf(row) is True or rf(row) is True
    if isinstance(node, E.Binary) and (node.op in _ORDER or node.op in ("==", "!=")):
        left, right = _numeric(node.left, pos, ints), _numeric(node.right, pos, ints)
        if left is None or right is None:
            return None
        if node.op in _ORDER:
            cmp = _ORDER[node.op]
            return lambda row: (
                (a := left(row)) is not None and (b := right(row)) is not None and cmp(a, b)
            )
        want = node.op == "=="
        if E._NULL in (node.left, node.right):
            return lambda row: ((left(row) is None) == (right(row) is None)) == want
        return lambda row: (
            (a := left(row)) is not None and (b := right(row)) is not None and (a == b) == want
        )
    return None


class RowCheck:
    """One contract row check, ready to run on a row list."""

    def __init__(self, expr: E.Expr, names: Sequence[str], types: Mapping[str, str]) -> None:
        self.expr = expr
        self.names = list(names)  # contract column names in row-list order
        pos = {n: i for i, n in enumerate(names) if types.get(n) in ("integer", "decimal")}
        ints = frozenset(n for n in pos if types[n] == "integer")
        # The compiled form, or None when the expression is outside the numeric subset.
        self.fast: Compiled | None = _boolean(expr.node, pos, ints)

    def holds(self, row: Row) -> bool:
        """True when the check holds; raises ExpressionEvalError for a contract mistake."""
        if self.fast is not None:
            try:
                return self.fast(row) is True
            except decimal.DecimalException:
                pass  # overflow and the like: let the reference evaluator explain it
        return self.expr.evaluate_bool(dict(zip(self.names, row, strict=True)))


# ---- column-wise: a whole batch of clean rows at once --------------------------------

Columns = Sequence[list[Any]]
ColumnFn = Callable[[Columns, int], list[Any]]


class Fallback(Exception):
    """This batch needs the row-wise evaluator (division by zero: None semantics)."""


def _numeric_columns(node: E.Node, pos: Mapping[str, int], ints: frozenset[str]) -> ColumnFn | None:
    if isinstance(node, E.Literal):
        v = node.value
        return (lambda cols, n: [v] * n) if isinstance(v, Decimal) else None
    if isinstance(node, E.Name):
        if node.baseline or node.name not in pos:
            return None
        i = pos[node.name]
        if node.name in ints:
            return lambda cols, n: list(map(Decimal, cols[i]))
        return lambda cols, n: cols[i]
    if isinstance(node, E.Unary) and node.op == "-":
        inner = _numeric_columns(node.operand, pos, ints)
        sub, zero = operator.sub, Decimal(0)
        return (
            None if inner is None else (lambda cols, n: list(map(sub, [zero] * n, inner(cols, n))))
        )
    if isinstance(node, E.Binary) and node.op in _ARITH:
        left = _numeric_columns(node.left, pos, ints)
        right = _numeric_columns(node.right, pos, ints)
        if left is None or right is None:
            return None
        fn = _COLUMN_ARITH[node.op]
        if node.op != "/":
            return lambda cols, n: list(map(fn, left(cols, n), right(cols, n)))

        def divide(cols: Columns, n: int) -> list[Any]:
            divisors = right(cols, n)
            if 0 in divisors:
                raise Fallback
            return list(map(fn, left(cols, n), divisors))

        return divide
    return None


_COLUMN_OPS = {**_ORDER, "==": operator.eq, "!=": operator.ne}


def compile_columns(
    expr: E.Expr, names: Sequence[str], types: Mapping[str, str]
) -> ColumnFn | None:
    """cols, n → one bool per row; valid only when the columns it reads hold no None.

    Same semantics as the row-wise form when no value is missing; None when the
    expression is outside the numeric subset (or uses null). Raises Fallback or
    DecimalException when the batch needs the row-wise evaluator.
    """
    pos = {n: i for i, n in enumerate(names) if types.get(n) in ("integer", "decimal")}
    ints = frozenset(n for n in pos if types[n] == "integer")

    def boolean(node: E.Node) -> ColumnFn | None:
        if isinstance(node, E.Literal) and isinstance(node.value, bool):
            v = node.value
            return lambda cols, n: [v] * n
        if isinstance(node, E.Unary) and node.op == "not":
            inner = boolean(node.operand)
            return (
                None
                if inner is None
                else (lambda cols, n: list(map(operator.not_, inner(cols, n))))
            )
        if isinstance(node, E.Binary) and node.op in ("and", "or"):
            lb, rb = boolean(node.left), boolean(node.right)
            if lb is None or rb is None:
                return None
            lf, rf = lb, rb  # narrowed: the closure below never sees None
            fn = operator.and_ if node.op == "and" else operator.or_
            return lambda cols, n: list(map(fn, lf(cols, n), rf(cols, n)))
        if isinstance(node, E.Binary) and node.op in _COLUMN_OPS:
            left = _numeric_columns(node.left, pos, ints)
            right = _numeric_columns(node.right, pos, ints)
            if left is None or right is None:
                return None
            cmp = _COLUMN_OPS[node.op]
            return lambda cols, n: list(map(cmp, left(cols, n), right(cols, n)))
        return None

    compiled = boolean(expr.node)
    if compiled is None:
        return None
    fn = compiled

    def evaluate(cols: Columns, n: int) -> list[Any]:
        with decimal.localcontext(_CTX):
            return fn(cols, n)

    return evaluate
