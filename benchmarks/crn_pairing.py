"""How well ``steppe compare`` pairs replications: coverage of its paired interval and the
variance reduction of common random numbers, per engine.

Run from the repository root::

    python benchmarks/crn_pairing.py                          # defaults, all three engines
    python benchmarks/crn_pairing.py --engines simpy --seeds 100 --vrf-n 0   # a quick look
    python benchmarks/crn_pairing.py --json crn.json          # also write the figures

It measures two things (for each engine of ``--engines``):

1. **Coverage of the paired 95% interval.** Two small scenarios,
   ``benchmarks/scenarios/crn_pairing_a.yaml`` (A) and ``crn_pairing_b.yaml`` (B), have
   outcomes whose values are known exactly (below). For every seed in ``range(--seeds)``,
   ``steppe.analysis.compare.compare(A, B, replications=--n, seed=seed, engine=...)`` gives
   per outcome the paired difference ``B - A`` with its standard error and 95% interval.
   Per outcome the script reports the share of seeds whose interval contains the exact
   difference (95% if the interval is right) with its binomial standard error, the mean
   reported standard error over the empirical standard deviation of the estimate across
   seeds ("se ratio": 1 if the reported error is honest; the ratio itself is uncertain by
   about ``1/sqrt(2 seeds)``, 3% at 500 seeds), that standard deviation relative to the
   SimPy engine's, the bias of the estimate in standard errors of the mean over seeds
   (``z``), and a variance-reduction factor (mean of ``se_A^2 + se_B^2``, the variance of the
   difference of independent runs, over the empirical variance of the paired estimate).
   An outcome whose exact difference is 0 and whose paired differences are 0 in every
   replication of a seed is *identical* in that seed (its interval is ``[0, 0]``): such
   seeds are counted apart and left out of the coverage, and an outcome identical in every
   seed is reported as "identical" instead of a coverage.
2. **Variance-reduction factor on the baseline.** ``scenarios/baseline.yaml`` (A) against
   variants made with ``overrides=`` (what ``steppe run --set`` does), ``--vrf-n``
   replications each: per outcome, ``VRF = (Var_A / n + Var_B / n) / (Var(d) / n)``, where
   ``Var_A`` and ``Var_B`` are the sample variances of independent runs (A with seed ``s``,
   B with seed ``s + 1``) and ``d_i = x_i(B) - x_i(A)`` the per-replication differences of
   the common-random-number runs (both with seed ``s``), ``x`` being the value of a value
   outcome, the 0/1 indicator of a probability outcome and, for a time-to-event outcome,
   the indicator that it happened by the horizon (what ``steppe compare`` compares). The
   variants:

   * ``shock_rate = 0.5`` (the baseline draws it from a lognormal with 90% in
     ``[0.15, 0.8]``, median 0.35): the security shock is the one source of randomness that
     reaches almost every outcome -- it dampens every delisting and recognition hazard,
     drags the three trade series, slows and threatens the three projects, and is counted
     by ``shocks_by_2030`` -- so a change in it moves nearly everything, and pairing has to
     keep the rest of each replication aligned;
   * ``tapi_cancel_base = 0.1`` (drawn from a lognormal with 90% in ``[0.01, 0.08]``): TAPI's
     cancellation hazard, read only by ``tapi_completed``. Every other outcome has the
     same law in both runs, so with one random stream per source of randomness their
     paired differences are 0 in every replication ("identical"): a check that a change
     in one place does not reshuffle the random numbers everywhere else.

   A VRF is itself estimated: at 2,000 replications its relative standard error is a few
   percent where the correlation is weak and larger for highly correlated pairs.

The compiled engine's kernels are compiled (or loaded from ``$STEPPE_CACHE_DIR``) by a
warm-up run before anything is timed. Coverage runs spread the seeds over ``--workers``
processes (each ``compare`` uses one: 200 replications make one chunk on every engine).
Not part of the test suite: a benchmark reports numbers, it asserts nothing.

The exact values
----------------
Time is in years of 365.25 days from 2024-01-01; the horizon 2029-01-01 is
``T = 1827 / 365.25 = 5.00205`` and 2026-07-01 is ``t1 = 912 / 365.25 = 2.49692``. A and B
differ only in ``lam``, the rate of the recurring ``shock`` (A: 0.5, B: 0.8 a year). The
other numbers: ``mu = 0.3``, ``beta0 = 0.1``, ``beta1 = 0.6``, ``x0 = 10``, ``sigma = 2``,
``kappa = 2``; each shock is active for ``D ~ Exponential(mean 0.5)``; the project's one
stage takes ``W ~ Uniform(1, 6)`` years at pace 1. The script computes every value from
the loaded scenarios (scipy for the integrals) and checks the closed forms below.

* ``shocks`` (value ``count(shock)`` at T): shocks are a Poisson process of rate ``lam``, so
  ``E N(T) = lam T``: A 2.501027, B 4.001643, ``B - A = 0.3 T = 1.500616``.
* ``shock_active`` (probability ``active(shock)`` at T): the shocks active at T are those
  that began at ``s <= T`` and last beyond ``T - s``; by the thinning of a Poisson process
  (the M/G/infinity queue) their number is Poisson with mean
  ``lam * m``, ``m = integral_0^T P(D > u) du = 0.5 (1 - exp(-T / 0.5))``, so
  ``P = 1 - exp(-lam m)``: A 0.221190, B 0.329668, ``B - A = 0.108477``.
* ``follower_time`` (time to ``occurred(follower)``; compared: P(by T)): the follower's
  hazard is ``beta0`` until the first shock ``S ~ Exponential(lam)`` and ``beta0 + beta1``
  after, so ``P(not by T) = E exp(-beta0 T - beta1 (T - S)^+)
  = exp(-beta0 T) [exp(-lam T) + integral_0^T lam exp(-lam s) exp(-beta1 (T - s)) ds]
  = exp(-beta0 T) (beta1 exp(-lam T) - lam exp(-beta1 T)) / (beta1 - lam)``:
  P(by T) A 0.852415, B 0.912649, ``B - A = 0.060234``.
* ``quiet_by_mid`` (probability ``occurred(quiet)`` at t1): constant hazard ``mu``,
  ``P = 1 - exp(-mu t1) = 0.527197`` in both; ``B - A = 0``.
* ``build_done`` (probability ``completed(build)`` at T): ``P(W <= T) = (T - 1) / 5 =
  0.800411`` in both; ``B - A = 0``.
* ``index_end`` (value of the linear series ``index`` at T): ``x0`` plus zero-mean normal
  steps plus ``kappa`` per shock, so ``E = x0 + kappa lam T``: A 15.002053, B 18.003285,
  ``B - A = 0.6 T = 3.001232``.

Figures measured before the per-source streams are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import math
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from scipy import integrate

import steppe
from steppe._workers import process_pool
from steppe.analysis.compare import compare
from steppe.analysis.intervals import indicator, se_of
from steppe.engines import CHOICES, EngineChoice
from steppe.execute import available_workers
from steppe.model.scenario import Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO_A = HERE / "scenarios" / "crn_pairing_a.yaml"
SCENARIO_B = HERE / "scenarios" / "crn_pairing_b.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
#: The baseline's variants: label -> parameters fixed by ``overrides=`` (see the docstring).
VARIANTS: dict[str, dict[str, float]] = {
    "shock_rate=0.5": {"shock_rate": 0.5},
    "tapi_cancel_base=0.1": {"tapi_cancel_base": 0.1},
}
#: Fields recorded per seed and outcome by a coverage run (axis 2 of its array).
FIELDS = ("estimate", "se", "lo", "hi", "independent_var")


# -- the exact values -----------------------------------------------------------------------


@dataclass(frozen=True)
class Exact:
    """The exact compared statistic of one outcome in A and in B."""

    outcome: str
    statistic: str
    a: float
    b: float

    @property
    def diff(self) -> float:
        """The exact difference ``B - A`` (exactly 0 where the outcome ignores ``lam``)."""
        return 0.0 if self.a == self.b else self.b - self.a


def _fixed(sc: Scenario, name: str) -> float:
    """The value of a fixed parameter of ``sc``."""
    value = sc.param(name).value
    if value is None:
        raise ValueError(f"{sc.name}: parameter {name} is not a fixed value")
    return value


def exact_values(sc: Scenario) -> dict[str, float]:
    """Each outcome's compared statistic in ``sc``, from its numbers (see the docstring).

    Parameters
    ----------
    sc
        ``crn_pairing_a.yaml`` or ``crn_pairing_b.yaml`` (or another scenario of the same
        structure with other numbers).

    Returns
    -------
    dict
        Outcome name -> exact mean (value outcomes) or probability (the others; P(by the
        horizon) for the time-to-event outcome).
    """
    lam, mu = _fixed(sc, "lam"), _fixed(sc, "mu")
    beta0, beta1 = _fixed(sc, "beta0"), _fixed(sc, "beta1")
    x0, kappa = _fixed(sc, "x0"), _fixed(sc, "kappa")
    horizon = sc.timeline.t_horizon
    t_mid = next(o.t for o in sc.outcomes if o.name == "quiet_by_mid")
    assert t_mid is not None
    shock = next(e for e in sc.events if e.name == "shock")
    assert shock.duration is not None and shock.duration.dist is not None
    duration = shock.duration.dist.frozen()
    stage = sc.projects[0].durations[0].dist
    assert stage is not None

    # Shocks active at T: Poisson with mean lam * integral_0^T P(D > u) du (M/G/infinity).
    m, _ = integrate.quad(duration.sf, 0.0, horizon, epsabs=1e-13, epsrel=1e-12)
    # The follower's survival to T: hazard beta0, then beta0 + beta1 after the first shock.
    after, _ = integrate.quad(
        lambda s: lam * math.exp(-lam * s - beta1 * (horizon - s)),
        0.0,
        horizon,
        epsabs=1e-13,
        epsrel=1e-12,
    )
    follower_not = math.exp(-beta0 * horizon) * (math.exp(-lam * horizon) + after)
    if not math.isclose(lam, beta1):  # the closed form of the docstring, as a check
        closed = (
            math.exp(-beta0 * horizon)
            * (beta1 * math.exp(-lam * horizon) - lam * math.exp(-beta1 * horizon))
            / (beta1 - lam)
        )
        assert math.isclose(follower_not, closed, rel_tol=1e-9), (follower_not, closed)
    return {
        "shocks": lam * horizon,
        "shock_active": -math.expm1(-lam * m),
        "follower_time": 1.0 - follower_not,
        "quiet_by_mid": -math.expm1(-mu * t_mid),
        "build_done": float(stage.frozen().cdf(horizon)),
        "index_end": x0 + kappa * lam * horizon,
    }


def exact_table(a: Scenario, b: Scenario) -> list[Exact]:
    """The exact values of A and B, in the order of A's outcomes."""
    va, vb = exact_values(a), exact_values(b)
    stat = {"probability": "P", "distribution": "mean", "time_to_event": "P(by horizon)"}
    missing = {o.name for o in a.outcomes} ^ set(va)
    if missing:
        raise ValueError(f"no exact value for outcomes {sorted(missing)}")
    return [Exact(o.name, stat[o.kind], va[o.name], vb[o.name]) for o in a.outcomes]


