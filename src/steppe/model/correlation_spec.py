"""The spec of a scenario's ``correlations:`` and ``precision:``, as the YAML says them.

``correlations:`` asks for rank correlations between drawn parameters, imposed by Iman and
Conover's method (``docs/scenario-format.md``, section "Correlated parameters"), either as a
list of pairwise entries::

    correlations:
      - {between: [a, b], rank: 0.6, source: ..., why: ...}

or as a mapping with a whole matrix, pairs, or both, and an optional ``repair``::

    correlations:
      parameters: [a, b, c]
      matrix: [[1, 0.6, 0.2], [0.6, 1, 0.1], [0.2, 0.1, 1]]
      repair: nearest
      source: ...

``precision:`` stops a run once the Monte Carlo standard error of every probability
outcome (or of the ones named) is at most a target: ``precision: 0.005`` or
``precision: {se: 0.005, outcomes: [a, b]}``.

These models check types, keys and ranges only; names, positive semi-definiteness and the
repair are checked when the scenario is built (:mod:`steppe.model.correlations`), where
every error can name its YAML path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from steppe.model.base import Strict

__all__ = [
    "MAX_CORRELATED",
    "CorrelationMatrixSpec",
    "CorrelationsSpec",
    "PairSpec",
    "PrecisionSpec",
]

#: At most this many parameters can be correlated (the Iman-Conover block is 1,024 long).
MAX_CORRELATED = 100
Text = Annotated[str, Field(max_length=20_000)]
Rank = Annotated[float, Field(ge=-1.0, le=1.0)]


class PairSpec(Strict):
    """The rank correlation of two parameters: ``{between: [a, b], rank: 0.6}``."""

    between: Annotated[list[str], Field(min_length=2, max_length=2)]
    rank: Rank
    source: Text | None = None
    why: Text | None = None


class CorrelationMatrixSpec(Strict):
    """A rank-correlation matrix over ``parameters`` and/or ``pairs``, and what to do with a
    matrix that is not positive semi-definite (``repair: nearest``: use the nearest
    correlation matrix, with a warning; default: an error)."""

    parameters: Annotated[list[str], Field(min_length=2, max_length=MAX_CORRELATED)] | None = None
    matrix: Annotated[list[list[Rank]], Field(max_length=MAX_CORRELATED)] | None = None
    pairs: Annotated[list[PairSpec], Field(max_length=5_000)] = Field(default_factory=list)
    repair: Literal["none", "nearest"] = "none"
    source: Text | None = None
    why: Text | None = None

    @model_validator(mode="after")
    def _check(self) -> CorrelationMatrixSpec:
        if (self.parameters is None) != (self.matrix is None):
            raise ValueError("give parameters and matrix together (or neither, with pairs)")
        if self.parameters is None and not self.pairs:
            raise ValueError("give a matrix (parameters and matrix), pairs, or both")
        return self


def _correlations_tag(value: Any) -> str | None:
    if isinstance(value, list):
        return "pairs"
    if isinstance(value, dict):
        return "a matrix"
    return None


CorrelationsSpec = Annotated[
    Annotated[Annotated[list[PairSpec], Field(max_length=5_000)], Tag("pairs")]
    | Annotated[CorrelationMatrixSpec, Tag("a matrix")],
    Discriminator(
        _correlations_tag,
        custom_error_type="correlations",
        custom_error_message=(
            "expected a list of {between: [A, B], rank: R} or a mapping with parameters and "
            "matrix, or pairs"
        ),
    ),
]


class PrecisionSpec(Strict):
    """Stop at a precision: every probability outcome's (or each of ``outcomes``') Monte
    Carlo standard error at most ``se``; ``first`` replications in the first stage, doubled
    at each stage up to the run's replications."""

    se: Annotated[float, Field(gt=0.0, lt=0.5)]
    outcomes: Annotated[list[str], Field(min_length=1, max_length=1_000)] | None = None
    first: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1_000  # model.precision


def _precision_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    return None


PrecisionValue = Annotated[
    Annotated[Annotated[float, Field(gt=0.0, lt=0.5)], Tag("a number")]
    | Annotated[PrecisionSpec, Tag("a mapping")],
    Discriminator(
        _precision_tag,
        custom_error_type="precision",
        custom_error_message=(
            "expected a standard error (e.g. 0.005) or {se: 0.005, outcomes: [...]}"
        ),
    ),
]
