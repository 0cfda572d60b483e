"""Local worker processes that end with the process that started them.

:func:`process_pool` is the one place where steppe makes a pool of local processes (the
chunks of ``steppe.run`` in :mod:`steppe.execute`, the design points of a sweep in
:class:`~steppe.sweeps.executors.ProcessExecutor`). Each worker starts a daemon thread
(:func:`exit_with_parent`) that checks every :data:`POLL_SECONDS` whether the process that
made the pool is still there, and ends the worker with :func:`os._exit` when it is not.

Without it, a worker whose parent is killed (``kill -9``, the out-of-memory killer) runs
the chunks already sent to it, then waits forever for more: its end of the task queue
never sees end-of-file, because every worker holds a copy of the queue's write end.

The check works for every start method on every POSIX system (on Windows the worker waits
on the handle of its parent process instead):

* ``fork`` and ``spawn``: the worker's parent is the pool's process. When that dies, the
  worker is given a new parent (init, or a subreaper), so :func:`os.getppid` changes.
* ``forkserver``: the worker's parent is the fork server, which exits when the pool's
  process does (it waits on a pipe only that process holds), and then the same holds. The
  pool's process id is also checked directly, a dead (zombie) process counting as gone.

The watchdog needs the interpreter lock to run, and gets it within the interpreter's switch
interval (5 ms) from Python code, at once from a compiled kernel (they release it:
``nogil``) and at the end of any NumPy call. ``prctl(PR_SET_PDEATHSIG)`` would need no
lock, but it is Linux-only, fires when the *thread* that forked the worker ends rather than
the process (a pool started from a short-lived thread would lose its workers), and under
``forkserver`` watches the fork server: it is not used.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["ORPHAN_EXIT", "POLL_SECONDS", "exit_with_parent", "process_pool", "start_method"]

#: Seconds between two checks of a worker's parent.
POLL_SECONDS = 0.5

#: The status a worker ends with when its parent is gone (nobody waits for it: its new
#: parent reaps it).
ORPHAN_EXIT = 70


def start_method() -> str:
    """``"fork"`` where the platform has it (Linux, macOS), else ``"spawn"``."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def process_pool(
    workers: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...] = (),
    *,
    method: str | None = None,
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes that end soon after this process does.

    Parameters
    ----------
    workers
        Number of processes.
    initializer, initargs
        Run in each worker as it starts (a module-level function, picklable for ``spawn``),
        after the watchdog of :func:`exit_with_parent` is started.
    method
        Start method (default: :func:`start_method`).
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method or start_method()),
        initializer=_start_worker,
        initargs=(initializer, *initargs),
    )


def _start_worker(initializer: Callable[..., None], *initargs: Any) -> None:
    exit_with_parent()
    initializer(*initargs)


def exit_with_parent(poll: float = POLL_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process (:func:`os._exit`) once the process
    that started it is gone, checking every ``poll`` seconds, and return the thread.

    The parent is the process that created this one (``multiprocessing.parent_process``;
    for a process not started by :mod:`multiprocessing`, the current parent).
    """
    parent = multiprocessing.parent_process()
    owner = parent.pid if parent is not None and parent.pid is not None else os.getppid()
    ppid = os.getppid()

    def watch() -> None:
        if os.name == "nt":  # pragma: no cover - Windows: no new parent, and no os.kill(pid, 0)
            if parent is not None:  # spawn's parent sentinel: a handle of the parent process
                multiprocessing.connection.wait([parent.sentinel])
                os._exit(ORPHAN_EXIT)
            return
        while os.getppid() == ppid and not _gone(owner):
            time.sleep(poll)
        os._exit(ORPHAN_EXIT)

    thread = threading.Thread(target=watch, name="steppe-exit-with-parent", daemon=True)
    thread.start()
    return thread


_PROC = os.path.isdir("/proc/self")


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie, not yet reaped, has ended)."""
    if _PROC:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except FileNotFoundError:
            return True
        except OSError:  # pragma: no cover - e.g. /proc mounted with hidepid
            pass
        else:
            state = stat.rindex(b")") + 2  # after the command name, which may hold ") "
            return stat[state : state + 1] in (b"Z", b"X")  # zombie, dead
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the check that the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # pragma: no cover - exists, but someone else's
        return False
    return False
