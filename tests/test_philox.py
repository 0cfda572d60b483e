"""The Numba Philox streams (``steppe.engines.kernel._philox``) draw NumPy's numbers, bit for bit.

Stream ``(key, rep)`` must give what ``Generator(Philox(key=key, counter=[0, rep, 0, 0]))``
gives, method by method, over sequences long enough to take the ziggurats' slow paths (the
tail beyond the last layer, and a wedge's test, accepted or rejected: counted here on
NumPy's words), and with calls of different methods interleaved on one stream. Every value
is compared as its 64 bits (so -0.0 differs from 0.0, and NaN would be seen).

One compiled driver, :func:`_run`, plays a list of operations (method, stream, arguments),
so the test file compiles one function for every method.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
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

import steppe.engines.kernel._philox as philox

ROOT = Path(__file__).resolve().parents[1]
#: Keys: small, all bits set, high bits set in either word.
KEYS = [(1, 2), (2**64 - 1, 2**64 - 1), (2**63 + 12345, 7), (0xDEADBEEF12345678, 2**63 + 1)]
#: Replications (counter word 1), up to the largest an int64 holds.
REPS = [0, 7, 2**40, 2**63 - 1]

# Operation codes of the driver, and the Generator call each must match.
RAW, RANDOM, STD_NORMAL, STD_EXPONENTIAL, NORMAL, LOGNORMAL = range(6)
UNIFORM, TRIANGULAR, BETA, GAMMA, WEIBULL, EXPONENTIAL = range(6, 12)
Method = Callable[[np.random.Generator, float, float, float, Any], Any]
METHODS: dict[int, Method] = {
    RAW: lambda g, a, b, c, size: g.bit_generator.random_raw(size),
    RANDOM: lambda g, a, b, c, size: g.random(size),
    STD_NORMAL: lambda g, a, b, c, size: g.standard_normal(size),
    STD_EXPONENTIAL: lambda g, a, b, c, size: g.standard_exponential(size),
    NORMAL: lambda g, a, b, c, size: g.normal(a, b, size),
    LOGNORMAL: lambda g, a, b, c, size: g.lognormal(a, b, size),
    UNIFORM: lambda g, a, b, c, size: g.uniform(a, b, size),
    TRIANGULAR: lambda g, a, b, c, size: g.triangular(a, b, c, size),
    BETA: lambda g, a, b, c, size: g.beta(a, b, size),
    GAMMA: lambda g, a, b, c, size: g.gamma(a, b, size),
    WEIBULL: lambda g, a, b, c, size: g.weibull(a, size),
    EXPONENTIAL: lambda g, a, b, c, size: g.exponential(a, size),
}


@numba.njit(error_model="numpy")
def _run(st: np.ndarray, rep: int, ops: np.ndarray, args: np.ndarray, raw: np.ndarray) -> None:
    """Play ``ops`` (rows: code, stream) with ``args`` (rows: three parameters) on the
    streams ``st``; draw ``i``'s 64 bits go to ``raw[i]``."""
    out = raw.view(np.float64)
    for i in range(ops.shape[0]):
        op, s = ops[i, 0], ops[i, 1]
        a, b, c = args[i, 0], args[i, 1], args[i, 2]
        if op == RAW:
            raw[i] = philox.next_uint64(st, s, rep)
        elif op == RANDOM:
            out[i] = philox.next_double(st, s, rep)
        elif op == STD_NORMAL:
            out[i] = philox.std_normal(st, s, rep)
        elif op == STD_EXPONENTIAL:
            out[i] = philox.std_exponential(st, s, rep)
        elif op == NORMAL:
            out[i] = philox.normal(st, s, rep, a, b)
        elif op == LOGNORMAL:
            out[i] = philox.lognormal(st, s, rep, a, b)
        elif op == UNIFORM:
            out[i] = philox.uniform(st, s, rep, a, b)
        elif op == TRIANGULAR:
            out[i] = philox.triangular(st, s, rep, a, b, c)
        elif op == BETA:
            out[i] = philox.beta(st, s, rep, a, b)
        elif op == GAMMA:
            out[i] = philox.gamma(st, s, rep, a, b)
        elif op == WEIBULL:
            out[i] = philox.weibull(st, s, rep, a)
        else:
            out[i] = philox.exponential(st, s, rep, a)


def generator(key: tuple[int, int], rep: int) -> np.random.Generator:
    """NumPy's generator of stream ``(key, rep)``.

    The key as a ``uint64`` array: NumPy would make a list of a word above 2**63 and a
    smaller one a ``float64`` array, rounding the key."""
    words = np.array(key, dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=words, counter=[0, rep, 0, 0]))


