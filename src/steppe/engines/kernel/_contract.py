"""What the compiled kernel and its Python side agree on: failure codes and fixed arguments
(and the arrays of an evidence plan, :class:`EvidenceArgs`).

The generated code, the loop (``loop.py.in``) and the decoder of errors
(:func:`steppe.engines.kernel._error`) all use :class:`Failure`; the loop receives the
per-scenario arrays as one :class:`KernelArgs` (a named tuple, which Numba passes as a
structure), not as two dozen positional arguments.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np

__all__ = ["EvidenceArgs", "Failure", "KernelArgs"]


class Failure(IntEnum):
    """Why a replication stopped (``run_chunk`` returns it; 0 means success).

    The kernel records with it the site (``err_i[1]``: a race slot, project, duration
    code, series, event or outcome, as each member says), the replication, an extra index
    (``err_i[3]``) and the offending value and time (``err_f``).
    """

    HAZARD = 1  #: site: race slot
    PACE = 2  #: site: project
    DURATION = 3  #: site: duration code (an event index, or a stage's code)
    DRIFT = 4  #: site: series
    VOLATILITY = 5  #: site: series
    SERIES_OVERFLOW = 6  #: site: series (at a tick)
    JUMP = 7  #: site: event; extra: series
    JUMP_OVERFLOW = 8  #: site: event; extra: series
    OUTCOME = 9  #: site: outcome
    INITIAL = 10  #: site: series
    TOO_MANY_CHANGES = 11  #: no site
    REVERSION = 12  #: site: series; extra: 0 its level, 1 its half-life


class KernelArgs(NamedTuple):
    """The fixed arguments of a scenario's kernel (built once per scenario).

    Attributes
    ----------
    stops
        Ticks, observation dates and the horizon, in time order (model years).
    stop_tick, stop_group
        Whether each stop is a tick; the observation group read there (``-1``: none).
    hist, g0, done0
        Initial event counts; projects' completed stages and completed flags.
    slot_event, slot_index
        Each race slot's event (``-1`` for a cancellation) and event or project index.
    slot_recurring
        Whether each slot can fire again (a recurring event).
    clock_source
        The stream row of each slot's clock.
    nstages, stage_base, has_duration
        Projects' stage counts and first duration codes; events with a duration.
    series_log, series_floor, noise_row
        Per series: log process, floor (NaN: none), row of its normals (``-1``: none).
    dt
        The step between ticks (years).
    time_to_idx
        The ``time_to`` outcomes to close at the horizon.
    """

    stops: np.ndarray
    stop_tick: np.ndarray
    stop_group: np.ndarray
    hist: np.ndarray
    g0: np.ndarray
    done0: np.ndarray
    slot_event: np.ndarray
    slot_index: np.ndarray
    slot_recurring: np.ndarray
    clock_source: np.ndarray
    nstages: np.ndarray
    stage_base: np.ndarray
    has_duration: np.ndarray
    series_log: np.ndarray
    series_floor: np.ndarray
    noise_row: np.ndarray
    dt: float
    time_to_idx: np.ndarray


class EvidenceArgs(NamedTuple):
    """An evidence plan (:class:`steppe.evidence.plan.EvidencePlan`) as the evidence kernel
    reads it: arrays only, so one compiled kernel serves every plan.

    Attributes
    ----------
    win_slot, win_lo, win_hi
        Per window (in the plan's order): its event's race slot, its start and end.
    win_t0, win_nt, times
        Its fixed occurrences: ``times[win_t0 : win_t0 + win_nt]``.
    win_draws, win_dlo, win_dhi, win_row, win_logprop
        Its drawn occurrences: how many, their range, the row of their stream in the
        stream array, and the log of 1 / their proposal density.
    chk_series, chk_lo, chk_hi
        Per series check: the series and the period (``lo == hi``: a level).
    chk_lognormal, chk_logv, chk_sigma, chk_const
        Lognormal error: ``log y_obs``, ``sigma`` and ``log(sigma y_obs sqrt(2 pi))``.
    chk_has_min, chk_min, chk_has_max, chk_max
        Else bounds (each may be absent).
    stg_project, stg_stage, stg_at, stg_reached
        Per stage check.
    checkpoints
        The plan's checkpoints.
    late_time, late_kind, late_arg
        What happens after everything else at an instant, in order: a checkpoint
        (``late_kind`` 0, ``late_arg`` its index) or a switch to generation ``late_arg``
        (``late_kind`` 1).
    has_jumps
        Per event: whether it has jumps (an occurrence then books the open integrals).
    queue
        Room for the windows' scheduled actions of one replication.
    """

    win_slot: np.ndarray
    win_lo: np.ndarray
    win_hi: np.ndarray
    win_t0: np.ndarray
    win_nt: np.ndarray
    times: np.ndarray
    win_draws: np.ndarray
    win_dlo: np.ndarray
    win_dhi: np.ndarray
    win_row: np.ndarray
    win_logprop: np.ndarray
    chk_series: np.ndarray
    chk_lo: np.ndarray
    chk_hi: np.ndarray
    chk_lognormal: np.ndarray
    chk_logv: np.ndarray
    chk_sigma: np.ndarray
    chk_const: np.ndarray
    chk_has_min: np.ndarray
    chk_min: np.ndarray
    chk_has_max: np.ndarray
    chk_max: np.ndarray
    stg_project: np.ndarray
    stg_stage: np.ndarray
    stg_at: np.ndarray
    stg_reached: np.ndarray
    checkpoints: np.ndarray
    late_time: np.ndarray
    late_kind: np.ndarray
    late_arg: np.ndarray
    has_jumps: np.ndarray
    queue: int
