"""Running a scenario's replications in chunks, on one process or several.

A run of ``n`` replications is split into consecutive chunks (:func:`chunks`): chunks of
the engine's :attr:`~steppe.engines.base.Engine.chunk_size` replications, then shrinking ones
at the end so that the workers finish together. The plan depends only on ``n`` and the
engine; each chunk's result depends only on the scenario, the seed, the engine and its range,
so any number of workers gives the same per-replication samples, and since chunks are merged
in chunk order (:class:`~steppe.results.accumulate.Accumulator`), the same summary, bit for
bit. Engines are named by the registry (:mod:`steppe.engines.registry`) and used through
their protocol (:class:`~steppe.engines.base.Engine`) alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, runtime_checkable

import numpy as np

from steppe._workers import process_pool, start_method
from steppe.engines import get_engine
from steppe.engines.common import Fixed
from steppe.errors import SimulationError
from steppe.model.scenario import Scenario
from steppe.results.accumulate import Accumulator, ChunkStats, chunk_stats

__all__ = ["Timed", "available_workers", "chunks", "execute", "plan", "started"]

Progress = Callable[[int], None]


@runtime_checkable
class Timed(Protocol):
    """A ``progress`` callback that is also told when the work starts, e.g. to time it
    (:class:`steppe._progress.Timer`)."""

    def __call__(self, done: int, /) -> None:
        """``done`` more items are finished."""

    def start(self, workers: int, /) -> None:
        """The work starts now, on ``workers`` processes."""


def started(progress: Progress | None, workers: int) -> None:
    """Tell ``progress`` that the work starts now on ``workers`` processes, if it is
    :class:`Timed`."""
    if isinstance(progress, Timed):
        progress.start(workers)


def available_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def chunks(n: int, size: int, smallest: int | None = None) -> Iterator[tuple[int, int, int]]:
    """``(chunk index, start, length)`` of each chunk of a run of ``n`` replications.

    Chunks hold ``size`` replications while more than ``4 * size`` remain; after that each
    takes a quarter of what remains (rounded up), but at least ``smallest`` (default
    ``size``: equal chunks), and the last takes what is left. With equal chunks one worker
    can idle for most of a chunk while another finishes the last one; shrinking chunks
    bound that wait by the smallest chunk's time. This is guided self-scheduling
    (Polychronopoulos and Kuck, 1987) with the divisor fixed, so that the plan, hence every
    random stream, does not depend on the number of workers.
    """
    smallest = size if smallest is None else max(1, min(smallest, size))
    c = start = 0
    while start < n:
        left = n - start
        k = min(size, max(smallest, -(-left // 4)), left)
        yield c, start, k
        c += 1
        start += k


def plan(n: int, engine: str) -> list[tuple[int, int, int]]:
    """The chunks of a run of ``n`` replications with the engine called ``engine`` (see
    :func:`chunks`)."""
    eng = get_engine(engine)
    return list(chunks(n, eng.chunk_size, eng.smallest_chunk))


def execute(
    scenario: Scenario,
    *,
    engine: str,
    seed: int,
    replications: int,
    workers: int = 1,
    keep_samples: bool = False,
    progress: Progress | None = None,
    fixed: Fixed | None = None,
    summarized: int | None = None,
    light: Scenario | None = None,
    first: int = 0,
    into: Accumulator | None = None,
) -> Accumulator:
    """Run ``replications`` replications and return their merged summaries.

    Parameters
    ----------
    engine
        The name of the engine (a registered one: see :mod:`steppe.engines.registry`).
    workers
        Processes to use; ``1`` runs in this process. The result does not depend on it.
    keep_samples
        Keep every replication's samples (else only the first
        :data:`~steppe.results.accumulate.QUANTILE_SAMPLE`).
    progress
        Called with the number of replications finished, as chunks finish. If it is
        :class:`Timed`, its ``start`` is called first with the number of processes, when
        the chunks start (after any compilation).
    fixed
        Parameter values by index that replace their draws (see
        :func:`~steppe.engines.common.draw_parameters`).
    summarized
        Summarise the first ``summarized`` outcomes only (see
        :class:`~steppe.results.accumulate.Accumulator`); the others are kept as samples.
    light
        ``scenario`` without the outcomes after the first ``summarized`` (same events,
        series, projects, parameters and timeline): the chunks whose samples are not kept
        compute its outcomes only, with ``scenario`` as their ``host`` (see
        :meth:`Engine.simulate <steppe.engines.base.Engine.simulate>`: the compiled engine
        runs ``scenario``'s kernel, one kernel to compile). An engine's random numbers do
        not depend on the outcomes (``docs/engine.md``, section 8), so the summary of the
        first ``summarized`` outcomes is the same as without ``light``, with less work.
    first, into
        Run replications ``[first, first + replications)`` (planned as a run of
        ``replications`` whose chunks start at ``first``) and merge them into ``into``, an
        accumulator that holds replications ``[0, first)`` (a run in stages:
        :mod:`steppe.precision`); default: a run from 0 into a new accumulator.
    """
    acc = into
    if acc is None:
        acc = Accumulator(
            scenario.outcomes, scenario.timeline, keep_samples=keep_samples,
            summarized=summarized, replications=replications,
        )  # fmt: skip
    if acc.n != first:
        raise ValueError(f"the accumulator holds {acc.n} replications, not first = {first}")
    if light is not None and summarized != len(light.outcomes):
        raise ValueError("light: the scenario of the summarized outcomes")
    eng = get_engine(engine)
    todo_plan = [(c, first + start, n) for c, start, n in plan(replications, engine)]
    workers = max(1, min(workers, len(todo_plan)))
    eng.prepare(scenario)  # compile (or load) what it needs once, before workers fork
    started(progress, workers)  # after the compilation: the estimate times the chunks
    if workers == 1:
        for _, start, n in todo_plan:
            sc, host = (scenario, None)
            if light is not None and not acc.needs_samples(start):
                sc, host = light, scenario  # light's outcomes, with the scenario as host
            samples = eng.simulate(sc, seed=seed, start=start, n=n, fixed=fixed, host=host)
            acc.add(start, samples)
            if progress is not None:
                progress(n)
        return acc
    method = start_method()
    # Forked workers write kept samples straight into memory shared with this process.
    kept = acc.kept_for_workers(eng.sample_order) if method == "fork" else None
    # The scenario goes to each worker once (inherited on fork), not with every chunk:
    # unpickling rebuilds and recompiles it, which cost tens of milliseconds per chunk.
    # The workers end soon after this process, however it ends (steppe._workers).
    with process_pool(workers, _install, (scenario, light, kept), method=method) as pool:
        todo = iter(todo_plan)
        running: dict[Future[tuple[ChunkStats, np.ndarray | None]], tuple[int, int]] = {}

        def submit() -> None:
            item = next(todo, None)
            if item is not None:
                _, start, n = item
                try:
                    fut = pool.submit(
                        _summarised_chunk, engine, seed=seed, start=start, n=n,
                        fixed=fixed, send_samples=acc.needs_samples(start),
                        summarized=summarized,
                    )  # fmt: skip
                except BrokenProcessPool:  # a worker died: its chunk's future says so
                    return
                running[fut] = (start, n)

        for _ in range(2 * workers):  # bounded: at most 2 chunks in flight per worker
            submit()
        failed: dict[int, BaseException] = {}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                start, n = running.pop(fut)
                error = fut.exception()
                if isinstance(error, BrokenProcessPool):
                    error = SimulationError(
                        f"a worker process died while running replications {start:,} to "
                        f"{start + n - 1:,} (killed, or out of memory?)"
                    )
                if error is not None:
                    failed[start] = error
                    continue
                acc.add_stats(start, *fut.result())
                if progress is not None:
                    progress(n)
                if not failed:
                    submit()
        if failed:
            # Chunks are submitted in order and submission stops at the first failure, so
            # every earlier chunk has run: the lowest failure is the one a single worker
            # would have met first. The error does not depend on the number of workers.
            raise failed[min(failed)]
    return acc


_WORKER: tuple[Scenario, Scenario | None, np.ndarray | None] | None = None


def _install(scenario: Scenario, light: Scenario | None, kept: np.ndarray | None) -> None:
    """Pool initializer: the scenarios every chunk of this worker runs, and the shared array
    of kept samples, if any (see :func:`execute`)."""
    global _WORKER
    _WORKER = (scenario, light, kept)


def _summarised_chunk(
    engine: str,
    *,
    seed: int,
    start: int,
    n: int,
    fixed: Fixed | None,
    send_samples: bool,
    summarized: int | None,
) -> tuple[ChunkStats, np.ndarray | None]:
    """A chunk run in a worker: its mergeable statistics, and its samples if they are kept
    (written into the shared array when there is one, else returned); a chunk whose samples
    are not kept runs the light scenario, if there is one.

    Summarising where the chunk ran spreads that work over the workers and sends a few
    numbers back instead of every sample.
    """
    assert _WORKER is not None, "worker not initialised"  # internal invariant
    scenario, light, kept = _WORKER
    sc, host = (scenario, None) if light is None or send_samples else (light, scenario)
    x = get_engine(engine).simulate(sc, seed=seed, start=start, n=n, fixed=fixed, host=host)
    stats = chunk_stats(scenario.outcomes[:summarized], scenario.timeline, x)
    if send_samples and kept is not None:
        take = min(n, kept.shape[0] - start)
        kept[start : start + take] = x[:take]
        return stats, None
    return stats, (x if send_samples else None)
