"""Tests for the contract expression language (contracts/expressions.py)."""

from __future__ import annotations

import contextlib
import datetime
import decimal
import pickle
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.expressions import (
    Binary,
    Expr,
    ExpressionError,
    ExpressionEvalError,
    ListLit,
    Literal,
    Name,
    Unary,
    check_names,
    parse,
    static_type_errors,
)

# No example database: the tests must not leave files in the checkout.
PROPERTY = settings(database=None, deadline=None, max_examples=300)

ENV = {
    "a": Decimal("7"),
    "b": Decimal("2"),
    "s": "intervention",
    "t": "control",
    "d1": datetime.date(2025, 1, 31),
    "d2": datetime.date(2025, 2, 1),
    "yes": True,
    "no": False,
    "missing": None,
}


def ev(text: str, env: dict[str, object] | None = None) -> object:
    return parse(text).evaluate(ENV if env is None else env)


# --- precedence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("10 - 4 - 3", Decimal(3)),
        ("10 - (4 - 3)", Decimal(9)),
        ("24 / 4 / 2", Decimal(3)),
        ("24 / (4 / 2)", Decimal(12)),
        ("-2 * 3", Decimal(-6)),
        ("- 2 + 3", Decimal(1)),
        ("-(2 + 3)", Decimal(-5)),
        ("2 - -3", Decimal(5)),
        ("--4", Decimal(4)),
        ("1 + 1 == 2", True),
        ("not true or true", True),
        ("not (true or true)", False),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("false and true or true", True),
        ("not 1 > 2", True),
        ("not not true", True),
        ("1 + 1 == 2 and 3 > 2 * 1", True),
        ("not 3 in [1, 2]", True),
    ],
)
def test_precedence(text: str, expected: object) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "a or b and c",
            Binary(
                "or",
                Name("a", False, 0),
                Binary("and", Name("b", False, 0), Name("c", False, 0), 0),
                0,
            ),
        ),
        (
            "not a == b",
            Unary("not", Binary("==", Name("a", False, 0), Name("b", False, 0), 0), 0),
        ),
        (
            "-a * b",
            Binary("*", Unary("-", Name("a", False, 0), 0), Name("b", False, 0), 0),
        ),
        (
            "a - b - c",
            Binary(
                "-",
                Binary("-", Name("a", False, 0), Name("b", False, 0), 0),
                Name("c", False, 0),
                0,
            ),
        ),
        (
            'g not in ["A"]',
            Binary("not in", Name("g", False, 0), ListLit((Literal("A", 0),), 0), 0),
        ),
    ],
)
def test_tree_shape(text: str, tree: object) -> None:
    assert parse(text).node == tree


# --- every operator -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b", Decimal(9)),
        ("a - b", Decimal(5)),
        ("a * b", Decimal(14)),
        ("a / b", Decimal("3.5")),
        ("-a", Decimal(-7)),
        ("a == 7", True),
        ("a != 7", False),
        ("a ≠ 7", False),
        ("a < b", False),
        ("a <= 7", True),
        ("a ≤ 6", False),
        ("a > b", True),
        ("a >= 8", False),
        ("a ≥ 7", True),
        ('s == "intervention"', True),
        ("s == 'intervention'", True),
        ('s == "Intervention"', False),
        ("s != t", True),
        ("t < s", True),
        ("d1 < d2", True),
        ("d1 == d2", False),
        ("d1 != d2", True),
        ("a in [1, 7]", True),
        ("a in []", False),
        ("a not in [1, 7]", False),
        ('s in ["control", "x"]', False),
        ('s not in ["control"]', True),
        ("a in [b + 5, 100]", True),
        ("yes and no", False),
        ("yes and yes", True),
        ("yes or no", True),
        ("no or no", False),
        ("not no", True),
        ("yes == true", True),
        ("no != false", False),
        ("baseline.a > a", True),
    ],
)
def test_every_operator(text: str, expected: object) -> None:
    assert parse(text).evaluate(ENV, {"a": Decimal(8)}) == expected


def test_decimal_exactness() -> None:
    assert ev("0.1 + 0.2 == 0.3") is True
    assert ev("0.1 * 3") == Decimal("0.3")
    assert str(ev("1.10 + 2.205")) == "3.305"
    literal = ev("0.80")
    assert isinstance(literal, Decimal) and str(literal) == "0.80"
    assert ev("1 / 3 * 3") == Decimal("0.9999999999999999999999999999")


