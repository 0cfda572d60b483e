"""Statistical equivalence of the engines with the reference SimPy engine.

``docs/engine.md`` defines the semantics; :func:`steppe.engines.des.simulate_des` is its
reference implementation, and the compiled engine (:mod:`steppe.engines.kernel`, run through
its :class:`~steppe.engines.base.Engine`) must give every outcome the **same law** (not the
same random numbers). Each test runs one scenario in SimPy and in the compiled engine and
compares, outcome by outcome, the compiled engine's sample with SimPy's:

* a **probability** or **combine** outcome (0/1): the two frequencies, by a two-proportion
  z-test with the pooled standard error;
* a **value** outcome: the means, by a Welch z (difference over the standard error of the
  difference), and the whole distribution, by a two-sample Kolmogorov-Smirnov test
  (``scipy.stats.ks_2samp``, asymptotic p-value) -- or, when the values are counts (all
  integers, few distinct values), by a chi-square test of homogeneity of the value counts,
  adjacent rare values pooled so that every expected count is at least 5;
* a **time_to** outcome: ``P(time <= t(d))`` at every 31 December in the window and at the
  horizon (``Timeline.year_ends``), each by a two-proportion z-test; the finite part (the
  times reached by the horizon) by a KS test and by a Welch z on its mean.

Independent samples. Parameters are drawn from per-parameter streams shared by both engines
(``docs/engine.md`` §5): with the same seed and replication range the two engines would get
*identical* parameter draws, the samples would be positively correlated and every test
below would be too lenient. So the SimPy engine runs with seed ``s`` and the compiled engine
with ``s + 2``; the compiled sample is split over two chunks (different replication ranges),
as a real run would be.

Multiple testing. Every test function is one *family* of ``k`` comparisons (``k`` = 20 to
68 here; it is printed in the failure report).
The family fails when any comparison has ``p < ALPHA_FAMILY / k`` with ``ALPHA_FAMILY =
1e-3`` (Bonferroni; a z is turned into a two-sided p-value, so the threshold is |z| > 4.1 to
4.4). By Bonferroni correct engines fail a family with probability at most 1e-3 whatever the
dependence between its comparisons (the year-end probabilities of one ``time_to`` are
strongly dependent, which Bonferroni allows for -- it is merely conservative there, as are
the KS and chi-square tests on discrete or tied data). The false-failure probability of one
run of this module is therefore at most ``(number of families) x 1e-3`` = 1.9e-2 with the 19
equivalence families below (12 synthetic scenarios, 7 shipped). Seeds are fixed, so the
tests are deterministic; that figure is the chance that a correct engine change that
reshuffles the random streams needs a new seed. Samples are rounded to 9 decimals and means
equal to 1e-9 (relative) count as equal, so that a quantity that is deterministic in both
engines (a stage of fixed work) cannot fail on float noise.

Power. ``test_comparisons_detect_a_perturbed_hazard`` runs the contagion scenario against a
copy with one hazard changed (compiled engine only) and asserts that the machinery flags it
at the sample sizes used here, so the suite is not vacuous. A recurring hazard x 1.15 is
flagged with |z| ~= 15 on the mean count. A one-shot hazard x 1.15 moves P(by the horizon)
by ~0.035 (|z| ~= 4.0-4.5, at the threshold): not reliably detectable, so the one-shot case
uses x 1.3 (|z| ~= 8). In general, at ``n = 3000`` (SimPy) against ``n = 30000`` (compiled)
the standard error of a difference of proportions is at most ``0.5 sqrt(1/3000 + 1/30000)
~= 0.0096``: differences in a probability of about 0.05 are detected reliably.

Sizes and runtime: the SimPy engine does a few hundred to a thousand replications per second,
so each synthetic scenario runs 2000-4000 replications there and 20000-40000 in the compiled
engine; the whole module takes about two minutes once the kernels are compiled (each new
scenario structure compiles once per machine, 5-30 s).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import steppe
from steppe.engines import get_engine
from steppe.engines.des import simulate_des
from steppe.model.scenario import OutcomeModel, Scenario

pytestmark = pytest.mark.slow

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = sorted(SCENARIO_DIR.glob("*.yaml"))

#: Family-wise false-failure probability of one test function (Bonferroni over its k tests).
ALPHA_FAMILY = 1e-3
#: Default sample sizes: SimPy engine, compiled engine.
N_DES, N_FAST = 3_000, 30_000
#: A value outcome whose values are all integers with at most this many distinct values is
#: compared as counts (chi-square homogeneity) rather than by KS.
MAX_COUNT_CELLS = 40
#: Fewest finite times to event, in each sample, for a KS test of the finite part.
MIN_FINITE = 30
#: Smallest expected count of a cell of the chi-square table after pooling.
MIN_EXPECTED = 5.0
#: Samples are rounded to this many decimals before they are compared (float noise).
SNAP_DECIMALS = 9


# ----------------------------------------------------------------------------------------
# Running both engines
# ----------------------------------------------------------------------------------------


def scenario(text: str) -> Scenario:
    """A scenario from (indented) YAML text."""
    return steppe.loads(textwrap.dedent(text))


def run_des(sc: Scenario, *, seed: int, n: int) -> np.ndarray:
    return simulate_des(sc, seed=seed, start=0, n=n)


def run_compiled(sc: Scenario, *, seed: int, n: int, chunks: int = 2) -> np.ndarray:
    """``n`` replications of the compiled engine in ``chunks`` chunks (consecutive ranges)."""
    engine = get_engine("compiled")
    size = math.ceil(n / chunks)
    parts = [
        engine.simulate(sc, seed=seed, start=c * size, n=min(size, n - c * size))
        for c in range(chunks)
        if c * size < n
    ]
    return np.concatenate(parts, axis=0)


def check_layout(sc: Scenario, samples: np.ndarray, n: int, engine: str) -> None:
    """Deterministic sanity of a sample: shape, 0/1 probabilities, times in [0, T] or inf."""
    assert samples.shape == (n, len(sc.outcomes)), f"{engine}: shape {samples.shape}"
    t_end = sc.timeline.t_horizon
    for o in sc.outcomes:
        col = samples[:, o.index]
        assert not np.isnan(col).any(), f"{engine}: {o.name} has NaN"
        if o.kind == "probability":
            assert np.isin(col, (0.0, 1.0)).all(), f"{engine}: {o.name} is not 0/1"
        elif o.kind == "time_to_event":
            ok = np.isinf(col) | ((col >= 0) & (col <= t_end + 1e-9))
            assert ok.all(), f"{engine}: {o.name} has times outside [0, T] U {{inf}}"
            assert (col[np.isinf(col)] > 0).all(), f"{engine}: {o.name} has -inf"
        else:
            assert np.isfinite(col).all(), f"{engine}: {o.name} has non-finite values"


def run_both(
    sc: Scenario,
    *,
    seed: int,
    n_des: int = N_DES,
    n_fast: int = N_FAST,
) -> tuple[np.ndarray, np.ndarray]:
    """SimPy with ``seed``, compiled with ``seed + 2`` (independent parameter draws)."""
    des = run_des(sc, seed=seed, n=n_des)
    fast = run_compiled(sc, seed=seed + 2, n=n_fast)
    check_layout(sc, des, n_des, "simpy")
    check_layout(sc, fast, n_fast, "compiled")
    return des, fast


# ----------------------------------------------------------------------------------------
# Comparisons
# ----------------------------------------------------------------------------------------


def _z_pvalue(z: float) -> float:
    return float(2.0 * stats.norm.sf(abs(z)))


@dataclass
class Comparison:
    """One two-sample comparison: what, by which test, the estimates, the statistic, p."""

    name: str
    test: str
    estimates: str
    statistic: str
    p: float


@dataclass
class Comparisons:
    """Collects the comparisons of one family; :meth:`check` asserts them all at the end."""

    family: str
    alpha: float = ALPHA_FAMILY
    items: list[Comparison] = field(default_factory=list)
    #: The engine compared with SimPy.
    other: str = "compiled"

    # -- the tests -----------------------------------------------------------------------

    def proportion(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        """Two-proportion z-test (pooled SE) of boolean/0-1 samples ``x`` (SimPy), ``y``."""
        x, y = np.asarray(x, dtype=bool), np.asarray(y, dtype=bool)
        n1, n2 = x.size, y.size
        p1, p2 = float(x.mean()), float(y.mean())
        pooled = (x.sum() + y.sum()) / (n1 + n2)
        se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
        z = 0.0 if se == 0.0 else (p1 - p2) / se  # se == 0: both all 0 or all 1
        self.items.append(
            Comparison(
                name,
                "2-prop z",
                f"simpy {p1:.4f} vs {self.other} {p2:.4f}",
                f"z={z:+.2f}",
                _z_pvalue(z),
            )
        )

    def means(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        """Welch z: difference of means over the SE of the difference."""
        m1, m2 = float(np.mean(x)), float(np.mean(y))
        se = math.sqrt(np.var(x, ddof=1) / x.size + np.var(y, ddof=1) / y.size)
        if abs(m1 - m2) <= 1e-9 * max(1.0, abs(m1), abs(m2)):  # equal up to float noise
            z, p = 0.0, 1.0
        elif se == 0.0:  # two different constants
            z, p = math.inf, 0.0
        else:
            z = (m1 - m2) / se
            p = _z_pvalue(z)
        self.items.append(
            Comparison(
                name,
                "Welch z",
                f"simpy {m1:.5g} vs {self.other} {m2:.5g} (se {se:.3g})",
                f"z={z:+.2f}",
                p,
            )
        )

    def ks(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        """Two-sample Kolmogorov-Smirnov (asymptotic p-value; conservative with ties)."""
        res = stats.ks_2samp(x, y, method="asymp")
        self.items.append(
            Comparison(
                name,
                "KS",
                f"medians simpy {np.median(x):.5g} vs {self.other} {np.median(y):.5g}",
                f"D={res.statistic:.4f}",
                float(res.pvalue),
            )
        )

    def counts(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        """Chi-square test of homogeneity of the value counts, rare adjacent values pooled."""
        values = np.union1d(x, y)
        table = np.array([[np.sum(s == v) for v in values] for s in (x, y)], dtype=float)
        # Pool adjacent cells (in value order) until each pooled column's expected count in
        # the smaller sample is at least MIN_EXPECTED.
        need = MIN_EXPECTED * table.sum() / table.sum(axis=1).min()
        cols: list[np.ndarray] = []
        acc = np.zeros(2)
        for j in range(table.shape[1]):
            acc = acc + table[:, j]
            if acc.sum() >= need:
                cols.append(acc)
                acc = np.zeros(2)
        if acc.sum() > 0:
            if cols:
                cols[-1] = cols[-1] + acc
            else:
                cols.append(acc)
        pooled = np.array(cols).T
        shares = table / table.sum(axis=1, keepdims=True)
        top = ", ".join(
            f"{v:g}: {a:.3f}/{b:.3f}"
            for v, a, b in zip(values[:6], shares[0, :6], shares[1, :6], strict=True)
        )
        if pooled.shape[1] < 2:
            stat, p, dof = 0.0, 1.0, 0  # a single cell: both samples are the same constant
        else:
            res = stats.chi2_contingency(pooled, correction=False)
            stat, p, dof = float(res.statistic), float(res.pvalue), int(res.dof)
        self.items.append(
            Comparison(
                name,
                "chi2 homog.",
                f"shares simpy/{self.other} {top}{' ...' if values.size > 6 else ''}",
                f"chi2={stat:.2f} (dof {dof})",
                p,
            )
        )

    # -- per outcome ---------------------------------------------------------------------

    def outcome(self, sc: Scenario, o: OutcomeModel, des: np.ndarray, fast: np.ndarray) -> None:
        """Every comparison of outcome ``o`` (see the module docstring)."""
        x, y = snap(des[:, o.index]), snap(fast[:, o.index])
        if o.kind == "probability":
            self.proportion(f"{o.name}: P", x, y)
        elif o.kind == "distribution":
            self.means(f"{o.name}: mean", x, y)
            if is_count(x, y):
                self.counts(f"{o.name}: counts", x, y)
            else:
                self.ks(f"{o.name}: law", x, y)
        else:
            for day in sc.timeline.year_ends():
                t = sc.timeline.years(day)
                self.proportion(f"{o.name}: P(<= {day})", x <= t, y <= t)
            fx, fy = x[np.isfinite(x)], y[np.isfinite(y)]
            if min(fx.size, fy.size) >= MIN_FINITE:
                self.means(f"{o.name}: mean | reached", fx, fy)
                self.ks(f"{o.name}: law | reached", fx, fy)

    def scenario(self, sc: Scenario, des: np.ndarray, fast: np.ndarray) -> None:
        for o in sc.outcomes:
            self.outcome(sc, o, des, fast)

    # -- the verdict ---------------------------------------------------------------------

    @property
    def threshold(self) -> float:
        """Per-comparison alpha (Bonferroni)."""
        return self.alpha / len(self.items)

    def failures(self) -> list[Comparison]:
        return [c for c in self.items if c.p < self.threshold]

    def report(self, rows: list[Comparison]) -> str:
        head = (
            f"{self.family}: {len(rows)} of {len(self.items)} comparisons below the Bonferroni "
            f"threshold p < {self.alpha:g}/{len(self.items)} = {self.threshold:.2e}"
        )
        lines = [
            f"  {c.name:<40} {c.test:<11} {c.estimates}; {c.statistic}, p={c.p:.3g}" for c in rows
        ]
        return "\n".join([head, *lines])

    def check(self) -> None:
        assert self.items, f"{self.family}: nothing was compared"
        bad = self.failures()
        assert not bad, self.report(bad)


def snap(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to SNAP_DECIMALS decimals (infinities kept).

    A deterministic quantity (a stage of fixed work at a pace that reads ``t``) can differ in
    the last bits between the engines, which books work at different moments; without
    rounding a KS or Welch test would see two different constants.
    """
    return np.round(x, SNAP_DECIMALS)


