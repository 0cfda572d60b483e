"""``steppe.sweep``: run a scenario at many parameter values and tabulate its outcomes.

Examples
--------
>>> import steppe
>>> table = steppe.sweep(                                             # doctest: +SKIP
...     "scenarios/baseline.yaml",
...     vary={"contagion": (0.3, 3.0), "shock_rate": (0.15, 0.8)},
...     design="lhs", n=64, replications=2000, seed=1,
... )
>>> table[["contagion", "shock_rate", "uz_delists_by_2027", "uz_delists_by_2027_se"]]
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from steppe.engines import EngineChoice, check_choice, resolve_engine
from steppe.errors import ScenarioError
from steppe.execute import available_workers, started
from steppe.load import load
from steppe.model.base import suggest
from steppe.model.scenario import Scenario
from steppe.sweeps.checkpoint import Checkpoint
from steppe.sweeps.designs import Design, DesignKind, Range, VarySpec, make_design, normalize_vary
from steppe.sweeps.executors import Executor, ProcessExecutor, SerialExecutor
from steppe.sweeps.points import PointRunner, Row, select_outcomes, statistic

__all__ = ["SweepRun", "check_vary", "run_design", "scenario_sha256", "sweep"]

Progress = Callable[[int], None]


def scenario_sha256(sc: Scenario) -> str:
    """The scenario file's checksum, or that of its validated spec when built from data."""
    if sc.sha256:
        return sc.sha256
    return hashlib.sha256(sc.spec.model_dump_json().encode("utf-8")).hexdigest()


def check_vary(sc: Scenario, ranges: Mapping[str, Range]) -> None:
    """Refuse names that are not parameters of ``sc`` (did-you-mean errors from the model).

    The scenario is built once with every varied parameter at its low value, so a value the
    model refuses outright is reported before anything runs.
    """
    known = list(sc.spec.parameters)
    for name in ranges:
        if name not in sc.spec.parameters:
            raise ScenarioError(
                f"cannot vary {name!r}: no such parameter{suggest(name, known)}",
                path=("parameters", name),
            )
    sc.with_overrides({k: r.low for k, r in ranges.items()})


@dataclass(frozen=True)
class SweepRun:
    """Everything a finished sweep knows: its table, design and what ran.

    Attributes
    ----------
    table
        One row per design point (see :func:`sweep`).
    design
        The design points.
    scenario
        The scenario swept (without overrides).
    outcomes
        The outcomes reported, in column order.
    statistics
        What each outcome column holds: ``P``, ``mean`` or ``P(by DATE)``.
    key
        What identifies the sweep (also its checkpoint key).
    resumed
        How many points came from a checkpoint instead of being run.
    """

    table: pd.DataFrame
    design: Design
    scenario: Scenario
    outcomes: tuple[str, ...]
    statistics: Mapping[str, str]
    key: Mapping[str, Any]
    resumed: int


def _table(rows: Mapping[int, Row], names: Sequence[str], outcomes: Sequence[str]) -> pd.DataFrame:
    cols: dict[str, list[Any]] = {"point": sorted(rows)}
    clash = set(names) & ({f"{o}_se" for o in outcomes} | set(outcomes) | {"point"})
    if clash:
        raise ScenarioError(
            f"cannot tabulate the sweep: {sorted(clash)} would name both a parameter and an "
            "outcome column; choose outcomes with `outcomes=`"
        )
    for name in names:
        cols[name] = [rows[i]["values"][name] for i in cols["point"]]
    for o in outcomes:
        cols[o] = [rows[i]["outcomes"][o][0] for i in cols["point"]]
        cols[f"{o}_se"] = [rows[i]["outcomes"][o][1] for i in cols["point"]]
    table = pd.DataFrame(cols)
    return table.astype({"point": "int64", **{c: "float64" for c in table.columns[1:]}})


def _normalise(row: Row) -> Row:
    """The row as a checkpoint stores it: non-finite numbers become NaN."""
    nan = float("nan")
    return {
        "point": int(row["point"]),
        "values": {k: float(v) for k, v in row["values"].items()},
        "outcomes": {
            k: [e if e == e and abs(e) != float("inf") else nan for e in pair]
            for k, pair in row["outcomes"].items()
        },
    }


