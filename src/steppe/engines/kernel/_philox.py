"""Philox4x64-10 random streams in Numba, bit for bit those of NumPy's ``Philox``.

Stream ``(key, rep)`` is NumPy's
``np.random.Generator(np.random.Philox(key=[k0, k1], counter=[0, rep, 0, 0]))``: each
sampler here returns what the ``Generator`` method of the same name returns, and successive
calls on one stream (of any of them, interleaved) continue one sequence exactly as
successive calls on that generator do. So the reference engine, with one such generator per
replication and source of randomness, and the compiled engine draw the same numbers.

What NumPy does (``numpy/random/src/philox/philox.h``, ``.../distributions/distributions.c``
and ``numpy/random/_generator.pyx``), and this module with it:

* Philox4x64 with 10 rounds turns a 256-bit counter and a 128-bit key into four 64-bit
  words. The generator hands them out one by one; when the four are used up, it adds one to
  the counter, then computes the next block (a new generator starts with none buffered, so
  its first block is that of counter ``[1, rep, 0, 0]``).
* ``random()`` is ``(word >> 11) * 2**-53``; ``standard_normal`` and
  ``standard_exponential`` are NumPy's ziggurats (tables as NumPy's, from
  ``numba.np.random._constants``), the other methods are computed from these.

Two forms of a stream:

* **Array state**, for draws scattered through a simulation: the streams are the rows of a
  ``uint64`` array ``st`` of shape ``(S, 9)``, row ``s`` = ``[key0, key1, counter0, pos,
  buf0, buf1, buf2, buf3, counter2]`` (counter word 0, how many buffered words are used,
  the buffer, counter word 2); counter word 1, the replication, is an argument ``rep`` of
  every call, and word 3 is 0. Word 2 is the generation of a run conditioned on evidence
  (``docs/engine.md`` section 10), 0 otherwise. :func:`reset` starts every stream afresh
  for a new replication, :func:`restart` for a new generation. The common path of
  a draw is inlined into the caller, the rest (a new block, a rejected ziggurat step) is a
  call.
* **Local state**, in a tight loop: :func:`fill_normals` keeps the stream in local
  variables.

Callers should be compiled without reference counting (``_nrt=False``, as the generated
kernels are): with it, Numba counts the references to ``st`` at each inlined call, which
makes a draw two to three times slower (``benchmarks/bench_philox.py``).

Counter word 0 would wrap to 0 and carry into word 1 after 2**64 blocks of one stream; that
is never reached (centuries of drawing), so the carry is not implemented.

On NumPy's side, give the key as a ``uint64`` array: NumPy makes a list of Python ints of
which one is 2**63 or more and another is not a ``float64`` array, which rounds the key.

The maths (``exp``, ``log``, ``log1p``, ``pow``) are the C library's, as NumPy's are, in the
same order of operations and without fused multiply-adds (NumPy's C is compiled as ISO C11,
where GCC does not fuse them; Numba does not either). Checked on x86-64 Linux
(``tests/test_philox.py``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from numba.np.random._constants import (
    fe_double,
    fi_double,
    ke_double,
    ki_double,
    we_double,
    wi_double,
    ziggurat_exp_r,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

from steppe.engines.kernel._cache import njit

__all__ = [
    "beta",
    "exponential",
    "fill_normals",
    "fill_normals_of",
    "gamma",
    "lognormal",
    "mulhilo64",
    "new_streams",
    "next_double",
    "next_uint64",
    "normal",
    "philox4x64_10",
    "reset",
    "restart",
    "rewind",
    "std_exponential",
    "std_normal",
    "triangular",
    "uniform",
    "weibull",
]

_OPTS: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}
#: Numba's decorator with the disposable cache (``_cache``), typed loosely.
_njit: Any = njit
_intrinsic: Any = intrinsic

#: Philox4x64's multipliers and Weyl increments of the key (Random123's constants).
_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)

# uint64 constants: Numba types a plain int as int64, and uint64 op int64 as float64.
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U3 = np.uint64(3)
_U4 = np.uint64(4)
_U8 = np.uint64(8)
_U9 = np.uint64(9)
_U11 = np.uint64(11)
_BYTE = np.uint64(0xFF)
_SIGN = np.uint64(0x100)  # bit 8 of a normal's word: its sign
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_TO_DOUBLE = 1.0 / 9007199254740992.0  # 2**-53

#: Row layout of the array state.
_KEY0, _KEY1, _CTR, _POS, _BUF, _GEN = 0, 1, 2, 3, 4, 8
#: NumPy's threshold under which ``beta`` (a, b <= 1) draws a Bernoulli(a / (a + b)).
_BETA_TINY = 3e-103


# -- the Philox block ----------------------------------------------------------------------


@_intrinsic
def mulhilo64(typingctx: Any, a: Any, b: Any) -> Any:
    """``(hi, lo)``: the high and low 64-bit words of the 128-bit product ``a * b``.

    A Numba intrinsic (callable only from compiled code): one 64x64->128-bit multiply, as
    NumPy's ``mulhilo64`` with ``__uint128_t``. Integer arguments are converted to ``uint64``.
    """
    if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
        return None
    pair = types.UniTuple(types.uint64, 2)  # type: ignore[no-untyped-call]
    sig = pair(types.uint64, types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        hi = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        lo = builder.trunc(product, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, [hi, lo])

    return sig, codegen


@_njit(inline="always", **_OPTS)
def _round(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """One Philox4x64 round (NumPy's ``_philox4x64round``)."""
    hi0, lo0 = mulhilo64(_M0, c0)
    hi1, lo1 = mulhilo64(_M1, c2)
    return hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0


@_njit(inline="always", **_OPTS)
def philox4x64_10(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """The Philox4x64-10 block of counter ``(c0, c1, c2, c3)`` and key ``(k0, k1)``.

    Parameters
    ----------
    c0, c1, c2, c3
        The counter's words, least significant first.
    k0, k1
        The key's words.

    Returns
    -------
    tuple of 4 numpy.uint64
        The four words NumPy's ``Philox`` hands out for this counter, in that order.
    """
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    for _ in range(9):
        k0 += _W0
        k1 += _W1
        c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    return c0, c1, c2, c3


# -- array state: raw words and uniforms ---------------------------------------------------


def new_streams(keys: np.ndarray) -> np.ndarray:
    """The array state of streams keyed by the rows of ``keys`` (shape ``(S, 2)``), reset.

    Parameters
    ----------
    keys
        One 128-bit key per stream, as two ``uint64`` words (``key0`` least significant).

    Returns
    -------
    numpy.ndarray
        ``uint64`` array of shape ``(S, 9)`` (the layout in the module docstring), counter
        word 2 = 0.
    """
    keys = np.asarray(keys, dtype=np.uint64)
    st = np.zeros((keys.shape[0], 9), dtype=np.uint64)
    st[:, _KEY0 : _KEY1 + 1] = keys
    st[:, _POS] = 4
    return st


@_njit(_nrt=False, **_OPTS)
def reset(st: np.ndarray) -> None:
    """Start every stream of ``st`` afresh (counter word 0 = 0, nothing buffered), as new
    generators: what to do at the start of each replication.

    Parameters
    ----------
    st
        The array state, ``uint64`` of shape ``(S, 9)``; keys and generations are kept.
    """
    for s in range(st.shape[0]):
        st[s, _CTR] = _U0
        st[s, _POS] = _U4


@_njit(_nrt=False, **_OPTS)
def rewind(st: np.ndarray, s: int) -> None:
    """Start stream ``s`` of ``st`` afresh (a new generator of the same key and counter
    words 1 and 2).

    Parameters
    ----------
    st
        The array state, ``uint64`` of shape ``(S, 9)``.
    s
        The stream (row of ``st``).
    """
    st[s, _CTR] = _U0
    st[s, _POS] = _U4


@_njit(_nrt=False, **_OPTS)
def restart(st: np.ndarray, generation: int) -> None:
    """Start every stream of ``st`` afresh with counter word 2 = ``generation``: the
    streams of a generation of a run conditioned on evidence (``docs/engine.md`` section 10).

    Parameters
    ----------
    st
        The array state, ``uint64`` of shape ``(S, 9)``; keys are kept.
    generation
        Counter word 2 of every stream from now on.
    """
    for s in range(st.shape[0]):
        st[s, _CTR] = _U0
        st[s, _POS] = _U4
        st[s, _GEN] = np.uint64(generation)


@_njit(_nrt=False, **_OPTS)
def _block(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """The block of counter ``(c0, c1, c2, 0)`` and key ``(k0, k1)``: a call, not inlined
    (one draw in four needs it; scalar arguments are cheaper to pass than an array)."""
    b0, b1, b2, b3 = philox4x64_10(c0, c1, c2, _U0, k0, k1)
    return b0, b1, b2, b3


@_njit(inline="always", **_OPTS)
def _refill(st: np.ndarray, s: int, rep: int) -> np.uint64:
    """Stream ``s``'s next block (its counter incremented first), buffered; its first word."""
    ctr = st[s, _CTR] + _U1
    st[s, _CTR] = ctr
    b0, b1, b2, b3 = _block(ctr, np.uint64(rep), st[s, _GEN], st[s, _KEY0], st[s, _KEY1])
    st[s, _BUF] = b0
    st[s, _BUF + 1] = b1
    st[s, _BUF + 2] = b2
    st[s, _BUF + 3] = b3
    st[s, _POS] = _U1
    return np.uint64(b0)


@_njit(inline="always", **_OPTS)
def next_uint64(st: np.ndarray, s: int, rep: int) -> np.uint64:
    """The next 64-bit word of stream ``s`` (NumPy's ``next_uint64``).

    Parameters
    ----------
    st
        The array state, ``uint64`` of shape ``(S, 9)``.
    s
        The stream (row of ``st``).
    rep
        The replication: word 1 of the stream's counter.

    Returns
    -------
    numpy.uint64
        The word; the stream's state in ``st`` moves on.
    """
    pos = st[s, _POS]
    if pos < _U4:
        st[s, _POS] = pos + _U1
        return np.uint64(st[s, _BUF + np.intp(pos)])
    return np.uint64(_refill(st, s, rep))


@_njit(inline="always", **_OPTS)
def next_double(st: np.ndarray, s: int, rep: int) -> float:
    """A uniform double in ``[0, 1)`` from stream ``s``: ``Generator.random()``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.

    Returns
    -------
    float
        ``(next_uint64 >> 11) * 2**-53``.
    """
    return float(next_uint64(st, s, rep) >> _U11) * _TO_DOUBLE


# -- local state: the same stream in local variables ---------------------------------------
# A stream in local variables is (ctr, pos, b0, b1, b2, b3), with its key (k0, k1) and
# counter words 1 and 2 (c1, c2); functions that move it on return the new
# (ctr, pos, b0, b1, b2, b3).
# The buffer is rotated so that the next word is always b0: b[j] is word (pos + j) % 4 of
# the block (a rotation of registers is cheaper than picking word pos).


@_njit(inline="always", **_OPTS)
def _local_word(
    ctr: np.uint64,
    pos: np.intp,
    b0: np.uint64,
    b1: np.uint64,
    b2: np.uint64,
    b3: np.uint64,
    k0: np.uint64,
    k1: np.uint64,
    c1: np.uint64,
    c2: np.uint64,
) -> tuple[np.uint64, np.uint64, np.intp, np.uint64, np.uint64, np.uint64, np.uint64]:
    """The next word of a stream in local variables, then its new state."""
    if pos == 4:
        ctr += _U1
        b0, b1, b2, b3 = philox4x64_10(ctr, c1, c2, _U0, k0, k1)
        pos = np.intp(0)
    return b0, ctr, pos + 1, b1, b2, b3, b0


@_njit(inline="always", **_OPTS)
def _load(
    st: np.ndarray, s: int
) -> tuple[np.uint64, np.intp, np.uint64, np.uint64, np.uint64, np.uint64]:
    """Stream ``s`` of the array state, in local variables: ``(ctr, pos, b0, b1, b2, b3)``."""
    pos = np.intp(st[s, _POS])
    return (
        st[s, _CTR],
        pos,
        st[s, _BUF + (pos & 3)],
        st[s, _BUF + ((pos + 1) & 3)],
        st[s, _BUF + ((pos + 2) & 3)],
        st[s, _BUF + ((pos + 3) & 3)],
    )


@_njit(inline="always", **_OPTS)
def _store(
    st: np.ndarray,
    s: int,
    ctr: np.uint64,
    pos: np.intp,
    b0: np.uint64,
    b1: np.uint64,
    b2: np.uint64,
    b3: np.uint64,
) -> None:
    """Put a stream in local variables back into row ``s`` of the array state."""
    st[s, _CTR] = ctr
    st[s, _POS] = np.uint64(pos)
    st[s, _BUF + (pos & 3)] = b0
    st[s, _BUF + ((pos + 1) & 3)] = b1
    st[s, _BUF + ((pos + 2) & 3)] = b2
    st[s, _BUF + ((pos + 3) & 3)] = b3


@_njit(inline="always", **_OPTS)
def _double(w: np.uint64) -> float:
    """A word as NumPy's ``next_double`` turns it into a uniform in ``[0, 1)``."""
    return float(w >> _U11) * _TO_DOUBLE


@_njit(_nrt=False, **_OPTS)
def _normal_tail(
    r: np.uint64,
    ctr: np.uint64,
    pos: np.intp,
    b0: np.uint64,
    b1: np.uint64,
    b2: np.uint64,
    b3: np.uint64,
    k0: np.uint64,
    k1: np.uint64,
    c1: np.uint64,
    c2: np.uint64,
) -> tuple[float, np.uint64, np.intp, np.uint64, np.uint64, np.uint64, np.uint64]:
    """NumPy's ``random_standard_normal`` from its first word ``r`` on (the slow path, after
    ``r`` missed the ziggurat's fast test), drawing further words of the local stream.

    Returns the normal and the stream's new state.
    """
    while True:
        idx = np.intp(r & _BYTE)
        rabs = (r >> _U9) & _MANTISSA
        x = float(rabs) * wi_double[idx]
        if r & _SIGN:
            x = -x
        if rabs < ki_double[idx]:
            return x, ctr, pos, b0, b1, b2, b3
        if idx == 0:  # the tail beyond r, by Marsaglia's method
            while True:
                w, ctr, pos, b0, b1, b2, b3 = _local_word(ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2)
                xx = -ziggurat_nor_inv_r * math.log1p(-_double(w))
                w, ctr, pos, b0, b1, b2, b3 = _local_word(ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2)
                yy = -math.log1p(-_double(w))
                if yy + yy > xx * xx:
                    x = -(ziggurat_nor_r + xx) if (rabs >> _U8) & _U1 else ziggurat_nor_r + xx
                    return x, ctr, pos, b0, b1, b2, b3
        else:  # a wedge
            w, ctr, pos, b0, b1, b2, b3 = _local_word(ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2)
            f = (fi_double[idx - 1] - fi_double[idx]) * _double(w) + fi_double[idx]
            if f < math.exp(-0.5 * x * x):
                return x, ctr, pos, b0, b1, b2, b3
        r, ctr, pos, b0, b1, b2, b3 = _local_word(ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2)


@_njit(_nrt=False, **_OPTS)
def _exponential_tail(
    ri: np.uint64,
    ctr: np.uint64,
    pos: np.intp,
    b0: np.uint64,
    b1: np.uint64,
    b2: np.uint64,
    b3: np.uint64,
    k0: np.uint64,
    k1: np.uint64,
    c1: np.uint64,
    c2: np.uint64,
) -> tuple[float, np.uint64, np.intp, np.uint64, np.uint64, np.uint64, np.uint64]:
    """NumPy's ``random_standard_exponential`` from its first word on (``ri``: that word
    shifted right by 3; the slow path), drawing further words of the local stream.

    Returns the exponential and the stream's new state.
    """
    while True:
        idx = np.intp(ri & _BYTE)
        ri >>= _U8
        x = float(ri) * we_double[idx]
        if ri < ke_double[idx]:
            return x, ctr, pos, b0, b1, b2, b3
        w, ctr, pos, b0, b1, b2, b3 = _local_word(ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2)
        if idx == 0:  # the tail beyond r
            x = ziggurat_exp_r - math.log1p(-_double(w))
            return x, ctr, pos, b0, b1, b2, b3
        if (fe_double[idx - 1] - fe_double[idx]) * _double(w) + fe_double[idx] < math.exp(-x):
            return x, ctr, pos, b0, b1, b2, b3
        # rejected: NumPy draws a whole new exponential
        w, ctr, pos, b0, b1, b2, b3 = _local_word(ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2)
        ri = w >> _U3


# -- array state: the ziggurats ------------------------------------------------------------


@_njit(_nrt=False, **_OPTS)
def _std_normal_slow(st: np.ndarray, s: int, rep: int, r: np.uint64) -> float:
    """:func:`std_normal` once its first word ``r`` missed the fast test."""
    ctr, pos, b0, b1, b2, b3 = _load(st, s)
    k0, k1 = st[s, _KEY0], st[s, _KEY1]
    x, ctr, pos, b0, b1, b2, b3 = _normal_tail(
        r, ctr, pos, b0, b1, b2, b3, k0, k1, np.uint64(rep), st[s, _GEN]
    )
    _store(st, s, ctr, pos, b0, b1, b2, b3)
    return float(x)


@_njit(_nrt=False, **_OPTS)
def _std_exponential_slow(st: np.ndarray, s: int, rep: int, ri: np.uint64) -> float:
    """:func:`std_exponential` once its first word (``ri``, shifted) missed the fast test."""
    ctr, pos, b0, b1, b2, b3 = _load(st, s)
    k0, k1 = st[s, _KEY0], st[s, _KEY1]
    x, ctr, pos, b0, b1, b2, b3 = _exponential_tail(
        ri, ctr, pos, b0, b1, b2, b3, k0, k1, np.uint64(rep), st[s, _GEN]
    )
    _store(st, s, ctr, pos, b0, b1, b2, b3)
    return float(x)


@_njit(inline="always", **_OPTS)
def std_normal(st: np.ndarray, s: int, rep: int) -> float:
    """A standard normal from stream ``s``: ``Generator.standard_normal()``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.

    Returns
    -------
    float
        NumPy's ziggurat normal (one word 99.3% of the time).
    """
    r = next_uint64(st, s, rep)
    idx = np.intp(r & _BYTE)
    rabs = (r >> _U9) & _MANTISSA
    if rabs < ki_double[idx]:
        x = float(rabs) * wi_double[idx]
        return float(-x if r & _SIGN else x)
    return float(_std_normal_slow(st, s, rep, r))


@_njit(inline="always", **_OPTS)
def std_exponential(st: np.ndarray, s: int, rep: int) -> float:
    """A unit exponential from stream ``s``: ``Generator.standard_exponential()``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.

    Returns
    -------
    float
        NumPy's ziggurat exponential (one word 98.9% of the time).
    """
    ri = next_uint64(st, s, rep) >> _U3
    idx = np.intp(ri & _BYTE)
    rs = ri >> _U8
    if rs < ke_double[idx]:
        return float(float(rs) * we_double[idx])
    return float(_std_exponential_slow(st, s, rep, ri))


# -- array state: the samplers -------------------------------------------------------------


@_njit(inline="always", **_OPTS)
def normal(st: np.ndarray, s: int, rep: int, loc: float, scale: float) -> float:
    """``Generator.normal(loc, scale)`` from stream ``s``: ``loc + scale * std_normal``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    loc, scale
        Mean and standard deviation.

    Returns
    -------
    float
        The draw.
    """
    return loc + scale * float(std_normal(st, s, rep))


@_njit(_nrt=False, **_OPTS)
def lognormal(st: np.ndarray, s: int, rep: int, mean: float, sigma: float) -> float:
    """``Generator.lognormal(mean, sigma)`` from stream ``s``: ``exp(normal(mean, sigma))``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    mean, sigma
        Mean and standard deviation of the logarithm.

    Returns
    -------
    float
        The draw.
    """
    return math.exp(mean + sigma * std_normal(st, s, rep))


@_njit(inline="always", **_OPTS)
def uniform(st: np.ndarray, s: int, rep: int, low: float, high: float) -> float:
    """``Generator.uniform(low, high)`` from stream ``s``: ``low + (high - low) * random()``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    low, high
        The interval (NumPy requires ``high - low`` finite and >= 0; not checked here).

    Returns
    -------
    float
        The draw.
    """
    return low + (high - low) * float(next_double(st, s, rep))


@_njit(_nrt=False, **_OPTS)
def triangular(st: np.ndarray, s: int, rep: int, left: float, mode: float, right: float) -> float:
    """``Generator.triangular(left, mode, right)`` from stream ``s`` (inverse transform of
    one uniform).

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    left, mode, right
        The distribution's support and mode (NumPy requires ``left <= mode <= right`` and
        ``left < right``; not checked here).

    Returns
    -------
    float
        The draw.
    """
    base = right - left
    leftbase = mode - left
    ratio = leftbase / base
    leftprod = leftbase * base
    rightprod = (right - mode) * base
    u = next_double(st, s, rep)
    if u <= ratio:
        return left + math.sqrt(u * leftprod)
    return right - math.sqrt((1.0 - u) * rightprod)


@_njit(_nrt=False, **_OPTS)
def _std_gamma(st: np.ndarray, s: int, rep: int, shape: float) -> float:
    """NumPy's ``random_standard_gamma``: an exponential for ``shape == 1``, 0 for 0, below
    1 a rejection method drawing a uniform and an exponential per try, above 1
    Marsaglia and Tsang's method (normals until ``1 + c x > 0``, then a uniform)."""
    if shape == 1.0:
        return float(std_exponential(st, s, rep))
    if shape == 0.0:
        return 0.0
    if shape < 1.0:
        while True:
            u = next_double(st, s, rep)
            v = std_exponential(st, s, rep)
            if u <= 1.0 - shape:
                x = math.pow(u, 1.0 / shape)
                if x <= v:
                    return x
            else:
                y = -math.log((1 - u) / shape)
                x = math.pow(1.0 - shape + shape * y, 1.0 / shape)
                if x <= v + y:
                    return x
    b = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9 * b)
    while True:
        while True:
            x = std_normal(st, s, rep)
            v = 1.0 + c * x
            if v > 0.0:
                break
        v = v * v * v
        u = next_double(st, s, rep)
        if u < 1.0 - 0.0331 * (x * x) * (x * x):
            return float(b * v)
        if math.log(u) < 0.5 * x * x + b * (1.0 - v + math.log(v)):  # log(0) = -inf is fine
            return float(b * v)


@_njit(_nrt=False, **_OPTS)
def gamma(st: np.ndarray, s: int, rep: int, shape: float, scale: float) -> float:
    """``Generator.gamma(shape, scale)`` from stream ``s``: ``scale * standard_gamma(shape)``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    shape, scale
        The distribution's parameters (NumPy requires both >= 0; not checked here).

    Returns
    -------
    float
        The draw.
    """
    return scale * float(_std_gamma(st, s, rep, shape))


@_njit(_nrt=False, **_OPTS)
def beta(st: np.ndarray, s: int, rep: int, a: float, b: float) -> float:
    """``Generator.beta(a, b)`` from stream ``s``.

    Johnk's algorithm when both ``a, b <= 1`` (a Bernoulli draw when both are below
    ``3e-103``), else ``Ga / (Ga + Gb)`` of two standard gammas, as NumPy's ``random_beta``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    a, b
        The distribution's parameters (NumPy requires both > 0; not checked here).

    Returns
    -------
    float
        The draw.
    """
    if a <= 1.0 and b <= 1.0:
        if a < _BETA_TINY and b < _BETA_TINY:
            u = next_double(st, s, rep)
            return 1.0 if (a + b) * u < a else 0.0
        while True:
            u = next_double(st, s, rep)
            v = next_double(st, s, rep)
            x = math.pow(u, 1.0 / a)
            y = math.pow(v, 1.0 / b)
            xpy = x + y
            if xpy <= 1.0 and u + v > 0.0:  # both 0 (about 1 in 10**106): rejected
                if x > 0 and y > 0:
                    return x / xpy
                # x or y underflowed: the same ratio, from logarithms
                delta = math.log(u) / a - math.log(v) / b
                if delta > 0:
                    return math.exp(-math.log1p(math.exp(-delta)))
                return math.exp(delta - math.log1p(math.exp(delta)))
    ga = _std_gamma(st, s, rep, a)
    gb = _std_gamma(st, s, rep, b)
    return float(ga / (ga + gb))


@_njit(_nrt=False, **_OPTS)
def weibull(st: np.ndarray, s: int, rep: int, a: float) -> float:
    """``Generator.weibull(a)`` from stream ``s``: ``std_exponential ** (1 / a)``, and 0
    without a draw when ``a == 0``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    a
        The shape (NumPy requires ``a >= 0``; not checked here).

    Returns
    -------
    float
        The draw.
    """
    if a == 0.0:
        return 0.0
    return math.pow(std_exponential(st, s, rep), 1.0 / a)


@_njit(inline="always", **_OPTS)
def exponential(st: np.ndarray, s: int, rep: int, scale: float) -> float:
    """``Generator.exponential(scale)`` from stream ``s``: ``scale * std_exponential``.

    Parameters
    ----------
    st, s, rep
        The stream, as in :func:`next_uint64`.
    scale
        The mean.

    Returns
    -------
    float
        The draw.
    """
    return scale * float(std_exponential(st, s, rep))


# -- local state: a tight loop of normals --------------------------------------------------


@_njit(_nrt=False, **_OPTS)
def fill_normals(keys: np.ndarray, rep: int, out: np.ndarray) -> None:
    """Fill row ``s`` of ``out`` with the first normals of stream ``(keys[s], rep)``.

    Row ``s`` becomes ``Generator(Philox(key=keys[s], counter=[0, rep, 0, 0]))
    .standard_normal(K)`` (:func:`fill_normals_of` generation 0, with the counter word 2
    a constant: the compiler folds it out of the Philox rounds).

    Parameters
    ----------
    keys
        ``uint64`` array of shape ``(S, 2)``: one key per row of ``out``.
    rep
        The replication: word 1 of every stream's counter.
    out
        ``float64`` array of shape ``(S, K)``, written.
    """
    _fill(keys, np.uint64(rep), _U0, out)


@_njit(_nrt=False, **_OPTS)
def fill_normals_of(keys: np.ndarray, rep: int, generation: int, out: np.ndarray) -> None:
    """Fill row ``s`` of ``out`` with the first normals of stream ``(keys[s], rep)`` of
    ``generation``.

    Row ``s`` becomes ``Generator(Philox(key=keys[s], counter=[0, rep, generation, 0]))
    .standard_normal(K)``; the stream is kept in local variables (several times faster
    than the array state).

    Parameters
    ----------
    keys
        ``uint64`` array of shape ``(S, 2)``: one key per row of ``out``.
    rep
        The replication: word 1 of every stream's counter.
    generation
        Word 2 of every stream's counter (0 but in a run conditioned on evidence).
    out
        ``float64`` array of shape ``(S, K)``, written.
    """
    _fill(keys, np.uint64(rep), np.uint64(generation), out)


@_njit(inline="always", **_OPTS)
def _fill(keys: np.ndarray, c1: np.uint64, c2: np.uint64, out: np.ndarray) -> None:
    """:func:`fill_normals_of`, inlined into its callers (see :func:`fill_normals`)."""
    for s in range(out.shape[0]):
        k0 = np.uint64(keys[s, 0])
        k1 = np.uint64(keys[s, 1])
        ctr, pos = _U0, np.intp(4)
        b0 = b1 = b2 = b3 = _U0
        for i in range(out.shape[1]):
            r, ctr, pos, b0, b1, b2, b3 = _local_word(ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2)
            idx = np.intp(r & _BYTE)
            rabs = (r >> _U9) & _MANTISSA
            if rabs < ki_double[idx]:
                x = float(rabs) * wi_double[idx]
                out[s, i] = -x if r & _SIGN else x
            else:
                x, ctr, pos, b0, b1, b2, b3 = _normal_tail(
                    r, ctr, pos, b0, b1, b2, b3, k0, k1, c1, c2
                )
                out[s, i] = x
