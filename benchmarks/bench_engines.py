"""Throughput of steppe's engines on a scenario (default: the baseline).

Run from the repository root::

    python benchmarks/bench_engines.py [SCENARIO] [-n REPLICATIONS]

Prints replications per second for each engine, measured side by side in one run, and the
peak resident memory of the process. Not part of the test suite: a benchmark reports
numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import steppe
from steppe.engines.des import simulate_des


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml", type=Path)
    ap.add_argument("-n", "--replications", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args(argv)

    sc = steppe.load(args.scenario)
    sc.compiled("scalar")  # compile outside the timed region
    simulate_des(sc, seed=args.seed, n=20)  # warm-up
    began = time.perf_counter()
    simulate_des(sc, seed=args.seed, n=args.replications)
    wall = time.perf_counter() - began
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scenario        {args.scenario}")
    print(f"replications    {args.replications:,}")
    print(f"engine simpy    {args.replications / wall:,.0f} replications/s  ({wall:.2f} s, 1 worker)")
    print(f"peak RSS        {peak_mib:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
