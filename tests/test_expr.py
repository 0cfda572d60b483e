"""The expression language: allow-list, binding, and scalar/vector agreement (IEEE-754)."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import string
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from steppe.errors import ExpressionError
from steppe.model.expr import (
    MATH_FUNCTIONS,
    STATE_FUNCTIONS,
    Symbol,
    compile_expression,
    parse_expression,
)

INF, NAN = math.inf, math.nan
SYMBOLS = {
    "a": Symbol("param", 0),
    "b": Symbol("param", 1),
    "c": Symbol("param", 2),
    "shock": Symbol("event", 0),
    "war": Symbol("event", 1),
    "rail": Symbol("project", 0),
    "UZ.borders_afghanistan": Symbol("const", value=1.0),
}
#: Values every operator is tried on: signed zeros, infinities, NaN, tiny and huge numbers.
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e308, -1e-300, INF, -INF, NAN]
GRID = np.array(list(itertools.product(SPECIAL, repeat=3)), dtype=np.float64)


class NS:
    """The namespace an expression reads: parameters ``p``, time ``t``, event counts ``n``..."""

    def __init__(self, p: list[Any], **state: Any) -> None:
        self.p = p
        self.t = state.get("t", 0.0)
        self.n = state.get("n")
        self.a = state.get("a")
        self.g = state.get("g")
        self.done = state.get("done")
        self.c = state.get("c")


def scalar(source: str, a: float = 0.0, b: float = 0.0, c: float = 0.0) -> float:
    fn = compile_expression(parse_expression(source), SYMBOLS, mode="scalar")
    return float(fn(NS([a, b, c])))


def evaluate_both(source: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``source`` row by row in scalar mode and once in vector mode."""
    expr = parse_expression(source)
    fs = compile_expression(expr, SYMBOLS, mode="scalar")
    fv = compile_expression(expr, SYMBOLS, mode="vector")
    got_s = np.array([float(fs(NS([float(x) for x in row]))) for row in rows])
    with np.errstate(all="ignore"):
        cols = [np.ascontiguousarray(rows[:, j]) for j in range(3)]
        got_v = np.broadcast_to(np.asarray(fv(NS(cols)), dtype=np.float64), (len(rows),))
    return got_s, np.array(got_v)


def assert_same(got_s: np.ndarray, got_v: np.ndarray, rows: np.ndarray, source: str) -> None:
    """Equal elementwise, NaN equal to NaN, signed infinities equal, relative error <= 1e-12."""
    both_nan = np.isnan(got_s) & np.isnan(got_v)
    with np.errstate(all="ignore"):
        close = (got_s == got_v) | (np.abs(got_s - got_v) <= 1e-12 * np.abs(got_s))
    bad = ~(both_nan | close)
    assert not bad.any(), (
        f"{source!r}: scalar {got_s[bad][:3]} != vector {got_v[bad][:3]} "
        f"for (a, b, c) = {rows[bad][:3].tolist()}"
    )


# ---------------------------------------------------------------------------------------
# Every operator and function, scalar and vector, on special values
# ---------------------------------------------------------------------------------------

OPERATIONS = [
    "a + b", "a - b", "a * b", "a / b", "a ** b", "-a", "+a", "not a",
    "a < b", "a <= b", "a > b", "a >= b", "a == b", "a != b",
    "a < b < c", "a <= b > c", "a == b == c",
    "a and b", "a or b", "a and b and c", "a or b or c", "a and b or c", "not a or b",
    "b if a else c", "a if a > b else c",
    "min(a, b)", "max(a, b)", "min(a, b, c)", "max(a, b, c)",
    "exp(a)", "log(a)", "sqrt(a)", "abs(a)", "floor(a)", "ceil(a)", "clip(a, b, c)",
    # signed zeros must survive: 1 / -0.0 is -inf in both modes
    "1 / min(a, b)", "1 / max(a, b)", "1 / ceil(a)", "1 / floor(a)", "1 / clip(a, b, c)",
    "True + a", "False * a", "2 * a + 3", "a ** 2", "a ** 0.5", "2 ** a", "a ** -1",
    "UZ.borders_afghanistan * a",
]  # fmt: skip