def ours(keys: list[tuple[int, int]], rep: int, ops: np.ndarray, args: np.ndarray) -> np.ndarray:
    """The 64 bits of each draw of ``ops`` on fresh streams keyed by ``keys``."""
    st = philox.new_streams(np.array(keys, dtype=np.uint64))
    raw = np.zeros(len(ops), dtype=np.uint64)
    _run(st, rep, np.asarray(ops, dtype=np.int64), np.asarray(args, dtype=np.float64), raw)
    return raw


def numpys(keys: list[tuple[int, int]], rep: int, ops: np.ndarray, args: np.ndarray) -> np.ndarray:
    """The 64 bits of each draw of ``ops`` from NumPy's generators: successive calls of the
    Generator methods (a run of equal calls as one call with ``size``, which NumPy computes
    element by element with the same function)."""
    gens = [generator(k, rep) for k in keys]
    out = np.zeros(len(ops), dtype=np.uint64)
    i = 0
    rows = [
        (int(o), int(s), float(a), float(b), float(c))
        for (o, s), (a, b, c) in zip(ops, args, strict=True)
    ]
    for (op, s, a, b, c), run in itertools.groupby(rows):
        n = len(list(run))
        got = METHODS[op](gens[s], a, b, c, n if n > 1 else None)
        dtype = np.uint64 if op == RAW else np.float64
        out[i : i + n] = np.asarray(got, dtype=dtype).reshape(n).view(np.uint64)
        i += n
    return out


