"""Summaries of a weighted Monte Carlo sample: the outcomes of a run conditioned on evidence.

A conditioned run returns, beside each replication's outcomes, its log-weight ``logw``
(self-normalised importance sampling, possibly after resampling; ``-inf`` for a replication
the evidence rules out). The ``summarize_weighted_*`` functions return the same keys as
:func:`~steppe.results.stats.summarize_probability`,
:func:`~steppe.results.stats.summarize_distribution` and
:func:`~steppe.results.stats.summarize_time_to_event`, plus ``"ess"`` (Kish's effective
sample size), so that reports and ``steppe compare`` read them unchanged. With all weights
equal they give the unweighted summaries (to rounding).

With normalised weights ``v_i = w_i / sum(w)``:

- estimates are self-normalised: ``mu = sum v_i x_i``;
- Monte Carlo standard errors are the delta-method errors of a ratio estimator,
  ``se^2 = sum v_i^2 (x_i - mu)^2`` for a proportion, divided by ``1 - sum v_i^2`` for a
  mean (the small-sample factor that makes it ``s / sqrt(n)`` when the weights are equal);
- a proportion's 95% interval is Wilson's at the effective size ``n* = p (1 - p) / se^2``
  (at most ``n``; Kish's size when ``p`` is 0 or 1);
- a quantile is the inverse of the weighted empirical cdf, and its interval inverts the
  binomial interval of the cdf at the quantile's effective size (Woodruff's method).

:func:`pareto_khat` is the Pareto-smoothed importance sampling diagnostic as ArviZ computes it,
and :func:`weight_diagnostic` turns it and the effective sample size into a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from steppe.errors import SimulationError
from steppe.model.timeline import Timeline
from steppe.results.stats import (
    QUANTILE_LEVELS,
    as_sample,
    distribution_body,
    event_times,
    interval_ranks,
    level_key,
    time_to_event_body,
    wilson_score_interval,
)

__all__ = [
    "MIN_ESS",
    "khat_threshold",
    "kish_ess",
    "normalized_weights",
    "pareto_khat",
    "summarize_weighted_distribution",
    "summarize_weighted_probability",
    "summarize_weighted_time_to_event",
    "weight_diagnostic",
]

MIN_ESS = 100
"""Fewest effective replications :func:`weight_diagnostic` calls reliable."""

_REL_TOL = 1e-12  # as in stats.order_rank: q * total is taken 1e-12 (relative) low
_MAX_SIZE = 10**15  # scipy's binomial ppf refuses sizes near 1e18; a quantile's n* stops here
_T = TypeVar("_T")
_Array = npt.NDArray[np.float64]


def _log_weights(logw: npt.ArrayLike, n: int | None = None) -> _Array:
    lw = as_sample(logw, "logw")
    if n is not None and lw.size != n:
        raise ValueError(f"logw must hold one log-weight per sample: {n} (got {lw.size})")
    if bool(np.any(np.isnan(lw))) or bool(np.any(lw == np.inf)):
        raise ValueError("logw must hold finite log-weights or -inf (found NaN or +inf)")
    return lw


def _weights(lw: _Array) -> _Array:
    """``exp(logw - max logw)``: the largest weight is exactly 1, equal weights are all 1."""
    top = float(np.max(lw))
    if top == -math.inf:
        raise SimulationError(
            f"all {lw.size} weights are zero (every log-weight is -inf): "
            "the evidence rules out every replication"
        )
    return np.exp(lw - top)


def normalized_weights(logw: npt.ArrayLike) -> _Array:
    """Weights ``exp(logw)`` scaled to sum to 1, computed stably (the largest is subtracted).

    Raises
    ------
    ValueError
        If ``logw`` is empty, not 1-D, or holds NaN or ``+inf``.
    SimulationError
        If every log-weight is ``-inf``.
    """
    w = _weights(_log_weights(logw))
    return w / np.sum(w)


def kish_ess(logw: npt.ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of the weights ``exp(logw)``.

    ``n`` when the weights are equal, 1 when one weight carries everything.

    References
    ----------
    .. [1] L. Kish, *Survey Sampling*, Wiley, 1965, section 11.7.
    """
    w = _weights(_log_weights(logw))
    return float(np.sum(w) ** 2 / np.dot(w, w))


def _spread(p: float, in2: float, out2: float, total: float, ess: float) -> tuple[float, float]:
    """Delta-method variance of a weighted share ``p`` and its effective size ``n*``.

    ``in2`` and ``out2`` are the sums of squared weights in and out of the share, ``total``
    the sum of the weights; ``n* = p (1 - p) / var``, or Kish's ``ess`` if ``p`` is 0 or 1.
    """
    var = ((1.0 - p) ** 2 * in2 + p * p * out2) / (total * total)
    return var, p * (1.0 - p) / var if 0.0 < p < 1.0 and var > 0.0 else ess