@pytest.mark.parametrize("source", OPERATIONS)
def test_scalar_and_vector_modes_agree_on_special_values(source: str) -> None:
    got_s, got_v = evaluate_both(source, GRID)
    assert_same(got_s, got_v, GRID, source)


def test_every_math_function_is_covered() -> None:
    used = {name for op in OPERATIONS for name in re.findall(r"([a-z]+)\(", op)}
    assert used == set(MATH_FUNCTIONS)


@pytest.mark.parametrize(
    ("source", "a", "b", "expected"),
    [
        ("a / b", 1.0, 0.0, INF),
        ("a / b", -1.0, 0.0, -INF),
        ("a / b", 1.0, -0.0, -INF),
        ("a / b", 0.0, 0.0, NAN),
        ("a / b", INF, INF, NAN),
        ("log(a)", 0.0, 0, -INF),
        ("log(a)", -1.0, 0, NAN),
        ("sqrt(a)", -1.0, 0, NAN),
        ("exp(a)", 1000.0, 0, INF),
        ("exp(a)", -INF, 0, 0.0),
        ("a ** b", 10.0, 400.0, INF),
        ("a ** b", -10.0, 401.0, -INF),
        ("a ** b", 0.0, -1.0, INF),
        ("a ** b", -0.0, -1.0, -INF),
        ("a ** b", -0.0, -2.0, INF),
        ("a ** b", -8.0, 1 / 3, NAN),
        ("a ** b", NAN, 0.0, 1.0),
        ("a * b", 1e308, 10.0, INF),
        ("a - b", INF, INF, NAN),
        ("min(a, b)", NAN, 1.0, NAN),
        ("min(a, b)", 1.0, NAN, NAN),
        ("max(a, b)", NAN, 1.0, NAN),
        ("max(a, b)", 1.0, NAN, NAN),
        ("clip(a, 0, 1)", NAN, 0, NAN),
        ("clip(a, 0, 1)", 5.0, 0, 1.0),
        ("floor(a)", -0.5, 0, -1.0),
        ("ceil(a)", INF, 0, INF),
        ("abs(a)", -INF, 0, INF),
    ],
)
def test_ieee_semantics(source: str, a: float, b: float, expected: float) -> None:
    rows = np.array([[a, b, 0.0]])
    got_s, got_v = evaluate_both(source, rows)
    for got in (got_s[0], got_v[0]):
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == expected
            assert math.copysign(1, got) == math.copysign(1, expected)


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("a < b < c", (1, 2, 3), 1.0),
        ("a < b < c", (1, 3, 2), 0.0),
        ("a < b > c", (1, 3, 2), 1.0),
        ("a == b == c", (2, 2, 2), 1.0),
        ("a == b == c", (2, 2, 3), 0.0),
        ("a < b", (NAN, 1, 0), 0.0),
        ("a != b", (NAN, NAN, 0), 1.0),
        ("a and b", (2, 3, 0), 1.0),  # 1.0, not Python's 3
        ("a and b", (2, 0, 0), 0.0),
        ("a or b", (0, 5, 0), 1.0),  # 1.0, not Python's 5
        ("a or b", (0, 0, 0), 0.0),
        ("a or b", (0, -0.0, 0), 0.0),
        ("a and b", (NAN, 1, 0), 1.0),  # NaN is true, as in Python and numpy
        ("not a", (NAN, 0, 0), 0.0),
        ("not a", (0, 0, 0), 1.0),
        ("not a", (-2, 0, 0), 0.0),
        ("b if a else c", (1, 10, 20), 10.0),
        ("b if a else c", (0, 10, 20), 20.0),
        ("b if a > 0 else c if a < 0 else 0", (-1, 10, 20), 20.0),
        ("b if a > 0 else c if a < 0 else 0", (0, 10, 20), 0.0),
        ("True", (0, 0, 0), 1.0),
        ("False or a", (0, 0, 0), 0.0),
    ],
)
def test_logic_returns_one_or_zero(
    source: str, values: tuple[float, float, float], expected: float
) -> None:
    rows = np.array([values], dtype=np.float64)
    got_s, got_v = evaluate_both(source, rows)
    assert got_s[0] == expected
    assert got_v[0] == expected


