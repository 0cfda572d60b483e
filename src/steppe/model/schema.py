"""The scenario spec: what a scenario file says, validated field by field.

These pydantic models mirror the YAML format documented in ``docs/scenario-format.md``.
They check types, required keys and ranges; cross-references (names in expressions, event
names in jumps, dates within the window) are checked when a spec is compiled into a
:class:`steppe.model.scenario.Scenario`. ``ScenarioSpec.model_json_schema()`` is the part of
the JSON Schema printed by ``steppe schema`` that whole scenarios are checked against (see
:mod:`steppe.load.fileschema`).
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from steppe.model.base import Strict
from steppe.model.correlation_spec import CorrelationsSpec, PrecisionValue
from steppe.model.distributions import Distribution
from steppe.model.evidence_spec import MAX_EVIDENCE, EvidenceItem
from steppe.model.expr import MATH_FUNCTIONS, STATE_FUNCTIONS

__all__ = [
    "ActorSpec",
    "CombineOutcome",
    "DerivedParam",
    "EventSpec",
    "FixedParam",
    "JumpSpec",
    "OutcomeSpec",
    "ParamSpec",
    "ProbabilityOutcome",
    "ProjectSpec",
    "ScenarioSpec",
    "SeriesSpec",
    "SignpostSpec",
    "SourceSpec",
    "StageSpec",
    "TimeToOutcome",
    "TotalOutcome",
    "ValueOutcome",
]

RESERVED = frozenset({"t", "True", "False", *MATH_FUNCTIONS, *STATE_FUNCTIONS}) | frozenset(
    keyword.kwlist
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

#: Series step sizes by name, in years.
STEPS: dict[str, float] = {
    "day": 1 / 365.25,
    "week": 7 / 365.25,
    "month": 1 / 12,
    "quarter": 1 / 4,
    "year": 1.0,
}
MAX_ITEMS = 1_000


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"{name!r} is not a valid name: use a letter then letters, digits or '_' "
            "(at most 64 characters)"
        )
    if name in RESERVED:
        raise ValueError(f"{name!r} is reserved (a keyword, a function or 't')")
    return name


Name = Annotated[str, AfterValidator(_check_name)]
#: An expression: a formula string, or a plain number.
Expr = Annotated[str | float, Field(union_mode="left_to_right")]
Text = Annotated[str, Field(max_length=20_000)]


T = TypeVar("T")
#: A mapping from names to items, at most MAX_ITEMS long.
Table = Annotated[dict[Name, T], Field(max_length=MAX_ITEMS)]


class SourceSpec(Strict):
    """A cited source: ``id`` is how parameters refer to it."""

    id: Name
    citation: Text
    url: str | None = None
    date: dt.date | None = None


class ActorSpec(Strict):
    """A state, government or bloc; ``attributes`` are constants readable as ``KZ.attr``."""

    name: Text
    attributes: dict[Name, float | bool] = Field(default_factory=dict)
    source: Text | None = None
    why: Text | None = None


class FixedParam(Strict):
    """A fixed value with its source: ``{value: 0.3, source: ...}``."""

    value: float
    source: Text | None = None
    why: Text | None = None


class DerivedParam(Strict):
    """A parameter computed from others: ``{expr: "a * b"}``."""

    expr: Expr
    source: Text | None = None
    why: Text | None = None


def _param_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        if "dist" in value:
            return "a distribution"
        if "expr" in value:
            return "a formula"
        if "value" in value:
            return "a fixed value"
    return None


ParamSpec = Annotated[
    Annotated[float, Tag("a number")]
    | Annotated[Distribution, Tag("a distribution")]
    | Annotated[FixedParam, Tag("a fixed value")]
    | Annotated[DerivedParam, Tag("a formula")],
    Discriminator(
        _param_tag,
        custom_error_type="parameter",
        custom_error_message=(
            "expected a number, {dist: NAME, ...}, {value: NUMBER} or {expr: FORMULA}"
        ),
    ),
]


def _duration_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return "a formula"
    if isinstance(value, dict):
        return "a distribution"
    return None


#: A duration in years: a number or formula (over parameters), or a distribution drawn anew
#: for every occurrence.
Duration = Annotated[
    Annotated[Expr, Tag("a formula")] | Annotated[Distribution, Tag("a distribution")],
    Discriminator(
        _duration_tag,
        custom_error_type="duration",
        custom_error_message="expected a number of years, a formula or {dist: NAME, ...}",
    ),
]


class EventSpec(Strict):
    """Something that may happen: once (default) or ``recurring``, at a yearly ``hazard``."""

    title: Text | None = None
    actor: Name | None = None
    hazard: Expr | None = None
    recurring: bool = False
    duration: Duration | None = None
    history: Annotated[list[dt.date], Field(max_length=MAX_ITEMS)] = Field(default_factory=list)
    source: Text | None = None
    why: Text | None = None

    @model_validator(mode="after")
    def _check(self) -> EventSpec:
        if self.hazard is None and not self.history:
            raise ValueError("an event needs a hazard, a history, or both")
        if not self.recurring and len(self.history) > 1:
            raise ValueError(
                f"a one-shot event can have at most one history date, found {len(self.history)}"
                " (set recurring: true)"
            )
        return self


class StageSpec(Strict):
    """One stage of a project: ``duration`` in years of work at pace 1."""

    name: Name
    duration: Duration
    source: Text | None = None
    why: Text | None = None


class ProjectSpec(Strict):
    """A staged project: stages in order, a ``pace`` and a yearly ``cancel_hazard``."""

    title: Text | None = None
    actors: list[Name] = Field(default_factory=list)
    stages: Annotated[list[StageSpec], Field(min_length=1, max_length=50)]
    completed_stages: Annotated[int, Field(ge=0)] = 0
    pace: Expr = 1.0
    cancel_hazard: Expr = 0.0
    #: A condition that, once it holds, stays true (``occurred(x)`` ...): before it holds
    #: the project neither progresses nor risks cancellation.
    starts_when: Expr | None = None
    source: Text | None = None
    why: Text | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        # without starts_when, dumps (and checksums of them) stay as they were before it
        out = handler(self)
        if isinstance(out, dict) and self.starts_when is None:
            out.pop("starts_when", None)
        return out

    @model_validator(mode="after")
    def _check(self) -> ProjectSpec:
        names = [s.name for s in self.stages]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"stage names must be unique, found repeated {dupes}")
        if self.completed_stages > len(self.stages):
            raise ValueError(
                f"completed_stages is {self.completed_stages} but there are only "
                f"{len(self.stages)} stages"
            )
        return self


class JumpSpec(Strict):
    """A jump of a series when ``event`` occurs: multiply by ``factor`` or ``add``."""

    event: Name
    factor: Expr | None = None
    add: Expr | None = None
    why: Text | None = None

    @model_validator(mode="after")
    def _check(self) -> JumpSpec:
        if (self.factor is None) == (self.add is None):
            raise ValueError("give exactly one of factor or add")
        return self


class SeriesSpec(Strict):
    """A quantity over time, stepped on the scenario's ``step`` grid."""

    title: Text | None = None
    unit: Text = ""
    initial: Expr
    process: Literal["log", "linear"] = "log"
    #: ``rate``: an annual rate (e.g. $M/year), whose total over a period can be observed.
    kind: Literal["level", "rate"] = "level"
    drift: Expr = 0.0
    volatility: Expr = 0.0
    #: Mean reversion (an Ornstein-Uhlenbeck process, in log space for a log series): the
    #: level the series reverts to, in the series' units, and the half-life of a gap to
    #: it, in years. Both or neither; they replace the drift.
    reverts_to: Expr | None = None
    half_life: Expr | None = None
    floor: float | None = None
    jumps: Annotated[list[JumpSpec], Field(max_length=MAX_ITEMS)] = Field(default_factory=list)
    source: Text | None = None
    why: Text | None = None

    @model_validator(mode="after")
    def _check(self) -> SeriesSpec:
        if (self.reverts_to is None) != (self.half_life is None):
            given, missing = ("reverts_to", "half_life")
            if self.reverts_to is None:
                given, missing = missing, given
            raise ValueError(f"{given} needs {missing}: give both for a mean-reverting series")
        if self.reverts_to is not None and self.drift != 0.0:
            raise ValueError(
                "a mean-reverting series (reverts_to) has no drift: the level it reverts to "
                "replaces it; remove drift, or reverts_to and half_life"
            )
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        # A series that does not declare its kind (or mean reversion) dumps as it did before
        # these existed, so that dumps (and checksums of them) of scenarios without them do
        # not change.
        out = handler(self)
        if isinstance(out, dict):
            if self.kind == "level":
                out.pop("kind", None)
            if self.reverts_to is None:
                out.pop("reverts_to", None)
                out.pop("half_life", None)
        return out