def _proportion(
    hit: npt.NDArray[np.bool_], w: _Array, ess: float
) -> tuple[float, float, list[float]]:
    """Weighted proportion of ``hit``, its delta-method error and Wilson interval at ``n*``."""
    total = float(np.sum(w))
    p = min(1.0, float(np.sum(w[hit])) / total)
    w2 = w * w
    var, n_eff = _spread(p, float(np.sum(w2[hit])), float(np.sum(w2[~hit])), total, ess)
    lo, hi = wilson_score_interval(p, n_eff)
    return p, math.sqrt(var), [lo, hi]


def _quantile_table(
    x: _Array, w: _Array, ess: float, show: Callable[[float], _T]
) -> tuple[dict[str, _T], dict[str, list[_T]]]:
    """Weighted quantiles at :data:`QUANTILE_LEVELS` and their Woodruff 95% intervals."""
    n = int(x.size)
    order = np.argsort(x)  # ties may come in any order: same values
    xs = x[order]
    cw = np.cumsum(w[order])
    cw2 = np.cumsum(w[order] ** 2)
    total, total2 = float(cw[-1]), float(cw2[-1])

    def invert(level: float) -> int:
        """Index (in ``xs``) of the smallest value whose weighted cdf reaches ``level``."""
        i = int(np.searchsorted(cw, level * total * (1.0 - _REL_TOL), side="left"))
        return min(i, n - 1)

    values: dict[str, _T] = {}
    intervals: dict[str, list[_T]] = {}
    for q in QUANTILE_LEVELS:
        i = invert(q)
        j = int(np.searchsorted(xs, xs[i], side="right")) - 1  # the cdf at xs[i] counts its ties
        _, n_eff = _spread(float(cw[j]) / total, float(cw2[j]), total2 - cw2[j], total, ess)
        m = min(_MAX_SIZE, max(1, round(n_eff)))
        lo, hi = interval_ranks(m, q)
        values[level_key(q)] = show(float(xs[i]))
        intervals[level_key(q)] = [show(float(xs[invert(lo / m)])), show(float(xs[invert(hi / m)]))]
    return values, intervals


def summarize_weighted_probability(x: npt.ArrayLike, logw: npt.ArrayLike) -> dict[str, Any]:
    """Summarise weighted 0/1 indicator samples of a probability outcome.

    Parameters
    ----------
    x
        1-D array of 0.0/1.0 indicators, one per replication.
    logw
        The replications' log-weights (``-inf`` for a replication the evidence rules out).

    Returns
    -------
    dict
        ``{"kind": "probability", "p", "se", "ci95": [lo, hi], "n", "ess"}``: ``p`` the
        self-normalised estimate ``sum v_i x_i``, ``se = sqrt(sum v_i^2 (x_i - p)^2)``,
        ``ci95`` the Wilson interval at the effective size ``p (1 - p) / se^2`` (capped at
        ``n``; Kish's ``ess`` when ``p`` is 0 or 1), ``n`` the number of replications.

    References
    ----------
    .. [1] A. B. Owen, *Monte Carlo Theory, Methods and Examples*, 2013, section 9.2
       (self-normalised importance sampling and its delta-method variance).
    .. [2] E. L. Korn and B. I. Graubard, Survey Methodology 24 (1998), 193-201.
    """
    arr = as_sample(x, "x")
    if not bool(np.all((arr == 0.0) | (arr == 1.0))):
        raise ValueError("x must hold only 0.0/1.0 indicators")
    lw = _log_weights(logw, arr.size)
    w = _weights(lw)
    ess = float(np.sum(w) ** 2 / np.dot(w, w))
    p, se, ci = _proportion(arr == 1.0, w, ess)
    return {"kind": "probability", "p": p, "se": se, "ci95": ci, "n": int(arr.size), "ess": ess}


