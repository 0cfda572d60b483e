"""Precision control (``precision:``): the rule that stops a run, checked against the outcomes.

A run with a precision rule runs its replications in **stages** of ``first``, ``2 first``,
``4 first``, ... replications in all, up to the run's replications (the cap), and stops
after the first stage at which the Monte Carlo standard error ``sqrt(p (1 - p) / n)`` of
every probability outcome (or of each of ``outcomes``) is at most ``se``
(:mod:`steppe.precision` runs the stages; ``docs/engine.md`` section 8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from steppe.errors import ScenarioError
from steppe.model.base import suggest
from steppe.model.correlation_spec import PrecisionSpec

__all__ = ["DEFAULT_FIRST", "PrecisionRule", "build_precision"]

#: Replications in the first stage, unless ``first:`` says otherwise.
DEFAULT_FIRST = 1_000


class _Outcome(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class PrecisionRule:
    """Stop once every named probability outcome's standard error is at most ``se``.

    Attributes
    ----------
    se
        The target Monte Carlo standard error.
    outcomes
        The probability outcomes it applies to (names), every one when ``None``.
    first
        Replications in the first stage; each further stage doubles the total.
    """

    se: float
    outcomes: tuple[str, ...] | None = None
    first: int = DEFAULT_FIRST

    def stages(self, cap: int) -> list[int]:
        """The replications run by the end of each stage: ``first``, ``2 first``, ...,
        below ``cap``, then ``cap``."""
        out: list[int] = []
        n = self.first
        while n < cap:
            out.append(n)
            n *= 2
        out.append(cap)
        return out

    def targets(self, outcomes: Sequence[_Outcome]) -> list[tuple[str, int]]:
        """``(name, index)`` of the outcomes whose standard error is watched."""
        if self.outcomes is None:
            return [(o.name, o.index) for o in outcomes if o.kind == "probability"]
        by_name = {o.name: o.index for o in outcomes}
        return [(name, by_name[name]) for name in self.outcomes]

    def describe(self) -> dict[str, Any]:
        """The rule as ``summary.json`` records it."""
        return {"se": self.se, "outcomes": list(self.outcomes) if self.outcomes else None,
                "first": self.first}  # fmt: skip


def build_precision(
    spec: float | PrecisionSpec | None, outcomes: Sequence[_Outcome]
) -> PrecisionRule | None:
    """The :class:`PrecisionRule` of a scenario's ``precision:`` (None without one).

    Raises
    ------
    ScenarioError
        If a named outcome does not exist (with a did-you-mean), is not a probability, or is
        named twice; or if the scenario has no probability outcome to watch.
    """
    if spec is None:
        return None
    if not isinstance(spec, PrecisionSpec):
        spec = PrecisionSpec(se=float(spec))
    kinds = {o.name: o.kind for o in outcomes}
    if spec.outcomes is None:
        if "probability" not in kinds.values():
            raise ScenarioError(
                "precision applies to probability outcomes, and this scenario has none",
                path=("precision",),
            )
        return PrecisionRule(spec.se, None, spec.first)
    seen: list[str] = []
    for j, name in enumerate(spec.outcomes):
        path = ("precision", "outcomes", j)
        if name not in kinds:
            raise ScenarioError(f"unknown outcome {name!r}{suggest(name, list(kinds))}", path=path)
        if kinds[name] != "probability":
            raise ScenarioError(
                f"outcome {name!r} is a {kinds[name].replace('_', ' ')} outcome; precision "
                "applies to probability outcomes (their standard error sqrt(p (1 - p) / n))",
                path=path,
            )
        if name in seen:
            raise ScenarioError(f"outcome {name!r} is named twice", path=path)
        seen.append(name)
    return PrecisionRule(spec.se, tuple(seen), spec.first)
