"""Scoring rules and their diagnostics, on plain NumPy arrays.

Every score is negatively oriented (smaller is better), as in ``scoringrules``, whose
``brier_score``, ``log_score`` and ``crps_ensemble(..., estimator="nrg")`` these functions
reproduce (the tests check them against it). They are written here in NumPy rather than
called from it: importing ``scoringrules`` compiles Numba gufuncs (4-5 s in every process,
a cost each ``steppe score`` would pay), its exact sample CRPS is O(m²) (7 s for the 10,000
rows of a conditioned run; the sorted formula below is O(m log m)), and its log score warns
at a probability of 0. So it is a test dependency only.

References
----------
Brier, G. W. (1950). Verification of forecasts expressed in terms of probability. *Monthly
Weather Review* 78(1), 1-3.
Murphy, A. H. (1973). A new vector partition of the probability score. *Journal of Applied
Meteorology* 12(4), 595-600.
Stephenson, D. B., Coelho, C. A. S. and Jolliffe, I. T. (2008). Two extra components in the
Brier score decomposition. *Weather and Forecasting* 23(4), 752-757.
Gneiting, T. and Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
estimation. *Journal of the American Statistical Association* 102(477), 359-378.
Bröcker, J. and Smith, L. A. (2007). Increasing the reliability of reliability diagrams.
*Weather and Forecasting* 22(3), 651-661.
Czado, C., Gneiting, T. and Held, L. (2009). Predictive model assessment for count data.
*Biometrics* 65(4), 1254-1261 (the randomised PIT).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "Murphy",
    "brier",
    "clip_probability",
    "consistency_band",
    "coverage",
    "crps_ensemble",
    "log_score",
    "murphy",
    "pit",
    "skill",
]

Array = npt.NDArray[np.float64]


def _arrays(p: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Array, Array]:
    pa = np.asarray(p, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if pa.shape != ya.shape:
        raise ValueError(f"forecasts and outcomes differ in shape: {pa.shape} vs {ya.shape}")
    if np.any((pa < 0) | (pa > 1)) or np.any(np.isnan(pa)):
        raise ValueError("probabilities must lie in [0, 1]")
    if np.any((ya != 0) & (ya != 1)):
        raise ValueError("binary outcomes must be 0 or 1")
    return pa, ya


def brier(p: npt.ArrayLike, y: npt.ArrayLike) -> Array:
    """The Brier score of each forecast: ``(p - y)**2`` (Brier 1950), in ``[0, 1]``."""
    pa, ya = _arrays(p, y)
    return (pa - ya) ** 2


def clip_probability(p: npt.ArrayLike, n: npt.ArrayLike) -> Array:
    """``p`` clipped to ``[1/(2n), 1 - 1/(2n)]``: a Monte Carlo estimate from ``n``
    replications cannot tell a probability below ``1/(2n)`` from 0, so a share of 0 (or 1) is
    read as that resolution rather than as certainty, and the log score stays finite."""
    pa = np.asarray(p, dtype=np.float64)
    eps = 0.5 / np.maximum(np.asarray(n, dtype=np.float64), 1.0)
    return np.clip(pa, eps, 1.0 - eps)


def log_score(p: npt.ArrayLike, y: npt.ArrayLike) -> Array:
    """The logarithmic score ``-log(p)`` if ``y`` is 1, ``-log(1 - p)`` if 0 (natural log;
    infinite for a probability of 0 given to what happened: clip first)."""
    pa, ya = _arrays(p, y)
    with np.errstate(divide="ignore"):
        return np.asarray(-np.log(np.where(ya == 1, pa, 1.0 - pa)), dtype=np.float64)


@dataclass(frozen=True)
class Murphy:
    """Murphy's decomposition of the mean Brier score, ``brier = reliability - resolution +
    uncertainty``, with the forecasts grouped by their distinct values.

    Attributes
    ----------
    brier, reliability, resolution, uncertainty
        The mean Brier score and its three terms.
    base_rate
        The observed frequency over all questions.
    bins
        One ``(forecast, count, observed frequency)`` per distinct forecast value.
    """

    brier: float
    reliability: float
    resolution: float
    uncertainty: float
    base_rate: float
    bins: tuple[tuple[float, int, float], ...]


def murphy(p: npt.ArrayLike, y: npt.ArrayLike) -> Murphy:
    """Murphy's (1973) decomposition of the mean Brier score over distinct forecast values.

    With one group per distinct forecast value ``f_k`` (``n_k`` questions, observed frequency
    ``o_k``, overall frequency ``o``)::

        reliability = sum n_k (f_k - o_k)**2 / N
        resolution  = sum n_k (o_k - o)**2 / N
        uncertainty = o (1 - o)

    and ``reliability - resolution + uncertainty`` equals the mean Brier score exactly (up to
    rounding). Grouping by bins of several forecast values would need Stephenson et al.'s
    (2008) within-bin terms for the identity to hold; distinct values need none.
    """
    pa, ya = _arrays(p, y)
    if pa.size == 0:
        raise ValueError("no forecasts to decompose")
    n = pa.size
    base = float(ya.mean())
    values, inverse, counts = np.unique(pa, return_inverse=True, return_counts=True)
    hits = np.bincount(inverse, weights=ya, minlength=values.size)
    freq = hits / counts
    rel = float(np.sum(counts * (values - freq) ** 2) / n)
    res = float(np.sum(counts * (freq - base) ** 2) / n)
    unc = base * (1.0 - base)
    bins = tuple((float(v), int(c), float(f)) for v, c, f in zip(values, counts, freq, strict=True))
    return Murphy(float(np.mean((pa - ya) ** 2)), rel, res, unc, base, bins)


def crps_ensemble(samples: npt.ArrayLike, y: float) -> float:
    """The CRPS of the empirical distribution of ``samples`` at the observation ``y``.

    ``CRPS = E|X - y| - E|X - X'| / 2`` with ``X, X'`` drawn independently from the sample
    (Gneiting & Raftery 2007, eq. 21): the CRPS of the sample's own step-function cdf, which
    is ``scoringrules.crps_ensemble(..., estimator="nrg")``. ``E|X - X'|`` is computed from
    the sorted sample in ``O(m log m)``: ``2 / m**2 * sum_i (2i - m - 1) x_(i)``.
    """
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    if x.size == 0 or not np.all(np.isfinite(x)) or not np.isfinite(y):
        raise ValueError("the CRPS needs a non-empty finite sample and a finite observation")
    m = x.size
    first = float(np.mean(np.abs(x - y)))
    i = np.arange(1, m + 1, dtype=np.float64)
    spread = float(2.0 / m**2 * np.sum((2.0 * i - m - 1.0) * x))
    return first - 0.5 * spread


def pit(samples: npt.ArrayLike, y: float, u: float) -> float:
    """The randomised probability integral transform of ``y`` under the sample's cdf:
    ``F(y-) + u (F(y) - F(y-))`` with ``u`` uniform on [0, 1] (Czado et al. 2009), so that
    ties (a count, or a value many replications share) do not pile up at one end."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    below = float(np.count_nonzero(x < y)) / x.size
    at_or_below = float(np.count_nonzero(x <= y)) / x.size
    return below + u * (at_or_below - below)


def coverage(samples: npt.ArrayLike, y: float, level: float) -> bool:
    """Whether ``y`` lies in the sample's central ``level`` interval (ends included): between
    its ``(1 - level)/2`` and ``(1 + level)/2`` quantiles (inverted cdf)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
    return bool(lo <= y <= hi)


def skill(score: float, reference: float) -> float:
    """The skill score ``1 - score / reference`` (1 perfect, 0 no better than the
    reference, negative worse); NaN when the reference scores 0."""
    return 1.0 - score / reference if reference > 0 else float("nan")


def consistency_band(forecast: float, count: int, *, level: float = 0.90) -> tuple[float, float]:
    """The band of observed frequencies a reliable forecaster would show in a bin.

    If ``count`` questions in a bin each had probability ``forecast`` of resolving true, the
    number that do is Binomial(count, forecast); the band is its central ``level`` range,
    divided by ``count`` (Bröcker & Smith 2007's consistency bars, from binomial quantiles
    rather than by resampling).
    """
    lo = stats.binom.ppf((1 - level) / 2, count, forecast) / count
    hi = stats.binom.ppf((1 + level) / 2, count, forecast) / count
    return float(lo), float(hi)