def summarize_weighted_distribution(x: npt.ArrayLike, logw: npt.ArrayLike) -> dict[str, Any]:
    """Summarise weighted real-valued samples of a distribution outcome.

    Parameters
    ----------
    x
        1-D array of finite values, one per replication.
    logw
        The replications' log-weights (``-inf`` for a replication the evidence rules out).

    Returns
    -------
    dict
        The keys of :func:`~steppe.results.stats.summarize_distribution` plus ``"ess"``:
        ``mean = sum v_i x_i``; ``sd^2 = sum w_i (x_i - mean)^2 / (W - sum w_i^2 / W)`` with
        ``W = sum w_i`` (the unbiased variance for reliability weights); ``se^2 = sum v_i^2
        (x_i - mean)^2 / (1 - sum v_i^2)`` and ``ci95 = mean +- 1.96 se``; quantiles invert
        the weighted cdf, their intervals by Woodruff's method; ``min``/``max`` over the
        replications of positive weight. ``sd``, ``se`` and ``ci95`` are NaN when a single
        replication carries all the weight.

    References
    ----------
    .. [1] R. S. Woodruff, "Confidence intervals for medians and other position measures",
       J. Amer. Statist. Assoc. 47 (1952), 635-646.
    .. [2] A. B. Owen, *Monte Carlo Theory, Methods and Examples*, 2013, section 9.2.
    """
    arr = as_sample(x, "x")
    if bool(np.any(np.isnan(arr))):
        raise ValueError("x must hold no NaN")
    w = _weights(_log_weights(logw, arr.size))
    total, total2 = float(np.sum(w)), float(np.dot(w, w))
    ess = total * total / total2
    mean = float(np.sum(w * arr)) / total
    dev2 = (arr - mean) ** 2
    denominator = total - total2 / total
    sd = se = math.nan
    if denominator > 0.0:
        sd = math.sqrt(float(np.sum(w * dev2)) / denominator)
        se = math.sqrt(float(np.sum(w * w * dev2)) / (total * total - total2))
    table = _quantile_table(arr, w, ess, float)
    support = arr[w > 0.0]
    lo, hi = float(np.min(support)), float(np.max(support))
    return {**distribution_body(mean, sd, se, table, lo, hi, int(arr.size)), "ess": ess}


def summarize_weighted_time_to_event(
    t: npt.ArrayLike, logw: npt.ArrayLike, timeline: Timeline
) -> dict[str, Any]:
    """Summarise weighted time-to-event samples as cumulative probabilities and dated quantiles.

    Parameters
    ----------
    t
        1-D array of event times (years since start, ``>= 0``), ``+inf`` if not by the horizon.
    logw
        The replications' log-weights (``-inf`` for a replication the evidence rules out).
    timeline
        The scenario's timeline: reporting dates, and times shown as dates.

    Returns
    -------
    dict
        The keys of :func:`~steppe.results.stats.summarize_time_to_event` plus ``"ess"``;
        each ``p_by`` is a weighted proportion as in :func:`summarize_weighted_probability`,
        each quantile a weighted quantile as in :func:`summarize_weighted_distribution`.
    """
    arr = event_times(t)
    w = _weights(_log_weights(logw, arr.size))
    total = float(np.sum(w))
    ess = total * total / float(np.dot(w, w))
    body = time_to_event_body(
        timeline,
        int(arr.size),
        lambda t_by: _proportion(arr <= t_by, w, ess),
        lambda as_date: _quantile_table(arr, w, ess, as_date),
        float(np.sum(w[np.isfinite(arr)])) / total,
    )
    return {**body, "ess": ess}


def _tail_length(s: int) -> int:
    """PSIS tail length ``M = ceil(min(S / 5, 3 sqrt(S)))`` (ArviZ's ``psislw``, ``reff = 1``)."""
    return math.ceil(min(s / 5.0, 3.0 * math.sqrt(s)))


def _tail(lw: _Array) -> _Array | None:
    """The tail excesses ``w - w_cutoff`` above the ``(M+1)``-th largest weight, sorted.

    ``None`` when fewer than 5 weights exceed the cutoff (too few replications, or the
    largest weights are tied), where ArviZ gives up (``k = inf``).
    """
    m = _tail_length(lw.size)
    if m <= 4:
        return None
    x = lw - np.max(lw)
    x = np.sort(np.partition(x, x.size - m - 1)[x.size - m - 1 :])  # the M + 1 largest
    cutoff = max(float(x[-m - 1]), math.log(float(np.finfo(float).tiny)))
    tail = x[x > cutoff]
    if tail.size <= 4:
        return None
    return np.exp(tail) - math.exp(cutoff)


def _gpdfit(ary: _Array) -> float:
    """Shape of a generalized Pareto fit to sorted excesses, line by line ArviZ's ``_gpdfit``.

    Zhang and Stephens' (2009) empirical Bayes estimate, with ArviZ's prior on ``b``
    (``prior_bs = 3``) and weakly informative prior on ``k`` (``prior_k = 10``, towards 0.5).
    """
    prior_bs, prior_k = 3, 10
    n = len(ary)
    m_est = 30 + int(n**0.5)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        b_ary = 1 - np.sqrt(m_est / (np.arange(1, m_est + 1, dtype=float) - 0.5))
        b_ary /= prior_bs * ary[int(n / 4 + 0.5) - 1]
        b_ary += 1 / ary[-1]
        k_ary = np.log1p(-b_ary[:, None] * ary).mean(axis=1)
        len_scale = n * (np.log(-(b_ary / k_ary)) - k_ary - 1)
        weights = 1 / np.exp(len_scale - len_scale[:, None]).sum(axis=1)
        real = weights >= 10 * np.finfo(float).eps
        if not np.all(real):
            weights, b_ary = weights[real], b_ary[real]
        weights /= weights.sum()
        b_post = np.sum(b_ary * weights)
        k_post = np.log1p(-b_post * ary).mean()
    return float((n * k_post + prior_k * 0.5) / (n + prior_k))


