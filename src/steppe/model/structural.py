"""Outcomes that are 0 or 1 by a scenario's structure, found without simulating.

An outcome's expression is bounded node by node, as an interval that holds in every
replication (:class:`Bound`), with the reasons that narrow it traced to the scenario's keys.
The bounds of the state come from :mod:`steppe.model.feasibility`:

* ``occurred(e)`` is 1 when ``e`` has a history, 0 when it has none and cannot occur
  (:func:`~steppe.model.feasibility.cannot_occur`: no hazard, or a hazard that is the
  constant 0); ``count``, ``active``, ``n_occurred``, ``any_occurred`` and
  ``all_occurred`` follow;
* ``stage(p)`` is at least ``completed_stages`` and at most the last stage that can have
  begun by then (:func:`~steppe.model.feasibility.earliest_start`, or none beyond
  ``completed_stages`` at a pace that is the constant 0); ``completed(p)`` follows, and
  ``cancelled(p)`` is 0 for a cancellation hazard that is the constant 0 or a project
  complete from the start;
* a parameter is within :func:`~steppe.model.feasibility.least` and
  :func:`~steppe.model.feasibility.most`, a series within
  :func:`~steppe.model.feasibility.series_range`, ``t`` is the date's time, an actor's
  attribute is its value;

and the expression is bounded from these through ``+ - *``, ``min``, ``max``, ``abs``,
comparisons, ``and``/``or``/``not`` and ``a if c else b``. Anything else (a division, a
power, ``exp`` ...) is not bounded, and nothing is concluded from it.

A bound that is wrong would call a possible outcome impossible, so every bound is one that
holds whatever the draws; when in doubt there is none. A value that may be NaN (an unbounded
series, for one) is never taken for 0.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from steppe.errors import PathPart
from steppe.model.feasibility import (
    cannot_occur,
    earliest_start,
    first_day,
    latest_start,
    least,
    most,
    series_range,
)
from steppe.model.scenario import OutcomeModel, Scenario
from steppe.model.schema import ScenarioSpec

__all__ = ["Bound", "Verdict", "structural_verdicts"]

Path = tuple[PathPart, ...]
_INF = math.inf
#: Tolerance on times: a stage that can begin at the very instant asked is possible.
_EPS = 1e-9


@dataclass(frozen=True)
class Bound:
    """Bounds ``[lo, hi]`` on a value in every replication, and why they are so narrow.

    Attributes
    ----------
    lo, hi
        The smallest and largest value (``-inf``/``inf`` when unbounded).
    nan
        Whether the value may be NaN (then it is never taken for 0: NaN is true).
    why
        What in the scenario narrows the bounds, in words.
    causes
        The YAML paths of the keys that say so.
    """

    lo: float
    hi: float
    nan: bool = False
    why: tuple[str, ...] = ()
    causes: tuple[Path, ...] = ()
    #: When the two ends have different reasons: the bound with the reasons of ``lo``
    #: only, and the one with those of ``hi`` (a comparison cites the end it rests on).
    ends: tuple[Bound, Bound] | None = None

    def end(self, side: str) -> Bound:
        """This bound with the reasons of its ``"lo"`` or ``"hi"`` end only."""
        if self.ends is None:
            return self
        return self.ends[0] if side == "lo" else self.ends[1]

    @property
    def false(self) -> bool:
        """0 in every replication."""
        return self.lo == 0.0 and self.hi == 0.0 and not self.nan

    @property
    def true(self) -> bool:
        """Not 0 (true) in every replication."""
        return self.lo > 0.0 or self.hi < 0.0


UNKNOWN = Bound(-_INF, _INF, nan=True)
MAYBE = Bound(0.0, 1.0)  # a truth value, 0 or 1


def _merge(parts: Iterable[Bound]) -> tuple[tuple[str, ...], tuple[Path, ...]]:
    whys: dict[str, None] = {}
    causes: dict[Path, None] = {}
    for b in parts:
        whys.update(dict.fromkeys(b.why))
        causes.update(dict.fromkeys(b.causes))
    return tuple(whys), tuple(causes)


def _with(lo: float, hi: float, nan: bool, parts: Iterable[Bound]) -> Bound:
    if math.isnan(lo) or math.isnan(hi):
        return UNKNOWN
    why, causes = _merge(parts)
    return Bound(lo, hi, nan, why, causes)


def _truth(value: bool | None, parts: Iterable[Bound]) -> Bound:
    """A 0/1 value: 1 (``True``), 0 (``False``) or either (``None``), with the reasons of
    ``parts`` when it is known."""
    if value is None:
        return MAYBE
    return _with(float(value), float(value), False, parts)


@dataclass(frozen=True)
class Verdict:
    """An outcome that is 0 or 1 in every replication, or at some of its dates.

    Attributes
    ----------
    outcome
        Its name.
    value
        0 or 1.
    why, causes
        As in :class:`Bound`.
    dates
        For a ``time_to`` outcome that cannot happen before some of its ``p_by`` dates but
        may by the horizon: those dates (its P(by date) is 0 there). For one that is 1: the
        start (it holds at the start) or the horizon (it has happened by then). Empty
        otherwise.
    """

    outcome: str
    value: int
    why: tuple[str, ...]
    causes: tuple[Path, ...]
    dates: tuple[dt.date, ...] = ()


def structural_verdicts(sc: Scenario) -> dict[str, Verdict]:
    """The outcomes of ``sc`` that are 0 or 1 by its structure, by name, in the order of
    the scenario (a ``time_to`` outcome also when only its early ``p_by`` dates are 0)."""
    found: dict[str, Verdict] = {}
    combine_bounds: dict[str, Bound] = {}
    by_name = {o.name: o for o in sc.outcomes}
    for i in sc.outcome_order:
        o = sc.outcomes[i]
        if o.form in ("value", "total"):
            continue
        if o.form == "time_to":
            verdict = _time_to(sc, o)
        else:
            assert o.t is not None
            if o.form == "probability":
                b = _Bounder(sc, o.t).bound(o.expr.tree)
            else:
                names = _outcome_bounds(sc, by_name, o.t, combine_bounds)
                b = _Bounder(sc, o.t, names=names).bound(o.expr.tree)
            combine_bounds[o.name] = b
            verdict = _verdict(o.name, b)
        if verdict is not None:
            found[o.name] = verdict
    return {o.name: found[o.name] for o in sc.outcomes if o.name in found}


def _verdict(name: str, b: Bound) -> Verdict | None:
    if b.false:
        return Verdict(name, 0, b.why, b.causes)
    if b.true:
        return Verdict(name, 1, b.why, b.causes)
    return None


def _time_to(sc: Scenario, o: OutcomeModel) -> Verdict | None:
    tl = sc.timeline
    at_start = _Bounder(sc, 0.0).bound(o.expr.tree)
    if at_start.true:
        return Verdict(o.name, 1, at_start.why, at_start.causes, (tl.start,))
    at_end = _Bounder(sc, tl.t_horizon).bound(o.expr.tree)
    if at_end.true and _noticed(o):  # it holds at the horizon, so it has happened by then
        return Verdict(o.name, 1, at_end.why, at_end.causes, (tl.horizon,))
    never = _Bounder(sc, tl.t_horizon, upto=True).bound(o.expr.tree)
    if never.false:
        return Verdict(o.name, 0, never.why, never.causes)
    early: list[dt.date] = []
    last = never
    for day in tl.year_ends():
        b = _Bounder(sc, tl.years(day), upto=True).bound(o.expr.tree)
        if not b.false:
            break
        early.append(day)
        last = b
    if not early:
        return None
    return Verdict(o.name, 0, last.why, last.causes, tuple(early))


def _noticed(o: OutcomeModel) -> bool:
    """Whether a ``time_to`` condition that holds at a time has been noticed by then: it is
    checked at the start and at every change of the state, and so noticed at once unless
    it reads the clock ``t``, which moves between changes."""
    return "t" not in o.expr.names


def _outcome_bounds(
    sc: Scenario, by_name: dict[str, OutcomeModel], t: float, done: dict[str, Bound]
) -> Callable[[str], Bound]:
    """What an outcome's name stands for in a combination whose date is ``t``."""

    def bound(name: str) -> Bound:
        o = by_name.get(name)
        if o is None or o.form == "total":  # a total's bounds are not traced
            return UNKNOWN
        if o.form in ("probability", "combine"):
            b = done.get(name, MAYBE)  # stands for its 0/1 indicator
            return _truth(True if b.true else False if b.false else None, [b])
        if o.form == "value":
            assert o.t is not None
            return _Bounder(sc, o.t).bound(o.expr.tree)
        then = _Bounder(sc, t).bound(o.expr.tree)
        if then.true and _noticed(o):  # it holds at t, so it has happened by then
            return _truth(True, [then])
        by = _Bounder(sc, t, upto=True).bound(o.expr.tree)
        return _truth(False, [by]) if by.false else MAYBE

    return bound


