"""Summary statistics of Monte Carlo samples: proportions, quantiles and their intervals.

Every function here is pure: it takes 1-D arrays of per-replication samples and returns plain
Python numbers (``float``, ``int``, ``str``, ``None``, ``list``, ``dict``) that serialise to
JSON as they are. The three ``summarize_*`` functions produce the per-outcome blocks of
``summary.json``; their key names are part of the result-folder format.

Samples must not contain NaN. Rejecting it (with an error naming the outcome) is the caller's
job; only :func:`summarize_time_to_event` checks its input here.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import stats

from steppe.model.timeline import Timeline

__all__ = [
    "QUANTILE_LEVELS",
    "Z95",
    "as_sample",
    "distribution_body",
    "event_times",
    "interval_ranks",
    "level_key",
    "order_rank",
    "quantile",
    "quantile_interval",
    "read_at",
    "summarize_distribution",
    "summarize_probability",
    "summarize_time_to_event",
    "time_to_event_body",
    "wilson_interval",
    "wilson_score_interval",
]

QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
"""The quantile levels every summary reports, keyed in JSON as ``"0.05"``, ``"0.25"``, ..."""

Z95 = float(stats.norm.ppf(0.975))  # 1.959963984540054
"""The two-sided 95% standard normal quantile, ``Phi^-1(0.975)``."""
_REL_TOL = 1e-12  # absorbs binary rounding in q * n, e.g. 0.07 * 100 == 7.000000000000001
_T = TypeVar("_T")


def level_key(q: float) -> str:
    """The JSON key of quantile level ``q``: ``0.05 -> "0.05"``, ``0.5 -> "0.5"``."""
    return f"{q:g}"


def as_sample(x: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """``x`` as a 1-D float64 array of at least one value; ``ValueError`` naming ``name`` if not."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array (got shape {arr.shape})")
    if arr.size < 1:
        raise ValueError(f"{name} must hold at least one sample (got an empty array)")
    return arr


def _check_level(q: float, *, open_interval: bool) -> None:
    ok = 0.0 < q < 1.0 if open_interval else 0.0 <= q <= 1.0
    if not ok:
        allowed = "0 < q < 1" if open_interval else "0 <= q <= 1"
        raise ValueError(f"q must satisfy {allowed} (got {q!r})")


