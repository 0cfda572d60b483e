"""What every engine shares: sources of randomness, parameter draws, outcome post-processing.

Random streams (:mod:`steppe.streams`)
--------------------------------------
* **Parameters** -- each parameter has its own stream, keyed by its name; replication ``i``
  takes word ``i`` of it, turned into a draw by the distribution's inverse CDF
  (:func:`draw_parameters`).
* **Dynamics** -- each *source* of randomness (:class:`Sources`: an event's clock, an event's
  durations, a project's cancellation clock, a project stage's duration, a series' noise)
  has its own Philox stream per replication, keyed by the seed, the source's name and the
  replication index. Every engine draws the same numbers from them in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from steppe.engines.correlate import correlated_uniforms
from steppe.errors import SimulationError
from steppe.model.deps import state_reads
from steppe.model.distributions import Choice, DistributionBase
from steppe.model.scenario import CompiledModel, OutcomeModel, Scenario
from steppe.streams import dynamics_keys, parameter_uniforms

__all__ = [
    "MAX_CHANGES",
    "REJECTION_MIN_MASS",
    "Fixed",
    "Namespace",
    "Slot",
    "Sources",
    "combine_outcomes",
    "draw_duration",
    "draw_parameters",
    "pace_reads",
    "race_reads",
    "race_slots",
    "sources",
    "too_many_changes",
    "total_outcomes",
    "where",
]

#: Parameter values fixed for a run, by parameter index (see :func:`draw_parameters`).
Fixed = Mapping[int, float]


class Namespace:
    """The state an expression reads (see :class:`steppe.model.expr.Compiled`).

    Each field holds one entry per parameter, series, event, project or outcome: Python
    floats in the reference engine, NumPy arrays (one element per replication) in
    vectorized code.
    """

    __slots__ = ("a", "c", "done", "g", "h", "n", "o", "p", "s", "t")

    def __init__(
        self,
        *,
        p: Any = None,
        s: Any = None,
        t: Any = 0.0,
        n: Any = None,
        a: Any = None,
        g: Any = None,
        done: Any = None,
        c: Any = None,
        o: Any = None,
        h: Any = None,
    ) -> None:
        self.p, self.s, self.t, self.n, self.a = p, s, t, n, a
        self.g, self.done, self.c, self.o, self.h = g, done, c, o, h


#: One competitor in the race of §3 of ``docs/engine.md``: (is it an event (else a project's
#: cancellation), event or project index, compiled intensity, does it read the clock
#: (a series or ``t``), YAML path of the expression).
Slot = tuple[bool, int, Any, bool, tuple[str | int, ...]]


def race_slots(scenario: Scenario, cm: CompiledModel) -> list[Slot]:
    """The competitors of the race: every event with a hazard, then every project."""
    slots: list[Slot] = []
    for e, h in zip(scenario.events, cm.hazards, strict=True):
        if h is not None:
            slots.append(
                (True, e.index, h.fn, cm.hazard_ticks[e.index], ("events", e.name, "hazard"))
            )
    for p in scenario.projects:
        path: tuple[str | int, ...] = ("projects", p.name, "cancel_hazard")
        slots.append((False, p.index, cm.cancel[p.index].fn, cm.cancel_ticks[p.index], path))
    return slots


def race_reads(scenario: Scenario) -> list[set[tuple[str, int]]]:
    """What each competitor of :func:`race_slots` reads (keys of
    :func:`steppe.model.deps.state_reads`), its liveness included: a one-shot event's
    count, a project's completed and cancelled flags. Engines re-evaluate an intensity
    only after a change to one of them (or at a tick, if it reads the clock)."""
    sym = scenario.symbols
    reads = [
        set(state_reads(e.hazard, sym)) | ({("n", e.index)} if not e.recurring else set())
        for e in scenario.events
        if e.hazard is not None
    ]
    reads += [
        set(state_reads(p.cancel_hazard, sym)) | {("done", p.index), ("c", p.index)}
        for p in scenario.projects
    ]
    return reads


@dataclass(frozen=True)
class Sources:
    """The sources of randomness of a scenario: each has its own stream per replication,
    keyed by its name (``docs/engine.md`` section 5), so a source's draws do not depend on
    any other part of the scenario.

    Attributes
    ----------
    names
        Every source's name: ``event:NAME:clock``, ``event:NAME:duration``,
        ``project:NAME:cancel``, ``project:NAME:stage:STAGE``, ``series:NAME:noise``.
    clock
        The source of each competitor of the race (:func:`race_slots`, in its order).
    duration
        The source of each event whose duration is a distribution, by event index.
    stage
        The source of each stage whose duration is a distribution, by (project, stage).
    noise
        The source of each series, by series index (``-1``: its volatility is the constant
        0, so it draws nothing).
    """

    names: tuple[str, ...]
    clock: tuple[int, ...]
    duration: Mapping[int, int]
    stage: Mapping[tuple[int, int], int]
    noise: tuple[int, ...]

    def keys(self, seed: int) -> np.ndarray:
        """The Philox keys of every source for ``seed``: shape ``(len(names), 2)``."""
        return dynamics_keys(seed, self.names)


def sources(scenario: Scenario) -> Sources:
    """The sources of randomness of ``scenario`` (see :class:`Sources`)."""
    names: list[str] = []

    def add(name: str) -> int:
        names.append(name)
        return len(names) - 1

    clock = [add(f"event:{e.name}:clock") for e in scenario.events if e.hazard is not None]
    clock += [add(f"project:{p.name}:cancel") for p in scenario.projects]
    duration = {
        e.index: add(f"event:{e.name}:duration")
        for e in scenario.events
        if e.duration is not None and e.duration.dist is not None
    }
    stage = {
        (p.index, j): add(f"project:{p.name}:stage:{p.stage_names[j]}")
        for p in scenario.projects
        for j, d in enumerate(p.durations)
        if d.dist is not None
    }
    cm = scenario.compiled("vector")
    noise = tuple(
        -1 if cm.volatility[s.index].ir == ("const", 0.0) else add(f"series:{s.name}:noise")
        for s in scenario.series
    )
    return Sources(tuple(names), tuple(clock), duration, stage, noise)


def pace_reads(scenario: Scenario) -> list[set[tuple[str, int]]]:
    """What each project's pace reads, its running state (stage, completed, cancelled)
    included (see :func:`race_reads`)."""
    sym = scenario.symbols
    return [
        set(state_reads(p.pace, sym)) | {("done", p.index), ("c", p.index), ("g", p.index)}
        for p in scenario.projects
    ]


#: A truncated distribution is drawn by rejection when the kept range holds at least this
#: probability mass, else by inversion (the reference engine only: the compiled engine
#: refuses such a scenario).
REJECTION_MIN_MASS = 1e-3


def draw_duration(dist: DistributionBase, gen: np.random.Generator) -> float:
    """One draw of ``dist`` from ``gen`` -- a source's generator (``docs/engine.md`` section
    5): ``loc + scale * gen.METHOD(*args)`` by the family's :meth:`sampler` recipe (NumPy's
    algorithms, which the compiled engine reproduces bit for bit); a truncated law by
    rejection (or by inversion, if the kept mass is below :data:`REJECTION_MIN_MASS`); a
    choice by one uniform (``0`` read as ``2**-54``)."""
    if isinstance(dist, Choice):
        return float(dist.sample(gen, 1)[0])
    sm = dist.sampler()
    method = getattr(gen, sm.method)
    if dist.truncate is None:
        return float(sm.loc + sm.scale * method(*sm.args))
    lo, hi = dist.truncate
    if truncated_mass(dist) < REJECTION_MIN_MASS:
        u = gen.random()
        return float(dist.ppf(np.array([u if u > 0.0 else 2.0**-54]))[0])
    while True:
        x = float(sm.loc + sm.scale * method(*sm.args))
        if lo <= x <= hi:
            return x


def truncated_mass(dist: DistributionBase) -> float:
    """The probability mass of ``dist``'s law inside its ``truncate`` range (1 if none)."""
    flo, fhi = dist.kept()
    return fhi - flo


