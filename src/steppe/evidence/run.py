"""``steppe.run`` of a scenario with evidence: the conditioned run, its prior, and the
summary that sets them side by side (``docs/reports.md``)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from steppe.api import RunResult, manifest_document, run, summary_document
from steppe.engines import Engine, EngineChoice
from steppe.evidence.build import build_plan
from steppe.evidence.parallel import run_conditioned
from steppe.evidence.summary import (
    evidence_block,
    outcome_summaries,
    parameter_posterior,
    resample_equal,
    taught,
)
from steppe.model.scenario import Scenario
from steppe.results.indicators import indicator_frame
from steppe.results.traces import TracePlan, summarize_traces

__all__ = ["run_with_evidence", "without_evidence"]


def without_evidence(sc: Scenario) -> Scenario:
    """``sc`` forecast from its start: the same model, with no evidence."""
    if not sc.evidence:
        return sc
    spec = sc.spec
    if "evidence" in type(spec).model_fields:
        spec = spec.model_copy(update={"evidence": []})
        return Scenario.from_spec(
            spec, file=sc.file, sha256=sc.sha256, positions=sc.positions,
            overridden=sc.overridden,
        )  # fmt: skip
    return dataclasses.replace(sc, evidence=(), _compiled={})


def run_with_evidence(
    sc: Scenario,
    *,
    run_sc: Scenario,
    trace_plan: TracePlan | None,
    engine: EngineChoice,
    used: Engine,
    seed: int,
    replications: int,
    workers: int,
    progress: Callable[[int], None] | None,
    overrides: Mapping[str, float] | None,
) -> RunResult:
    """What :func:`steppe.run` returns for a scenario with evidence (its checks done).

    ``run_sc`` is ``sc`` with the report's traces (when ``trace_plan`` is given); ``used``
    the engine resolved for it. The prior is :func:`steppe.run` of ``sc`` without its
    evidence, with the same seed, replications and engine choice.
    """
    began = time.perf_counter()
    built = build_plan(sc)
    cond = run_conditioned(
        run_sc, built, engine=used.name, seed=seed, replications=replications,
        workers=workers, progress=progress,
    )  # fmt: skip
    wall = time.perf_counter() - began
    k = len(sc.outcomes)
    bodies = outcome_summaries(sc, cond.samples[:, :k], cond.logw)
    summary = summary_document(sc, bodies, n=replications, seed=seed, engine=used.name)
    keep = resample_equal(cond, seed)
    resampled = cond.samples[keep]
    indicators = None
    if trace_plan is not None:
        indicators = indicator_frame(trace_plan.indicators, resampled)  # before the sort
        summary["traces"] = summarize_traces(
            trace_plan, resampled, replications=replications, overwrite=True
        )
    prior = run(
        without_evidence(sc), replications=replications, seed=seed, engine=engine,
        workers=workers, traces=trace_plan is not None,
    )  # fmt: skip
    table, params = parameter_posterior(sc, cond, seed=seed, keep=keep)
    summary["evidence"] = evidence_block(sc, built, cond)
    summary["posterior"] = params
    summary["prior"] = {
        "engine": prior.summary["engine"],
        "outcomes": prior.summary["outcomes"],
        **({"traces": prior.summary["traces"]} if "traces" in prior.summary else {}),
    }
    summary["taught"] = {
        o.name: taught(prior.summary["outcomes"][o.name], bodies[o.name]) for o in sc.outcomes
    }
    manifest = manifest_document(
        sc, seed=seed, replications=replications, engine=used, wall=wall,
        overrides=overrides, workers=workers,
    )  # fmt: skip
    manifest["evidence_items"] = len(sc.evidence)
    manifest["prior_wall_seconds"] = prior.manifest["wall_seconds"]
    samples = pd.DataFrame(
        np.ascontiguousarray(resampled[:, :k]), columns=[o.name for o in sc.outcomes]
    )
    samples.index.name = "particle"
    return RunResult(
        scenario=sc, summary=summary, manifest=manifest, samples=samples, posterior=table,
        indicators=indicators,
    )  # fmt: skip
