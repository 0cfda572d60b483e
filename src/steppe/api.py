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
import importlib.metadata
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from steppe.engines.des import simulate_des
from steppe.errors import LimitError, ScenarioError
from steppe.load import load
from steppe.model.scenario import Scenario
from steppe.results.io import write_result_folder
from steppe.results.stats import (
    summarize_distribution,
    summarize_probability,
    summarize_time_to_event,
)

__all__ = ["ENGINES", "RunResult", "run"]

ENGINES = ("auto", "simpy")
EngineName = Literal["auto", "simpy"]

#: Per-replication samples are kept in memory; refuse runs whose samples alone need more.
MAX_SAMPLE_BYTES = 4 * 2**30


def _version(dist: str) -> str:
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

    def write(self, out_dir: str | Path) -> Path:
        """Write the result folder atomically and return its path."""
        return write_result_folder(
            Path(out_dir), summary=self.summary, manifest=self.manifest, samples=self.samples
        )


def run(
    scenario: Scenario | str | Path,
    *,
    replications: int | None = None,
    seed: int | None = None,
    overrides: Mapping[str, float] | None = None,
    engine: EngineName = "auto",
    progress: Callable[[int], None] | None = None,
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
        ``"simpy"`` (the reference engine) or ``"auto"`` (the fastest engine that supports
        the scenario).
    progress
        Called with the number of replications completed since the last call.

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
    need = n * max(1, len(sc.outcomes)) * 8 * 2
    if need > MAX_SAMPLE_BYTES:
        raise LimitError(
            f"{n:,} replications x {len(sc.outcomes)} outcomes need about {need / 2**30:.1f} GiB "
            f"for per-replication samples; the limit is {MAX_SAMPLE_BYTES / 2**30:.0f} GiB. "
            "Use fewer replications."
        )
    if engine not in ENGINES:
        raise ScenarioError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    used = "simpy"
    began = time.perf_counter()
    raw = simulate_des(sc, seed=s, n=n, progress=progress)
    wall = time.perf_counter() - began
    summary = summarize(sc, raw, seed=s, engine=used)
    manifest = _manifest(sc, seed=s, replications=n, engine=used, wall=wall, overrides=overrides)
    samples = pd.DataFrame({o.name: raw[:, o.index] for o in sc.outcomes})
    samples.index.name = "replication"
    return RunResult(scenario=sc, summary=summary, manifest=manifest, samples=samples)


def summarize(sc: Scenario, raw: np.ndarray, *, seed: int, engine: str) -> dict[str, Any]:
    """The ``summary.json`` document for per-replication samples ``raw``."""
    outcomes: dict[str, Any] = {}
    for o in sc.outcomes:
        col = raw[:, o.index]
        if o.kind == "probability":
            body = summarize_probability(col)
        elif o.kind == "distribution":
            body = summarize_distribution(col)
        else:
            body = summarize_time_to_event(col, sc.timeline)
        head: dict[str, Any] = {"kind": o.kind, "title": o.title, "expression": o.expr.source}
        if o.date is not None:
            head["date"] = o.date.isoformat()
        if o.unit:
            head["unit"] = o.unit
        outcomes[o.name] = {**head, **body}
    return {
        "scenario": sc.name,
        "title": sc.spec.title,
        "replications": int(raw.shape[0]),
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
) -> dict[str, Any]:
    return {
        "scenario": sc.name,
        "scenario_file": sc.file,
        "scenario_sha256": sc.sha256,
        "seed": seed,
        "replications": replications,
        "engine": engine,
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
