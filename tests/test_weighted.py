"""Tests of steppe.results.weighted: summaries of a weighted sample, ESS and Pareto k-hat."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from steppe.errors import SimulationError
from steppe.model.timeline import Timeline
from steppe.results.stats import (
    summarize_distribution,
    summarize_probability,
    summarize_time_to_event,
)
from steppe.results.weighted import (
    MIN_ESS,
    khat_threshold,
    kish_ess,
    normalized_weights,
    pareto_khat,
    summarize_weighted_distribution,
    summarize_weighted_probability,
    summarize_weighted_time_to_event,
    weight_diagnostic,
)

TIMELINE = Timeline(dt.date(2025, 1, 1), dt.date(2027, 6, 30))


def assert_same(weighted: Any, plain: Any, where: str = "") -> None:
    """Same keys and shapes; numbers equal to 1e-12 (relative, or absolute near 0)."""
    if isinstance(plain, dict):
        assert isinstance(weighted, dict)
        assert list(weighted) == list(plain), where
        for key in plain:
            assert_same(weighted[key], plain[key], f"{where}.{key}")
    elif isinstance(plain, list):
        assert isinstance(weighted, list) and len(weighted) == len(plain), where
        for i, (a, b) in enumerate(zip(weighted, plain, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(plain, float):
        assert type(weighted) is float, where
        if math.isnan(plain):
            assert math.isnan(weighted), where
        else:
            assert math.isclose(weighted, plain, rel_tol=1e-12, abs_tol=1e-12), (
                where,
                weighted,
                plain,
            )
    else:
        assert weighted == plain and type(weighted) is type(plain), (where, weighted, plain)


def assert_json(value: dict[str, Any]) -> None:
    json.dumps(value, allow_nan=False)


# --- equal weights give the unweighted summaries -------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 10, 997])
@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("level", [0.0, -750.0, 700.0])
def test_equal_weights_probability(n: int, share: float, level: float) -> None:
    x = (np.random.default_rng(n).uniform(size=n) < share).astype(float)
    weighted = summarize_weighted_probability(x, np.full(n, level))
    assert weighted.pop("ess") == n
    assert_same(weighted, summarize_probability(x))


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("level", [0.0, -750.0])
def test_equal_weights_distribution(n: int, ties: bool, level: float) -> None:
    x = np.random.default_rng(n).normal(3.0, 2.0, size=n)
    if ties:
        x = np.round(x)
    weighted = summarize_weighted_distribution(x, np.full(n, level))
    assert weighted.pop("ess") == n
    assert_same(weighted, summarize_distribution(x))


@pytest.mark.parametrize("n", [1, 5, 2000])
def test_equal_weights_time_to_event(n: int) -> None:
    rng = np.random.default_rng(n)
    t = np.where(rng.uniform(size=n) < 0.6, rng.exponential(1.5, size=n), np.inf)
    weighted = summarize_weighted_time_to_event(t, np.zeros(n), TIMELINE)
    assert weighted.pop("ess") == n
    assert_same(weighted, summarize_time_to_event(t, TIMELINE))


def test_zero_weights_drop_out() -> None:
    # Replications the evidence rules out (-inf) count for nothing: the summary of the rest,
    # but for n (all replications) and the extremes, which range over the rest only.
    rng = np.random.default_rng(11)
    x = rng.normal(size=600)
    keep = rng.uniform(size=600) < 0.7
    logw = np.where(keep, -2.0, -np.inf)
    weighted = summarize_weighted_distribution(x, logw)
    plain = summarize_distribution(x[keep])
    assert weighted.pop("n") == 600 and plain.pop("n") == int(keep.sum())
    assert weighted.pop("ess") == keep.sum()
    assert_same(weighted, plain)
    t = np.where(x > 1.0, np.inf, np.abs(x))
    weighted = summarize_weighted_time_to_event(t, logw, TIMELINE)
    plain = summarize_time_to_event(t[keep], TIMELINE)
    for key in ("n", "ess"):
        weighted.pop(key), plain.pop(key, None)
    assert_same(weighted, plain)


# --- hand-computed weighted values ---------------------------------------------------------


def test_weighted_values_by_hand() -> None:
    logw = np.log([3.0, 1.0])  # normalised weights 0.75, 0.25
    p = summarize_weighted_probability([1.0, 0.0], logw)
    assert_allclose([p["p"], p["se"], p["ess"]], [0.75, math.sqrt(0.0703125), 1.6], rtol=1e-14)
    d = summarize_weighted_distribution([0.0, 10.0], logw)
    # sd^2 = sum w (x - mean)^2 / (W - sum w^2 / W) = 75 / 1.5; se^2 = 7.03125 / 0.375
    assert_allclose([d["mean"], d["sd"], d["se"]], [2.5, math.sqrt(50.0), math.sqrt(18.75)])
    assert d["quantiles"] == {"0.05": 0.0, "0.25": 0.0, "0.5": 0.0, "0.75": 0.0, "0.95": 10.0}


def test_time_to_event_agrees_with_probability_and_distribution() -> None:
    rng = np.random.default_rng(5)
    t = np.where(rng.uniform(size=3000) < 0.8, rng.exponential(1.0, size=3000), np.inf)
    logw = rng.normal(0.0, 0.7, size=3000)
    s = summarize_weighted_time_to_event(t, logw, TIMELINE)
    for day in TIMELINE.year_ends():
        p = summarize_weighted_probability((t <= TIMELINE.years(day)).astype(float), logw)
        key = day.isoformat()
        assert (s["p_by"][key], s["p_by_se"][key], s["p_by_ci95"][key]) == (
            p["p"],
            p["se"],
            p["ci95"],
        )
    d = summarize_weighted_distribution(np.minimum(t, 1e9), logw)
    for key, value in d["quantiles"].items():
        shown = None if value == 1e9 else TIMELINE.date(value).isoformat()
        assert s["quantiles"][key] == shown
    assert s["p_ever"] == pytest.approx(np.sum(normalized_weights(logw)[np.isfinite(t)]))
    assert_json(s)


# --- an importance-sampling case with a known answer -----------------------------------------
# Proposal N(0, 1), target N(theta, 1): the weights are phi(x - theta) / phi(x), so
# logw = theta x - theta^2 / 2. Under the target P(X > 1) = 1 - Phi(1 - theta), the mean is
# theta and the q-quantile theta + Phi^-1(q).

THETA = 0.5


def importance_sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng([7, seed]).standard_normal(n)
    return x, THETA * x - THETA**2 / 2.0


def test_importance_sampling_estimates() -> None:
    x, logw = importance_sample(20_000, 0)
    p = summarize_weighted_probability((x > 1.0).astype(float), logw)
    d = summarize_weighted_distribution(x, logw)
    # Within 4 standard errors (a two-sided normal tail of 6e-5), with a fixed seed.
    assert abs(p["p"] - stats.norm.sf(1.0, loc=THETA)) <= 4.0 * p["se"]
    assert abs(d["mean"] - THETA) <= 4.0 * d["se"]
    for q in (0.05, 0.5, 0.95):
        lo, hi = d["quantiles_ci95"][f"{q:g}"]
        truth = THETA + stats.norm.ppf(q)
        assert lo <= truth <= hi
        assert hi - lo < 0.15  # of the order of 2 * 1.96 * sqrt(q (1 - q) / n*) / density
    # Kish's ESS of lognormal weights with log-sd theta is n exp(-theta^2) to O(1 / sqrt(n)).
    assert d["ess"] == pytest.approx(20_000 * math.exp(-(THETA**2)), rel=0.03)


def coverage(replicates: int, n: int) -> dict[str, float]:
    """Share of ``replicates`` independent weighted samples whose 95% intervals hold the truth."""
    truths = {"p": stats.norm.sf(1.0, loc=THETA), "mean": THETA, "median": THETA}
    hits = dict.fromkeys(truths, 0)
    for seed in range(replicates):
        x, logw = importance_sample(n, seed)
        d = summarize_weighted_distribution(x, logw)
        intervals = {
            "p": summarize_weighted_probability((x > 1.0).astype(float), logw)["ci95"],
            "mean": d["ci95"],
            "median": d["quantiles_ci95"]["0.5"],
        }
        for key, (lo, hi) in intervals.items():
            hits[key] += lo <= truths[key] <= hi
    return {key: count / replicates for key, count in hits.items()}


def assert_coverage(replicates: int, n: int) -> None:
    # The number of covering intervals is Binomial(R, 0.95) for exact intervals: accept
    # 0.95 +- 3 sqrt(0.95 * 0.05 / R) (a two-sided level of 0.3% for each interval).
    tolerance = 3.0 * math.sqrt(0.95 * 0.05 / replicates)
    for key, share in coverage(replicates, n).items():
        assert abs(share - 0.95) <= tolerance, (key, share, tolerance)


def test_coverage_small() -> None:
    assert_coverage(200, 500)  # tolerance 0.046


@pytest.mark.slow
def test_coverage() -> None:
    assert_coverage(2000, 1000)  # tolerance 0.0146


# --- weights, ESS and input validation -----------------------------------------------------


def test_normalized_weights_are_stable() -> None:
    w = normalized_weights([1000.0, 1000.0 + math.log(3.0), -np.inf])
    assert_allclose(w, [0.25, 0.75, 0.0], rtol=1e-12)  # 1000 + log 3 is rounded to 1e-13
    assert kish_ess([1000.0, 1000.0, 1000.0 + math.log(2.0)]) == pytest.approx(16.0 / 6.0)
    assert kish_ess([-800.0, -np.inf, -np.inf]) == 1.0


def test_all_weights_zero() -> None:
    logw = np.full(4, -np.inf)
    message = "all 4 weights are zero .every log-weight is -inf.: the evidence rules out"
    for call in (
        lambda: normalized_weights(logw),
        lambda: kish_ess(logw),
        lambda: pareto_khat(logw),
        lambda: weight_diagnostic(logw),
        lambda: summarize_weighted_probability(np.ones(4), logw),
        lambda: summarize_weighted_distribution(np.ones(4), logw),
        lambda: summarize_weighted_time_to_event(np.ones(4), logw, TIMELINE),
    ):
        with pytest.raises(SimulationError, match=message):
            call()


@pytest.mark.parametrize(
    ("logw", "message"),
    [
        ([0.0, math.nan], r"logw must hold finite log-weights or -inf \(found NaN or \+inf\)"),
        ([0.0, math.inf], r"logw must hold finite log-weights or -inf \(found NaN or \+inf\)"),
        ([0.0], r"logw must hold one log-weight per sample: 2 \(got 1\)"),
        ([[0.0, 0.0]], r"logw must be a 1-D array \(got shape \(1, 2\)\)"),
    ],
)
def test_bad_log_weights(logw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize_weighted_distribution([1.0, 2.0], logw)


def test_bad_samples() -> None:
    with pytest.raises(ValueError, match=r"x must hold only 0.0/1.0 indicators"):
        summarize_weighted_probability([0.5, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"x must hold no NaN"):
        summarize_weighted_distribution([math.nan, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"t must hold event times >= 0 or \+inf"):
        summarize_weighted_time_to_event([-1.0, 1.0], [0.0, 0.0], TIMELINE)
    with pytest.raises(ValueError, match=r"logw must hold at least one sample"):
        kish_ess([])


# --- Pareto k-hat and the diagnostic ---------------------------------------------------------

# k-hat of ArviZ 0.20.0 (``arviz.psislw(logw)[1]``, NumPy 2.4) on these log-weights.
ARVIZ_KHAT = {
    "lognormal_sd1": 0.32774043331962244,
    "lognormal_sd2": 0.8800094731217835,
    "pareto_1": 1.119603308813716,
    "student_t2": 0.5873454440943142,
    "uniform": -0.4976185584158804,
    "with_zeros": 0.3211060598897778,
}


def arviz_case(name: str) -> np.ndarray:
    if name == "lognormal_sd1":
        return np.random.default_rng(1).standard_normal(1000)
    if name == "lognormal_sd2":
        return 2.0 * np.random.default_rng(2).standard_normal(500)
    if name == "pareto_1":  # weights 1 / U: a Pareto tail with k = 1
        return -np.log(np.random.default_rng(3).uniform(size=2000))
    if name == "student_t2":  # weights |t_2|: k = 1/2
        return np.log(np.abs(np.random.default_rng(4).standard_t(2, size=2000)))
    if name == "uniform":  # bounded weights: k < 0
        return np.log(np.random.default_rng(5).uniform(size=100))
    rng = np.random.default_rng(6)
    return np.where(rng.uniform(size=1000) < 0.3, -np.inf, rng.standard_normal(1000))


@pytest.mark.parametrize("name", sorted(ARVIZ_KHAT))
def test_khat_matches_arviz(name: str) -> None:
    logw = arviz_case(name)
    assert pareto_khat(logw) == pytest.approx(ARVIZ_KHAT[name], rel=1e-12)
    assert pareto_khat(logw + 321.0) == pytest.approx(ARVIZ_KHAT[name], rel=1e-9)


def test_khat_small_for_benign_weights_large_for_heavy_tails() -> None:
    _x, logw = importance_sample(4000, 1)
    assert pareto_khat(logw) < 0.5
    assert pareto_khat(arviz_case("pareto_1")) > 0.7


def test_khat_without_a_tail_is_inf_as_in_arviz() -> None:
    assert pareto_khat(np.random.default_rng(0).normal(size=20)) == math.inf  # M = 4
    assert pareto_khat(np.zeros(1000)) == math.inf  # tied: nothing above the cutoff


@pytest.mark.parametrize(
    ("s", "threshold"), [(1, -math.inf), (10, 0.0), (100, 0.5), (1000, 2 / 3), (10**5, 0.7)]
)
def test_khat_threshold(s: int, threshold: float) -> None:
    assert khat_threshold(s) == pytest.approx(threshold)


def test_khat_threshold_needs_a_sample() -> None:
    with pytest.raises(ValueError, match=r"S must be >= 1 \(got 0\)"):
        khat_threshold(0)


def test_diagnostic_reliable() -> None:
    _x, logw = importance_sample(4000, 1)
    d = weight_diagnostic(logw)
    assert d["reliable"] is True
    assert d["ess_share"] == pytest.approx(d["ess"] / 4000)
    assert d["khat"] == pareto_khat(logw) and d["khat_threshold"] == 0.7
    assert d["message"] == (
        f"Reliable: the estimates rest on about {d['ess']:,.0f} effective replications "
        f"of 4,000 (k̂ = {d['khat']:.2f} <= 0.70)."
    )
    assert_json(d)


def test_diagnostic_surprising() -> None:
    d = weight_diagnostic(arviz_case("lognormal_sd2"))
    assert d["reliable"] is False
    assert d["message"] == (
        f"The evidence is surprising for this number of replications: the estimates rest on "
        f"about {d['ess']:,.0f} effective replications of 500 (k̂ = 0.88 > 0.63); run with "
        "more replications."
    )


def test_diagnostic_tied_weights() -> None:
    # Evidence that keeps or rules out a replication (a stage reached by a date) gives
    # weights 1 or 0: nothing to fit, the tail is bounded, only the ESS matters.
    keep = np.random.default_rng(2).uniform(size=1000) < 0.4
    d = weight_diagnostic(np.where(keep, 0.0, -np.inf))
    assert (d["khat"], d["reliable"], d["ess"]) == (None, True, keep.sum())
    assert d["message"].startswith("Reliable: the estimates rest on about ")
    few = weight_diagnostic(np.zeros(50))
    assert few["reliable"] is False and few["ess"] < MIN_ESS
    assert few["message"] == (
        "Too few effective replications: the estimates rest on about 50 effective "
        "replications of 50 (fewer than 100); run with more replications."
    )


def test_diagnostic_too_few_replications() -> None:
    d = weight_diagnostic(np.zeros(20))
    assert (d["khat"], d["reliable"]) == (None, False)
    assert d["message"] == (
        "The weights cannot be judged: the estimates rest on about 20 effective replications "
        "of 20; run with more replications."
    )
    assert weight_diagnostic([0.0])["khat_threshold"] is None  # -inf is not JSON