# -- part 1: coverage -----------------------------------------------------------------------


@functools.cache
def _pair() -> tuple[Scenario, Scenario]:
    """Scenarios A and B, loaded once per process."""
    return steppe.load(SCENARIO_A), steppe.load(SCENARIO_B)


def _no_setup() -> None:
    """Worker initializer: nothing to prepare (scenarios are loaded on first use)."""


def coverage_block(engine: str, seeds: Sequence[int], n: int) -> np.ndarray:
    """Compare A and B once per seed; the paired difference of each outcome.

    Parameters
    ----------
    engine
        The engine every comparison runs on.
    seeds
        The seeds, one comparison each.
    n
        Replications of each scenario.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(seeds), outcomes, len(FIELDS))``: per seed and outcome (in A's order)
        the paired estimate of ``B - A``, its reported standard error, the ends of its 95%
        interval, and ``se_A^2 + se_B^2`` (the variance of the difference of independent
        runs, from each run's own standard error).
    """
    a, b = _pair()
    out = np.empty((len(seeds), len(a.outcomes), len(FIELDS)))
    for i, seed in enumerate(seeds):
        cmp = compare(a, b, replications=n, seed=seed, engine=cast(EngineChoice, engine), workers=1)
        for j, o in enumerate(cmp.outcomes):
            d = o.differences[1]
            assert d is not None and d.paired
            se_a, se_b = (se_of(s["outcomes"][o.outcome], s["horizon"]) for s in cmp.summaries)
            out[i, j] = (d.value, d.se, d.ci95[0], d.ci95[1], se_a**2 + se_b**2)
    return out