def test_precision_ignores_the_callers_decimal_context() -> None:
    with decimal.localcontext() as ctx:
        ctx.prec = 5
        result = ev("1 / 3")
        assert decimal.getcontext().prec == 5
    assert result == Decimal("0.3333333333333333333333333333")


def test_env_conversions() -> None:
    result = ev("n / 4", {"n": 10})
    assert result == Decimal("2.5") and isinstance(result, Decimal)
    with pytest.raises(TypeError, match="float"):
        ev("x > 1", {"x": 1.5})
    with pytest.raises(TypeError):
        ev("x > 1", {"x": datetime.datetime(2025, 1, 1)})
    with pytest.raises(TypeError):
        ev("x > 1", {"x": Decimal("NaN")})
    # Unreferenced values are never looked at, so a stray float elsewhere is harmless.
    assert ev("x > 1", {"x": 2, "y": 0.5}) is True
    with pytest.raises(ExpressionEvalError) as err:
        ev("flag + 1", {"flag": True})  # bool is not a number
    assert err.value.offset == 5


def test_list_valued_name() -> None:
    assert ev("code in allowed", {"code": "B", "allowed": ["A", "B"]}) is True
    assert ev("code not in allowed", {"code": "C", "allowed": ("A", "B")}) is True
    assert ev("code in allowed", {"code": "B", "allowed": None}) is False
    with pytest.raises(ExpressionEvalError, match="needs a list"):
        ev("a in s")
    with pytest.raises(ExpressionEvalError, match="list"):
        ev("allowed", {"allowed": ["A"]})


# --- None semantics -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("missing + 1", None),
        ("1 - missing", None),
        ("missing * 0", None),
        ("-missing", None),
        ("a / 0", None),
        ("a / (b - 2)", None),
        ("(a / 0) > 1", False),
        ("missing == 1", False),
        ("missing != 1", False),
        ("missing < 1", False),
        ("missing >= 1", False),
        ("missing == missing", False),
        ("missing == null", True),
        ("null == missing", True),
        ("missing != null", False),
        ("a == null", False),
        ("a != null", True),
        ("null == null", True),
        ("(a / 0) == null", True),
        ("missing in [1, null]", False),
        ("missing not in [1]", False),
        ("a in [null]", False),
        ("not (missing > 1)", True),
        ("missing > 1 or yes", True),
        ("missing and yes", False),
        ("not missing", True),
        ("missing or missing", False),
        ("null", None),
    ],
)
def test_none_semantics(text: str, expected: object) -> None:
    assert ev(text) == expected


def test_evaluate_bool() -> None:
    assert parse("missing > 1").evaluate_bool(ENV) is False
    assert parse("missing").evaluate_bool(ENV) is False
    assert parse("a > 1").evaluate_bool(ENV) is True
    with pytest.raises(ExpressionEvalError, match="true/false"):
        parse("a + 1").evaluate_bool(ENV)