#: A replication with more state changes than this is stopped with an error: some hazard is
#: so large that the run would effectively never end.
MAX_CHANGES = 100_000


def where(scenario: Scenario, path: tuple[str | int, ...]) -> str:
    """``FILE:LINE:COL: error: YAML.PATH`` for run-time error messages."""
    return scenario.locate(path)


def too_many_changes(scenario: Scenario, replication: int, t: float) -> SimulationError:
    """The error for a replication that exceeded :data:`MAX_CHANGES` state changes."""
    return SimulationError(
        f"{where(scenario, ('events',))}: replication {replication} made more than "
        f"{MAX_CHANGES:,} state changes by t = {t:.4f} years "
        f"({scenario.timeline.date(t).isoformat()}); is a hazard far too large?"
    )


def draw_parameters(
    scenario: Scenario, seed: int, start: int, n: int, fixed: Fixed | None = None
) -> np.ndarray:
    """Parameter values for replications ``[start, start + n)``: shape ``(n, n_params)``.

    ``fixed`` maps parameter indices to values that replace their draws (derived
    parameters are then computed from them): the same numbers as a scenario in which those
    parameters are fixed (:meth:`~steppe.model.scenario.Scenario.with_overrides`), without
    building that scenario -- sweeps run many points this way.

    Correlated parameters (``correlations:``) take their uniforms from
    :func:`~steppe.engines.correlate.correlated_uniforms` (Iman and Conover's reordering
    within fixed blocks of replications); a fixed one among them gets its fixed value while
    the others keep the very draws they have when it is not fixed.

    Raises
    ------
    SimulationError
        If a derived parameter evaluates to NaN or an infinite value.
    """
    # One row per parameter (contiguous while it is filled); returned transposed.
    out = np.empty((len(scenario.params), n), dtype=np.float64)
    corr = scenario.correlation
    rows: dict[int, np.ndarray] = {}
    if corr is not None:
        us = correlated_uniforms(corr, seed, start, n)
        rows = {index: us[j] for j, index in enumerate(corr.indices)}
    for p in scenario.params:
        if fixed is not None and p.index in fixed:
            out[p.index] = fixed[p.index]
        elif p.dist is not None:
            u = rows.get(p.index)
            if u is None:
                u = parameter_uniforms(seed, p.name, start, n)
            out[p.index] = p.dist.ppf(u)
        elif p.value is not None:
            out[p.index] = p.value
    compiled = scenario.compiled("vector")
    ns = Namespace(p=out)
    with np.errstate(all="ignore"):
        for index, fn in compiled.derived:
            out[index] = np.broadcast_to(np.asarray(fn(ns), dtype=np.float64), (n,))
    with np.errstate(all="ignore"):
        fine = bool(np.isfinite(out.sum())) or bool(np.isfinite(out).all())
    if not fine:
        row, col = np.argwhere(~np.isfinite(out.T))[0]  # the first replication with one
        p = scenario.params[col]
        raise SimulationError(
            f"{where(scenario, ('parameters', p.name))}: parameter {p.name!r} is "
            f"{out[col, row]} in replication {start + row}; parameters must be finite numbers"
        )
    return out.T


