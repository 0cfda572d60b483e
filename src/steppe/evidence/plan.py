"""What an engine does with a scenario's evidence (``docs/engine.md`` section 10).

The plan is engine-neutral and made of times in model years (years since ``start``):

* a :class:`Window` holds an event's own clock off over ``[lo, hi]``: the event cannot
  happen there by its hazard, and the replication's log-weight loses the hazard's integral
  over the window (the probability that it did not happen); the window's forced
  occurrences happen at fixed times and/or at ``draws`` times drawn uniformly in
  ``[dlo, dhi]`` from the window's own stream (an importance-sampling proposal, whose
  density the weight divides out), each adding the log of the event's hazard at that
  instant (the density of an occurrence there);
* a :class:`SeriesCheck` multiplies the weight by the likelihood of a series observation,
  of its level at an instant or of its integral over a period;
* a :class:`StageCheck` keeps only the replications in which a project had (or had not)
  begun a stage by a date;
* weights are recorded at the :attr:`EvidencePlan.checkpoints`, where the driver may
  resample (:mod:`steppe.evidence.smc`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["EvidencePlan", "SeriesCheck", "StageCheck", "Window"]


@dataclass(frozen=True)
class Window:
    """Event ``event``'s clock held off over ``[lo, hi]``, with forced occurrences.

    Attributes
    ----------
    event
        The event's index.
    lo, hi
        The window, in model years (``lo <= hi``).
    times
        Occurrences at these fixed times (within the window).
    draws
        Further occurrences at this many times drawn uniformly in ``[dlo, dhi]`` (sorted),
        from the stream ``source`` of the replication.
    dlo, dhi
        The range of the drawn times.
    source
        The name of the stream of the drawn times (``evidence:N:times``).
    """

    event: int
    lo: float
    hi: float
    times: tuple[float, ...] = ()
    draws: int = 0
    dlo: float = 0.0
    dhi: float = 0.0
    source: str = ""

    @property
    def log_proposal(self) -> float:
        """``log((dhi - dlo) ** draws / draws!)``: the log of 1 / the proposal density of
        the drawn times (sorted uniforms), which the weight adds when they are drawn.

        ``-inf`` when there are draws in a range of length 0 (``dhi <= dlo``): occurrences
        at one instant have probability 0, so the weight is 0 (the loader refuses such an
        item, a count over ``between: [D, D]``, but a plan may be built by hand). Both
        engines add this same number.
        """
        if self.draws == 0:
            return 0.0
        if not self.dhi > self.dlo:
            return -math.inf
        return self.draws * math.log(self.dhi - self.dlo) - math.lgamma(self.draws + 1)


@dataclass(frozen=True)
class SeriesCheck:
    """An observation of series ``series``: its level at ``hi`` (``lo == hi``) or its
    integral over ``[lo, hi]``.

    The likelihood is lognormal (``log obs = log true + N(0, sigma^2)``) when ``sigma`` is
    given, else the indicator of ``at_least <= true <= at_most`` (either may be None).
    """

    series: int
    lo: float
    hi: float
    value: float | None = None
    sigma: float | None = None
    at_least: float | None = None
    at_most: float | None = None

    @property
    def total(self) -> bool:
        """Whether this is an integral over a period (else a level at an instant)."""
        return self.hi > self.lo

    def log_likelihood(self, true: float) -> float:
        """The log-likelihood of the observation given the series' true level or total."""
        if self.sigma is not None:
            assert self.value is not None
            if not true > 0.0:
                return -math.inf
            z = (math.log(self.value) - math.log(true)) / self.sigma
            return -0.5 * z * z - math.log(self.sigma * self.value * math.sqrt(2.0 * math.pi))
        if self.at_least is not None and not true >= self.at_least:
            return -math.inf
        if self.at_most is not None and not true <= self.at_most:
            return -math.inf
        return 0.0


@dataclass(frozen=True)
class StageCheck:
    """Project ``project`` had (``reached``) or had not begun stage ``stage`` by ``at``
    (stage ``len(stages)``: the project was complete)."""

    project: int
    stage: int
    at: float
    reached: bool


@dataclass(frozen=True)
class EvidencePlan:
    """Everything an engine does with a scenario's evidence.

    Attributes
    ----------
    windows, series, stages
        The items (see the classes). The windows are kept in chronological order (by
        start, then end; the order given otherwise), which fixes the order of what
        happens at one instant (a window that ends where the next begins closes first).
    as_of
        The time of the evidence's date, in model years: no item reaches past it.
    checkpoints
        The sorted times at which replications record their log-weight: the end of every
        item. The weight recorded at a checkpoint counts everything up to and including
        that instant.
    """

    windows: tuple[Window, ...] = ()
    series: tuple[SeriesCheck, ...] = ()
    stages: tuple[StageCheck, ...] = ()
    as_of: float = 0.0
    checkpoints: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.windows, key=lambda w: (w.lo, w.hi)))
        object.__setattr__(self, "windows", ordered)
        if not self.checkpoints:
            ends = {w.hi for w in self.windows} | {s.hi for s in self.series}
            ends |= {c.at for c in self.stages}
            object.__setattr__(self, "checkpoints", tuple(sorted(ends)))

    @property
    def sources(self) -> tuple[str, ...]:
        """The names of the streams of the windows' drawn times."""
        return tuple(w.source for w in self.windows if w.draws)

    def __bool__(self) -> bool:
        return bool(self.windows or self.series or self.stages)