def pareto_khat(logw: npt.ArrayLike) -> float:
    """Pareto k-hat of the importance weights ``exp(logw)``, as ArviZ's ``psislw`` computes it.

    The ``M = ceil(min(S / 5, 3 sqrt(S)))`` largest of ``S`` weights, less the next largest
    (the cutoff, at least the smallest normal float), are fitted by a generalized Pareto
    distribution (Zhang and Stephens' estimate, with a weakly informative prior pulling the
    shape towards 0.5 with the weight of 10 observations). ``k`` below 0.5 means a finite
    variance of the weights; above 0.7 (fewer replications: see :func:`khat_threshold`) the
    estimates are unreliable. ``inf`` when fewer than 5 weights exceed the cutoff (as ArviZ).

    References
    ----------
    .. [1] A. Vehtari, D. Simpson, A. Gelman, Y. Yao and J. Gabry, "Pareto smoothed
       importance sampling", J. Mach. Learn. Res. 25(72) (2024), 1-58.
    .. [2] J. Zhang and M. A. Stephens, "A new and efficient estimation method for the
       generalized Pareto distribution", Technometrics 51 (2009), 316-325.
    .. [3] ArviZ, ``arviz.stats.stats.psislw`` and ``_gpdfit`` (version 0.20).
    """
    lw = _log_weights(logw)
    _weights(lw)  # all -inf: SimulationError
    tail = _tail(lw)
    return math.inf if tail is None else _gpdfit(tail)


def khat_threshold(s: int) -> float:
    """Largest reliable k-hat for ``S`` replications: ``min(1 - 1 / log10(S), 0.7)``.

    ``-inf`` for ``S = 1`` (no k-hat is small enough). Vehtari et al. (2024), section 3.2.
    """
    if s < 1:
        raise ValueError(f"S must be >= 1 (got {s})")
    return -math.inf if s == 1 else min(1.0 - 1.0 / math.log10(s), 0.7)


def weight_diagnostic(logw: npt.ArrayLike, *, ess: float | None = None) -> dict[str, Any]:
    """Whether a weighted sample supports its estimates, with a sentence for analysts.

    ``ess``, if given, replaces Kish's effective sample size of ``logw`` when it is smaller:
    after a sequential sampler has resampled, equal weights hide duplicated particles, and
    the effective size at the resampling is the honest one.

    Returns
    -------
    dict
        ``{"ess", "ess_share", "khat", "khat_threshold", "reliable", "message"}``: Kish's
        effective sample size and its share of the ``n`` replications; :func:`pareto_khat`,
        or ``None`` when it cannot be fitted (fewer than 5 weights above the tail cutoff:
        with at least 25 replications this means the largest weights are tied, a bounded
        tail); :func:`khat_threshold` of ``n``; ``reliable`` is ``khat <= khat_threshold``
        (or ``khat`` is ``None`` and ``n >= 25``) and ``ess >= MIN_ESS``.
    """
    lw = _log_weights(logw)
    n = int(lw.size)
    ess = kish_ess(lw) if ess is None else min(ess, kish_ess(lw))
    threshold = khat_threshold(n)
    tail = _tail(lw)
    khat = None if tail is None else _gpdfit(tail)
    if khat is not None and not math.isfinite(khat):
        khat = None  # the fit failed: judge the weights unreliable
        light = False
    else:
        light = _tail_length(n) > 4 if khat is None else khat <= threshold
    fitted = khat is not None
    reliable = light and ess >= MIN_ESS
    rest = f"the estimates rest on about {ess:,.0f} effective replications of {n:,}"
    if fitted and not light:
        message = (
            f"The evidence is surprising for this number of replications: {rest} "
            f"(k̂ = {khat:.2f} > {threshold:.2f}); run with more replications."
        )
    elif not light:
        message = f"The weights cannot be judged: {rest}; run with more replications."
    elif not reliable:
        message = (
            f"Too few effective replications: {rest} (fewer than {MIN_ESS}); "
            "run with more replications."
        )
    elif fitted:
        message = f"Reliable: {rest} (k̂ = {khat:.2f} <= {threshold:.2f})."
    else:
        message = f"Reliable: {rest} (the largest weights are equal: no heavy tail)."
    return {
        "ess": ess,
        "ess_share": ess / n,
        "khat": khat,
        "khat_threshold": threshold if math.isfinite(threshold) else None,
        "reliable": bool(reliable),
        "message": message,
    }
