"""The small expression language of contract files.

Row conditions (`short_sick_hours + long_sick_hours <= scheduled_hours`) and metric
conditions (`care_plan_share >= 0.80`) are read by a hand-written tokenizer and parser,
never eval/ast/compile, so a contract file cannot run code; values are Decimal, never
float, so shares and money stay exact.

Grammar, precedence low to high:

    expr       := or_expr
    or_expr    := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := additive [COMP additive | ['not'] 'in' (list | NAME)]
    additive   := term (('+' | '-') term)*
    term       := unary (('*' | '/') unary)*
    unary      := '-' unary | atom
    atom       := NUMBER | STRING | 'true' | 'false' | 'null' | NAME
                | 'baseline' '.' NAME | '(' expr ')'
    list       := '[' [expr (',' expr)*] ']'

COMP is == != < <= > >= (or ≠ ≤ ≥, which render() writes). Comparisons do not chain.
NUMBER is digits with an optional fraction (`0.80`, not `.8`), valued exactly as
written. STRING is single- or double-quoted; a backslash escapes only that quote or a
backslash. NAME is letters (å, ä, ö too), digits and `_`, not starting with a digit.
Keywords (and or not in true false null baseline) are lower case.

Evaluation; a missing value is None:

* Arithmetic takes numbers only (28 digits whatever the caller's decimal context).
  A None operand, or division by zero, gives None: missing data, not a crash.
* A comparison with None is "unknown", hence False -- `!=` too: with x missing, both
  `x == 1` and `x != 1` are False. Test for missing with `x == null` / `x != null`.
  `in` and `not in` are False when the left side is None.
* `and`/`or`/`not` short-circuit, give True or False, and treat None as False, so
  `not (x > 1)` is True when x is missing.
* A number never equals text; ordering them, or comparing a date with text, raises.
"""

from __future__ import annotations

import datetime
import decimal
import difflib
import operator
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

Value = Decimal | str | bool | datetime.date | None
_Val = Value | tuple[Any, ...]  # a list, from a list literal or an env value

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null", "baseline"})
_CONSTANTS: dict[str, Value] = {"true": True, "false": False, "null": None}
_DIGITS = "0123456789"
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_PREC = {"or": 1, "and": 2, "in": 4, "not in": 4, "+": 5, "-": 5, "*": 6, "/": 6}
_PREC.update(dict.fromkeys(_COMPARISONS, 4))
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ".")
_SYMBOLS = {"≤": "<=", "≥": ">=", "≠": "!="}
_RENDERED = {"<=": "≤", ">=": "≥", "!=": "≠"}
_MISTAKES = {"=": "==", "=>": ">=", "=<": "<=", "<>": "!=", ">>": "", "<<": ""}
# Parsing and evaluation recurse, so the tree must stay well inside Python's
# recursion limit whatever a contract file holds.
_MAX_OPERATORS = 200
_MAX_NESTING = 40
# Pinned so that a caller's global decimal context cannot change settlement figures.
_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN, Emin=-999999, Emax=999999)


