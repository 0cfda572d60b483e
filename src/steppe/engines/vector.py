"""The vectorized engine: many replications at once with NumPy, same semantics as SimPy.

It implements ``docs/engine.md`` for a chunk of replications held as arrays (one element per
replication), walking the common grid of *stops* (ticks, observation dates, the horizon).
Within the interval up to the next stop each replication keeps its own clock and runs an
exact next-event loop:

* **Competing risks by a time change.** Each replication holds a unit-rate exponential
  budget ``E``. With total intensity ``Λ`` constant until the next state change, the next
  occurrence comes when ``Λ · elapsed`` exhausts ``E``: the same law as redrawing an
  exponential after every change (memorylessness), but with one random number per
  occurrence instead of one per change. Which event occurs is chosen with probability
  proportional to its intensity; a fresh ``E ~ Exp(1)`` is drawn after each occurrence.
* **Deterministic changes** — the end of a duration, a project stage completing at its
  current pace — are taken at their exact times when they come before the next occurrence
  and the next stop.
* At a stop, series are stepped (ticks) and outcomes read (observation dates).

Only replications whose state changed take part in later rounds of the loop, so the cost
of an interval is one vector pass plus small passes over the few replications with events.

Random streams: chunk ``c`` of a run uses ``SeedSequence(seed, spawn_key=(2, c))`` for its
dynamics; parameters come from the per-parameter streams shared by every engine
(:mod:`steppe.engines.common`). A chunk's result depends only on ``(seed, c, chunk size)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from steppe.engines.common import Namespace, combine_outcomes, draw_parameters, where
from steppe.errors import SimulationError
from steppe.model.scenario import CompiledModel, Scenario

__all__ = ["chunk_rng", "simulate_vector"]

_CHUNK_STREAM = 2


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The dynamics generator of chunk ``chunk``."""
    ss = np.random.SeedSequence(seed, spawn_key=(_CHUNK_STREAM, chunk))
    return np.random.Generator(np.random.PCG64(ss))


def simulate_vector(scenario: Scenario, *, seed: int, chunk: int, start: int, n: int) -> np.ndarray:
    """Run replications ``[start, start + n)`` as chunk ``chunk``; return their samples.

    The result has the layout of :func:`steppe.engines.des.simulate_des`.
    """
    params = draw_parameters(scenario, seed, start, n)
    with np.errstate(all="ignore"):
        out = _Chunk(scenario, params, chunk_rng(seed, chunk), start).run()
    combine_outcomes(scenario, out)
    return out


def _full(x: Any, m: int) -> np.ndarray:
    """``x`` as a float array of length ``m`` (expressions may return scalars)."""
    arr = np.asarray(x, dtype=np.float64)
    return arr if arr.shape == (m,) else np.broadcast_to(arr, (m,)).copy()