def _parameter(name: str, spec: ScenarioSpec) -> Bound:
    """A parameter's bounds: :func:`least` and :func:`most` (a formula they cannot bound,
    such as ``0 / 0``, may be NaN)."""
    low, high = least(name, spec), most(name, spec)
    lo = -_INF if low is None else low[0]
    hi = _INF if high is None else high[0]
    if low is None and high is None:
        return UNKNOWN
    if lo == hi and low is not None:
        why = low[1]
    else:
        shown = [f"at least {lo:g}" if low else "", f"at most {hi:g}" if high else ""]
        why = f"parameters.{name} is " + " and ".join(x for x in shown if x)
    return Bound(lo, hi, low is None or high is None, (why,), (("parameters", name),))


_COMPARE: dict[type, Callable[[Bound, Bound], bool | None]] = {
    ast.Lt: lambda a, b: True if a.hi < b.lo else False if a.lo >= b.hi else None,
    ast.LtE: lambda a, b: True if a.hi <= b.lo else False if a.lo > b.hi else None,
    ast.Gt: lambda a, b: True if a.lo > b.hi else False if a.hi <= b.lo else None,
    ast.GtE: lambda a, b: True if a.lo >= b.hi else False if a.hi < b.lo else None,
    ast.Eq: lambda a, b: (
        True if a.lo == a.hi == b.lo == b.hi else False if a.hi < b.lo or b.hi < a.lo else None
    ),
    ast.NotEq: lambda a, b: (
        False if a.lo == a.hi == b.lo == b.hi else True if a.hi < b.lo or b.hi < a.lo else None
    ),
}


