"""The expression language: parse with an allow-list, compile to scalar or NumPy closures.

An expression is a Python-syntax formula such as ``base * (1 + contagion *
n_occurred(uz_delists, tj_delists)) if not active(shock) else 0``. It is parsed with
:mod:`ast`, checked node by node against an allow-list, and compiled into a tree of
closures. Nothing is ever passed to ``eval`` or ``exec``.

Values are real numbers (float64); truth values are ``1.0`` and ``0.0``, and any non-zero
number (NaN included) is true. The same expression compiles twice, in ``"scalar"`` mode
(Python floats, :mod:`math`) for the reference engine and in ``"vector"`` mode (NumPy arrays,
one element per replication) for what is computed for many replications at once (parameter
formulas, ``combine`` outcomes, the parameter-only parts that engines hoist); both follow
IEEE-754 arithmetic:
``x / 0`` is ``±inf`` (``nan`` for ``0 / 0``), ``log(0)`` is ``-inf``, ``log`` and ``sqrt`` of a
negative number are ``nan``, overflow gives ``inf``.

Allowed: number literals, ``True``/``False``, names declared in the scenario, ``ACTOR.attr``,
unary ``+ - not``, binary ``+ - * / **``, comparisons (chains allowed), ``and``/``or``,
``a if cond else b`` and the functions in :data:`MATH_FUNCTIONS` and :data:`STATE_FUNCTIONS`.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, Literal

from steppe.errors import ExpressionError, PathPart
from steppe.model import _ops
from steppe.model._ops import SCALAR

__all__ = [
    "MATH_FUNCTIONS",
    "STATE_FUNCTIONS",
    "Compiled",
    "Expression",
    "Hoist",
    "Symbol",
    "compile_expression",
    "parse_expression",
]

Mode = Literal["scalar", "vector"]
Evaluator = Callable[[Any], Any]

MAX_LENGTH = 2_000
MAX_NODES = 400
MAX_DEPTH = 40

#: Pure functions of numbers, with their accepted argument counts (min, max; None = any).
MATH_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "min": (2, None),
    "max": (2, None),
    "exp": (1, 1),
    "log": (1, 1),
    "sqrt": (1, 1),
    "abs": (1, 1),
    "floor": (1, 1),
    "ceil": (1, 1),
    "clip": (3, 3),
}

#: Functions of the simulation state; their arguments are names of events or projects.
STATE_FUNCTIONS: dict[str, tuple[str, int, int | None]] = {
    "occurred": ("event", 1, 1),  # 1 if the event has occurred at least once
    "count": ("event", 1, 1),  # how many times it has occurred
    "active": ("event", 1, 1),  # 1 while at least one of its durations runs
    "n_occurred": ("event", 1, None),  # how many of the listed events have occurred
    "any_occurred": ("event", 1, None),  # 1 if any of the listed events has occurred
    "all_occurred": ("event", 1, None),  # 1 if all of the listed events have occurred
    "stage": ("project", 1, 1),  # number of completed stages
    "completed": ("project", 1, 1),  # 1 once every stage is complete
    "cancelled": ("project", 1, 1),  # 1 once the project is cancelled
}


@dataclass(frozen=True)
class Symbol:
    """What a name means in one context.

    ``kind`` is ``"param"``, ``"series"``, ``"time"``, ``"outcome"`` (slots read from the
    namespace), ``"const"`` (a known number, e.g. an actor attribute), ``"event"`` or
    ``"project"`` (only usable as arguments of state functions).
    """

    kind: str
    index: int = 0
    value: float = 0.0


# --------------------------------------------------------------------------------------
# Intermediate representation: small tuples, checked once, compiled twice.
# ("const", v) ("slot", field, index) ("unary", op, x) ("bin", op, a, b)
# ("cmp", [ops], [xs]) ("bool", op, [xs]) ("if", c, a, b) ("call", fname, [xs])
# ("state", fname, [indices])
# --------------------------------------------------------------------------------------
Node = tuple[Any, ...]

_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_SLOT_FIELD = {"param": "p", "series": "s", "time": "t", "outcome": "o"}


@dataclass(frozen=True)
class Expression:
    """A parsed, allow-listed expression, not yet bound to a scenario's names.

    Attributes
    ----------
    source
        The text as written.
    tree
        The checked :mod:`ast` expression node.
    path
        YAML path of the expression, used in error messages.
    """

    source: str
    tree: ast.expr = field(repr=False, compare=False)
    path: tuple[PathPart, ...] = ()

    @property
    def names(self) -> frozenset[str]:
        """Every bare name the expression reads (function names excluded)."""
        out: set[str] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name):
                out.add(node.id)
        funcs = {
            n.func.id
            for n in ast.walk(self.tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        return frozenset(out - funcs)


def _fail(message: str, path: Sequence[PathPart]) -> ExpressionError:
    return ExpressionError(message, path=path)


def parse_expression(source: object, *, path: Sequence[PathPart] = ()) -> Expression:
    """Parse ``source`` and check it against the allow-list.

    Numbers (``int``/``float``) are accepted and turned into constant expressions.

    Raises
    ------
    ExpressionError
        If the text is not a valid expression or uses anything outside the allow-list.
    """
    path = tuple(path)
    if isinstance(source, dt.date):  # an unquoted YAML date
        raise _fail(_date_message(source.isoformat()), path)
    if isinstance(source, bool) or not isinstance(source, str | int | float):
        raise _fail(
            f"expected an expression (a string or a number), found {type(source).__name__}",
            path,
        )
    if not isinstance(source, str):
        try:
            number = float(source)
        except OverflowError:  # an int too large for a float
            number = math.inf
        if not math.isfinite(number):
            shown = repr(source) if isinstance(source, float) else f"{str(source)[:20]}..."
            raise _fail(f"expected a finite number, found {shown}", path)
    text = source if isinstance(source, str) else repr(float(source))
    if len(text) > MAX_LENGTH:
        raise _fail(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}", path)
    # Strip once: ast offsets (used for messages) must index the very text that was parsed.
    text = text.strip()
    if not text:
        raise _fail("expected an expression, found an empty string", path)
    date = _DATE.search(text)
    if date is not None:
        # 2027-01-01 is a syntax error (leading zeros), and 2027-12-31 would be 1984.
        raise _fail(_date_message(date.group()), path)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise _fail(f"invalid expression syntax{col}: {exc.msg} in {text!r}", path) from None
    except (RecursionError, MemoryError, ValueError):
        raise _fail(f"expression is too deeply nested or malformed: {text[:60]!r}", path) from None
    body = tree.body
    for count, _node in enumerate(ast.walk(body), start=1):
        if count > MAX_NODES:
            raise _fail(f"expression has more than {MAX_NODES} parts; simplify it", path)
    _check(body, text, path, depth=0)
    return Expression(source=text, tree=body, path=path)


#: A calendar date written in an expression: YYYY-MM-DD, not part of a longer number or name.
_DATE = re.compile(r"(?<![\w.])\d{4}-(?:0?[1-9]|1[0-2])-(?:0?[1-9]|[12]\d|3[01])(?![\w.])")


def _date_message(found: str) -> str:
    return (
        f"dates are not values in expressions, found {found}: use the model time t, in "
        "years since the scenario's start (a year is 365.25 days), e.g. 't >= 3' from three "
        "years after the start"
    )


def _check(node: ast.AST, text: str, path: tuple[PathPart, ...], depth: int) -> None:
    """Walk the tree and refuse anything not on the allow-list."""
    if depth > MAX_DEPTH:
        raise _fail(f"expression is nested more than {MAX_DEPTH} levels deep", path)
    where = ast.get_source_segment(text, node) or type(node).__name__
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float):
            return
        raise _fail(f"only numbers are allowed as literals, found {where!r}", path)
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _fail(f"names starting with '_' are not allowed, found {node.id!r}", path)
        return
    if isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name) or node.attr.startswith("_"):
            raise _fail(
                f"attribute access is only allowed as ACTOR.attribute, found {where!r}", path
            )
        _check(node.value, text, path, depth + 1)
        return
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, text, path, depth + 1)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
        _check(node.left, text, path, depth + 1)
        _check(node.right, text, path, depth + 1)
        return
    if isinstance(node, ast.Compare) and all(type(op) in _CMP for op in node.ops):
        for child in (node.left, *node.comparators):
            _check(child, text, path, depth + 1)
        return
    if isinstance(node, ast.BoolOp):
        for child in node.values:
            _check(child, text, path, depth + 1)
        return
    if isinstance(node, ast.IfExp):
        for child in (node.test, node.body, node.orelse):
            _check(child, text, path, depth + 1)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _fail(f"only named functions may be called, found {where!r}", path)
        name = node.func.id
        allowed = sorted([*MATH_FUNCTIONS, *STATE_FUNCTIONS])
        if name not in MATH_FUNCTIONS and name not in STATE_FUNCTIONS:
            raise _fail(f"unknown function {name!r}{_did_you_mean(name, allowed)}", path)
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise _fail(f"{name}() takes positional arguments only, found {where!r}", path)
        lo, hi = MATH_FUNCTIONS[name] if name in MATH_FUNCTIONS else STATE_FUNCTIONS[name][1:]
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo}-{hi}")
            raise _fail(
                f"{name}() takes {want} argument(s), found {len(node.args)} in {where!r}", path
            )
        if name in STATE_FUNCTIONS:
            kind = STATE_FUNCTIONS[name][0]
            for arg in node.args:
                if not isinstance(arg, ast.Name):
                    raise _fail(
                        f"{name}() takes {kind} names, found {ast.get_source_segment(text, arg)!r}",
                        path,
                    )
                _check(arg, text, path, depth + 1)
            return
        for arg in node.args:
            _check(arg, text, path, depth + 1)
        return
    kind = type(node).__name__
    raise _fail(f"{kind} is not allowed in expressions, found {where!r}", path)


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    close = get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------------------
# Binding names and compiling
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """An expression bound to a scenario's names and compiled for one mode.

    Call it with a namespace whose attributes ``p`` (parameters), ``s`` (series values),
    ``t`` (model time), ``n`` (event counts), ``a`` (active durations per event),
    ``g`` (completed stages per project), ``done`` (project completed flags), ``c``
    (project cancelled flags) and ``o`` (outcome samples) are indexable by the slot
    numbers given by the scenario.
    """

    expression: Expression
    mode: Mode
    fn: Evaluator = field(repr=False, compare=False)
    constant: float | None = None
    #: The checked, folded (and hoisted) intermediate representation the closure was built
    #: from; code generators (the compiled engine) read it.
    ir: Node = field(default=("const", 0.0), repr=False, compare=False)

    def __call__(self, ns: Any) -> Any:
        return self.fn(ns)


class Hoist:
    """Parameter-only sub-expressions lifted out of a scenario's expressions.

    Parameters are fixed within a replication, so a sub-expression that reads nothing else
    has one value per replication. :meth:`lift` replaces each such (largest) sub-tree by a
    read of slot ``h[k]``; :meth:`evaluators` compiles the lifted sub-trees, which an engine
    evaluates once per replication (over the parameters) to fill ``h``. Identical
    sub-trees share a slot.
    """

    def __init__(self) -> None:
        self.items: list[Node] = []
        self._index: dict[str, int] = {}

    def lift(self, ir: Node) -> Node:
        """``ir`` with its largest parameter-only sub-trees replaced by ``h`` slots."""
        tag = ir[0]
        if tag in ("const", "slot", "state"):
            return ir
        if _params_only(ir):
            key = repr(ir)
            if key not in self._index:
                self._index[key] = len(self.items)
                self.items.append(ir)
            return ("slot", "h", self._index[key])
        if tag == "unary":
            return ("unary", ir[1], self.lift(ir[2]))
        if tag == "bin":
            return ("bin", ir[1], self.lift(ir[2]), self.lift(ir[3]))
        if tag in ("cmp", "bool", "call"):
            return (tag, ir[1], [self.lift(x) for x in ir[2]])
        return ("if", *(self.lift(x) for x in ir[1:]))

    def evaluators(self, mode: Mode) -> list[Evaluator]:
        """One closure per lifted sub-tree, reading the namespace field ``p`` only."""
        ops = SCALAR if mode == "scalar" else _ops.VECTOR
        return [_build(ir, ops) for ir in self.items]


def _params_only(ir: Node) -> bool:
    tag = ir[0]
    if tag == "const":
        return True
    if tag == "slot":
        return bool(ir[1] == "p")
    if tag == "state":
        return False
    if tag == "unary":
        return _params_only(ir[2])
    if tag == "bin":
        return _params_only(ir[2]) and _params_only(ir[3])
    if tag in ("cmp", "bool", "call"):
        return all(_params_only(x) for x in ir[2])
    return all(_params_only(x) for x in ir[1:])


def compile_expression(
    expression: Expression,
    symbols: Mapping[str, Symbol],
    *,
    mode: Mode = "scalar",
    context: str = "expression",
    hoist: Hoist | None = None,
) -> Compiled:
    """Bind ``expression`` to ``symbols`` and compile it into a closure.

    Parameters
    ----------
    expression
        A parsed expression.
    symbols
        The names visible in this context and what they mean.
    mode
        ``"scalar"`` for Python floats, ``"vector"`` for NumPy arrays.
    context
        Words used in error messages, e.g. ``"a hazard"``.
    hoist
        If given, every largest sub-expression that reads parameters only (and is more
        than a single name) is moved into this table and read from the namespace field
        ``h``: the engine evaluates it once per replication instead of at every use.

    Raises
    ------
    ExpressionError
        For unknown names (with a did-you-mean), names of the wrong kind, or a constant
        sub-expression that is not a finite number (``9**9**9``).
    """
    ir = _lower(expression.tree, expression, symbols, context)
    ir = _fold(ir, expression)
    if hoist is not None:
        ir = hoist.lift(ir)
    ops = SCALAR if mode == "scalar" else _ops.VECTOR
    fn = _build(ir, ops)
    constant = float(ir[1]) if ir[0] == "const" else None
    return Compiled(expression=expression, mode=mode, fn=fn, constant=constant, ir=ir)


def _lower(node: ast.expr, expr: Expression, symbols: Mapping[str, Symbol], ctx: str) -> Node:
    def rec(n: ast.expr) -> Node:
        return _lower(n, expr, symbols, ctx)

    path = expr.path
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # guaranteed by _check
        value = float(node.value)
        if not math.isfinite(value):
            raise _fail(f"number literal {ast.unparse(node)!r} is not finite", path)
        return ("const", value)
    if isinstance(node, ast.Name):
        sym = symbols.get(node.id)
        if node.id in ("True", "False"):
            return ("const", 1.0 if node.id == "True" else 0.0)
        if sym is None:
            names = [k for k, v in symbols.items() if v.kind not in ("event", "project")]
            raise _fail(f"unknown name {node.id!r} in {ctx}{_did_you_mean(node.id, names)}", path)
        if sym.kind == "event":
            raise _fail(
                f"{node.id!r} is an event: use occurred({node.id}), count({node.id}) "
                f"or active({node.id})",
                path,
            )
        if sym.kind == "project":
            raise _fail(
                f"{node.id!r} is a project: use stage({node.id}), completed({node.id}) "
                f"or cancelled({node.id})",
                path,
            )
        if sym.kind == "const":
            return ("const", sym.value)
        return ("slot", _SLOT_FIELD[sym.kind], sym.index)
    if isinstance(node, ast.Attribute):
        assert isinstance(node.value, ast.Name)  # guaranteed by _check
        key = f"{node.value.id}.{node.attr}"
        sym = symbols.get(key)
        if sym is None:
            attrs = [k for k in symbols if "." in k]
            raise _fail(f"unknown actor attribute {key!r}{_did_you_mean(key, attrs)}", path)
        return ("const", sym.value)
    if isinstance(node, ast.UnaryOp):
        return ("unary", _UNARY[type(node.op)], rec(node.operand))
    if isinstance(node, ast.BinOp):
        return ("bin", _BIN[type(node.op)], rec(node.left), rec(node.right))
    if isinstance(node, ast.Compare):
        return (
            "cmp",
            [_CMP[type(o)] for o in node.ops],
            [rec(x) for x in (node.left, *node.comparators)],
        )
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return ("bool", op, [rec(v) for v in node.values])
    if isinstance(node, ast.IfExp):
        return ("if", rec(node.test), rec(node.body), rec(node.orelse))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        fname = node.func.id
        if fname in STATE_FUNCTIONS:
            kind = STATE_FUNCTIONS[fname][0]
            indices = []
            for arg in node.args:
                assert isinstance(arg, ast.Name)
                sym = symbols.get(arg.id)
                if sym is None or sym.kind != kind:
                    known = [k for k, v in symbols.items() if v.kind == kind]
                    if not known:
                        raise _fail(f"{fname}() cannot be used in {ctx}", path)
                    if sym is not None and sym.kind in ("event", "project", "series"):
                        takes = sorted(f for f, v in STATE_FUNCTIONS.items() if v[0] == sym.kind)
                        a = "an" if sym.kind == "event" else "a"
                        hint = (
                            f"; for {a} {sym.kind} use {', '.join(f + '()' for f in takes)}"
                            if takes
                            else f"; a {sym.kind} is read by its name, e.g. {arg.id} > 0"
                        )
                        raise _fail(
                            f"{fname}() expects {kind} names, and {arg.id!r} is {a} "
                            f"{sym.kind}{hint}",
                            path,
                        )
                    raise _fail(
                        f"{fname}() expects {kind} names, found unknown {kind} {arg.id!r}"
                        f"{_did_you_mean(arg.id, known)}",
                        path,
                    )
                indices.append(sym.index)
            return ("state", fname, indices)
        return ("call", fname, [rec(a) for a in node.args])
    raise _fail(f"{type(node).__name__} is not allowed", path)  # pragma: no cover


def _fold(ir: Node, expr: Expression) -> Node:
    """Evaluate constant sub-trees once; refuse those that are not finite numbers."""
    tag = ir[0]
    if tag in ("const", "slot", "state"):
        return ir
    if tag == "unary":
        kids = [_fold(ir[2], expr)]
        new: Node = ("unary", ir[1], kids[0])
    elif tag == "bin":
        kids = [_fold(ir[2], expr), _fold(ir[3], expr)]
        new = ("bin", ir[1], kids[0], kids[1])
    elif tag in ("cmp", "bool"):
        kids = [_fold(x, expr) for x in ir[2]]
        new = (tag, ir[1], kids)
    elif tag == "if":
        kids = [_fold(x, expr) for x in ir[1:]]
        new = ("if", *kids)
    else:  # call
        kids = [_fold(x, expr) for x in ir[2]]
        new = ("call", ir[1], kids)
    if all(k[0] == "const" for k in kids):
        value = float(_build(new, SCALAR)(None))
        if not math.isfinite(value):
            raise _fail(
                f"{expr.source!r} has a constant part that is not a finite number "
                f"({ast.unparse(_to_ast(new))} overflows or is undefined)",
                expr.path,
            )
        return ("const", value)
    return new


def _to_ast(ir: Node) -> ast.expr:
    """Best-effort reconstruction of constant IR for error messages."""
    tag = ir[0]
    if tag == "const":
        return ast.Constant(ir[1])
    if tag == "bin":
        op = {v: k for k, v in _BIN.items()}[ir[1]]()
        return ast.BinOp(_to_ast(ir[2]), op, _to_ast(ir[3]))
    if tag == "unary":
        uop = {v: k for k, v in _UNARY.items()}[ir[1]]()
        return ast.UnaryOp(uop, _to_ast(ir[2]))
    if tag == "call":
        return ast.Call(ast.Name(ir[1]), [_to_ast(a) for a in ir[2]], [])
    return ast.Name("...")


def _build(ir: Node, ops: dict[str, Callable[..., Any]]) -> Evaluator:
    """Turn IR into a closure using one operation table."""
    tag = ir[0]
    if tag == "const":
        value = ir[1]
        return lambda ns: value
    if tag == "slot":
        fld, idx = ir[1], ir[2]
        if fld == "t":
            return lambda ns: ns.t
        if fld == "p":
            return lambda ns: ns.p[idx]
        if fld == "s":
            return lambda ns: ns.s[idx]
        if fld == "h":
            return lambda ns: ns.h[idx]
        return lambda ns: ns.o[idx]
    if tag == "unary":
        x = _build(ir[2], ops)
        f1 = ops[{"-": "neg", "+": "pos", "not": "not"}[ir[1]]]
        return lambda ns: f1(x(ns))
    if tag == "bin":
        a, b = _build(ir[2], ops), _build(ir[3], ops)
        f2 = ops[ir[1]]
        return lambda ns: f2(a(ns), b(ns))
    if tag == "cmp":
        names, xs = ir[1], [_build(x, ops) for x in ir[2]]
        if len(names) == 1:
            fc, a, b = ops[names[0]], xs[0], xs[1]
            return lambda ns: fc(a(ns), b(ns))
        fs = [ops[n] for n in names]
        band = ops["and"]

        def chain(ns: Any) -> Any:
            vals = [x(ns) for x in xs]
            out = fs[0](vals[0], vals[1])
            for i in range(1, len(fs)):
                out = band(out, fs[i](vals[i], vals[i + 1]))
            return out

        return chain
    if tag == "bool":
        fb, xs = ops[ir[1]], [_build(x, ops) for x in ir[2]]
        if ops is SCALAR:
            # Short-circuit in scalar mode: same values, fewer evaluations.
            if ir[1] == "and":
                return lambda ns: 1.0 if all(x(ns) for x in xs) else 0.0
            return lambda ns: 1.0 if any(x(ns) for x in xs) else 0.0

        def fold(ns: Any) -> Any:
            out = fb(xs[0](ns), xs[1](ns))
            for x in xs[2:]:
                out = fb(out, x(ns))
            return out

        return fold
    if tag == "if":
        c, a, b = (_build(x, ops) for x in ir[1:])
        fi = ops["if"]
        return lambda ns: fi(c(ns), lambda: a(ns), lambda: b(ns))
    if tag == "call":
        fname, xs = ir[1], [_build(x, ops) for x in ir[2]]
        if fname in ("min", "max"):
            f2 = ops[fname]

            def fold_mm(ns: Any) -> Any:
                out = xs[0](ns)
                for x in xs[1:]:
                    out = f2(out, x(ns))
                return out

            return fold_mm
        if fname == "clip":
            fmin, fmax = ops["min"], ops["max"]
            x, lo, hi = xs
            return lambda ns: fmin(fmax(x(ns), lo(ns)), hi(ns))
        f1 = ops[fname]
        (x1,) = xs
        return lambda ns: f1(x1(ns))
    if tag == "state":
        fname, idxs = ir[1], list(ir[2])
        pc = ops["pos_count"]
        i0 = idxs[0]
        if fname == "count":
            return lambda ns: ns.n[i0]
        if fname == "occurred":
            return lambda ns: pc(ns.n[i0])
        if fname == "active":
            return lambda ns: pc(ns.a[i0])
        if fname == "stage":
            return lambda ns: ns.g[i0]
        if fname == "completed":
            return lambda ns: ns.done[i0]
        if fname == "cancelled":
            return lambda ns: ns.c[i0]

        def n_occ(ns: Any) -> Any:
            out = pc(ns.n[idxs[0]])
            for i in idxs[1:]:
                out = out + pc(ns.n[i])
            return out

        if fname == "n_occurred":
            return n_occ
        k = len(idxs)
        if fname == "any_occurred":
            return lambda ns: pc(n_occ(ns))
        return lambda ns: pc(n_occ(ns) - (k - 1))  # all_occurred
    raise AssertionError(f"unknown IR node {tag!r}")  # pragma: no cover