def test_scalar_ternary_evaluates_only_the_chosen_branch() -> None:
    # log(-1) would be NaN; the scalar engine must not evaluate the branch not taken.
    assert scalar("1 if a > 0 else log(a)", a=2.0) == 1.0


def test_vector_mode_returns_arrays_of_the_right_shape() -> None:
    fv = compile_expression(parse_expression("a * 2 + b"), SYMBOLS, mode="vector")
    out = fv(NS([np.arange(4.0), np.ones(4), np.zeros(4)]))
    np.testing.assert_array_equal(out, [1.0, 3.0, 5.0, 7.0])


def test_state_functions_read_the_namespace() -> None:
    ns = NS([0.0, 0.0, 0.0], n=[2.0, 0.0], a=[1.0, 0.0], g=[1.0], done=[0.0], c=[1.0])
    cases = {
        "occurred(shock)": 1.0,
        "occurred(war)": 0.0,
        "count(shock)": 2.0,
        "active(shock)": 1.0,
        "active(war)": 0.0,
        "n_occurred(shock, war)": 1.0,
        "any_occurred(shock, war)": 1.0,
        "all_occurred(shock, war)": 0.0,
        "all_occurred(shock)": 1.0,
        "stage(rail)": 1.0,
        "completed(rail)": 0.0,
        "cancelled(rail)": 1.0,
    }
    assert set(STATE_FUNCTIONS) == {re.sub(r"\(.*", "", k) for k in cases}
    for source, expected in cases.items():
        for mode in ("scalar", "vector"):
            fn = compile_expression(parse_expression(source), SYMBOLS, mode=mode)
            assert float(fn(ns)) == expected, (source, mode)


def test_constant_parts_are_folded() -> None:
    fn = compile_expression(parse_expression("2 * 3 + 1"), SYMBOLS)
    assert fn.constant == 7.0
    assert compile_expression(parse_expression("a + 1"), SYMBOLS).constant is None


def test_numbers_are_accepted_as_expressions() -> None:
    assert compile_expression(parse_expression(0.25), SYMBOLS).constant == 0.25
    assert compile_expression(parse_expression(3), SYMBOLS).constant == 3.0


# ---------------------------------------------------------------------------------------
# Refused expressions: exact messages
# ---------------------------------------------------------------------------------------

