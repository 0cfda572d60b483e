"""What every engine shares: random streams, parameter draws, outcome post-processing.

Random streams
--------------
All randomness derives from the run's ``seed`` through :class:`numpy.random.SeedSequence`;
global RNG state is never touched.

* **Parameters** — each parameter ``name`` has its own PCG64 stream, keyed by
  ``SeedSequence(seed, spawn_key=(0, crc32(name)))``. Replication ``i`` takes the ``i``-th
  64-bit word of that stream, turned into a uniform in (0, 1) and then into a draw by the
  distribution's inverse CDF. The stream is advanced, not replayed, so drawing replications
  ``[a, b)`` costs ``b - a`` words whatever ``a`` is, and replication ``i`` gets the same
  parameter values in every batch, on every worker, in every engine, and in every scenario
  that declares a parameter of the same name (common random numbers).
* **Dynamics** (event times, durations, series noise) — engine-specific. The reference
  engine gives replication ``i`` its own generator keyed by
  ``SeedSequence(seed, spawn_key=(1, i))``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from steppe.errors import SimulationError
from steppe.model.deps import state_reads
from steppe.model.scenario import CompiledModel, OutcomeModel, Scenario

__all__ = [
    "MAX_CHANGES",
    "Fixed",
    "Namespace",
    "Slot",
    "combine_outcomes",
    "draw_parameters",
    "pace_reads",
    "parameter_uniforms",
    "race_reads",
    "race_slots",
    "replication_rng",
    "too_many_changes",
    "where",
]

#: Parameter values fixed for a run, by parameter index (see :func:`draw_parameters`).
Fixed = Mapping[int, float]

_PARAM_STREAM = 0
_REPLICATION_STREAM = 1


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


def pace_reads(scenario: Scenario) -> list[set[tuple[str, int]]]:
    """What each project's pace reads, its running state (stage, completed, cancelled)
    included (see :func:`race_reads`)."""
    sym = scenario.symbols
    return [
        set(state_reads(p.pace, sym)) | {("done", p.index), ("c", p.index), ("g", p.index)}
        for p in scenario.projects
    ]


def parameter_uniforms(seed: int, name: str, start: int, n: int) -> np.ndarray:
    """Uniforms in (0, 1) for parameter ``name``, replications ``start .. start + n - 1``."""
    ss = np.random.SeedSequence(seed, spawn_key=(_PARAM_STREAM, zlib.crc32(name.encode())))
    bg = np.random.PCG64(ss)
    if start:
        bg.advance(start)
    words = bg.random_raw(n)
    return (np.asarray(words >> np.uint64(11), dtype=np.float64) + 0.5) * 2.0**-53


def replication_rng(seed: int, index: int) -> np.random.Generator:
    """The dynamics generator of replication ``index`` in the reference engine."""
    ss = np.random.SeedSequence(seed, spawn_key=(_REPLICATION_STREAM, index))
    return np.random.Generator(np.random.PCG64(ss))


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

    Raises
    ------
    SimulationError
        If a derived parameter evaluates to NaN or an infinite value.
    """
    # One row per parameter (contiguous while it is filled); returned transposed.
    out = np.empty((len(scenario.params), n), dtype=np.float64)
    for p in scenario.params:
        if fixed is not None and p.index in fixed:
            out[p.index] = fixed[p.index]
        elif p.dist is not None:
            out[p.index] = p.dist.ppf(parameter_uniforms(seed, p.name, start, n))
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