def run_design(
    sc: Scenario,
    design: Design,
    *,
    outcomes: Sequence[str] | None,
    replications: int | None,
    seed: int | None,
    engine: EngineChoice = "auto",
    workers: int | None = 1,
    executor: Executor | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    progress: Progress | None = None,
    method: str | None = None,
) -> SweepRun:
    """Run every point of ``design`` (the engine room of :func:`sweep` and sensitivity).

    The engine is resolved once for the whole sweep, ``auto`` for its total number of
    replications (see :func:`~steppe.engines.registry.resolve_engine`); a resumed sweep
    goes on with the engine its checkpoint records, if ``auto`` chose it then.
    """
    check_choice(engine)
    check_vary(sc, design.ranges)
    chosen = select_outcomes(sc, outcomes)
    reps = sc.spec.replications if replications is None else replications
    s = sc.spec.seed if seed is None else seed
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ScenarioError(f"replications must be a whole number >= 1, found {reps!r}")
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
        raise ScenarioError(f"seed must be a whole number in [0, 2**63), found {s!r}")
    key: dict[str, Any] = {
        "scenario": sc.name,
        "scenario_sha256": scenario_sha256(sc),
        "design": design.kind,
        "method": method,
        "points": len(design),
        "design_seed": design.seed,
        "design_sha256": design.sha256,
        "vary": {k: design.ranges[k].describe() for k in design.names},
        "seed": s,
        "replications": reps,
        "engine": engine,
        "outcomes": list(chosen),
    }
    saved = Checkpoint.saved_key(checkpoint) if checkpoint is not None and resume else None
    prefer = saved.get("engine_used") if saved and saved.get("engine") == engine else None
    used = resolve_engine(engine, [sc], len(design) * reps, prefer=prefer)
    key["engine_used"] = used.name
    runner = PointRunner(
        scenario=sc, names=design.names, points=design.points, outcomes=chosen,
        seed=s, replications=reps, engine=cast(EngineChoice, used.name),
    )  # fmt: skip
    rows: dict[int, Row] = {}
    ck = None
    if executor is None:
        procs = available_workers() if workers is None else workers
        executor = SerialExecutor() if procs == 1 else ProcessExecutor(procs)
    used.prepare(sc)  # compile (or load) what it needs once, before workers start
    # The executor starts (or reaches its cluster) before the checkpoint folder is made, so
    # that an unreachable scheduler leaves nothing behind.
    with executor as ex:
        if checkpoint is not None:
            ck = Checkpoint.open(checkpoint, key, resume=resume)
            rows = ck.done({i: design.overrides(i) for i in range(len(design))})
        resumed = len(rows)
        if progress is not None and resumed:
            progress(resumed)
        todo = [i for i in range(len(design)) if i not in rows]
        # the points start now (for the estimate of a long sweep; a Dask cluster's size
        # is not known here: no estimate)
        if isinstance(ex, ProcessExecutor) and todo:
            started(progress, min(ex.workers, len(todo)))
        elif isinstance(ex, SerialExecutor):
            started(progress, 1)
        for i, row in ex.run(runner, todo):
            clean = _normalise(row)
            if ck is not None:
                ck.save(clean)
            rows[i] = clean
            if progress is not None:
                progress(1)
    table = _table(rows, design.names, chosen)
    stats = {o: statistic(sc, o) for o in chosen}
    table.attrs.update({**key, "statistics": stats})
    return SweepRun(
        table=table, design=design, scenario=sc, outcomes=chosen, statistics=stats,
        key=key, resumed=resumed,
    )  # fmt: skip


def sweep(
    scenario: Scenario | str | Path,
    *,
    vary: Mapping[str, VarySpec | Range],
    design: DesignKind = "grid",
    n: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    outcomes: Sequence[str] | None = None,
    engine: EngineChoice = "auto",
    workers: int | None = 1,
    executor: Executor | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Run a scenario at many parameter values; one row per design point.

    Every point runs ``replications`` replications with the **same seed**, so parameters
    that are not varied take the same values in replication ``i`` of every point (common
    random numbers): differences between points are not swamped by Monte Carlo noise.

    Parameters
    ----------
    scenario
        A loaded scenario or the path of a scenario file.
    vary
        The parameters to vary: ``{name: (low, high)}`` or ``{name: [v1, v2, ...]}``.
    design
        ``"grid"`` (every combination of ``n`` levels per range, default 5; a list gives
        its own levels), ``"lhs"`` (Latin hypercube of ``n`` points) or ``"sobol"``
        (scrambled Sobol' sequence, ``n`` a power of 2). See
        :func:`steppe.sweeps.designs.make_design`.
    n
        Points (``lhs``, ``sobol``) or levels per ranged parameter (``grid``).
    replications, seed
        Per point; default to the scenario's. The seed also drives the design's randomness.
    outcomes
        Outcomes to report (default: all).
    engine
        As for :func:`steppe.run`.
    workers
        Local processes running points in parallel (``None``: all cores); ignored when an
        ``executor`` is given. The numbers do not depend on it.
    executor
        Where points run: a :class:`~steppe.sweeps.executors.SerialExecutor`,
        :class:`~steppe.sweeps.executors.ProcessExecutor` or
        :class:`~steppe.sweeps.executors.DaskExecutor`.
    checkpoint
        A folder in which each finished point is saved atomically; a sweep started again
        with the same folder and the same arguments skips the points already there.
    resume
        With ``checkpoint``: keep the points of the same sweep (default). ``False`` deletes
        them and starts afresh. A checkpoint of a different sweep is never resumed.
    progress
        Called with the number of points finished since the last call.

    Returns
    -------
    pandas.DataFrame
        Columns ``point`` (index in the design), one column per varied parameter, and for
        each outcome ``NAME`` (the estimate: ``P`` for a probability, the mean for a
        value, ``P(by horizon)`` for a time to event) and ``NAME_se`` (its Monte Carlo
        standard error). ``table.attrs`` records the design, seed, replications, scenario
        checksum and each outcome's statistic.

    Raises
    ------
    ScenarioError
        For an unknown parameter or outcome (with a did-you-mean), ``low >= high``, a bad
        design, ``n``, seed or number of replications.
    ResultError
        If the checkpoint folder belongs to a different sweep or cannot be written.
    SimulationError
        If a point's run fails (the message names the point and its values).
    """
    check_choice(engine)
    sc = scenario if isinstance(scenario, Scenario) else load(scenario)
    s = sc.spec.seed if seed is None else seed
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
        raise ScenarioError(f"seed must be a whole number in [0, 2**63), found {s!r}")
    check_vary(sc, normalize_vary(vary))
    points = make_design(vary, design=design, n=n, seed=s)
    return run_design(
        sc, points, outcomes=outcomes, replications=replications, seed=s, engine=engine,
        workers=workers, executor=executor, checkpoint=checkpoint, resume=resume,
        progress=progress,
    ).table  # fmt: skip
