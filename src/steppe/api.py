"""The Python API for scripts: ``steppe.load`` and ``steppe.run``.

Examples
--------
>>> import steppe
>>> sc = steppe.load("scenarios/baseline.yaml")                      # doctest: +SKIP
>>> res = steppe.run(sc, replications=2000, seed=1)                   # doctest: +SKIP
>>> res.summary["outcomes"]["uz_delists_by_2027"]["p"]                # doctest: +SKIP
>>> res.samples.describe()                                            # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pandas as pd

from steppe.engines import Engine, EngineChoice, check_choice, resolve_engine
from steppe.engines.common import draw_parameters
from steppe.engines.correlate import ACHIEVED_SAMPLE, achieved_ranks
from steppe.errors import LimitError, ScenarioError
from steppe.execute import available_workers, execute
from steppe.execute import plan as plan_chunks
from steppe.load import load
from steppe.model.precision import PrecisionRule
from steppe.model.scenario import Scenario
from steppe.precision import execute_to_precision
from steppe.results.accumulate import QUANTILE_SAMPLE
from steppe.results.indicators import indicator_frame
from steppe.results.io import write_result_folder
from steppe.results.traces import TracePlan, plan_traces, summarize_traces

__all__ = ["RunResult", "engine_for_runs", "run"]

#: Kept per-replication samples live in memory; refuse runs whose samples alone need more.
MAX_SAMPLE_BYTES = 4 * 2**30
#: Refuse absurd run sizes up front.
MAX_REPLICATIONS = 10**9


@functools.cache
def _version(dist: str) -> str:
    """The installed version of ``dist`` (cached: reading package metadata takes
    milliseconds, and every run records five versions)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - always installed
        return "unknown"


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`run`.

    Attributes
    ----------
    scenario
        The scenario that ran (with overrides applied).
    summary
        The content of ``summary.json``: per outcome its estimate, Monte Carlo error and
        intervals.
    manifest
        The content of ``manifest.json``: what ran, with which versions, how long.
    samples
        One row per replication, one column per outcome (times to event in model years from
        the start, ``inf`` when not reached by the horizon). For a run conditioned on
        evidence: one row per particle of an equally weighted resample of the weighted
        particles (the summary's estimates use the weighted particles themselves).
    posterior
        For a run conditioned on evidence, the parameters of the same resampled particles
        (one row per particle, one column per parameter): draws from the posterior of the
        parameters; ``None`` otherwise.
    indicators
        The same rows' indicators (event and stage times, series at year ends, see
        :mod:`steppe.results.indicators`), for scoring and signposts; ``None`` for a run
        without traces.
    """

    scenario: Scenario
    summary: dict[str, Any]
    manifest: dict[str, Any]
    samples: pd.DataFrame = field(repr=False)
    posterior: pd.DataFrame | None = field(default=None, repr=False)
    indicators: pd.DataFrame | None = field(default=None, repr=False)

    def outcome(self, name: str) -> dict[str, Any]:
        """The summary of one outcome."""
        outcomes: dict[str, Any] = self.summary["outcomes"]
        return dict(outcomes[name])

    def write(self, out_dir: str | Path, *, report: bool = True) -> Path:
        """Write the result folder atomically and return its path.

        With ``report`` (the default) the folder also gets ``report.html``, ``report.md``
        and ``figures/``, built from the written ``summary.json`` and ``manifest.json``
        before the folder is swapped into place.
        """
        extra: Callable[[Path], object] | None = None
        if report:
            from steppe.report import write_report  # matplotlib: only when reports are asked

            extra = write_report
        return write_result_folder(
            Path(out_dir),
            summary=self.summary,
            manifest=self.manifest,
            samples=self.samples,
            indicators=self.indicators,
            extra=extra,
        )


def run(
    scenario: Scenario | str | Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, float] | None = None,
    engine: EngineChoice = "auto",
    workers: int | None = 1,
    keep_samples: bool = False,
    progress: Callable[[int], None] | None = None,
    traces: bool = True,
    evidence: Sequence[str | Path] = (),
    precision: float | None = None,
) -> RunResult:
    """Run a scenario many times and summarise its outcomes.

    A scenario with evidence (its ``evidence:`` section, or ``evidence`` files) is run
    conditioned on it (``docs/engine.md`` section 10): the summary's estimates are weighted,
    and it gains the sections ``evidence`` (the items, the effective sample size and the
    weight diagnostic), ``posterior`` (each parameter's prior and posterior) and ``prior``
    (the outcomes of the same run without the evidence), from which ``taught`` says how far
    the evidence moved each outcome.

    Parameters
    ----------
    scenario
        A loaded scenario or the path of a scenario file.
    replications, seed
        Default to the scenario's own ``replications`` and ``seed``.
    overrides
        Parameters to fix at given values, e.g. ``{"contagion": 0.5}``.
    engine
        ``"simpy"`` (the reference engine), ``"compiled"`` (each replication's loop
        compiled with Numba; by far the fastest, after 5-30 s of compilation the first time
        a scenario's structure is seen on a machine) or ``"auto"``: ``"compiled"`` when it
        can run the scenario and either its kernel is compiled already or the run has at
        least :data:`~steppe.engines.registry.AUTO_COMPILED_FROM` (10,000) replications,
        else ``"simpy"`` (see :func:`~steppe.engines.registry.resolve_engine`). The engine
        used is recorded in the summary and the manifest. (The NumPy ``"vector"`` engine
        was retired: asking for it raises :class:`~steppe.errors.EngineError`.)
    workers
        Processes to run chunks of replications on; ``None`` means all cores. The numbers
        do not depend on it.
    keep_samples
        Keep every replication's samples in ``samples``; by default only the first
        250,000 are kept (all of them for smaller runs).
    progress
        Called with the number of replications completed since the last call. If it also
        has a ``start(workers)`` method (:class:`steppe.execute.Timed`), that is called
        once the chunks start, after any compilation, with the number of processes.
    traces
        Also record every series over time and every event's P(by date) for the report's
        figures (the ``traces`` section of the summary; see :mod:`steppe.results.traces`).
        ``False`` skips them (e.g. for benchmarks).
    evidence
        Evidence files (a YAML ``evidence:`` list each, see ``docs/scenario-format.md``)
        added to the scenario's own evidence; ``scenario`` must then be a path or a
        scenario loaded from a file.
    precision
        Stop once every probability outcome's Monte Carlo standard error is at most this
        (the scenario's ``precision:`` outcomes and ``first``, if it has one, with this
        target): replications in stages up to ``replications``, the cap (see
        :mod:`steppe.precision`). The summary's ``replications`` are those used, and its
        ``precision`` section records the rule and the stages. Default: the scenario's
        ``precision:``, if any. Not for a run conditioned on evidence.

    Returns
    -------
    RunResult

    Raises
    ------
    EngineError
        For an unknown or retired engine (before anything else is done).
    ScenarioError
        For an invalid scenario, override or size, or an engine that cannot run it.
    SimulationError
        If the run fails, e.g. a hazard evaluates to a negative number.
    """
    check_choice(engine)
    sc = _load(scenario, evidence)
    sc = sc.with_overrides(dict(overrides or {}))
    n = sc.spec.replications if replications is None else replications
    s = sc.spec.seed if seed is None else seed
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScenarioError(f"replications must be a whole number >= 1, found {n!r}")
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
        raise ScenarioError(f"seed must be a whole number in [0, 2**63), found {s!r}")
    if n > MAX_REPLICATIONS:
        raise LimitError(
            f"{n:,} replications are more than the limit of {MAX_REPLICATIONS:,} per run"
        )
    kept = n if keep_samples else min(n, QUANTILE_SAMPLE)
    need = kept * max(1, len(sc.outcomes)) * 8 * 2
    if need > MAX_SAMPLE_BYTES:
        raise LimitError(
            f"keeping {kept:,} replications x {len(sc.outcomes)} outcomes of samples needs about "
            f"{need / 2**30:.1f} GiB; the limit is {MAX_SAMPLE_BYTES / 2**30:.0f} GiB. "
            "Use fewer replications or do not keep every sample."
        )
    plan = _trace_plan(sc, kept=kept, traces=traces)
    run_sc = plan.scenario if plan is not None else sc
    used = resolve_engine(engine, [run_sc], n)
    procs = available_workers() if workers is None else workers
    if isinstance(procs, bool) or not isinstance(procs, int) or procs < 1:
        raise ScenarioError(f"workers must be a whole number >= 1, found {workers!r}")
    procs = min(procs, len(plan_chunks(n, used.name)))  # no more workers than chunks
    rule = _precision_rule(sc, precision)
    if sc.evidence:
        from steppe.evidence.run import run_with_evidence

        return run_with_evidence(
            sc, run_sc=run_sc, trace_plan=plan, engine=engine, used=used, seed=s,
            replications=n, workers=procs, progress=progress, overrides=overrides,
        )  # fmt: skip
    began = time.perf_counter()
    options: dict[str, Any] = dict(
        engine=used.name, seed=s, replications=n, workers=procs, keep_samples=keep_samples,
        progress=progress, summarized=len(sc.outcomes),
        # Extra outcomes do not change an engine's random numbers (docs/engine.md, section
        # 8): chunks whose samples are not kept run without the traces.
        light=sc if plan is not None else None,
    )  # fmt: skip
    report = None
    if rule is None:
        acc = execute(run_sc, **options)
    else:
        acc, report = execute_to_precision(run_sc, rule=rule, **options)
        n = report.replications
    wall = time.perf_counter() - began
    summary = summary_document(sc, acc.summaries(), n=n, seed=s, engine=used.name)
    if sc.correlation is not None:
        summary["correlations"] |= _achieved(sc, seed=s, n=n)
    manifest = manifest_document(
        sc, seed=s, replications=n, engine=used, wall=wall, overrides=overrides, workers=procs
    )
    if report is not None:
        summary["precision"] = manifest["precision"] = report.describe()
    raw = acc.samples()
    indicators = None
    if plan is not None:
        indicators = indicator_frame(plan.indicators, raw)  # before the sort below
        # the trace columns are dropped next: they may be sorted in place
        summary["traces"] = summarize_traces(plan, raw, replications=n, overwrite=True)
        raw = raw[:, : len(sc.outcomes)]
    samples = pd.DataFrame(raw, columns=[o.name for o in sc.outcomes], copy=False)
    samples.index.name = "replication"
    return RunResult(
        scenario=sc, summary=summary, manifest=manifest, samples=samples, indicators=indicators
    )


def _achieved(sc: Scenario, *, seed: int, n: int) -> dict[str, Any]:
    """The rank correlations achieved between the correlated parameters by the draws of the
    run's first replications (at most ``ACHIEVED_SAMPLE``), for ``summary.json``."""
    assert sc.correlation is not None
    k = min(n, ACHIEVED_SAMPLE)
    draws = draw_parameters(sc, seed, 0, k)[:, list(sc.correlation.indices)]
    matrix = achieved_ranks(draws)
    return {"achieved": [[float(x) for x in row] for row in matrix], "achieved_over": k}


def _precision_rule(sc: Scenario, se: float | None) -> PrecisionRule | None:
    """The precision rule of a run: the scenario's, with ``se`` as its target if given.

    Raises
    ------
    ScenarioError
        For a target that is not a number in (0, 0.5), or a rule on a run conditioned on
        evidence (its stages would need a sequential Monte Carlo run per stage).
    """
    rule = sc.precision
    if se is not None:
        if isinstance(se, bool) or not isinstance(se, int | float) or not 0.0 < se < 0.5:
            raise ScenarioError(
                f"precision must be a standard error in (0, 0.5), found {se!r}",
                path=("precision",),
            )
        rule = PrecisionRule(float(se)) if rule is None else replace(rule, se=float(se))
        if not rule.targets(sc.outcomes):
            raise ScenarioError(
                "precision applies to probability outcomes, and this scenario has none",
                path=("precision",),
            )
    if rule is not None and sc.evidence:
        raise ScenarioError(
            "precision control is not available for a run conditioned on evidence (its "
            "particles are reweighted and resampled as one population); give a number of "
            "replications instead",
            path=("precision",),
        )
    return rule


def _load(scenario: Scenario | str | Path, evidence: Sequence[str | Path]) -> Scenario:
    """The scenario to run: loaded from its file with the evidence files, if any."""
    if isinstance(evidence, str | Path):
        evidence = [evidence]
    if not evidence:
        return scenario if isinstance(scenario, Scenario) else load(scenario)
    path = scenario.file if isinstance(scenario, Scenario) else scenario
    if path is None:
        raise ScenarioError(
            "evidence files can be added to a scenario loaded from a file, not to one built "
            "in Python: give its evidence in its spec's evidence list"
        )
    return load(path, evidence=list(evidence))


def _trace_plan(sc: Scenario, *, kept: int, traces: bool) -> TracePlan | None:
    """The report's traces of a run that keeps ``kept`` replications' samples, if asked for
    and if their samples fit in memory (else the run goes without; the report says so)."""
    plan = plan_traces(sc) if traces else None
    if plan is not None and kept * len(plan.scenario.outcomes) * 8 * 2 > MAX_SAMPLE_BYTES:
        return None
    return plan


def engine_for_runs(
    scenarios: Sequence[Scenario],
    *,
    engine: EngineChoice,
    replications: int,
    keep_samples: bool = False,
    traces: bool = True,
) -> EngineChoice:
    """One engine for runs of each of ``scenarios`` (a comparison runs them all on one),
    with :func:`run`'s options: ``engine`` resolved for the scenarios as they will run
    (with their traces), ``replications`` each (see
    :func:`~steppe.engines.registry.resolve_engine`).

    Raises
    ------
    EngineError, ScenarioError
        As :func:`run` would.
    """
    check_choice(engine)
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ScenarioError(f"replications must be a whole number >= 1, found {replications!r}")
    kept = replications if keep_samples else min(replications, QUANTILE_SAMPLE)
    run_scs = []
    for sc in scenarios:
        plan = _trace_plan(sc, kept=kept, traces=traces)
        run_scs.append(plan.scenario if plan is not None else sc)
    name = resolve_engine(engine, run_scs, replications).name
    return cast(EngineChoice, name)  # a registered engine's name


def summary_document(
    sc: Scenario, bodies: Mapping[str, dict[str, Any]], *, n: int, seed: int, engine: str
) -> dict[str, Any]:
    """The ``summary.json`` document from per-outcome summaries."""
    outcomes: dict[str, Any] = {}
    for o in sc.outcomes:
        head: dict[str, Any] = {"kind": o.kind, "title": o.title, "expression": o.expr.source}
        if o.date is not None:
            head["date"] = o.date.isoformat()
        if o.period is not None:  # a total: over [first, last] (date: the last)
            head["period"] = [d.isoformat() for d in o.period]
        if o.unit:
            head["unit"] = o.unit
        outcomes[o.name] = {**head, **bodies[o.name]}
    doc = {
        "scenario": sc.name,
        "title": sc.spec.title,
        "replications": n,
        "seed": seed,
        "engine": engine,
        "steppe_version": _version("steppe"),
        "start": sc.spec.start.isoformat(),
        "horizon": sc.spec.horizon.isoformat(),
        "as_of": sc.spec.as_of.isoformat() if sc.spec.as_of else None,
        "outcomes": outcomes,
        "assumptions": {
            p.name: {"distribution": p.describe(), "source": p.source, "why": p.why}
            for p in sc.params
        },
    }
    if sc.correlation is not None:
        doc["correlations"] = sc.correlation.describe()
    return doc


def manifest_document(
    sc: Scenario,
    *,
    seed: int,
    replications: int,
    engine: Engine,
    wall: float,
    overrides: Mapping[str, float] | None,
    workers: int,
) -> dict[str, Any]:
    return {
        "scenario": sc.name,
        "scenario_file": sc.file,
        "scenario_sha256": sc.sha256,
        "seed": seed,
        "replications": replications,
        "engine": engine.name,
        "workers": workers,
        "chunk_size": engine.chunk_size,
        "smallest_chunk": engine.smallest_chunk,
        "overrides": dict(overrides or {}),
        "versions": {
            "steppe": _version("steppe"),
            "numpy": _version("numpy"),
            "scipy": _version("scipy"),
            "simpy": _version("simpy"),
            "python": platform.python_version(),
        },
        "wall_seconds": round(wall, 6),
        "replications_per_second": round(replications / wall, 3) if wall > 0 else None,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