def is_count(x: np.ndarray, y: np.ndarray) -> bool:
    """Integer values with few distinct values: compare the counts, not by KS."""
    both = np.concatenate([x, y])
    return bool(np.all(both == np.round(both))) and np.unique(both).size <= MAX_COUNT_CELLS


def compare(
    family: str, sc: Scenario, *, seed: int, n_des: int = N_DES, n_fast: int = N_FAST
) -> Comparisons:
    """Run ``sc`` in SimPy and in the compiled engine and compare every outcome; return the
    comparisons (one family)."""
    des, fast = run_both(sc, seed=seed, n_des=n_des, n_fast=n_fast)
    comp = Comparisons(family)
    comp.scenario(sc, des, fast)
    return comp


# ----------------------------------------------------------------------------------------
# The shipped scenarios
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario(path: Path) -> None:
    """Every outcome of every file in ``scenarios/``: SimPy n=3000 vs compiled n=30000.

    The variants change numbers and a few expressions of the baseline: those that change
    expressions have kernels of their own (compiled once per machine, about 40 s in all).
    """
    sc = steppe.load(path)
    compare(f"scenario {path.name}", sc, seed=20240101).check()


def test_there_are_shipped_scenarios() -> None:
    assert SHIPPED, f"no scenarios in {SCENARIO_DIR}"


