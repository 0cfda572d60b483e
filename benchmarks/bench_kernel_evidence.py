"""The cost of conditioning in the compiled engine: one generation of a run conditioned on
a small plan against a plain run of the same size, one worker, kernels called directly.

Run from the repository root::

    python benchmarks/bench_kernel_evidence.py [scenario] [--n 100000] [--repeat 5]

The plan (on ``scenarios/baseline.yaml``'s events and series; a few items, as an analyst's
evidence file has): three events that had not happened by 15 January 2025, one that did on
a known day, a recurring event seen once at an unknown time in the first half of 2024, a
series level and total, a stage check. Both runs are timed alternately ``--repeat`` times
(the machine's speed drifts; alternation affects both alike); it prints each rate, their
medians and the median ratio. A whole conditioned run costs one such generation per
resampling plus one (``docs/engine.md`` section 10).

Not part of the test suite: a benchmark reports numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

import steppe
from steppe.engines.compiled import CompiledEngine
from steppe.engines.des import Lineages
from steppe.evidence.plan import EvidencePlan, SeriesCheck, StageCheck, Window


def small_plan(sc: steppe.Scenario) -> EvidencePlan:
    """A plan of a few items on the baseline's events, projects and series."""
    ev = {e.name: e.index for e in sc.events}
    se = {s.name: s.index for s in sc.series}
    pr = {p.name: p.index for p in sc.projects}
    as_of = float(sc.timeline.years(dt.date(2025, 1, 15)))
    day = float(sc.timeline.years(dt.date(2024, 9, 20)))
    return EvidencePlan(
        windows=(
            *(Window(ev[x], 0.0, as_of) for x in ("uz_delists", "tm_delists", "ru_delists")),
            Window(ev["kg_delists"], 0.0, as_of, times=(day,)),
            Window(ev["shock"], 0.0, as_of, draws=1, dlo=0.0, dhi=0.5, source="evidence:4:times"),
        ),
        series=(
            SeriesCheck(se["kz_trade"], as_of, as_of, value=1200.0, sigma=0.25),
            SeriesCheck(se["uz_trade"], 0.0, 1.0, at_least=400.0),
        ),
        stages=(StageCheck(pr["tapi"], 1, as_of, reached=False),),
        as_of=as_of,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml", type=Path)
    ap.add_argument("--n", type=int, default=100_000, help="replications per timing")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sc = steppe.load(args.scenario)
    engine = CompiledEngine()
    plan = small_plan(sc)
    # compiled (or loaded from the cache) before anything is timed
    engine.simulate(sc, seed=1, start=0, n=10)
    engine.simulate_conditioned(sc, plan, Lineages(), seed=1, start=0, n=10)
    plain, cond = [], []
    for _ in range(args.repeat):
        began = time.perf_counter()
        engine.simulate(sc, seed=1, start=0, n=args.n)
        plain.append(args.n / (time.perf_counter() - began))
        began = time.perf_counter()
        engine.simulate_conditioned(sc, plan, Lineages(), seed=1, start=0, n=args.n)
        cond.append(args.n / (time.perf_counter() - began))
    ratios = [c / p for c, p in zip(cond, plain, strict=True)]
    print(f"{args.scenario}, {args.n:,} replications, 1 worker, {args.repeat} alternations")
    print(f"  plain        median {statistics.median(plain):>10,.0f}/s")
    print(f"  conditioned  median {statistics.median(cond):>10,.0f}/s  (one generation)")
    shown = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"  ratio conditioned / plain  median {statistics.median(ratios):.3f}  ({shown})")


if __name__ == "__main__":
    main()