P = ("events", "e", "hazard")
DATES = (
    "dates are not values in expressions, found {}: use the model time t, in years since the "
    "scenario's start (a year is 365.25 days), e.g. 't >= 3' from three years after the start"
)
PREFIX = "<scenario>: error: events.e.hazard: "


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "expected an expression, found an empty string"),
        ("   ", "expected an expression, found an empty string"),
        ("a +", "invalid expression syntax: invalid syntax in 'a +'"),
        ("1 if 2", "invalid expression syntax at column 1: expected 'else' after 'if' "
                   "expression in '1 if 2'"),
        ("'abc'", "only numbers are allowed as literals, found \"'abc'\""),
        ("None", "only numbers are allowed as literals, found 'None'"),
        ("1j", "only numbers are allowed as literals, found '1j'"),
        ("a.__class__", "attribute access is only allowed as ACTOR.attribute, found "
                        "'a.__class__'"),
        ("_x + 1", "names starting with '_' are not allowed, found '_x'"),
        ("getattr(a, 'x')", "unknown function 'getattr'"),
        ("exq(a)", "unknown function 'exq' (did you mean 'exp'?)"),
        ("lgo(a)", "unknown function 'lgo' (did you mean 'log'?)"),
        ("a.b(1)", "only named functions may be called, found 'a.b(1)'"),
        ("log(a, 2)", "log() takes 1 argument(s), found 2 in 'log(a, 2)'"),
        ("min(a)", "min() takes at least 2 argument(s), found 1 in 'min(a)'"),
        ("clip(a, 1)", "clip() takes 3 argument(s), found 2 in 'clip(a, 1)'"),
        ("occurred()", "occurred() takes 1 argument(s), found 0 in 'occurred()'"),
        ("min(a=1, b=2)", "min() takes positional arguments only, found 'min(a=1, b=2)'"),
        ("occurred(a + 1)", "occurred() takes event names, found 'a + 1'"),
        ("a // b", "BinOp is not allowed in expressions, found 'a // b'"),
        ("a % b", "BinOp is not allowed in expressions, found 'a % b'"),
        ("~a", "UnaryOp is not allowed in expressions, found '~a'"),
        ("a in b", "Compare is not allowed in expressions, found 'a in b'"),
        ("a is b", "Compare is not allowed in expressions, found 'a is b'"),
        ("a[0]", "Subscript is not allowed in expressions, found 'a[0]'"),
        ("(a, b)", "Tuple is not allowed in expressions, found '(a, b)'"),
        ("lambda: 1", "Lambda is not allowed in expressions, found 'lambda: 1'"),
        ("(x := 1)", "NamedExpr is not allowed in expressions, found 'x := 1'"),
        ("f'{a}'", "JoinedStr is not allowed in expressions, found \"f'{a}'\""),
        ("[x for x in a]", "ListComp is not allowed in expressions, found '[x for x in a]'"),
        ("x" * 2001, "expression is 2001 characters long; the limit is 2000"),
        ("+".join(["a"] * 250), "expression has more than 400 parts; simplify it"),
        ("-" * 41 + "a", "expression is nested more than 40 levels deep"),
        # a date was Python's "leading zeros in decimal integer literals" (issue 13) ...
        ("0.1 if t > 2027-01-01 else 0", DATES.format("2027-01-01")),
        # ... or, worse, a number: 2027-12-31 is 1984
        ("t >= 2027-12-31", DATES.format("2027-12-31")),
        ("'2027-1-1' < t", DATES.format("2027-1-1")),
    ],
)  # fmt: skip
def test_parse_refuses(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(source, path=P)
    assert str(info.value) == PREFIX + message
    assert info.value.path == P


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("bb + 1", "unknown name 'bb' in a hazard (did you mean 'b'?)"),
        ("zzz", "unknown name 'zzz' in a hazard"),
        ("shock + 1", "'shock' is an event: use occurred(shock), count(shock) or active(shock)"),
        ("rail", "'rail' is a project: use stage(rail), completed(rail) or cancelled(rail)"),
        ("occurred(shok)", "occurred() expects event names, found unknown event 'shok' "
                           "(did you mean 'shock'?)"),
        ("occurred(a)", "occurred() expects event names, found unknown event 'a'"),
        ("stage(shock)", "stage() expects project names, and 'shock' is an event; for an event "
         "use active(), all_occurred(), any_occurred(), count(), n_occurred(), occurred()"),
        ("UZ.borders", "unknown actor attribute 'UZ.borders' (did you mean "
                       "'UZ.borders_afghanistan'?)"),
        ("9**9**9", "'9**9**9' has a constant part that is not a finite number "
                    "(9.0 ** 387420489.0 overflows or is undefined)"),
        ("1/0", "'1/0' has a constant part that is not a finite number "
                "(1.0 / 0.0 overflows or is undefined)"),
        ("log(0) + a", "'log(0) + a' has a constant part that is not a finite number "
                       "(log(0.0) overflows or is undefined)"),
        ("1e999", "number literal '1e309' is not finite"),
    ],
)  # fmt: skip
def test_binding_refuses(source: str, message: str) -> None:
    expr = parse_expression(source, path=P)
    for mode in ("scalar", "vector"):
        with pytest.raises(ExpressionError) as info:
            compile_expression(expr, SYMBOLS, mode=mode, context="a hazard")  # type: ignore[arg-type]
        assert str(info.value) == PREFIX + message


@pytest.mark.parametrize("source", ["2027 - 1", "t - 2024 - 1", "x1999-12-31", "1.2027-12-31"])
def test_arithmetic_that_is_not_a_date_is_allowed(source: str) -> None:
    assert parse_expression(source, path=P).source == source