# ----------------------------------------------------------------------------------------
# Synthetic scenarios, one or more per feature
# ----------------------------------------------------------------------------------------

#: Contagion: one-shot hazards that grow with the number of *other* events that occurred
#: (``n_occurred``), a hazard fed by a recurring event's ``count``, ``any_occurred`` and
#: ``all_occurred``; drawn parameters (lognormal, uniform).
CONTAGION = """
name: eq_contagion
title: contagion between one-shot events
start: 2024-01-01
horizon: 2029-01-01
step: month
parameters:
  base: {dist: lognormal, ci90: [0.03, 0.3]}
  boost: {dist: uniform, low: 0.5, high: 3.0}
  half: {expr: "base / 2"}
  trigger: 0.1
  ping: 0.4
events:
  A: {hazard: "base * (1 + boost * n_occurred(B, C, D))"}
  B: {hazard: "base * (1 + boost * n_occurred(A, C, D))"}
  C: {hazard: "half * (1 + boost * n_occurred(A, B, D))"}
  D: {hazard: "trigger + base * count(R)"}
  R: {hazard: "ping * (1 + any_occurred(A, B))", recurring: true}
  Z: {hazard: "3 * base if all_occurred(A, B) else 0"}
  Y: {hazard: "0.2 * (3 - n_occurred(A, B, C))", recurring: true}
outcomes:
  a_mid: {probability: occurred(A), by: 2026-06-15}
  a_end: {probability: occurred(A)}
  b_end: {probability: occurred(B)}
  c_end: {probability: occurred(C)}
  d_end: {probability: occurred(D)}
  n_mid: {value: "n_occurred(A, B, C, D)", at: 2026-06-15}
  n_end: {value: "n_occurred(A, B, C, D)"}
  r_count: {value: count(R)}
  y_count: {value: count(Y), at: 2027-03-03}
  first: {time_to: "any_occurred(A, B, C, D)"}
  pair: {time_to: "all_occurred(A, B)"}
  z_when: {time_to: occurred(Z)}
"""

