"""Estimates and intervals of differences between scenarios, paired or independent.

Used by :mod:`steppe.analysis.compare` (see there for when each interval applies).

References
----------
.. [1] R. G. Newcombe, "Interval estimation for the difference between independent
   proportions: comparison of eleven methods", Statistics in Medicine 17 (1998), 873-890
   (method 10, the hybrid score interval built from two Wilson intervals).
.. [2] A. M. Law, *Simulation Modeling and Analysis*, 5th ed., McGraw-Hill, 2015,
   section 11.2 (common random numbers; the paired-t interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from steppe.results.stats import Z95

__all__ = ["Difference", "Estimate", "estimate", "independent", "indicator", "paired", "se_of"]


@dataclass(frozen=True)
class Estimate:
    """One scenario's estimate of an outcome's statistic, with its 95% interval."""

    value: float
    ci95: tuple[float, float]
    median_date: str | None = None  # time-to-event outcomes only ("never" -> None)


@dataclass(frozen=True)
class Difference:
    """``scenario - first``: the estimate, its standard error and 95% interval."""

    value: float
    se: float
    ci95: tuple[float, float]
    paired: bool

    @property
    def beyond_noise(self) -> bool:
        """Whether the 95% interval excludes 0."""
        return self.ci95[0] > 0 or self.ci95[1] < 0


def estimate(o: dict[str, Any], horizon: str) -> Estimate:
    """The compared statistic of one outcome summary, with its 95% interval."""
    if o["kind"] == "probability":
        return Estimate(o["p"], (o["ci95"][0], o["ci95"][1]))
    if o["kind"] == "distribution":
        return Estimate(o["mean"], (o["ci95"][0], o["ci95"][1]))
    lo, hi = o["p_by_ci95"][horizon]
    return Estimate(o["p_by"][horizon], (lo, hi), o["quantiles"]["0.5"])


def indicator(kind: str, x: np.ndarray) -> np.ndarray:
    """The per-replication variable whose mean is the compared statistic."""
    return np.isfinite(x).astype(np.float64) if kind == "time_to_event" else x


def paired(a: np.ndarray, b: np.ndarray) -> Difference:
    """``mean(b - a)`` with the paired-t normal 95% interval ``mean +- 1.96 sd(b - a)/sqrt(n)``.

    ``a[i]`` and ``b[i]`` must come from the same replication ``i`` (common random numbers).
    """
    d = b - a
    n = d.size
    mean = float(np.mean(d))
    se = float(np.std(d, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    return Difference(mean, se, (mean - Z95 * se, mean + Z95 * se), paired=True)


def independent(kind: str, ea: Estimate, eb: Estimate, se_a: float, se_b: float) -> Difference:
    """``eb - ea`` for independent runs.

    Means (``kind == "distribution"``): normal interval with ``sqrt(se_a^2 + se_b^2)``.
    Proportions: Newcombe's hybrid score interval from the two Wilson intervals.
    """
    d = eb.value - ea.value
    se = math.hypot(se_a, se_b)
    if kind == "distribution":
        return Difference(d, se, (d - Z95 * se, d + Z95 * se), paired=False)
    # Newcombe's hybrid score interval from the two Wilson intervals.
    (la, ua), (lb, ub) = ea.ci95, eb.ci95
    lo = d - math.hypot(eb.value - lb, ua - ea.value)
    hi = d + math.hypot(ub - eb.value, ea.value - la)
    return Difference(d, se, (lo, hi), paired=False)


def se_of(o: dict[str, Any], horizon: str) -> float:
    """The Monte Carlo standard error of an outcome summary's compared statistic."""
    if o["kind"] == "time_to_event":
        return float(o["p_by_se"][horizon])
    return float(o["se"])