def test_a_date_object_is_refused_as_a_date() -> None:
    with pytest.raises(ExpressionError) as info:
        parse_expression(dt.date(2027, 1, 1), path=P)
    assert str(info.value) == PREFIX + DATES.format("2027-01-01")


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_are_refused(value: float) -> None:
    with pytest.raises(
        ExpressionError, match=re.escape(f"expected a finite number, found {value}")
    ):
        parse_expression(value, path=P)


@pytest.mark.parametrize("value", [True, None, [1], {"a": 1}])
def test_non_expressions_are_refused(value: object) -> None:
    with pytest.raises(ExpressionError, match="expected an expression \\(a string or a number\\)"):
        parse_expression(value, path=P)


def test_names_lists_what_is_read() -> None:
    expr = parse_expression("a * max(b, 1) if occurred(shock) else c")
    assert expr.names == frozenset({"a", "b", "c", "shock"})


# ---------------------------------------------------------------------------------------
# Property-based tests
# ---------------------------------------------------------------------------------------

LEAF_NUMBERS = st.sampled_from(["0", "1", "2", "0.5", "3", "10", "1e-300", "1e300", "0.0"])
NAMES = st.sampled_from(["a", "b", "c"])
BIN_OPS = ["+", "-", "*", "/", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or"]
FUNCS_1 = ["exp", "log", "sqrt", "abs"]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BIN_OPS), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        children.map(lambda x: f"(-{x})"),
        children.map(lambda x: f"(not {x})"),
        st.tuples(children, children, children).map(lambda t: f"({t[1]} if {t[0]} else {t[2]})"),
        st.tuples(st.sampled_from(FUNCS_1), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), st.lists(children, min_size=2, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(children, children, children).map(lambda t: f"clip({t[0]}, {t[1]}, {t[2]})"),
    )


EXPRESSIONS = st.recursive(st.one_of(LEAF_NUMBERS, NAMES), _extend, max_leaves=12)
VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5).map(float),
)
ROWS = st.lists(st.tuples(VALUES, VALUES, VALUES), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=EXPRESSIONS, rows=ROWS)
def test_property_scalar_and_vector_agree(source: str, rows: list[tuple[float, ...]]) -> None:
    try:
        expr = parse_expression(source)
        compile_expression(expr, SYMBOLS)
    except ExpressionError as exc:
        # Only too-large trees and non-finite constant parts (e.g. 1e300 ** 2) are refused.
        assume(False)
        raise AssertionError("unreachable") from exc
    arr = np.array(rows, dtype=np.float64)
    got_s, got_v = evaluate_both(source, arr)
    assert_same(got_s, got_v, arr, source)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_property_parser_only_raises_expression_error(text: str) -> None:
    try:
        expr = parse_expression(text)
        compile_expression(expr, SYMBOLS)
    except ExpressionError:
        pass


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=string.printable, max_size=200))
def test_property_parser_printable_ascii(text: str) -> None:
    try:
        expr = parse_expression(text)
        compile_expression(expr, SYMBOLS, mode="vector")
    except ExpressionError:
        pass


PIECES = st.sampled_from(
    ["a", "b", "1", "2.5", "+", "-", "*", "/", "**", "(", ")", ",", " ", "<", "==", "and",
     "or", "not", "if", "else", "min", "log", "occurred", "shock", "rail", ".", "UZ", "_",
     "lambda", ":", "[", "]", "'", "1e999", "True", "clip", "9**9**9"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(tokens=st.lists(PIECES, max_size=30))
def test_property_token_soup_only_raises_expression_error(tokens: list[str]) -> None:
    """Random sequences of the language's own tokens reach deeper than random text."""
    text = " ".join(tokens)
    try:
        expr = parse_expression(text)
        fn = compile_expression(expr, SYMBOLS)
    except ExpressionError:
        return
    fn(NS([1.0, 2.0, 3.0], n=[0.0, 1.0], a=[0.0, 0.0], g=[0.0], done=[0.0], c=[0.0]))