#: Shocks with durations: a recurring shock with lognormal windows that often overlap
#: (up to 2 a year, median window ~0.55 y), a second recurring shock with a formula
#: duration whose rate doubles while the first is active and drops during its own window;
#: ``active()`` in hazards, in a series' drift and volatility, in a project's pace and
#: cancellation hazard.
SHOCKS = """
name: eq_shocks
title: shocks with durations
start: 2024-01-01
horizon: 2028-01-01
step: month
parameters:
  rate: {dist: uniform, low: 0.8, high: 2.0}
  qdur: {dist: uniform, low: 0.1, high: 0.6}
events:
  S:
    recurring: true
    hazard: rate
    duration: {dist: lognormal, ci90: [0.2, 1.5]}
  Q:
    recurring: true
    hazard: "0.8 * (2 if active(S) else 1) * (0.25 if active(Q) else 1)"
    duration: qdur
  E: {hazard: "0.4 * (0.2 if active(S) else 1) * (3 if active(Q) else 1)"}
projects:
  P:
    stages:
      - {name: one, duration: {dist: gamma, shape: 4, scale: 0.3}}
      - {name: two, duration: {dist: triangular, min: 0.5, mode: 1, max: 2}}
    pace: "0.3 if active(S) else 1"
    cancel_hazard: "0.3 * active(Q)"
series:
  X:
    initial: 100
    drift: "0.08 - 0.3 * active(S)"
    volatility: "0.1 + 0.3 * active(Q)"
outcomes:
  s_active_mid: {probability: active(S), by: 2025-07-17}
  s_active_end: {probability: active(S)}
  q_active_mid: {probability: active(Q), by: 2026-03-03}
  both_active: {probability: "active(S) and active(Q)", by: 2026-03-03}
  s_count: {value: count(S)}
  q_count: {value: count(Q), at: 2026-03-03}
  e_when: {time_to: occurred(E)}
  p_done: {time_to: completed(P)}
  p_cancelled: {probability: cancelled(P)}
  x_mid: {value: "log(X)", at: 2025-07-17}
  x_end: {value: X}
  s3: {time_to: "count(S) >= 3"}
  calm_after_two: {time_to: "count(S) >= 2 and not active(S)"}
"""