def single(op: int, n: int, *params: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` calls of one method with the same parameters, on stream 0."""
    ops = np.zeros((n, 2), dtype=np.int64)
    ops[:, 0] = op
    args = np.zeros((n, 3))
    args[:, : len(params)] = params
    return ops, args


def assert_identical(
    keys: list[tuple[int, int]], rep: int, ops: np.ndarray, args: np.ndarray
) -> np.ndarray:
    """Assert that our draws are NumPy's, bit for bit; return NumPy's bits."""
    expected = numpys(keys, rep, ops, args)
    got = ours(keys, rep, ops, args)
    assert np.array_equal(got, expected), f"first difference at {np.argmax(got != expected)}"
    return expected


# -- the Philox block ----------------------------------------------------------------------


@numba.njit
def _mulhilo(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    return philox.mulhilo64(a, b)


@numba.njit
def _block(c: np.ndarray, k: np.ndarray) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    return philox.philox4x64_10(c[0], c[1], c[2], c[3], k[0], k[1])


def test_mulhilo64_is_the_128_bit_product() -> None:
    rng = np.random.default_rng(5)
    top = 2**64 - 1
    pairs = [(0, 0), (1, top), (top, top), (2**63, 2), (2**32, 2**32)]
    pairs += [tuple(int(x) for x in rng.integers(0, 2**64, 2, dtype=np.uint64)) for _ in range(50)]
    for a, b in pairs:
        hi, lo = _mulhilo(np.uint64(a), np.uint64(b))
        assert (int(hi), int(lo)) == divmod(a * b, 2**64)


#: Random123's known answers for Philox4x64-10 (kat_vectors): counter, key, block.
KNOWN = [
    (
        [0] * 4,
        [0] * 2,
        [0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B],
    ),
    (
        [2**64 - 1] * 4,
        [2**64 - 1] * 2,
        [0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0],
    ),
    (
        [0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89],
        [0x452821E638D01377, 0xBE5466CF34E90C6C],
        [0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6],
    ),
]


@pytest.mark.parametrize(("counter", "key", "block"), KNOWN)
def test_philox_block_known_answers_and_numpys(
    counter: list[int], key: list[int], block: list[int]
) -> None:
    got = _block(np.array(counter, dtype=np.uint64), np.array(key, dtype=np.uint64))
    assert [int(x) for x in got] == block
    # NumPy's Philox increments its counter before computing a block
    value = sum(c << (64 * i) for i, c in enumerate(counter))
    bitgen = np.random.Philox(counter=(value - 1) % 2**256, key=key[0] + (key[1] << 64))
    assert [int(x) for x in bitgen.random_raw(4)] == block


# -- array state: each method, alone -------------------------------------------------------

CASES = {
    "raw": (RAW,),
    "random": (RANDOM,),
    "standard_normal": (STD_NORMAL,),
    "standard_exponential": (STD_EXPONENTIAL,),
    "normal": (NORMAL, 3.5, 0.25),
    "lognormal": (LOGNORMAL, -0.3, 1.2),
    "uniform": (UNIFORM, -2.0, 5.0),
    "triangular": (TRIANGULAR, 1.0, 2.5, 7.0),
    "triangular left == mode": (TRIANGULAR, 1.0, 1.0, 4.0),
    "triangular mode == right": (TRIANGULAR, 1.0, 4.0, 4.0),
    "beta Johnk": (BETA, 0.4, 0.7),
    "beta Johnk, underflows": (BETA, 0.005, 0.004),
    "beta Bernoulli (tiny a, b)": (BETA, 1e-110, 3e-110),
    "beta gammas (b > 1)": (BETA, 0.5, 3.0),
    "beta gammas": (BETA, 2.0, 3.0),
    "gamma shape < 1": (GAMMA, 0.3, 2.0),
    "gamma shape 1": (GAMMA, 1.0, 2.0),
    "gamma shape 1.01 (1 + c X <= 0 happens)": (GAMMA, 1.01, 1.0),
    "gamma shape 2.5": (GAMMA, 2.5, 0.5),
    "gamma shape 60": (GAMMA, 60.0, 1.5),
    "weibull a = 0": (WEIBULL, 0.0),
    "weibull": (WEIBULL, 1.7),
    "exponential": (EXPONENTIAL, 3.0),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_method_draws_numpys_numbers(case: tuple[float, ...]) -> None:
    op, *params = case
    ops, args = single(int(op), 5_000, *params)
    for key, rep in zip(KEYS, REPS, strict=True):
        assert_identical([key], rep, ops, args)


def test_every_key_and_replication() -> None:
    ops, args = single(RAW, 9)  # three blocks
    for key, rep in itertools.product(KEYS, REPS):
        assert_identical([key], rep, ops, args)


def test_weibull_with_a_zero_draws_nothing() -> None:
    ops = np.array([[RANDOM, 0], [WEIBULL, 0], [RANDOM, 0]])
    args = np.zeros((3, 3))
    assert ours([KEYS[0]], 3, ops, args)[1] == 0
    assert_identical([KEYS[0]], 3, ops, args)


# -- the ziggurats' slow paths -------------------------------------------------------------


def ziggurat_paths(words: np.ndarray, n: int, exponential: bool) -> Counter[str]:
    """How NumPy's ziggurat turns ``words`` into ``n`` values: how many took the fast
    path, the tail, a wedge test that accepted, one that rejected (NumPy's decisions,
    replayed on its own words)."""
    w = iter(int(x) for x in words)

    def uniform() -> float:
        return (next(w) >> 11) * 2.0**-53

    paths: Counter[str] = Counter()
    for _ in range(n):
        while True:
            r = next(w)
            if exponential:
                r >>= 3
                idx, rabs = r & 0xFF, r >> 8
                x, fast = rabs * we_double[idx], rabs < ke_double[idx]
            else:
                idx, rabs = r & 0xFF, (r >> 9) & 0x000FFFFFFFFFFFFF
                x, fast = rabs * wi_double[idx], rabs < ki_double[idx]
            if fast:
                paths["fast"] += 1
                break
            if idx == 0:
                paths["tail"] += 1
                if exponential:
                    uniform()
                    break
                while True:
                    xx = -ziggurat_nor_inv_r * math.log1p(-uniform())
                    yy = -math.log1p(-uniform())
                    if yy + yy > xx * xx:
                        break
                break
            f, g = (fe_double, math.exp(-x)) if exponential else (fi_double, math.exp(-0.5 * x * x))
            if (f[idx - 1] - f[idx]) * uniform() + f[idx] < g:
                paths["wedge accepted"] += 1
                break
            paths["wedge rejected"] += 1
    return paths


@pytest.mark.parametrize("op", [STD_NORMAL, STD_EXPONENTIAL], ids=["normal", "exponential"])
def test_long_sequences_take_every_slow_path(op: int) -> None:
    n = 200_000
    key, rep = KEYS[2], 2**40
    values = assert_identical([key], rep, *single(op, n)).view(np.float64)
    paths = ziggurat_paths(
        generator(key, rep).bit_generator.random_raw(n + n // 10), n, op == STD_EXPONENTIAL
    )
    assert paths["fast"] + paths["tail"] + paths["wedge accepted"] == n
    assert min(paths["tail"], paths["wedge accepted"], paths["wedge rejected"]) >= 10, paths
    # the tail is exactly where the values lie beyond the last layer
    edge = ziggurat_nor_r if op == STD_NORMAL else ziggurat_exp_r
    assert paths["tail"] == np.count_nonzero(np.abs(values) >= edge)


# -- interleaved calls, several streams ----------------------------------------------------


def test_interleaved_calls_on_two_streams() -> None:
    rng = np.random.default_rng(17)
    cases = list(CASES.values())
    picks = rng.integers(0, len(cases), 4_000)
    ops = np.array(
        [[cases[p][0], s] for p, s in zip(picks, rng.integers(0, 2, 4_000), strict=True)]
    )
    args = np.zeros((len(ops), 3))
    for i, p in enumerate(picks):
        args[i, : len(cases[p]) - 1] = cases[p][1:]
    for rep in (0, 2**40):
        assert_identical(KEYS[1:3], rep, ops, args)


def test_reset_starts_a_new_replication() -> None:
    st = philox.new_streams(np.array(KEYS[:2], dtype=np.uint64))
    raw = np.zeros(6, dtype=np.uint64)
    ops, args = single(STD_NORMAL, 6)
    _run(st, 1, ops, args, raw)  # leaves three words of a block buffered
    philox.reset(st)
    _run(st, 2, ops, args, raw)
    assert np.array_equal(raw, generator(KEYS[0], 2).standard_normal(6).view(np.uint64))


def test_restart_draws_the_streams_of_a_generation() -> None:
    # Counter word 2 is the generation (docs/engine.md section 10): after restart(st, g),
    # stream s is NumPy's Philox with counter [0, rep, g, 0], through the ziggurats' tails.
    st = philox.new_streams(np.array(KEYS[:2], dtype=np.uint64))
    raw = np.zeros(5000, dtype=np.uint64)
    ops, args = single(STD_EXPONENTIAL, 5000)
    for g in (3, 2**40):
        philox.restart(st, g)
        _run(st, 7, ops, args, raw)
        bits = np.random.Philox(key=np.array(KEYS[0], dtype=np.uint64), counter=[0, 7, g, 0])
        expected = np.random.Generator(bits).standard_exponential(5000)
        assert np.array_equal(raw, expected.view(np.uint64))


# -- fill_normals --------------------------------------------------------------------------


def test_fill_normals_rows_are_numpys_standard_normals() -> None:
    keys = np.array(KEYS, dtype=np.uint64)
    out = np.empty((len(keys), 60_000))
    for rep in (0, 2**40, 2**63 - 1):
        philox.fill_normals(keys, rep, out)
        for s, key in enumerate(KEYS):
            expected = generator(key, rep).standard_normal(out.shape[1])
            assert np.array_equal(out[s].view(np.uint64), expected.view(np.uint64))
    assert np.count_nonzero(np.abs(out) >= ziggurat_nor_r) > 10  # the tail was taken


def test_fill_normals_of_a_generation() -> None:
    keys = np.array(KEYS, dtype=np.uint64)
    out = np.empty((len(keys), 20_000))
    philox.fill_normals_of(keys, 5, 2, out)
    for s, key in enumerate(KEYS):
        bits = np.random.Philox(key=np.array(key, dtype=np.uint64), counter=[0, 5, 2, 0])
        expected = np.random.Generator(bits).standard_normal(out.shape[1])
        assert np.array_equal(out[s].view(np.uint64), expected.view(np.uint64))


def test_fill_normals_with_no_columns_or_rows() -> None:
    philox.fill_normals(np.zeros((2, 2), dtype=np.uint64), 0, np.empty((2, 0)))
    philox.fill_normals(np.zeros((0, 2), dtype=np.uint64), 0, np.empty((0, 5)))


# -- Numba's cache -------------------------------------------------------------------------

_CACHED = textwrap.dedent(
    """\
    import numpy as np
    import steppe.engines.kernel._philox as philox

    st = philox.new_streams(np.ones((1, 2), dtype=np.uint64))
    philox.fill_normals(st[:, :2], 3, np.empty((1, 8)))
    philox.gamma(st, 0, 3, 2.5, 1.0)
    philox._block(*st[0, :5])
    fns = [philox.fill_normals, philox.gamma, philox._block]
    print(sum(len(f.stats.cache_hits) for f in fns), sum(len(f.stats.cache_misses) for f in fns))
    """
)


def test_compiled_code_is_cached_without_warnings() -> None:
    # Compiled (and saved: a warning would fail the test) or loaded here ...
    exec(_CACHED, {})
    # ... so another process loads it all from the cache, without a warning.
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", _CACHED],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        check=True,
    )
    assert run.stderr == ""
    assert run.stdout.split() == ["3", "0"]  # 3 cache hits, nothing compiled
