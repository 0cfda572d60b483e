"""Running one design point, and reading one number and its error from each outcome.

A design point is a run of the scenario with the varied parameters fixed by
``overrides`` and every other parameter drawn from its usual stream. Every point uses the
sweep's seed, so parameters that are not varied take the same values in replication ``i`` of
every point (common random numbers, see ``docs/sweeps.md``). A point's result therefore
depends only on the scenario, its parameter values, the seed, the number of replications
and the engine — not on the executor, the worker or the order in which points run.

Each outcome is reduced to one estimate and its Monte Carlo standard error:

=================  ==========================================  ==============================
outcome kind       estimate                                    standard error
=================  ==========================================  ==============================
``probability``    ``p``                                       binomial ``sqrt(p(1-p)/n)``
``distribution``   the mean                                    of the mean, ``sd / sqrt(n)``
``time_to_event``  ``P(time <= horizon)``                      binomial, as for ``p``
=================  ==========================================  ==============================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steppe.api import run
from steppe.engines import EngineChoice
from steppe.errors import ScenarioError, SimulationError
from steppe.execute import execute
from steppe.model.base import suggest
from steppe.model.scenario import Scenario
from steppe.results.accumulate import QUANTILE_SAMPLE

__all__ = ["PointRunner", "Row", "estimate", "sample_estimate", "select_outcomes", "statistic"]

#: One finished point: ``{"point": i, "values": {...}, "outcomes": {name: [est, se]}}``.
Row = dict[str, Any]


def _finite(x: Any) -> float:
    """``x`` as a float, non-finite values (and ``None``) as NaN, as checkpoints store them."""
    if x is None:
        return math.nan
    out = float(x)
    return out if math.isfinite(out) else math.nan


def estimate(body: Mapping[str, Any], horizon: str) -> tuple[float, float]:
    """The estimate and standard error of one outcome's summary (see the module table)."""
    kind = body["kind"]
    if kind == "probability":
        return _finite(body["p"]), _finite(body["se"])
    if kind == "distribution":
        return _finite(body["mean"]), _finite(body.get("se"))
    if kind == "time_to_event":
        return _finite(body["p_by"][horizon]), _finite(body["p_by_se"][horizon])
    raise SimulationError(f"outcome kind {kind!r} has no sweep statistic")  # pragma: no cover


def sample_estimate(kind: str, x: np.ndarray, t_horizon: float) -> tuple[float, float]:
    """:func:`estimate` computed from the samples themselves, with the same formulas as
    :mod:`steppe.results.stats` (so it equals ``estimate`` of the run's summary)."""
    n = int(x.size)
    if kind == "distribution":
        # summarize_distribution sums the sample in replication order: the same rounding
        mean = float(np.mean(x))
        sd = float(np.std(x, ddof=1)) if n > 1 else math.nan
        return _finite(mean), _finite(sd / math.sqrt(n))
    hits = x != 0 if kind == "probability" else x <= t_horizon
    p = int(np.count_nonzero(hits)) / n
    return _finite(p), _finite(math.sqrt(p * (1.0 - p) / n))


def statistic(scenario: Scenario, name: str) -> str:
    """What the sweep reports for outcome ``name``: ``P``, ``mean`` or ``P(by DATE)``."""
    kind = next(o.kind for o in scenario.outcomes if o.name == name)
    if kind == "distribution":
        return "mean"
    if kind == "time_to_event":
        return f"P(by {scenario.spec.horizon.isoformat()})"
    return "P"


def select_outcomes(scenario: Scenario, outcomes: Sequence[str] | None) -> tuple[str, ...]:
    """The outcomes to report: all of the scenario's by default, else the named ones.

    Raises
    ------
    ScenarioError
        For an unknown name (with a did-you-mean), a repeated name or an empty list.
    """
    known = [o.name for o in scenario.outcomes]
    if outcomes is None:
        return tuple(known)
    if isinstance(outcomes, str):
        outcomes = [outcomes]
    chosen = tuple(outcomes)
    if not chosen:
        raise ScenarioError("no outcomes chosen; name at least one or leave the default (all)")
    for name in chosen:
        if name not in known:
            raise ScenarioError(
                f"unknown outcome {name!r}{suggest(name, known)}", path=("outcomes", name)
            )
    if len(set(chosen)) != len(chosen):
        raise ScenarioError(f"an outcome is named twice in {list(chosen)}")
    return chosen


@dataclass(frozen=True)
class PointRunner:
    """Runs design points of one sweep; pickles small enough to ship to workers once.

    Attributes
    ----------
    scenario
        The scenario without overrides.
    names, points
        The varied parameters and the ``(n_points, n_params)`` design.
    outcomes
        The outcomes to report.
    seed, replications, engine
        Passed to :func:`steppe.run` for every point; ``engine`` is the name of the engine
        resolved for the whole sweep (not ``auto``), so that every point runs on the same
        engine.
    """

    scenario: Scenario
    names: tuple[str, ...]
    points: np.ndarray = field(repr=False)
    outcomes: tuple[str, ...]
    seed: int
    replications: int
    engine: EngineChoice

    def overrides(self, i: int) -> dict[str, float]:
        """The parameter values of point ``i``."""
        return {k: float(v) for k, v in zip(self.names, self.points[i], strict=True)}

    def __call__(self, i: int) -> Row:
        """Run point ``i`` and return its row."""
        values = self.overrides(i)
        if self.replications <= QUANTILE_SAMPLE:
            return self._direct(i, values)
        try:
            result = run(
                self.scenario,
                replications=self.replications,
                seed=self.seed,
                overrides=values,
                engine=self.engine,
                workers=1,
                traces=False,  # the report's time series: not needed for a point's estimates
            )
        except SimulationError as err:
            shown = ", ".join(f"{k}={v:g}" for k, v in values.items())
            raise SimulationError(f"design point {i} ({shown}): {err}") from err
        bodies = result.summary["outcomes"]
        horizon = result.summary["horizon"]
        return {
            "point": i,
            "values": values,
            "outcomes": {k: list(estimate(bodies[k], horizon)) for k in self.outcomes},
        }

    def _direct(self, i: int, values: dict[str, float]) -> Row:
        """Point ``i`` without building an overridden scenario or a full summary.

        The varied parameters replace their draws (``fixed``): the same numbers as
        ``steppe.run(scenario, overrides=values, traces=False)``, whose estimates come from
        all the samples when there are at most ``QUANTILE_SAMPLE`` replications.
        """
        sc = self.scenario
        fixed = {sc.param(k).index: v for k, v in values.items()}
        try:
            acc = execute(
                sc, engine=self.engine, seed=self.seed, replications=self.replications,
                fixed=fixed,
            )  # fmt: skip
        except SimulationError as err:
            shown = ", ".join(f"{k}={v:g}" for k, v in values.items())
            raise SimulationError(f"design point {i} ({shown}): {err}") from err
        samples = acc.samples()
        t_horizon = sc.timeline.years(sc.spec.horizon)
        by_name = {o.name: o for o in sc.outcomes}
        return {
            "point": i,
            "values": values,
            "outcomes": {
                k: list(sample_estimate(by_name[k].kind, samples[:, by_name[k].index], t_horizon))
                for k in self.outcomes
            },
        }