#: Staged projects: drawn (pert, uniform, choice, weibull) and formula stage durations; a
#: pace that changes with events, is 0 during strikes (nothing progresses), starts at 0, reads
#: another project's stage, or reads a series (changes at ticks and at its jumps);
#: cancellation hazards reading the stage, a duration and another
#: project; ``completed_stages``; an already-completed project that cannot be cancelled; an
#: event whose hazard starts when a project completes.
PROJECTS = """
name: eq_projects
title: staged projects with pace changes and cancellation
start: 2024-01-01
horizon: 2030-01-01
step: month
parameters:
  w1: {dist: pert, min: 0.5, mode: 1.0, max: 3.0}
  speed: {dist: uniform, low: 0.6, high: 1.4}
  c0: {dist: lognormal, ci90: [0.02, 0.2]}
events:
  boost: {hazard: 0.3}
  strike: {hazard: 0.8, recurring: true, duration: {dist: exponential, mean: 0.3}}
  opens: {hazard: "1.5 * completed(main)"}
  kick: {hazard: 0.7, recurring: true}
projects:
  main:
    stages:
      - {name: design, duration: w1}
      - {name: build, duration: {dist: uniform, low: 1, high: 3}}
      - {name: test, duration: {dist: choice, values: [0.25, 0.5, 1.0], weights: [1, 2, 1]}}
    pace: "0 if active(strike) else speed * (1.5 if occurred(boost) else 1)"
    cancel_hazard: "c0 * (1 + stage(main)) * (2 if active(strike) else 1)"
  side:
    completed_stages: 1
    stages:
      - {name: a, duration: 1}
      - {name: b, duration: {dist: weibull, shape: 2, scale: 1.5}}
      - {name: c, duration: 0.5}
    pace: "clip(L, 0, 2)"
    cancel_hazard: "0.05 + 0.3 * cancelled(main)"
  done_already:
    completed_stages: 1
    stages: [{name: only, duration: 1}]
    cancel_hazard: 0.5
  waiting:
    stages:
      - {name: a, duration: {dist: exponential, mean: 0.5}}
      - {name: b, duration: 0.5}
    pace: "2 * occurred(boost) + 0.5 * stage(main)"
series:
  L:
    initial: 0.2
    process: linear
    drift: 0.4
    volatility: 0.3
    floor: 0
    jumps: [{event: kick, add: "-0.4 if L > 0.6 else 0.4"}]
outcomes:
  stage_mid: {value: stage(main), at: 2026-08-20}
  stage_end: {value: stage(main)}
  main_done: {time_to: completed(main)}
  build_started: {time_to: "stage(main) >= 1"}
  main_cancelled: {time_to: cancelled(main)}
  side_stage: {value: stage(side), at: 2027-02-10}
  side_done: {probability: completed(side), by: 2027-02-10}
  side_cancelled: {probability: cancelled(side)}
  already: {probability: "completed(done_already) and not cancelled(done_already)"}
  opened: {time_to: occurred(opens)}
  waiting_done: {time_to: completed(waiting)}
  waiting_stage: {value: stage(waiting), at: 2025-11-11}
"""

