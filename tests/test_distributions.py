"""Distributions: the ci90 rule, inversion, and fast sampling with the same law."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from steppe.model.distributions import Distribution

ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)

SPECS: list[dict[str, Any]] = [
    {"dist": "normal", "ci90": [1, 3]},
    {"dist": "normal", "mean": -2, "sd": 0.5},
    {"dist": "lognormal", "ci90": [0.1, 0.5]},
    {"dist": "lognormal", "median": 2, "sigma": 0.3},
    {"dist": "uniform", "ci90": [0, 9]},
    {"dist": "triangular", "min": 0, "mode": 1, "max": 4},
    {"dist": "pert", "min": 0, "mode": 1, "max": 4},
    {"dist": "pert", "min": 2, "mode": 2.5, "max": 9, "lambda": 2},
    {"dist": "beta", "alpha": 2, "beta": 3, "low": 1, "high": 3},
    {"dist": "gamma", "ci90": [1, 4]},
    {"dist": "weibull", "ci90": [1, 4]},
    {"dist": "exponential", "rate": 2},
    {"dist": "exponential", "mean": 3, "truncate": [0, 4]},
]


@pytest.mark.parametrize("spec", [s for s in SPECS if "ci90" in s], ids=lambda s: s["dist"])
def test_ci90_puts_lo_and_hi_at_the_5th_and_95th_percentiles(spec: dict[str, Any]) -> None:
    d = ADAPTER.validate_python(spec)
    lo, hi = spec["ci90"]
    np.testing.assert_allclose(d.ppf(np.array([0.05, 0.95])), [lo, hi], rtol=1e-9)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["dist"])
def test_fast_sampling_has_the_law_of_the_distribution(spec: dict[str, Any]) -> None:
    """``sample`` (NumPy generator methods) vs the scipy.stats law by Kolmogorov-Smirnov.

    20,000 draws with a fixed seed; the KS test rejects at p < 1e-3 / 13 (Bonferroni over
    the 13 cases), so a correct sampler fails this family with probability below 1e-3,
    while a wrong parameterisation (e.g. scale for rate) gives p ~ 0.
    """
    d = ADAPTER.validate_python(spec)
    x = d.sample(np.random.default_rng(2024), 20_000)
    frozen = d.frozen()
    if d.truncate is not None:
        lo, hi = d.truncate
        flo, fhi = frozen.cdf(lo), frozen.cdf(hi)

        def cdf(v: np.ndarray) -> np.ndarray:
            return np.asarray(np.clip((frozen.cdf(v) - flo) / (fhi - flo), 0, 1))

        assert x.min() >= lo and x.max() <= hi
    else:
        cdf = frozen.cdf
    assert stats.kstest(x, cdf).pvalue > 1e-3 / len(SPECS)


def test_choice_samples_its_values_with_their_weights() -> None:
    d = ADAPTER.validate_python({"dist": "choice", "values": [1, 2, 3], "weights": [1, 1, 2]})
    x = d.sample(np.random.default_rng(1), 40_000)
    shares = [np.mean(x == v) for v in (1, 2, 3)]
    # binomial s.e. of a share near 0.25-0.5 with n = 40,000 is <= 0.0025; allow 4 s.e.
    np.testing.assert_allclose(shares, [0.25, 0.25, 0.5], atol=4 * 0.0025)


def test_lognormal_by_median_and_sigma() -> None:
    d = ADAPTER.validate_python({"dist": "lognormal", "median": 2, "sigma": 0.3})
    np.testing.assert_allclose(d.ppf(np.array([0.5])), [2.0])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dist": "lognormal", "mu": 0, "median": 2, "sigma": 0.3}, "(found: mu, sigma, median)"),
        ({"dist": "lognormal", "sigma": 0.3}, "(found: sigma)"),
        ({"dist": "normal", "mean": 1, "sd": 1, "ci90": [0, 2]}, "(found: mean, sd, ci90)"),
    ],
)
def test_parameterisations_are_exclusive(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ADAPTER.validate_python(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "triangular", "min": 266, "mode": 784, "max": 855},
        {"dist": "triangular", "min": 0, "mode": 0, "max": 4},
        {"dist": "pert", "min": 1, "mode": 3, "max": 12},
        {"dist": "normal", "ci90": [0, 1], "truncate": [-0.2, 0.5]},
        {"dist": "lognormal", "ci90": [250, 700], "truncate": [100, 900]},
        {"dist": "exponential", "mean": 3, "truncate": [0, 4]},
    ],
    ids=lambda s: s["dist"] + (" truncated" if "truncate" in s else ""),
)
def test_inversion_is_scipys_inverse_cdf(spec: dict[str, Any]) -> None:
    """``ppf`` (closed forms where a family has one) against scipy.stats' ``ppf`` on the
    range kept by ``truncate``: the same numbers up to rounding (closed forms evaluate the
    same formula in another order; 8 units in the last place allows for that)."""
    d = ADAPTER.validate_python(spec)
    u = np.random.default_rng(7).random(20_000)
    frozen = d.frozen()
    if d.truncate is not None:
        lo, hi = d.truncate
        flo, fhi = frozen.cdf(lo), frozen.cdf(hi)
        want = np.clip(frozen.ppf(flo + u * (fhi - flo)), lo, hi)
    else:
        want = frozen.ppf(u)
    np.testing.assert_allclose(d.ppf(u), want, rtol=8 * np.finfo(float).eps, atol=0)