class _Chunk:
    """State of a chunk of replications; arrays are indexed ``[item, replication]``."""

    def __init__(
        self, sc: Scenario, params: np.ndarray, rng: np.random.Generator, start: int
    ) -> None:
        self.sc, self.rng, self.start = sc, rng, start
        self.cm: CompiledModel = sc.compiled("vector")
        r = params.shape[0]
        self.r = r
        self.params = np.ascontiguousarray(params.T)  # (n_params, r)
        ne, nproj = len(sc.events), len(sc.projects)
        self.n = np.repeat(
            np.array([[float(e.history_count)] for e in sc.events]).reshape(ne, 1), r, axis=1
        )
        self.a = np.zeros((ne, r))
        self.s = np.zeros((len(sc.series), r))
        self.g = np.repeat(
            np.array([float(p.completed_stages) for p in sc.projects]).reshape(nproj, 1), r, axis=1
        )
        self.done = np.array(
            [[1.0 if p.completed_stages == len(p.stage_names) else 0.0] for p in sc.projects]
        ).reshape(nproj, 1).repeat(r, axis=1)
        self.c = np.zeros((nproj, r))
        self.t = 0.0
        self.now = np.zeros(r)
        self.budget = rng.standard_exponential(r)
        # durations: end times per event, slots grow on demand (inf = free)
        self.ends: dict[int, np.ndarray] = {
            e.index: np.full((r, 1), np.inf) for e in sc.events if e.duration is not None
        }
        # projects: remaining work of the current stage, current pace
        self.work = np.zeros((nproj, r))
        self.pace = np.zeros((nproj, r))
        self.result = np.full((r, len(sc.outcomes)), np.nan)
        self.time_to = [o.index for o in sc.outcomes if o.form == "time_to"]
        self.hazard_events = [e for e in sc.events if self.cm.hazards[e.index] is not None]

    # -- helpers -------------------------------------------------------------------------

    def ns(self, idx: np.ndarray | None) -> Namespace:
        """A namespace over all replications (``idx is None``) or the subset ``idx``."""
        if idx is None:
            return Namespace(
                p=self.params, s=self.s, t=self.t, n=self.n, a=self.a, g=self.g,
                done=self.done, c=self.c,
            )
        return Namespace(
            p=self.params[:, idx], s=self.s[:, idx], t=self.t, n=self.n[:, idx],
            a=self.a[:, idx], g=self.g[:, idx], done=self.done[:, idx], c=self.c[:, idx],
        )

    def fail(self, path: tuple[str | int, ...], what: str, values: np.ndarray,
             idx: np.ndarray, times: np.ndarray | float) -> SimulationError:
        bad = np.flatnonzero(~(values >= 0) | np.isinf(values))[0]
        rep = int(idx[bad]) if idx is not None else int(bad)
        when = float(times[bad]) if isinstance(times, np.ndarray) else float(times)
        return SimulationError(
            f"{where(self.sc, path)}: {what} evaluated to {float(values[bad])!r} in "
            f"replication {self.start + rep} at t = {when:.4f} years "
            f"({self.sc.timeline.date(when).isoformat()})"
        )

    def nonneg(self, fn: Any, ns: Namespace, m: int, path: tuple[str | int, ...], what: str,
               idx: np.ndarray, times: np.ndarray | float) -> np.ndarray:
        v = _full(fn(ns), m)
        if not np.all((v >= 0) & np.isfinite(v)):
            raise self.fail(path, f"{what} (must be a finite number >= 0)", v, idx, times)
        return v

    def check_time_to(self, idx: np.ndarray, ns: Namespace, times: np.ndarray) -> None:
        for i in self.time_to:
            col = self.result[idx, i]
            todo = np.isnan(col)
            if not todo.any():
                continue
            hit = _full(self.cm.outcomes[i].fn(ns), len(idx)) != 0
            newly = todo & hit
            if newly.any():
                self.result[idx[newly], i] = times[newly]

    def draw_durations(self, dist: Any, fn: Any, idx: np.ndarray, path: tuple[str | int, ...],
                       times: np.ndarray) -> np.ndarray:
        m = len(idx)
        if dist is not None:
            u = self.rng.random(m)
            u = np.where(u == 0.0, 2.0**-54, u)
            d = np.asarray(dist.ppf(u), dtype=np.float64)
        else:
            d = _full(fn(Namespace(p=self.params[:, idx])), m)
        if not np.all((d >= 0) & np.isfinite(d)):
            raise self.fail(path, "a duration (must be a finite number >= 0)", d, idx, times)
        return d

    # -- the run -------------------------------------------------------------------------

    def run(self) -> np.ndarray:
        sc, r = self.sc, self.r
        everyone = np.arange(r)
        ns = self.ns(None)
        for s in sc.series:
            v = _full(self.cm.initial[s.index].fn(Namespace(p=self.params)), r)
            bad = ~np.isfinite(v) | ((v <= 0) if s.process == "log" else False)
            if bad.any():
                raise self.fail(("series", s.name, "initial"),
                                "the initial value (must be finite, and > 0 for a log series)",
                                np.where(bad, -1.0, v), everyone, 0.0)
            self.s[s.index] = v
        for p in sc.projects:
            running = np.flatnonzero(self.done[p.index] == 0)
            if running.size:
                self.start_stage(p.index, running)
        self.check_time_to(everyone, ns, self.now)

        observe: dict[float, list[int]] = {}
        for o in sc.outcomes:
            if o.form in ("probability", "value"):
                assert o.t is not None
                observe.setdefault(o.t, []).append(o.index)
        ticks = set(sc.ticks.tolist())
        stops = sorted(ticks | set(observe) | {sc.timeline.t_horizon})
        for stop in stops:
            if stop > 0:
                self.advance(stop)
            ns = self.ns(None)
            if stop in ticks:
                self.step_series(stop)
                ns = self.ns(None)
                self.check_time_to(everyone, ns, self.now)
            for i in observe.get(stop, ()):
                o = sc.outcomes[i]
                v = _full(self.cm.outcomes[i].fn(ns), r)
                if np.isnan(v).any():
                    bad = int(np.flatnonzero(np.isnan(v))[0])
                    raise SimulationError(
                        f"{where(sc, ('outcomes', o.name))}: the outcome evaluated to nan in "
                        f"replication {self.start + bad} at t = {stop:.4f} years"
                    )
                self.result[:, i] = (v != 0).astype(np.float64) if o.kind == "probability" else v
        for i in self.time_to:
            col = self.result[:, i]
            col[np.isnan(col)] = np.inf
        return self.result

    def step_series(self, when: float) -> None:
        sc, cm, r = self.sc, self.cm, self.r
        dt = sc.step
        ns = self.ns(None)
        incs = []
        for s in sc.series:
            mu = _full(cm.drift[s.index].fn(ns), r)
            if not np.isfinite(mu).all():
                raise self.fail(("series", s.name, "drift"), "the drift",
                                np.where(np.isfinite(mu), 0.0, -1.0), np.arange(r), when)
            sig = self.nonneg(cm.volatility[s.index].fn, ns, r, ("series", s.name, "volatility"),
                              "the volatility", np.arange(r), when)
            inc = mu * dt
            if np.any(sig > 0):
                inc = inc + sig * math.sqrt(dt) * self.rng.standard_normal(r)
            incs.append(inc)
        for s, inc in zip(sc.series, incs, strict=True):
            if s.process == "log":
                self.s[s.index] *= np.exp(inc)
            else:
                self.s[s.index] += inc
                if s.floor is not None:
                    np.maximum(self.s[s.index], s.floor, out=self.s[s.index])
        self.t = when

    def advance(self, stop: float) -> None:  # noqa: C901, PLR0912, PLR0915
        """Run every replication's next-event loop up to the stop ``stop``."""
        sc, cm = self.sc, self.cm
        idx: np.ndarray | None = None  # None: everyone (views, no copies)
        while True:
            sel = np.arange(self.r) if idx is None else idx
            m = len(sel)
            if m == 0:
                return
            ns = self.ns(idx)
            now = self.now[sel]
            # intensities of the race
            rates, who = [], []
            for e in self.hazard_events:
                h = self.nonneg(cm.hazards[e.index].fn, ns, m, ("events", e.name, "hazard"),
                                "the hazard", sel, now)
                if not e.recurring:
                    h = np.where(ns.n[e.index] > 0, 0.0, h)
                rates.append(h)
                who.append((True, e.index))
            running = []
            for p in sc.projects:
                live = (ns.done[p.index] == 0) & (ns.c[p.index] == 0)
                running.append(live)
                h = self.nonneg(cm.cancel[p.index].fn, ns, m, ("projects", p.name, "cancel_hazard"),
                                "the cancellation hazard", sel, now)
                rates.append(np.where(live, h, 0.0))
                who.append((False, p.index))
            total = np.sum(rates, axis=0) if rates else np.zeros(m)
            # the next deterministic change: duration ends, stage completions, the stop
            nxt = np.full(m, stop)
            kind = np.full(m, -1)  # -1 stop, 0 duration end, 1 stage completion
            which = np.zeros(m, dtype=np.int64)
            for e_index, ends in self.ends.items():
                first = ends[sel].min(axis=1)
                earlier = first <= nxt  # a change due exactly at the stop comes first
                nxt = np.where(earlier, first, nxt)
                kind = np.where(earlier, 0, kind)
                which = np.where(earlier, e_index, which)
            paces = []
            for p in sc.projects:
                pace = self.nonneg(cm.pace[p.index].fn, ns, m, ("projects", p.name, "pace"),
                                   "the pace", sel, now)
                pace = np.where(running[p.index], pace, 0.0)
                paces.append(pace)
                with np.errstate(divide="ignore", invalid="ignore"):
                    done_at = np.where(pace > 0, now + self.work[p.index, sel] / pace, np.inf)
                earlier = (done_at <= nxt) & (done_at < np.inf)
                nxt = np.where(earlier, done_at, nxt)
                kind = np.where(earlier, 1, kind)
                which = np.where(earlier, p.index, which)
            # does the budget run out before the next deterministic change?
            budget = self.budget[sel]
            with np.errstate(divide="ignore", invalid="ignore"):
                wait = np.where(total > 0, budget / total, np.inf)
            fires = now + wait < nxt
            until = np.where(fires, now + wait, nxt)
            elapsed = until - now
            self.budget[sel] = np.where(fires, 0.0, budget - total * elapsed)
            for p in sc.projects:
                self.work[p.index, sel] = np.maximum(
                    0.0, self.work[p.index, sel] - paces[p.index] * elapsed
                )
            self.now[sel] = until
            changed: list[np.ndarray] = []
            # 1. occurrences
            if fires.any():
                f = np.flatnonzero(fires)
                rf = sel[f]
                stack = np.stack([x[f] for x in rates])
                cum = np.cumsum(stack, axis=0)
                u = self.rng.random(len(f)) * cum[-1]
                pick = np.minimum((cum <= u[None, :]).sum(axis=0), len(who) - 1)
                # guard against picking a zero-rate entry through rounding
                for j, (is_event, index) in enumerate(who):
                    mine = rf[pick == j]
                    if mine.size == 0:
                        continue
                    if is_event:
                        self.occur(index, mine)
                    else:
                        self.c[index, mine] = 1.0
                self.budget[rf] = self.rng.standard_exponential(len(f))
                changed.append(rf)
            # 2. deterministic changes before the stop
            det = ~fires & (kind >= 0)
            if det.any():
                d = np.flatnonzero(det)
                for e_index in self.ends:
                    mine = d[(kind[d] == 0) & (which[d] == e_index)]
                    if mine.size:
                        rows = sel[mine]
                        ends = self.ends[e_index]
                        col = ends[rows].argmin(axis=1)
                        ends[rows, col] = np.inf
                        self.a[e_index, rows] -= 1.0
                for p in sc.projects:
                    mine = d[(kind[d] == 1) & (which[d] == p.index)]
                    if mine.size:
                        self.stage_done(p.index, sel[mine])
                changed.append(sel[d])
            if not changed:
                return
            idx = np.unique(np.concatenate(changed))
            self.check_time_to(idx, self.ns(idx), self.now[idx])

    def occur(self, index: int, rows: np.ndarray) -> None:
        """Event ``index`` occurs in replications ``rows`` at their current times."""
        sc, cm = self.sc, self.cm
        e = sc.events[index]
        m = len(rows)
        if cm.jumps[index]:
            ns = self.ns(rows)
            amounts = [(si, mult, _full(fn.fn(ns), m)) for si, mult, fn in cm.jumps[index]]
            for si, mult, amount in amounts:
                s = sc.series[si]
                bad = ~np.isfinite(amount) | ((amount <= 0) if mult else False)
                if bad.any():
                    raise self.fail(("series", s.name, "jumps"),
                                    f"the jump on {e.name!r} (a factor must be > 0, an amount finite)",
                                    np.where(bad, -1.0, amount), rows, self.now[rows])
                if mult:
                    self.s[si, rows] *= amount
                else:
                    self.s[si, rows] += amount
                    if s.floor is not None:
                        self.s[si, rows] = np.maximum(self.s[si, rows], s.floor)
        self.n[index, rows] += 1.0
        if e.duration is not None:
            d = self.draw_durations(e.duration.dist, cm.event_durations.get(index), rows,
                                    ("events", e.name, "duration"), self.now[rows])
            self.a[index, rows] += 1.0
            ends = self.ends[index]
            free = np.isinf(ends[rows])
            if not free.any(axis=1).all():
                ends = np.concatenate([ends, np.full((self.r, ends.shape[1]), np.inf)], axis=1)
                self.ends[index] = ends
                free = np.isinf(ends[rows])
            col = free.argmax(axis=1)
            ends[rows, col] = self.now[rows] + d

    def start_stage(self, k: int, rows: np.ndarray) -> None:
        p = self.sc.projects[k]
        stages = self.g[k, rows].astype(np.int64)
        for j in np.unique(stages):
            mine = rows[stages == j]
            self.work[k, mine] = self.draw_durations(
                p.durations[j].dist, self.cm.stage_durations.get((k, int(j))), mine,
                ("projects", p.name, "stages", int(j), "duration"), self.now[mine],
            )

    def stage_done(self, k: int, rows: np.ndarray) -> None:
        p = self.sc.projects[k]
        self.work[k, rows] = 0.0
        self.g[k, rows] += 1.0
        last = self.g[k, rows] >= len(p.stage_names)
        self.done[k, rows[last]] = 1.0
        nxt = rows[~last]
        if nxt.size:
            self.start_stage(k, nxt)
