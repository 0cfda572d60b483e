"""A conditioned run's generations, each split into the engine's chunks over workers.

Every generation of particles is simulated in the chunks of :func:`steppe.execute.plan`,
on one process or a pool; a chunk's samples and log-weights depend only on the scenario,
the seed, the plan, the lineages and its range of particles (``docs/engine.md``
section 10), and they are joined in chunk order, so the result is the same on any number
of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from steppe._workers import process_pool, start_method
from steppe.engines import get_engine
from steppe.engines.des import Lineages
from steppe.evidence.build import Built
from steppe.evidence.plan import EvidencePlan
from steppe.evidence.smc import ESS_THRESHOLD, Conditioned, condition
from steppe.execute import plan as plan_chunks
from steppe.execute import started
from steppe.model.scenario import Scenario

__all__ = ["run_conditioned"]

Progress = Callable[[int], None]
#: A chunk's samples and log-weights.
Part = tuple[np.ndarray, np.ndarray]


def run_conditioned(
    scenario: Scenario,
    built: Built,
    *,
    engine: str,
    seed: int,
    replications: int,
    workers: int = 1,
    progress: Progress | None = None,
    threshold: float = ESS_THRESHOLD,
) -> Conditioned:
    """Run ``replications`` particles of ``scenario`` conditioned on ``built.plan``.

    Parameters
    ----------
    scenario
        The scenario to simulate (it may carry more outcomes than the one the plan was
        built from, e.g. the report's traces: the events, projects and series are the same).
    built
        The plan and the observations behind it (:func:`steppe.evidence.build.build_plan`).
    engine
        The name of a registered engine.
    workers
        Processes to use; the result does not depend on it.
    progress
        Called with the number of particles finished, as chunks of the first generation
        finish (later generations, if any, are not counted).

    Raises
    ------
    SimulationError
        If every particle has weight 0 at a checkpoint (see
        :func:`steppe.evidence.smc.condition`) or a replication fails.
    """
    eng = get_engine(engine)
    todo = plan_chunks(replications, engine)
    workers = max(1, min(workers, len(todo)))
    eng.prepare(scenario)
    started(progress, workers)

    def run(chunks: Callable[[Lineages], Iterator[Part]]) -> Conditioned:
        """The run, each generation's parts got from ``chunks`` (in chunk order)."""
        generation = 0

        def simulate(lineages: Lineages) -> Part:
            nonlocal generation
            generation += 1
            parts = []
            for part, (_, _, n) in zip(chunks(lineages), todo, strict=True):
                parts.append(part)
                if progress is not None and generation == 1:
                    progress(n)
            return _join(parts)

        return condition(
            built.plan, simulate, seed=seed, n=replications, threshold=threshold,
            describe=built.describe,
        )  # fmt: skip

    if workers == 1:

        def serial(lineages: Lineages) -> Iterator[Part]:
            for _, start, n in todo:
                yield eng.simulate_conditioned(
                    scenario, built.plan, lineages, seed=seed, start=start, n=n
                )

        return run(serial)

    with process_pool(workers, _install, (scenario, built.plan), method=start_method()) as pool:

        def pooled(lineages: Lineages) -> Iterator[Part]:
            # every chunk submitted now; results in chunk order, the first failure raised
            futures = [
                pool.submit(_chunk, engine, lineages, seed=seed, start=start, n=n)
                for _, start, n in todo
            ]
            return (fut.result() for fut in futures)

        return run(pooled)


def _join(parts: list[Part]) -> Part:
    samples = np.concatenate([p[0] for p in parts], axis=0)
    logw = np.concatenate([p[1] for p in parts], axis=0)
    return samples, logw


_WORKER: tuple[Scenario, EvidencePlan] | None = None


def _install(scenario: Scenario, plan: EvidencePlan) -> None:
    """Pool initializer: the scenario and plan every chunk of this worker runs."""
    global _WORKER
    _WORKER = (scenario, plan)


def _chunk(
    engine: str, lineages: Lineages, *, seed: int, start: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    assert _WORKER is not None, "worker not initialised"  # internal invariant
    scenario, plan = _WORKER
    return get_engine(engine).simulate_conditioned(
        scenario, plan, lineages, seed=seed, start=start, n=n
    )
