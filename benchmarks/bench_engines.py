"""Throughput and memory of steppe's engines, measured side by side in one run.

Run from the repository root::

    python benchmarks/bench_engines.py                 # the baseline, all measurements
    python benchmarks/bench_engines.py --big 0         # skip the 10,000,000-replication run

It prints, for one scenario (default ``scenarios/baseline.yaml``):

1. replications per second of the SimPy engine and of the vector engine, one worker each,
   and their ratio;
2. the wall time of 1,000,000 replications with the vector engine on all cores;
3. the wall time and peak resident memory (this process and its workers) of a large run
   (default 10,000,000 replications, vector engine, all cores), in a fresh subprocess.

Not part of the test suite: a benchmark reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import steppe
from steppe.execute import available_workers

BIG_RUN = """
import json, resource, sys, time
import steppe
sc = steppe.load(sys.argv[1])
began = time.perf_counter()
steppe.run(sc, replications=int(sys.argv[2]), seed=1, engine="vector", workers=None)
wall = time.perf_counter() - began
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "self_kib": own, "worker_kib": kids}))
"""


def rate(sc: steppe.Scenario, engine: str, n: int, workers: int) -> tuple[float, float]:
    """(replications per second, wall seconds) of one run."""
    began = time.perf_counter()
    steppe.run(sc, replications=n, seed=12345, engine=engine, workers=workers)  # type: ignore[arg-type]
    wall = time.perf_counter() - began
    return n / wall, wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml", type=Path)
    ap.add_argument("--simpy-n", type=int, default=2_000, help="SimPy replications")
    ap.add_argument("--vector-n", type=int, default=200_000, help="vector replications")
    ap.add_argument("--million", type=int, default=1_000_000, help="all-core run size")
    ap.add_argument("--big", type=int, default=10_000_000, help="memory run size (0: skip)")
    args = ap.parse_args(argv)

    sc = steppe.load(args.scenario)
    cores = available_workers()
    steppe.run(sc, replications=200, seed=1, engine="simpy")  # warm-up: imports, compiling
    steppe.run(sc, replications=2_000, seed=1, engine="vector")

    simpy_rate, _ = rate(sc, "simpy", args.simpy_n, 1)
    vector_rate, _ = rate(sc, "vector", args.vector_n, 1)
    _, million_wall = rate(sc, "vector", args.million, cores)

    print(
        f"scenario: {args.scenario} ({len(sc.events)} events, {len(sc.projects)} projects, "
        f"{len(sc.series)} series, {len(sc.outcomes)} outcomes, {len(sc.ticks)} ticks)"
    )
    print(f"{'measurement':<44}{'value':>16}")
    print(f"{'simpy, 1 worker (replications/s)':<44}{simpy_rate:>16,.0f}")
    print(f"{'vector, 1 worker (replications/s)':<44}{vector_rate:>16,.0f}")
    print(f"{'ratio vector / simpy':<44}{vector_rate / simpy_rate:>16,.0f}")
    label = f"vector, {args.million:,} reps, {cores} workers (s)"
    print(f"{label:<44}{million_wall:>16.2f}")
    print(f"{'vector, all cores (replications/s)':<44}{args.million / million_wall:>16,.0f}")
    if args.big:
        proc = subprocess.run(
            [sys.executable, "-c", BIG_RUN, str(args.scenario), str(args.big)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        big = json.loads(proc.stdout.strip().splitlines()[-1])
        label = f"vector, {args.big:,} reps, {cores} workers (s)"
        print(f"{label:<44}{big['wall']:>16.1f}")
        print(f"{'  peak RSS, main process (MiB)':<44}{big['self_kib'] / 1024:>16,.0f}")
        print(f"{'  peak RSS, largest worker (MiB)':<44}{big['worker_kib'] / 1024:>16,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