def coverage_stats(data: np.ndarray, exact: Sequence[Exact]) -> dict[str, dict[str, Any]]:
    """Per outcome: coverage, se ratio, spread, bias and VRF from :func:`coverage_block` rows.

    Parameters
    ----------
    data
        The blocks of :func:`coverage_block` stacked along the seeds.
    exact
        The exact values, in the same order as the outcomes of ``data``.

    Returns
    -------
    dict
        Outcome name -> figures (``status`` is ``"identical"`` when every seed had a paired
        difference of 0 in every replication, which is possible only for an exact
        difference of 0; else ``"measured"``).
    """
    out: dict[str, dict[str, Any]] = {}
    for j, ex in enumerate(exact):
        est, se, lo, hi, ind = (data[:, j, k] for k in range(len(FIELDS)))
        same = (se == 0) & (est == 0) if ex.diff == 0 else np.zeros(est.size, dtype=bool)
        keep = ~same
        seeds = int(keep.sum())
        row: dict[str, Any] = {
            "statistic": ex.statistic,
            "exact_a": ex.a,
            "exact_b": ex.b,
            "exact_diff": ex.diff,
            "seeds": int(est.size),
            "identical_seeds": int(same.sum()),
        }
        if seeds < 2:
            row["status"] = "identical" if seeds == 0 else "too few seeds"
            out[ex.outcome] = row
            continue
        est, se, lo, hi, ind = est[keep], se[keep], lo[keep], hi[keep], ind[keep]
        hit = (lo <= ex.diff) & (ex.diff <= hi)
        cov = float(hit.mean())
        sd = float(np.std(est, ddof=1))
        row.update(
            status="measured",
            coverage=cov,
            coverage_se=math.sqrt(cov * (1.0 - cov) / seeds),
            mean_se=float(se.mean()),
            sd_estimate=sd,
            se_ratio=float(se.mean()) / sd if sd > 0 else math.nan,
            bias_z=(float(est.mean()) - ex.diff) / (sd / math.sqrt(seeds)) if sd > 0 else math.nan,
            vrf=float(ind.mean()) / sd**2 if sd > 0 else math.inf,
        )
        out[ex.outcome] = row
    return out


