"""Throughput and memory of steppe's engines, measured side by side in one run.

Run from the repository root::

    python benchmarks/bench_engines.py                 # the baseline, all measurements
    python benchmarks/bench_engines.py --big 0         # skip the 10,000,000-replication run

It prints, for one scenario (default ``scenarios/baseline.yaml``):

1. replications per second of the SimPy and compiled engines, one worker each, and the
   ratio of the compiled engine to SimPy;
2. the wall time of 1,000,000 replications with the compiled engine on all cores, as
   ``steppe.run`` does it (parameter draws, engine, summaries), ``--repeat`` times (this
   machine's speed drifts by up to a half from minute to minute, so one figure alone can
   mislead: each time and the median are printed, and just before each run the compiled
   engine's rate on one worker, ``--probe`` replications, as a yardstick of the machine's
   speed at that moment, with the two-worker speed-up over it), then once with the traces
   that reports draw (``traces=True``, the default of ``steppe run``);
3. the wall time and peak resident memory (this process and its workers) of a large run
   (default 10,000,000 replications, compiled engine, all cores), in a fresh subprocess;
4. with ``--against REV`` (a git revision, e.g. the main of yesterday), the compiled engine's
   rate of this tree and of ``REV``'s, one worker each through ``steppe.run`` (parameter
   draws, engine, summaries; no traces), measured alternately in fresh processes
   ``--repeat`` times, and their ratio: a change's cost measured in one run, so the
   machine's drift affects both alike. Rates per second of wall time and per second of
   the process's CPU time are both printed: on a machine that other processes keep busy,
   the CPU time leaves out the time the process waited for a core (one worker runs on one
   thread, so the two agree on a quiet machine).

The compiled engine's kernel is compiled (or loaded from its cache) before anything is
timed: compilation happens once per scenario structure and machine.

Not part of the test suite: a benchmark reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import steppe
from steppe.engines import EngineChoice
from steppe.execute import available_workers
from steppe.load.loader import expanded_text

BIG_RUN = """
import json, resource, sys, time
import steppe
sc = steppe.load(sys.argv[1])
began = time.perf_counter()
steppe.run(sc, replications=int(sys.argv[2]), seed=1, engine="compiled", workers=None,
           traces=False)
wall = time.perf_counter() - began
# VmHWM: this process's own peak since exec. ru_maxrss (RUSAGE_SELF) would also count the
# benchmark process it was forked from, whose peak Linux carries across exec.
try:
    with open("/proc/self/status") as status:
        own = next(int(x.split()[1]) for x in status if x.startswith("VmHWM"))
