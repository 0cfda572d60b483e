"""Throughput of a sweep: a Latin-hypercube sweep of the baseline scenario.

The issue's target is 1,000 design points at 2,000 replications each in at most 30 s on
this project's 2-core machine::

    python benchmarks/bench_sweep.py                            # 1,000 points x 2,000
    python benchmarks/bench_sweep.py --points 50                # a quick check
    python benchmarks/bench_sweep.py --dask-local 2             # the same on a LocalCluster

It varies contagion, shock_rate and border_penalty over their 90% ranges, runs every point
with the same seed (common random numbers), and prints the wall time, design points per
second and replications per second. It reports numbers and asserts nothing; it is not run
by the tests. Checkpointing is on (as in ``steppe sweep``), in a temporary folder.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import steppe
from steppe.sweeps import DaskExecutor, Executor

ROOT = Path(__file__).resolve().parents[1]
VARY = {"contagion": (0.3, 3.0), "shock_rate": (0.15, 0.8), "border_penalty": (0.05, 0.35)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    parser.add_argument("--dask-local", type=int, default=None, metavar="N")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    scenario = steppe.load(ROOT / "scenarios" / "baseline.yaml")  # loaded once, reused
    executor: Executor | None = None
    if args.dask_local:
        executor = DaskExecutor(local_workers=args.dask_local)
    where = f"dask local {args.dask_local}" if args.dask_local else f"workers {args.workers}"
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        table = steppe.sweep(
            scenario,
            vary=VARY,
            design="lhs",
            n=args.points,
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            executor=executor,
            checkpoint=Path(tmp) / "sweep",
        )
        wall = time.perf_counter() - began
    reps = len(table) * args.replications
    print(
        f"LHS sweep of {scenario.name}: {len(table):,} points x {args.replications:,} "
        f"replications ({where}; Python {platform.python_version()})"
    )
    print(f"wall time        {wall:9.2f} s")
    print(f"points/s         {len(table) / wall:9.2f}")
    print(f"replications/s   {reps / wall:9,.0f}")


if __name__ == "__main__":
    main()
