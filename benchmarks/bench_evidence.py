"""The cost of conditioning on evidence, measured side by side in one run.

Run from the repository root::

    python benchmarks/bench_evidence.py                  # both engines, default sizes
    python benchmarks/bench_evidence.py --compiled 200000 --simpy 2000 --repeat 3

For the baseline (no evidence) and ``scenarios/update_2025.yaml`` (the baseline updated on
the 2024 evidence), on each engine, one worker, it prints:

1. replications per second of the run itself (``steppe.run`` without traces: parameter
   draws, the engine, every generation of particles, the weighted summaries; the
   conditioned run's ``manifest.json`` ``wall_seconds``, which excludes the prior run that
   ``steppe.run`` adds for "what the evidence taught", timed separately as
   ``prior_wall_seconds``);
2. effective samples per second: the Kish effective sample size of the final weights
   divided by that time (for a run without evidence it is the number of replications);
3. the whole command an analyst runs, ``steppe run FILE -n N --engine E --out DIR`` (report,
   figures, traces and the prior run included), as wall time of a fresh process.

Runs alternate between the two scenarios ``--repeat`` times and the medians are printed,
so that the machine's drift affects both alike. The compiled engine's kernels are compiled
(or loaded from the cache) before anything is timed.

Not part of the test suite: a benchmark reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import steppe

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "baseline": ROOT / "scenarios" / "baseline.yaml",
    "update_2025": ROOT / "scenarios" / "update_2025.yaml",
}


def measure(path: Path, engine: str, n: int) -> tuple[float, float, float]:
    """Replications/s and effective samples/s of the run itself, and the prior's seconds."""
    res = steppe.run(path, replications=n, engine=engine, workers=1, traces=False)  # type: ignore[arg-type]
    wall = float(res.manifest["wall_seconds"])
    ess = float(res.summary["evidence"]["ess"]) if "evidence" in res.summary else float(n)
    return n / wall, ess / wall, float(res.manifest.get("prior_wall_seconds") or 0.0)


def cli(path: Path, engine: str, n: int) -> float:
    """Wall time of ``steppe run`` in a fresh process, report included."""
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "steppe", "run", str(path), "-n", str(n), "--engine", engine,
             "--out", str(Path(tmp) / "out"), "--quiet"],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        return time.perf_counter() - began


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--compiled", type=int, default=200_000, help="replications, compiled")
    ap.add_argument("--simpy", type=int, default=2_000, help="replications, simpy")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for engine, n in (("compiled", args.compiled), ("simpy", args.simpy)):
        for path in SCENARIOS.values():  # compile / warm up, untimed
            steppe.run(path, replications=min(n, 2000), engine=engine, workers=1, traces=False)  # type: ignore[arg-type]
        rows: dict[str, list[tuple[float, float, float]]] = {k: [] for k in SCENARIOS}
        for _ in range(args.repeat):
            for name, path in SCENARIOS.items():
                rows[name].append(measure(path, engine, n))
        whole = {name: cli(path, engine, n) for name, path in SCENARIOS.items()}
        print(f"\n{engine}, {n:,} replications, 1 worker, medians of {args.repeat}:")
        base = statistics.median(r[0] for r in rows["baseline"])
        for name, rs in rows.items():
            rate = statistics.median(r[0] for r in rs)
            eff = statistics.median(r[1] for r in rs)
            prior = statistics.median(r[2] for r in rs)
            print(
                f"  {name:12s} {rate:12,.0f} rep/s  {eff:12,.0f} effective samples/s  "
                f"({rate / base:.2f}x the baseline's rep/s; prior run {prior:.2f} s)  "
                f"`steppe run` whole: {whole[name]:.1f} s"
            )


if __name__ == "__main__":
    main()
