"""The series' noise in Numba: NumPy's ``PCG64`` normals, seeded from a Philox block.

A noisy series draws one standard normal per tick (``docs/engine.md`` section 4). Its
normals of replication ``rep`` (generation ``g`` of a run conditioned on evidence, else 0)
are those of :func:`steppe.streams.noise_generator`:

* the first block of the series' Philox stream, ``w0 .. w3`` = the first four words of
  ``Generator(Philox(key, counter=[0, rep, g, 0]))`` (its counter ``[1, rep, g, 0]``), seeds
* NumPy's ``PCG64`` with state ``w1 * 2**64 + w0`` and increment ``(w3 * 2**64 + w2) | 1``,
* whose ``Generator.standard_normal(K)`` gives the normals of the ``K`` ticks.

One Philox block (ten rounds of two 64 x 64-bit products) per series and replication, then
one PCG64 step (three products) per normal, where drawing every normal from Philox takes
five products per normal: the noise of the baseline's three monthly series costs 0.6 us a
replication instead of 1.0 (``benchmarks/bench_philox.py``). The stream stays addressable
by (seed, series name, replication) and independent of every other part of the scenario.

PCG64 (O'Neill's PCG XSL RR 128/64, NumPy's ``numpy/random/src/pcg64/pcg64.h``): the state
``s`` moves to ``s * M + inc`` mod 2**128, then the word is ``rotr64(hi ^ lo, hi >> 58)`` of
the new state. ``standard_normal`` is NumPy's ziggurat (:mod:`steppe.engines.kernel._philox`
has the same for Philox words): the same tables, the same order of operations.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba.np.random._constants import (
    fi_double,
    ki_double,
    wi_double,
    ziggurat_nor_inv_r,
    ziggurat_nor_r,
)

from steppe.engines.kernel._cache import njit
from steppe.engines.kernel._philox import mulhilo64, philox4x64_10

__all__ = ["fill_normals", "fill_normals_of"]

_OPTS: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}
_njit: Any = njit

#: PCG64's 128-bit multiplier, as two 64-bit words.
_MHI = np.uint64(2549297995355413924)
_MLO = np.uint64(4865540595714422341)
# uint64 constants: Numba types a plain int as int64, and uint64 op int64 as float64.
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U8 = np.uint64(8)
_U9 = np.uint64(9)
_U11 = np.uint64(11)
_U58 = np.uint64(58)
_U63 = np.uint64(63)
_U64 = np.uint64(64)
_BYTE = np.uint64(0xFF)
_SIGN = np.uint64(0x100)
_MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
_TO_DOUBLE = 1.0 / 9007199254740992.0  # 2**-53


@_njit(inline="always", **_OPTS)
def _step(
    hi: np.uint64, lo: np.uint64, ihi: np.uint64, ilo: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64]:
    """One PCG64 step of state ``(hi, lo)`` with increment ``(ihi, ilo)``: the new state's
    words and the 64-bit output."""
    phi, plo = mulhilo64(lo, _MLO)
    phi = phi + lo * _MHI + hi * _MLO
    nlo = plo + ilo
    nhi = phi + ihi + (_U1 if nlo < plo else _U0)
    x = nhi ^ nlo
    rot = nhi >> _U58
    return nhi, nlo, (x >> rot) | (x << ((_U64 - rot) & _U63))


@_njit(inline="always", **_OPTS)
def _double(w: np.uint64) -> float:
    """A word as NumPy's ``next_double`` turns it into a uniform in ``[0, 1)``."""
    return float(w >> _U11) * _TO_DOUBLE


@_njit(_nrt=False, **_OPTS)
def _normal_tail(
    r: np.uint64, hi: np.uint64, lo: np.uint64, ihi: np.uint64, ilo: np.uint64
) -> tuple[float, np.uint64, np.uint64]:
    """NumPy's ``random_standard_normal`` from its first word ``r`` on (the slow path, after
    ``r`` missed the ziggurat's fast test), drawing further words of the stream; returns the
    normal and the new state."""
    while True:
        idx = np.intp(r & _BYTE)
        rabs = (r >> _U9) & _MANTISSA
        x = float(rabs) * wi_double[idx]
        if r & _SIGN:
            x = -x
        if rabs < ki_double[idx]:
            return x, hi, lo
        if idx == 0:  # the tail beyond r, by Marsaglia's method
            while True:
                hi, lo, w = _step(hi, lo, ihi, ilo)
                xx = -ziggurat_nor_inv_r * math.log1p(-_double(w))
                hi, lo, w = _step(hi, lo, ihi, ilo)
                yy = -math.log1p(-_double(w))
                if yy + yy > xx * xx:
                    x = -(ziggurat_nor_r + xx) if (rabs >> _U8) & _U1 else ziggurat_nor_r + xx
                    return x, hi, lo
        else:  # a wedge
            hi, lo, w = _step(hi, lo, ihi, ilo)
            f = (fi_double[idx - 1] - fi_double[idx]) * _double(w) + fi_double[idx]
            if f < math.exp(-0.5 * x * x):
                return x, hi, lo
        hi, lo, r = _step(hi, lo, ihi, ilo)


@_njit(inline="always", **_OPTS)
def _fill(keys: np.ndarray, c1: np.uint64, c2: np.uint64, out: np.ndarray) -> None:
    """:func:`fill_normals_of`, inlined into its callers."""
    for s in range(out.shape[0]):
        w0, w1, w2, w3 = philox4x64_10(_U1, c1, c2, _U0, np.uint64(keys[s, 0]), keys[s, 1])
        hi, lo, ihi, ilo = w1, w0, w3, w2 | _U1
        for i in range(out.shape[1]):
            hi, lo, r = _step(hi, lo, ihi, ilo)
            idx = np.intp(r & _BYTE)
            rabs = (r >> _U9) & _MANTISSA
            if rabs < ki_double[idx]:
                x = float(rabs) * wi_double[idx]
                out[s, i] = -x if r & _SIGN else x
            else:
                x, hi, lo = _normal_tail(r, hi, lo, ihi, ilo)
                out[s, i] = x


@_njit(_nrt=False, **_OPTS)
def fill_normals(keys: np.ndarray, rep: int, out: np.ndarray) -> None:
    """Fill row ``s`` of ``out`` with series ``s``'s normals of replication ``rep``.

    Row ``s`` becomes ``noise_generator(keys[s], rep).standard_normal(K)``
    (:func:`steppe.streams.noise_generator`; :func:`fill_normals_of` generation 0, with the
    counter word 2 a constant the compiler folds out of the Philox rounds).

    Parameters
    ----------
    keys
        ``uint64`` array of shape ``(S, 2)``: the Philox key of each row's series.
    rep
        The replication: word 1 of the Philox counter.
    out
        ``float64`` array of shape ``(S, K)``, written.
    """
    _fill(keys, np.uint64(rep), _U0, out)


@_njit(_nrt=False, **_OPTS)
def fill_normals_of(keys: np.ndarray, rep: int, generation: int, out: np.ndarray) -> None:
    """:func:`fill_normals` of ``generation`` (word 2 of the Philox counter; 0 but in a run
    conditioned on evidence): row ``s`` becomes
    ``noise_generator(keys[s], rep, generation).standard_normal(K)``.

    Parameters
    ----------
    keys, rep, out
        As in :func:`fill_normals`.
    generation
        The generation.
    """
    _fill(keys, np.uint64(rep), np.uint64(generation), out)
