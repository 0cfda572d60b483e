"""Draws per second of the Numba Philox streams (``steppe.engines.kernel._philox``).

Run from the repository root::

    python benchmarks/bench_philox.py               # 5,000,000 draws a measurement, 5 rounds
    python benchmarks/bench_philox.py -n 1000000 --repeat 3

It prints millions of draws per second, the median and the best of ``--repeat`` rounds
(each round takes every measurement once, so a drift of the machine's speed touches all of
them alike; ``ns/draw`` and the ratio to Numba's PCG64 are of the medians):

1. ``fill_normals``: rows of ``--width`` standard normals of ``--streams`` streams, one call
   per replication (the stream in local variables);
2. ``std_normal`` and ``std_exponential`` one call per draw, the streams in an array state,
   called in turn (stream 0, 1, ..., 0, 1, ...) as draws scattered through a simulation
   are; the caller compiled as the generated kernels are (``_nrt=False``: no reference
   counting), and ``std_normal`` once more from a caller with Numba's default reference
   counting (which then counts references to the state array at each inlined call);
3. yardsticks: Numba's own ``rng.standard_normal()``, one call per draw, on a NumPy
   ``Generator`` of ``PCG64`` (what the compiled engine uses today) and of ``Philox`` passed
   into the compiled function, and NumPy's ``Generator(Philox).standard_normal(out=...)``
   (its C code filling an array already in memory).

Everything is compiled (or loaded from Numba's cache) before anything is timed.

Not part of the test suite: a benchmark reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

import steppe.engines.kernel._philox as philox

_kernel: Any = numba.njit(_nrt=False, error_model="numpy")  # as the generated kernels


@_kernel
def _fill(keys: np.ndarray, out: np.ndarray, reps: int) -> float:
    acc = 0.0
    for rep in range(reps):
        philox.fill_normals(keys, rep, out)
        acc += out[0, 0]
    return acc


@_kernel
def _normals(st: np.ndarray, per_stream: int, reps: int) -> float:
    acc = 0.0
    for rep in range(reps):
        philox.reset(st)
        for _ in range(per_stream):
            for s in range(st.shape[0]):
                acc += philox.std_normal(st, s, rep)
    return acc


@numba.njit(error_model="numpy")
def _normals_refcounted(st: np.ndarray, per_stream: int, reps: int) -> float:
    acc = 0.0
    for rep in range(reps):
        philox.reset(st)
        for _ in range(per_stream):
            for s in range(st.shape[0]):
                acc += philox.std_normal(st, s, rep)
    return acc


@_kernel
def _exponentials(st: np.ndarray, per_stream: int, reps: int) -> float:
    acc = 0.0
    for rep in range(reps):
        philox.reset(st)
        for _ in range(per_stream):
            for s in range(st.shape[0]):
                acc += philox.std_exponential(st, s, rep)
    return acc


@_kernel
def _numba_normals(rng: np.random.Generator, n: int) -> float:
    acc = 0.0
    for _ in range(n):
        acc += rng.standard_normal()
    return acc


def measurements(n: int, streams: int, width: int) -> dict[str, tuple[Callable[[], Any], int]]:
    """What to time, each drawing about ``n`` numbers: by label, the call and its count."""
    keys = np.arange(1, 2 * streams + 1, dtype=np.uint64).reshape(streams, 2) << np.uint64(40)
    st = philox.new_streams(keys)
    out = np.empty((streams, width))
    reps_fill = max(1, n // (streams * width))
    per_stream = 1_000  # draws of each stream per replication
    reps = max(1, n // (streams * per_stream))
    per_call = reps * streams * per_stream
    pcg = np.random.Generator(np.random.PCG64(1))
    phil = np.random.Generator(np.random.Philox(1))
    buf = np.empty(n)  # NumPy's fill into memory already touched: no page faults timed
    return {
        "fill_normals (local state)": (
            lambda: _fill(keys, out, reps_fill),
            reps_fill * streams * width,
        ),
        "std_normal, one call per draw": (lambda: _normals(st, per_stream, reps), per_call),
        "std_exponential, one call per draw": (
            lambda: _exponentials(st, per_stream, reps),
            per_call,
        ),
        "std_normal per call, refcounting caller": (
            lambda: _normals_refcounted(st, per_stream, reps),
            per_call,
        ),
        "Numba rng.standard_normal(), PCG64": (lambda: _numba_normals(pcg, n), n),
        "Numba rng.standard_normal(), Philox": (lambda: _numba_normals(phil, n), n),
        "NumPy Philox standard_normal(out=) (C)": (lambda: phil.standard_normal(out=buf), n),
    }


def main() -> None:
    """Time every measurement ``--repeat`` times and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5_000_000, help="draws per measurement")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (the median is printed)")
    parser.add_argument("--streams", type=int, default=4, help="streams of the array state")
    parser.add_argument("--width", type=int, default=256, help="normals per fill_normals row")
    args = parser.parse_args()

    todo = measurements(args.n, args.streams, args.width)
    began = time.perf_counter()
    for fn, _ in measurements(1_000, args.streams, args.width).values():
        fn()  # compile (or load from the cache) before timing
    print(f"compiled or loaded in {time.perf_counter() - began:.1f} s")

    rates: dict[str, list[float]] = {label: [] for label in todo}
    for _ in range(args.repeat):
        for label, (fn, drawn) in todo.items():
            t = time.perf_counter()
            fn()
            rates[label].append(drawn / (time.perf_counter() - t) / 1e6)

    base = statistics.median(rates["Numba rng.standard_normal(), PCG64"])
    print(f"\n{'M draws/s':<42} {'median':>7} {'best':>7} {'ns/draw':>8} {'vs PCG64':>9}")
    for label, got in rates.items():
        med = statistics.median(got)
        print(f"{label:<42} {med:7.1f} {max(got):7.1f} {1e3 / med:8.2f} {med / base:9.2f}")


if __name__ == "__main__":
    main()
