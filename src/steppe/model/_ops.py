"""Operation tables of the expression language, in scalar and vector modes.

Both tables implement the same IEEE-754 semantics (see :mod:`steppe.model.expr`): the scalar
one with Python floats and :mod:`math`, the vector one with NumPy ufuncs. The vector table
is built, and NumPy imported, when it is first used (``VECTOR``, PEP 562): validating a
scenario evaluates its constant expressions in scalar mode only (issue 18).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def _sdiv(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _spow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf if a > 0 or (float(b).is_integer() and b % 2 == 0) else -math.inf
    except ValueError:
        if a == 0 and b < 0:
            # IEEE pow: (-0) ** (negative odd integer) is -inf, otherwise +inf.
            odd = float(b).is_integer() and b % 2 == 1
            return -math.inf if odd and math.copysign(1.0, a) < 0 else math.inf
        return math.nan


def _sexp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def _slog(a: float) -> float:
    if a > 0:
        return math.log(a)
    if a == 0:
        return -math.inf
    return math.nan


def _ssqrt(a: float) -> float:
    return math.sqrt(a) if a >= 0 else math.nan


# min/max follow numpy.minimum/maximum exactly: NaN propagates, and of two equal values
# (0.0 and -0.0) the second is returned, so that 1 / min(a, b) agrees in both modes.
def _smin2(a: float, b: float) -> float:
    return a if (a < b or a != a) else b


def _smax2(a: float, b: float) -> float:
    return a if (a > b or a != a) else b


def _sround(f: Callable[[float], int]) -> Callable[[float], float]:
    # IEEE floor/ceil keep the sign of the argument (ceil(-0.5) is -0.0, as in numpy).
    def go(a: float) -> float:
        return math.copysign(float(f(a)), a) if math.isfinite(a) else a

    return go


def _vpow(a: Any, b: Any) -> Any:
    import numpy as np

    if np.ndim(b) == 0 and b == 0.5:
        # numpy computes x ** 0.5 as sqrt(x), so (-inf) ** 0.5 would be nan and
        # (-0.0) ** 0.5 would be -0.0; IEEE pow (and the scalar mode) give inf and 0.0.
        return np.where(np.isneginf(a) | np.equal(a, 0), np.abs(a), np.power(a, b))
    return np.power(a, b)


def _vcmp(f: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    import numpy as np

    def go(a: Any, b: Any) -> Any:
        return np.asarray(f(a, b), dtype=np.float64)

    return go


SCALAR: dict[str, Callable[..., Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _sdiv,
    "**": _spow,
    "<": lambda a, b: 1.0 if a < b else 0.0,
    "<=": lambda a, b: 1.0 if a <= b else 0.0,
    ">": lambda a, b: 1.0 if a > b else 0.0,
    ">=": lambda a, b: 1.0 if a >= b else 0.0,
    "==": lambda a, b: 1.0 if a == b else 0.0,
    "!=": lambda a, b: 1.0 if a != b else 0.0,
    "neg": lambda a: -a,
    "pos": lambda a: +a,
    "not": lambda a: 0.0 if a else 1.0,
    "truth": lambda a: 1.0 if a else 0.0,
    "and": lambda a, b: 1.0 if (a and b) else 0.0,
    "or": lambda a, b: 1.0 if (a or b) else 0.0,
    "if": lambda c, a, b: a() if c else b(),
    "min": _smin2,
    "max": _smax2,
    "exp": _sexp,
    "log": _slog,
    "sqrt": _ssqrt,
    "abs": abs,
    "floor": _sround(math.floor),
    "ceil": _sround(math.ceil),
    "pos_count": lambda c: 1.0 if c > 0 else 0.0,
}


def _vector() -> dict[str, Callable[..., Any]]:
    """The vector table (NumPy ufuncs)."""
    import numpy as np

    return {
        "+": np.add,
        "-": np.subtract,
        "*": np.multiply,
        "/": np.divide,
        "**": _vpow,
        "<": _vcmp(np.less),
        "<=": _vcmp(np.less_equal),
        ">": _vcmp(np.greater),
        ">=": _vcmp(np.greater_equal),
        "==": _vcmp(np.equal),
        "!=": _vcmp(np.not_equal),
        "neg": np.negative,
        "pos": np.positive,
        "not": lambda a: np.asarray(np.equal(a, 0), dtype=np.float64),
        "truth": lambda a: np.asarray(np.not_equal(a, 0), dtype=np.float64),
        "and": lambda a, b: np.asarray(np.not_equal(a, 0) & np.not_equal(b, 0), dtype=np.float64),
        "or": lambda a, b: np.asarray(np.not_equal(a, 0) | np.not_equal(b, 0), dtype=np.float64),
        "if": lambda c, a, b: np.where(np.not_equal(c, 0), a(), b()),
        "min": np.minimum,
        "max": np.maximum,
        "exp": np.exp,
        "log": np.log,
        "sqrt": np.sqrt,
        "abs": np.abs,
        "floor": np.floor,
        "ceil": np.ceil,
        "pos_count": lambda c: np.asarray(np.greater(c, 0), dtype=np.float64),
    }


def __getattr__(name: str) -> Any:
    """``VECTOR``, the vector table, built on first use and kept (PEP 562)."""
    if name == "VECTOR":
        table = globals()["VECTOR"] = _vector()
        return table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