except OSError:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "self_kib": own, "worker_kib": kids}))
"""


RATE = """
import sys, time
import steppe
sc = steppe.load(sys.argv[1])
n = int(sys.argv[2])
steppe.run(sc, replications=2_000, seed=1, engine="compiled", workers=1, traces=False)
began, cpu = time.perf_counter(), time.process_time()
steppe.run(sc, replications=n, seed=1, engine="compiled", workers=1, traces=False)
print(n / (time.perf_counter() - began), n / (time.process_time() - cpu))
"""


def _export(rev: str, folder: Path) -> Path:
    """The ``src`` folder of git revision ``rev``, exported into ``folder``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def _rate_of(src: Path, cache: Path, scenario: Path, n: int) -> tuple[float, float]:
    """The compiled engine's rate of the steppe in ``src``, in a fresh process: per second
    of wall time and per second of the process's CPU time."""
    env = {**os.environ, "PYTHONPATH": str(src), "STEPPE_CACHE_DIR": str(cache)}
    proc = subprocess.run(
        [sys.executable, "-c", RATE, str(scenario), str(n)],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"the steppe of {src} failed on {scenario}:\n{proc.stderr}")
    wall, cpu = proc.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def against(rev: str, scenario: Path, n: int, repeat: int) -> None:
    """Print the compiled engine's rate of this tree and of ``rev``, alternately measured."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Both trees run the scenario with its templates expanded (and a variant merged onto
        # what it extends): a revision from before templates can read that file; the
        # simulation is the same.
        flat = root / scenario.name
        flat.write_text(expanded_text(scenario), encoding="utf-8")
        scenario = flat
        trees = {"this tree": Path(steppe.__file__).resolve().parents[1], rev: _export(rev, root)}
        caches = {name: root / f"cache-{i}" for i, name in enumerate(trees)}
        rates: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        for name, src in trees.items():  # each version's kernels compiled first, untimed
            _rate_of(src, caches[name], scenario, 2_000)
        for _ in range(max(1, repeat)):
            for name, src in trees.items():
                rates[name].append(_rate_of(src, caches[name], scenario, n))
    print(f"compiled engine, 1 worker, steppe.run of {n:,} replications, {repeat} alternations")
    for clock, c in (("wall time", 0), ("CPU time of the process", 1)):
        mine = [r[c] for r in rates["this tree"]]
        theirs = [r[c] for r in rates[rev]]
        ratios = [a / b for a, b in zip(mine, theirs, strict=True)]
        print(f" replications per second of {clock}")
        for name, values in (("this tree", mine), (rev, theirs)):
            shown = ", ".join(f"{r / 1e3:.0f}" for r in values)
            print(f"  {name:<20} median {statistics.median(values):>10,.0f}/s   ({shown} thousand)")
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"  ratio this / {rev:<11} median {statistics.median(ratios):>10.3f}    ({shown})")


def rate(
    sc: steppe.Scenario, engine: EngineChoice, n: int, workers: int, *, traces: bool = False
) -> tuple[float, float]:
    """(replications per second, wall seconds) of one run."""
    began = time.perf_counter()
    steppe.run(
        sc,
        replications=n,
        seed=12345,
        engine=engine,
        workers=workers,
        traces=traces,
    )
    wall = time.perf_counter() - began
    return n / wall, wall


def normals_per_second(draws: int = 5_000_000) -> float:
    """NumPy's standard normal draws per second on one core, now: a yardstick of the
    machine's speed at the moment (the issue's scale: about 70 million per second)."""
    rng = np.random.default_rng(0)
    block = np.empty(500_000)
    best = math.inf
    for _ in range(draws // len(block)):
        began = time.perf_counter()
        rng.standard_normal(out=block)
        best = min(best, time.perf_counter() - began)
    return len(block) / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml", type=Path)
    ap.add_argument("--simpy-n", type=int, default=2_000, help="SimPy replications")
    ap.add_argument("--compiled-n", type=int, default=500_000, help="compiled replications")
    ap.add_argument("--million", type=int, default=1_000_000, help="all-core run size")
    ap.add_argument("--repeat", type=int, default=5, help="times to time the all-core run")
    ap.add_argument("--probe", type=int, default=100_000, help="one-worker yardstick size")
    ap.add_argument("--big", type=int, default=10_000_000, help="memory run size (0: skip)")
    ap.add_argument("--against", metavar="REV", help="also compare with git revision REV")
    ap.add_argument("--against-only", action="store_true", help="only the --against part")
    args = ap.parse_args(argv)
    if args.against:
        against(args.against, args.scenario, args.probe * 2, args.repeat)
        if args.against_only:
            return 0

    sc = steppe.load(args.scenario)
    cores = available_workers()
    # warm-up: imports, the compiled engine's kernel (and the traced scenario's kernel)
    steppe.run(sc, replications=200, seed=1, engine="simpy", traces=False)
    steppe.run(sc, replications=2_000, seed=1, engine="compiled", traces=False)
    steppe.run(sc, replications=2_000, seed=1, engine="compiled", traces=True)

    simpy_rate, _ = rate(sc, "simpy", args.simpy_n, 1)
    compiled_rate, _ = rate(sc, "compiled", args.compiled_n, 1)
    walls, yardstick, probes = [], [], []
    for _ in range(max(1, args.repeat)):
        yardstick.append(normals_per_second())
        probes.append(rate(sc, "compiled", args.probe, 1)[0])
        walls.append(rate(sc, "compiled", args.million, cores)[1])
    million_wall = statistics.median(walls)
    _, million_traced = rate(sc, "compiled", args.million, cores, traces=True)

    print(
        f"scenario: {args.scenario} ({len(sc.events)} events, {len(sc.projects)} projects, "
        f"{len(sc.series)} series, {len(sc.outcomes)} outcomes, {len(sc.ticks)} ticks)"
    )
    print(f"{'measurement':<48}{'value':>14}")
    print(f"{'simpy, 1 worker (replications/s)':<48}{simpy_rate:>14,.0f}")
    print(f"{'compiled, 1 worker (replications/s)':<48}{compiled_rate:>14,.0f}")
    print(f"{'ratio compiled / simpy':<48}{compiled_rate / simpy_rate:>14,.0f}")
    label = f"compiled, {args.million:,} reps, {cores} workers (s)"
    print(f"{label:<48}{million_wall:>14.2f}  median of {', '.join(f'{w:.2f}' for w in walls)}")
    rates = ", ".join(f"{r / 1e6:.0f}" for r in yardstick)
    print(f"{'  NumPy normals just before each (millions/s)':<48}{'':>14}  {rates}")
    rates = ", ".join(f"{r / 1e3:.0f}" for r in probes)
    print(f"{'  compiled, 1 worker, just before (thousands/s)':<48}{'':>14}  {rates}")
    ups = ", ".join(f"{args.million / w / r:.2f}" for w, r in zip(walls, probes, strict=True))
    print(f"{'  speed-up of the all-core run over it':<48}{'':>14}  {ups}")
    print(f"{'  the same with traces, as steppe run does (s)':<48}{million_traced:>14.2f}")
    print(f"{'compiled, all cores (replications/s)':<48}{args.million / million_wall:>14,.0f}")
    if args.big:
        proc = subprocess.run(
            [sys.executable, "-c", BIG_RUN, str(args.scenario), str(args.big)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        big = json.loads(proc.stdout.strip().splitlines()[-1])
        label = f"compiled, {args.big:,} reps, {cores} workers (s)"
        print(f"{label:<48}{big['wall']:>14.1f}")
        print(f"{'  peak RSS, main process (MiB)':<48}{big['self_kib'] / 1024:>14,.0f}")
        print(f"{'  peak RSS, largest worker (MiB)':<48}{big['worker_kib'] / 1024:>14,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
