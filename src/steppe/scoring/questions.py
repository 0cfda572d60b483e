"""Resolutions files: read and check them, and ask each question of a result folder.

A question is checked in two steps. The file alone (:func:`load_resolutions`): safe YAML,
keys and types (:mod:`steppe.scoring.spec`), unique ids, a ``date`` once resolved. Then
against the result folders being scored (:func:`check_questions`): a name (outcome, event,
project, stage, series) that **no** result knows, a series date kept by none, or an answer
of the wrong kind (a number for a probability question) is a located error with a
did-you-mean; a name that only **some** results know makes the others skip the question,
with the reason (:func:`forecast`).

Every question is read with the definitions of the outcomes (``docs/scenario-format.md``
§1, §12): "by D" is "by the first instant of day D", ``T <= t(D)`` with ``t(D)`` the model
time of D on the result's own timeline, exactly as an outcome ``probability: ... by: D``
counts it from the same replications.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from steppe.errors import PathPart, ScenarioError
from steppe.load.files import read_scenario_file
from steppe.load.yamlsafe import Located, parse_yaml
from steppe.model.base import suggest
from steppe.results.stats import wilson_score_interval
from steppe.scoring.inputs import ResultInput
from steppe.scoring.spec import (
    EventQuestionSpec,
    OutcomeQuestionSpec,
    ResolutionsFileSpec,
    SeriesQuestionSpec,
    StageQuestionSpec,
)

__all__ = [
    "Forecast",
    "QuestionSpec",
    "Resolutions",
    "Skip",
    "check_questions",
    "describe",
    "forecast",
    "load_resolutions",
]

QuestionSpec = OutcomeQuestionSpec | EventQuestionSpec | StageQuestionSpec | SeriesQuestionSpec
Kind = Literal["probability", "value"]


@dataclass(frozen=True)
class Resolutions:
    """A checked resolutions file: its spec and where each value stands in it."""

    spec: ResolutionsFileSpec
    located: Located
    path: str

    @property
    def questions(self) -> list[QuestionSpec]:
        """The questions, in file order."""
        return list(self.spec.resolutions)

    def error(self, message: str, index: int, key: str | None = None) -> ScenarioError:
        """A :class:`ScenarioError` at item ``index`` (its ``key``) of the file."""
        path: tuple[PathPart, ...] = ("resolutions", index) + ((key,) if key else ())
        return self.located.error(message, path)


def load_resolutions(path: str | Path) -> Resolutions:
    """Read and check a resolutions file on its own.

    Raises
    ------
    ScenarioError
        Located in the file (line, column, YAML path): unreadable, not YAML, a wrong key or
        type, a duplicate id, a resolved question without its ``date``.
    """
    from steppe.load.loader import from_pydantic  # the loader imports the model, not us

    text, _ = read_scenario_file(path, what="the resolutions file")
    doc = parse_yaml(text, file=str(path))
    try:
        spec = ResolutionsFileSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise from_pydantic(exc, doc) from None
    res = Resolutions(spec, doc, str(path))
    seen: dict[str, int] = {}
    for i, q in enumerate(spec.resolutions):
        if q.id in seen:
            raise res.error(
                f"duplicate id {q.id!r} (also resolutions[{seen[q.id]}]); ids name the "
                "questions in tables and in --base-rate",
                i,
                "id",
            )
        seen[q.id] = i
        if q.resolved is not None and q.date is None:
            raise res.error("a resolved question needs date: the day it resolved", i, "resolved")
        if isinstance(q, StageQuestionSpec) and (q.stage is None) == (q.completed is None):
            raise res.error(
                "a project question needs exactly one of stage: NAME or completed: true", i
            )
    return res


@dataclass(frozen=True)
class Forecast:
    """What a result says about a question.

    Attributes
    ----------
    kind
        ``probability`` or ``value``.
    p
        The forecast probability (probability questions).
    n
        The sample size behind it (the effective size of a conditioned run).
    ci95
        Wilson 95% interval of ``p`` from ``n``.
    samples
        The value sample (value questions), one per kept replication.
    basis
        How it was computed, for the report.
    """

    kind: Kind
    p: float | None
    n: float
    ci95: tuple[float, float] | None
    samples: npt.NDArray[np.float64] | None
    basis: str


@dataclass(frozen=True)
class Skip:
    """A question a result cannot answer, and why."""

    reason: str


def describe(q: QuestionSpec) -> str:
    """The question in words: ``kg_delists occurs by 2024-12-31``."""
    if isinstance(q, OutcomeQuestionSpec):
        return f"outcome {q.outcome}" + (f" by {q.by}" if q.by else "")
    if isinstance(q, EventQuestionSpec):
        return f"{q.event} occurs by {q.by}"
    if isinstance(q, StageQuestionSpec):
        what = "completed" if q.completed else f"{q.stage} begins"
        return f"{q.project}: {what} by {q.by}"
    if q.above is not None:
        return f"{q.series} on {q.at} above {q.above:g}"
    return f"{q.series} on {q.at}"


def question_kind(q: QuestionSpec, inputs: list[ResultInput]) -> Kind | None:
    """Probability or value; ``None`` for an outcome no input has."""
    if isinstance(q, EventQuestionSpec | StageQuestionSpec):
        return "probability"
    if isinstance(q, SeriesQuestionSpec):
        return "probability" if q.above is not None else "value"
    for r in inputs:
        block = r.summary["outcomes"].get(q.outcome)
        if isinstance(block, dict):
            return "value" if block.get("kind") == "distribution" else "probability"
    return None


def _column(q: QuestionSpec) -> str | None:
    if isinstance(q, EventQuestionSpec):
        return f"occurred({q.event})"
    if isinstance(q, SeriesQuestionSpec):
        return f"{q.series}@{q.at.isoformat()}"
    return None


def _stage_column(q: StageQuestionSpec, r: ResultInput) -> str | None:
    for name, ind in r.described.items():
        if ind.kind != "stage" or ind.subject != q.project:
            continue
        if q.completed and ind.stage_name is None:
            return name
        if not q.completed and ind.stage_name == q.stage:
            return name
    return None


def _names(inputs: list[ResultInput], kind: str) -> set[str]:
    return {i.subject for r in inputs for i in r.described.values() if i.kind == kind}


def check_questions(res: Resolutions, inputs: list[ResultInput]) -> None:
    """Check every question against the results being scored.

    Raises
    ------
    ScenarioError
        Located in the resolutions file: a name no result knows (with a did-you-mean), a
        stage no result's project has, a series date no result kept (naming the dates that
        are), an outcome ``by`` that does not fit the outcome's kind, or an answer of the
        wrong kind. The first error carries the others (``.also``).
    """
    errors: list[ScenarioError] = []
    with_indicators = [r for r in inputs if not r.missing]
    for i, q in enumerate(res.questions):
        err = _check_one(res, i, q, inputs, with_indicators)
        if err is not None:
            errors.append(err)
    if errors:
        first = errors[0]
        first.also = tuple(errors[1:])
        raise first


def _check_one(
    res: Resolutions,
    i: int,
    q: QuestionSpec,
    inputs: list[ResultInput],
    with_ind: list[ResultInput],
) -> ScenarioError | None:
    if isinstance(q, OutcomeQuestionSpec):
        outcomes = {k: v for r in inputs for k, v in r.summary["outcomes"].items()}
        if q.outcome not in outcomes:
            return res.error(
                f"unknown outcome {q.outcome!r}{suggest(q.outcome, list(outcomes))}; no result "
                "being scored has it",
                i,
                "outcome",
            )
        kind = outcomes[q.outcome].get("kind")
        if kind == "time_to_event" and q.by is None:
            return res.error(
                f"outcome {q.outcome} is a time_to outcome: say by: DATE (the question is "
                "whether it happened by then)",
                i,
                "outcome",
            )
        if kind != "time_to_event" and q.by is not None:
            return res.error(
                f"outcome {q.outcome} is read at its own date ({outcomes[q.outcome].get('date')}); "
                "by: is only for time_to outcomes (ask an event: or project: question for "
                "another date)",
                i,
                "by",
            )
    elif with_ind:
        err = _check_derived(res, i, q, with_ind)
        if err is not None:
            return err
    kind_ = question_kind(q, inputs)
    r = q.resolved
    if r is None:
        return None
    if kind_ == "probability" and not isinstance(r, bool):
        return res.error(
            f"a probability question resolves true or false, found {r!r}", i, "resolved"
        )
    if kind_ == "value" and isinstance(r, bool):
        return res.error(
            f"a value question resolves to a number, found {str(r).lower()}", i, "resolved"
        )
    if kind_ == "value" and not np.isfinite(float(r)):
        return res.error(f"a value question resolves to a finite number, found {r!r}", i)
    return None


def _check_derived(
    res: Resolutions, i: int, q: QuestionSpec, inputs: list[ResultInput]
) -> ScenarioError | None:
    if isinstance(q, EventQuestionSpec):
        events = _names(inputs, "event")
        if q.event not in events:
            return res.error(
                f"unknown event {q.event!r}{suggest(q.event, list(events))}", i, "event"
            )
    elif isinstance(q, StageQuestionSpec):
        projects = _names(inputs, "stage")
        if q.project not in projects:
            return res.error(
                f"unknown project {q.project!r}{suggest(q.project, list(projects))}",
                i,
                "project",
            )
        if not q.completed and not any(_stage_column(q, r) for r in inputs):
            stages = sorted(
                {
                    d.stage_name
                    for r in inputs
                    for d in r.described.values()
                    if d.kind == "stage" and d.subject == q.project and d.stage_name
                }
            )
            return res.error(
                f"project {q.project} has no stage {q.stage!r} that begins after the start"
                f"{suggest(str(q.stage), stages)}; stages: {', '.join(stages) or 'none'} "
                "(or completed: true)",
                i,
                "stage",
            )
    elif isinstance(q, SeriesQuestionSpec):
        series = _names(inputs, "series")
        if q.series not in series:
            return res.error(
                f"unknown series {q.series!r}{suggest(q.series, list(series))}", i, "series"
            )
        if not any(_column(q) in r.described for r in inputs):
            kept = sorted(
                {
                    str(d.date)
                    for r in inputs
                    for d in r.described.values()
                    if d.kind == "series" and d.subject == q.series
                }
            )
            return res.error(
                f"series {q.series} is kept at every 31 December only, not on {q.at}; kept "
                f"dates: {', '.join(kept)}",
                i,
                "at",
            )
    return None


def _share(hit: npt.NDArray[np.bool_], r: ResultInput, basis: str) -> Forecast:
    p = float(np.mean(hit)) if hit.size else float("nan")
    n = r.sample_size
    lo, hi = wilson_score_interval(p, n)
    return Forecast("probability", p, n, (lo, hi), None, basis)


def forecast(q: QuestionSpec, r: ResultInput) -> Forecast | Skip:
    """What result ``r`` forecasts for question ``q``, or why it cannot say."""
    if isinstance(q, OutcomeQuestionSpec):
        block = r.summary["outcomes"].get(q.outcome)
        if not isinstance(block, dict):
            return Skip(f"{r.name} has no outcome {q.outcome}")
        kind = block.get("kind")
        if kind == "probability":
            p, n = float(block["p"]), float(block.get("ess") or block["n"])
            if r.ess is not None:  # resampled particles: at most the run's effective size
                n = min(n, r.ess)
            lo, hi = wilson_score_interval(p, n)
            basis = "summary.json p" + (" (weighted)" if "ess" in block else "")
            return Forecast("probability", p, n, (lo, hi), None, basis)
        if q.outcome not in r.samples.columns:
            return Skip(f"{r.name}: samples.parquet has no column {q.outcome}")
        x = r.samples[q.outcome].to_numpy(dtype=np.float64)
        if kind == "distribution":
            x = x[np.isfinite(x)]
            if x.size == 0:
                return Skip(f"{r.name}: no finite value of {q.outcome}")
            return Forecast("value", None, r.sample_size, None, x, "samples.parquet")
        assert q.by is not None  # checked: a time_to outcome question has by
        return _dated(q.by, r, x, f"share of samples.parquet with {q.outcome} <= t({q.by})")
    if r.missing:
        return Skip(r.missing)
    if isinstance(q, StageQuestionSpec):
        col = _stage_column(q, r)
        if col is None:
            return Skip(f"{r.name} keeps no indicator for {describe(q)}")
    else:
        col = _column(q)
        if col not in r.indicators.columns:
            return Skip(f"{r.name} keeps no indicator {col}")
    x = r.indicators[col].to_numpy(dtype=np.float64)
    if isinstance(q, SeriesQuestionSpec):
        if q.above is None:
            return Forecast("value", None, r.sample_size, None, x, f"indicators {col}")
        return _share(x > q.above, r, f"share of indicators with {col} > {q.above:g}")
    by = q.by
    return _dated(by, r, x, f"share of indicators with {col} <= t({by})")


def _dated(by: dt.date, r: ResultInput, times: Any, basis: str) -> Forecast | Skip:
    tl = r.timeline
    if not tl.start <= by <= tl.horizon:
        return Skip(f"{by} is outside {r.name}'s window {tl.start} to {tl.horizon}")
    return _share(np.asarray(times) <= tl.years(by), r, basis)
