"""A run report's figures drawn in worker processes while the caller builds the rest.

matplotlib draws on one core, and a report's figures are independent: :func:`drawing` forks
up to :data:`MAX_WORKERS` processes (:func:`steppe._workers.process_pool`), gives them the
figures heaviest first and hands them back in report order, while the caller goes on (the
"What to watch" section, in :func:`steppe.report.build.write_report`). The figures are those
:func:`~steppe.report.figures.run_figures` draws in-process: the same code on the same
summary (``tests/test_report.py`` compares the PNG bytes). With one core, or without
``fork``, they are drawn in-process when asked for.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from steppe._workers import process_pool, start_method
from steppe.report._plot import Figure
from steppe.report.figures import Job, draw_job, figure_jobs, run_figures

__all__ = ["MAX_WORKERS", "drawing"]

#: At most this many processes draw a report's figures (its heaviest figures are two:
#: the events' and the histograms' small multiples).
MAX_WORKERS = 2
# The relative cost of a job's drawing: small multiples first, so the workers end together.
_COST = {"events": 3, "histograms": 3, "time_to": 2, "probabilities": 1, "series": 1}

_summary: dict[str, Any] | None = None  # a worker's summary, given as it is forked


def _install(summary: dict[str, Any]) -> None:
    global _summary
    _summary = summary


def _draw(job: Job) -> list[Figure]:
    if _summary is None:  # pragma: no cover - _install runs first in every worker
        raise RuntimeError("a figure worker has no summary")
    return draw_job(_summary, job)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextmanager
def drawing(
    summary: dict[str, Any], *, workers: int | None = None
) -> Iterator[Callable[[], list[Figure]]]:
    """Start drawing the figures of a run's report; yield a function that returns them.

    Parameters
    ----------
    summary
        The run's summary (``summary.json``).
    workers
        Processes to draw with (default: up to :data:`MAX_WORKERS`, no more than this
        process's cores). Below 2, the figures are drawn in this process when asked for.

    Yields
    ------
    Callable[[], list[Figure]]
        Waits for the figures and returns them in report order.
    """
    jobs = figure_jobs(summary)
    n = min(MAX_WORKERS, _cores()) if workers is None else workers
    n = min(n, len(jobs))
    # The objects made so far (a run's: pandas, Numba, the summary) are left out of garbage
    # collections until the figures are drawn: collections then cost a fraction, and forked
    # workers do not copy every page of the heap as a collection touches it (about a tenth
    # of the figures' time each).
    gc.freeze()
    try:
        if n < 2 or start_method() != "fork":  # spawned workers would import all again
            yield lambda: run_figures(summary)
            return
        with process_pool(n, _install, (summary,), method="fork") as pool:
            heaviest_first = sorted(range(len(jobs)), key=lambda i: -_COST[jobs[i][0]])
            futures = {i: pool.submit(_draw, jobs[i]) for i in heaviest_first}
            try:
                yield lambda: [fig for i in range(len(jobs)) for fig in futures[i].result()]
            except BaseException:
                for future in futures.values():
                    future.cancel()
                raise
    finally:
        gc.unfreeze()
