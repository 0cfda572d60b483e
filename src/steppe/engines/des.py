"""The reference engine: one SimPy environment per replication.

It implements ``docs/engine.md`` literally with SimPy's scheduler:

* a **clock** process steps the series on the grid of ticks and records the outcomes that
  are read at a date;
* the **race** of competing risks, by the modified next reaction method: each competitor
  (an event with a hazard, a project's cancellation) holds a unit-exponential threshold
  from its own stream, which its integrated hazard consumes; after every state change the
  hazards are evaluated and the earliest time at which a competitor's threshold runs out
  is scheduled as a SimPy timeout; a timeout made stale by a later change is ignored;
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
from dataclasses import dataclass
from heapq import heappush
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT, EventPriority

from steppe.engines.common import (
    MAX_CHANGES,
    Fixed,
    Namespace,
    Slot,
    Sources,
    combine_outcomes,
    draw_duration,
    draw_parameters,
    race_slots,
    sources,
    too_many_changes,
    total_outcomes,
    where,
)
from steppe.errors import SimulationError
from steppe.evidence.plan import EvidencePlan, SeriesCheck, Window
from steppe.model.scenario import CompiledModel, Scenario, SeriesModel
from steppe.streams import dynamics_keys, source_generator

__all__ = ["Lineages", "simulate_des", "simulate_des_conditioned", "window_slots"]

Proc = Generator[simpy.Event, Any, None]
#: The priority of an evidence checkpoint: after everything else at its instant (changes are
#: URGENT, the clock's stops NORMAL).
LATE: EventPriority = 2  # type: ignore[assignment]


class Lineages:
    """The particles of one generation of a run conditioned on evidence, by their ancestry.

    Generation ``g`` (``g >= 1``) was made by resampling at ``times[g - 1]``: its particle
    ``i`` continued the state of particle ``ancestors[g - 1][i]`` of generation ``g - 1``
    and draws its future from generation ``g``'s streams with counter ``i``
    (``docs/engine.md`` section 10). Generation 0's particle ``i`` is replication ``i``.

    Parameters
    ----------
    times
        The resampling times, increasing.
    ancestors
        One array of ``n`` ancestor indices per resampling.
    """

    def __init__(self, times: tuple[float, ...] = (), ancestors: tuple[np.ndarray, ...] = ()):
        if len(times) != len(ancestors):
            raise ValueError("one array of ancestors per resampling time")
        self.times, self.ancestors = times, ancestors

    def counters(self, particles: np.ndarray) -> np.ndarray:
        """Shape ``(generations, len(particles))``: row ``g`` is the counter of each
        particle's segment in generation ``g`` (row 0: the replication it descends from)."""
        rows = [np.asarray(particles, dtype=np.int64)]
        for anc in reversed(self.ancestors):
            rows.append(anc[rows[-1]])
        return np.array(rows[::-1], dtype=np.int64).reshape(len(self.ancestors) + 1, -1)


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
    src = sources(scenario)
    keys = src.keys(seed)
    out = np.empty((n, len(scenario.outcomes)), dtype=np.float64)
    for k in range(n):
        rep = _Replication(scenario, compiled, params[k].tolist(), src, keys, start + k)
        out[k] = rep.run()
        if progress is not None:
            progress(1)
    combine_outcomes(scenario, out)
    return out


def window_slots(scenario: Scenario, plan: EvidencePlan) -> list[int]:
    """The race slot (:func:`~steppe.engines.common.race_slots`) of each window's event.

    Raises
    ------
    SimulationError
        If a window's event has no hazard (nothing to hold off: an event without a hazard
        happens only when something else makes it happen).
    """
    cm = scenario.compiled("scalar")
    slot_of = {s[1]: j for j, s in enumerate(race_slots(scenario, cm)) if s[0]}
    out = []
    for w in plan.windows:
        j = slot_of.get(w.event)
        if j is None:
            name = scenario.events[w.event].name
            raise SimulationError(
                f"{where(scenario, ('events', name))}: the evidence says when event "
                f"{name!r} happened or not, but it has no hazard: the model gives it no "
                "probability of happening by itself (give it a hazard)"
            )
        out.append(j)
    return out