def run_coverage(
    engines: Sequence[str], seeds: int, n: int, workers: int, exact: Sequence[Exact]
) -> dict[str, Any]:
    """Part 1 for every engine; prints a table per engine and returns the figures."""
    a, b = _pair()
    blocks = [list(range(s, min(s + 10, seeds))) for s in range(0, seeds, 10)]
    result: dict[str, Any] = {}
    with process_pool(workers, _no_setup) as pool:
        for engine in engines:
            began = time.perf_counter()
            compare(a, b, replications=n, seed=0, engine=cast(EngineChoice, engine))  # warm-up
            warm = time.perf_counter() - began
            began = time.perf_counter()
            parts = list(
                pool.map(coverage_block, [engine] * len(blocks), blocks, [n] * len(blocks))
            )
            wall = time.perf_counter() - began
            stats = coverage_stats(np.concatenate(parts), exact)
            result[engine] = {
                "wall_seconds": wall,
                "warmup_seconds": warm,
                "outcomes": stats,
                "summary": coverage_summary(stats),
            }
            print(
                f"\ncoverage of the paired 95% interval, engine {engine}: {seeds} seeds x "
                f"{n} replications x 2 scenarios, {wall:.1f} s on {workers} processes "
                f"(warm-up {warm:.1f} s)"
            )
            print_coverage(result, engine)
            c = result[engine]["summary"]
            if c["measured"]:
                print(
                    f"over the {c['measured']} measured outcomes: coverage "
                    f"{c['coverage_mean']:.3f} on average (nominal 0.95), se ratio "
                    f"{c['se_ratio_min']:.2f} to {c['se_ratio_max']:.2f}"
                )
    return result


