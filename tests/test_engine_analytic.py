"""Statistical checks of the reference (SimPy) engine against closed-form results.

Every check compares a Monte Carlo estimate with an exact value. Unless stated otherwise the
tolerance is ``Z = 4`` standard errors, the standard error being computed from the *true*
value (what the estimate's spread is if the engine is right), e.g. ``sqrt(p (1 - p) / n)`` for
a probability. For an estimate that is (by the central limit theorem) normal around the truth,
a correct engine fails one such check with probability ``P(|N(0,1)| > 4) ~= 6.3e-5``. A test
with ``k`` checks therefore fails falsely with probability at most ``k * 6.3e-5`` (Bonferroni),
which each test states. Seeds are fixed, so the tests are deterministic; the error rates say
how unlucky a seed would have to be to fail a correct engine, and ``Z = 4`` still detects
errors of a few standard errors, which at the sample sizes below are a few percentage points.

Model time is in years of 365.25 days from ``start``; a date's instant is its day count / 365.25.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import integrate, stats

import steppe
from steppe.model.scenario import Scenario

ScenarioFactory = Callable[[str], Scenario]

#: Tolerance in standard errors (two-sided false-failure probability ~= 6.3e-5 per check).
Z = 4.0
#: Float slack when comparing event times that should be exactly equal or on a date.
EPS = 1e-9


def years(sc: Scenario, day: str) -> float:
    """Model time of an ISO date in ``sc``."""
    return sc.timeline.years(dt.date.fromisoformat(day))


def check(label: str, estimate: float, truth: float, se: float) -> None:
    """Assert ``|estimate - truth| <= Z * se`` with an informative message."""
    assert se > 0, f"{label}: the standard error must be positive"
    gap = abs(estimate - truth) / se
    assert gap <= Z, (
        f"{label}: estimate {estimate:.6g} vs exact {truth:.6g}: off by {gap:.2f} SE "
        f"(SE {se:.3g}, tolerance {Z} SE)"
    )


def check_probability(label: str, hits: np.ndarray, truth: float) -> None:
    """A frequency of 0/1 ``hits`` against probability ``truth``: SE = sqrt(p (1 - p) / n)."""
    n = hits.size
    check(label, float(np.mean(hits)), truth, math.sqrt(truth * (1.0 - truth) / n))


# ----------------------------------------------------------------------------------------
# 1. Two competing one-shot events that exclude each other
# ----------------------------------------------------------------------------------------


def test_competing_constant_hazards(scenario_from_yaml: ScenarioFactory) -> None:
    """A at rate a and B at rate b, each switched off once the other has occurred.

    The first of them comes at tau ~ Exponential(a + b), and it is A with probability
    a / (a + b) independently of tau, so

        P(A by T) = a / (a + b) * (1 - exp(-(a + b) T)),   P(tau <= s) = 1 - exp(-(a + b) s).

    Tolerances: five 4-SE checks (two frequencies of A / B, three of tau <= s, SE
    sqrt(p (1 - p) / n)) and one Kolmogorov-Smirnov test at alpha = 1e-4: a correct engine
    fails with probability <= 5 * 6.3e-5 + 1e-4 ~= 4.2e-4.
    """
    a, b, n = 0.3, 0.5, 10_000
    sc = scenario_from_yaml(
        f"""
        name: competing
        title: two competing one-shot events
        start: 2024-01-01
        horizon: 2027-01-01
        step: year
        parameters: {{a: {a}, b: {b}}}
        events:
          A: {{hazard: "a * (1 - occurred(B))"}}
          B: {{hazard: "b * (1 - occurred(A))"}}
        outcomes:
          a_first: {{probability: occurred(A)}}
          b_first: {{probability: occurred(B)}}
          both: {{probability: occurred(A) and occurred(B)}}
          first: {{time_to: occurred(A) or occurred(B)}}
        """
    )
    t_end = sc.timeline.t_horizon
    res = steppe.run(sc, replications=n, seed=11, engine="simpy")
    s = res.samples
    r = a + b
    reached = 1.0 - math.exp(-r * t_end)

    assert (s["both"] == 0).all(), "the events exclude each other: never both"
    # exactly one of them by the horizon iff the first time is finite
    np.testing.assert_array_equal(
        (s["a_first"] + s["b_first"]).to_numpy(), np.isfinite(s["first"]).astype(float)
    )
    check_probability("P(A first by T)", s["a_first"].to_numpy(), a / r * reached)
    check_probability("P(B first by T)", s["b_first"].to_numpy(), b / r * reached)

    tau = s["first"].to_numpy()
    for when in (0.25, 1.0, 2.0):
        check_probability(f"P(tau <= {when})", tau <= when, 1.0 - math.exp(-r * when))

    # The uncensored part, tau | tau <= T, has the truncated exponential CDF F(s) / F(T).
    seen = tau[np.isfinite(tau)]
    assert (seen <= t_end + EPS).all()
    ks = stats.kstest(seen, lambda x: (1.0 - np.exp(-r * x)) / reached)
    assert ks.pvalue > 1e-4, f"KS test of tau | tau <= T: D = {ks.statistic:.4f}, p = {ks.pvalue}"


# ----------------------------------------------------------------------------------------
# 2. A recurring event with a constant hazard
# ----------------------------------------------------------------------------------------


def test_recurring_count_is_poisson(scenario_from_yaml: ScenarioFactory) -> None:
    """Occurrences of a recurring event at constant rate lam form a Poisson process.

    count(E) at time t ~ Poisson(lam t): mean lam t, SE of the sample mean sqrt(lam t / n).
    The distribution at the horizon is compared with a chi-square goodness-of-fit test over
    the cells 0, 1, ..., 8 and ">= 9" (all expected counts >= 35, so the chi-square
    approximation holds), no parameter estimated, alpha = 1e-4.

    False-failure probability <= 2 * 6.3e-5 + 1e-4 ~= 2.3e-4.
    """
    lam, n = 1.5, 10_000
    sc = scenario_from_yaml(
        f"""
        name: poisson
        title: a recurring event
        start: 2024-01-01
        horizon: 2026-01-01
        step: quarter
        events:
          E: {{hazard: {lam}, recurring: true}}
        outcomes:
          n_mid: {{value: count(E), at: 2025-01-01}}
          n_end: {{value: count(E)}}
        """
    )
    t_mid, t_end = years(sc, "2025-01-01"), sc.timeline.t_horizon
    s = steppe.run(sc, replications=n, seed=12, engine="simpy").samples
    for col, t in (("n_mid", t_mid), ("n_end", t_end)):
        m = lam * t
        check(f"mean count by t = {t:.3f}", float(s[col].mean()), m, math.sqrt(m / n))

    counts = s["n_end"].to_numpy().astype(int)
    assert (counts >= s["n_mid"].to_numpy()).all(), "counts never decrease"
    top = 9
    observed = np.array([*(np.sum(counts == k) for k in range(top)), np.sum(counts >= top)])
    mu = lam * t_end
    expected = n * np.array([*stats.poisson.pmf(np.arange(top), mu), stats.poisson.sf(top - 1, mu)])
    assert expected.min() >= 5
    chi = stats.chisquare(observed, expected)
    assert chi.pvalue > 1e-4, f"chi-square: {chi.statistic:.2f}, p = {chi.pvalue}; {observed}"


# ----------------------------------------------------------------------------------------
# 3. A hazard that changes when another event occurs
# ----------------------------------------------------------------------------------------


def p_b_by(t: float, a: float, b1: float, b2: float) -> float:
    """P(B by t) when A has rate a and B has hazard b1 before A and b2 after A.

    B has not occurred by t either because neither occurred in [0, t] (probability
    exp(-(a + b1) t)), or because A occurred first at some s < t and B then survived
    (t - s) at rate b2:

        P(no B by t) = exp(-(a + b1) t) + int_0^t a exp(-(a + b1) s) exp(-b2 (t - s)) ds
                     = exp(-(a + b1) t) + a / (a + b1 - b2) (exp(-b2 t) - exp(-(a + b1) t))

    for a + b1 != b2; when a + b1 == b2 the integrand is a exp(-b2 t) and the second term is
    a t exp(-b2 t).
    """
    r = a + b1
    if abs(r - b2) < 1e-12:
        none = math.exp(-r * t) * (1.0 + a * t)
    else:
        none = math.exp(-r * t) + a / (r - b2) * (math.exp(-b2 * t) - math.exp(-r * t))
    return 1.0 - none


@pytest.mark.parametrize(
    ("a", "b1", "b2"),
    [(0.6, 0.1, 1.2), (0.6, 0.4, 1.0)],
    ids=["a+b1!=b2", "a+b1==b2"],
)
def test_hazard_switches_when_another_event_occurs(
    scenario_from_yaml: ScenarioFactory, a: float, b1: float, b2: float
) -> None:
    """P(B by t) = 1 - [exp(-(a+b1) t) + a/(a+b1-b2) (exp(-b2 t) - exp(-(a+b1) t))].

    (Derivation in :func:`p_b_by`; the second case is the limit a + b1 == b2.) Two 4-SE
    checks at t = 1 and t = 3 years, SE sqrt(p (1 - p) / n): false-failure probability
    <= 2 * 6.3e-5 ~= 1.3e-4 per case.
    """
    n = 10_000
    # The law must tell the hazard switch from no switch; make sure the cases do.
    assert abs(p_b_by(3.0, a, b1, b2) - (1 - math.exp(-b1 * 3.0))) > 0.1
    sc = scenario_from_yaml(
        f"""
        name: switch
        title: a hazard that changes when another event occurs
        start: 2024-01-01
        horizon: 2027-01-01
        step: year
        parameters: {{a: {a}, b1: {b1}, b2: {b2}}}
        events:
          A: {{hazard: a}}
          B: {{hazard: "b2 if occurred(A) else b1"}}
        outcomes:
          b_1y: {{probability: occurred(B), by: 2025-01-01}}
          b_3y: {{probability: occurred(B)}}
        """
    )
    s = steppe.run(sc, replications=n, seed=13, engine="simpy").samples
    for col, t in (("b_1y", years(sc, "2025-01-01")), ("b_3y", sc.timeline.t_horizon)):
        check_probability(f"P(B by {t:.3f})", s[col].to_numpy(), p_b_by(t, a, b1, b2))


def test_hazard_follows_a_series_on_the_tick_grid(scenario_from_yaml: ScenarioFactory) -> None:
    """Hazard c * L where L = k / 4 after the k-th quarterly tick (a noiseless linear series).

    The hazard is piecewise constant, c k / 4 on [k / 4, (k + 1) / 4), and changes value at
    every tick, so the time to E has CDF F(t) = 1 - exp(-H(t)), H(t) = int_0^t hazard.
    Checks: P(E by 1 y) and P(E by T) (two 4-SE checks, SE sqrt(p (1 - p) / n)) and a KS test
    of tau | tau <= T against F(t) / F(T) at alpha = 1e-4: false-failure probability
    <= 2 * 6.3e-5 + 1e-4 ~= 2.3e-4.
    """
    c, n = 0.4, 4_000
    sc = scenario_from_yaml(
        f"""
        name: tickhazard
        title: a hazard read from a series
        start: 2024-01-01
        horizon: 2027-01-01
        step: quarter
        series:
          L: {{initial: 0, process: linear, drift: 1}}
        events:
          E: {{hazard: "{c} * L"}}
        outcomes:
          tau: {{time_to: occurred(E)}}
        """
    )
    step = sc.step

    def cum_hazard(t: float) -> float:
        total, k = 0.0, 1
        while k * step < t:
            total += c * k * step * (min(t, (k + 1) * step) - k * step)
            k += 1
        return total

    t_end = sc.timeline.t_horizon
    tau = steppe.run(sc, replications=n, seed=25, engine="simpy").samples["tau"].to_numpy()
    assert (tau > step - EPS).all(), "no hazard before the first tick"
    for label, t in (("1 y", years(sc, "2025-01-01")), ("T", t_end)):
        check_probability(f"P(E by {label})", tau <= t, 1 - math.exp(-cum_hazard(t)))
    seen = tau[np.isfinite(tau)]
    f_end = 1 - math.exp(-cum_hazard(t_end))
    ks = stats.kstest(seen, np.vectorize(lambda x: (1 - math.exp(-cum_hazard(x))) / f_end))
    assert ks.pvalue > 1e-4, f"KS test of tau | tau <= T: D = {ks.statistic:.4f}, p = {ks.pvalue}"


# ----------------------------------------------------------------------------------------
# 4. Log series: first passage and the lognormal law
# ----------------------------------------------------------------------------------------

#: Broadie-Glasserman-Kou constant: -zeta(1/2) / sqrt(2 pi).
BGK_BETA = 0.5826


def first_passage_cdf(t: float, mu: float, sigma: float, h: float) -> float:
    """P(max_{s <= t} (mu s + sigma W_s) >= h), h > 0: the inverse Gaussian CDF."""
    v = sigma * math.sqrt(t)
    return stats.norm.cdf((mu * t - h) / v) + math.exp(2.0 * mu * h / sigma**2) * stats.norm.cdf(
        (-h - mu * t) / v
    )


def test_log_series_first_passage(scenario_from_yaml: ScenarioFactory) -> None:
    """Time for X = X0 exp(mu t + sigma W_t) to reach X0 e^h, and the law of log X_t.

    The engine updates X at daily ticks, so the crossing is monitored discretely, which makes
    it later than the continuous first passage. Broadie, Glasserman & Kou (1997): a discretely
    monitored barrier h behaves like a continuous one at h + beta sigma sqrt(dt),
    beta = 0.5826. The residual error of that correction is o(sqrt(dt)) (O(dt) here); with
    dt = 1 day it is about 1e-3 in probability (checked against a 400,000-path vectorised
    simulation of the same discrete walk), less than a tenth of the SE (~0.01) at n = 2000,
    while omitting the correction would shift the truth by ~0.02 (about 2 SE).

    Also log X at a tick date t is normal with mean log X0 + mu t and sd sigma sqrt(t): mean
    SE sd / sqrt(n), sample-sd SE ~= sd / sqrt(2 (n - 1)) (normal data).

    Five 4-SE checks: false-failure probability <= 5 * 6.3e-5 ~= 3.2e-4.
    Runtime: ~366 ticks per replication; n = 2000 takes several seconds.
    """
    mu, sigma, x0, h, n = 0.1, 0.3, 100.0, math.log(1.25), 2_000
    sc = scenario_from_yaml(
        f"""
        name: passage
        title: first passage of a log series
        start: 2024-01-01
        horizon: 2025-01-01
        step: day
        series:
          X: {{initial: {x0}, drift: {mu}, volatility: {sigma}}}
        outcomes:
          hit: {{time_to: X >= {x0 * math.exp(h)!r}}}
          log_x: {{value: log(X), at: 2024-07-01}}
        """
    )
    dt_ = sc.step
    h_eff = h + BGK_BETA * sigma * math.sqrt(dt_)
    s = steppe.run(sc, replications=n, seed=14, engine="simpy").samples
    tau = s["hit"].to_numpy()
    on_grid = tau[np.isfinite(tau)] / dt_
    assert np.allclose(on_grid, np.round(on_grid), atol=1e-6), "crossings happen at ticks"
    for day in ("2024-04-01", "2024-07-01", "2025-01-01"):
        t = years(sc, day)
        check_probability(
            f"P(tau <= {day})", tau <= t + EPS, first_passage_cdf(t, mu, sigma, h_eff)
        )

    t = years(sc, "2024-07-01")  # a tick date: 182 daily ticks have happened
    log_x = s["log_x"].to_numpy()
    sd = sigma * math.sqrt(t)
    check("mean of log X_t", float(log_x.mean()), math.log(x0) + mu * t, sd / math.sqrt(n))
    check("sd of log X_t", float(log_x.std(ddof=1)), sd, sd / math.sqrt(2 * (n - 1)))


def test_log_series_between_ticks_holds_last_tick_value(
    scenario_from_yaml: ScenarioFactory,
) -> None:
    """With monthly steps, log X at a date between ticks is that of the last tick t_k <= t.

    So log X_t ~ Normal(log X0 + mu t_k, sigma^2 t_k) with t_k = 6/12 for 2024-07-20
    (t = 0.5503). mu and sigma are chosen so that reading at t instead of t_k would be off by
    ~11 SE in the mean and ~4.4 SE in the sd. Mean SE sigma sqrt(t_k / n), sd SE
    sd / sqrt(2 (n - 1)). Two 4-SE checks: false-failure probability <= 1.3e-4.
    """
    mu, sigma, x0, n = 0.5, 0.2, 50.0, 4_000
    sc = scenario_from_yaml(
        f"""
        name: between
        title: a log series read between ticks
        start: 2024-01-01
        horizon: 2025-01-01
        step: month
        series:
          X: {{initial: {x0}, drift: {mu}, volatility: {sigma}}}
        outcomes:
          log_x: {{value: log(X), at: 2024-07-20}}
        """
    )
    t = years(sc, "2024-07-20")
    t_k = math.floor(t / sc.step + 1e-9) * sc.step
    assert t_k == pytest.approx(0.5)
    log_x = steppe.run(sc, replications=n, seed=15, engine="simpy").samples["log_x"].to_numpy()
    sd = sigma * math.sqrt(t_k)
    check("mean of log X between ticks", float(log_x.mean()), math.log(x0) + mu * t_k, sd / n**0.5)
    check("sd of log X between ticks", float(log_x.std(ddof=1)), sd, sd / math.sqrt(2 * (n - 1)))


def test_series_without_noise_is_exact_on_the_tick_grid(
    scenario_from_yaml: ScenarioFactory,
) -> None:
    """Deterministic series: X = X0 exp(mu k dt) and L = k dt after k ticks, k = #ticks <= t.

    A value at a date is read after the ticks up to that date, a tick at exactly that instant
    included (2024-01-29 is the 4th weekly tick); a time_to on a series is the first tick at
    which it holds.
    """
    sc = scenario_from_yaml(
        """
        name: grid
        title: noiseless series
        start: 2024-01-01
        horizon: 2025-01-01
        step: month
        series:
          X: {initial: 100, drift: 0.6}
          L: {initial: 0, process: linear, drift: 1}
        outcomes:
          x_before: {value: X, at: 2024-01-15}
          x_mid: {value: X, at: 2024-07-20}
          x_end: {value: X}
          l_mid: {value: L, at: 2024-07-20}
          l_hit: {time_to: L >= 0.26}
        """
    )
    s = steppe.run(sc, replications=3, seed=16, engine="simpy").samples
    dt_ = sc.step
    assert s["x_before"].tolist() == [100.0] * 3
    np.testing.assert_allclose(s["x_mid"], 100 * math.exp(0.6 * 6 * dt_), rtol=1e-12)
    np.testing.assert_allclose(s["x_end"], 100 * math.exp(0.6 * 12 * dt_), rtol=1e-12)
    np.testing.assert_allclose(s["l_mid"], 6 * dt_, rtol=1e-12)
    np.testing.assert_allclose(s["l_hit"], 4 * dt_, rtol=1e-12)  # 3/12 < 0.26 <= 4/12

    weekly = scenario_from_yaml(
        """
        name: weekly
        title: a date on a tick
        start: 2024-01-01
        horizon: 2024-03-01
        step: week
        series:
          X: {initial: 100, drift: 0.6}
        outcomes:
          x_before: {value: X, at: 2024-01-28}
          x_on: {value: X, at: 2024-01-29}
        """
    )
    w = steppe.run(weekly, replications=2, seed=16, engine="simpy").samples
    np.testing.assert_allclose(w["x_before"], 100 * math.exp(0.6 * 3 * weekly.step), rtol=1e-12)
    np.testing.assert_allclose(w["x_on"], 100 * math.exp(0.6 * 4 * weekly.step), rtol=1e-12)


def test_log_series_with_jumps(scenario_from_yaml: ScenarioFactory) -> None:
    """Jumps by factor f at each occurrence of a recurring event (rate lam):

        log X_T = log X0 + mu t_k + sigma W_{t_k} + N_T log f,   N_T ~ Poisson(lam T),

    independent terms, so E log X_T = log X0 + mu t_k + lam T log f and
    Var log X_T = sigma^2 t_k + lam T (log f)^2, where t_k = 2.0 is the last quarterly tick
    <= T = 731 / 365.25 (jumps come at event times, up to T itself).
    Mean SE sd / sqrt(n); the sample variance is not normal-theory here (a Poisson mixture),
    so its SE is estimated by sqrt((m4 - s^4) / n) from the sample's fourth central moment.
    Two 4-SE checks: false-failure probability <= 1.3e-4.
    """
    mu, sigma, lam, f, x0, n = 0.05, 0.1, 1.2, 1.3, 10.0, 4_000
    sc = scenario_from_yaml(
        f"""
        name: jumps
        title: a log series with jumps
        start: 2024-01-01
        horizon: 2026-01-01
        step: quarter
        events:
          E: {{hazard: {lam}, recurring: true}}
        series:
          X: {{initial: {x0}, drift: {mu}, volatility: {sigma}, jumps: [{{event: E, factor: {f}}}]}}
        outcomes:
          log_x: {{value: log(X)}}
        """
    )
    t_end = sc.timeline.t_horizon
    t_k = math.floor(t_end / sc.step + 1e-9) * sc.step
    log_x = steppe.run(sc, replications=n, seed=23, engine="simpy").samples["log_x"].to_numpy()
    var = sigma**2 * t_k + lam * t_end * math.log(f) ** 2
    mean = math.log(x0) + mu * t_k + lam * t_end * math.log(f)
    check("mean of log X_T with jumps", float(log_x.mean()), mean, math.sqrt(var / n))
    m4 = float(np.mean((log_x - log_x.mean()) ** 4))
    check(
        "variance of log X_T with jumps",
        float(log_x.var(ddof=1)),
        var,
        math.sqrt((m4 - var**2) / n),
    )


# ----------------------------------------------------------------------------------------
# 5. Durations
# ----------------------------------------------------------------------------------------


def p_hit_during_one_shot_window(t: float, lam: float, d: float, h: float) -> float:
    """P(E by t), t >= d, where E has hazard h while a one-shot shock (rate lam) lasts d years.

    The shock comes at s ~ Exponential(lam); E then has exposure min(d, t - s) before t, so

        P = int_0^t lam e^{-lam s} (1 - e^{-h min(d, t - s)}) ds
          = (1 - e^{-h d}) (1 - e^{-lam (t - d)})                       [s <= t - d]
            + e^{-lam (t - d)} - e^{-lam t}
            - lam / (h - lam) (e^{-lam t} - e^{-h d - lam (t - d)})      [t - d < s <= t]

    using int_{t-d}^t lam e^{-lam s} e^{-h (t - s)} ds
          = lam e^{-h t} (e^{(h - lam) t} - e^{(h - lam)(t - d)}) / (h - lam), h != lam.
    """
    u = t - d
    return (
        (1 - math.exp(-h * d)) * (1 - math.exp(-lam * u))
        + math.exp(-lam * u)
        - math.exp(-lam * t)
        - lam / (h - lam) * (math.exp(-lam * t) - math.exp(-h * d - lam * u))
    )


def test_durations(scenario_from_yaml: ScenarioFactory) -> None:
    """Fixed durations: exposure during a one-shot window, and overlapping recurring windows.

    * One-shot ``shock`` (rate lam, lasts d) and E with hazard h * active(shock): P(E by t)
      from :func:`p_hit_during_one_shot_window`; P(shock active at t) = P(t - d < s <= t)
      = e^{-lam (t - d)} - e^{-lam t}.
    * F with hazard h0 + h * active(shock) changes its hazard's value (not whether it is
      positive) when the window ends: given the shock, F survives with probability
      e^{-h0 t} times E's, so P(F by t) = 1 - e^{-h0 t} (1 - P(E by t)).
    * Recurring ``rshock`` (rate lam2, each occurrence lasts d2; windows may overlap, and
      ``active`` holds while any runs): active at t >= d2 iff an occurrence fell in
      (t - d2, t], probability 1 - e^{-lam2 d2} (here lam2 d2 = 1, so overlaps are common and
      a window ending must not switch off a later one still running).
    * Recurring ``gshock`` (rate lam2) whose durations are drawn anew for each occurrence
      from Uniform(0, 2 d2): occurrences in (t - u - du, t - u] still run at t with
      probability P(D > u), so (M/G/infinity) the number running at t >= 2 d2 is Poisson with
      mean lam2 E[D] = lam2 d2 and P(active) = 1 - e^{-lam2 d2} again. One duration drawn per
      replication instead would give E[1 - e^{-lam2 D}] = 0.568, 8 SE away at n = 4000.

    Seven 4-SE checks, SE sqrt(p (1 - p) / n): false-failure probability <= 4.4e-4.
    """
    lam, d, h, h0, lam2, d2, n, n_drawn = 0.5, 0.75, 2.0, 0.1, 2.0, 0.5, 10_000, 4_000
    sc = scenario_from_yaml(
        f"""
        name: durations
        title: durations
        start: 2024-01-01
        horizon: 2027-01-01
        step: year
        parameters: {{lam: {lam}, d: {d}, h: {h}}}
        events:
          shock: {{hazard: lam, duration: d}}
          E: {{hazard: "h * active(shock)"}}
          F: {{hazard: "{h0} + h * active(shock)"}}
          rshock: {{hazard: {lam2}, recurring: true, duration: {d2}}}
        outcomes:
          e_mid: {{probability: occurred(E), by: 2025-07-02}}
          e_end: {{probability: occurred(E)}}
          f_end: {{probability: occurred(F)}}
          shock_on: {{probability: active(shock), by: 2025-01-01}}
          r_on_1: {{probability: active(rshock), by: 2025-01-01}}
          r_on_2: {{probability: active(rshock), by: 2026-07-02}}
        """
    )
    # Guard the algebra of the closed form with numerical integration.
    for t in (1.0, 3.0):
        num, _ = integrate.quad(
            lambda s, t=t: lam * math.exp(-lam * s) * (1 - math.exp(-h * min(d, t - s))),
            0.0,
            t,
            points=[t - d],
        )
        assert p_hit_during_one_shot_window(t, lam, d, h) == pytest.approx(num, abs=1e-10)

    s = steppe.run(sc, replications=n, seed=17, engine="simpy").samples
    t_mid, t_end, t1 = years(sc, "2025-07-02"), sc.timeline.t_horizon, years(sc, "2025-01-01")
    check_probability(
        "P(E by 1.5y)", s["e_mid"].to_numpy(), p_hit_during_one_shot_window(t_mid, lam, d, h)
    )
    check_probability(
        "P(E by T)", s["e_end"].to_numpy(), p_hit_during_one_shot_window(t_end, lam, d, h)
    )
    check_probability(
        "P(F by T)",
        s["f_end"].to_numpy(),
        1 - math.exp(-h0 * t_end) * (1 - p_hit_during_one_shot_window(t_end, lam, d, h)),
    )
    check_probability(
        "P(shock active at 1y)",
        s["shock_on"].to_numpy(),
        math.exp(-lam * (t1 - d)) - math.exp(-lam * t1),
    )
    p_on = 1 - math.exp(-lam2 * d2)
    check_probability("P(rshock active at 1y)", s["r_on_1"].to_numpy(), p_on)
    check_probability("P(rshock active at 2.5y)", s["r_on_2"].to_numpy(), p_on)

    # Drawn durations (a separate, short scenario: each draw costs a distribution ppf call).
    drawn = scenario_from_yaml(
        f"""
        name: drawn
        title: durations drawn per occurrence
        start: 2024-01-01
        horizon: 2025-04-01
        step: quarter
        events:
          gshock:
            hazard: {lam2}
            recurring: true
            duration: {{dist: uniform, low: 0, high: {2 * d2}}}
        outcomes:
          g_on: {{probability: active(gshock)}}
        """
    )
    assert drawn.timeline.t_horizon >= 2 * d2
    g_on = steppe.run(drawn, replications=n_drawn, seed=26, engine="simpy").samples["g_on"]
    check_probability("P(gshock active at 1.25y)", g_on.to_numpy(), p_on)


# ----------------------------------------------------------------------------------------
# 6. Projects
# ----------------------------------------------------------------------------------------

PROJECT = """
name: project
title: a one-stage project
start: 2024-01-01
horizon: 2028-01-01
step: month
parameters: {{D: {D}}}
events:
  noise: {{hazard: 4, recurring: true}}
