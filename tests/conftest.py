"""Shared pytest fixtures."""

from __future__ import annotations

import os
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import steppe
import steppe.engines.kernel
from steppe.model.scenario import Scenario


@pytest.fixture
def scenario_from_yaml() -> Callable[[str], Scenario]:
    """Build a scenario from (indented) YAML text: ``scenario_from_yaml('''name: x ...''')``."""

    def build(text: str) -> Scenario:
        return steppe.loads(textwrap.dedent(text))

    return build


@pytest.fixture
def cold_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty kernel cache, as on a machine that never compiled a kernel: a fresh
    ``STEPPE_CACHE_DIR`` and no kernel loaded in this process (``auto`` then picks the
    reference engine for small runs). Returns the cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("STEPPE_CACHE_DIR", str(folder))
    monkeypatch.setattr(steppe.engines.kernel, "_loaded", {})
    return folder


@dataclass
class GuardedFifo:
    """A named pipe, and whether anything opened it for reading (see ``guarded_fifo``)."""

    path: Path
    opened: list[bool] = field(default_factory=list)


@pytest.fixture
def guarded_fifo(tmp_path: Path) -> Iterator[GuardedFifo]:
    """A named pipe ``pipe.yaml`` that cannot hang the test: a thread unblocks any reader.

    Opening a pipe for reading blocks until a writer appears. While the test runs, a thread
    keeps trying to open the write end without blocking; that only succeeds when a reader
    is waiting, and then it closes it at once (the reader sees an empty file) and records it
    in ``opened``. So code that opens the pipe fails the test instead of hanging it.
    """
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    fifo = GuardedFifo(tmp_path / "pipe.yaml")
    os.mkfifo(fifo.path)
    stop = threading.Event()

    def rescue() -> None:
        while not stop.wait(0.05):
            try:
                fd = os.open(fifo.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: nobody is reading
                continue
            fifo.opened.append(True)
            os.close(fd)

    thread = threading.Thread(target=rescue, daemon=True)
    thread.start()
    try:
        yield fifo
    finally:
        stop.set()
        thread.join()
