"""Running to a precision: replications in stages until the standard errors are small enough.

A run with a :class:`~steppe.model.precision.PrecisionRule` (``precision:`` in a scenario,
``steppe run --precision``) runs replications ``[0, n_1)``, then ``[n_1, n_2)``, ... where
``n_1, n_2, ...`` are the rule's stages (``first``, doubled each time, up to the run's
replications, the cap). After each stage the Monte Carlo standard error of every watched
probability outcome is computed from the merged summaries (exact counts), and the run stops
at the first stage where each is at most the target. Each stage is planned and merged as a
run of its own (:func:`steppe.execute.execute` with ``first``), so its numbers, hence the
decision to stop, are the same for any number of workers: the same seed and target give the
same replications and the same summary. This is what Crystal Ball calls precision control.

An outcome with no success (or only successes) so far has a standard error of 0: it
never holds a run back. A rare event therefore needs a ``first`` stage large enough to see
it, or a cap (``replications``) that is the run one would make anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from steppe.engines.common import Fixed
from steppe.execute import execute
from steppe.model.precision import PrecisionRule
from steppe.model.scenario import Scenario
from steppe.results.accumulate import Accumulator

__all__ = ["PrecisionReport", "execute_to_precision"]


@dataclass(frozen=True)
class PrecisionReport:
    """How a run with a precision rule ended.

    Attributes
    ----------
    rule
        The rule.
    stages
        The total replications after each stage that ran.
    replications
        The replications used (the last of ``stages``).
    met
        Whether every watched standard error was at most the target (else the cap was
        reached first).
    se
        The standard error of each watched outcome at the end, by name.
    """

    rule: PrecisionRule
    stages: tuple[int, ...]
    replications: int
    met: bool
    se: dict[str, float]

    def describe(self) -> dict[str, Any]:
        """The ``precision`` section of ``summary.json`` and ``manifest.json``."""
        return {
            **self.rule.describe(),
            "stages": list(self.stages),
            "replications": self.replications,
            "stopped": "precision met" if self.met else "cap reached",
            "final_se": dict(self.se),
        }


def execute_to_precision(
    scenario: Scenario,
    *,
    rule: PrecisionRule,
    engine: str,
    seed: int,
    replications: int,
    workers: int = 1,
    keep_samples: bool = False,
    progress: Callable[[int], None] | None = None,
    fixed: Fixed | None = None,
    summarized: int | None = None,
    light: Scenario | None = None,
) -> tuple[Accumulator, PrecisionReport]:
    """Run stages of replications until ``rule`` is met or ``replications`` have run.

    The options are :func:`~steppe.execute.execute`'s; ``replications`` is the cap. The
    watched outcomes are those of ``scenario`` (probability outcomes among the first
    ``summarized``).
    """
    acc = Accumulator(
        scenario.outcomes, scenario.timeline, keep_samples=keep_samples,
        summarized=summarized, replications=replications,
    )  # fmt: skip
    targets = rule.targets(scenario.outcomes[:summarized])
    done: list[int] = []
    se: dict[str, float] = {}
    met = False
    for total in rule.stages(replications):
        first = done[-1] if done else 0
        execute(
            scenario, engine=engine, seed=seed, replications=total - first, workers=workers,
            keep_samples=keep_samples, progress=progress, fixed=fixed, summarized=summarized,
            light=light, first=first, into=acc,
        )  # fmt: skip
        done.append(total)
        se = {name: _se(*acc.proportion(index)) for name, index in targets}
        met = all(v <= rule.se for v in se.values())
        if met:
            break
    return acc, PrecisionReport(rule, tuple(done), done[-1], met, se)


def _se(successes: int, n: int) -> float:
    """The binomial standard error ``sqrt(p (1 - p) / n)`` of ``successes`` in ``n``, as
    :func:`steppe.results.stats.summarize_probability` reports it."""
    p = successes / n
    return math.sqrt(p * (1.0 - p) / n)