projects:
  P:
    stages: [{{name: only, duration: D}}]
    pace: {pace}
outcomes:
  done_at: {{time_to: completed(P)}}
  noise: {{value: count(noise)}}
"""


@pytest.mark.parametrize(("pace", "factor"), [(1, 1.0), (0.5, 2.0), (2, 0.5)])
def test_project_completes_after_duration_over_pace(
    scenario_from_yaml: ScenarioFactory, pace: float, factor: float
) -> None:
    """Work D at constant pace finishes at exactly D / pace, however many state changes
    (monthly ticks, a noise event at rate 4) interrupt it. Deterministic."""
    work = 1.5
    sc = scenario_from_yaml(PROJECT.format(D=work, pace=pace))
    s = steppe.run(sc, replications=30, seed=18, engine="simpy").samples
    assert s["noise"].mean() > 1, "the noise event should interrupt the project"
    np.testing.assert_allclose(s["done_at"], work * factor, rtol=0, atol=EPS)


def test_project_stages_run_in_sequence(scenario_from_yaml: ScenarioFactory) -> None:
    """Two stages of 0.5 and 1.0 years: stage 1 done at 0.5, the project at 1.5."""
    sc = scenario_from_yaml(
        """
        name: stages
        title: two stages
        start: 2024-01-01
        horizon: 2026-01-01
        projects:
          P:
            stages: [{name: s1, duration: 0.5}, {name: s2, duration: 1.0}]
        outcomes:
          stage_q1: {value: stage(P), at: 2024-04-01}
          stage_q3: {value: stage(P), at: 2024-10-01}
          first_done: {time_to: stage(P) >= 1}
          done_at: {time_to: completed(P)}
          done: {probability: completed(P)}
        """
    )
    s = steppe.run(sc, replications=5, seed=19, engine="simpy").samples
    assert s["stage_q1"].tolist() == [0.0] * 5
    assert s["stage_q3"].tolist() == [1.0] * 5
    np.testing.assert_allclose(s["first_done"], 0.5, rtol=0, atol=EPS)
    np.testing.assert_allclose(s["done_at"], 1.5, rtol=0, atol=EPS)
    assert s["done"].tolist() == [1.0] * 5


def test_project_cancellation(scenario_from_yaml: ScenarioFactory) -> None:
    """Work D at pace 1 with cancellation hazard c: it completes iff no cancellation in
    [0, D), probability exp(-c D) (D < T); a completed project completes at exactly D, and by
    the horizon every replication is either completed or cancelled, never both.

    One 4-SE check, SE sqrt(p (1 - p) / n): false-failure probability ~= 6.3e-5.
    """
    work, c, n = 1.5, 0.3, 10_000
    sc = scenario_from_yaml(
        f"""
        name: cancel
        title: a project that may be cancelled
        start: 2024-01-01
        horizon: 2027-01-01
        projects:
          P:
            stages: [{{name: only, duration: {work}}}]
            cancel_hazard: {c}
        outcomes:
          done: {{probability: completed(P)}}
          dropped: {{probability: cancelled(P)}}
          done_at: {{time_to: completed(P)}}
          dropped_at: {{time_to: cancelled(P)}}
        """
    )
    s = steppe.run(sc, replications=n, seed=20, engine="simpy").samples
    check_probability("P(completed by T)", s["done"].to_numpy(), math.exp(-c * work))
    np.testing.assert_array_equal(s["done"] + s["dropped"], 1.0)
    done_at = s["done_at"].to_numpy()
    np.testing.assert_allclose(done_at[s["done"] == 1], work, rtol=0, atol=EPS)
    assert np.isinf(done_at[s["done"] == 0]).all()
    assert (s["dropped_at"][s["dropped"] == 1] < work).all()


def test_project_pace_changes_with_an_event(scenario_from_yaml: ScenarioFactory) -> None:
    """Work 1 at pace 1, halved once A (rate a) has occurred.

    If A comes at s < 1, 1 - s of work remains, done at pace 1/2 by s + 2 (1 - s) = 2 - s;
    otherwise the project completes at 1. Checked per replication (deterministic given s),
    and the resulting law P(tau <= t) = P(s >= 2 - t) = exp(-a (2 - t)) for 1 <= t <= 2 at
    t = 1 and 1.5: two 4-SE checks, false-failure probability <= 1.3e-4.
    """
    a, n = 0.7, 4_000
    sc = scenario_from_yaml(
        f"""
        name: pace
        title: pace set by an event
        start: 2024-01-01
        horizon: 2027-01-01
        events:
          A: {{hazard: {a}}}
        projects:
          P:
            stages: [{{name: only, duration: 1}}]
            pace: "1 - 0.5 * occurred(A)"
        outcomes:
          done_at: {{time_to: completed(P)}}
          a_at: {{time_to: occurred(A)}}
        """
    )
    s = steppe.run(sc, replications=n, seed=21, engine="simpy").samples
    tau, when_a = s["done_at"].to_numpy(), s["a_at"].to_numpy()
    expected = np.where(when_a < 1.0, 2.0 - when_a, 1.0)
    np.testing.assert_allclose(tau, expected, rtol=0, atol=1e-9)
    for t in (1.0, 1.5):
        check_probability(f"P(tau <= {t})", tau <= t + EPS, math.exp(-a * (2.0 - t)))


# ----------------------------------------------------------------------------------------
# 7. combine outcomes
# ----------------------------------------------------------------------------------------


def test_combine_is_the_logical_combination(scenario_from_yaml: ScenarioFactory) -> None:
    """A combination equals, replication by replication, the and/or/not of its parts; a
    time_to part counts as true when reached by the combination's date."""
    sc = scenario_from_yaml(
        """
        name: combine
        title: combinations
        start: 2024-01-01
        horizon: 2027-01-01
        step: quarter
        events:
          A: {hazard: 0.5}
          B: {hazard: 0.4}
        series:
          X: {initial: 100, drift: 0.0, volatility: 0.2}
        outcomes:
          a_early: {probability: occurred(A), by: 2025-01-01}
          b_time: {time_to: occurred(B)}
          x_end: {value: X}
          both: {combine: a_early and b_time}
          either_2025: {combine: a_early or not b_time, by: 2025-07-01}
          mixed: {combine: x_end > 100 and not a_early}
        """
    )
    s = steppe.run(sc, replications=500, seed=22, engine="simpy").samples
    a_early = s["a_early"].to_numpy() == 1
    b_time = s["b_time"].to_numpy()
    t_end, t_mid = sc.timeline.t_horizon, years(sc, "2025-07-01")
    np.testing.assert_array_equal(s["both"], (a_early & (b_time <= t_end)).astype(float))
    np.testing.assert_array_equal(s["either_2025"], (a_early | ~(b_time <= t_mid)).astype(float))
    np.testing.assert_array_equal(s["mixed"], ((s["x_end"] > 100) & ~a_early).astype(float))
    # Every combination is non-trivial in this sample.
    for col in ("both", "either_2025", "mixed"):
        assert 0 < s[col].mean() < 1
