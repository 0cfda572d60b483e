"""What a scenario's ``evidence:`` says was observed, one class per kind of item.

Dates are calendar dates; an engine reads a date ``d`` as the instant ``t(d)``, the
beginning of that day (``docs/engine.md`` sections 1 and 10). Every item knows its place in
the file (``item``, its index in the scenario's evidence list; ``Scenario.locate`` gives the
file, line and column the loader found it at) and its provenance (``source``), so that
messages about it can name it; ``end`` is the last day it speaks of, ``describe()`` says it in
words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = [
    "EventCount",
    "EventNotBy",
    "EventOccurred",
    "EventTimes",
    "Observation",
    "SeriesObserved",
    "StageReached",
]


@dataclass(frozen=True)
class _Item:
    """What every observation has besides what it says: its index in the scenario's evidence
    list and its provenance, keyword-only (each kind's own fields come first, in order)."""

    item: int = field(default=0, kw_only=True)
    source: str = field(default="", kw_only=True)

    @property
    def end(self) -> dt.date:
        """The last day the item speaks of."""
        raise NotImplementedError

    def describe(self) -> str:
        """The observation in words."""
        raise NotImplementedError


class _Period:
    """Mixin of an observation of the days ``[first, last]``, which ends at ``last``."""

    first: dt.date
    last: dt.date

    @property
    def end(self) -> dt.date:
        return self.last

    def _between(self) -> str:
        return f"between {self.first} and {self.last}"


@dataclass(frozen=True)
class EventOccurred(_Period, _Item):
    """One-shot event ``event`` occurred on a day in ``[first, last]`` (``first == last``:
    on that day exactly), and not before."""

    event: str
    first: dt.date
    last: dt.date

    def describe(self) -> str:
        if self.first == self.last:
            return f"events.{self.event} occurred on {self.first}"
        return f"events.{self.event} occurred {self._between()}"


@dataclass(frozen=True)
class EventNotBy(_Item):
    """Event ``event`` had not occurred before ``until``."""

    event: str
    until: dt.date

    @property
    def end(self) -> dt.date:
        return self.until

    def describe(self) -> str:
        return f"events.{self.event} had not occurred by {self.until}"


@dataclass(frozen=True)
class EventTimes(_Period, _Item):
    """Recurring event ``event`` occurred on exactly these days within ``[first, last]``
    (the list is exhaustive for the period)."""

    event: str
    dates: tuple[dt.date, ...]
    first: dt.date
    last: dt.date

    def describe(self) -> str:
        days = ", ".join(d.isoformat() for d in self.dates) or "no day"
        return f"events.{self.event} occurred on {days} {self._between()}"


@dataclass(frozen=True)
class EventCount(_Period, _Item):
    """Recurring event ``event`` occurred exactly ``count`` times within ``[first, last]``."""

    event: str
    count: int
    first: dt.date
    last: dt.date

    def describe(self) -> str:
        return f"events.{self.event} occurred {self.count} times {self._between()}"


@dataclass(frozen=True)
class StageReached(_Item):
    """Project ``project`` had (``reached``) or had not begun stage ``stage`` by ``by``.

    ``stage`` is the stage's index; ``len(stages)`` means the project was complete.
    """

    project: str
    stage: int
    stage_name: str
    by: dt.date
    reached: bool

    @property
    def end(self) -> dt.date:
        return self.by

    def describe(self) -> str:
        what = "completed" if self.stage_name == "completed" else f"begun {self.stage_name!r}"
        verb = "had" if self.reached else "had not"
        return f"projects.{self.project} {verb} {what} by {self.by}"


@dataclass(frozen=True)
class SeriesObserved(_Item):
    """Series ``series`` observed: its level at ``first`` (``last is None``) or its total
    (the integral of an annual rate) over ``[first, last]``.

    The measurement model is lognormal error of spread ``sigma`` around ``value``, or the
    bounds ``at_least`` / ``at_most`` (either may be ``None``).
    """

    series: str
    first: dt.date
    last: dt.date | None = None
    value: float | None = None
    sigma: float | None = None
    at_least: float | None = None
    at_most: float | None = None

    @property
    def total(self) -> bool:
        """Whether this is a total over a period (else a level at a date)."""
        return self.last is not None

    @property
    def end(self) -> dt.date:
        return self.last if self.last is not None else self.first

    def describe(self) -> str:
        if self.sigma is not None:
            what = f"{self.value:g} (lognormal error, sigma {self.sigma:g})"
        else:
            parts = []
            if self.at_least is not None:
                parts.append(f"at least {self.at_least:g}")
            if self.at_most is not None:
                parts.append(f"at most {self.at_most:g}")
            what = " and ".join(parts)
        if self.last is not None:
            return f"series.{self.series} total from {self.first} to {self.last}: {what}"
        return f"series.{self.series} on {self.first}: {what}"


Observation = EventOccurred | EventNotBy | EventTimes | EventCount | StageReached | SeriesObserved
