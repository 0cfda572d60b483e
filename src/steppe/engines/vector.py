"""The vectorized engine: many replications at once with NumPy, same semantics as SimPy.

It implements ``docs/engine.md`` for a chunk of replications held as arrays (one column per
replication), walking the common grid of *stops* (ticks, observation dates, the horizon).
Within the interval up to the next stop each replication keeps its own clock and runs an
exact next-event loop:

* **Competing risks by a time change.** Each replication holds a unit-rate exponential
  budget ``E``. With total intensity ``Λ`` constant until the next state change, the next
  occurrence comes when ``Λ · elapsed`` exhausts ``E``: the same law as redrawing an
  exponential after every change (memorylessness), with one random number per occurrence
  instead of one per change. Which event occurs is chosen with probability proportional to
  its intensity; a fresh ``E ~ Exp(1)`` is drawn after each occurrence.
* **Deterministic changes** — the end of a duration, a project stage completing at its
  current pace — are taken at their exact times when they come before the next occurrence;
  one due exactly at the stop comes before it.
* At a stop, series are stepped (ticks) and outcomes read (observation dates).

Intensities, paces and the time of each replication's next deterministic change are cached
and recomputed only where they can have changed: for a replication whose state changed,
all of them; at a tick, for every replication, those that read a series or ``t``. Only
replications whose state changed take part in the later rounds of an interval's loop.

Random streams: chunk ``c`` of a run uses ``SeedSequence(seed, spawn_key=(2, c))`` for its
dynamics; parameters come from the per-parameter streams shared by every engine
(:mod:`steppe.engines.common`). A chunk's result depends only on ``(seed, c, its range)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from steppe.engines.common import (
    MAX_CHANGES,
    Fixed,
    Namespace,
    Slot,
    combine_outcomes,
    draw_parameters,
    pace_reads,
    race_reads,
    race_slots,
    too_many_changes,
    where,
)
from steppe.errors import SimulationError
from steppe.model.deps import state_reads
from steppe.model.scenario import CompiledModel, Scenario

__all__ = ["chunk_rng", "simulate_vector"]

_CHUNK_STREAM = 2
_MUST = "(must be a finite number >= 0)"
Path = tuple[str | int, ...]


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The dynamics generator of chunk ``chunk``."""
    ss = np.random.SeedSequence(seed, spawn_key=(_CHUNK_STREAM, chunk))
    return np.random.Generator(np.random.PCG64(ss))


def simulate_vector(
    scenario: Scenario, *, seed: int, chunk: int, start: int, n: int, fixed: Fixed | None = None
) -> np.ndarray:
    """Run replications ``[start, start + n)`` as chunk ``chunk``; return their samples.

    The result has the layout of :func:`steppe.engines.des.simulate_des`.
    """
    params = draw_parameters(scenario, seed, start, n, fixed)
    with np.errstate(all="ignore"):
        out = _Chunk(scenario, params, chunk_rng(seed, chunk), start).run()
    combine_outcomes(scenario, out)
    return out


def _full(x: Any, m: int) -> np.ndarray:
    """``x`` as a float array of length ``m`` (expressions may return scalars)."""
    arr = np.asarray(x, dtype=np.float64)
    return arr if arr.shape == (m,) else np.broadcast_to(arr, (m,)).copy()