class ExpressionError(Exception):
    """A problem in an expression; `offset` is the 0-based character position."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return self.message


class ExpressionEvalError(ExpressionError):
    """Evaluation failed: operands of the wrong type, or a name nobody checked."""


class _Token(NamedTuple):
    kind: str  # num, str, name, kw, op or end
    text: str
    value: Value
    offset: int


def _skip(text: str, i: int, ok: Callable[[str], bool]) -> int:
    while i < len(text) and ok(text[i]):
        i += 1
    return i


def _is_digit(c: str) -> bool:
    return c in _DIGITS  # not str.isdigit: Decimal() rejects many of its digits


def _is_name_char(c: str) -> bool:
    return c == "_" or c.isalpha() or c in _DIGITS


def _read_string(text: str, start: int) -> tuple[int, str]:
    quote, i = text[start], start + 1
    parts: list[str] = []
    while i < len(text):
        c = text[i]
        if c == quote:
            return i + 1, "".join(parts)
        if c == "\\":
            if text[i + 1 : i + 2] not in (quote, "\\"):
                raise ExpressionError(f"only \\{quote} and \\\\ may be escaped in a string", i)
            i += 1
            c = text[i]
        parts.append(c)
        i += 1
    raise ExpressionError("unterminated string", start)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    operators = nesting = 0
    i = _skip(text, 0, str.isspace)
    while i < len(text):
        c, start = text[i], i
        if _is_digit(c):
            i = _skip(text, i, _is_digit)
            if text.startswith(".", i):
                if not _is_digit(text[i + 1 : i + 2] or "x"):
                    raise ExpressionError("expected digits after the decimal point", i + 1)
                i = _skip(text, i + 1, _is_digit)
            tokens.append(_Token("num", text[start:i], Decimal(text[start:i]), start))
        elif c in "\"'":
            i, value = _read_string(text, i)
            tokens.append(_Token("str", text[start:i], value, start))
        elif c == "_" or c.isalpha():
            i = _skip(text, i, _is_name_char)
            word = text[start:i]
            kind = "kw" if word in _KEYWORDS else "name"
            tokens.append(_Token(kind, word, _CONSTANTS.get(word, word), start))
            operators += word in ("and", "or", "not", "in")
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), _SYMBOLS.get(c))
            mistake = next((m for m in (text[i : i + 2], c) if m in _MISTAKES), None)
            if mistake is not None and (op is None or len(mistake) == 2):
                meant = _MISTAKES[mistake]
                hint = f"; did you mean '{meant}'?" if meant else ""
                raise ExpressionError(f"'{mistake}' is not an operator{hint}", i)
            if op is None:
                raise ExpressionError(f"unexpected character {c!r}", i)
            after_baseline = bool(tokens) and tokens[-1].text == "baseline"
            if op == "." and _is_digit(text[i + 1 : i + 2] or "x") and not after_baseline:
                raise ExpressionError("a number must start with a digit: write 0.5, not .5", i)
            tokens.append(_Token("op", op, None, start))
            i += 1 if c in _SYMBOLS else len(op)
            operators += op not in (",", "[", "]", ".")
            nesting += (op in ("(", "[")) - (op in (")", "]"))
            if nesting > _MAX_NESTING:
                raise ExpressionError("expression is nested too deeply", start)
        if operators > _MAX_OPERATORS:
            raise ExpressionError(f"expression too long (over {_MAX_OPERATORS} operators)", start)
        i = _skip(text, i, str.isspace)
    tokens.append(_Token("end", "", None, len(text)))
    return tokens


# Offsets are left out of equality so that trees parsed from different texts compare.
@dataclass(frozen=True)
class Literal:
    value: Value  # from a NUMBER, a STRING, true, false or null
    offset: int = field(compare=False)


@dataclass(frozen=True)
class Name:
    name: str
    baseline: bool  # written baseline.<name>; offset is that of 'baseline'
    offset: int = field(compare=False)


@dataclass(frozen=True)
class ListLit:
    items: tuple[Node, ...]
    offset: int = field(compare=False)


@dataclass(frozen=True)
class Unary:
    op: str  # '-' or 'not'
    operand: Node
    offset: int = field(compare=False)


@dataclass(frozen=True)
class Binary:
    op: str  # arithmetic, comparison, 'in', 'not in', 'and' or 'or'
    left: Node
    right: Node
    offset: int = field(compare=False)


Node = Literal | Name | ListLit | Unary | Binary
_NULL = Literal(None, 0)


def _describe(tok: _Token) -> str:
    if tok.kind == "end":
        return "the end of the expression"
    if tok.kind in ("num", "str"):
        return f"{'number' if tok.kind == 'num' else 'string'} {tok.text}"
    return f"{'name ' if tok.kind == 'name' else ''}'{tok.text}'"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.peek()
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return tok

    def at(self, *texts: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind in ("op", "kw") and tok.text in texts

    def at_in(self) -> bool:
        return self.at("in") or (self.at("not") and self.at("in", ahead=1))

    def expect(self, text: str, context: str) -> None:
        if not self.at(text):
            found = _describe(self.peek())
            raise ExpressionError(f"expected '{text}' {context}, found {found}", self.peek().offset)
        self.take()

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ExpressionError("empty expression", 0)
        node = self.expr()
        if self.peek().kind != "end":
            hint = " with no '(' to close" if self.at(")") else "; expected an operator or the end"
            raise ExpressionError(f"unexpected {_describe(self.peek())}{hint}", self.peek().offset)
        return node

    def chain(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.at(*ops):
            tok = self.take()
            node = Binary(tok.text, node, operand(), tok.offset)
        return node

    def expr(self) -> Node:
        return self.chain(("or",), lambda: self.chain(("and",), self.not_expr))

    def not_expr(self) -> Node:
        if self.at("not"):
            tok = self.take()
            return Unary("not", self.not_expr(), tok.offset)
        return self.comparison()

    def comparison(self) -> Node:
        left, tok = self.additive(), self.peek()
        if self.at(*_COMPARISONS):
            self.take()
            node = Binary(tok.text, left, self.additive(), tok.offset)
        elif self.at_in():
            op = "in" if self.take().text == "in" else "not " + self.take().text
            node = Binary(op, left, self.collection(op), tok.offset)
        else:
            return left
        if self.at(*_COMPARISONS) or self.at_in():
            message = "comparisons cannot be chained; join them with 'and' (a < b and b < c)"
            raise ExpressionError(message, self.peek().offset)
        return node

    def collection(self, op: str) -> Node:
        start = self.peek()
        if not self.at("["):
            node = self.additive()
            if not isinstance(node, Name):
                raise ExpressionError(f"'{op}' needs a list [...] or a name", start.offset)
            return node
        self.take()
        items: list[Node] = [] if self.at("]") else [self.expr()]
        while self.at(","):
            self.take()
            items.append(self.expr())
        self.expect("]", f"to close the list at offset {start.offset}")
        return ListLit(tuple(items), start.offset)

    def additive(self) -> Node:
        return self.chain(("+", "-"), lambda: self.chain(("*", "/"), self.unary))

    def unary(self) -> Node:
        if self.at("-"):
            tok = self.take()
            return Unary("-", self.unary(), tok.offset)
        return self.atom()

    def atom(self) -> Node:
        tok = self.take()
        if tok.kind in ("num", "str") or (tok.kind == "kw" and tok.text in _CONSTANTS):
            return Literal(tok.value, tok.offset)
        if tok.kind == "name":
            return Name(tok.text, False, tok.offset)
        if tok.kind == "kw" and tok.text == "baseline":
            self.expect(".", "after 'baseline'")
            name = self.take()
            if name.kind != "name":
                found = _describe(name)
                raise ExpressionError(
                    f"expected a name after 'baseline.', found {found}", name.offset
                )
            return Name(name.text, True, tok.offset)
        if tok.kind == "op" and tok.text == "(":
            node = self.expr()
            self.expect(")", f"to close '(' at offset {tok.offset}")
            return node
        if tok.kind == "op" and tok.text == "[":
            raise ExpressionError("a list [...] may only follow 'in' or 'not in'", tok.offset)
        raise ExpressionError(f"expected a value, found {_describe(tok)}", tok.offset)


def _kind(v: object) -> str:
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, Decimal):
        return "a number"
    if isinstance(v, str):
        return "text"
    return "a date" if isinstance(v, datetime.date) else "a list"


def _coerce(value: object, label: str) -> _Val:
    if value is None or isinstance(value, bool | str | datetime.date):
        if not isinstance(value, datetime.datetime):  # a datetime never equals a date
            return value
    elif isinstance(value, Decimal) and value.is_finite():
        return value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, list | tuple | set | frozenset):
        return tuple(_coerce(v, label) for v in value)
    # A float here would quietly make settlement figures inexact: refuse it loudly.
    raise TypeError(f"{label} is {value!r} ({type(value).__name__}); expressions take Decimal")


def _equal(a: _Val, b: _Val, offset: int) -> bool:
    if a is None or b is None:
        return False
    if {_kind(a), _kind(b)} == {"a date", "text"}:
        # A date column against "2025-01-31" would otherwise silently never match.
        raise ExpressionEvalError("cannot compare a date with text", offset)
    return _kind(a) == _kind(b) and a == b


def _truth(v: _Val, node: Unary | Binary) -> bool:
    if v is None or isinstance(v, bool):
        return v is True
    raise ExpressionEvalError(f"'{node.op}' needs true/false, got {_kind(v)}", node.offset)


def _arithmetic(node: Unary | Binary, a: _Val, b: _Val) -> Decimal | None:
    for v in (a, b):
        if v is not None and not isinstance(v, Decimal):
            raise ExpressionEvalError(f"'{node.op}' needs numbers, got {_kind(v)}", node.offset)
    if a is None or b is None or (node.op == "/" and b == 0):
        return None
    try:
        result: Decimal = _ARITHMETIC[node.op](a, b)
    except decimal.DecimalException as exc:
        raise ExpressionEvalError(f"'{node.op}' failed: {type(exc).__name__}", node.offset) from exc
    return result


def _binary(node: Binary, a: _Val, b: _Val) -> _Val:
    op = node.op
    if op in _ARITHMETIC:
        return _arithmetic(node, a, b)
    if op in ("in", "not in"):
        if b is not None and not isinstance(b, tuple):
            raise ExpressionEvalError(f"'{op}' needs a list, got {_kind(b)}", node.offset)
        if a is None or b is None:
            return False
        return any(_equal(a, item, node.offset) for item in b) == (op == "in")
    if op in ("==", "!=") and _NULL in (node.left, node.right):
        return ((a is None) == (b is None)) == (op == "==")
    if a is None or b is None:
        return False
    if op in ("==", "!="):
        return _equal(a, b, node.offset) == (op == "==")
    if _kind(a) != _kind(b) or isinstance(a, bool | tuple):
        raise ExpressionEvalError(
            f"cannot order {_kind(a)} and {_kind(b)} with '{op}'", node.offset
        )
    return bool(_ORDERING[op](a, b))


def _eval(node: Node, env: Mapping[str, object], baseline: Mapping[str, object] | None) -> _Val:
    match node:
        case Literal(value=value):
            return value
        case Name(name=name, baseline=is_baseline):
            scope, label = (baseline, f"baseline.{name}") if is_baseline else (env, name)
            if scope is None:
                raise ExpressionEvalError(f"{label} is not available here", node.offset)
            if name not in scope:
                raise ExpressionEvalError(f"unknown name '{label}'", node.offset)
            return _coerce(scope[name], label)
        case ListLit(items=items):
            return tuple(_eval(item, env, baseline) for item in items)
        case Unary(op="not", operand=operand):
            return not _truth(_eval(operand, env, baseline), node)
        case Unary(operand=operand):
            return _arithmetic(node, Decimal(0), _eval(operand, env, baseline))
        case Binary(op="and" | "or", left=left, right=right):
            first = _truth(_eval(left, env, baseline), node)
            if first == (node.op == "or"):
                return first
            return _truth(_eval(right, env, baseline), node)
        case Binary(left=left, right=right):
            return _binary(node, _eval(left, env, baseline), _eval(right, env, baseline))
    raise AssertionError(f"unknown node {node!r}")


def _prec(node: Node) -> int:
    if isinstance(node, Binary):
        return _PREC[node.op]
    if isinstance(node, Unary):
        return 3 if node.op == "not" else 7
    return 8


def _wrap(node: Node, least: int) -> str:
    return f"({_render(node)})" if _prec(node) < least else _render(node)


def _render(node: Node) -> str:
    match node:
        case Literal(value=bool() | None as value):
            return {True: "true", False: "false", None: "null"}[value]
        case Literal(value=str() as value):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        case Literal(value=Decimal() as value):
            return format(value, "f")  # str() would write 0.0000001 as 1E-7
        case Name(name=name, baseline=is_baseline):
            return f"baseline.{name}" if is_baseline else name
        case ListLit(items=items):
            return "[" + ", ".join(_render(item) for item in items) + "]"
        case Unary(op=op, operand=operand):
            return "-" + _wrap(operand, 7) if op == "-" else "not " + _wrap(operand, 3)
        case Binary(op=op, left=left, right=right):
            # Comparison operands are additive. Elsewhere a right operand of equal
            # precedence keeps its parentheses: a - (b - c) differs from a - b - c.
            prec = _PREC[op]
            least_left, least_right = (5, 5) if prec == 4 else (prec, prec + 1)
            symbol = _RENDERED.get(op, op)
            return f"{_wrap(left, least_left)} {symbol} {_wrap(right, least_right)}"
    raise AssertionError(f"cannot render {node!r}")


def _walk(node: Node) -> Iterator[Node]:
    yield node
    children: tuple[Node, ...] = ()
    if isinstance(node, Unary):
        children = (node.operand,)
    elif isinstance(node, Binary):
        children = (node.left, node.right)
    elif isinstance(node, ListLit):
        children = node.items
    for child in children:
        yield from _walk(child)


@dataclass(frozen=True)
class Expr:
    """A parsed expression: the text it came from and its tree."""

    text: str
    node: Node

    def name_offsets(self) -> tuple[tuple[str, bool, int], ...]:
        """(name, is_baseline, offset) for every reference, in source order."""
        nodes = _walk(self.node)
        return tuple((n.name, n.baseline, n.offset) for n in nodes if isinstance(n, Name))

    def names(self) -> frozenset[str]:
        return frozenset(name for name, is_baseline, _ in self.name_offsets() if not is_baseline)

    def baseline_names(self) -> frozenset[str]:
        return frozenset(name for name, is_baseline, _ in self.name_offsets() if is_baseline)

    def evaluate(
        self, env: Mapping[str, object], baseline: Mapping[str, object] | None = None
    ) -> Value:
        """The value over `env`; ints become Decimal, floats raise TypeError."""
        with decimal.localcontext(_CONTEXT):
            result = _eval(self.node, env, baseline)
        if isinstance(result, tuple):
            raise ExpressionEvalError("the expression gives a list, not a value", 0)
        return result

    def evaluate_bool(
        self, env: Mapping[str, object], baseline: Mapping[str, object] | None = None
    ) -> bool:
        """True only if the value is True; None (unknown) counts as False.

        A number or text means the expression is no condition at all -- a contract
        mistake -- so that raises ExpressionEvalError rather than guessing.
        """
        result = self.evaluate(env, baseline)
        if result is None or isinstance(result, bool):
            return result is True
        raise ExpressionEvalError(f"expected true/false, but the value is {_kind(result)}", 0)

    def render(self) -> str:
        """Canonical text with ≤ ≥ ≠ and only the parentheses the meaning needs."""
        return _render(self.node)


def parse(text: str) -> Expr:
    """Parse `text`; raises ExpressionError with the offset of the problem."""
    return Expr(text, _Parser(text).parse())


def check_names(
    expr: Expr, allowed: Collection[str], allowed_baseline: Collection[str] | None
) -> list[tuple[str, int]]:
    """(message, offset) for the first reference to each name that is not allowed."""
    problems: list[tuple[str, int]] = []
    seen: set[tuple[str, bool]] = set()
    for name, is_baseline, offset in expr.name_offsets():
        if (name, is_baseline) in seen:
            continue
        seen.add((name, is_baseline))
        if is_baseline and allowed_baseline is None:
            problems.append((f"baseline.{name} is not available here", offset))
            continue
        pool = allowed_baseline if is_baseline and allowed_baseline is not None else allowed
        if name not in pool:
            prefix = "baseline." if is_baseline else ""
            close = difflib.get_close_matches(name, sorted(pool), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
            problems.append((f"unknown name '{prefix}{name}'{hint}", offset))
    return problems


# 'month' is left out on purpose: how a month is represented is the loader's business.
_COLUMN_KINDS = {"text": "text", "enum": "text", "integer": "a number", "decimal": "a number"}
_COLUMN_KINDS.update(date="a date", boolean="true/false")


def static_type_errors(expr: Expr, types: Mapping[str, str]) -> list[tuple[str, int]]:
    """Best effort: (message, offset) for operations that cannot work on these columns.

    `types` maps column names (plain and baseline alike) to column types; unknown
    names, null and month columns are not checked.
    """
    errors: list[tuple[str, int]] = []

    def need(kind: str | None, wanted: str, node: Unary | Binary) -> str:
        if kind is not None and kind != wanted:
            errors.append((f"'{node.op}' needs {wanted}, got {kind}", node.offset))
        return wanted

    def compare(a: str | None, b: str | None, op: str, offset: int) -> None:
        if a is not None and b is not None and a != b:
            errors.append((f"cannot compare {a} with {b}", offset))
        elif a == "true/false" and op in _ORDERING:
            errors.append((f"cannot order true/false with '{op}'", offset))

    def kind(node: Node) -> str | None:
        match node:
            case Literal(value=value):
                return None if value is None else _kind(value)
            case Name(name=name):
                return _COLUMN_KINDS.get(types.get(name, ""))
            case Unary(op=op, operand=operand):
                return need(kind(operand), "a number" if op == "-" else "true/false", node)
            case Binary(op="in" | "not in", left=left, right=ListLit(items=items)):
                a = kind(left)
                for item in items:
                    compare(a, kind(item), node.op, item.offset)
                return "true/false"
            case Binary(op=op, left=left, right=right):
                a, b = kind(left), kind(right)
                if op in _ARITHMETIC or op in ("and", "or"):
                    need(a, wanted := "a number" if op in _ARITHMETIC else "true/false", node)
                    return need(b, wanted, node)
                if op not in ("in", "not in"):
                    compare(a, b, op, node.offset)
                return "true/false"
        return None

    kind(expr.node)
    return errors
