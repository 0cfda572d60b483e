"""The reference engine: one SimPy environment per replication.

It implements ``docs/engine.md`` literally, as SimPy processes:

* a **clock** process steps the series on the grid of ticks and records the outcomes that
  are read at a date;
* a **race** process runs the competing risks: after every state change it evaluates every
  hazard, draws the waiting time to the next occurrence from their total, and waits for it
  or for the next state change, whichever comes first (redrawing is exact because waiting
  times of constant hazards are memoryless);
* one process per **duration** (an occurrence that stays active for a while) and one per
  **project** (stages of work progressing at a ``pace``).

Every change of state triggers the shared ``changed`` event, which wakes the race and the
projects, and re-checks the ``time_to`` conditions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from steppe.engines.common import (
    Namespace,
    combine_outcomes,
    draw_parameters,
    replication_rng,
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
) -> np.ndarray:
    """Run replications ``[start, start + n)`` and return their outcome samples.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, len(scenario.outcomes))``. Probability outcomes are 0/1, values are
        numbers, times to event are model years (``inf`` when not reached by the horizon).
    """
    params = draw_parameters(scenario, seed, start, n)
    compiled = scenario.compiled("scalar")
    out = np.empty((n, len(scenario.outcomes)), dtype=np.float64)
    for k in range(n):
        rep = _Replication(scenario, compiled, params[k].tolist(), seed, start + k)
        out[k] = rep.run()
        if progress is not None:
            progress(1)
    combine_outcomes(scenario, out)
    return out


class _Replication:
    """The state and processes of one replication."""

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
        self.result = [math.nan] * len(sc.outcomes)
        self.pending_time_to = [o.index for o in sc.outcomes if o.form == "time_to"]
        self.changed = self.env.event()

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

    def state_changed(self) -> None:
        """Wake everyone waiting on a state change, and check ``time_to`` conditions."""
        ev, self.changed = self.changed, self.env.event()
        ev.succeed()
        self.check_time_to()

    def check_time_to(self) -> None:
        if not self.pending_time_to:
            return
        still = []
        for i in self.pending_time_to:
            if self.cm.outcomes[i](self.ns):
                self.result[i] = self.env.now
            else:
                still.append(i)
        self.pending_time_to = still

    def draw_duration(self, dist: Any, fn: Any, path: tuple[str | int, ...]) -> float:
        value = float(dist.ppf(np.array([self.rng.random()]))[0]) if dist else float(fn(self.ns))
        return self.nonneg(value, path, "a duration")

    # -- the replication -----------------------------------------------------------------

    def run(self) -> list[float]:
        sc, ns = self.sc, self.ns
        for s in sc.series:
            value = float(self.cm.initial[s.index](ns))
            if not math.isfinite(value) or (s.process == "log" and value <= 0):
                raise self.fail(
                    ("series", s.name, "initial"),
                    "the initial value (must be finite, and > 0 for a log series)",
                    value,
                )
            ns.s[s.index] = value
        self.check_time_to()
        clock = self.env.process(self.clock())
        self.env.process(self.race())
        for p in sc.projects:
            if not ns.done[p.index]:
                self.env.process(self.project(p.index))
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
                self.state_changed()
            for i in observe.get(when, ()):
                o = sc.outcomes[i]
                value = float(self.cm.outcomes[i](ns))
                if math.isnan(value):
                    raise self.fail(("outcomes", o.name), "the outcome", value)
                self.result[i] = (1.0 if value else 0.0) if o.kind == "probability" else value

    def step_series(self, when: float) -> None:
        sc, ns, cm = self.sc, self.ns, self.cm
        dt = sc.step
        root = math.sqrt(dt)
        updates = []
        for s in sc.series:
            mu = float(cm.drift[s.index](ns))
            if not math.isfinite(mu):
                raise self.fail(("series", s.name, "drift"), "the drift", mu)
            sigma = self.nonneg(
                float(cm.volatility[s.index](ns)), ("series", s.name, "volatility"), "the volatility"
            )
            z = float(self.rng.standard_normal()) if sigma > 0 else 0.0
            updates.append(mu * dt + sigma * root * z)
        for s, inc in zip(sc.series, updates, strict=True):
            if s.process == "log":
                ns.s[s.index] *= math.exp(inc)
            else:
                ns.s[s.index] += inc
                if s.floor is not None:
                    ns.s[s.index] = max(ns.s[s.index], s.floor)
        ns.t = when

    def race(self) -> Proc:
        sc, ns, cm, rng = self.sc, self.ns, self.cm, self.rng
        events = sc.events
        while True:
            rates: list[float] = []
            who: list[tuple[str, int]] = []
            for e in events:
                fn = cm.hazards[e.index]
                if fn is None or (not e.recurring and ns.n[e.index] > 0):
                    continue
                h = self.nonneg(float(fn(ns)), ("events", e.name, "hazard"), "the hazard")
                if h > 0:
                    rates.append(h)
                    who.append(("event", e.index))
            for p in sc.projects:
                if ns.done[p.index] or ns.c[p.index]:
                    continue
                h = self.nonneg(
                    float(cm.cancel[p.index](ns)),
                    ("projects", p.name, "cancel_hazard"),
                    "the cancellation hazard",
                )
                if h > 0:
                    rates.append(h)
                    who.append(("cancel", p.index))
            total = math.fsum(rates)
            changed = self.changed
            if total <= 0:
                yield changed
                continue
            timer = self.env.timeout(rng.exponential(1.0 / total))
            fired = yield timer | changed
            if changed in fired:
                continue  # state changed first: redraw (exact, by memorylessness)
            u = rng.random() * total
            acc, pick = 0.0, len(rates) - 1
            for j, r in enumerate(rates):
                acc += r
                if u < acc:
                    pick = j
                    break
            kind, index = who[pick]
            if kind == "event":
                self.occur(index)
            else:
                ns.c[index] = 1.0
                self.state_changed()

    def occur(self, index: int) -> None:
        """Event ``index`` happens now: jumps, count, duration, then one state change."""
        sc, ns, cm = self.sc, self.ns, self.cm
        e = sc.events[index]
        amounts = [(si, mult, float(fn(ns))) for si, mult, fn in cm.jumps[index]]
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
        ns.n[index] += 1.0
        if e.duration is not None:
            d = self.draw_duration(
                e.duration.dist, cm.event_durations.get(index), ("events", e.name, "duration")
            )
            ns.a[index] += 1.0
            self.env.process(self.window(index, d))
        self.state_changed()

    def window(self, index: int, duration: float) -> Proc:
        yield self.env.timeout(duration)
        self.ns.a[index] -= 1.0
        self.state_changed()

    def project(self, k: int) -> Proc:
        sc, ns, cm = self.sc, self.ns, self.cm
        p = sc.projects[k]
        for stage in range(p.completed_stages, len(p.stage_names)):
            d = p.durations[stage]
            work = self.draw_duration(
                d.dist, cm.stage_durations.get((k, stage)), ("projects", p.name, "stages", stage)
            )
            while work > 0:
                if ns.c[k]:
                    return
                pace = self.nonneg(float(cm.pace[k](ns)), ("projects", p.name, "pace"), "the pace")
                changed = self.changed
                if pace == 0:
                    yield changed
                    continue
                began = self.env.now
                timer = self.env.timeout(work / pace)
                fired = yield timer | changed
                if timer in fired:
                    work = 0.0
                else:
                    work -= pace * (self.env.now - began)
            if ns.c[k]:
                return
            ns.g[k] = float(stage + 1)
            if stage + 1 == len(p.stage_names):
                ns.done[k] = 1.0
            self.state_changed()
