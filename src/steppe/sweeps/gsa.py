"""``steppe.sensitivity``: Sobol' indices and Morris screening with SALib's estimators.

The model is a scenario (each design point is a run, its outputs are the outcomes'
estimates, with common random numbers across points as in :func:`steppe.sweep`) or a plain
Python function of a ``(n, d)`` array returning ``n`` numbers, as SALib and EMA Workbench
accept — so the estimators can be checked on textbook functions (Ishigami, Sobol' G).

Randomness comes from the seed through the registry of streams (:mod:`steppe.streams`): the
sampler uses the root ``SENSITIVITY_SAMPLE``, the bootstrap of the analysis
``SENSITIVITY_BOOT``. SALib receives explicit :class:`numpy.random.Generator` objects; because
``SALib.analyze.sobol.analyze`` falls back to NumPy's *global* generator when its seed is
falsy, every SALib call also runs inside a guard that restores NumPy's global random state,
so steppe never changes it.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steppe import streams
from steppe.engines import EngineChoice
from steppe.errors import ScenarioError, SimulationError
from steppe.load import load
from steppe.model.scenario import Scenario
from steppe.sweeps._names import METHODS, Method
from steppe.sweeps.designs import Range, explicit_design, normalize_vary
from steppe.sweeps.executors import Executor
from steppe.sweeps.runner import Progress, SweepRun, check_vary, run_design

__all__ = ["METHODS", "SensitivityResult", "analyse", "sensitivity"]

SOBOL_COLUMNS = ("S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf")
MORRIS_COLUMNS = ("mu", "mu_star", "mu_star_conf", "sigma")

Model = Scenario | str | Path | Callable[[np.ndarray], Any]


@contextlib.contextmanager
def global_rng_untouched() -> Iterator[None]:
    """Restore NumPy's global random state on exit, whatever the code inside did to it."""
    state = np.random.get_state()  # noqa: NPY002 - the guard saves the legacy global state
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002 - ... and puts it back


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """Sensitivity indices of each outcome to each parameter.

    Attributes
    ----------
    method
        ``"sobol"`` or ``"morris"``.
    params
        The parameters, in order.
    outcomes
        The outputs analysed (a callable's single output is called ``"y"``).
    indices
        One row per (outcome, parameter). Sobol': ``S1``, ``ST`` (first-order and total
        indices), ``S1_low``/``S1_high`` and ``ST_low``/``ST_high`` (percentile bootstrap
        interval at ``conf_level``), ``S1_conf``/``ST_conf`` (SALib's half-width,
        ``z * bootstrap sd``). Morris: ``mu``, ``mu_star`` (mean absolute elementary
        effect), ``mu_star_conf`` (bootstrap half-width) and ``sigma``.
    points
        The evaluated design: parameter columns, each output, and for a scenario each
        output's Monte Carlo standard error ``NAME_se``.
    noise_share
        Per output, the Monte Carlo noise variance over the variance of the outputs across
        points (mean of ``se**2`` over variance): indices of an output whose noise share is
        not small describe noise as much as the parameters. 0 for a function.
    n, seed, replications, conf_level
        What was run (``replications`` is ``None`` for a function).
    """

    method: Method
    params: tuple[str, ...]
    outcomes: tuple[str, ...]
    indices: pd.DataFrame = field(repr=False)
    points: pd.DataFrame = field(repr=False)
    noise_share: Mapping[str, float]
    n: int
    seed: int
    replications: int | None
    conf_level: float

    def to_frame(self) -> pd.DataFrame:
        """The indices as a DataFrame indexed by (outcome, parameter)."""
        return self.indices.set_index(["outcome", "parameter"]).copy()

    def table(self, outcome: str) -> pd.DataFrame:
        """The indices of one outcome, indexed by parameter."""
        if outcome not in self.outcomes:
            raise KeyError(outcome)
        rows = self.indices[self.indices["outcome"] == outcome]
        return rows.drop(columns="outcome").set_index("parameter")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (``sensitivity.json``); NaN stays NaN."""
        return {
            "method": self.method,
            "params": list(self.params),
            "outcomes": {
                o: {
                    "noise_share": self.noise_share[o],
                    "indices": self.table(o).to_dict(orient="index"),
                }
                for o in self.outcomes
            },
            "n": self.n,
            "evaluations": len(self.points),
            "seed": self.seed,
            "replications": self.replications,
            "conf_level": self.conf_level,
        }


def _problem(ranges: Mapping[str, Range]) -> dict[str, Any]:
    return {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [[r.low, r.high] for r in ranges.values()],
    }


def _sample(method: Method, problem: dict[str, Any], n: int, seed: int, levels: int) -> Any:
    rng = streams.rng(seed, streams.SENSITIVITY_SAMPLE)
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        m = n.bit_length() - 1
        if n != 1 << m:
            raise ScenarioError(
                f"Sobol' sensitivity needs n a power of 2 (base samples of the Saltelli "
                f"design), found n = {n}; use {1 << m} or {1 << (m + 1)}"
            )
        with global_rng_untouched():
            return sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=rng)
    from SALib.sample import morris as morris_sample

    with global_rng_untouched():
        return morris_sample.sample(problem, n, num_levels=levels, seed=rng)


def _analyze(
    method: Method,
    problem: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    resamples: int,
    conf_level: float,
    levels: int,
) -> dict[str, np.ndarray]:
    d = problem["num_vars"]
    rng = streams.rng(seed, streams.SENSITIVITY_BOOT)
    if method == "sobol":
        from SALib.analyze import sobol as sobol_analyze

        if not np.ptp(y) > 0:  # constant output: every index is 0/0
            return {c: np.full(d, math.nan) for c in SOBOL_COLUMNS}
        with global_rng_untouched(), warnings.catch_warnings():
            # A bootstrap resample of a 0/1-valued or coarse output may be constant; SALib
            # then warns and counts that resample's index as 0, which is what we want.
            warnings.filterwarnings("ignore", message="Constant values encountered")
            s = sobol_analyze.analyze(
                problem, y, calc_second_order=False, num_resamples=resamples,
                conf_level=conf_level, keep_resamples=True, seed=rng,
            )  # fmt: skip
        tail = 100 * (1 - conf_level) / 2
        out = {}
        for k in ("S1", "ST"):
            boot = np.asarray(s[f"{k}_conf_all"], dtype=float)
            out[k] = np.asarray(s[k], dtype=float)
            out[f"{k}_low"] = np.percentile(boot, tail, axis=0)
            out[f"{k}_high"] = np.percentile(boot, 100 - tail, axis=0)
            out[f"{k}_conf"] = np.asarray(s[f"{k}_conf"], dtype=float)
        return out
    from SALib.analyze import morris as morris_analyze

    with global_rng_untouched():
        m = morris_analyze.analyze(
            problem, x, y, num_resamples=resamples, conf_level=conf_level,
            num_levels=levels, seed=rng,
        )  # fmt: skip
    return {c: np.ma.filled(np.ma.asarray(m[c], dtype=float), math.nan) for c in MORRIS_COLUMNS}


def _evaluate_callable(fn: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    y = np.asarray(fn(x.copy()), dtype=float)
    if y.shape != (x.shape[0],):
        raise SimulationError(
            f"the model must return one number per row: expected shape ({x.shape[0]},), "
            f"found {y.shape}"
        )
    if not np.all(np.isfinite(y)):
        bad = int(np.flatnonzero(~np.isfinite(y))[0])
        raise SimulationError(f"the model returned a non-finite value {y[bad]} at row {bad}")
    return y


def sensitivity(
    model: Model,
    *,
    params: Mapping[str, tuple[float, float]],
    outcomes: Sequence[str] | None = None,
    method: Method = "sobol",
    n: int = 256,
    seed: int | None = None,
    replications: int | None = None,
    num_resamples: int = 1000,
    conf_level: float = 0.95,
    num_levels: int = 4,
    engine: EngineChoice = "auto",
    workers: int | None = 1,
    executor: Executor | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    progress: Progress | None = None,
) -> SensitivityResult:
    """Global sensitivity of a scenario's outcomes (or a function) to its parameters.

    Parameters
    ----------
    model
        A scenario (or its path), or a function taking a ``(n, d)`` array (columns in the
        order of ``params``) and returning ``n`` numbers.
    params
        ``{name: (low, high)}``: each parameter is uniform on its range.
    outcomes
        The scenario outcomes to analyse (default: all). For a function, one label for
        its output (default ``"y"``).
    method
        ``"sobol"``: first-order and total indices (Saltelli 2010 estimators on a
        scrambled Sobol' design of ``n * (d + 2)`` points, ``n`` a power of 2).
        ``"morris"``: elementary effects on ``n`` trajectories (``n * (d + 1)`` points)
        over a ``num_levels`` grid.
    n
        Base samples (Sobol') or trajectories (Morris).
    seed
        Seeds the design, the bootstrap and (for a scenario) every run; default: the
        scenario's seed, 0 for a function.
    replications
        Per design point of a scenario (default: the scenario's).
    num_resamples, conf_level
        Bootstrap resamples and level of the intervals.
    num_levels
        Morris grid levels (even).
    engine, workers, executor, checkpoint, resume, progress
        As for :func:`steppe.sweep` (scenarios only).

    Returns
    -------
    SensitivityResult

    Raises
    ------
    ScenarioError
        For unknown parameters or outcomes, a bad range, ``n`` or method.
    SimulationError
        If a run fails or a function returns the wrong shape or a non-finite value.

    Notes
    -----
    With a scenario, each output is an estimate with Monte Carlo error. Common random
    numbers make that error a fixed function of the parameters for a given seed, but it
    still adds variance that the indices attribute to no parameter and to interactions;
    ``SensitivityResult.noise_share`` reports its size — raise ``replications`` until it is
    small (say below 0.05).

    References
    ----------
    .. [1] Sobol', I. M. (2001). Global sensitivity indices for nonlinear mathematical
       models and their Monte Carlo estimates. Mathematics and Computers in Simulation
       55(1-3), 271-280.
    .. [2] Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M., Tarantola, S.
       (2010). Variance based sensitivity analysis of model output. Design and estimator
       for the total sensitivity index. Computer Physics Communications 181(2), 259-270.
    .. [3] Morris, M. D. (1991). Factorial sampling plans for preliminary computational
       experiments. Technometrics 33(2), 161-174.
    .. [4] Campolongo, F., Cariboni, J., Saltelli, A. (2007). An effective screening design
       for sensitivity analysis of large models. Environmental Modelling & Software
       22(10), 1509-1518.
    .. [5] Herman, J., Usher, W. (2017). SALib: An open-source Python library for
       sensitivity analysis. Journal of Open Source Software 2(9), 97.
    """
    return analyse(
        model, params=params, outcomes=outcomes, method=method, n=n, seed=seed,
        replications=replications, num_resamples=num_resamples, conf_level=conf_level,
        num_levels=num_levels, engine=engine, workers=workers, executor=executor,
        checkpoint=checkpoint, resume=resume, progress=progress,
    )[0]  # fmt: skip


def analyse(
    model: Model,
    *,
    params: Mapping[str, tuple[float, float]],
    outcomes: Sequence[str] | None,
    method: Method,
    n: int,
    seed: int | None,
    replications: int | None,
    num_resamples: int,
    conf_level: float,
    num_levels: int,
    engine: EngineChoice,
    workers: int | None,
    executor: Executor | None,
    checkpoint: str | Path | None,
    resume: bool,
    progress: Progress | None,
) -> tuple[SensitivityResult, SweepRun | None]:
    """:func:`sensitivity`, also returning the sweep that evaluated a scenario."""
    if method not in METHODS:
        raise ScenarioError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ScenarioError(f"n must be a whole number >= 2, found {n!r}")
    if not 0 < conf_level < 1:
        raise ScenarioError(f"conf_level must be in (0, 1), found {conf_level!r}")
    if isinstance(num_resamples, bool) or not isinstance(num_resamples, int) or num_resamples < 2:
        raise ScenarioError(f"num_resamples must be a whole number >= 2, found {num_resamples!r}")
    if (
        isinstance(num_levels, bool)
        or not isinstance(num_levels, int)
        or num_levels < 2
        or num_levels % 2
    ):
        raise ScenarioError(f"num_levels must be an even whole number >= 2, found {num_levels!r}")
    ranges = normalize_vary(params)
    if any(r.values is not None for r in ranges.values()):
        raise ScenarioError("sensitivity needs ranges (low, high), not lists of values")
    problem = _problem(ranges)
    names = tuple(ranges)
    sc: Scenario | None = None
    if callable(model) and not isinstance(model, Scenario):
        s = 0 if seed is None else seed
    else:
        sc = model if isinstance(model, Scenario) else load(model)
        s = sc.spec.seed if seed is None else seed
        check_vary(sc, ranges)
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
        raise ScenarioError(f"seed must be a whole number in [0, 2**63), found {s!r}")
    x = np.asarray(_sample(method, problem, n, s, num_levels), dtype=float)
    if sc is None:
        labels = tuple(outcomes) if outcomes is not None else ("y",)
        if len(labels) != 1:
            raise ScenarioError(f"a function has one output; found {len(labels)} labels")
        fn: Callable[[np.ndarray], Any] = model  # type: ignore[assignment]
        points = pd.DataFrame(x, columns=list(names))
        points[labels[0]] = _evaluate_callable(fn, x)
        noise = {labels[0]: 0.0}
        reps = None
        swept = None
    else:
        design = explicit_design("saltelli" if method == "sobol" else "morris", ranges, x, seed=s)
        swept = run_design(
            sc, design, outcomes=outcomes, replications=replications, seed=s, engine=engine,
            workers=workers, executor=executor, checkpoint=checkpoint, resume=resume,
            progress=progress, method=method,
        )  # fmt: skip
        labels = swept.outcomes
        points = swept.table
        noise = {}
        for o in labels:
            var = float(np.var(points[o].to_numpy(), ddof=1))
            mse = float(np.mean(points[f"{o}_se"].to_numpy() ** 2))
            noise[o] = mse / var if var > 0 else math.nan
        reps = swept.key["replications"]
    frames = []
    for o in labels:
        y = points[o].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            raise SimulationError(f"outcome {o!r} has no finite estimate at some design point")
        res = _analyze(
            method, problem, x, y, seed=s, resamples=num_resamples, conf_level=conf_level,
            levels=num_levels,
        )  # fmt: skip
        frame = pd.DataFrame(res)
        frame.insert(0, "parameter", list(names))
        frame.insert(0, "outcome", o)
        frames.append(frame)
    result = SensitivityResult(
        method=method, params=names, outcomes=tuple(labels),
        indices=pd.concat(frames, ignore_index=True), points=points, noise_share=noise,
        n=n, seed=s, replications=reps, conf_level=conf_level,
    )  # fmt: skip
    return result, swept
