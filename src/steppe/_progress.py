"""What the commands show on standard error: errors as written (:func:`print_errors`), a
progress bar, the library's notices (logger ``steppe``, e.g. that a kernel is being
compiled, or that a damaged cache entry was discarded), and the estimate of how long a run
will take.

The estimate starts when the work starts (:meth:`Timer.start`, called by
:func:`steppe.execute.execute` after any compilation, with the number of workers), and is
made from the first finished chunk: the other workers started theirs at the same time, so
they are counted as done too (:func:`projected_seconds`). A run projected to take more than
:data:`LONG_RUN` seconds says so on standard error before it goes on (an ``INFO`` notice),
even when no bar is drawn (standard error not a terminal), unless the command is
``--quiet``; the bar's last column shows the time left, refined as chunks finish.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
from rich.text import Text

from steppe.errors import ScenarioError, SteppeError

__all__ = [
    "LONG_RUN",
    "Timer",
    "duration",
    "notices",
    "print_errors",
    "progress_bar",
    "projected_seconds",
    "stderr_console",
]


def stderr_console() -> Console:
    """A console on standard error that prints text as it is: no highlighting, no line
    breaks added, and no emoji codes (``FILE:100:14:`` would show a 💯 otherwise)."""
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def print_errors(err: SteppeError) -> None:
    """Print ``err`` on standard error, each located error of a :class:`ScenarioError` on
    its own line (``FILE:LINE:COL: error: PATH: message``)."""
    console = stderr_console()
    for e in err.all() if isinstance(err, ScenarioError) else (err,):
        console.print(str(e), markup=False)


#: A run projected to take longer than this many seconds is announced before it goes on.
LONG_RUN = 3600.0

_log = logging.getLogger("steppe")
_clock: Callable[[], float] = time.monotonic  # the tests replace it


class _Stderr(logging.Handler):
    """Writes each record to ``sys.stderr`` as it is when the record comes: the progress bar
    redirects it to print above the bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # pragma: no cover - as logging.StreamHandler does
            self.handleError(record)


@contextmanager
def notices(*, quiet: bool) -> Iterator[None]:
    """Show the library's notices on standard error: its warnings (e.g. that a damaged
    cache entry was discarded), and unless ``quiet`` its informational notices too."""
    log = logging.getLogger("steppe")
    handler = _Stderr(logging.WARNING if quiet else logging.INFO)
    handler.setFormatter(logging.Formatter("steppe: %(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def projected_seconds(elapsed: float, done: int, total: int, workers: int, chunk: int) -> float:
    """The projected wall time of a run of ``total`` items (replications, design points).

    Parameters
    ----------
    elapsed
        Seconds since the work started (> 0).
    done
        Items finished meanwhile (> 0).
    total
        Items of the whole run.
    workers
        Processes working in parallel.
    chunk
        Items per chunk (those of the first finished chunk).

    Returns
    -------
    float
        ``elapsed * total / worked``, where ``worked`` counts as done, besides ``done``, a
        chunk on each of the other ``workers - 1`` workers: all started together, so when
        the first chunk finishes the others are about to (a few chunks later, the share of
        that guess in ``worked`` is small).
    """
    worked = min(total, done + (workers - 1) * chunk)
    return elapsed * total / worked


def duration(seconds: float) -> str:
    """``seconds`` for people: ``"45 s"``, ``"12 min"``, ``"3 h 10 min"``, ``"4 days 2 h"``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    m = round(s / 60)
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(round(s / 3600), 24)
    return f"{d} days {h} h" if h else f"{d} days"


class Timer:
    """The ``progress`` callback of a command: counts finished items, advances the bar (if
    any), estimates the time left, and announces a long run once.

    Parameters
    ----------
    total
        Items of the run (those already done count, e.g. a resumed sweep's).
    advance
        Called with each count (moves the bar), if given.
    what
        How the announcement names the work: ``"this run of 1,000 replications"``.
    unit
        What the estimate is made from: ``"the first chunk"``.
    """

    def __init__(
        self,
        total: int,
        *,
        advance: Callable[[int], None] | None = None,
        what: str,
        unit: str,
    ) -> None:
        self.total = total
        self.advance = advance
        self.what = what
        self.unit = unit
        self.done = 0
        self.workers = 1
        self._began: float | None = None  # when start() was called
        self._base = 0  # items done before start() (not timed)
        self._chunk = 0  # items of the first finished chunk
        self._projected: float | None = None  # seconds from start() to the end

    def start(self, workers: int) -> None:
        """The work starts now on ``workers`` processes (only the first call counts: a
        comparison runs several scenarios)."""
        if self._began is None:
            self._began = _clock()
            self._base = self.done
            self.workers = max(1, workers)

    def __call__(self, k: int) -> None:
        """``k`` more items are finished."""
        self.done += k
        if self.advance is not None:
            self.advance(k)
        if self._began is None or k <= 0:
            return
        elapsed = _clock() - self._began
        first = self._chunk == 0
        if first:
            self._chunk = k
        timed = self.done - self._base
        if elapsed > 0:
            self._projected = projected_seconds(
                elapsed, timed, self.total - self._base, self.workers, self._chunk
            )
        if first and self._projected is not None and self._projected > LONG_RUN:
            workers = f"{self.workers} worker" + ("s" if self.workers > 1 else "")
            _log.info(
                "%s will take about %s on %s (estimated from %s); press Ctrl-C to stop",
                self.what, duration(self._projected), workers, self.unit,
            )  # fmt: skip

    def left(self) -> float | None:
        """Seconds left by the latest estimate, or None before the first finished chunk."""
        if self._projected is None or self._began is None:
            return None
        return max(0.0, self._began + self._projected - _clock())


class _Left(ProgressColumn):
    """The time left by the run's :class:`Timer` (rich's own column guesses from the bar's
    recent steps, which come in bursts as chunks finish together)."""

    def __init__(self, timer: Timer) -> None:
        super().__init__()
        self.timer = timer

    def render(self, task: Task) -> Text:
        left = self.timer.left()
        text = "" if left is None or task.finished else f"about {duration(left)} left"
        return Text(text, style="progress.remaining")


@contextmanager
def progress_bar(
    total: int,
    *,
    quiet: bool,
    label: str,
    what: str | None = None,
    unit: str = "the first chunk",
) -> Iterator[Timer | None]:
    """Yield the :class:`Timer` of ``total`` items to pass as ``progress``, or ``None`` when
    ``quiet``.

    A bar is drawn when standard error is a terminal. The library's notices
    (:func:`notices`: only its warnings when ``quiet``) and, unless ``quiet``, the
    announcement of a long run (``what``, default ``"this run of {total:,} replications"``;
    ``unit``: see :class:`Timer`) are shown on standard error in any case.
    """
    if quiet:
        with notices(quiet=True):
            yield None
        return
    what = what if what is not None else f"this run of {total:,} replications"
    timer = Timer(total, what=what, unit=unit)
    with notices(quiet=False), _bar(timer, label=label):
        yield timer


@contextmanager
def _bar(timer: Timer, *, label: str) -> Iterator[None]:
    """Draw the bar of ``timer`` meanwhile, if standard error is a terminal."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield
        return
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        _Left(timer),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=timer.total)
        timer.advance = lambda k: bar.advance(task, k)
        yield