def total_outcomes(scenario: Scenario) -> list[tuple[int, int, float, float]]:
    """The ``total`` outcomes of ``scenario``: ``(outcome, series, lo, hi)`` each, the
    period ``[lo, hi]`` in model years (``docs/engine.md`` section 7)."""
    out = []
    for o in scenario.outcomes:
        if o.form == "total":
            assert o.series is not None and o.lo is not None and o.t is not None
            out.append((o.index, o.series, o.lo, o.t))
    return out


def combine_outcomes(scenario: Scenario, samples: np.ndarray) -> None:
    """Fill in ``combine`` outcomes (in place) from the other outcomes' samples.

    An outcome read by a combination means: its indicator (probability), its value
    (distribution) or whether it happened by the combination's date (time to event).
    """
    compiled = scenario.compiled("vector")
    outs = scenario.outcomes
    for index in scenario.outcome_order:
        o = outs[index]
        if o.form != "combine":
            continue
        assert o.t is not None
        cols = [_as_read_by(outs[j], samples[:, j], o.t) for j in range(len(outs))]
        with np.errstate(all="ignore"):
            value = compiled.outcomes[index](Namespace(o=cols))
        samples[:, index] = np.not_equal(np.broadcast_to(value, samples.shape[:1]), 0)


def _as_read_by(o: OutcomeModel, column: np.ndarray, t: float) -> np.ndarray:
    if o.kind == "time_to_event":
        return np.asarray(column <= t, dtype=np.float64)
    return column