# --- evaluation errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("s + 1", 2, "'+' needs numbers, got text"),
        ("-s", 0, "'-' needs numbers"),
        ("yes * 2", 4, "got true/false"),
        ("a < s", 2, "cannot order a number and text"),
        ("yes < no", 4, "cannot order"),
        ('d1 == "2025-01-31"', 3, "cannot compare a date with text"),
        ("d1 < s", 3, "cannot order a date and text"),
        ('d1 in ["2025-01-31"]', 3, "date"),
        ("a and yes", 2, "'and' needs true/false, got a number"),
        ("no or a", 3, "'or' needs true/false"),
        ("not a", 0, "'not' needs true/false"),
        ("nope > 1", 0, "unknown name 'nope'"),
        ("1 + baseline.x", 4, "baseline.x is not available here"),
    ],
)
def test_evaluation_errors(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(ExpressionEvalError) as err:
        ev(text)
    assert err.value.offset == offset
    assert fragment in err.value.message


def test_mixed_equality_is_false_not_an_error() -> None:
    assert ev("a == s") is False
    assert ev("a != s") is True
    assert ev("a == yes") is False  # True == Decimal(1) in Python; not here
    assert ev("x == true", {"x": Decimal(1)}) is False


def test_and_or_short_circuit() -> None:
    assert ev("yes or a") is True
    assert ev("no and a") is False
    assert ev("no and baseline.x > 1") is False


def test_baseline_lookup() -> None:
    expr = parse('baseline.grade_math == "F" and grade_math in ["A", "B", "C", "D", "E"]')
    assert expr.evaluate_bool({"grade_math": "C"}, {"grade_math": "F"}) is True
    assert expr.evaluate_bool({"grade_math": "F"}, {"grade_math": "F"}) is False
    with pytest.raises(ExpressionEvalError, match=r"unknown name 'baseline\.grade_math'"):
        expr.evaluate({"grade_math": "C"}, {})


# --- syntax errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("a >> b", 2, "'>>' is not an operator"),
        ("a = b", 2, "did you mean '=='"),
        ("a =< b", 2, "did you mean '<='"),
        ("a <> b", 2, "did you mean '!='"),
        ('"unterminated', 0, "unterminated string"),
        ("x == 'abc", 5, "unterminated string"),
        ('x == "a\\n"', 7, "may be escaped"),
        ("a < b < c", 6, "cannot be chained"),
        ("a == b != c", 7, "cannot be chained"),
        ("x in [1, 2] == true", 12, "cannot be chained"),
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("a b", 2, "unexpected name 'b'"),
        ("a == 1 )", 7, "no '(' to close"),
        ("a not b", 2, "unexpected 'not'"),
        ("(a + 1", 6, "expected ')'"),
        ("a +", 3, "expected a value, found the end"),
        ("a * * b", 4, "expected a value, found '*'"),
        (".5", 0, "0.5"),
        ("1.", 2, "digits after the decimal point"),
        ("a € b", 2, "unexpected character '€'"),
        ("[1, 2]", 0, "may only follow 'in'"),
        ("x in 1 + 2", 5, "needs a list"),
        ("x in [1, 2", 10, "expected ']'"),
        ("x in [1 2]", 8, "expected ']'"),
        ("baseline.1", 9, "expected a name after 'baseline.'"),
        ("baseline x", 9, "expected '.'"),
        ("NOT x", 4, "unexpected name 'x'"),
        ("a and", 5, "expected a value"),
        ("(" * 41 + "a" + ")" * 41, 40, "nested too deeply"),
        (" + ".join(["a"] * 202), 802, "too long"),
    ],
)
def test_syntax_errors(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as err:
        parse(text)
    assert err.value.offset == offset
    assert fragment in err.value.message
    assert not isinstance(err.value, ExpressionEvalError)


def test_error_object() -> None:
    with pytest.raises(ExpressionError) as err:
        parse("a = b")
    assert str(err.value) == err.value.message
    copy = pickle.loads(pickle.dumps(err.value))
    assert (copy.message, copy.offset) == (err.value.message, err.value.offset)
    assert issubclass(ExpressionEvalError, ExpressionError)


# --- names --------------------------------------------------------------------------


def test_names_and_offsets() -> None:
    expr = parse('baseline.grade_math == "F" and grade_math in ["A", "B"] and n + baseline.n > 0')
    assert expr.names() == {"grade_math", "n"}
    assert expr.baseline_names() == {"grade_math", "n"}
    assert expr.name_offsets() == (
        ("grade_math", True, 0),
        ("grade_math", False, 31),
        ("n", False, 60),
        ("n", True, 64),
    )


def test_keywords_are_case_sensitive_and_names_may_be_swedish() -> None:
    assert parse("True and x").names() == {"True", "x"}
    expr = parse("elevens_ålder >= 7 and hälsa == 'god' and _x2 == null")
    assert expr.names() == {"elevens_ålder", "hälsa", "_x2"}
    env = {"elevens_ålder": 9, "hälsa": "god", "_x2": None}
    assert expr.evaluate_bool(env) is True


COLUMNS = {"short_sick_hours", "long_sick_hours", "scheduled_hours", "grade_math"}


@pytest.mark.parametrize(
    ("text", "baseline", "expected"),
    [
        (
            "short_sick_hour + long_sick_hours <= scheduled_hours",
            None,
            [("unknown name 'short_sick_hour' (did you mean 'short_sick_hours'?)", 0)],
        ),
        ("zzz > 1", None, [("unknown name 'zzz'", 0)]),
        ('baseline.grade_math == "F"', None, [("baseline.grade_math is not available here", 0)]),
        (
            'grade_math == "A" and baseline.grade_mat == "F"',
            {"grade_math"},
            [("unknown name 'baseline.grade_mat' (did you mean 'baseline.grade_math'?)", 22)],
        ),
        (
            "qq + qq > grade_maths + qq",
            set(),
            [
                ("unknown name 'qq'", 0),
                ("unknown name 'grade_maths' (did you mean 'grade_math'?)", 10),
            ],
        ),
        ("grade_math == baseline.grade_math", {"grade_math"}, []),
    ],
)
def test_check_names(text: str, baseline: set[str] | None, expected: list[tuple[str, int]]) -> None:
    assert check_names(parse(text), COLUMNS, baseline) == expected


# --- static types -------------------------------------------------------------------

TYPES = {"grade": "text", "n": "integer", "d": "date", "flag": "boolean", "m": "month"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("grade == 5", [("cannot compare text with a number", 6)]),
        ("grade + 1 > 2", [("'+' needs a number, got text", 6)]),
        ('d == "2025-01-01"', [("cannot compare a date with text", 2)]),
        ('grade in ["A", 1]', [("cannot compare text with a number", 15)]),
        ("flag < true", [("cannot order true/false with '<'", 5)]),
        ("not n", [("'not' needs true/false, got a number", 0)]),
        ("n and flag", [("'and' needs true/false, got a number", 2)]),
        ("-grade", [("'-' needs a number, got text", 0)]),
        ("n > 1 and flag and grade in ['A'] and d < baseline.d", []),
        ('m == "2025-03" and unknown == 3 and grade != null', []),
    ],
)
def test_static_type_errors(text: str, expected: list[tuple[str, int]]) -> None:
    assert static_type_errors(parse(text), TYPES) == expected


