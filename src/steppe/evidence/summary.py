"""What a conditioned run reports: weighted outcome summaries, the evidence and its weight
diagnostic, the posterior of the parameters, and what the evidence taught (each outcome's
and parameter's prior value beside its posterior).

The prior is the same scenario run from ``start`` with the same seed and replications and
no evidence; its parameters are the draws of its replications, so a parameter's prior and
posterior are compared on the same draws (``docs/reports.md``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from steppe.engines.common import draw_parameters
from steppe.evidence.build import Built
from steppe.evidence.smc import Conditioned, systematic
from steppe.model.observations import Observation
from steppe.model.scenario import Scenario
from steppe.results.stats import summarize_distribution
from steppe.results.weighted import (
    normalized_weights,
    summarize_weighted_distribution,
    summarize_weighted_probability,
    summarize_weighted_time_to_event,
    weight_diagnostic,
)
from steppe.streams import resampling_uniform

__all__ = [
    "evidence_block",
    "headline",
    "outcome_summaries",
    "parameter_posterior",
    "resample_equal",
]


def outcome_summaries(
    sc: Scenario, samples: np.ndarray, logw: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Each outcome's weighted summary (the keys of the unweighted ones, plus ``ess``)."""
    out: dict[str, dict[str, Any]] = {}
    for o in sc.outcomes:
        col = np.ascontiguousarray(samples[:, o.index])
        if o.kind == "probability":
            out[o.name] = summarize_weighted_probability(col, logw)
        elif o.kind == "distribution":
            out[o.name] = summarize_weighted_distribution(col, logw)
        else:
            out[o.name] = summarize_weighted_time_to_event(col, logw, sc.timeline)
    return out


def headline(body: dict[str, Any]) -> tuple[str, float, float]:
    """An outcome summary's headline: what it is, its value and standard error (a
    probability's ``p``; a distribution's mean; a time to event's P(by the horizon))."""
    if body["kind"] == "probability":
        return "p", float(body["p"]), float(body["se"])
    if body["kind"] == "distribution":
        return "mean", float(body["mean"]), float(body["se"])
    last = list(body["p_by"])[-1]
    return f"P(by {last})", float(body["p_by"][last]), float(body["p_by_se"][last])


def taught(prior: dict[str, Any], posterior: dict[str, Any]) -> dict[str, Any]:
    """An outcome's prior and posterior headline, their difference and its standard error
    (the two runs' errors are independent: their streams differ from the first
    conditioned instant on)."""
    what, p0, s0 = headline(prior)
    _, p1, s1 = headline(posterior)
    se = math.hypot(s0, s1) if math.isfinite(s0) and math.isfinite(s1) else math.nan
    return {"statistic": what, "prior": p0, "prior_se": s0, "change": p1 - p0, "change_se": se}


def resample_equal(cond: Conditioned, seed: int) -> np.ndarray:
    """Indices of an equally weighted resample of the particles (systematic resampling
    with the uniform of the generation after the last): the samples and traces shown of a
    conditioned run are those of this resample."""
    if not np.any(cond.logw != cond.logw[0]):
        return np.arange(len(cond.logw))
    u = resampling_uniform(seed, len(cond.lineages.times) + 1)
    return systematic(cond.logw, u)


def parameter_posterior(
    sc: Scenario, cond: Conditioned, *, seed: int, keep: np.ndarray
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The parameters of the particles, and each drawn parameter's prior and posterior.

    Returns
    -------
    tuple
        A table of the parameters of the equally weighted resample ``keep`` (one row per
        particle), and per parameter drawn from a distribution: the posterior summary
        (weighted), the prior's (all ``n`` replications' draws), and ``shift``, the change of
        the mean in prior standard deviations.
    """
    n = len(cond.logw)
    prior = draw_parameters(sc, seed, 0, n)
    post = prior[cond.origin]
    table = pd.DataFrame(post[keep], columns=[p.name for p in sc.params])
    table.index.name = "particle"
    out: dict[str, Any] = {}
    for p in sc.params:
        if p.dist is None:
            continue
        b0 = summarize_distribution(prior[:, p.index])
        b1 = summarize_weighted_distribution(np.ascontiguousarray(post[:, p.index]), cond.logw)
        sd = b0["sd"]
        shift = (b1["mean"] - b0["mean"]) / sd if sd and math.isfinite(sd) else 0.0
        out[p.name] = {
            "prior": b0,
            "posterior": b1,
            "shift": shift,
            "density": _densities(prior[:, p.index], post[:, p.index], cond.logw),
        }
    return table, out


def _densities(prior: np.ndarray, post: np.ndarray, logw: np.ndarray) -> dict[str, list[float]]:
    """Histogram densities of a parameter's prior draws and weighted posterior draws, on
    40 common bins spanning both samples' central 99.5%, for the report's figure."""
    w = normalized_weights(logw)
    lo = min(np.quantile(prior, 0.0025), float(post[w > 0].min(initial=np.inf)))
    hi = max(np.quantile(prior, 0.9975), float(post[w > 0].max(initial=-np.inf)))
    if not hi > lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, 41)
    d0, _ = np.histogram(prior, edges, density=True)
    d1, _ = np.histogram(post, edges, weights=w, density=True)
    return {"edges": edges.tolist(), "prior": d0.tolist(), "posterior": d1.tolist()}


def evidence_block(sc: Scenario, built: Built, cond: Conditioned) -> dict[str, Any]:
    """The ``evidence`` section of ``summary.json``: as_of, the items, the resamplings and
    the weight diagnostic."""
    tl = sc.timeline
    # After a resampling, equal weights hide duplicated particles: the effective size is at
    # most what it was when the particles were resampled.
    diag = weight_diagnostic(cond.logw, ess=min(cond.ess_at_resampling, default=None))
    w = normalized_weights(cond.logw)
    return {
        "as_of": sc.spec.as_of.isoformat() if sc.spec.as_of else None,
        "items": [_item(o) for o in sorted(sc.evidence, key=lambda o: o.item)],
        "checkpoints": [tl.date(t).isoformat() for t in built.plan.checkpoints],
        "resamplings": [
            {"date": tl.date(t).isoformat(), "ess": ess}
            for t, ess in zip(cond.lineages.times, cond.ess_at_resampling, strict=True)
        ],
        "generations": len(cond.lineages.times) + 1,
        "distinct_origins": int(np.unique(cond.origin[w > 0]).size),
        **diag,
    }


def _item(o: Observation) -> dict[str, Any]:
    """An observation as JSON: its type and description, then its fields (dates in ISO
    form), its own first and ``item``, ``source`` last."""
    said = {k: v for k, v in dataclasses.asdict(o).items() if k not in ("item", "source")}
    fields = {
        k: (
            v.isoformat()
            if isinstance(v, dt.date)
            else list(map(str, v))
            if isinstance(v, tuple)
            else v
        )
        for k, v in said.items()
    }
    return {
        "type": type(o).__name__,
        "observation": o.describe(),
        **fields,
        "item": o.item,
        "source": o.source,
    }
