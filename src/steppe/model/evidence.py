"""A scenario's ``evidence:`` items checked and turned into observations.

:func:`build_evidence` resolves the names of every item (with a did-you-mean), checks its
dates against the scenario window and ``as_of``, checks the items against each other (a
one-shot event occurs once; the periods of one event's items do not overlap) and against
the model (:mod:`steppe.model.feasibility`), and returns the
:mod:`~steppe.model.observations` sorted by the day each item ends. Every error is a
:class:`~steppe.errors.ScenarioError` with the YAML path of the value at fault
(``evidence[3].occurred``), which the loader turns into a file, line and column.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from typing import TypeVar

from steppe.errors import PathPart, ScenarioError, format_path
from steppe.model.base import suggest
from steppe.model.evidence_spec import (
    EventCountSpec,
    EventNotBySpec,
    EventOccurredSpec,
    EventTimesSpec,
    SeriesAtSpec,
    SeriesTotalSpec,
    StageReachedSpec,
)
from steppe.model.feasibility import check_event_can_occur, check_series_bounds, check_stage
from steppe.model.observations import (
    EventCount,
    EventNotBy,
    EventOccurred,
    EventTimes,
    Observation,
    SeriesObserved,
    StageReached,
)
from steppe.model.schema import ScenarioSpec

__all__ = ["build_evidence"]

Path = tuple[PathPart, ...]
_EventItem = EventOccurredSpec | EventNotBySpec | EventTimesSpec | EventCountSpec
_T = TypeVar("_T")


def build_evidence(spec: ScenarioSpec) -> tuple[Observation, ...]:
    """The observations of ``spec.evidence``, sorted by ``end`` then by item index.

    Raises
    ------
    ScenarioError
        For the first item at fault, with its YAML path (see the module's description).
    """
    if not spec.evidence:
        return ()
    if spec.as_of is None:
        raise ScenarioError(
            "evidence needs as_of: the date up to which it was observed "
            "(add as_of: YYYY-MM-DD, between start and horizon)",
            path=("evidence",),
        )
    if not spec.start <= spec.as_of <= spec.horizon:
        raise ScenarioError(
            f"as_of ({spec.as_of}) must be within [start, horizon] = [{spec.start}, "
            f"{spec.horizon}] when there is evidence",
            path=("as_of",),
        )
    check = _Dates(spec.start, spec.as_of)
    out: list[Observation] = []
    by_event: dict[str, list[tuple[int, _EventItem]]] = {}
    for i, item in enumerate(spec.evidence):
        path: Path = ("evidence", i)
        if isinstance(item, _EventItem):
            by_event.setdefault(_event(item, spec, path), []).append((i, item))
            out.append(_event_observation(item, i, spec, check, path))
        elif isinstance(item, StageReachedSpec):
            out.append(_stage(item, i, spec, check, path))
        else:
            out.append(_series(item, i, spec, check, path))
    for name, items in by_event.items():
        if spec.events[name].recurring:
            _check_periods(name, items, spec)
        else:
            _check_one_shot(name, items, spec)
    return tuple(sorted(out, key=lambda o: (o.end, o.item)))


class _Dates:
    """Checks that dates lie within ``[start, as_of]`` and that ranges are in order."""

    def __init__(self, start: dt.date, as_of: dt.date) -> None:
        self.start, self.as_of = start, as_of

    def day(self, day: dt.date, path: Path) -> dt.date:
        if not self.start <= day <= self.as_of:
            raise ScenarioError(
                f"date {day} is outside [start, as_of] = [{self.start}, {self.as_of}]: "
                "evidence speaks of what happened from the start up to as_of",
                path=path,
            )
        return day

    def range(self, pair: tuple[dt.date, dt.date], path: Path) -> tuple[dt.date, dt.date]:
        first, last = pair
        self.day(first, (*path, 0))
        self.day(last, (*path, 1))
        if first > last:
            raise ScenarioError(
                f"the range [{first}, {last}] is reversed: give [first day, last day]",
                path=path,
            )
        return first, last


def _known(kind: str, name: str, table: Mapping[str, _T], path: Path) -> _T:
    """``table[name]``; a :class:`ScenarioError` at ``path + (kind,)`` with a did-you-mean
    if ``name`` is not there (``kind``: ``"event"``, ``"project"`` or ``"series"``)."""
    if name not in table:
        raise ScenarioError(
            f"unknown {kind} {name!r}{suggest(name, list(table))}", path=(*path, kind)
        )
    return table[name]


def _event(item: _EventItem, spec: ScenarioSpec, path: Path) -> str:
    event = _known("event", item.event, spec.events, path)
    key = _key(item)
    if event.recurring and isinstance(item, EventOccurredSpec | EventNotBySpec):
        raise ScenarioError(
            f"events.{item.event} is recurring: {key}: is for a one-shot event; say how often "
            "it occurred in a period with on: [DAYS] or count: N, and between: [FIRST, LAST] "
            "(count: 0 for none)",
            path=(*path, key),
        )
    if not event.recurring and isinstance(item, EventTimesSpec | EventCountSpec):
        raise ScenarioError(
            f"events.{item.event} is a one-shot event: {key}: is for a recurring event; use "
            "occurred: DAY (or [FIRST, LAST] when the day is not known) or not_by: DAY",
            path=(*path, key),
        )
    if event.history and not event.recurring:
        raise ScenarioError(
            f"events.{item.event} is a one-shot event that already occurred before the start "
            f"(history: {event.history[0]}): it cannot occur again, so there is nothing to "
            "observe about it",
            path=(*path, "event"),
        )
    return item.event


def _key(item: _EventItem) -> str:
    if isinstance(item, EventOccurredSpec):
        return "occurred"
    if isinstance(item, EventNotBySpec):
        return "not_by"
    return "on" if isinstance(item, EventTimesSpec) else "count"


def _event_observation(
    item: _EventItem, i: int, spec: ScenarioSpec, check: _Dates, path: Path
) -> Observation:
    name, source = item.event, item.source
    if isinstance(item, EventOccurredSpec):
        where = (*path, "occurred")
        if isinstance(item.occurred, dt.date):
            first = last = check.day(item.occurred, where)
        else:
            first, last = check.range(item.occurred, where)
        obs = EventOccurred(name, first, last, item=i, source=source)
        check_event_can_occur(name, spec, _said(obs), where)
        return obs
    if isinstance(item, EventNotBySpec):
        until = check.day(item.not_by, (*path, "not_by"))
        return EventNotBy(name, until, item=i, source=source)
    first, last = check.range(item.between, (*path, "between"))
    if isinstance(item, EventTimesSpec):
        seen: set[dt.date] = set()
        for j, day in enumerate(item.on):
            if not first <= day <= last:
                raise ScenarioError(
                    f"date {day} is outside between: [{first}, {last}]",
                    path=(*path, "on", j),
                )
            if day in seen:
                raise ScenarioError(
                    f"date {day} is given twice: on: lists the days of distinct occurrences",
                    path=(*path, "on", j),
                )
            seen.add(day)
        times = EventTimes(name, tuple(sorted(item.on)), first, last, item=i, source=source)
        if item.on:
            check_event_can_occur(name, spec, _said(times), (*path, "on"))
        return times
    if item.count < 0:
        raise ScenarioError(f"count must be 0 or more, found {item.count}", path=(*path, "count"))
    count = EventCount(name, item.count, first, last, item=i, source=source)
    if item.count:
        check_event_can_occur(name, spec, _said(count), (*path, "count"))
        if first == last:
            raise ScenarioError(
                f"events.{name} cannot occur {_times(item.count)} between {first} and {last}: "
                f"the period is the instant at the beginning of {first}, of length 0; for "
                f"occurrences on that day give between: [{first}, {first + dt.timedelta(1)}]",
                path=(*path, "between"),
            )
    return count


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _said(obs: Observation) -> str:
    """What an observation says of its event, after "the evidence says it"."""
    return obs.describe().split(" ", 1)[1]


def _check_one_shot(name: str, items: list[tuple[int, _EventItem]], spec: ScenarioSpec) -> None:
    """A one-shot event occurs once: at most one ``occurred``, and a ``not_by`` neither
    after it nor implied by it; two ``not_by`` say the same thing twice."""
    occurred = [(i, it) for i, it in items if isinstance(it, EventOccurredSpec)]
    not_by = [(i, it) for i, it in items if isinstance(it, EventNotBySpec)]
    if len(occurred) > 1:
        (i, _), (j, _) = occurred[:2]
        raise ScenarioError(
            f"events.{name} is a one-shot event and occurs once: {_item(i)} already says "
            "when; give one occurred: (a range [FIRST, LAST] when the day is not known)",
            path=("evidence", j, "occurred"),
        )
    if len(not_by) > 1:
        (i, a), (j, b) = not_by[:2]
        raise ScenarioError(
            f"events.{name}: {_item(i)} already says it had not occurred by {a.not_by}; "
            f"give one not_by: (the latest, {max(a.not_by, b.not_by)})",
            path=("evidence", j, "not_by"),
        )
    if occurred and not_by:
        (i, occ), (j, nb) = occurred[0], not_by[0]
        first = occ.occurred if isinstance(occ.occurred, dt.date) else occ.occurred[0]
        if nb.not_by > first:
            raise ScenarioError(
                f"events.{name}: not_by {nb.not_by} is later than its occurrence ({_item(i)}: "
                f"from {first}); to narrow the day of the occurrence, change occurred:",
                path=("evidence", j, "not_by"),
            )
        raise ScenarioError(
            f"events.{name}: {_item(i)} says it occurred from {first}, which already says it "
            "had not occurred before; remove this item",
            path=("evidence", j, "not_by"),
        )


def _check_periods(name: str, items: list[tuple[int, _EventItem]], spec: ScenarioSpec) -> None:
    """The periods (``between``) of a recurring event's items do not overlap (they may
    touch at an end point, but not on a day one of them lists in ``on``)."""
    periods = sorted(
        (it.between[0], it.between[1], i)
        for i, it in items
        if isinstance(it, EventTimesSpec | EventCountSpec)
    )
    for (a0, a1, i), (b0, _, j) in itertools.pairwise(periods):
        if b0 < a1:
            first, second = sorted((i, j))
            raise ScenarioError(
                f"events.{name}: the period overlaps that of {_item(first)} "
                f"([{a0}, {a1}]); periods of one event may touch at an end point but not "
                "overlap: merge them into one item",
                path=("evidence", second, "between"),
            )
    # Where two periods meet, the day belongs to both: an occurrence listed on it by one
    # would be forced again, or contradicted, by the other.
    on_days = {i: it.on for i, it in items if isinstance(it, EventTimesSpec)}
    for (a0, a1, i), (b0, b1, j) in itertools.permutations(periods, 2):
        for k, day in enumerate(on_days.get(i, [])):
            if day in (a0, a1) and day in (b0, b1):
                raise ScenarioError(
                    f"events.{name}: {day} is where this period meets that of {_item(j)} "
                    f"([{b0}, {b1}]), so an occurrence on it lies in both (their ends are "
                    "included); let the periods meet on a day without an occurrence",
                    path=("evidence", i, "on", k),
                )


def _item(i: int) -> str:
    return format_path(("evidence", i))


def _stage(
    item: StageReachedSpec, i: int, spec: ScenarioSpec, check: _Dates, path: Path
) -> StageReached:
    project = _known("project", item.project, spec.projects, path)
    names = [s.name for s in project.stages]
    if item.stage == "completed":
        index = len(names)
    elif item.stage in names:
        index = names.index(item.stage)
    else:
        allowed = [*names, "completed"]
        raise ScenarioError(
            f"unknown stage {item.stage!r} of projects.{item.project}"
            f"{suggest(item.stage, allowed)}; expected one of {', '.join(allowed)}",
            path=(*path, "stage"),
        )
    reached = item.reached_by is not None
    key = "reached_by" if reached else "not_reached_by"
    day = item.reached_by if item.reached_by is not None else item.not_reached_by
    assert day is not None  # the spec's tag requires exactly one of the two
    by = check.day(day, (*path, key))
    check_stage(item.project, project, index, item.stage, by, reached, spec, (*path, key))
    return StageReached(item.project, index, item.stage, by, reached, item=i, source=item.source)


def _series(
    item: SeriesAtSpec | SeriesTotalSpec, i: int, spec: ScenarioSpec, check: _Dates, path: Path
) -> SeriesObserved:
    series = _known("series", item.series, spec.series, path)
    last: dt.date | None
    if isinstance(item, SeriesTotalSpec):
        if series.kind != "rate":
            raise ScenarioError(
                f"a total is observed only for a series that is an annual rate: declare "
                f"kind: rate on series.{item.series} (or observe its level with at:)",
                path=(*path, "total"),
            )
        first, last = check.range(item.total, (*path, "total"))
        if first == last:
            raise ScenarioError(
                f"a total needs a period of at least one day, found [{first}, {last}]",
                path=(*path, "total"),
            )
    else:
        first, last = check.day(item.at, (*path, "at")), None
    _measurement(item, path)
    check_series_bounds(item.series, item, spec, (*path, "at_most"))
    return SeriesObserved(
        item.series,
        first,
        last,
        value=item.value,
        sigma=item.sigma,
        at_least=item.at_least,
        at_most=item.at_most,
        item=i,
        source=item.source,
    )


def _measurement(item: SeriesAtSpec | SeriesTotalSpec, path: Path) -> None:
    """value with sigma (lognormal error), or bounds (at_least and/or at_most)."""
    lognormal = item.value is not None or item.sigma is not None
    bounds = item.at_least is not None or item.at_most is not None
    if not lognormal and not bounds:
        raise ScenarioError(
            "a series observation needs value: with sigma: (lognormal error), or bounds "
            "at_least: and/or at_most:",
            path=path,
        )
    if lognormal and bounds:
        key = "at_least" if item.at_least is not None else "at_most"
        raise ScenarioError("give value: with sigma:, or bounds, not both", path=(*path, key))
    if lognormal:
        for key in ("value", "sigma"):
            x = getattr(item, key)
            if x is None:
                other = "sigma" if key == "value" else "value"
                raise ScenarioError(
                    f"{other}: needs {key}: too (lognormal error: log(value) ~ "
                    "N(log(true), sigma^2))",
                    path=(*path, other),
                )
            if not 0 < x < math.inf:
                raise ScenarioError(
                    f"{key} must be a number > 0 (lognormal error), found {x:g}",
                    path=(*path, key),
                )
        return
    for key in ("at_least", "at_most"):
        x = getattr(item, key)
        if x is not None and not math.isfinite(x):
            raise ScenarioError(f"{key} must be a finite number, found {x:g}", path=(*path, key))
    if item.at_least is not None and item.at_most is not None and item.at_least > item.at_most:
        raise ScenarioError(
            f"at_least ({item.at_least:g}) is above at_most ({item.at_most:g})",
            path=(*path, "at_least"),
        )