def simulate_des_conditioned(
    scenario: Scenario,
    plan: EvidencePlan,
    lineages: Lineages,
    *,
    seed: int,
    start: int = 0,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Run particles ``[start, start + n)`` of the last generation of ``lineages``,
    conditioned on ``plan`` (``docs/engine.md`` section 10).

    Returns
    -------
    tuple of numpy.ndarray
        The outcome samples, as :func:`simulate_des` returns them, and the log-weights,
        shape ``(n, len(plan.checkpoints))``: each particle's log-weight at each checkpoint,
        counted from the start of its last segment (the last resampling before it).
    """
    slots = window_slots(scenario, plan)
    counters = lineages.counters(np.arange(start, start + n))
    first = int(counters[0].min(initial=0))
    params = draw_parameters(scenario, seed, first, int(counters[0].max(initial=-1)) + 1 - first)
    compiled = scenario.compiled("scalar")
    src = sources(scenario)
    keys = src.keys(seed)
    ev_keys = dict(zip(plan.sources, dynamics_keys(seed, plan.sources), strict=True))
    out = np.empty((n, len(scenario.outcomes)), dtype=np.float64)
    logw = np.empty((n, len(plan.checkpoints)), dtype=np.float64)
    for k in range(n):
        segments = tuple(zip((0.0, *lineages.times), counters[:, k].tolist(), strict=True))
        i0 = int(counters[0, k])
        rep = _Replication(scenario, compiled, params[i0 - first].tolist(), src, keys, i0)
        rep.condition(plan, ev_keys, segments, slots)
        out[k] = rep.run()
        logw[k] = rep.recorded
    combine_outcomes(scenario, out)
    return out, logw


class _Environment(simpy.Environment):
    """SimPy's environment, with events scheduled at an absolute time.

    SimPy puts an event ``delay`` after now at ``now + delay``. Rounded from different
    "now"s, one intended time would land on different floating-point numbers depending on
    what happened before it (an unrelated event, say); scheduled at the time itself, a
    replication's times do not depend on the rest of the scenario and equal the compiled
    engine's. This mirrors :meth:`simpy.Environment.schedule`.
    """

    def schedule_at(self, event: simpy.Event, priority: EventPriority, when: float) -> None:
        heappush(self._queue, (when, priority, next(self._eid), event))


class _At(simpy.Event):
    """An event that happens at time ``when``: with SimPy's URGENT priority for changes
    scheduled by the model (an occurrence, the end of a duration, a stage completed), which
    at exactly the same time as a tick or an observation come before it, as
    ``docs/engine.md`` specifies; with NORMAL priority for the clock's stops."""

    def __init__(self, env: _Environment, when: float, priority: EventPriority = URGENT) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule_at(self, priority, when)


@dataclass
class _Integral:
    """The running integral of a series observed over a period, as of time ``since``."""

    check: SeriesCheck
    total: float
    since: float


def _call(fn: Callable[..., None], *args: Any) -> Callable[[simpy.Event], None]:
    """A SimPy callback calling ``fn(*args)``."""
    return lambda _ev: fn(*args)


class _Replication:
    """The state and scheduled activities of one replication."""

    def __init__(
        self,
        sc: Scenario,
        cm: CompiledModel,
        params: list[float],
        src: Sources,
        keys: np.ndarray,
        index: int,
    ) -> None:
        self.sc, self.cm, self.index = sc, cm, index
        self.src, self.keys = src, keys
        self.gens: dict[int, np.random.Generator] = {}
        self.noise: dict[int, np.ndarray] = {}
        self.tick_index = 0
        self.env = _Environment()
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
        # the totals asked for (``total`` outcomes): outcome, series, period; their sums
        # are booked up to the time `flows_since` (see book_flows)
        self.flows = total_outcomes(sc)
        self.flows_since = 0.0
        for i, *_ in self.flows:
            self.result[i] = 0.0
        self.pending_time_to = [o.index for o in sc.outcomes if o.form == "time_to"]
        # the race: one slot per event with a hazard and per project (cancellation), with
        # its current intensity, the rest of its unit-exponential threshold (NaN: not drawn
        # yet) as of the time `sync`, and the time its threshold runs out; the generation
        # number of the live timer
        self.slots: list[Slot] = race_slots(sc, cm)
        n_slots = len(self.slots)
        self.hz = [0.0] * n_slots
        self.left = [math.nan] * n_slots
        self.sync = [0.0] * n_slots
        self.fire = [math.inf] * n_slots
        self.recurring = [sc.events[s[1]].recurring if s[0] else False for s in self.slots]
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
        # conditioning on evidence (see condition): the generation and counter of the
        # streams, the log-weight since the last resampling, clocks held off
        self.generation, self.counter = 0, index
        self.plan: EvidencePlan | None = None
        self.logw = 0.0
        self.blocked = [0] * n_slots  # per slot: how many windows hold it off now
        self.recorded: list[float] = []
        self.totals: list[_Integral] = []  # the integrals of series being observed

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

    def gen(self, source: int) -> np.random.Generator:
        """The generator of ``source`` in this replication (made on first use)."""
        g = self.gens.get(source)
        if g is None:
            key = self.keys[source]
            g = self.gens[source] = source_generator(key, self.counter, self.generation)
        return g

    def draw_duration(
        self, dist: Any, fn: Any, source: int | None, path: tuple[str | int, ...]
    ) -> float:
        if dist is not None:
            assert source is not None
            value = draw_duration(dist, self.gen(source))
        else:
            value = float(fn.fn(self.ns))
        return self.nonneg(value, path, "a duration")

    def at(self, when: float, callback: Callable[[simpy.Event], None]) -> None:
        """Schedule ``callback`` at time ``when``, before the clock at equal times."""
        _At(self.env, when).callbacks.append(callback)

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
        """Evaluate the hazards; schedule the earliest time a threshold runs out.

        At a tick only the hazards that read a series or ``t`` are re-evaluated: the others
        cannot have changed. A competitor whose hazard changed books the part of its
        threshold used so far (``left -= h * (now - sync)``) and moves its time; one whose
        hazard becomes positive for the first time draws its threshold.
        """
        ns, hz, now = self.ns, self.hz, self.env.now
        changed = False
        for j, (is_event, index, fn, ticks, path) in enumerate(self.slots):
            if tick and not ticks:
                continue
            live = (
                (self.sc.events[index].recurring or ns.n[index] == 0)
                if is_event
                else self.running[index]
            )
            v = self.nonneg(float(fn(ns)), path, "the hazard") if live else 0.0
            if v != hz[j]:
                changed = True
                if self.blocked[j]:  # held off by evidence: it costs weight instead
                    self.logw -= hz[j] * (now - self.sync[j])
                    self.sync[j] = now
                    hz[j] = v
                    continue
                if hz[j] > 0.0:
                    self.left[j] -= hz[j] * (now - self.sync[j])
                self.sync[j] = now
                hz[j] = v
                if v > 0.0:
                    if self.left[j] != self.left[j]:
                        self.left[j] = float(self.gen(self.src.clock[j]).standard_exponential())
                    self.fire[j] = now + self.left[j] / v
                else:
                    self.fire[j] = math.inf
        if changed:
            self.schedule_race()

    def schedule_race(self) -> None:
        """Schedule the earliest firing (a stale timer is ignored when it fires)."""
        self.race_gen += 1
        best = min(self.fire, default=math.inf)
        if best < math.inf:
            gen = self.race_gen
            pick = self.fire.index(best)
            self.at(best, lambda _ev: self.race_fires(gen, pick))

    def race_fires(self, gen: int, pick: int) -> None:
        if gen != self.race_gen:
            return  # made stale by a later state change
        is_event, index = self.slots[pick][0], self.slots[pick][1]
        now = self.env.now
        # The threshold is used up: a recurring event draws the next one (a one-shot event
        # or a cancellation never fires again).
        self.sync[pick] = now
        if self.recurring[pick]:
            self.left[pick] = float(self.gen(self.src.clock[pick]).standard_exponential())
            self.fire[pick] = now + self.left[pick] / self.hz[pick]
        else:
            self.left[pick] = math.nan
            self.fire[pick] = math.inf
        self.schedule_race()
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
        if self.plan is not None:
            self.schedule_evidence()
        self.state_changed()
        clock = self.env.process(self.clock())
        self.env.run(until=clock)
        if self.flows:  # the rest of each period, up to the horizon
            self.book_flows()
        if self.plan is not None:
            while len(self.recorded) < len(self.plan.checkpoints):  # at the horizon itself
                self.checkpoint()
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
                yield _At(self.env, when, NORMAL)
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
        if self.totals:
            self.integrate()
        if self.flows:
            self.book_flows()
        dt = sc.step
        root = math.sqrt(dt)
        tick = self.tick_index
        self.tick_index += 1
        updates = []
        for s in sc.series:
            if cm.level[s.index] is not None:
                base, scale = self.reversion(s, dt)
            else:
                mu = float(cm.drift[s.index].fn(ns))
                if not math.isfinite(mu):
                    raise self.fail(("series", s.name, "drift"), "the drift", mu)
                base, scale = mu * dt, root
            sigma = self.nonneg(
                float(cm.volatility[s.index].fn(ns)),
                ("series", s.name, "volatility"),
                "the volatility",
            )
            inc = base
            if sigma > 0.0:
                # the series' noise: the normal of this tick, drawn whatever the volatility
                inc += sigma * (scale * float(self.series_noise(s.index)[tick]))
            updates.append(inc)
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

    def reversion(self, s: SeriesModel, dt: float) -> tuple[float, float]:
        """A mean-reverting series' step over ``dt`` (``docs/engine.md`` section 4): the
        pull toward its level, in log space for a log series, and the factor of its noise."""
        cm, ns = self.cm, self.ns
        level, half_life = cm.level[s.index], cm.half_life[s.index]
        assert level is not None and half_life is not None
        theta = float(level.fn(ns))
        if not (theta - theta == 0.0 and (theta > 0.0 or s.process == "linear")):
            what = "the level it reverts to (must be finite, and > 0 for a log series)"
            raise self.fail(("series", s.name, "reverts_to"), what, theta)
        h = float(half_life.fn(ns))
        if not (h > 0.0 and h < math.inf):
            what = "the half-life (must be finite and > 0)"
            raise self.fail(("series", s.name, "half_life"), what, h)
        x = ns.s[s.index]
        gap = math.log(theta) - math.log(x) if s.process == "log" else theta - x
        k = math.log(2.0) / h
        pull = -math.expm1(-k * dt)
        spread = math.sqrt(-math.expm1(-2.0 * k * dt) / (2.0 * k))
        return gap * pull, spread

    def book_flows(self) -> None:
        """Add to each ``total`` outcome the area of its series over the part of its period
        since the last booking: the series has held its value since then (a booking comes
        before every tick and before every occurrence with jumps, the changes of a series),
        so the sum is the exact integral of the path, booked as evidence's totals are
        (``integrate``; ``docs/engine.md`` section 7)."""
        now, since, s = self.env.now, self.flows_since, self.ns.s
        for i, series, lo, hi in self.flows:
            a = since if since > lo else lo
            b = now if now < hi else hi
            if b > a:
                self.result[i] += s[series] * (b - a)
        self.flows_since = now

    def series_noise(self, index: int) -> np.ndarray:
        """Series ``index``'s normals of every tick of this replication (drawn at once)."""
        z = self.noise.get(index)
        if z is None:
            source = self.src.noise[index]
            z = self.noise[index] = self.gen(source).standard_normal(len(self.sc.ticks))
        return z

    def occur(self, index: int) -> None:
        """Event ``index`` happens now: jumps, count, duration, then one state change."""
        sc, ns, cm = self.sc, self.ns, self.cm
        e = sc.events[index]
        amounts = [(si, mult, float(fn.fn(ns))) for si, mult, fn in cm.jumps[index]]
        if amounts and self.plan is not None and self.totals:
            self.integrate()
        if amounts and self.flows:
            self.book_flows()
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
                e.duration.dist,
                cm.event_durations.get(index),
                self.src.duration.get(index),
                ("events", e.name, "duration"),
            )
            ns.a[index] += 1.0
            self.at(self.env.now + d, lambda _ev: self.window_ends(index))
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
            self.src.stage.get((k, stage)),
            ("projects", p.name, "stages", stage, "duration"),
        )
        self.pace[k] = 0.0
        self.booked[k] = self.env.now

    def plan_project(self, k: int) -> None:
        """If the pace changed: book the work done at the old pace and reschedule the
        stage's completion."""
        now = self.env.now
        p = self.sc.projects[k]
        pace = self.nonneg(
            float(self.cm.pace[k].fn(self.ns)), ("projects", p.name, "pace"), "the pace"
        )
        if pace == self.pace[k] and self.planned[k]:
            return  # same pace: the scheduled completion stays right
        # booked only when the pace changes, so that a change elsewhere in the scenario
        # does not round the project's times differently
        self.work[k] = max(0.0, self.work[k] - self.pace[k] * (now - self.booked[k]))
        self.booked[k] = now
        self.pace[k] = pace
        self.planned[k] = True
        self.proj_gen[k] += 1
        if pace > 0:
            gen = self.proj_gen[k]
            self.at(now + self.work[k] / pace, lambda _ev: self.stage_done(k, gen))

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

    # -- evidence (docs/engine.md section 10) ------------------------------------------------

    def condition(
        self,
        plan: EvidencePlan,
        keys: dict[str, np.ndarray],
        segments: tuple[tuple[float, int], ...],
        slots: list[int],
    ) -> None:
        """Condition this replication on ``plan``; ``segments``: from each time on, the
        counter of its streams (generation ``g`` from the ``g``-th time); ``slots``: the
        race slot of each window (:func:`window_slots`)."""
        self.plan, self.ev_keys, self.segments = plan, keys, segments
        self.counter = segments[0][1]
        self.window_slot = slots

    def schedule_evidence(self) -> None:
        """Open the windows starting at 0 now (before any threshold is drawn), schedule the
        other openings, the checkpoints and the switches of generation."""
        assert self.plan is not None
        for w, j in zip(self.plan.windows, self.window_slot, strict=True):
            if w.lo <= 0.0:
                self.open_window(w, j)
            else:
                self.at(w.lo, _call(self.open_window, w, j, True))
        for when in self.plan.checkpoints:
            _At(self.env, when, LATE).callbacks.append(_call(self.checkpoint))
        for check in self.plan.series:
            if check.total:
                self.at(check.lo, _call(self.totals.append, _Integral(check, 0.0, check.lo)))
        for g, (when, counter) in enumerate(self.segments[1:], start=1):
            # after the checkpoint at the same instant (scheduled first, same priority)
            _At(self.env, when, LATE).callbacks.append(_call(self.switch, g, counter))

    def open_window(self, w: Window, j: int, later: bool = False) -> None:
        """Hold event ``w.event``'s clock (race slot ``j``) off until ``w.hi``; schedule its
        forced occurrences (drawing the random ones now) and the window's end.

        If another window holds the clock off already, the hazard's integral since the
        last booking is booked now (the windows overlap or touch)."""
        now = self.env.now
        if self.blocked[j]:
            self.logw -= self.hz[j] * (now - self.sync[j])
        elif self.hz[j] > 0.0:
            self.left[j] -= self.hz[j] * (now - self.sync[j])
        self.blocked[j] += 1
        self.left[j] = math.nan  # a fresh threshold after the window (memoryless)
        self.fire[j] = math.inf
        self.sync[j] = now
        times = list(w.times)
        if w.draws:
            key = self.ev_keys[w.source]
            gen = source_generator(key, self.counter, self.generation)
            drawn = w.dlo + (w.dhi - w.dlo) * gen.random(w.draws)
            times += np.sort(drawn).tolist()
            self.logw += w.log_proposal
        for when in sorted(times):
            self.at(when, _call(self.force, j, w.event))
        self.at(w.hi, _call(self.close_window, j))
        if later:
            self.schedule_race()

    def force(self, j: int, event: int) -> None:
        """The event of slot ``j`` happens now, as observed: the weight gains the log of
        its hazard (the density of an occurrence now)."""
        h = self.hz[j]
        self.logw += math.log(h) if h > 0.0 else -math.inf
        self.occur(event)

    def close_window(self, j: int) -> None:
        """A window of slot ``j`` ends: unless another holds it off still, the clock runs
        again with a fresh threshold."""
        now = self.env.now
        self.logw -= self.hz[j] * (now - self.sync[j])
        self.sync[j] = now
        self.blocked[j] -= 1
        if self.blocked[j]:
            return
        if self.hz[j] > 0.0:
            self.left[j] = float(self.gen(self.src.clock[j]).standard_exponential())
            self.fire[j] = now + self.left[j] / self.hz[j]
        self.schedule_race()

    def integrate(self) -> None:
        """Add the area of the series under each open integral since its last change."""
        now = self.env.now
        for acc in self.totals:
            acc.total += self.ns.s[acc.check.series] * (now - acc.since)
            acc.since = now

    def checkpoint(self) -> None:
        """Book the clocks held off, apply the checks that end now, record the weight."""
        assert self.plan is not None
        now, ns = self.env.now, self.ns
        for j, blocked in enumerate(self.blocked):
            if blocked:
                self.logw -= self.hz[j] * (now - self.sync[j])
                self.sync[j] = now
        for check in self.plan.series:
            if check.hi != now:
                continue
            if check.total:
                self.integrate()
                acc = next(a for a in self.totals if a.check is check)
                self.totals.remove(acc)
                true = acc.total
            else:
                true = ns.s[check.series]
            self.logw += check.log_likelihood(true)
        for stage in self.plan.stages:
            if stage.at == now and (ns.g[stage.project] >= stage.stage) != stage.reached:
                self.logw = -math.inf
        self.recorded.append(self.logw)

    def switch(self, generation: int, counter: int) -> None:
        """Resampled: from now on draw from ``generation``'s streams, with fresh thresholds
        (memoryless) and fresh series noise; the weight starts again from 1."""
        now = self.env.now
        self.generation, self.counter = generation, counter
        self.gens.clear()
        self.noise.clear()
        self.logw = 0.0
        for j in range(len(self.slots)):
            if self.blocked[j] or self.left[j] != self.left[j]:
                continue
            self.sync[j] = now
            self.left[j] = float(self.gen(self.src.clock[j]).standard_exponential())
            self.fire[j] = now + self.left[j] / self.hz[j] if self.hz[j] > 0.0 else math.inf
        self.schedule_race()