def order_rank(q: float, n: int) -> int:
    """1-based rank ``ceil(q * n)`` of the inverted-cdf ``q``-quantile among ``n``, at least 1."""
    return min(n, max(1, math.ceil(q * n * (1.0 - _REL_TOL))))


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes
        Number of successes, ``0 <= successes <= n``.
    n
        Number of trials, ``n >= 1``.
    confidence
        Two-sided confidence level, ``0 < confidence < 1``.

    Returns
    -------
    tuple of float
        ``(lower, upper)`` within ``[0, 1]``. At ``successes == 0`` the lower bound is exactly
        0 and at ``successes == n`` the upper bound is exactly 1; the other bound stays proper.

    References
    ----------
    .. [1] E. B. Wilson, "Probable inference, the law of succession, and statistical
       inference", J. Amer. Statist. Assoc. 22 (1927), 209-212.
    .. [2] A. Agresti and B. A. Coull, "Approximate is better than 'exact' for interval
       estimation of binomial proportions", Amer. Statist. 52 (1998), 119-126.
    """
    k, n = operator.index(successes), operator.index(n)
    if n < 1:
        raise ValueError(f"n must be >= 1 (got {n})")
    if not 0 <= k <= n:
        raise ValueError(f"successes must satisfy 0 <= successes <= n = {n} (got {k})")
    return wilson_score_interval(k / n, n, confidence=confidence)


def wilson_score_interval(p: float, n: float, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for an estimated proportion ``p`` at a (possibly real) size ``n``.

    :func:`wilson_interval` with ``p = successes / n``; a real ``n`` is an effective sample
    size, e.g. ``p (1 - p) / se**2`` for a proportion estimated from a weighted sample.

    Parameters
    ----------
    p
        Estimated proportion, ``0 <= p <= 1``.
    n
        (Effective) number of trials, ``n > 0``.
    confidence
        Two-sided confidence level, ``0 < confidence < 1``.

    Returns
    -------
    tuple of float
        ``(lower, upper)`` within ``[0, 1]``; the lower bound is exactly 0 at ``p == 0`` and
        the upper bound exactly 1 at ``p == 1``.

    References
    ----------
    .. [1] E. L. Korn and B. I. Graubard, "Confidence intervals for proportions with small
       expected number of positive counts estimated from survey data", Survey Methodology 24
       (1998), 193-201 (intervals at an effective sample size).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must satisfy 0 <= p <= 1 (got {p!r})")
    if not n > 0.0:
        raise ValueError(f"n must be > 0 (got {n!r})")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must satisfy 0 < confidence < 1 (got {confidence!r})")
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    lower = 0.0 if p == 0.0 else max(0.0, centre - half)
    upper = 1.0 if p == 1.0 else min(1.0, centre + half)
    return lower, upper


def quantile(x: npt.ArrayLike, q: float) -> float:
    """Sample quantile by the inverted-cdf definition.

    The result is the order statistic ``x_(k)`` with ``k = ceil(q * n)`` (1-based, at least 1)
    of the sorted sample: the smallest sample value ``v`` with ``#{x_i <= v} >= q * n``. It is
    always a sample value, so ``+inf`` samples (events that never happened) are handled: the
    quantile is ``inf`` when more than ``(1 - q) * n`` samples are ``inf``. This is NumPy's
    ``method="inverted_cdf"`` except that ``q * n`` is taken with a tolerance of 1e-12
    (relative) so that, e.g., ``q = 0.07, n = 100`` gives ``x_(7)``, not ``x_(8)``.

    Parameters
    ----------
    x
        1-D sample, not necessarily sorted, without NaN.
    q
        Level, ``0 <= q <= 1``.

    Returns
    -------
    float

    References
    ----------
    .. [1] R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages", Amer. Statist.
       50 (1996), 361-365 (definition 1).
    """
    arr = as_sample(x, "x")
    _check_level(q, open_interval=False)
    k = order_rank(q, arr.size) - 1
    return float(np.partition(arr, k)[k])


def quantile_interval(
    x_sorted: npt.ArrayLike, q: float, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Distribution-free confidence interval for the ``q``-quantile from order statistics.

    With ``n`` samples, the number ``K`` of samples at or below the true quantile is
    ``Binomial(n, q)``. With ``alpha = 1 - confidence`` the interval is ``(x_(l), x_(u))``
    (1-based order statistics) with::

        l = binom.ppf(alpha / 2, n, q)
        u = binom.ppf(1 - alpha / 2, n, q) + 1

    both clipped to ``[1, n]``. For a continuous distribution its coverage is
    ``F(u - 1) - F(l - 1)`` (``F`` the Binomial(n, q) cdf), which is at least ``confidence``
    whenever no clipping happens, so the interval is conservative. When ``n`` is too small
    for the level (``l`` would be 0 or ``u`` would be ``n + 1``) the clipped end is the sample
    extreme and the nominal coverage is not attained on that side.

    Parameters
    ----------
    x_sorted
        1-D sample sorted in ascending order, without NaN; ``+inf`` values are allowed.
    q
        Level, ``0 < q < 1``.
    confidence
        Two-sided confidence level, ``0 < confidence < 1``.

    Returns
    -------
    tuple of float
        ``(x_(l), x_(u))``.

    References
    ----------
    .. [1] W. J. Conover, *Practical Nonparametric Statistics*, 3rd ed., Wiley, 1999,
       section 3.2 (confidence interval for a quantile).
    .. [2] G. J. Hahn and W. Q. Meeker, *Statistical Intervals*, Wiley, 1991, chapter 5.
    """
    arr = as_sample(x_sorted, "x_sorted")
    _check_level(q, open_interval=True)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must satisfy 0 < confidence < 1 (got {confidence!r})")
    if not bool(np.all(arr[1:] >= arr[:-1])):
        raise ValueError("x_sorted must be sorted in ascending order and hold no NaN")
    lo, hi = interval_ranks(arr.size, q, confidence=confidence)
    return float(arr[lo - 1]), float(arr[hi - 1])


