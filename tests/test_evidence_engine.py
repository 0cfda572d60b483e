"""Conditioning on evidence in the reference engine (docs/engine.md section 10), against
exact posteriors.

Each estimate is self-normalised importance sampling: ``sum w x / sum w``; its Monte Carlo
standard error is the delta method's ``sqrt(sum w~^2 (x - est)^2)`` (``w~`` the normalised
weights). Tolerances are 4 such standard errors (a false alarm about once in 16,000 runs
per check); the seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

import steppe
from steppe.engines.des import Lineages, simulate_des, simulate_des_conditioned
from steppe.errors import SimulationError
from steppe.evidence.plan import EvidencePlan, SeriesCheck, StageCheck, Window
from steppe.evidence.smc import Conditioned, condition, kish_ess, systematic

DATA = Path(__file__).parent / "data" / "evidence"


def _run(
    name: str, plan: EvidencePlan, *, n: int, seed: int
) -> tuple[steppe.Scenario, Conditioned]:
    sc = steppe.load(DATA / f"{name}.yaml")

    def simulate(lineages: Lineages) -> tuple[np.ndarray, np.ndarray]:
        return simulate_des_conditioned(sc, plan, lineages, seed=seed, n=n)

    return sc, condition(plan, simulate, seed=seed, n=n)


def _estimate(res: Conditioned, column: int) -> tuple[float, float]:
    """The weighted estimate of an outcome and its delta-method standard error."""
    w = np.exp(res.logw - res.logw.max())
    w /= w.sum()
    x = res.samples[:, column]
    est = float(w @ x)
    return est, float(math.sqrt(np.sum(w * w * (x - est) ** 2)))


def _years(sc: steppe.Scenario, day: dt.date) -> float:
    return float(sc.timeline.years(day))


@pytest.mark.parametrize("k", [3, 10])
def test_gamma_poisson_posterior(k: int) -> None:
    # rate ~ Gamma(a = 2, scale 1 / b = 1); k occurrences seen in [0, T] (times unknown) ->
    # rate | data ~ Gamma(a + k, b + T); P(no occurrence in the next year) =
    # ((b + T) / (b + T + 1)) ** (a + k). k = 10 is surprising enough to resample at T.
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    big_t = _years(sc, dt.date(2026, 1, 1))
    window = Window(0, 0.0, big_t, draws=k, dlo=0.0, dhi=big_t, source="evidence:0:times")
    plan = EvidencePlan(windows=(window,), as_of=big_t)
    sc, res = _run("gamma_poisson", plan, n=4000, seed=11)
    a, b = 2.0, 1.0
    est, se = _estimate(res, 1)  # the rate's posterior mean
    assert abs(est - (a + k) / (b + big_t)) < 4 * se
    # P(no occurrence in the next `gap` years) = E[exp(-rate gap)] over the posterior
    gap = _years(sc, dt.date(2027, 1, 1)) - big_t
    w = np.exp(res.logw - res.logw.max())
    w /= w.sum()
    quiet = np.exp(-res.samples[:, 1] * gap)
    est_q = float(w @ quiet)
    se_q = float(math.sqrt(np.sum(w * w * (quiet - est_q) ** 2)))
    assert abs(est_q - ((b + big_t) / (b + big_t + gap)) ** (a + k)) < 4 * se_q
    if k == 10:
        assert res.lineages.times == (big_t,)  # the evidence was surprising: resampled at T
    else:
        assert res.lineages.times == ()


def test_gamma_poisson_simulated_future_matches_posterior_predictive() -> None:
    # The outcome itself (count == 3 at T + 1: no occurrence after T) is simulated after the
    # evidence: its weighted frequency must match the posterior predictive.
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    big_t = _years(sc, dt.date(2026, 1, 1))
    window = Window(0, 0.0, big_t, draws=3, dlo=0.0, dhi=big_t, source="evidence:0:times")
    sc, res = _run("gamma_poisson", EvidencePlan(windows=(window,), as_of=big_t), n=4000, seed=5)
    gap = _years(sc, dt.date(2027, 1, 1)) - big_t
    est, se = _estimate(res, 0)
    assert abs(est - (3.0 / (3.0 + gap)) ** 5) < 4 * se


def test_one_shot_not_by_with_lognormal_hazard() -> None:
    # h ~ Lognormal(-1, 1); the event did not happen by T = 1 year -> p(h | data) is
    # proportional to p(h) exp(-h T); P(it happens by T + 2) = 1 - E[exp(-2 h)] under it.
    sc = steppe.load(DATA / "lognormal_survival.yaml")
    big_t = _years(sc, dt.date(2025, 1, 1))
    gap = _years(sc, dt.date(2027, 1, 1)) - big_t
    plan = EvidencePlan(windows=(Window(0, 0.0, big_t),), as_of=big_t)
    sc, res = _run("lognormal_survival", plan, n=4000, seed=2)
    prior = stats.lognorm(s=1.0, scale=math.exp(-1.0))

    def moment(f: object) -> float:
        return float(integrate.quad(f, 0, np.inf, limit=200)[0])  # type: ignore[arg-type]

    z = moment(lambda h: prior.pdf(h) * math.exp(-h * big_t))
    exact_p = 1.0 - moment(lambda h: prior.pdf(h) * math.exp(-h * (big_t + gap))) / z
    exact_h = moment(lambda h: h * prior.pdf(h) * math.exp(-h * big_t)) / z
    est, se = _estimate(res, 0)
    assert abs(est - exact_p) < 4 * se
    est, se = _estimate(res, 1)
    assert abs(est - exact_h) < 4 * se


def test_series_level_observed_with_lognormal_error() -> None:
    # log x0 ~ N(4, 0.5^2), constant series; observed 80 with log-error sd 0.3 ->
    # log x0 | y ~ N(m, v), 1/v = 1/0.25 + 1/0.09, m = v (4/0.25 + log 80/0.09).
    sc = steppe.load(DATA / "observed_level.yaml")
    at = _years(sc, dt.date(2024, 7, 1))
    plan = EvidencePlan(series=(SeriesCheck(0, at, at, value=80.0, sigma=0.3),), as_of=at)
    sc, res = _run("observed_level", plan, n=4000, seed=9)
    v = 1.0 / (1.0 / 0.25 + 1.0 / 0.09)
    m = v * (4.0 / 0.25 + math.log(80.0) / 0.09)
    est, se = _estimate(res, 0)
    assert abs(est - math.exp(m + v / 2)) < 4 * se


def test_series_total_is_the_integral_of_the_path() -> None:
    # A constant series integrates to level * length: the bound "at least" keeps exactly
    # the replications whose x0 * length clears it.
    sc = steppe.load(DATA / "observed_level.yaml")
    lo, hi = _years(sc, dt.date(2024, 1, 1)), _years(sc, dt.date(2025, 1, 1))
    check = SeriesCheck(0, lo, hi, at_least=60.0 * (hi - lo))
    plan = EvidencePlan(series=(check,), as_of=hi)
    n = 500
    out, logw = simulate_des_conditioned(sc, plan, Lineages(), seed=4, n=n)
    kept = np.isfinite(logw[:, 0])
    assert kept.any() and not kept.all()
    np.testing.assert_array_equal(kept, out[:, 0] >= 60.0 - 1e-9)


@pytest.mark.parametrize("reached", [True, False])
def test_stage_check_keeps_the_replications_that_match(reached: bool) -> None:
    # Nothing is forced: the paths are the plain run's, and the weight is 1 exactly where
    # stage 'build' had begun by the date (the outcome begun_2025) as observed, else 0.
    sc = steppe.load(DATA / "stage_check.yaml")
    at = _years(sc, dt.date(2025, 1, 1))
    plan = EvidencePlan(stages=(StageCheck(0, 1, at, reached=reached),), as_of=at)
    out, logw = simulate_des_conditioned(sc, plan, Lineages(), seed=4, n=300)
    begun = out[:, 0] == 1.0
    assert 0 < begun.sum() < 300
    np.testing.assert_array_equal(logw[:, 0] == 0.0, begun == reached)
    np.testing.assert_array_equal(np.isinf(logw[:, 0]), begun != reached)


def test_same_numbers_in_any_chunking() -> None:
    # A generation is a pure function of (seed, ancestry): chunks give the same rows.
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    big_t = _years(sc, dt.date(2026, 1, 1))
    window = Window(0, 0.0, big_t, draws=10, dlo=0.0, dhi=big_t, source="evidence:0:times")
    plan = EvidencePlan(windows=(window,), as_of=big_t)
    sc, res = _run("gamma_poisson", plan, n=600, seed=3)
    assert len(res.lineages.times) == 1
    whole = simulate_des_conditioned(sc, plan, res.lineages, seed=3, n=600)
    parts = [simulate_des_conditioned(sc, plan, res.lineages, seed=3, start=s, n=200)
             for s in (0, 200, 400)]  # fmt: skip
    np.testing.assert_array_equal(whole[0], np.concatenate([p[0] for p in parts]))
    np.testing.assert_array_equal(whole[1], np.concatenate([p[1] for p in parts]))


def test_without_evidence_items_the_run_is_the_plain_run() -> None:
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    plain = simulate_des(sc, seed=8, n=300)
    out, logw = simulate_des_conditioned(sc, EvidencePlan(), Lineages(), seed=8, n=300)
    np.testing.assert_array_equal(plain, out)
    assert logw.shape == (300, 0)


def test_probability_zero_evidence_is_an_error() -> None:
    # Observed at least 1e9 when the series cannot exceed ~1e3: no particle survives.
    sc = steppe.load(DATA / "observed_level.yaml")
    at = _years(sc, dt.date(2024, 7, 1))
    plan = EvidencePlan(series=(SeriesCheck(0, at, at, at_least=1e9),), as_of=at)
    with pytest.raises(SimulationError, match="consistent with the evidence"):
        _run("observed_level", plan, n=200, seed=1)


def test_resampling_helpers() -> None:
    lw = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    assert kish_ess(np.zeros(5)) == pytest.approx(5.0)
    anc = systematic(lw, 0.5)
    counts = np.bincount(anc, minlength=4)
    expected = 4 * np.exp(lw) / np.exp(lw).sum()
    assert np.all((counts == np.floor(expected)) | (counts == np.ceil(expected)))


def _posterior_cdf_at(res: Conditioned, column: int, truth: float) -> float:
    """The weighted posterior CDF of an outcome at the true value (its SBC rank / n)."""
    w = np.exp(res.logw - res.logw.max())
    w /= w.sum()
    x = res.samples[:, column]
    return float(w[x < truth].sum() + 0.5 * w[x == truth].sum())


@pytest.mark.slow
@pytest.mark.parametrize("case", ["gamma_poisson", "observed_level"])
def test_simulation_based_calibration(case: str) -> None:
    # Talts et al. (2018): draw the truth from the prior, simulate the evidence from the
    # model, condition; the posterior CDF at the truth is then uniform. 200 data sets in 10
    # bins (expected 20 each); chi-square with 9 degrees of freedom at level 0.001 (a false
    # alarm once in 1,000 runs of this test; the seeds are fixed).
    sc = steppe.load(DATA / f"{case}.yaml")
    m, n = 200, 400
    plain = simulate_des(sc, seed=1234, n=m)  # each row: one truth and its data
    noise = np.random.default_rng(99).standard_normal(m)
    cdf = []
    for j in range(m):
        if case == "gamma_poisson":
            big_t = _years(sc, dt.date(2026, 1, 1))
            k, truth, column = int(plain[j, 2]), plain[j, 1], 1
            window = Window(0, 0.0, big_t, draws=k, dlo=0.0, dhi=big_t, source="evidence:0:times")
            plan = EvidencePlan(windows=(window,), as_of=big_t)
        else:
            at = _years(sc, dt.date(2024, 7, 1))
            truth, column = plain[j, 0], 0
            y = truth * math.exp(0.3 * noise[j])  # observed with lognormal error 0.3
            plan = EvidencePlan(series=(SeriesCheck(0, at, at, value=y, sigma=0.3),), as_of=at)
        _, res = _run(case, plan, n=n, seed=5000 + j)
        cdf.append(_posterior_cdf_at(res, column, truth))
    counts = np.bincount(np.minimum((np.array(cdf) * 10).astype(int), 9), minlength=10)
    assert stats.chisquare(counts).pvalue > 0.001, counts


@pytest.mark.parametrize(
    "parts",
    [
        ((0.0, 0.5), (0.5, 1.0)),  # touching halves
        ((0.5, 1.0), (0.0, 0.5)),  # listed later one first
        ((0.0, 0.6), (0.4, 1.0)),  # overlapping
        ((0.0, 1.0), (0.2, 0.7)),  # nested
    ],
)
def test_windows_that_touch_or_overlap_book_the_hazard_once(
    parts: tuple[tuple[float, float], ...],
) -> None:
    # A constant hazard h held off over [0, T] by one window, or by two that touch, overlap
    # or nest: the log-weight at T is -h T either way (to rounding: it is booked in pieces).
    sc = steppe.load(DATA / "lognormal_survival.yaml")
    big_t = _years(sc, dt.date(2025, 1, 1))
    one = EvidencePlan(windows=(Window(0, 0.0, big_t),), as_of=big_t)
    two = EvidencePlan(
        windows=tuple(Window(0, a * big_t, b * big_t) for a, b in parts), as_of=big_t
    )
    out1, lw1 = simulate_des_conditioned(sc, one, Lineages(), seed=6, n=50)
    _, lw2 = simulate_des_conditioned(sc, two, Lineages(), seed=6, n=50)
    np.testing.assert_allclose(lw2[:, -1], lw1[:, 0], rtol=1e-13)
    np.testing.assert_allclose(lw1[:, 0], -out1[:, 1] * big_t, rtol=1e-13)


def test_windows_are_kept_in_chronological_order() -> None:
    late, early = Window(0, 0.5, 1.0), Window(0, 0.0, 0.5)
    assert EvidencePlan(windows=(late, early)).windows == (early, late)


def test_a_window_on_an_event_without_a_hazard_is_an_error() -> None:
    sc = steppe.loads(
        (DATA / "lognormal_survival.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "  e: {hazard: h, why: test}",
            "  e: {hazard: h, why: test}\n  f: {history: [2023-06-01], why: test}",
        )
    )
    plan = EvidencePlan(windows=(Window(1, 0.0, 0.5),), as_of=0.5)
    with pytest.raises(SimulationError, match="event 'f' happened or not, but it has no hazard"):
        simulate_des_conditioned(sc, plan, Lineages(), seed=1, n=3)