#: The ends of the two operands a comparison's known result rests on, by result.
_SIDES: dict[type, dict[bool | None, tuple[str, str]]] = {
    ast.Lt: {True: ("hi", "lo"), False: ("lo", "hi")},
    ast.LtE: {True: ("hi", "lo"), False: ("lo", "hi")},
    ast.Gt: {True: ("lo", "hi"), False: ("hi", "lo")},
    ast.GtE: {True: ("lo", "hi"), False: ("hi", "lo")},
}


def _split(lo: float, hi: float, low: Bound, high: Bound, nan: bool = False) -> Bound:
    """``[lo, hi]`` whose ends have the reasons of ``low`` and ``high``."""
    why, causes = _merge([low, high])
    return Bound(lo, hi, nan, why, causes, (low, high))


class _Bounder:
    """Bounds of expressions at model time ``t`` (with ``upto``: at any time in ``[0, t]``,
    for a ``time_to`` condition, which is reached if it holds at any of them)."""

    def __init__(
        self,
        sc: Scenario,
        t: float,
        *,
        upto: bool = False,
        names: Callable[[str], Bound] | None = None,
    ) -> None:
        self.sc = sc
        self.spec = sc.spec
        self.t = t
        self.upto = upto
        self.names = names

    def bound(self, node: ast.expr) -> Bound:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool | int | float):
                return Bound(float(v), float(v))
            return UNKNOWN
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            actor = self.spec.actors.get(node.value.id)
            value = None if actor is None else actor.attributes.get(node.attr)
            return UNKNOWN if value is None else Bound(float(value), float(value))
        if isinstance(node, ast.UnaryOp):
            x = self.bound(node.operand)
            if isinstance(node.op, ast.Not):
                return _truth(False if x.true else True if x.false else None, [x])
            if isinstance(node.op, ast.USub):
                return _with(-x.hi, -x.lo, x.nan, [x])
            return x
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.BoolOp):
            xs = [self.bound(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return self.all_of(xs)
            return self.any_of(xs)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            c = self.bound(node.test)
            if c.true or c.false:
                b = self.bound(node.body if c.true else node.orelse)
                return _with(b.lo, b.hi, b.nan, [c, b])
            a, b = self.bound(node.body), self.bound(node.orelse)
            return _with(min(a.lo, b.lo), max(a.hi, b.hi), a.nan or b.nan, [a, b])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, node.args)
        return UNKNOWN

    # -- names -----------------------------------------------------------------------------

    def name(self, name: str) -> Bound:
        spec = self.spec
        if self.names is not None:
            return self.names(name)
        if name == "t":
            day = self.sc.timeline.date(self.t)
            said = f"t is {'at most ' if self.upto else ''}{self.t:.4g} years ({day})"
            return Bound(0.0 if self.upto else self.t, self.t, False, (said,))
        if name in spec.parameters:
            return _parameter(name, self.spec)
        if name in spec.series:
            lo, hi = series_range(name, spec, self.t)
            where: tuple[Path, ...] = (("series", name),)
            low = UNKNOWN if lo is None else Bound(lo[0], lo[0], False, (lo[1],), where)
            high = UNKNOWN if hi is None else Bound(hi[0], hi[0], False, (hi[1],), where)
            # moved by normal draws: maybe NaN or inf
            return _split(low.lo, high.hi, low, high, nan=lo is None or hi is None)
        return UNKNOWN

    # -- arithmetic --------------------------------------------------------------------------

    def binop(self, node: ast.BinOp) -> Bound:
        a, b = self.bound(node.left), self.bound(node.right)
        nan = a.nan or b.nan
        if isinstance(node.op, ast.Add):
            if (a.lo == -_INF and b.hi == _INF) or (a.hi == _INF and b.lo == -_INF):
                return UNKNOWN  # inf - inf
            return _with(a.lo + b.lo, a.hi + b.hi, nan, [a, b])
        if isinstance(node.op, ast.Sub):
            if (a.lo == -_INF and b.lo == -_INF) or (a.hi == _INF and b.hi == _INF):
                return UNKNOWN
            return _with(a.lo - b.hi, a.hi - b.lo, nan, [a, b])
        if isinstance(node.op, ast.Mult):
            ends = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
            if any(math.isnan(e) for e in ends):
                return UNKNOWN  # 0 * inf
            return _with(min(ends), max(ends), nan, [a, b])
        return UNKNOWN

    def compare(self, node: ast.Compare) -> Bound:
        operands = [self.bound(x) for x in (node.left, *node.comparators)]
        results: list[Bound] = []
        for op, a, b in zip(node.ops, operands, operands[1:], strict=False):
            decide = _COMPARE.get(type(op))
            value = None if decide is None else decide(a, b)
            if value is True and (a.nan or b.nan):
                value = None  # NaN compares false
            sides = _SIDES.get(type(op), {}).get(value)
            parts = [a, b] if sides is None else [a.end(sides[0]), b.end(sides[1])]
            results.append(_truth(value, parts))
        return self.all_of(results)

    def all_of(self, xs: list[Bound]) -> Bound:
        for x in xs:
            if x.false:
                return _truth(False, [x])
        return _truth(True, xs) if all(x.true for x in xs) else MAYBE

    def any_of(self, xs: list[Bound]) -> Bound:
        for x in xs:
            if x.true:
                return _truth(True, [x])
        return _truth(False, xs) if all(x.false for x in xs) else MAYBE

    # -- functions ---------------------------------------------------------------------------

    def call(self, fname: str, args: list[ast.expr]) -> Bound:
        names = [a.id if isinstance(a, ast.Name) else "" for a in args]
        if fname in ("occurred", "count", "active") and names[0] in self.spec.events:
            return self.event(fname, names[0])
        if fname in ("n_occurred", "any_occurred", "all_occurred"):
            if not all(n in self.spec.events for n in names):
                return UNKNOWN
            xs = [self.event("occurred", n) for n in names]
            if fname == "any_occurred":
                return self.any_of(xs)
            if fname == "all_occurred":
                return self.all_of(xs)
            return _with(sum(x.lo for x in xs), sum(x.hi for x in xs), False, xs)
        if fname in ("stage", "completed", "cancelled") and names[0] in self.spec.projects:
            return self.project(fname, names[0])
        if fname in ("min", "max") and len(args) >= 2:
            xs = [self.bound(a) for a in args]
            pick = min if fname == "min" else max
            return _with(pick(x.lo for x in xs), pick(x.hi for x in xs), any(x.nan for x in xs), xs)
        if fname == "abs" and len(args) == 1:
            x = self.bound(args[0])
            if x.lo >= 0.0:
                return x
            if x.hi <= 0.0:
                return _with(-x.hi, -x.lo, x.nan, [x])
            return _with(0.0, max(-x.lo, x.hi), x.nan, [x])
        return UNKNOWN

    def event(self, fname: str, name: str) -> Bound:
        e = self.spec.events[name]
        history = len(e.history)
        why = cannot_occur(name, self.spec)
        impossible = None
        if why is not None:
            where: Path = ("events", name, "hazard") if e.hazard is not None else ("events", name)
            impossible = (f"events.{name} cannot occur: {why}",), (where,)
        if fname == "occurred":
            if history:
                first = min(e.history).isoformat()
                said = (f"events.{name} has a history: it occurred on {first}, before the start",)
                return Bound(1.0, 1.0, False, said, (("events", name, "history", 0),))
            if impossible is not None:
                return Bound(0.0, 0.0, False, *impossible)
            return MAYBE
        if fname == "active":  # history occurrences are not active
            return Bound(0.0, 0.0, False, *impossible) if impossible is not None else MAYBE
        # count
        if impossible is not None:
            return Bound(float(history), float(history), False, *impossible)
        if not e.recurring:
            if history:  # a one-shot event that has occurred: its hazard is never used
                said = (f"events.{name} is a one-shot event with a history",)
                return Bound(1.0, 1.0, False, said, (("events", name, "history", 0),))
            return MAYBE
        return Bound(float(history), _INF)

    def project(self, fname: str, name: str) -> Bound:
        pr = self.spec.projects[name]
        n, done = len(pr.stages), pr.completed_stages
        if fname == "cancelled":
            if done == n:
                said = f"projects.{name} is complete from the start (completed_stages is {n})"
                return Bound(0.0, 0.0, False, (said,), (("projects", name, "completed_stages"),))
            h = least(pr.cancel_hazard, self.spec, exact=True)
            if h is not None and h[0] == 0.0:
                how = "" if h[1] == "constant" else f" ({h[1]})"
                said = f"projects.{name} cannot be cancelled: its cancel_hazard is 0{how}"
                return Bound(0.0, 0.0, False, (said,), (("projects", name, "cancel_hazard"),))
            return MAYBE
        top = self.last_stage(name)
        # at any time in [0, t] (upto), a project may still be where it started
        low = Bound(float(done), float(done)) if self.upto else self.first_stage(name)
        if fname == "stage":
            return _split(low.lo, top.hi, low, top)
        if done == n:
            said = f"projects.{name} is complete from the start (completed_stages is {n})"
            return Bound(1.0, 1.0, False, (said,), (("projects", name, "completed_stages"),))
        if top.hi < n:
            return Bound(0.0, 0.0, False, top.why, top.causes)
        if low.lo >= n:
            return Bound(1.0, 1.0, False, low.why, low.causes)
        return MAYBE

    def last_stage(self, name: str) -> Bound:
        """The most stages project ``name`` can have completed by ``t``, and why no more."""
        spec = self.spec
        pr = spec.projects[name]
        n, done = len(pr.stages), pr.completed_stages
        where: Path = ("projects", name)
        pace = least(pr.pace, spec, exact=True)
        if pace is not None and pace[0] <= 0.0 and done < n:
            how = "" if pace[1] == "constant" else f" ({pace[1]})"
            why = f"projects.{name} never advances: its pace is {pace[0]:g}{how}"
            return Bound(done, done, False, (why,), ((*where, "pace"),))
        for k in range(done + 1, n + 1):
            found = earliest_start(pr, k, spec)
            if found is None or found.time <= self.t + _EPS:
                continue
            day = first_day(self.sc.timeline, found.time)
            what = (
                f"projects.{name} cannot be completed"
                if k == n
                else f"stage {pr.stages[k].name!r} of projects.{name} cannot begin"
            )
            since = "" if done == 0 else f", with {done} stages completed at the start"
            why = f"{what} before {day}: " + "; ".join(found.parts) + found.pace + since
            causes = tuple((*where, "stages", j, "duration") for j in found.stages)
            if found.pace and "pace" in pr.model_fields_set:
                causes += ((*where, "pace"),)
            return Bound(k - 1, k - 1, False, (why,), causes)
        return Bound(n, n)

    def first_stage(self, name: str) -> Bound:
        """The fewest stages project ``name`` has completed at ``t``, and why no fewer."""
        spec = self.spec
        pr = spec.projects[name]
        n, done = len(pr.stages), pr.completed_stages
        where: Path = ("projects", name)
        for k in range(n, done, -1):
            found = latest_start(pr, k, spec)
            if found is None or found.time > self.t - _EPS:
                continue
            day = self.sc.timeline.date(found.time)
            what = (
                f"projects.{name} is completed"
                if k == n
                else f"stage {pr.stages[k].name!r} of projects.{name} has begun"
            )
            since = "" if done == 0 else f", with {done} stages completed at the start"
            why = f"{what} by {day} at the latest: " + "; ".join(found.parts) + found.pace + since
            causes = tuple((*where, "stages", j, "duration") for j in found.stages)
            causes += tuple(
                (*where, key) for key in ("pace", "cancel_hazard") if key in pr.model_fields_set
            )
            return Bound(k, k, False, (why,), causes)
        return Bound(done, done)