class _OutcomeBase(Strict):
    title: Text | None = None
    unit: Text | None = None
    why: Text | None = None


class ProbabilityOutcome(_OutcomeBase):
    """P(condition holds at date ``by``; default the horizon)."""

    probability: Expr
    by: dt.date | None = None


class ValueOutcome(_OutcomeBase):
    """The distribution of a formula's value at date ``at`` (default the horizon)."""

    value: Expr
    at: dt.date | None = None


class TimeToOutcome(_OutcomeBase):
    """When a condition first holds (never, within the horizon, is reported as such)."""

    time_to: Expr


class CombineOutcome(_OutcomeBase):
    """and/or/not of other outcomes, by date ``by`` (default the horizon)."""

    combine: Expr
    by: dt.date | None = None


class TotalOutcome(_OutcomeBase):
    """The total over ``over`` = ``[FIRST, LAST]`` of a series of ``kind: rate`` (the
    integral of the annual rate, as evidence's ``total:`` observes it)."""

    total: str
    over: tuple[dt.date, dt.date]


_OUTCOME_KEYS = ("probability", "value", "time_to", "combine", "total")


def _outcome_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        found = [k for k in _OUTCOME_KEYS if k in value]
        if len(found) == 1:
            return f"{found[0]} outcome"
    return None


