"""The reference engine: one SimPy environment per replication.

It implements ``docs/engine.md`` literally with SimPy's scheduler:

* a **clock** process steps the series on the grid of ticks and records the outcomes that
  are read at a date;
* the **race** of competing risks: after every state change every hazard is evaluated; if
  any changed, the waiting time to the next occurrence is drawn afresh from their total
  (exact, because waiting times under constant hazards are memoryless) and scheduled as a
  SimPy timeout; a timeout made stale by a later change is ignored when it fires;
* **durations** (an occurrence that stays active for a while) are timeouts;
* **projects** progress through their stages at their ``pace``; after every state change the
  work done so far is booked and the completion of the current stage is rescheduled.

Every change of state — a tick, an occurrence, the end of a duration, a stage completed, a
project cancelled — calls :meth:`_Replication.state_changed`, which also re-checks the
``time_to`` conditions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy
from simpy.events import URGENT

from steppe.engines.common import (
    MAX_CHANGES,
    Fixed,
    Namespace,
    Slot,
    combine_outcomes,
    draw_parameters,
    race_slots,
    replication_rng,
    too_many_changes,
    where,
)
from steppe.errors import SimulationError
from steppe.model.scenario import CompiledModel, Scenario

__all__ = ["simulate_des"]

Proc = Generator[simpy.Event, Any, None]


def simulate_des(
    scenario: Scenario,
    *,
    seed: int,
    start: int = 0,
    n: int,
    progress: Callable[[int], None] | None = None,
    fixed: Fixed | None = None,
) -> np.ndarray:
    """Run replications ``[start, start + n)`` and return their outcome samples.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, len(scenario.outcomes))``. Probability outcomes are 0/1, values are
        numbers, times to event are model years (``inf`` when not reached by the horizon).
    """
    params = draw_parameters(scenario, seed, start, n, fixed)
    compiled = scenario.compiled("scalar")
    out = np.empty((n, len(scenario.outcomes)), dtype=np.float64)
    for k in range(n):
        rep = _Replication(scenario, compiled, params[k].tolist(), seed, start + k)
        out[k] = rep.run()
        if progress is not None:
            progress(1)
    combine_outcomes(scenario, out)
    return out


class _Soon(simpy.Event):
    """A timeout with SimPy's URGENT priority.

    Changes scheduled by the model (an occurrence, the end of a duration, a stage completed)
    that fall at exactly the same time as a tick or an observation are applied before it,
    as ``docs/engine.md`` specifies. This mirrors :class:`simpy.events.Timeout`, which
    schedules with NORMAL priority.
    """

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, URGENT, delay)


class _Replication:
    """The state and scheduled activities of one replication."""

    def __init__(
        self, sc: Scenario, cm: CompiledModel, params: list[float], seed: int, index: int
    ) -> None:
        self.sc, self.cm, self.index = sc, cm, index
        self.rng = replication_rng(seed, index)
        self.env = simpy.Environment()
        self.ns = Namespace(
            p=params,
            s=[0.0] * len(sc.series),
            t=0.0,
            n=[float(e.history_count) for e in sc.events],
            a=[0.0] * len(sc.events),
            g=[float(p.completed_stages) for p in sc.projects],
            done=[1.0 if p.completed_stages == len(p.stage_names) else 0.0 for p in sc.projects],
            c=[0.0] * len(sc.projects),
        )
        self.ns.h = [float(f(self.ns)) for f in cm.hoisted]
        self.result = [math.nan] * len(sc.outcomes)
        self.pending_time_to = [o.index for o in sc.outcomes if o.form == "time_to"]
        # the race: one slot per event with a hazard and per project (cancellation), with
        # its current intensity; the generation number of the live timer
        self.slots: list[Slot] = race_slots(sc, cm)
        self.hz = [0.0] * len(self.slots)
        self.race_planned = False
        self.race_gen = 0
        self.changes = 0
        # projects: remaining work in the current stage, pace, last booking time, generation
        n_proj = len(sc.projects)
        self.work = [0.0] * n_proj
        self.pace = [0.0] * n_proj
        self.booked = [0.0] * n_proj
        self.proj_gen = [0] * n_proj  # only ever increases: stale timers never match
        self.planned = [False] * n_proj
        self.running = [not self.ns.done[p.index] for p in sc.projects]

    # -- helpers -----------------------------------------------------------------------

    def fail(self, path: tuple[str | int, ...], what: str, value: float) -> SimulationError:
        now = self.env.now
        day = self.sc.timeline.date(now).isoformat()
        return SimulationError(
            f"{where(self.sc, path)}: {what} evaluated to {value!r} in replication "
            f"{self.index} at t = {now:.4f} years ({day})"
        )

    def nonneg(self, value: float, path: tuple[str | int, ...], what: str) -> float:
        if not value >= 0.0 or value == math.inf:
            raise self.fail(path, f"{what} (must be a finite number >= 0)", value)
        return float(value)

    def draw_duration(self, dist: Any, fn: Any, path: tuple[str | int, ...]) -> float:
        value = float(dist.sample(self.rng, 1)[0]) if dist else float(fn.fn(self.ns))
        return self.nonneg(value, path, "a duration")

    def at(self, delay: float, callback: Callable[[simpy.Event], None]) -> None:
        """Schedule ``callback`` after ``delay`` years, before the clock at equal times."""
        _Soon(self.env, delay).callbacks.append(callback)

    # -- state changes -------------------------------------------------------------------

    def state_changed(self, tick: bool = False) -> None:
        """After any change: check ``time_to``, re-plan projects, then the race.

        ``tick`` says the change was a tick: then only what reads a series or ``t`` is
        re-evaluated (nothing else can have changed).
        """
        self.changes += 1
        if self.changes > MAX_CHANGES:
            raise too_many_changes(self.sc, self.index, self.env.now)
        self.check_time_to(tick)
        pace_ticks = self.cm.pace_ticks
        for p in self.sc.projects:
            if self.running[p.index] and not (tick and not pace_ticks[p.index]):
                self.plan_project(p.index)
        self.plan_race(tick)

    def check_time_to(self, tick: bool = False) -> None:
        if not self.pending_time_to:
            return
        still = []
        ticks = self.cm.outcome_ticks
        for i in self.pending_time_to:
            if tick and not ticks[i]:
                still.append(i)
            elif self.cm.outcomes[i].fn(self.ns):
                self.result[i] = self.env.now
            else:
                still.append(i)
        self.pending_time_to = still

    def plan_race(self, tick: bool = False) -> None:
        """Evaluate the hazards; if any changed, draw the next occurrence afresh.

        At a tick only the hazards that read a series or ``t`` are re-evaluated: the others
        cannot have changed.
        """
        ns, hz = self.ns, self.hz
        old = list(hz)
        for j, (is_event, index, fn, ticks, path) in enumerate(self.slots):
            if tick and not ticks:
                continue
            live = (
                (self.sc.events[index].recurring or ns.n[index] == 0)
                if is_event
                else self.running[index]
            )
            hz[j] = self.nonneg(float(fn(ns)), path, "the hazard") if live else 0.0
        if hz == old and self.race_planned:
            return  # same hazards: the pending draw stays valid (memorylessness)
        self.race_planned = True
        self.race_gen += 1
        total = math.fsum(hz)
        if total > 0:
            gen = self.race_gen
            self.at(self.rng.exponential(1.0 / total), lambda _ev: self.race_fires(gen))

    def race_fires(self, gen: int) -> None:
        if gen != self.race_gen:
            return  # made stale by a later state change
        hz = self.hz
        u = self.rng.random() * math.fsum(hz)
        acc, pick = 0.0, -1
        for j, r in enumerate(hz):
            if r > 0:
                pick = j
                acc += r
                if u < acc:
                    break
        is_event, index = self.slots[pick][0], self.slots[pick][1]
        self.race_planned = False  # force a fresh draw after this change
        if is_event:
            self.occur(index)
        else:
            self.ns.c[index] = 1.0
            self.running[index] = False
            self.proj_gen[index] += 1
            self.state_changed()

    # -- the replication -----------------------------------------------------------------

    def run(self) -> list[float]:
        sc, ns = self.sc, self.ns
        for s in sc.series:
            value = float(self.cm.initial[s.index].fn(ns))
            if not math.isfinite(value) or (s.process == "log" and value <= 0):
                raise self.fail(
                    ("series", s.name, "initial"),
                    "the initial value (must be finite, and > 0 for a log series)",
                    value,
                )
            ns.s[s.index] = value
        for p in sc.projects:
            if self.running[p.index]:
                self.start_stage(p.index)
        self.state_changed()
        clock = self.env.process(self.clock())
        self.env.run(until=clock)
        for i in self.pending_time_to:
            self.result[i] = math.inf
        return self.result

    def clock(self) -> Proc:
        sc, ns = self.sc, self.ns
        observe: dict[float, list[int]] = {}
        for o in sc.outcomes:
            if o.form in ("probability", "value"):
                assert o.t is not None
                observe.setdefault(o.t, []).append(o.index)
        ticks = set(sc.ticks.tolist())
        schedule = sorted(ticks | set(observe) | {sc.timeline.t_horizon})
        for when in schedule:
            if when > self.env.now:
                yield self.env.timeout(when - self.env.now)
            if when in ticks:
                self.step_series(when)
                self.state_changed(tick=True)
            for i in observe.get(when, ()):
                o = sc.outcomes[i]
                value = float(self.cm.outcomes[i].fn(ns))
                if not math.isfinite(value):
                    raise self.fail(("outcomes", o.name), "the outcome (must be finite)", value)
                self.result[i] = (1.0 if value else 0.0) if o.kind == "probability" else value

    def step_series(self, when: float) -> None:
        sc, ns, cm = self.sc, self.ns, self.cm
        dt = sc.step
        root = math.sqrt(dt)
        updates = []
        for s in sc.series:
            mu = float(cm.drift[s.index].fn(ns))
            if not math.isfinite(mu):
                raise self.fail(("series", s.name, "drift"), "the drift", mu)
            sigma = self.nonneg(
                float(cm.volatility[s.index].fn(ns)),
                ("series", s.name, "volatility"),
                "the volatility",
            )
            z = float(self.rng.standard_normal()) if sigma > 0 else 0.0
            updates.append(mu * dt + sigma * root * z)
        for s, inc in zip(sc.series, updates, strict=True):
            if s.process == "log":
                ns.s[s.index] *= math.exp(inc) if inc < 709.0 else math.inf
            else:
                ns.s[s.index] += inc
                if s.floor is not None:
                    ns.s[s.index] = max(ns.s[s.index], s.floor)
            if not math.isfinite(ns.s[s.index]):
                raise self.fail(("series", s.name), "the series (overflow)", ns.s[s.index])
        ns.t = when

    def occur(self, index: int) -> None:
        """Event ``index`` happens now: jumps, count, duration, then one state change."""
        sc, ns, cm = self.sc, self.ns, self.cm
        e = sc.events[index]
        amounts = [(si, mult, float(fn.fn(ns))) for si, mult, fn in cm.jumps[index]]
        for si, mult, amount in amounts:
            s = sc.series[si]
            if not math.isfinite(amount) or (mult and amount <= 0):
                raise self.fail(
                    ("series", s.name, "jumps"),
                    f"the jump on {e.name!r} (a factor must be > 0, an amount finite)",
                    amount,
                )
            if mult:
                ns.s[si] *= amount
            else:
                ns.s[si] += amount
                if s.floor is not None:
                    ns.s[si] = max(ns.s[si], s.floor)
            if not math.isfinite(ns.s[si]):
                raise self.fail(("series", s.name), "the series (overflow)", ns.s[si])
        ns.n[index] += 1.0
        if e.duration is not None:
            d = self.draw_duration(
                e.duration.dist, cm.event_durations.get(index), ("events", e.name, "duration")
            )
            ns.a[index] += 1.0
            self.at(d, lambda _ev: self.window_ends(index))
        self.state_changed()

    def window_ends(self, index: int) -> None:
        self.ns.a[index] -= 1.0
        self.state_changed()

    # -- projects --------------------------------------------------------------------------

    def start_stage(self, k: int) -> None:
        """Draw the work of project ``k``'s current stage (its pace is set when planned)."""
        p = self.sc.projects[k]
        stage = int(self.ns.g[k])
        self.work[k] = self.draw_duration(
            p.durations[stage].dist,
            self.cm.stage_durations.get((k, stage)),
            ("projects", p.name, "stages", stage, "duration"),
        )
        self.pace[k] = 0.0
        self.booked[k] = self.env.now

    def plan_project(self, k: int) -> None:
        """Book the work done since the last change and reschedule the stage's completion."""
        now = self.env.now
        self.work[k] = max(0.0, self.work[k] - self.pace[k] * (now - self.booked[k]))
        self.booked[k] = now
        p = self.sc.projects[k]
        pace = self.nonneg(
            float(self.cm.pace[k].fn(self.ns)), ("projects", p.name, "pace"), "the pace"
        )
        if pace == self.pace[k] and self.planned[k]:
            return  # same pace: the scheduled completion stays right
        self.pace[k] = pace
        self.planned[k] = True
        self.proj_gen[k] += 1
        if pace > 0:
            gen = self.proj_gen[k]
            self.at(self.work[k] / pace, lambda _ev: self.stage_done(k, gen))

    def stage_done(self, k: int, gen: int) -> None:
        if gen != self.proj_gen[k] or not self.running[k]:
            return
        ns = self.ns
        p = self.sc.projects[k]
        self.work[k] = 0.0
        ns.g[k] += 1.0
        self.proj_gen[k] += 1
        self.planned[k] = False  # forces a fresh plan for the next stage
        if int(ns.g[k]) == len(p.stage_names):
            ns.done[k] = 1.0
            self.running[k] = False
        else:
            self.start_stage(k)
        self.state_changed()