def print_coverage(result: dict[str, Any], engine: str) -> None:
    """The table of one engine's coverage figures."""
    ref = result.get("simpy", {}).get("outcomes", {})
    head = (
        f"{'outcome':<15}{'statistic':<15}{'exact B-A':>10}{'coverage':>10}{'± se':>7}"
        f"{'se ratio':>10}{'sd(est)':>10}{'/simpy':>8}{'VRF':>7}{'bias z':>8}{'d≡0':>6}"
    )
    print(head)
    for name, r in result[engine]["outcomes"].items():
        left = f"{name:<15}{r['statistic']:<15}{r['exact_diff']:>10.4f}"
        if r["status"] != "measured":
            what = {"identical": "identical: d = 0 in every replication of every seed"}
            print(f"{left}  {what.get(r['status'], r['status'])}")
            continue
        base = ref.get(name, {}).get("sd_estimate")
        rel = f"{r['sd_estimate'] / base:>8.2f}" if base else f"{'-':>8}"
        print(
            f"{left}{r['coverage']:>10.3f}{r['coverage_se']:>7.3f}{r['se_ratio']:>10.2f}"
            f"{r['sd_estimate']:>10.4f}{rel}{r['vrf']:>7.1f}{r['bias_z']:>8.2f}"
            f"{r['identical_seeds']:>6}"
        )


