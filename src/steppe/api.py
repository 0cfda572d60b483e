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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from steppe.engines import CHUNK_SIZE, SMALLEST_CHUNK, EngineName, kernel
from steppe.errors import LimitError, ScenarioError
from steppe.execute import available_workers, execute
from steppe.execute import plan as plan_chunks
from steppe.load import load
from steppe.model.scenario import Scenario
from steppe.results.accumulate import QUANTILE_SAMPLE
from steppe.results.io import write_result_folder
from steppe.results.traces import plan_traces, summarize_traces

__all__ = ["AUTO_COMPILED_FROM", "ENGINES", "RunResult", "resolve_engine", "run"]

ENGINES = ("auto", "simpy", "vector", "compiled")
EngineChoice = Literal["auto", "simpy", "vector", "compiled"]
#: ``engine="auto"`` uses the compiled engine from this many replications on (when Numba is
#: installed and the scenario allows it): below, compiling a new scenario's kernel (seconds,
#: once per scenario structure) would take longer than the vector engine needs for the run.
AUTO_COMPILED_FROM = 100_000

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
        the start, ``inf`` when not reached by the horizon).
    """

    scenario: Scenario
    summary: dict[str, Any]
    manifest: dict[str, Any]
    samples: pd.DataFrame = field(repr=False)

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
) -> RunResult:
    """Run a scenario many times and summarise its outcomes.

    Parameters
    ----------
    scenario
        A loaded scenario or the path of a scenario file.
    replications, seed
        Default to the scenario's own ``replications`` and ``seed``.
    overrides
        Parameters to fix at given values, e.g. ``{"contagion": 0.5}``.
    engine
        ``"simpy"`` (the reference engine), ``"vector"`` (NumPy, many replications at
        once), ``"compiled"`` (each replication's loop compiled with Numba; the fastest
        for large runs, after a few seconds of compilation the first time a scenario's
        structure is seen) or ``"auto"``: ``"compiled"`` from
        :data:`AUTO_COMPILED_FROM` replications on when it can run the scenario, else
        ``"vector"``. The engine used is recorded in the summary and the manifest.
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

    Returns
    -------
    RunResult

    Raises
    ------
    ScenarioError
        For an invalid scenario, override or size.
    SimulationError
        If the run fails, e.g. a hazard evaluates to a negative number.
    """
    sc = scenario if isinstance(scenario, Scenario) else load(scenario)
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
    plan = plan_traces(sc) if traces else None
    if plan is not None and kept * len(plan.scenario.outcomes) * 8 * 2 > MAX_SAMPLE_BYTES:
        plan = None  # the traces' samples would not fit: run without (the report says so)
    run_sc = plan.scenario if plan is not None else sc
    if engine not in ENGINES:
        raise ScenarioError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    used = resolve_engine(engine, run_sc, n)
    procs = available_workers() if workers is None else workers
    if isinstance(procs, bool) or not isinstance(procs, int) or procs < 1:
        raise ScenarioError(f"workers must be a whole number >= 1, found {workers!r}")
    procs = min(procs, len(plan_chunks(n, used)))  # no more workers than chunks
    began = time.perf_counter()
    acc = execute(
        run_sc, engine=used, seed=s, replications=n, workers=procs, keep_samples=keep_samples,
        progress=progress, summarized=len(sc.outcomes),
        # Extra outcomes do not change the compiled engine's random numbers (docs/engine.md,
        # section 8): chunks whose samples are not kept run without the traces.
        light=sc if plan is not None and used == "compiled" else None,
    )  # fmt: skip
    wall = time.perf_counter() - began
    summary = _summary(sc, acc.summaries(), n=n, seed=s, engine=used)
    manifest = _manifest(
        sc, seed=s, replications=n, engine=used, wall=wall, overrides=overrides, workers=procs
    )
    raw = acc.samples()
    if plan is not None:
        # the trace columns are dropped next: they may be sorted in place
        summary["traces"] = summarize_traces(plan, raw, replications=n, overwrite=True)
        raw = raw[:, : len(sc.outcomes)]
    samples = pd.DataFrame(raw, columns=[o.name for o in sc.outcomes], copy=False)
    samples.index.name = "replication"
    return RunResult(scenario=sc, summary=summary, manifest=manifest, samples=samples)


def resolve_engine(engine: EngineChoice, sc: Scenario, n: int) -> EngineName:
    """The engine that runs ``n`` replications of ``sc``: ``auto`` resolved as documented
    in :func:`run` (a sweep passes its total number of replications).

    Raises
    ------
    ScenarioError
        If ``"compiled"`` is asked for and cannot run ``sc``.
    """
    if engine == "compiled":
        why = None if kernel.available() else "Numba is not installed"
        why = why or kernel.unsupported(sc)
        if why:
            raise ScenarioError(f"the compiled engine cannot run this scenario: {why}")
        return "compiled"
    if engine == "auto":
        big = n >= AUTO_COMPILED_FROM
        return "compiled" if big and kernel.available() and not kernel.unsupported(sc) else "vector"
    return engine


def _summary(
    sc: Scenario, bodies: Mapping[str, dict[str, Any]], *, n: int, seed: int, engine: str
) -> dict[str, Any]:
    """The ``summary.json`` document from per-outcome summaries."""
    outcomes: dict[str, Any] = {}
    for o in sc.outcomes:
        head: dict[str, Any] = {"kind": o.kind, "title": o.title, "expression": o.expr.source}
        if o.date is not None:
            head["date"] = o.date.isoformat()
        if o.unit:
            head["unit"] = o.unit
        outcomes[o.name] = {**head, **bodies[o.name]}
    return {
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


def _manifest(
    sc: Scenario,
    *,
    seed: int,
    replications: int,
    engine: str,
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
        "engine": engine,
        "workers": workers,
        "chunk_size": CHUNK_SIZE[engine],  # type: ignore[index]
        "smallest_chunk": SMALLEST_CHUNK[engine],  # type: ignore[index]
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