#: Series effects: a linear series with a floor whose drift reads ``active`` and
#: ``completed``, with ``add`` jumps (negative, drawn size, reading the state just before
#: the occurrence) and ``factor`` jumps reading the series; a log series with state-dependent
#: factors (one reading the series itself); a
#: noiseless linear series with a negative floor; a hazard that reads a series; an initial
#: value drawn through a parameter.
SERIES = """
name: eq_series
title: series drift, jumps and floors
start: 2024-01-01
horizon: 2028-01-01
step: month
parameters:
  up: {dist: uniform, low: 0.5, high: 1.5}
  hit: {dist: uniform, low: 0.3, high: 1.0}
events:
  S: {hazard: 1.0, recurring: true, duration: {dist: gamma, shape: 2, scale: 0.2}}
  J: {hazard: "0.5 + 1.0 * (Y < 1)", recurring: true}
  K: {hazard: 0.4, recurring: true}
  M: {hazard: 0.3}
projects:
  P: {stages: [{name: s1, duration: {dist: uniform, low: 0.5, high: 2.5}}]}
series:
  Y:
    process: linear
    initial: "0.5 + hit"
    drift: "-0.6 + up * active(S) + 0.8 * completed(P)"
    volatility: 0.4
    floor: 0
    jumps:
      - {event: J, add: "-hit"}
      - {event: K, factor: "1.5 if Y < 2 else 1.1"}
      - {event: M, add: "0.5 * (1 + count(J))"}
  X:
    initial: 50
    drift: "0.1 * (1 - occurred(M))"
    volatility: 0.2
    jumps:
      - {event: K, factor: "0.8 if active(S) else 1.1"}
      - {event: M, factor: 1.5}
      - {event: J, factor: "1.1 if X < 60 else 0.95"}
  Z:
    process: linear
    initial: 0
    drift: "1 - 2 * active(S)"
    floor: -0.5
    jumps:
      - {event: K, add: "0.2 * count(K)"}
      - {event: J, add: -0.1}
outcomes:
  y_mid: {value: Y, at: 2025-10-10}
  y_end: {value: Y}
  y_at_floor: {probability: "Y <= 0", by: 2026-05-05}
  x_end: {value: "log(X)"}
  z_mid: {value: Z, at: 2026-05-05}
  z_end: {value: Z}
  j_count: {value: count(J)}
  y_high: {time_to: "Y >= 3"}
"""

#: First passage: ``time_to`` a threshold of a noisy log series (up and down), of a linear
#: series with a floor, a crossing helped by a jump (which may happen between ticks), and a
#: hazard switched on by a series level. Weekly ticks.
PASSAGE = """
name: eq_passage
title: first passage of series thresholds
start: 2024-01-01
horizon: 2027-01-01
step: week
parameters:
  g: {dist: normal, mean: 0.05, sd: 0.1}
  vol: {dist: uniform, low: 0.15, high: 0.35}
events:
  B: {hazard: 0.4}
  C: {hazard: "2 * (X >= 125)"}
series:
  X: {initial: 100, drift: g, volatility: vol, jumps: [{event: B, factor: 1.25}]}
  Y: {process: linear, initial: 3, drift: -0.5, volatility: 2, floor: 0}
outcomes:
  x_up: {time_to: "X >= 140"}
  x_down: {time_to: "X <= 80"}
  y_zero: {time_to: "Y <= 0"}
  c_when: {time_to: occurred(C)}
  up_after_b: {time_to: "X >= 130 and occurred(B)"}
  x_end: {value: "log(X)"}
"""

#: History: a one-shot event with a history date and a large hazard (cannot recur), a
#: recurring event with two history dates, a history-only event, a recurring event with a
#: duration whose history occurrence does not start a window, hazards reading history
#: counts, and a project that starts with stages already completed; observations at the
#: start date itself.
HISTORY = """
name: eq_history
title: events that occurred before the start
start: 2024-01-01
horizon: 2028-01-01
step: month
events:
  H: {history: [2023-06-01], hazard: 5}
  R: {history: [2022-01-01, 2023-01-01], recurring: true, hazard: 0.5}
  G: {history: [2023-12-31]}
  W: {history: [2023-11-01], recurring: true, duration: 0.5, hazard: 0.8}
  E: {hazard: "0.1 * count(R) * (2 if occurred(G) else 0)"}
  F: {hazard: "0.6 * occurred(H) * (1 + count(H))"}
  N: {hazard: "0.3 * (2 - active(W))"}
projects:
  P:
    completed_stages: 2
    stages:
      - {name: a, duration: 5}
      - {name: b, duration: 5}
      - {name: c, duration: {dist: uniform, low: 1, high: 6}}
outcomes:
  h_count: {value: count(H)}
  r_at_start: {value: count(R), at: 2024-01-01}
  w_active_at_start: {probability: active(W), by: 2024-01-01}
  f_count: {value: count(F)}
  h_when: {time_to: occurred(H)}
  r_count: {value: count(R)}
  r_mid: {value: count(R), at: 2025-09-09}
  w_active_early: {probability: active(W), by: 2024-02-15}
  w_count: {value: count(W)}
  e_when: {time_to: occurred(E)}
  f_when: {time_to: occurred(F)}
  n_when: {time_to: occurred(N)}
  p_stage: {value: stage(P)}
  p_done: {time_to: completed(P)}
"""