OutcomeSpec = Annotated[
    Annotated[ProbabilityOutcome, Tag("probability outcome")]
    | Annotated[ValueOutcome, Tag("value outcome")]
    | Annotated[TimeToOutcome, Tag("time_to outcome")]
    | Annotated[CombineOutcome, Tag("combine outcome")]
    | Annotated[TotalOutcome, Tag("total outcome")],
    Discriminator(
        _outcome_tag,
        custom_error_type="outcome",
        custom_error_message=(
            "an outcome needs exactly one of the keys probability, value, time_to, combine or total"
        ),
    ),
]


class SignpostSpec(Strict):
    """Something an analyst can watch in the world: a condition that holds, or not, by ``by``.

    Recorded per replication as a 0/1 indicator (``indicators.parquet``) and ranked by
    ``steppe signposts`` by how much learning it would tell about each outcome
    (``docs/scenario-format.md`` section 20, ``docs/scoring.md``).
    """

    probability: Expr
    by: dt.date
    title: Text | None = None
    #: What to watch in the world, e.g. "Russian legislation on terrorist lists".
    watch: Text | None = None
    source: Text | None = None
    why: Text | None = None


class ScenarioSpec(Strict):
    """A whole scenario file."""

    steppe: Literal[1] = 1
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    title: Text
    description: Text | None = None
    as_of: dt.date | None = None
    sources: Annotated[list[SourceSpec], Field(max_length=MAX_ITEMS)] = Field(default_factory=list)
    start: dt.date
    horizon: dt.date
    step: Literal["day", "week", "month", "quarter", "year"] = "month"
    replications: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1000
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    actors: Table[ActorSpec] = Field(default_factory=dict)
    parameters: Table[ParamSpec] = Field(default_factory=dict)
    events: Table[EventSpec] = Field(default_factory=dict)
    projects: Table[ProjectSpec] = Field(default_factory=dict)
    series: Table[SeriesSpec] = Field(default_factory=dict)
    #: Rank correlations between drawn parameters (see :mod:`steppe.model.correlation_spec`).
    correlations: CorrelationsSpec | None = None
    #: Stop at a Monte Carlo precision (see :mod:`steppe.model.correlation_spec`).
    precision: PrecisionValue | None = None
    outcomes: Annotated[dict[Name, OutcomeSpec], Field(min_length=1, max_length=MAX_ITEMS)]
    evidence: Annotated[list[EvidenceItem], Field(max_length=MAX_EVIDENCE)] = Field(
        default_factory=list
    )
    signposts: Table[SignpostSpec] = Field(default_factory=dict)

    @field_validator("horizon")
    @classmethod
    def _check_horizon(cls, horizon: dt.date, info: ValidationInfo) -> dt.date:
        # A field validator (not a model validator) so the error points at ``horizon``.
        start = info.data.get("start")
        if start is None:  # start itself is invalid and reported on its own
            return horizon
        if not horizon > start:
            raise ValueError(f"horizon ({horizon}) must be after start ({start})")
        if (horizon - start).days > 200 * 365:
            raise ValueError("the window from start to horizon is longer than 200 years")
        return horizon

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        # A scenario without evidence (signposts) dumps as it did before ``evidence``
        # (``signposts``) existed, so that dumps (and checksums of them) do not change.
        out = handler(self)
        if isinstance(out, dict) and not self.evidence:
            out.pop("evidence", None)
        if isinstance(out, dict):  # likewise without correlations or precision
            for key in ("correlations", "precision"):
                if out.get(key) is None:
                    out.pop(key, None)
        if isinstance(out, dict) and not self.signposts:
            out.pop("signposts", None)
        return out
