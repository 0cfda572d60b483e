"""Tests of steppe.results.stats: intervals, quantiles and outcome summaries."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from steppe.model.timeline import Timeline
from steppe.results.stats import (
    QUANTILE_LEVELS,
    quantile,
    quantile_interval,
    summarize_distribution,
    summarize_probability,
    summarize_time_to_event,
    wilson_interval,
)

KEYS = ["0.05", "0.25", "0.5", "0.75", "0.95"]


def assert_plain_json(value: Any) -> None:
    """Every leaf is a plain Python scalar (not a NumPy subclass) and JSON accepts the tree."""

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for key, item in v.items():
                assert type(key) is str
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)
        else:
            assert v is None or type(v) in (float, int, str), f"{v!r} is a {type(v)}"

    walk(value)
    json.dumps(value, allow_nan=False)


# --- wilson_interval ---------------------------------------------------------------------


def test_wilson_known_value() -> None:
    assert_allclose(wilson_interval(10, 100), (0.0552, 0.1744), atol=5e-5)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (37, 250)])
@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_matches_scipy(k: int, n: int, confidence: float) -> None:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert_allclose(wilson_interval(k, n, confidence=confidence), (ci.low, ci.high), rtol=1e-12)


def test_wilson_at_the_edges_is_proper() -> None:
    z2 = stats.norm.ppf(0.975) ** 2
    lo, hi = wilson_interval(0, 50)
    assert lo == 0.0
    assert_allclose(hi, z2 / (50 + z2), rtol=1e-12)
    lo, hi = wilson_interval(50, 50)
    assert hi == 1.0
    assert_allclose(lo, 50 / (50 + z2), rtol=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "confidence", "match"),
    [
        (1, 0, 0.95, r"^n must be >= 1 \(got 0\)$"),
        (11, 10, 0.95, r"^successes must satisfy 0 <= successes <= n = 10 \(got 11\)$"),
        (-1, 10, 0.95, r"^successes must satisfy 0 <= successes <= n = 10 \(got -1\)$"),
        (1, 10, 1.0, r"^confidence must satisfy 0 < confidence < 1 \(got 1.0\)$"),
    ],
)
def test_wilson_rejects_bad_input(k: int, n: int, confidence: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        wilson_interval(k, n, confidence=confidence)


# --- quantile ----------------------------------------------------------------------------


def test_quantile_is_the_ceil_order_statistic() -> None:
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0])  # sorted: 1 2 3 4 5
    assert quantile(x, 0.0) == 1.0
    assert quantile(x, 0.2) == 1.0  # ceil(1.0) = 1
    assert quantile(x, 0.21) == 2.0  # ceil(1.05) = 2
    assert quantile(x, 0.5) == 3.0  # ceil(2.5) = 3
    assert quantile(x, 1.0) == 5.0


def test_quantile_is_not_fooled_by_binary_rounding() -> None:
    assert 0.07 * 100 > 7  # the float product overshoots ...
    assert quantile(np.arange(1.0, 101.0), 0.07) == 7.0  # ... but x_(7) is returned


@pytest.mark.parametrize("n", [1, 2, 7, 20, 99, 100, 1001])
def test_quantile_matches_numpy_inverted_cdf(n: int) -> None:
    x = np.random.default_rng(n).normal(size=n)
    for q in QUANTILE_LEVELS:
        assert quantile(x, q) == np.quantile(x, q, method="inverted_cdf")


def test_quantile_with_infinite_values() -> None:
    x = np.array([np.inf, 0.5, np.inf, 2.0, np.inf, 1.0, np.inf, np.inf, 3.0, np.inf])
    assert quantile(x, 0.2) == 1.0  # x_(2)
    assert quantile(x, 0.25) == 2.0  # x_(3)
    assert quantile(x, 0.4) == 3.0  # x_(4): the last finite value
    assert quantile(x, 0.41) == math.inf  # x_(5)
    assert quantile(x, 0.95) == math.inf


def test_quantile_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"^q must satisfy 0 <= q <= 1 \(got 1.5\)$"):
        quantile(np.ones(3), 1.5)
    with pytest.raises(ValueError, match=r"^x must hold at least one sample"):
        quantile(np.array([]), 0.5)
    with pytest.raises(ValueError, match=r"^x must be a 1-D array \(got shape \(2, 2\)\)$"):
        quantile(np.ones((2, 2)), 0.5)


# --- quantile_interval -------------------------------------------------------------------


def test_quantile_interval_textbook_median() -> None:
    # n = 10: the 95% interval for the median is (x_(2), x_(9)), coverage 0.9785 (Conover).
    x = np.arange(1.0, 11.0)
    assert quantile_interval(x, 0.5) == (2.0, 9.0)
    cover = stats.binom.cdf(8, 10, 0.5) - stats.binom.cdf(1, 10, 0.5)
    assert_allclose(cover, 0.978515625)


def test_quantile_interval_is_clipped_for_small_n() -> None:
    assert quantile_interval(np.array([1.0, 2.0, 3.0]), 0.5) == (1.0, 3.0)
    assert quantile_interval(np.array([4.0]), 0.05) == (4.0, 4.0)


def test_quantile_interval_with_infinite_values() -> None:
    x = np.concatenate([np.arange(1.0, 61.0), np.full(40, np.inf)])
    lo, hi = quantile_interval(x, 0.5)
    assert math.isfinite(lo)
    assert hi == math.inf
    lo, hi = quantile_interval(x, 0.25)
    assert math.isfinite(lo)
    assert math.isfinite(hi)


def test_quantile_interval_requires_sorted_input() -> None:
    with pytest.raises(ValueError, match=r"^x_sorted must be sorted in ascending order"):
        quantile_interval(np.array([2.0, 1.0, 3.0]), 0.5)
    with pytest.raises(ValueError, match=r"^q must satisfy 0 < q < 1 \(got 0.0\)$"):
        quantile_interval(np.array([1.0, 2.0]), 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("q", [0.5, 0.05])
def test_quantile_interval_coverage(q: float) -> None:
    # 2000 trials of n = 200 normal samples. The coverage estimate has a binomial standard
    # error of about sqrt(0.95 * 0.05 / 2000) = 0.0049; allow 4 se. The order-statistic
    # interval is conservative, so nominal coverage is a lower bound; its exact coverage
    # F(u - 1) - F(l - 1) is checked too.
    trials, n = 2000, 200
    rng = np.random.default_rng(20240611)
    truth = stats.norm.ppf(q)
    hits = 0
    for _ in range(trials):
        lo, hi = quantile_interval(np.sort(rng.standard_normal(n)), q)
        hits += lo <= truth <= hi
    coverage = hits / trials
    se = math.sqrt(0.95 * 0.05 / trials)
    assert coverage >= 0.95 - 4 * se

    lo_idx = stats.binom.ppf(0.025, n, q)
    hi_idx = stats.binom.ppf(0.975, n, q) + 1
    exact = stats.binom.cdf(hi_idx - 1, n, q) - stats.binom.cdf(lo_idx - 1, n, q)
    assert exact >= 0.95
    assert abs(coverage - exact) <= 4 * math.sqrt(exact * (1 - exact) / trials)


# --- summarize_probability ---------------------------------------------------------------


def test_summarize_probability() -> None:
    x = np.zeros(200)
    x[:30] = 1.0
    out = summarize_probability(x)
    assert list(out) == ["kind", "p", "se", "ci95", "n"]
    assert out["kind"] == "probability"
    assert out["n"] == 200
    assert out["p"] == 0.15
    assert_allclose(out["se"], math.sqrt(0.15 * 0.85 / 200))
    assert out["ci95"] == list(wilson_interval(30, 200))
    assert_plain_json(out)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_summarize_probability_degenerate(value: float) -> None:
    out = summarize_probability(np.full(40, value))
    assert out["p"] == value
    assert out["se"] == 0.0
    lo, hi = out["ci95"]
    assert 0.0 <= lo < hi <= 1.0
    assert lo <= value <= hi


def test_summarize_probability_rejects_non_indicators() -> None:
    with pytest.raises(ValueError, match=r"^x must hold only 0.0/1.0 indicators$"):
        summarize_probability(np.array([0.0, 0.5, 1.0]))


# --- summarize_distribution --------------------------------------------------------------


def test_summarize_distribution() -> None:
    x = np.random.default_rng(7).lognormal(size=501)
    out = summarize_distribution(x)
    assert list(out) == [
        "kind",
        "mean",
        "sd",
        "se",
        "ci95",
        "quantiles",
        "quantiles_ci95",
        "min",
        "max",
        "n",
    ]
    assert out["kind"] == "distribution"
    assert out["n"] == 501
    assert_allclose(out["mean"], x.mean(), rtol=1e-12)
    assert_allclose(out["sd"], x.std(ddof=1), rtol=1e-12)
    assert_allclose(out["se"], x.std(ddof=1) / math.sqrt(501), rtol=1e-12)
    assert_allclose(
        out["ci95"], [out["mean"] - 1.959964 * out["se"], out["mean"] + 1.959964 * out["se"]]
    )
    assert list(out["quantiles"]) == KEYS
    assert list(out["quantiles_ci95"]) == KEYS
    for q, key in zip(QUANTILE_LEVELS, KEYS, strict=True):
        assert out["quantiles"][key] == np.quantile(x, q, method="inverted_cdf")
        lo, hi = out["quantiles_ci95"][key]
        assert lo <= out["quantiles"][key] <= hi
        assert [lo, hi] == list(quantile_interval(np.sort(x), q))
    assert out["min"] == x.min()
    assert out["max"] == x.max()
    assert_plain_json(out)


def test_summarize_distribution_single_sample() -> None:
    out = summarize_distribution(np.array([2.5]))
    assert out["n"] == 1
    assert out["mean"] == 2.5
    assert math.isnan(out["sd"])
    assert math.isnan(out["se"])
    assert out["quantiles"] == dict.fromkeys(KEYS, 2.5)


# --- summarize_time_to_event -------------------------------------------------------------


@pytest.fixture
def timeline() -> Timeline:
    return Timeline(dt.date(2025, 1, 1), dt.date(2027, 6, 30))


def test_summarize_time_to_event(timeline: Timeline) -> None:
    days = ["2025-03-01", "2025-12-31", "2026-05-05", "2026-07-01", "2027-02-01"]
    t = np.array([timeline.years(dt.date.fromisoformat(d)) for d in days] + [np.inf] * 5)
    t = np.random.default_rng(3).permutation(t)
    out = summarize_time_to_event(t, timeline)

    assert out["kind"] == "time_to_event"
    assert out["n"] == 10
    assert out["p_by"] == {"2025-12-31": 0.2, "2026-12-31": 0.4, "2027-06-30": 0.5}
    assert_allclose(
        list(out["p_by_se"].values()), [math.sqrt(p * (1 - p) / 10) for p in (0.2, 0.4, 0.5)]
    )
    assert out["p_by_ci95"] == {
        "2025-12-31": list(wilson_interval(2, 10)),
        "2026-12-31": list(wilson_interval(4, 10)),
        "2027-06-30": list(wilson_interval(5, 10)),
    }
    # n = 10: quantile q is x_(ceil(10 q)) -> x_1, x_3, x_5, x_8 (= inf), x_10 (= inf)
    assert out["quantiles"] == {
        "0.05": "2025-03-01",
        "0.25": "2026-05-05",
        "0.5": "2027-02-01",
        "0.75": None,
        "0.95": None,
    }
    # the median's interval is (x_(2), x_(9)), see test_quantile_interval_textbook_median
    assert out["quantiles_ci95"]["0.5"] == ["2025-12-31", None]
    assert out["p_ever"] == 0.5
    assert out["p_ever"] == out["p_by"][timeline.horizon.isoformat()]
    assert_plain_json(out)


def test_summarize_time_to_event_never(timeline: Timeline) -> None:
    out = summarize_time_to_event(np.full(20, np.inf), timeline)
    assert set(out["p_by"].values()) == {0.0}
    assert set(out["p_by_se"].values()) == {0.0}
    assert out["quantiles"] == dict.fromkeys(KEYS)
    assert out["quantiles_ci95"] == {key: [None, None] for key in KEYS}
    assert out["p_ever"] == 0.0
    assert_plain_json(out)


def test_summarize_time_to_event_rejects_nan(timeline: Timeline) -> None:
    with pytest.raises(ValueError, match=r"^t must hold event times >= 0 or \+inf"):
        summarize_time_to_event(np.array([0.5, np.nan]), timeline)