#: Outcome forms on a quarterly grid: probabilities and values at dates between ticks (a
#: value then holds the last tick's value plus the jumps since, and ``t`` the last tick's
#: time), time_to (also of a condition already true at t = 0), and combinations
#: that read a probability, a value and a time_to (as "by the combination's date").
OUTCOME_FORMS = """
name: eq_outcomes
title: every outcome form, dates between ticks
start: 2024-01-01
horizon: 2027-06-30
step: quarter
parameters:
  lam: {dist: lognormal, ci90: [0.2, 0.8]}
events:
  A: {hazard: lam}
  B: {hazard: "0.5 * lam", recurring: true}
series:
  X: {initial: 10, drift: 0.05, volatility: 0.3, jumps: [{event: A, factor: 1.3}]}
outcomes:
  a_between: {probability: occurred(A), by: 2025-02-14}
  a_end: {probability: occurred(A)}
  x_between: {value: X, at: 2025-02-14}
  x_late: {value: "X * (1 + count(B))", at: 2026-11-30}
  b_count: {value: count(B), at: 2026-08-08}
  a_when: {time_to: occurred(A)}
  x_hit: {time_to: "X >= 14"}
  x_at_start: {time_to: "X >= 10"}
  t_between: {value: t, at: 2025-02-14}
  t_ticked: {probability: "t >= 1", by: 2025-02-14}
  a_and_hit: {combine: "a_between and x_hit", by: 2026-06-30}
  not_a_or_x: {combine: "not a_when or x_between > 11", by: 2025-12-31}
  counted: {combine: "b_count >= 2 and not a_between"}
"""

#: Totals of rate series (``total:`` over a period): noisy log and mean-reverting series,
#: jumps between ticks (factor and add, one read by a hazard), periods on and off the ticks,
#: one ending at the horizon, and a combination reading a total as its value.
FLOWS = """
name: eq_flows
title: totals of rate series over periods
start: 2024-01-01
horizon: 2027-01-01
step: month
parameters:
  g: {dist: normal, mean: 0.05, sd: 0.1}
events:
  B: {hazard: "0.8 if X < 120 else 0.3", recurring: true}
  C: {hazard: 0.5}
series:
  X:
    kind: rate
    initial: 100
    drift: g
    volatility: 0.25
    jumps: [{event: B, factor: 1.15}, {event: C, factor: 0.7}]
  Y:
    kind: rate
    process: linear
    initial: 20
    reverts_to: "40 if occurred(C) else 25"
    half_life: 0.5
    volatility: 5
    floor: 0
    jumps: [{event: B, add: 3}]
outcomes:
  x_2024: {total: X, over: [2024-01-01, 2025-01-01]}
  x_odd: {total: X, over: [2024-05-17, 2026-02-03]}
  x_last: {total: X, over: [2026-07-01, 2027-01-01]}
  y_all: {total: Y, over: [2024-01-01, 2027-01-01]}
  y_short: {total: Y, over: [2025-03-03, 2025-03-20]}
  x_big: {combine: "x_2024 > 130 and y_all > 80", by: 2025-01-01}
"""

#: ``t`` in hazards (linear ramp, a switch, a decay), in a pace, in a cancellation hazard and
#: in a drift, on several tick sizes: ``t`` holds the latest tick's time, so the law depends
#: on the step.
CLOCK = """
name: eq_clock_{step}
title: the tick time t in expressions, step {step}
start: 2024-01-01
horizon: 2028-01-01
step: {step}
events:
  A: {{hazard: "0.05 + 0.3 * t"}}
  B: {{hazard: "1.5 if t >= 1.5 else 0.05"}}
  R: {{recurring: true, hazard: "1.5 * exp(-t)"}}
projects:
  P:
    stages: [{{name: s, duration: 2}}]
    pace: "0.4 + 0.3 * t"
    cancel_hazard: "0.1 * t"
series:
  X: {{process: linear, initial: 0, drift: "1 - t", volatility: 0.5}}
outcomes:
  a_when: {{time_to: occurred(A)}}
  b_when: {{time_to: occurred(B)}}
  r_mid: {{value: count(R), at: 2025-05-20}}
  r_end: {{value: count(R)}}
  p_done: {{time_to: completed(P)}}
  p_cancelled: {{probability: cancelled(P)}}
  x_mid: {{value: X, at: 2025-05-20}}
  x_end: {{value: X}}
  x_low: {{time_to: "X <= -1"}}
  late_a: {{time_to: "t >= 1.3 and occurred(A)"}}
"""

