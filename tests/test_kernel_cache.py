"""The compiled engine's cache is disposable: what cannot be read is discarded and compiled
again, what cannot be written stays in memory; each with one warning, never a traceback.

Two kinds of test. Those on ``TINY``, a module of two small Numba functions imported as a
kernel is (:func:`steppe.engines.kernel.import_source`), compile in a fraction of a second:
they try every kind of damage. Those on ``tests/data/smoke.yaml`` run the scenario
(5-30 s to compile its kernel): they start from a copy of a healthy cache compiled once for
the module, and check that a damaged cache gives the numbers of the healthy one.
"""

from __future__ import annotations

import builtins
import errno
import json
import logging
import multiprocessing
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numba
import numba.core.caching
import pandas as pd
import pytest
from click.testing import CliRunner

import steppe
import steppe.engines.kernel as kernel
from steppe.cli import main
from steppe.engines.kernel import _cache, import_source

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"
#: Two chunks of the compiled engine (6,250 replications each): two workers run.
REPLICATIONS, SEED = 12_500, 11

TINY = textwrap.dedent(
    """\
    from steppe.engines.kernel._cache import njit


    @njit(cache=True)
    def inner(x):
        return 2.0 * x


    @njit(cache=True)
    def outer(x):
        return inner(x) + 1.0
    """
)


# ---------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------


class Log:
    """The warnings of the logger ``steppe``, written to a file: forked workers inherit the
    handler, so their warnings are counted too."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []

    def clear(self) -> None:
        self.path.write_bytes(b"")  # the handler appends: its next line comes first


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Log]:
    """Each test starts as a new process would (no kernel loaded, no warning given) and
    collects the warnings of the logger ``steppe``."""
    monkeypatch.setattr(kernel, "_loaded", {})
    monkeypatch.setattr(_cache, "_warned", set())
    handler = logging.FileHandler(tmp_path / "warnings.log", encoding="utf-8")
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("steppe")
    logger.addHandler(handler)
    try:
        yield Log(tmp_path / "warnings.log")
    finally:
        logger.removeHandler(handler)
        handler.close()


def fresh_process(monkeypatch: pytest.MonkeyPatch, log: Log) -> None:
    """Forget the kernels loaded and the warnings given (and collected), as a new process."""
    monkeypatch.setattr(kernel, "_loaded", {})
    monkeypatch.setattr(_cache, "_warned", set())
    log.clear()


def tiny(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[float, ModuleType]:
    """Import ``TINY`` with its cache in ``folder`` and call it."""
    monkeypatch.setenv("STEPPE_CACHE_DIR", str(folder))
    module = import_source(TINY)
    return float(module.outer(20.0)), module


def pycache(folder: Path) -> Path:
    return folder / "kernels" / "__pycache__"


def one_file(folder: Path, pattern: str) -> Path:
    (path,) = pycache(folder).glob(pattern)
    return path


def truncate(path: Path, size: int = 100) -> None:
    path.write_bytes(path.read_bytes()[:size])


def garble(path: Path) -> None:
    """Overwrite 40 bytes in the middle of the file (its size does not change)."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))


def leftovers(folder: Path) -> list[Path]:
    """Temporary files left in the cache folder (there must be none)."""
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


class FullDisk:
    """A file opened for writing on a full disk: it is created, every write fails."""

    def __init__(self, path: Any) -> None:
        Path(path).write_bytes(b"")

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def full_disk_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
    """``open`` on a full disk: reading works, writing fails with ENOSPC."""
    if "w" in mode:
        return FullDisk(file)
    return builtins.open(file, mode, *args, **kwargs)


# ---------------------------------------------------------------------------------------
# Every kind of damage, on a small module
# ---------------------------------------------------------------------------------------

DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated data": lambda f: truncate(one_file(f, "*.outer-*.nbc")),
    "truncated index": lambda f: truncate(one_file(f, "*.outer-*.nbi")),
    "empty index": lambda f: truncate(one_file(f, "*.outer-*.nbi"), 0),
    "garbled index": lambda f: garble(one_file(f, "*.outer-*.nbi")),
    "garbled data": lambda f: garble(one_file(f, "*.outer-*.nbc")),
    "every file truncated": lambda f: [truncate(p, 5) for p in pycache(f).iterdir()],
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_an_unreadable_entry_is_discarded_and_compiled_again(
    damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    folder = tmp_path / "cache"
    healthy, _ = tiny(folder, monkeypatch)
    DAMAGE[damage](folder)
    fresh_process(monkeypatch, log)
    value, module = tiny(folder, monkeypatch)
    assert value == healthy == 41.0
    (line,) = log.lines()  # one line, even when every file is damaged
    assert line.startswith(
        f"discarded an unreadable file of the compiled code cache, {pycache(folder)}"
    )
    assert line.endswith("; compiling again, about 5-30 s")
    assert module.outer.stats.cache_misses  # compiled, not loaded
    fresh_process(monkeypatch, log)
    value, module = tiny(folder, monkeypatch)  # the cache is healthy again
    assert value == healthy
    assert log.lines() == []
    assert module.outer.stats.cache_hits and not module.outer.stats.cache_misses
    assert leftovers(folder) == []


def test_an_index_whose_data_is_gone_is_compiled_again_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """Not damage: another process discarding the entry between our reading its index and
    its data (Numba compiles then too)."""
    folder = tmp_path / "cache"
    tiny(folder, monkeypatch)
    one_file(folder, "*.outer-*.nbc").unlink()
    fresh_process(monkeypatch, log)
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0 and log.lines() == []
    assert module.outer.stats.cache_misses
    fresh_process(monkeypatch, log)
    _, module = tiny(folder, monkeypatch)
    assert module.outer.stats.cache_hits and not module.outer.stats.cache_misses


def test_an_index_in_numbas_own_format_is_replaced_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """An index written by Numba itself (an older steppe) or by another Numba version is
    stale, not damaged: compiled again without a warning, as Numba treats another version."""
    folder = tmp_path / "cache"
    tiny(folder, monkeypatch)
    index = one_file(folder, "*.outer-*.nbi")
    index.write_bytes(pickle.dumps(numba.__version__, protocol=-1) + b"anything")
    fresh_process(monkeypatch, log)
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0 and log.lines() == []
    assert module.outer.stats.cache_misses
    fresh_process(monkeypatch, log)
    _, module = tiny(folder, monkeypatch)
    assert module.outer.stats.cache_hits and not module.outer.stats.cache_misses


def test_numbas_own_reader_ignores_the_cache_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """The index starts with another version stamp: Numba's plain reader (an older steppe
    sharing the folder) sees a stale index, it does not fail on the digests."""
    folder = tmp_path / "cache"
    tiny(folder, monkeypatch)
    index = one_file(folder, "*.outer-*.nbi")
    plain = numba.core.caching.IndexDataCacheFile(
        str(index.parent), index.name.removesuffix(".nbi"), source_stamp=None
    )
    assert plain._load_index() == {}


def test_a_damaged_source_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    folder = tmp_path / "cache"
    tiny(folder, monkeypatch)
    (source,) = (folder / "kernels").glob("*.py")
    garble(source)
    fresh_process(monkeypatch, log)
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0
    (line,) = log.lines()
    assert line == f"replaced the damaged kernel source {source}"
    assert source.read_text(encoding="utf-8") == TINY
    # The machine code is keyed by a hash of the source: the same again, still cached.
    assert module.outer.stats.cache_hits and not module.outer.stats.cache_misses


def test_a_cache_folder_under_a_file_compiles_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """A folder that cannot be made (here under a regular file: ENOTDIR, for root too)."""
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    folder = tmp_path / "file" / "sub"
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0
    (line,) = log.lines()
    assert line == (
        f"cannot write the compiled engine's cache in {folder / 'kernels'} (Not a directory): "
        "compiling its kernel in memory, for this process only, about 5-30 s"
    )
    assert module.__file__ == f"<{module.__name__}>"
    assert not module.outer.stats.cache_hits
    # Said once per folder and process: another kernel compiles in memory without a word.
    other = import_source(TINY.replace("1.0", "3.0"))
    assert other.outer(20.0) == 43.0 and len(log.lines()) == 1


def test_a_full_disk_while_writing_the_source_compiles_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setattr(kernel, "open", full_disk_open, raising=False)
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0
    (line,) = log.lines()
    assert "(No space left on device): compiling its kernel in memory" in line
    assert list((folder / "kernels").iterdir()) == []  # the temporary file removed
    monkeypatch.delattr(kernel, "open")  # space again: written and cached
    fresh_process(monkeypatch, log)
    tiny(folder, monkeypatch)
    fresh_process(monkeypatch, log)
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0 and log.lines() == []
    assert module.outer.stats.cache_hits and not module.outer.stats.cache_misses


def test_a_full_disk_while_saving_machine_code_keeps_it_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    folder = tmp_path / "cache"
    monkeypatch.setattr(numba.core.caching, "open", full_disk_open, raising=False)
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0
    (line,) = log.lines()  # once for the folder, not once per function
    assert line == (
        f"cannot save compiled code in {pycache(folder)} (No space left on device): it is "
        "kept in memory, for this process only"
    )
    assert list(pycache(folder).iterdir()) == []  # no partial file
    monkeypatch.delattr(numba.core.caching, "open")  # space again: saved, then loaded
    fresh_process(monkeypatch, log)
    tiny(folder, monkeypatch)
    fresh_process(monkeypatch, log)
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0 and log.lines() == []
    assert module.outer.stats.cache_hits and not module.outer.stats.cache_misses


def test_no_folder_for_machine_code_compiles_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """The source is written, but Numba finds no folder where it may save machine code
    (neither ``__pycache__`` beside it nor a folder of its own)."""

    def refuse(self: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(numba.core.caching._CacheLocator, "ensure_cache_path", refuse)
    folder = tmp_path / "cache"
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0
    (line,) = log.lines()
    assert line == (
        f"cannot cache compiled code beside {folder / 'kernels'} (no folder where Numba may "
        "save it): it is compiled in memory, for this process only"
    )
    assert not module.outer.stats.cache_hits
    assert not pycache(folder).exists()


_RACE = """
import sys
from steppe.engines.kernel import import_source
module = import_source(sys.stdin.read())
print(module.outer(20.0))
"""


def test_processes_compiling_one_entry_at_once_leave_a_healthy_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """Two processes compile and save the same module into an empty cache together; one
    then loads it from the cache."""
    folder = tmp_path / "cache"
    env = {**os.environ, "STEPPE_CACHE_DIR": str(folder), "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(TINY, timeout=300)
        assert proc.returncode == 0, err
        assert out == "41.0\n"
        assert "steppe:" not in err and "Traceback" not in err
    value, module = tiny(folder, monkeypatch)
    assert value == 41.0 and log.lines() == []
    assert module.outer.stats.cache_hits and not module.outer.stats.cache_misses
    assert leftovers(folder) == []


# ---------------------------------------------------------------------------------------
# Runs of a scenario
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A healthy cache folder holding the smoke scenario's kernel, and the result folder of
    a run of it (``REPLICATIONS`` replications, seed ``SEED``)."""
    base = tmp_path_factory.mktemp("healthy")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STEPPE_CACHE_DIR", str(base / "cache"))
        mp.setattr(kernel, "_loaded", {})
        result = run_smoke()
        result.write(base / "result", report=False)
        result.samples.to_parquet(base / "samples.parquet")
    yield base / "cache", base


def run_smoke(workers: int = 1) -> steppe.RunResult:
    return steppe.run(
        steppe.load(SMOKE), replications=REPLICATIONS, seed=SEED, engine="compiled",
        workers=workers,
    )  # fmt: skip


@pytest.fixture
def cache(
    healthy: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> Path:
    """A copy of the healthy cache folder, used by this test's runs."""
    folder = tmp_path / "cache"
    shutil.copytree(healthy[0], folder)
    monkeypatch.setenv("STEPPE_CACHE_DIR", str(folder))
    return folder


def same_samples(result: steppe.RunResult, healthy: tuple[Path, Path]) -> None:
    expected = pd.read_parquet(healthy[1] / "samples.parquet")
    pd.testing.assert_frame_equal(result.samples, expected)


def loaded_kernel() -> ModuleType:
    (module,) = kernel._loaded.values()
    return module


def assert_cache_healthy(monkeypatch: pytest.MonkeyPatch, log: Log) -> None:
    """A new process loads the kernel from the cache, without a word."""
    fresh_process(monkeypatch, log)
    run_smoke()
    stats = loaded_kernel().run_chunk.stats
    assert stats.cache_hits and not stats.cache_misses
    assert log.lines() == []


@pytest.mark.slow  # a full run from a damaged cache; the fast tier keeps the CLI case
def test_a_damaged_kernel_source_is_replaced_on_a_run(
    cache: Path, healthy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    (source,) = (cache / "kernels").glob("*.py")
    garble(source)
    same_samples(run_smoke(), healthy)
    assert log.lines() == [f"replaced the damaged kernel source {source}"]
    assert_cache_healthy(monkeypatch, log)


def test_the_command_line_recovers_from_an_empty_index(
    cache: Path, healthy: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    log: Log,
) -> None:  # fmt: skip
    """The run's kernel's index emptied (pickle's EOFError: ``Aborted!`` before): the run
    succeeds with two workers, says once that it compiles again, and gives the numbers of
    a healthy cache; the next run loads the new entry without a word."""
    truncate(one_file(cache, "*.run_chunk-*.nbi"), 0)
    outputs = []
    for label in ("damaged", "again"):
        args = ["run", str(SMOKE), "-n", str(REPLICATIONS), "--seed", str(SEED)]
        args += ["--engine", "compiled", "--workers", "2", "--out", str(tmp_path / label)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert result.exception is None
        assert "Traceback" not in result.output and "Aborted!" not in result.output
        got = json.loads((tmp_path / label / "summary.json").read_text(encoding="utf-8"))
        ref = json.loads((healthy[1] / "result" / "summary.json").read_text(encoding="utf-8"))
        assert got["outcomes"] == ref["outcomes"]
        outputs.append([ln for ln in result.stderr.splitlines() if ln.startswith("steppe:")])
        fresh_process(monkeypatch, log)
    (line,) = outputs[0]
    assert line.startswith("steppe: discarded an unreadable file of the compiled code cache, ")
    assert "run_chunk" in line and "compiling again, about 5-30 s" in line
    assert outputs[1] == []


def test_the_command_line_shows_cache_warnings_even_when_quiet(
    cache: Path, tmp_path: Path, log: Log
) -> None:
    """``-q`` hides the notices (that a kernel is compiled), not the warnings."""
    (source,) = (cache / "kernels").glob("*.py")
    garble(source)
    args = ["run", str(SMOKE), "-n", "300", "--engine", "compiled", "-q"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"steppe: replaced the damaged kernel source {source}\n"


@pytest.mark.slow  # a full run from a damaged cache; the fast tier keeps the CLI case
def test_an_unwritable_cache_folder_runs_in_memory_with_two_workers(
    healthy: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """The kernel is compiled in memory before the workers fork; they run it and compile
    nothing (each compile would add a line to ``compiles``)."""
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("STEPPE_CACHE_DIR", str(tmp_path / "file" / "sub"))
    compiles = tmp_path / "compiles"
    execute = kernel._execute

    def spy(name: str, filename: str, text: str) -> ModuleType:
        with compiles.open("a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {filename}\n")
        return execute(name, filename, text)

    monkeypatch.setattr(kernel, "_execute", spy)
    same_samples(run_smoke(workers=2), healthy)
    (line,) = log.lines()
    assert "compiling its kernel in memory, for this process only" in line
    (compiled,) = compiles.read_text(encoding="utf-8").splitlines()
    assert compiled == f"{os.getpid()} <{loaded_kernel().__name__}>"


@pytest.mark.parametrize(
    "damage",
    [
        "truncated data",
        pytest.param("truncated index", marks=pytest.mark.slow),
        pytest.param("garbled index", marks=pytest.mark.slow),
    ],
)
def test_a_run_recovers_from_a_damaged_kernel_entry(
    damage: str, cache: Path, healthy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
    log: Log,
) -> None:  # fmt: skip
    """Each compiles the kernel's loop again (3-15 s): one fast, the others slow (every
    kind of damage is tried on ``TINY``)."""
    suffix = "nbc" if damage == "truncated data" else "nbi"
    path = one_file(cache, f"*.run_chunk-*.{suffix}")
    garble(path) if damage == "garbled index" else truncate(path)
    same_samples(run_smoke(), healthy)
    (line,) = log.lines()
    assert f"discarded an unreadable file of the compiled code cache, {path} " in line
    assert_cache_healthy(monkeypatch, log)


@pytest.mark.slow
def test_a_full_disk_while_saving_the_kernel_keeps_it_in_memory(
    cache: Path, healthy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """The loop's entry gone and the disk full: compiled, not saved, the run goes on; the
    other entries are left as they were."""
    for path in pycache(cache).glob("*.run_chunk-*"):
        path.unlink()
    before = {p.name: p.read_bytes() for p in pycache(cache).iterdir()}
    monkeypatch.setattr(numba.core.caching, "open", full_disk_open, raising=False)
    same_samples(run_smoke(), healthy)
    (line,) = log.lines()
    assert "(No space left on device): it is kept in memory, for this process only" in line
    assert {p.name: p.read_bytes() for p in pycache(cache).iterdir()} == before


@pytest.mark.slow
@pytest.mark.parametrize("command", ["sweep", "compare"])
def test_sweep_and_compare_recover_from_a_damaged_cache(
    command: str, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log: Log
) -> None:
    """Both run the compiled engine with two workers (compare: each scenario, with common
    random numbers); each says once that it compiles again. A sweep's points run without
    the report's traces: another kernel, compiled (and cached) by a first sweep."""
    args = [command, str(SMOKE), "--engine", "compiled", "--workers", "2"]
    if command == "sweep":
        args += ["--vary", "contagion=0:2:2", "--replications", "50", "--out"]
        first = CliRunner().invoke(main, [*args, str(tmp_path / "first")])
        assert first.exit_code == 0, first.output
        fresh_process(monkeypatch, log)
    else:
        args += [str(SMOKE), "-n", "50", "--out"]
    for path in pycache(cache).glob("*.run_chunk-*.nbc"):
        truncate(path)
    result = CliRunner().invoke(main, [*args, str(tmp_path / command)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "Aborted!" not in result.output
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("steppe:")]
    assert line.startswith("steppe: discarded an unreadable file of the compiled code cache")


@pytest.mark.slow
def test_spawned_workers_load_the_cache_the_parent_repaired(
    cache: Path, healthy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, log: Log,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Where fork is missing, workers are spawned and load the kernel themselves: from the
    entry the parent has just compiled again, without a word of their own (their notices
    would go to standard error: they have no handler)."""
    truncate(one_file(cache, "*.run_chunk-*.nbc"))
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    same_samples(run_smoke(workers=2), healthy)
    assert len(log.lines()) == 1
    assert "steppe" not in capfd.readouterr().err
