"""From a scenario's observations (``Scenario.evidence``) to an engine's plan.

Each observation of :mod:`steppe.model.observations` becomes one piece of an
:class:`~steppe.evidence.plan.EvidencePlan` (``docs/engine.md`` section 10), with dates read
as the instants ``t(d)`` at the beginning of their days:

* an event that occurred on day ``d``: a window ``[0, t(d)]`` with an occurrence forced at
  ``t(d)``; between ``d1`` and ``d2``: a window ``[0, t(d2)]`` with one occurrence drawn
  uniformly in ``[t(d1), t(d2)]`` from the item's stream ``evidence:N:times``;
* an event that had not occurred by ``d``: a window ``[0, t(d)]``;
* a recurring event's days or count within ``[a, b]``: a window ``[t(a), t(b)]`` with those
  occurrences, fixed or drawn;
* a project's stage (not) reached by ``d``: a stage check at ``t(d)``;
* a series' level at ``d`` or total over ``[a, b]``: a series check.
"""

from __future__ import annotations

from dataclasses import dataclass

from steppe.evidence.plan import EvidencePlan, SeriesCheck, StageCheck, Window
from steppe.model import observations as obs
from steppe.model.scenario import Scenario

__all__ = ["Built", "build_plan"]


@dataclass(frozen=True)
class Built:
    """A scenario's plan, and what names the observations behind its checkpoints.

    Attributes
    ----------
    plan
        The plan.
    ends
        For each checkpoint of the plan, the observations that end there.
    """

    plan: EvidencePlan
    ends: tuple[tuple[obs.Observation, ...], ...]
    scenario: Scenario

    def describe(self, when: float) -> str:
        """The observations that end at checkpoint time ``when``, located in their file,
        for the error of a run that no replication survives."""
        for t, items in zip(self.plan.checkpoints, self.ends, strict=True):
            if t == when:
                return "; ".join(_located(self.scenario, o) for o in items)
        return f"model time {when:g}"


def _located(sc: Scenario, o: obs.Observation) -> str:
    where = sc.locate(("evidence", o.item))
    return f"{where} ({o.describe()})"


def build_plan(scenario: Scenario) -> Built:
    """The plan of ``scenario``'s evidence (see the module's description).

    Raises
    ------
    KeyError
        If an observation names an event, project or series the scenario does not have
        (the loader has checked names, with a did-you-mean, before this).
    """
    tl = scenario.timeline
    events = {e.name: e.index for e in scenario.events}
    series = {s.name: s.index for s in scenario.series}
    projects = {p.name: p.index for p in scenario.projects}
    windows: list[Window] = []
    checks: list[SeriesCheck] = []
    stages: list[StageCheck] = []
    at: dict[float, list[obs.Observation]] = {}
    for o in scenario.evidence:
        t_end = tl.years(o.end)
        at.setdefault(t_end, []).append(o)
        source = f"evidence:{o.item}:times"
        match o:
            case obs.EventOccurred(event=name, first=first, last=last):
                lo, hi = tl.years(first), tl.years(last)
                if first == last:
                    windows.append(Window(events[name], 0.0, hi, times=(hi,)))
                else:
                    windows.append(
                        Window(events[name], 0.0, hi, draws=1, dlo=lo, dhi=hi, source=source)
                    )
            case obs.EventNotBy(event=name, until=until):
                windows.append(Window(events[name], 0.0, tl.years(until)))
            case obs.EventTimes(event=name, dates=dates, first=first, last=last):
                times = tuple(sorted(tl.years(d) for d in dates))
                windows.append(Window(events[name], tl.years(first), tl.years(last), times))
            case obs.EventCount(event=name, count=count, first=first, last=last):
                lo, hi = tl.years(first), tl.years(last)
                windows.append(
                    Window(events[name], lo, hi, draws=count, dlo=lo, dhi=hi, source=source)
                    if count
                    else Window(events[name], lo, hi)
                )
            case obs.StageReached(project=name, stage=stage, by=by, reached=reached):
                stages.append(StageCheck(projects[name], stage, tl.years(by), reached))
            case obs.SeriesObserved(series=name, first=first, last=last):
                lo = tl.years(first)
                hi = tl.years(last) if last is not None else lo
                checks.append(
                    SeriesCheck(
                        series[name],
                        lo,
                        hi,
                        value=o.value,
                        sigma=o.sigma,
                        at_least=o.at_least,
                        at_most=o.at_most,
                    )
                )
    windows.sort(key=lambda w: (w.event, w.lo, w.hi))
    as_of = scenario.spec.as_of
    plan = EvidencePlan(
        windows=tuple(windows),
        series=tuple(checks),
        stages=tuple(stages),
        as_of=tl.years(as_of) if as_of is not None else max(at, default=0.0),
    )
    ends = tuple(tuple(at[t]) for t in plan.checkpoints)
    return Built(plan, ends, scenario)