#: Same-instant rules (docs/engine.md §2) with deterministic times: a stage of exactly
#: 2 years (= 8 quarterly ticks) and 4 years (= 16 ticks, and the date 2028-01-01, which
#: is exactly t = 4), two projects completing at that same instant: completions come before
#: the tick's series step and before the observation at that date.
TIES = """
name: eq_ties
title: deterministic changes at tick times and observation dates
start: 2024-01-01
horizon: 2029-01-01
step: quarter
parameters:
  rate: {dist: uniform, low: 0.2, high: 0.6}
events:
  E: {hazard: "rate * (1 + 2 * completed(two))"}
projects:
  two: {stages: [{name: s, duration: 2}]}
  four:
    stages: [{name: a, duration: 1}, {name: b, duration: 3}]
  also_four: {stages: [{name: s, duration: 4}], pace: "1 + completed(four) - completed(four)"}
series:
  X:
    process: linear
    initial: 0
    drift: "completed(four) + completed(two) + completed(also_four)"
    volatility: 0.2
outcomes:
  four_done_on_date: {probability: completed(four), by: 2028-01-01}
  x_on_date: {value: X, at: 2028-01-01}
  x_end: {value: X}
  e_when: {time_to: occurred(E)}
  two_done: {time_to: completed(two)}
"""


SYNTHETIC: dict[str, tuple[str, int, int, int]] = {
    # name: (YAML, seed, n SimPy, n compiled)
    "contagion": (CONTAGION, 101, 4_000, 40_000),
    "shocks": (SHOCKS, 202, 3_000, 30_000),
    "projects": (PROJECTS, 303, 3_000, 30_000),
    "series": (SERIES, 404, 3_000, 30_000),
    "passage": (PASSAGE, 505, 2_000, 30_000),
    "history": (HISTORY, 606, 3_000, 30_000),
    "outcome_forms": (OUTCOME_FORMS, 707, 4_000, 40_000),
    "clock_week": (CLOCK.format(step="week"), 808, 2_000, 20_000),
    "clock_quarter": (CLOCK.format(step="quarter"), 909, 4_000, 40_000),
    "clock_year": (CLOCK.format(step="year"), 919, 4_000, 40_000),
    "ties": (TIES, 1010, 3_000, 30_000),
    "flows": (FLOWS, 1111, 2_000, 20_000),
}


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_synthetic_scenario(name: str) -> None:
    """Every outcome of a synthetic scenario that stresses one feature."""
    text, seed, n_des, n_fast = SYNTHETIC[name]
    compare(f"synthetic {name}", scenario(text), seed=seed, n_des=n_des, n_fast=n_fast).check()


# ----------------------------------------------------------------------------------------
# Power: the comparisons do catch a wrong engine
# ----------------------------------------------------------------------------------------

#: Perturbations of CONTAGION applied in the compiled run only: (YAML, the outcome that must
#: be flagged). Measured over three compiled seeds (103, 2000, 3000) at the sizes of the
#: contagion test (SimPy 4000, compiled 40000; 37 comparisons, so the threshold is
#: p < 2.7e-5, |z| > 4.2):
#:
#: * the recurring event R's hazard x 1.15: the mean of count(R) moves by ~0.45 (SE 0.03),
#:   |z| = 15.5 to 15.8 -- always flagged, with a wide margin;
#: * the one-shot event A's hazard x 1.3: |z| = 8.1 to 8.7, always flagged. x 1.15 moves
#:   P(A by the horizon) by ~0.035, |z| = 4.0 to 4.5 (measured with steppe 0.1's NumPy
#:   engine), i.e. at the threshold, so **x 1.15 is not reliably detectable on a one-shot
#:   probability** at these sizes: x 1.3 is the one-shot case checked here.
POWER_CASES: dict[str, tuple[str, str]] = {
    "recurring hazard x 1.15": (CONTAGION.replace("ping: 0.4", "ping: 0.46"), "r_count"),
    "one-shot hazard x 1.3": (
        CONTAGION.replace('A: {hazard: "base *', 'A: {hazard: "1.3 * base *'),
        "a_end",
    ),
}


def test_comparisons_detect_a_perturbed_hazard() -> None:
    """The contagion family, with one hazard changed in the compiled run only, must fail.

    Same seeds and sizes as ``test_synthetic_scenario[contagion]`` (which passes), so the
    only difference is the perturbation.
    """
    text, seed, n_des, n_fast = SYNTHETIC["contagion"]
    sc = scenario(text)
    des = run_des(sc, seed=seed, n=n_des)
    for label, (perturbed_text, must_flag) in POWER_CASES.items():
        assert perturbed_text != text, f"{label}: the perturbation did not apply"
        perturbed = scenario(perturbed_text)
        assert [o.name for o in perturbed.outcomes] == [o.name for o in sc.outcomes]
        fast = run_compiled(perturbed, seed=seed + 2, n=n_fast)
        comp = Comparisons(f"power check, {label}")
        comp.scenario(sc, des, fast)
        flagged = {c.name.split(":")[0] for c in comp.failures()}
        strongest = sorted(comp.items, key=lambda c: c.p)[:5]
        assert must_flag in flagged, (
            f"{label} was not detected on {must_flag!r}:\n{comp.report(strongest)}"
        )
