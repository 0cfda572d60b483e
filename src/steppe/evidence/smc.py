"""Sequential importance sampling with resampling over a scenario's evidence.

Each generation of ``n`` particles is simulated from the start to the horizon
(:func:`steppe.engines.des.simulate_des_conditioned`), recording every particle's log-weight
at each checkpoint of the plan. Walking the checkpoints after the generation's own start,
the first at which the Kish effective sample size falls below ``threshold * n`` is where
the particles are resampled (systematic resampling with the uniform of
:func:`steppe.streams.resampling_uniform`): the next generation replays each ancestor's path
up to that instant, then draws its future afresh. When no checkpoint calls for it, the
generation is the result, weighted by its log-weights at the last checkpoint.

A generation is a pure function of the seed and the ancestry, so the result does not depend
on how its particles are split into chunks (``docs/engine.md`` section 10).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from steppe.engines.des import Lineages
from steppe.errors import SimulationError
from steppe.evidence.plan import EvidencePlan
from steppe.streams import resampling_uniform

__all__ = ["Conditioned", "condition"]

#: Resample when the effective sample size falls below this share of the particles.
ESS_THRESHOLD = 0.5

Simulate = Callable[[Lineages], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Conditioned:
    """The last generation of a conditioned run.

    Attributes
    ----------
    samples
        The outcome samples, one row per particle.
    logw
        Each particle's log-weight (0 for all after a resampling at the last checkpoint).
    origin
        The replication each particle descends from: its parameters are that
        replication's.
    lineages
        The resampling times and ancestors.
    ess_at_resampling
        The effective sample size that triggered each resampling.
    """

    samples: np.ndarray
    logw: np.ndarray
    origin: np.ndarray
    lineages: Lineages
    ess_at_resampling: tuple[float, ...]


def kish_ess(logw: np.ndarray) -> float:
    """``(sum w)^2 / sum w^2`` of the weights ``exp(logw)`` (0 if all are 0).

    Not :func:`steppe.results.weighted.kish_ess`: that one raises when every weight is 0
    and sums ``w^2`` with ``np.dot``, which rounds differently from ``(w * w).sum()`` in
    the last digit; this one's values decide the resamplings and are reported
    (``ess_at_resampling``), so they stay as computed here.
    """
    top = float(np.max(logw, initial=-math.inf))
    if top == -math.inf:
        return 0.0
    w = np.exp(logw - top)
    return float(w.sum() ** 2 / (w * w).sum())


def systematic(logw: np.ndarray, u: float) -> np.ndarray:
    """Ancestors of ``len(logw)`` particles by systematic resampling with uniform ``u``."""
    n = len(logw)
    w = np.exp(logw - np.max(logw))
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, (u + np.arange(n)) / n, side="right").astype(np.int64)


def condition(
    plan: EvidencePlan,
    simulate: Simulate,
    *,
    seed: int,
    n: int,
    threshold: float = ESS_THRESHOLD,
    describe: Callable[[float], str] = str,
) -> Conditioned:
    """Run the generations of particles until none needs resampling.

    Parameters
    ----------
    plan
        The evidence.
    simulate
        Simulates all ``n`` particles of the last generation of the lineages it is given;
        returns their samples and log-weights at the checkpoints.
    seed, n
        The run's seed and number of particles.
    threshold
        Resample when the effective sample size falls below ``threshold * n``.
    describe
        Names the evidence that ends at a checkpoint time, for the error raised when every
        particle has weight 0 there.

    Raises
    ------
    SimulationError
        If every particle has weight 0 at a checkpoint (the evidence has probability 0
        under the model, or is too unlikely for ``n`` particles).
    """
    times: list[float] = []
    ancestors: list[np.ndarray] = []
    ess_log: list[float] = []
    begin = 0  # the first checkpoint of the current generation
    while True:
        lineages = Lineages(tuple(times), tuple(ancestors))
        samples, logw = simulate(lineages)
        for c in range(begin, len(plan.checkpoints)):
            lw = logw[:, c]
            ess = kish_ess(lw)
            if ess == 0.0:
                when = plan.checkpoints[c]
                raise SimulationError(
                    f"no replication of {n:,} is consistent with the evidence up to "
                    f"{describe(when)}: {describe_zero(when)}"
                )
            if ess < threshold * n:
                times.append(plan.checkpoints[c])
                ancestors.append(systematic(lw, resampling_uniform(seed, len(times))))
                ess_log.append(ess)
                begin = c + 1
                break
        else:
            final = logw[:, -1] if begin < len(plan.checkpoints) else np.zeros(n)
            origin = lineages.counters(np.arange(n))[0]
            return Conditioned(samples, final.copy(), origin, lineages, tuple(ess_log))


def describe_zero(when: float) -> str:
    """Why every particle can have weight 0 (the general reasons)."""
    return (
        "the model gives the observations probability 0 (a hazard that is 0 when the event "
        "was observed, a stage that cannot have begun, a series value outside its range), "
        "or they are too unlikely for this many replications"
    )