# --- render -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        (
            "short_sick_hours+long_sick_hours<=scheduled_hours",
            "short_sick_hours + long_sick_hours ≤ scheduled_hours",
        ),
        ("grade_math in ['A','B']", 'grade_math in ["A", "B"]'),
        ("a!=b", "a ≠ b"),
        ("care_plan_share >= 0.80", "care_plan_share ≥ 0.80"),
        ("((a))", "a"),
        ("not(a)", "not a"),
        ("(a + b) * c", "(a + b) * c"),
        ("a + (b * c)", "a + b * c"),
        ("(a - b) - c", "a - b - c"),
        ("a - (b - c)", "a - (b - c)"),
        ("a / (b * c)", "a / (b * c)"),
        ("-(a + b)", "-(a + b)"),
        ("-(a * b)", "-(a * b)"),
        ("(-a) * b", "-a * b"),
        ("not (a or b) and c", "not (a or b) and c"),
        ("(a and b) or c", "a and b or c"),
        ("a and (b or c)", "a and (b or c)"),
        ("(not a) == b", "(not a) == b"),
        ("(a < b) == true", "(a < b) == true"),
        ("(a in [1]) != false", "(a in [1]) ≠ false"),
        ("x not in [1, 2.50, 'q', null, true]", 'x not in [1, 2.50, "q", null, true]'),
        ("'say \"hi\"'", '"say \\"hi\\""'),
        ("'back\\\\slash'", '"back\\\\slash"'),
        ("0.0000001", "0.0000001"),
        ("baseline . x", "baseline.x"),
    ],
)
def test_render(text: str, rendered: str) -> None:
    assert parse(text).render() == rendered
    assert parse(rendered).render() == rendered
    assert parse(rendered).node == parse(text).node


ROUND_TRIP = [
    "short_sick_hours + long_sick_hours <= scheduled_hours",
    'group == "intervention"',
    'baseline.grade_math == "F" and grade_math in ["A","B","C","D","E"]',
    "attendance_pct >= 90",
    "care_plan_share >= 0.80",
    "not (x > 1) or y != null and -z * (2 - w) / 3 < 4",
    "a - -b - (c - d)",
    "x in [1 + 2, (3), -4, y * 2]",
    "not not not a",
    "a == (b == c)",
    "((a or b) and (c or d)) or not (e and f)",
    "'it\\'s' == s",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_render_round_trip(text: str) -> None:
    expr = parse(text)
    again = parse(expr.render())
    assert again.render() == expr.render()
    assert again.node == expr.node


# --- properties ---------------------------------------------------------------------


arithmetic = st.recursive(
    st.integers(min_value=0, max_value=20).map(lambda n: ("num", n)),
    lambda inner: st.one_of(
        inner.map(lambda t: ("neg", t)),
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), inner, inner),
    ),
    max_leaves=12,
)


def arithmetic_text(tree: tuple) -> str:
    if tree[0] == "num":
        return str(tree[1])
    if tree[0] == "neg":
        return f"-({arithmetic_text(tree[1])})"
    return f"({arithmetic_text(tree[1])} {tree[0]} {arithmetic_text(tree[2])})"


