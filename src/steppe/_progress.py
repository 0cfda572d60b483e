"""A progress bar on the terminal's standard error, shared by the commands, and the
library's notices (logger ``steppe``, e.g. that a kernel is being compiled, or that a damaged
cache entry was discarded) shown there."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

__all__ = ["notices", "progress_bar"]


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


@contextmanager
def progress_bar(total: int, *, quiet: bool, label: str) -> Iterator[Any]:
    """Yield ``advance(k)`` for a bar of ``total`` steps, or ``None`` when ``quiet`` or
    when standard error is not a terminal (then nothing is drawn). The library's notices
    are shown meanwhile (:func:`notices`: only its warnings when ``quiet``)."""
    with notices(quiet=quiet), _bar(total, quiet=quiet, label=label) as tick:
        yield tick


@contextmanager
def _bar(total: int, *, quiet: bool, label: str) -> Iterator[Any]:
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)
