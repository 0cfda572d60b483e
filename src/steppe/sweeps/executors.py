"""Where design points run: in this process, in local processes, or on a Dask cluster.

An executor is a context manager with one method, :meth:`Executor.run`, which takes a
picklable function of a point index (a :class:`~steppe.sweeps.points.PointRunner`) and the
indices to run, and yields ``(index, result)`` pairs **as points finish**, in any order. The
caller (:func:`steppe.sweep`) persists each point as it arrives, so the executor never
writes anything and the same function gives the same numbers under every executor (as EMA
Workbench's evaluators run whatever model they are given).

The function is shipped once per worker, not once per point: to local processes through
the pool's initializer, to Dask workers as one scattered, broadcast object that each worker
unpickles once and keeps in a small cache.

A Dask worker that dies mid-point is replaced by its nanny and the scheduler runs the point
again elsewhere; the client receives each point's result once, from the future that
completes, so a lost worker neither loses nor duplicates a point.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Protocol, Self

from steppe._workers import process_pool
from steppe.errors import ScenarioError, SimulationError, SteppeError

__all__ = ["DaskExecutor", "Executor", "ProcessExecutor", "SerialExecutor"]

PointFn = Callable[[int], Any]


class Executor(Protocol):
    """Runs a function of a point index on many indices; see the module docstring."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def run(self, fn: PointFn, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        """Yield ``(i, fn(i))`` for each ``i`` in ``indices`` as they finish."""
        ...


class _Context:
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class SerialExecutor(_Context):
    """Run every point in this process, in index order."""

    def run(self, fn: PointFn, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        for i in indices:
            yield i, fn(i)


# --- local processes ------------------------------------------------------------------

_WORKER_FN: PointFn | None = None


def _init_worker(fn: PointFn) -> None:
    global _WORKER_FN
    _WORKER_FN = fn


def _call_worker(i: int) -> Any:
    assert _WORKER_FN is not None, "worker not initialised"  # internal invariant
    return _WORKER_FN(i)


class ProcessExecutor(_Context):
    """Run points on ``workers`` local processes (:class:`~concurrent.futures.ProcessPoolExecutor`)
    that end soon after this process does, however it ends (see :mod:`steppe._workers`).

    At most two points per worker are in flight, so a failing point stops the sweep soon
    and memory stays bounded. The first error (by completion) is raised after the points
    already running have finished and been yielded.
    """

    def __init__(self, workers: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ScenarioError(f"workers must be a whole number >= 1, found {workers!r}")
        self.workers = workers

    def run(self, fn: PointFn, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        if not indices:
            return
        # The workers end soon after this process, however it ends (steppe._workers).
        with process_pool(min(self.workers, len(indices)), _init_worker, (fn,)) as pool:
            todo = iter(indices)
            running: dict[Future[Any], int] = {}
            error: BaseException | None = None

            def submit() -> None:
                i = next(todo, None)
                if i is not None:
                    # a worker died: the future of the point it ran says so
                    with contextlib.suppress(BrokenProcessPool):
                        running[pool.submit(_call_worker, i)] = i

            for _ in range(2 * self.workers):
                submit()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=running.__getitem__):
                    i = running.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        exc = SimulationError(
                            f"a worker process died while running design point {i} "
                            "(killed, or out of memory?); the sweep stopped"
                        )
                    if exc is not None:
                        error = error or exc
                        continue
                    yield i, fut.result()
                    if error is None:
                        submit()
            if error is not None:
                raise error


# --- Dask -----------------------------------------------------------------------------

_DASK_CACHE: dict[str, PointFn] = {}


def _call_dask(token: str, blob: bytes, i: int) -> Any:
    fn = _DASK_CACHE.get(token)
    if fn is None:
        _DASK_CACHE.clear()  # one sweep at a time per worker: keep memory bounded
        fn = _DASK_CACHE[token] = pickle.loads(blob)  # sent by our own client
    return fn(i)


class DaskExecutor(_Context):
    """Run points on a Dask cluster (``pip install 'steppe[dask]'``).

    Parameters
    ----------
    scheduler
        Address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    local_workers
        Start a :class:`distributed.LocalCluster` of this many single-threaded worker
        processes on 127.0.0.1 (its HTTP server on a free local port) for the duration of
        the ``with`` block.
    client
        An existing :class:`distributed.Client` (left open on exit).

    Give exactly one of them.
    """

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        local_workers: int | None = None,
        client: Any = None,
    ) -> None:
        given = [x is not None for x in (scheduler, local_workers, client)]
        if sum(given) != 1:
            raise SteppeError(
                "DaskExecutor needs exactly one of scheduler=, local_workers= or client="
            )
        if local_workers is not None and (
            isinstance(local_workers, bool) or not isinstance(local_workers, int)
        ):
            raise ScenarioError(f"local_workers must be a whole number, found {local_workers!r}")
        if local_workers is not None and local_workers < 1:
            raise ScenarioError(f"local_workers must be >= 1, found {local_workers}")
        self.scheduler = scheduler
        self.local_workers = local_workers
        self.client = client
        self._own: list[Any] = []

    def __enter__(self) -> Self:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise SteppeError(
                "Dask is not installed; install it with: pip install 'steppe[dask]'"
            ) from exc
        if self.local_workers is not None:
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=self.local_workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                # The scheduler always serves HTTP (health checks, and the dashboard when
                # bokeh is installed); with no address it takes port 8787 and warns when
                # another cluster holds it. A free port on 127.0.0.1 does neither.
                dashboard_address="127.0.0.1:0",
            )
            self._own.append(cluster)
            self.client = Client(cluster)  # type: ignore[no-untyped-call]
            self._own.insert(0, self.client)
        elif self.scheduler is not None:
            try:
                self.client = Client(self.scheduler, timeout="10s")  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise SteppeError(
                    f"cannot reach the Dask scheduler at {self.scheduler}: {exc}"
                ) from exc
            self._own.append(self.client)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for obj in self._own:
            obj.close()
        self._own.clear()

    def run(self, fn: PointFn, indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        from distributed import KilledWorker, as_completed

        if self.client is None:
            raise SteppeError("use DaskExecutor inside a with block")
        if not indices:
            return
        import cloudpickle  # a dependency of distributed; also pickles functions by value

        blob = cloudpickle.dumps(fn)
        token = hashlib.sha256(blob).hexdigest()
        shipped = self.client.scatter(blob, broadcast=True, hash=False)
        futures = {
            self.client.submit(_call_dask, token, shipped, i, pure=False): i for i in indices
        }
        try:
            for fut in as_completed(futures):  # type: ignore[no-untyped-call]
                try:
                    row = fut.result()
                except KilledWorker as exc:
                    raise SimulationError(
                        f"design point {futures[fut]} ended every Dask worker that ran it "
                        "(killed, or out of memory?); Dask gave up on it after "
                        "distributed.scheduler.allowed-failures retries, and the sweep stopped"
                    ) from exc
                yield futures[fut], row
        finally:
            self.client.cancel(list(futures))
