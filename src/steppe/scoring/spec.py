"""The spec of a resolutions file (``steppe score RESULT... --resolutions FILE``).

A resolutions file is a YAML mapping with a ``resolutions:`` list and optionally ``title``
and ``as_of``. Each item is one question with exactly one form:

* ``outcome: NAME`` -- an outcome of the result (``by: DATE`` for a ``time_to`` outcome);
* ``event: E`` + ``by: DATE`` -- whether ``E`` had occurred by ``DATE``;
* ``project: P`` + ``stage: NAME`` (or ``completed: true``) + ``by: DATE``;
* ``series: S`` + ``at: DATE`` (+ ``above: X`` for a probability question).

and says ``resolved`` (true / false / a number / null = not yet), the ``date`` it resolved,
its ``source`` (required) and optionally ``why``. These models check types and keys only;
names, dates and the kind of answer are checked against the result folders
(:mod:`steppe.scoring.questions`), where every error can name its item's YAML path. See
``docs/scoring.md``, section "Resolutions files".
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from steppe.model.base import Strict

__all__ = [
    "EventQuestionSpec",
    "OutcomeQuestionSpec",
    "Question",
    "ResolutionsFileSpec",
    "SeriesQuestionSpec",
    "StageQuestionSpec",
    "resolutions_file_schema",
]

MAX_QUESTIONS = 1_000
Text = Annotated[str, Field(max_length=20_000)]
Source = Annotated[str, Field(min_length=1, max_length=20_000)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")]


class _Question(Strict):
    id: Id
    title: Text | None = None
    #: true / false (a probability question), a number (a value question), null (pending).
    resolved: bool | float | None
    #: When it resolved (required once ``resolved`` is not null).
    date: dt.date | None = None
    source: Source
    why: Text | None = None


class OutcomeQuestionSpec(_Question):
    """An outcome of the result: a probability or combine outcome resolves true/false, a
    value outcome to a number, a time_to outcome (with ``by``) true/false."""

    outcome: str
    by: dt.date | None = None


class EventQuestionSpec(_Question):
    """Whether ``event`` had occurred by ``by`` (the first instant of that day)."""

    event: str
    by: dt.date


class StageQuestionSpec(_Question):
    """Whether ``project`` had begun ``stage`` (or was ``completed``) by ``by``."""

    project: str
    stage: str | None = None
    completed: Literal[True] | None = None
    by: dt.date


class SeriesQuestionSpec(_Question):
    """``series`` at ``at`` (a 31 December kept in indicators): above ``above`` (a
    probability question), or its value (a value question) without ``above``."""

    series: str
    at: dt.date
    above: float | None = None


_FORMS = ("outcome", "event", "project", "series")


def _question_tag(value: Any) -> str | None:
    if isinstance(value, _Question):
        return _TAG_BY_CLASS.get(type(value))
    if not isinstance(value, dict):
        return None
    forms = [k for k in _FORMS if k in value]
    return forms[0] if len(forms) == 1 else None


_TAG_BY_CLASS: dict[type, str] = {
    OutcomeQuestionSpec: "outcome",
    EventQuestionSpec: "event",
    StageQuestionSpec: "project",
    SeriesQuestionSpec: "series",
}

Question = Annotated[
    Annotated[OutcomeQuestionSpec, Tag("outcome")]
    | Annotated[EventQuestionSpec, Tag("event")]
    | Annotated[StageQuestionSpec, Tag("project")]
    | Annotated[SeriesQuestionSpec, Tag("series")],
    Discriminator(
        _question_tag,
        custom_error_type="question",
        custom_error_message=(
            "a question needs exactly one of: outcome (by: DATE for a time_to outcome); "
            "event with by; project with stage (or completed: true) and by; series with at "
            "(and above for a probability)"
        ),
    ),
]


class ResolutionsFileSpec(Strict):
    """A resolutions file: questions with their resolutions and sources."""

    title: Text | None = None
    as_of: dt.date | None = None
    resolutions: Annotated[list[Question], Field(min_length=1, max_length=MAX_QUESTIONS)]


def resolutions_file_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a resolutions file (``steppe schema
    --resolutions``)."""
    schema = ResolutionsFileSpec.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "steppe resolutions file",
        "description": "Questions with their resolutions and sources, for steppe score "
        "(docs/scoring.md).",
    }
