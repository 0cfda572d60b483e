"""The spec of a scenario's ``evidence:`` items, as the YAML says them.

Each item names what was observed (``event``, ``project`` or ``series``) and how (one of
``occurred``, ``not_by``, ``on`` + ``between``, ``count`` + ``between``, ``reached_by``,
``not_reached_by``, ``at``, ``total``); every item carries its ``source``. These models check
only types and keys; names, dates, consistency and feasibility are checked when the scenario
is built (:mod:`steppe.model.evidence`), where every error can name its item's YAML path.
See ``docs/scenario-format.md``, section "Evidence".
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag

from steppe.model.base import Strict

__all__ = [
    "EventCountSpec",
    "EventNotBySpec",
    "EventOccurredSpec",
    "EventTimesSpec",
    "EvidenceFileSpec",
    "EvidenceItem",
    "SeriesAtSpec",
    "SeriesTotalSpec",
    "StageReachedSpec",
]

MAX_EVIDENCE = 1_000
Text = Annotated[str, Field(max_length=20_000)]
#: A source is required on every item: a quotation of where the observation comes from.
Source = Annotated[str, Field(min_length=1, max_length=20_000)]
#: An inclusive range of days, ``[first, last]``.
DateRange = tuple[dt.date, dt.date]


class _Item(Strict):
    source: Source
    why: Text | None = None


class EventOccurredSpec(_Item):
    """A one-shot event occurred on a day, or on an unknown day of an inclusive range."""

    event: str
    occurred: dt.date | DateRange


class EventNotBySpec(_Item):
    """An event had not occurred by a day (the beginning of that day)."""

    event: str
    not_by: dt.date


class EventTimesSpec(_Item):
    """A recurring event occurred on exactly these days within ``between`` (exhaustive)."""

    event: str
    on: Annotated[list[dt.date], Field(max_length=MAX_EVIDENCE)]
    between: DateRange


class EventCountSpec(_Item):
    """A recurring event occurred exactly ``count`` times within ``between``."""

    event: str
    count: int
    between: DateRange


class StageReachedSpec(_Item):
    """A project had (``reached_by``) or had not (``not_reached_by``) begun ``stage`` (a
    stage name, or ``completed``) by a day."""

    project: str
    stage: str
    reached_by: dt.date | None = None
    not_reached_by: dt.date | None = None


class _SeriesItem(_Item):
    series: str
    value: float | None = None
    sigma: float | None = None
    at_least: float | None = None
    at_most: float | None = None


class SeriesAtSpec(_SeriesItem):
    """A series' level at a day: ``value`` with lognormal error ``sigma``, or bounds."""

    at: dt.date


class SeriesTotalSpec(_SeriesItem):
    """A rate series' total over an inclusive period (the integral of the annual rate)."""

    total: DateRange


#: The keys that say how an item of each kind was observed.
HOW: dict[str, tuple[str, ...]] = {
    "event": ("occurred", "not_by", "on", "count"),
    "project": ("reached_by", "not_reached_by"),
    "series": ("at", "total"),
}
_TAG_OF = {
    "occurred": "event occurred",
    "not_by": "event not_by",
    "on": "event on",
    "count": "event count",
    "at": "series at",
    "total": "series total",
}


def _evidence_tag(value: Any) -> str | None:
    """The kind of an item: which of event/project/series, then which observation key."""
    if isinstance(value, _Item):  # a spec built in Python (or being serialised)
        return _TAG_BY_CLASS.get(type(value))
    if not isinstance(value, dict):
        return None
    whats = [k for k in HOW if k in value]
    if len(whats) != 1:
        return None
    hows = [k for k in HOW[whats[0]] if k in value]
    if whats[0] == "project":
        return "project stage" if len(hows) == 1 else None
    return _TAG_OF[hows[0]] if len(hows) == 1 else None


_TAG_BY_CLASS: dict[type, str] = {
    EventOccurredSpec: "event occurred",
    EventNotBySpec: "event not_by",
    EventTimesSpec: "event on",
    EventCountSpec: "event count",
    StageReachedSpec: "project stage",
    SeriesAtSpec: "series at",
    SeriesTotalSpec: "series total",
}

EvidenceItem = Annotated[
    Annotated[EventOccurredSpec, Tag("event occurred")]
    | Annotated[EventNotBySpec, Tag("event not_by")]
    | Annotated[EventTimesSpec, Tag("event on")]
    | Annotated[EventCountSpec, Tag("event count")]
    | Annotated[StageReachedSpec, Tag("project stage")]
    | Annotated[SeriesAtSpec, Tag("series at")]
    | Annotated[SeriesTotalSpec, Tag("series total")],
    Discriminator(
        _evidence_tag,
        custom_error_type="evidence",
        custom_error_message=(
            "an evidence item needs one of: event with exactly one of occurred, not_by, "
            "on (with between) or count (with between); project with stage and exactly one "
            "of reached_by or not_reached_by; series with exactly one of at or total"
        ),
    ),
]


class EvidenceFileSpec(Strict):
    """An evidence file (``steppe run SCENARIO --evidence FILE``): items appended after the
    scenario's, and optionally a later ``as_of``."""

    as_of: dt.date | None = None
    evidence: Annotated[list[EvidenceItem], Field(max_length=MAX_EVIDENCE)]