@functools.lru_cache(maxsize=256)
def interval_ranks(n: int, q: float, *, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` of the order statistics bounding the ``q``-quantile.

    See :func:`quantile_interval` for the rule; shared with the streaming summaries.
    Cached: a run asks for the same few ``(n, q)`` once per outcome, and each costs two
    Binomial ``ppf`` searches.
    """
    alpha = 1.0 - confidence
    lo = int(stats.binom.ppf(alpha / 2.0, n, q))
    hi = int(stats.binom.ppf(1.0 - alpha / 2.0, n, q)) + 1
    return min(max(lo, 1), n), min(max(hi, 1), n)


def _proportion(successes: int, n: int) -> tuple[float, float, list[float]]:
    p = successes / n
    lo, hi = wilson_interval(successes, n)
    return p, math.sqrt(p * (1.0 - p) / n), [lo, hi]


def _quantile_table(
    arr: npt.NDArray[np.float64], show: Callable[[float], _T]
) -> tuple[dict[str, _T], dict[str, list[_T]]]:
    """Quantiles and their 95% intervals at :data:`QUANTILE_LEVELS` of a sample (any order).

    Only the order statistics needed are put in place (one ``np.partition``, linear time),
    not the whole sample sorted: the same values as from the sorted sample.
    """
    n = int(arr.size)
    ranks = {q: (order_rank(q, n), *interval_ranks(n, q)) for q in QUANTILE_LEVELS}
    kth = sorted({r - 1 for rs in ranks.values() for r in rs})
    part = np.partition(arr, kth)
    values = {level_key(q): show(float(part[k - 1])) for q, (k, _, _) in ranks.items()}
    intervals = {
        level_key(q): [show(float(part[lo - 1])), show(float(part[hi - 1]))]
        for q, (_, lo, hi) in ranks.items()
    }
    return values, intervals


def summarize_probability(x: npt.ArrayLike) -> dict[str, Any]:
    """Summarise 0/1 indicator samples of a probability outcome.

    Parameters
    ----------
    x
        1-D array of 0.0/1.0 indicators, one per replication.

    Returns
    -------
    dict
        ``{"kind": "probability", "p", "se", "ci95": [lo, hi], "n"}`` where ``se`` is the
        binomial standard error ``sqrt(p (1 - p) / n)`` (0 when ``p`` is 0 or 1) and ``ci95``
        the 95% Wilson interval (see :func:`wilson_interval`).
    """
    arr = as_sample(x, "x")
    if not bool(np.all((arr == 0.0) | (arr == 1.0))):
        raise ValueError("x must hold only 0.0/1.0 indicators")
    n = int(arr.size)
    p, se, ci = _proportion(int(np.count_nonzero(arr)), n)
    return {"kind": "probability", "p": p, "se": se, "ci95": ci, "n": n}


def summarize_distribution(x: npt.ArrayLike) -> dict[str, Any]:
    """Summarise real-valued samples of a distribution outcome.

    Parameters
    ----------
    x
        1-D array of finite values, one per replication.

    Returns
    -------
    dict
        ``{"kind": "distribution", "mean", "sd", "se", "ci95", "quantiles", "quantiles_ci95",
        "min", "max", "n"}``: ``sd`` with ``ddof=1``, ``se = sd / sqrt(n)``, ``ci95`` the
        normal interval ``mean +- 1.96 se`` of the mean; ``quantiles`` maps each of
        :data:`QUANTILE_LEVELS` (as ``"0.05"``, ...) to :func:`quantile` and
        ``quantiles_ci95`` to :func:`quantile_interval` as ``[lo, hi]``. With ``n == 1``,
        ``sd``, ``se`` and ``ci95`` are NaN (the result writer stores them as ``null``).
    """
    arr = as_sample(x, "x")
    n = int(arr.size)
    mean = float(np.mean(arr))
    sd = float(np.std(arr, ddof=1)) if n > 1 else math.nan
    se = sd / math.sqrt(n)
    table = _quantile_table(arr, float)
    return distribution_body(mean, sd, se, table, float(np.min(arr)), float(np.max(arr)), n)


def distribution_body(
    mean: float,
    sd: float,
    se: float,
    table: tuple[dict[str, float], dict[str, list[float]]],
    lo: float,
    hi: float,
    n: int,
) -> dict[str, Any]:
    """The keys of :func:`summarize_distribution` from its numbers (``table``: the
    quantiles and their intervals; ``lo``, ``hi``: the least and largest value), with
    ``ci95`` the normal interval of the mean. Shared by the weighted summary."""
    quantiles, quantiles_ci = table
    return {
        "kind": "distribution",
        "mean": mean,
        "sd": sd,
        "se": se,
        "ci95": [mean - Z95 * se, mean + Z95 * se],
        "quantiles": quantiles,
        "quantiles_ci95": quantiles_ci,
        "min": lo,
        "max": hi,
        "n": n,
    }


def summarize_time_to_event(t: npt.ArrayLike, timeline: Timeline) -> dict[str, Any]:
    """Summarise time-to-event samples as cumulative probabilities and dated quantiles.

    Parameters
    ----------
    t
        1-D array, one value per replication: the model time (years since start, ``>= 0``)
        at which the event first happened, or ``+inf`` if it had not happened by the horizon.
    timeline
        The scenario's timeline, used for the reporting dates and to show times as dates.

    Returns
    -------
    dict
        ``{"kind": "time_to_event", "n", "p_by", "p_by_se", "p_by_ci95", "quantiles",
        "quantiles_ci95", "p_ever"}``. ``p_by`` maps the ISO date of each of
        ``timeline.year_ends()`` to ``P(T <= timeline.years(date))`` (the date taken as the
        instant it begins), with its binomial standard error in ``p_by_se`` and its Wilson
        95% interval in ``p_by_ci95``. ``quantiles`` maps each of :data:`QUANTILE_LEVELS` to
        the ISO date on which the inverted-cdf quantile of ``T`` falls, or ``None`` when that
        quantile is ``+inf`` (the event had not happened by the horizon in that share of
        runs); ``quantiles_ci95`` holds :func:`quantile_interval` ends the same way.
        ``p_ever`` is ``P(T < inf)``.

    Raises
    ------
    ValueError
        If ``t`` is empty, not 1-D, or holds NaN or negative values.
    """
    arr = event_times(t)
    n = int(arr.size)
    return time_to_event_body(
        timeline,
        n,
        lambda t_by: _proportion(int(np.count_nonzero(arr <= t_by)), n),
        lambda as_date: _quantile_table(arr, as_date),
        int(np.count_nonzero(np.isfinite(arr))) / n,
    )


def event_times(t: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``t`` as a sample of event times (:func:`as_sample`); ``ValueError`` if any is NaN
    or negative."""
    arr = as_sample(t, "t")
    if bool(np.any(np.isnan(arr))) or bool(np.any(arr < 0.0)):
        raise ValueError("t must hold event times >= 0 or +inf (found NaN or a negative value)")
    return arr


#: A quantile table (values and intervals) of event times, each shown by the function given.
_DateTable = Callable[
    [Callable[[float], str | None]], tuple[dict[str, str | None], dict[str, list[str | None]]]
]


def time_to_event_body(
    timeline: Timeline,
    n: int,
    proportion: Callable[[float], tuple[float, float, list[float]]],
    table: _DateTable,
    p_ever: float,
) -> dict[str, Any]:
    """The keys of :func:`summarize_time_to_event` for ``n`` replications: ``proportion(t)``
    gives ``P(T <= t)``, its standard error and 95% interval; ``table(show)`` the quantiles
    and their intervals shown as dates (``None`` for ``+inf``). Shared by the weighted
    summary."""

    def as_date(v: float) -> str | None:
        return timeline.date(v).isoformat() if math.isfinite(v) else None

    p_by: dict[str, float] = {}
    p_by_se: dict[str, float] = {}
    p_by_ci: dict[str, list[float]] = {}
    for day in timeline.year_ends():
        key = day.isoformat()
        p_by[key], p_by_se[key], p_by_ci[key] = proportion(timeline.years(day))
    quantiles, quantiles_ci = table(as_date)
    return {
        "kind": "time_to_event",
        "n": n,
        "p_by": p_by,
        "p_by_se": p_by_se,
        "p_by_ci95": p_by_ci,
        "quantiles": quantiles,
        "quantiles_ci95": quantiles_ci,
        "p_ever": p_ever,
    }


def read_at(block: dict[str, Any], horizon: str) -> str:
    """When an outcome of ``summary.json`` is read, as reports show it: its ``date`` (the
    horizon for a time to event), or a total's period ``FIRST to LAST``."""
    period = block.get("period")
    if period:
        return f"{period[0]} to {period[1]}"
    return str(block.get("date") or horizon)
