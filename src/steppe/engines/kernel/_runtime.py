"""Numba helpers every generated kernel calls: IEEE-exact maths, bookkeeping.

They live in a real module, compiled and cached once per machine, rather than in each
generated kernel: typing them again in every scenario's kernel would cost compile time for
each new scenario. The random draws are in :mod:`steppe.engines.kernel._philox`.

The maths helpers follow the expression language's IEEE-754 semantics exactly (see
:mod:`steppe.model.expr` and the scalar operation table in :mod:`steppe.model._ops`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from steppe.engines.kernel._cache import njit
from steppe.engines.kernel._philox import next_double

__all__ = [
    "add_end",
    "choice",
    "end_durations",
    "fail",
    "fexp",
    "flog",
    "fmax2",
    "fmin2",
    "fpow",
    "fsqrt",
    "next_change",
    "replan",
    "reset",
]

_OPTS: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}
#: Numba's decorator with a cache that discards what it cannot read (``_cache``), typed
#: loosely: ``_nrt`` (no reference counting, for functions that allocate nothing) is a
#: private option of Numba's.
_njit: Any = njit


# -- random draws ---------------------------------------------------------------------------


@_njit(_nrt=False, **_OPTS)
def choice(
    st: np.ndarray, src: int, rep: Any, consts: np.ndarray, values: int, cuts: int, m: int
) -> float:
    """``consts[values + i]``, ``i`` the number of cumulative weights ``consts[cuts:]`` <= u,
    ``u`` the next uniform of stream ``src`` (0 read as ``2**-54``; ``consts`` is the state
    array ``w``, whose last block holds the constants)."""
    u = next_double(st, src, rep)
    if u == 0.0:
        u = 2.0**-54
    i = 0
    while i < m - 1 and consts[cuts + i] <= u:
        i += 1
    return float(consts[values + i])


# -- IEEE-754 maths as in the scalar operation table ----------------------------------------


@_njit(inline="always", **_OPTS)
def fmin2(a: float, b: float) -> float:
    return a if (a < b or a != a) else b


@_njit(inline="always", **_OPTS)
def fmax2(a: float, b: float) -> float:
    return a if (a > b or a != a) else b


@_njit(inline="always", **_OPTS)
def fpow(a: float, b: float) -> float:
    return float(a**b)


@_njit(inline="always", **_OPTS)
def fexp(a: float) -> float:
    if a < 709.0:
        return math.exp(a)
    return math.inf if a == a else a


@_njit(inline="always", **_OPTS)
def flog(a: float) -> float:
    if a > 0.0:
        return math.log(a)
    if a == 0.0:
        return -math.inf
    return math.nan


@_njit(inline="always", **_OPTS)
def fsqrt(a: float) -> float:
    return math.sqrt(a) if a >= 0.0 else math.nan


# -- bookkeeping of the next-event loop ------------------------------------------------------


@_njit(_nrt=False, **_OPTS)
def reset(
    w: np.ndarray,
    params: np.ndarray,
    hoisted: np.ndarray,
    r: int,
    off: np.ndarray,
    hist: np.ndarray,
    g0: np.ndarray,
    done0: np.ndarray,
    ends: np.ndarray,
    ends_min: np.ndarray,
    work: np.ndarray,
    pace: np.ndarray,
    booked: np.ndarray,
    done_at: np.ndarray,
) -> None:
    """Put replication ``r``'s parameters (``params[:, r]``), hoisted values and the initial
    state into ``w`` and the other state arrays."""
    for i in range(params.shape[0]):
        w[off[0] + i] = params[i, r]
    for i in range(hoisted.shape[0]):
        w[off[1] + i] = hoisted[i, r]
    for e in range(hist.shape[0]):
        w[off[3] + e] = hist[e]
        w[off[4] + e] = 0.0
        ends_min[e] = np.inf
        for x in range(ends.shape[1]):
            ends[e, x] = np.inf
    for k in range(g0.shape[0]):
        w[off[5] + k] = g0[k]
        w[off[6] + k] = done0[k]
        w[off[7] + k] = 0.0
        work[k] = 0.0
        pace[k] = 0.0
        booked[k] = 0.0
        done_at[k] = np.inf


@_njit(**_OPTS)
def add_end(ends: np.ndarray, ends_min: np.ndarray, e: int, when: float) -> np.ndarray:
    """Record that one of event ``e``'s durations ends at ``when`` (growing ``ends`` if
    every slot is taken); returns ``ends``, possibly a new array."""
    col = -1
    for x in range(ends.shape[1]):
        if ends[e, x] == np.inf:
            col = x
            break
    if col < 0:
        cap = ends.shape[1]
        grown = np.full((ends.shape[0], 2 * cap), np.inf)
        for i in range(ends.shape[0]):
            for x in range(cap):
                grown[i, x] = ends[i, x]
        ends = grown
        col = cap
    ends[e, col] = when
    if when < ends_min[e]:
        ends_min[e] = when
    return ends


@_njit(_nrt=False, **_OPTS)
def end_durations(
    now: float, ends: np.ndarray, ends_min: np.ndarray, a: np.ndarray, changed: np.ndarray
) -> None:
    """End, for each event, the earliest of its durations that is due by ``now`` (and
    flag its active count as ``changed``)."""
    for e in range(ends.shape[0]):
        if ends_min[e] <= now:
            changed[e] = 1.0
            col = 0
            for x in range(ends.shape[1]):
                if ends[e, x] < ends[e, col]:
                    col = x
            ends[e, col] = np.inf
            best = np.inf
            for x in range(ends.shape[1]):
                if ends[e, x] < best:
                    best = ends[e, x]
            ends_min[e] = best
            a[e] -= 1.0


@_njit(_nrt=False, **_OPTS)
def replan(
    now: float,
    newpace: np.ndarray,
    upd: np.ndarray,
    pace: np.ndarray,
    work: np.ndarray,
    booked: np.ndarray,
    done_at: np.ndarray,
) -> None:
    """Book the work done at the old pace, then reschedule where the pace changed."""
    for k in range(pace.shape[0]):
        if upd[k] != 0.0 and newpace[k] != pace[k]:
            w = work[k] - pace[k] * (now - booked[k])
            work[k] = w if w > 0.0 else 0.0
            booked[k] = now
            pace[k] = newpace[k]
            done_at[k] = now + work[k] / pace[k] if pace[k] > 0.0 else np.inf


@_njit(_nrt=False, **_OPTS)
def fail(
    kind: int,
    site: int,
    rep: int,
    extra: int,
    value: float,
    now: float,
    err_i: np.ndarray,
    err_f: np.ndarray,
) -> int:
    """Record an error for the Python side (see ``kernel._error``) and return ``kind``."""
    err_i[0] = kind
    err_i[1] = site
    err_i[2] = rep
    err_i[3] = extra
    err_f[0] = value
    err_f[1] = now
    return kind


@_njit(_nrt=False, **_OPTS)
def next_change(ends_min: np.ndarray, done_at: np.ndarray) -> float:
    """The earliest end of a duration or stage completion."""
    best = np.inf
    for x in ends_min:
        if x < best:
            best = x
    for x in done_at:
        if x < best:
            best = x
    return float(best)