def _all_finite(x: np.ndarray) -> bool:
    """Whether every element is finite: one pass (the sum) unless it fails."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(x)):
            return True
    return bool(np.isfinite(x).all())  # the sum may overflow on large finite values


class _Rows:
    """Rows of a 2-D state array restricted to some replications, cut on first use."""

    __slots__ = ("arr", "cache", "sel")

    def __init__(self, arr: np.ndarray, sel: np.ndarray) -> None:
        self.arr, self.sel = arr, sel
        self.cache: dict[int, np.ndarray] = {}

    def __getitem__(self, i: int) -> np.ndarray:
        row = self.cache.get(i)
        if row is None:
            row = self.cache[i] = np.asarray(self.arr[i, self.sel])
        return row


class _Chunk:
    """State of a chunk of replications; arrays are indexed ``[item, replication]``."""

    def __init__(
        self, sc: Scenario, params: np.ndarray, rng: np.random.Generator, start: int
    ) -> None:
        self.sc, self.rng, self.start = sc, rng, start
        self.cm: CompiledModel = sc.compiled("vector")
        cm = self.cm
        r = params.shape[0]
        self.r = r
        self.everyone = np.arange(r)
        self.params = np.ascontiguousarray(params.T)  # (n_params, r)
        base = Namespace(p=self.params)
        self.h = np.array([_full(f(base), r) for f in cm.hoisted]).reshape(-1, r)
        ne, nproj = len(sc.events), len(sc.projects)
        self.n = np.repeat(
            np.array([float(e.history_count) for e in sc.events]).reshape(ne, 1), r, 1
        )
        self.a = np.zeros((ne, r))
        self.s = np.zeros((len(sc.series), r))
        self.g = np.repeat(
            np.array([float(p.completed_stages) for p in sc.projects]).reshape(nproj, 1), r, 1
        )
        full = [1.0 if p.completed_stages == len(p.stage_names) else 0.0 for p in sc.projects]
        self.done = np.repeat(np.array(full).reshape(nproj, 1), r, 1)
        self.c = np.zeros((nproj, r))
        self.t = 0.0
        self.now = np.zeros(r)
        self.changes = np.zeros(r, dtype=np.int64)
        self.budget: np.ndarray = np.asarray(rng.standard_exponential(r))
        # durations: end times per event with a duration; slots grow on demand (inf = free)
        self.ends: dict[int, np.ndarray] = {
            e.index: np.full((1, r), np.inf) for e in sc.events if e.duration is not None
        }
        self.ends_min = {index: np.full(r, np.inf) for index in self.ends}  # earliest end
        # projects: work left at the last booking, current pace, completion time
        self.work = np.zeros((nproj, r))
        self.pace = np.zeros((nproj, r))
        self.booked = np.zeros((nproj, r))
        self.done_at = np.full((nproj, r), np.inf)
        # the race: one row per event with a hazard and per project (cancellation)
        self.slots: list[Slot] = race_slots(sc, cm)
        self.hz = np.zeros((len(self.slots), r))
        self.total = np.zeros(r)
        self.next_change = np.full(r, np.inf)  # earliest duration end or stage completion
        self.result = np.full((len(sc.outcomes), r), np.nan)  # outcome-major: rows contiguous
        self.time_to = [o.index for o in sc.outcomes if o.form == "time_to"]
        self.time_to_ticking = [i for i in self.time_to if cm.outcome_ticks[i]]
        self.tick_slots = [j for j, slot in enumerate(self.slots) if slot[3]]
        self.tick_paces = [p.index for p in sc.projects if cm.pace_ticks[p.index]]
        # what each cached quantity reads, to skip those a round of changes cannot affect
        self.slot_reads = race_reads(sc)
        self.pace_reads = pace_reads(sc)
        sym = sc.symbols
        self.time_to_reads = {i: state_reads(sc.outcomes[i].expr, sym) for i in self.time_to}

    # -- helpers -------------------------------------------------------------------------

    def ns(self, sel: np.ndarray | None) -> Namespace:
        """A namespace over all replications (``sel is None``) or the subset ``sel``."""
        if sel is None:
            return Namespace(
                h=self.h,
                p=self.params,
                s=self.s,
                t=self.t,
                n=self.n,
                a=self.a,
                g=self.g,
                done=self.done,
                c=self.c,
            )
        return Namespace(
            h=_Rows(self.h, sel),
            p=_Rows(self.params, sel),
            s=_Rows(self.s, sel),
            t=self.t,
            n=_Rows(self.n, sel),
            a=_Rows(self.a, sel),
            g=_Rows(self.g, sel),
            done=_Rows(self.done, sel),
            c=_Rows(self.c, sel),
        )

    def fail(
        self, path: Path, what: str, bad: np.ndarray, values: np.ndarray, sel: np.ndarray
    ) -> SimulationError:
        k = int(np.flatnonzero(bad)[0])
        rep = int(sel[k])
        when = float(self.now[rep])
        return SimulationError(
            f"{where(self.sc, path)}: {what} evaluated to {float(values[k])!r} in "
            f"replication {self.start + rep} at t = {when:.4f} years "
            f"({self.sc.timeline.date(when).isoformat()})"
        )

    def nonneg(self, fn: Any, ns: Namespace, sel: np.ndarray, path: Path, what: str) -> np.ndarray:
        v = _full(fn(ns), len(sel))
        ok = (v >= 0) & (v < np.inf)
        if not ok.all():
            raise self.fail(path, f"{what} {_MUST}", ~ok, v, sel)
        return v

    def draw_durations(self, dist: Any, fn: Any, sel: np.ndarray, path: Path) -> np.ndarray:
        if dist is not None:
            d = np.asarray(dist.sample(self.rng, len(sel)), dtype=np.float64)
        else:
            d = _full(fn(Namespace(p=_Rows(self.params, sel))), len(sel))
        ok = (d >= 0) & (d < np.inf)
        if not ok.all():
            raise self.fail(path, "a duration (must be a finite number >= 0)", ~ok, d, sel)
        return d

    # -- cached intensities and next changes ------------------------------------------------

    def refresh(
        self,
        sel: np.ndarray,
        *,
        tick: bool = False,
        keys: set[tuple[str, int]] | None = None,
        ns: Namespace | None = None,
    ) -> None:
        """Re-evaluate intensities and paces for replications ``sel`` (all at a tick).

        At a tick only what reads a series or ``t`` is re-evaluated; after changes that
        touched the state ``keys``, only what reads one of them.
        """
        everyone = tick
        if ns is None:
            ns = self.ns(None if everyone else sel)
        if tick:
            slots: Any = self.tick_slots
            projects: Any = self.tick_paces
        elif keys is None:
            slots, projects = range(len(self.slots)), range(len(self.sc.projects))
        else:
            slots = [j for j, reads in enumerate(self.slot_reads) if reads & keys]
            projects = [k for k, reads in enumerate(self.pace_reads) if reads & keys]
        m = len(sel)
        for j in slots:
            is_event, index, fn, _ticks, path = self.slots[j]
            h = _full(fn(ns), m)
            # Only live competitors are evaluated in the reference engine: mask first.
            if is_event:
                live = (ns.n[index] == 0) if not self.sc.events[index].recurring else None
            else:
                live = (ns.done[index] == 0) & (ns.c[index] == 0)
            if live is not None:
                h = np.where(live, h, 0.0)
            if not h.min() >= 0:  # a negative value or NaN (one pass instead of three)
                raise self.fail(path, f"the hazard {_MUST}", ~(h >= 0), h, sel)
            if everyone:
                self.hz[j] = h
            else:
                self.hz[j, sel] = h
        if slots:
            total = self.hz[:, sel].sum(axis=0) if not everyone else self.hz.sum(0)
            if not np.isfinite(total).all():  # some intensity is +inf
                for j in slots:
                    row = self.hz[j] if everyone else self.hz[j, sel]
                    if np.isinf(row).any():
                        path = self.slots[j][4]
                        raise self.fail(path, f"the hazard {_MUST}", np.isinf(row), row, sel)
            self.total[sel] = total
        for k in projects:
            p = self.sc.projects[k]
            running = (ns.done[k] == 0) & (ns.c[k] == 0)
            pace = np.where(running, _full(self.cm.pace[k].fn(ns), m), 0.0)
            ok = (pace >= 0) & (pace < np.inf)
            if not ok.all():
                raise self.fail(("projects", p.name, "pace"), f"the pace {_MUST}", ~ok, pace, sel)
            self.replan(k, sel, pace)
        if projects or keys is None or any(f == "a" for f, _ in keys):
            self.update_next_change(sel)

    def replan(self, k: int, sel: np.ndarray, pace: np.ndarray) -> None:
        """Book the work done so far at the old pace, then reschedule at ``pace``."""
        # ``pace`` is already 0 where the project is not running (see :meth:`refresh`).
        now = self.now[sel]
        work = np.maximum(0.0, self.work[k, sel] - self.pace[k, sel] * (now - self.booked[k, sel]))
        self.work[k, sel] = work
        self.booked[k, sel] = now
        self.pace[k, sel] = pace
        self.done_at[k, sel] = np.where(pace > 0, now + work / pace, np.inf)

    def update_next_change(self, sel: np.ndarray) -> None:
        best = np.full(len(sel), np.inf)
        for first in self.ends_min.values():
            np.minimum(best, first[sel], out=best)
        for k in range(len(self.sc.projects)):
            np.minimum(best, self.done_at[k, sel], out=best)
        self.next_change[sel] = best

    def check_time_to(
        self,
        sel: np.ndarray,
        *,
        tick: bool = False,
        keys: set[tuple[str, int]] | None = None,
        ns: Namespace | None = None,
    ) -> None:
        ids = self.time_to_ticking if tick else self.time_to
        if keys is not None:
            ids = [i for i in ids if self.time_to_reads[i] & keys]
        if not ids:
            return
        if ns is None:
            ns = self.ns(None if tick else sel)
        times = self.now if tick else self.now[sel]
        for i in ids:
            col = self.result[i] if tick else self.result[i, sel]
            todo = np.isnan(col)
            if not todo.any():
                continue
            hit = _full(self.cm.outcomes[i].fn(ns), len(sel)) != 0
            newly = todo & hit
            if newly.any():
                self.result[i, sel[newly]] = times[newly]

    # -- the run -------------------------------------------------------------------------

    def run(self) -> np.ndarray:
        sc, r, everyone = self.sc, self.r, self.everyone
        for s in sc.series:
            v = _full(self.cm.initial[s.index].fn(Namespace(p=self.params)), r)
            ok = np.isfinite(v) & ((v > 0) if s.process == "log" else True)
            if not ok.all():
                raise self.fail(
                    ("series", s.name, "initial"),
                    "the initial value (must be finite, and > 0 for a log series)",
                    ~ok,
                    v,
                    everyone,
                )
            self.s[s.index] = v
        for p in sc.projects:
            running = np.flatnonzero(self.done[p.index] == 0)
            if running.size:
                self.start_stage(p.index, running)
        self.refresh(everyone)
        self.check_time_to(everyone)

        observe: dict[float, list[int]] = {}
        for o in sc.outcomes:
            if o.form in ("probability", "value"):
                assert o.t is not None
                observe.setdefault(o.t, []).append(o.index)
        ticks = set(sc.ticks.tolist())
        for stop in sorted(ticks | set(observe) | {sc.timeline.t_horizon}):
            self.advance(stop)
            if stop in ticks:
                self.step_series(stop)
                self.refresh(everyone, tick=True)
                self.check_time_to(everyone, tick=True)
            if stop in observe:
                self.observe(stop, observe[stop])
        for i in self.time_to:
            col = self.result[i]
            col[np.isnan(col)] = np.inf
        return np.ascontiguousarray(self.result.T)

    def observe(self, stop: float, outcomes: list[int]) -> None:
        ns = self.ns(None)
        for i in outcomes:
            o = self.sc.outcomes[i]
            v = _full(self.cm.outcomes[i].fn(ns), self.r)
            bad = ~np.isfinite(v)
            if bad.any():
                raise self.fail(
                    ("outcomes", o.name), "the outcome (must be finite)", bad, v, self.everyone
                )
            self.result[i] = (v != 0).astype(np.float64) if o.kind == "probability" else v

    def step_series(self, when: float) -> None:
        sc, cm, r = self.sc, self.cm, self.r
        dt = sc.step
        ns = self.ns(None)
        incs = []
        for s in sc.series:
            mu = _full(cm.drift[s.index].fn(ns), r)
            if not _all_finite(mu):
                bad = ~np.isfinite(mu)
                raise self.fail(("series", s.name, "drift"), "the drift", bad, mu, self.everyone)
            sig = _full(cm.volatility[s.index].fn(ns), r)
            if not (sig.min() >= 0 and _all_finite(sig)):
                bad = ~((sig >= 0) & (sig < np.inf))
                path = ("series", s.name, "volatility")
                raise self.fail(path, f"the volatility {_MUST}", bad, sig, self.everyone)
            inc = mu * dt
            if np.any(sig > 0):
                inc += sig * (math.sqrt(dt) * self.rng.standard_normal(r))
            incs.append(inc)
        for s, inc in zip(sc.series, incs, strict=True):
            row = self.s[s.index]
            if s.process == "log":
                row *= np.exp(inc)
            else:
                row += inc
                if s.floor is not None:
                    np.maximum(row, s.floor, out=row)
            if not _all_finite(row):
                bad = ~np.isfinite(row)
                raise self.fail(
                    ("series", s.name), "the series (overflow)", bad, row, self.everyone
                )
        self.t = when

    def advance(self, stop: float) -> None:
        """Run every replication's next-event loop up to the stop ``stop``."""
        # First round: every replication, in place, without copies.
        now, total, budget = self.now, self.total, self.budget
        with np.errstate(divide="ignore", invalid="ignore"):
            wait = budget / total  # inf where total == 0
        due = np.minimum(self.next_change, stop)
        fires = now + wait < due
        det = ~fires & (self.next_change <= stop)
        until = np.where(fires, now + wait, due)
        budget -= total * (until - now)
        now[:] = until
        changed = np.flatnonzero(fires | det)
        while changed.size:
            fired = changed[fires[changed]] if fires.size == self.r else changed[fires]
            self.apply(changed, fired)
            # Later rounds: only the replications whose state changed.
            sel = changed
            now_s, total_s, budget_s = now[sel], total[sel], budget[sel]
            with np.errstate(divide="ignore", invalid="ignore"):
                wait = budget_s / total_s
            nc = self.next_change[sel]
            due = np.minimum(nc, stop)
            fires = now_s + wait < due
            det = ~fires & (nc <= stop)
            until = np.where(fires, now_s + wait, due)
            budget[sel] = budget_s - total_s * (until - now_s)
            now[sel] = until
            keep = fires | det
            changed = sel[keep]
            fires = fires[keep]

    def apply(self, changed: np.ndarray, fired: np.ndarray) -> None:
        """Apply the occurrences (``fired``) and deterministic changes (the rest)."""
        self.changes[changed] += 1
        if self.changes[changed].max() > MAX_CHANGES:
            rep = int(changed[np.argmax(self.changes[changed])])
            raise too_many_changes(self.sc, self.start + rep, float(self.now[rep]))
        keys: set[tuple[str, int]] = set()
        if fired.size:
            hz = self.hz[:, fired]
            cum = np.cumsum(hz, axis=0)
            u = self.rng.random(fired.size) * cum[-1]
            pick = np.minimum((cum <= u).sum(axis=0), len(self.slots) - 1)
            for j in np.unique(pick):
                is_event, index = self.slots[j][0], self.slots[j][1]
                mine = fired[pick == j]
                if is_event:
                    self.occur(index, mine)
                    keys.add(("n", index))
                    keys.add(("a", index))
                    keys.update(("s", si) for si, _, _ in self.cm.jumps[index])
                else:
                    self.c[index, mine] = 1.0
                    self.done_at[index, mine] = np.inf
                    keys.add(("c", index))
            self.budget[fired] = self.rng.standard_exponential(fired.size)
        det = np.setdiff1d(changed, fired, assume_unique=True)
        if det.size:
            now = self.now[det]
            for e_index, ends in self.ends.items():
                first = self.ends_min[e_index]
                hit = first[det] <= now
                if hit.any():
                    rows = det[hit]
                    col = ends[:, rows].argmin(axis=0)
                    ends[col, rows] = np.inf
                    first[rows] = ends[:, rows].min(axis=0)
                    self.a[e_index, rows] -= 1.0
                    keys.add(("a", e_index))
            for k in range(len(self.sc.projects)):
                hit = self.done_at[k, det] <= now
                if hit.any():
                    self.stage_done(k, det[hit])
                    keys.update((("g", k), ("done", k)))
        ns = self.ns(changed)
        self.refresh(changed, keys=keys, ns=ns)
        self.check_time_to(changed, keys=keys, ns=ns)

    def occur(self, index: int, rows: np.ndarray) -> None:
        """Event ``index`` occurs in replications ``rows`` at their current times."""
        sc, cm = self.sc, self.cm
        e = sc.events[index]
        if cm.jumps[index]:
            ns = self.ns(rows)
            amounts = [(si, mult, _full(fn.fn(ns), rows.size)) for si, mult, fn in cm.jumps[index]]
            for si, mult, amount in amounts:
                s = sc.series[si]
                bad = ~np.isfinite(amount) | ((amount <= 0) if mult else False)
                if bad.any():
                    raise self.fail(
                        ("series", s.name, "jumps"),
                        f"the jump on {e.name!r} (a factor must be > 0, an amount finite)",
                        bad,
                        amount,
                        rows,
                    )
                if mult:
                    self.s[si, rows] *= amount
                else:
                    self.s[si, rows] += amount
                    if s.floor is not None:
                        self.s[si, rows] = np.maximum(self.s[si, rows], s.floor)
        for si, _, _ in cm.jumps[index]:
            bad = ~np.isfinite(self.s[si, rows])
            if bad.any():
                raise self.fail(
                    ("series", sc.series[si].name),
                    "the series (overflow)",
                    bad,
                    self.s[si, rows],
                    rows,
                )
        self.n[index, rows] += 1.0
        if e.duration is not None:
            d = self.draw_durations(
                e.duration.dist, cm.event_durations.get(index), rows, ("events", e.name, "duration")
            )
            self.a[index, rows] += 1.0
            ends = self.ends[index]
            free = np.isinf(ends[:, rows])
            if not free.any(axis=0).all():
                ends = np.concatenate([ends, np.full((1, self.r), np.inf)], axis=0)
                self.ends[index] = ends
                free = np.isinf(ends[:, rows])
            slot = free.argmax(axis=0)
            finish = self.now[rows] + d
            ends[slot, rows] = finish
            first = self.ends_min[index]
            first[rows] = np.minimum(first[rows], finish)

    def start_stage(self, k: int, rows: np.ndarray) -> None:
        """Draw the work of each replication's current stage of project ``k``."""
        p = self.sc.projects[k]
        stages = self.g[k, rows].astype(np.int64)
        for j in np.unique(stages):
            mine = rows[stages == j]
            self.work[k, mine] = self.draw_durations(
                p.durations[j].dist,
                self.cm.stage_durations.get((k, int(j))),
                mine,
                ("projects", p.name, "stages", int(j), "duration"),
            )
            self.booked[k, mine] = self.now[mine]
            self.pace[k, mine] = 0.0

    def stage_done(self, k: int, rows: np.ndarray) -> None:
        p = self.sc.projects[k]
        self.work[k, rows] = 0.0
        self.pace[k, rows] = 0.0
        self.done_at[k, rows] = np.inf
        self.g[k, rows] += 1.0
        last = self.g[k, rows] >= len(p.stage_names)
        self.done[k, rows[last]] = 1.0
        nxt = rows[~last]
        if nxt.size:
            self.start_stage(k, nxt)