def coverage_summary(outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean, smallest and largest coverage and se ratio over the measured outcomes."""
    rows = [r for r in outcomes.values() if r["status"] == "measured"]
    if not rows:
        return {"measured": 0}
    cov = [r["coverage"] for r in rows]
    ratio = [r["se_ratio"] for r in rows]
    return {
        "measured": len(rows),
        "identical": sum(r["status"] == "identical" for r in outcomes.values()),
        "coverage_mean": float(np.mean(cov)),
        "coverage_min": min(cov),
        "coverage_max": max(cov),
        "se_ratio_min": min(ratio),
        "se_ratio_max": max(ratio),
    }


def print_summary(coverage: dict[str, Any], vrfs: dict[str, Any]) -> None:
    """One line per engine: coverage and se ratio over outcomes, median VRFs, wall times."""
    print("\nsummary per engine")
    head = f"{'engine':<10}{'coverage mean [min, max]':>28}{'se ratio [min, max]':>22}"
    head += "".join(f"{'VRF ' + v.split('=')[0]:>26}" for v in VARIANTS)
    print(
        f"(VRF: median over the baseline's measured outcomes, and how many are identical)\n{head}"
        f"{'wall (s)':>10}"
    )
    for engine in dict.fromkeys([*coverage, *vrfs]):
        cov, ratio = "-", "-"
        c = coverage.get(engine, {}).get("summary", {"measured": 0})
        if c["measured"]:
            cov = f"{c['coverage_mean']:.3f} [{c['coverage_min']:.3f}, {c['coverage_max']:.3f}]"
            ratio = f"[{c['se_ratio_min']:.2f}, {c['se_ratio_max']:.2f}]"
        cells = []
        for v in VARIANTS:
            r = vrfs.get(engine, {}).get("variants", {}).get(v)
            cells.append(f"{r['median_vrf']:.2f} ({r['identical']} identical)" if r else "-")
        wall = coverage.get(engine, {}).get("wall_seconds", 0.0)
        wall += vrfs.get(engine, {}).get("wall_seconds", 0.0)
        print(
            f"{engine:<10}{cov:>28}{ratio:>22}"
            + "".join(f"{x:>26}" for x in cells)
            + f"{wall:>10.1f}"
        )


# -- part 2: variance reduction on the baseline ---------------------------------------------


def vrf(a: np.ndarray, b_crn: np.ndarray, b_ind: np.ndarray) -> tuple[float, str]:
    """The variance-reduction factor of one outcome.

    Parameters
    ----------
    a, b_crn
        Per-replication variables of A and B run with the same seed.
    b_ind
        Those of B run with another seed (independent of ``a``).

    Returns
    -------
    tuple
        ``(VRF, status)``: ``status`` is ``"measured"``; ``"identical"`` (``VRF = inf``) when
        ``b_crn - a`` is 0 in every replication; ``"constant"`` (``VRF = nan``) when the
        variable does not vary in any of the runs; ``"d constant"`` (``inf``) when the
        paired difference is a non-zero constant.
    """
    n = a.size
    independent = (np.var(a, ddof=1) + np.var(b_ind, ddof=1)) / n
    d = b_crn - a
    paired = np.var(d, ddof=1) / n
    if paired > 0:
        return float(independent / paired), "measured"
    if not np.any(d):
        return (math.inf, "identical") if independent > 0 else (math.nan, "constant")
    return math.inf, "d constant"


def run_vrf(engines: Sequence[str], n: int, seed: int, workers: int) -> dict[str, Any]:
    """Part 2 for every engine; prints a table per engine and returns the figures."""
    base = steppe.load(BASELINE)
    kinds = {o.name: o.kind for o in base.outcomes}
    result: dict[str, Any] = {}
    for engine in engines:
        eng = cast(EngineChoice, engine)
        began = time.perf_counter()
        for over in [{}, *VARIANTS.values()]:  # compile or load the kernels
            steppe.run(base, replications=200, seed=seed, engine=eng, overrides=over)
        warm = time.perf_counter() - began

        def samples(over: dict[str, float], s: int, eng: EngineChoice = eng) -> Any:
            res = steppe.run(
                base, replications=n, seed=s, engine=eng, workers=workers, overrides=over,
                keep_samples=True,
            )  # fmt: skip
            return res.samples

        began = time.perf_counter()
        xa = samples({}, seed)
        per: dict[str, dict[str, Any]] = {}
        for label, over in VARIANTS.items():
            xb, xi = samples(over, seed), samples(over, seed + 1)
            rows: dict[str, dict[str, Any]] = {}
            for name, kind in kinds.items():
                col = [indicator(kind, x[name].to_numpy(dtype=np.float64)) for x in (xa, xb, xi)]
                factor, status = vrf(*col)
                rows[name] = {"vrf": factor, "status": status}
            finite = [float(r["vrf"]) for r in rows.values() if r["status"] == "measured"]
            per[label] = {
                "outcomes": rows,
                "median_vrf": float(np.median(finite)) if finite else math.nan,
                "identical": sum(r["status"] == "identical" for r in rows.values()),
            }
        wall = time.perf_counter() - began
        result[engine] = {"wall_seconds": wall, "warmup_seconds": warm, "variants": per}
        print(
            f"\nvariance-reduction factor on {BASELINE.relative_to(ROOT)}, engine {engine}: "
            f"{n} replications, seed {seed} (independent: {seed + 1}), {wall:.1f} s on "
            f"{workers} processes (warm-up {warm:.1f} s)"
        )
        print(f"{'outcome':<30}{'statistic':<15}" + "".join(f"{v:>22}" for v in VARIANTS))
        stat = {"probability": "P", "distribution": "mean", "time_to_event": "P(by horizon)"}
        for name, kind in kinds.items():
            cells = []
            for label in VARIANTS:
                r = per[label]["outcomes"][name]
                cells.append(
                    f"{r['vrf']:>22.2f}" if r["status"] == "measured" else f"{r['status']:>22}"
                )
            print(f"{name:<30}{stat[kind]:<15}" + "".join(cells))
        print(
            f"{'median VRF (measured ones)':<45}"
            + "".join(f"{per[v]['median_vrf']:>22.2f}" for v in VARIANTS)
        )
        print(
            f"{'identical outcomes':<45}"
            + "".join(f"{per[v]['identical']:>17} of {len(kinds)}" for v in VARIANTS)
        )
    return result


# -- the command ----------------------------------------------------------------------------


def _commit() -> str | None:
    """The commit of the working tree, if it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def _plain(x: Any) -> Any:
    """``x`` with every non-finite float written as JSON can hold it: ``"inf"`` or null."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run both parts, print the tables, write ``--json``."""
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] + " " + __doc__.splitlines()[1],
        epilog="See the module docstring (and benchmarks/README.md) for the scenarios, the "
        "exact values and the figures measured before the per-source streams.",
    )
    ap.add_argument(
        "--engines",
        default="simpy,compiled",
        help="comma-separated engines (default: %(default)s)",
    )
    ap.add_argument(
        "--seeds",
        type=int,
        default=500,
        help="coverage: seeds 0..SEEDS-1 (default: %(default)s; 0: skip part 1)",
    )
    ap.add_argument(
        "--n",
        type=int,
        default=200,
        help="coverage: replications per scenario (default: %(default)s)",
    )
    ap.add_argument(
        "--vrf-n",
        type=int,
        default=2000,
        help="VRF: replications per run (default: %(default)s; 0: skip part 2)",
    )
    ap.add_argument(
        "--vrf-seed",
        type=int,
        default=20240115,
        help="VRF: seed (default: %(default)s, the baseline's)",
    )
    ap.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures to this file")
    args = ap.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = [e for e in engines if e not in CHOICES]
    if bad:
        ap.error(f"unknown engine(s) {', '.join(bad)}; expected some of {', '.join(CHOICES)}")
    workers = args.workers or available_workers()

    began = time.perf_counter()
    a, b = _pair()
    exact = exact_table(a, b)
    print(f"exact values of {SCENARIO_A.name} (A) and {SCENARIO_B.name} (B)")
    print(f"{'outcome':<15}{'statistic':<15}{'A':>12}{'B':>12}{'B - A':>12}")
    for ex in exact:
        print(f"{ex.outcome:<15}{ex.statistic:<15}{ex.a:>12.6f}{ex.b:>12.6f}{ex.diff:>12.6f}")

    coverage = run_coverage(engines, args.seeds, args.n, workers, exact) if args.seeds else {}
    vrfs = run_vrf(engines, args.vrf_n, args.vrf_seed, workers) if args.vrf_n else {}
    wall = time.perf_counter() - began
    print_summary(coverage, vrfs)
    print(f"\ntotal wall time {wall:.1f} s (warm-ups and compilation included)")

    if args.json:
        doc = {
            "date": dt.date.today().isoformat(),
            "commit": _commit(),
            "settings": {
                "engines": engines,
                "seeds": args.seeds,
                "n": args.n,
                "vrf_n": args.vrf_n,
                "vrf_seed": args.vrf_seed,
                "workers": workers,
                "variants": VARIANTS,
            },
            "exact": {ex.outcome: {"a": ex.a, "b": ex.b, "diff": ex.diff} for ex in exact},
            "coverage": coverage,
            "vrf": vrfs,
            "wall_seconds": wall,
        }
        args.json.write_text(json.dumps(_plain(doc), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