def reference(tree: tuple) -> Decimal | None:
    if tree[0] == "num":
        return Decimal(tree[1])
    if tree[0] == "neg":
        value = reference(tree[1])
        return None if value is None else -value
    a, b = reference(tree[1]), reference(tree[2])
    if a is None or b is None or (tree[0] == "/" and b == 0):
        return None
    if tree[0] == "+":
        return a + b
    if tree[0] == "-":
        return a - b
    return a * b if tree[0] == "*" else a / b


@PROPERTY
@given(arithmetic)
def test_arithmetic_matches_python_decimal(tree: tuple) -> None:
    with decimal.localcontext(decimal.Context(prec=28)):
        expected = reference(tree)
    expr = parse(arithmetic_text(tree))
    result = expr.evaluate({})
    assert result == expected
    if expected:  # same digits and exponent, not merely equal (-0 vs 0 aside)
        assert isinstance(result, Decimal) and result.as_tuple() == expected.as_tuple()
    assert parse(expr.render()).evaluate({}) == expected


names = st.sampled_from(["a", "b", "grade_math", "ålder", "x1", "_y"])
leaves = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(lambda n: Literal(Decimal(n), 0)),
    st.decimals(min_value=0, max_value=1000, places=3)
    .filter(lambda d: not d.is_signed())
    .map(lambda d: Literal(d, 0)),
    st.text(max_size=6).map(lambda s: Literal(s, 0)),
    st.sampled_from([True, False, None]).map(lambda v: Literal(v, 0)),
    st.builds(Name, names, st.booleans(), st.just(0)),
)
BINARY_OPS = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/"]


def _extend(inner: st.SearchStrategy) -> st.SearchStrategy:
    in_ops = st.sampled_from(["in", "not in"])
    return st.one_of(
        st.builds(Unary, st.sampled_from(["-", "not"]), inner, st.just(0)),
        st.builds(Binary, st.sampled_from(BINARY_OPS), inner, inner, st.just(0)),
        st.builds(
            lambda op, left, items: Binary(op, left, ListLit(tuple(items), 0), 0),
            in_ops,
            inner,
            st.lists(inner, max_size=3),
        ),
        st.builds(
            lambda op, left, name: Binary(op, left, name, 0),
            in_ops,
            inner,
            names.map(lambda n: Name(n, False, 0)),
        ),
    )


trees = st.recursive(leaves, _extend, max_leaves=15)


@PROPERTY
@given(trees)
def test_render_parses_back_to_the_same_tree(tree: object) -> None:
    rendered = Expr("", tree).render()  # type: ignore[arg-type]
    assert parse(rendered).node == tree
    assert parse(rendered).render() == rendered


ALPHABET = "ab x1.0()[],'\"\\=<>!+-*/≤≥≠ånotrudlsein_€\n"
VALUES = st.sampled_from(
    [Decimal(0), Decimal("1.5"), "A", True, False, None, datetime.date(2025, 1, 1), ["A", 1]]
)


def _fuzz(text: str, data: st.DataObject) -> None:
    try:
        expr = parse(text)
    except ExpressionError as err:
        assert 0 <= err.offset <= len(text)
        return
    assert parse(expr.render()).node == expr.node
    env = {name: data.draw(VALUES) for name in sorted(expr.names())}
    baseline = {name: data.draw(VALUES) for name in sorted(expr.baseline_names())}
    try:
        expr.evaluate(env, baseline)
    except ExpressionEvalError as err:
        assert 0 <= err.offset <= len(text)
    check_names(expr, ["a", "b"], None)
    static_type_errors(expr, {"a": "text", "b": "integer", "x": "date", "s": "boolean"})


@PROPERTY
@given(st.text(), st.data())
def test_arbitrary_text_only_raises_expression_error(text: str, data: st.DataObject) -> None:
    _fuzz(text, data)


@PROPERTY
@given(st.text(alphabet=ALPHABET, max_size=40), st.data())
def test_expression_like_text_only_raises_expression_error(text: str, data: st.DataObject) -> None:
    _fuzz(text, data)


@PROPERTY
@given(
    st.lists(st.sampled_from(["not", "-", "(", "a", "+", ")", "in", "[", "]", "and"]), max_size=300)
)
def test_long_and_deep_token_soup_only_raises_expression_error(words: list[str]) -> None:
    with contextlib.suppress(ExpressionError):
        parse(" ".join(words)).evaluate({"a": Decimal(1)})
