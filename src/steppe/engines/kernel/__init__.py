"""The compiled engine: each replication's next-event loop in machine code (Numba).

It implements ``docs/engine.md`` with the reference engine's algorithm (each competitor's
unit-exponential threshold consumed by its own integrated hazard, exact times for the ends
of durations and stage completions, ties at a stop before it) and its random numbers, one
replication at a time in a loop compiled by Numba, so a state change costs a few dozen
machine instructions. :class:`steppe.engines.compiled.CompiledEngine` presents it to
the rest of steppe.

The kernel is generated per scenario by :mod:`steppe.engines.kernel.codegen` from the
checked intermediate representation of its expressions (no scenario text reaches the
source), written to a cache folder and compiled on first use; Numba caches the machine
code beside it, so later runs of the same scenario structure start at once. The folder is
``$STEPPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/steppe`` or ``~/.cache/steppe``.

The cache is disposable (:mod:`steppe.engines.kernel._cache`): a file of it that cannot be
read (truncated or damaged: each carries a checksum) is deleted and its code compiled again;
a cache folder that cannot be written (read-only, full, not a folder) leaves the kernel
compiled in memory, for this process only. Each is said once per process as a warning of
the logger ``steppe``; neither stops a run or changes its numbers. Workers forked after
:func:`warm_up` inherit the kernel, cached or not; spawned ones (where there is no fork)
load it from the cache the parent has just written, or compile it in memory themselves.

A scenario with evidence also has an evidence kernel (:mod:`steppe.engines.kernel.evidence`,
``loop_evidence.py.in``): the same generated functions in a loop that conditions on an
evidence plan given as arrays, bit for bit as the reference engine does.

Random streams: the per-source Philox streams of every engine (:mod:`steppe.streams`),
computed bit for bit as NumPy computes them by :mod:`steppe.engines.kernel._philox`, so a
replication draws the same numbers here as in the reference engine; parameters come from the
per-parameter streams shared by every engine (:mod:`steppe.engines.common`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np

from steppe.engines.base import PerScenario
from steppe.engines.common import (
    MAX_CHANGES,
    Fixed,
    Namespace,
    combine_outcomes,
    draw_parameters,
    race_slots,
    sources,
    too_many_changes,
    where,
)
from steppe.engines.kernel._cache import warn_once
from steppe.engines.kernel._contract import Failure, KernelArgs
from steppe.engines.kernel._philox import new_streams
from steppe.engines.kernel.codegen import (
    FIELDS,
    generate,
    layout,
    noise_rows,
    observation_groups,
    stage_codes,
    unsupported,
)
from steppe.errors import SimulationError
from steppe.model.scenario import Scenario

__all__ = [
    "available",
    "import_source",
    "kernel_args",
    "load_kernel",
    "ready",
    "simulate_kernel",
    "unsupported",
    "warm_up",
]

_MUST = "(must be a finite number >= 0)"
_loaded: dict[str, ModuleType] = {}
#: What is built once per scenario object (its kernel and fixed arguments, see _prepare).
_state: PerScenario[dict[str, Any]] = PerScenario(dict)
#: Says when a kernel is about to be compiled (the command line shows it on standard error).
_log = logging.getLogger("steppe")


def available() -> bool:
    """Whether Numba can be imported (the compiled engine needs it)."""
    return importlib.util.find_spec("numba") is not None


def _cache_dir() -> Path:
    root = os.environ.get("STEPPE_CACHE_DIR")
    if root:
        return Path(root) / "kernels"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "steppe" / "kernels"


def _write_source(folder: Path, name: str, text: str) -> Path:
    """The path of the kernel source ``text`` in ``folder``, written there unless it already is.

    Written to a temporary file then renamed, so a reader never sees a partial file. A file
    of that name that holds anything else is damaged (the name is the hash of the text): it
    is replaced, with a warning. Raises ``OSError`` if it cannot be read or written.
    """
    path = folder / f"{name}.py"
    data = text.encode("utf-8")
    try:
        damaged = path.read_bytes() != data
    except FileNotFoundError:
        damaged = False
    else:
        if not damaged:
            return path
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    written = False
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        written = True
    finally:
        if not written:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    if damaged:
        _log.warning("replaced the damaged kernel source %s", path)
    return path


def load_kernel(sc: Scenario, *, evidence: bool = False) -> tuple[ModuleType, np.ndarray]:
    """The kernel module for ``sc`` (generated, written and imported once per process) and
    the constants it reads; with ``evidence``, the kernel that conditions on evidence
    (:mod:`steppe.engines.kernel.evidence`)."""
    source = generate(sc, evidence=evidence)
    return import_source(source.text), np.asarray(source.constants, dtype=np.float64)


def import_source(text: str) -> ModuleType:
    """Import generated source (written to the cache folder once, keyed by its hash).

    If the cache folder cannot be written (full, read-only, not a folder), the source is
    compiled in memory, for this process only, with a warning.
    """
    digest = _digest(text)
    module = _loaded.get(digest)
    if module is None:
        name = f"steppe_kernel_{digest}"
        folder = _cache_dir()
        try:
            filename = str(_write_source(folder, name, text))
        except OSError as err:
            filename = f"<{name}>"  # not a file: Numba compiles it without caching it
            warn_once(
                f"save:{folder}",
                "cannot write the compiled engine's cache in %s (%s): compiling its kernel "
                "in memory, for this process only, about 5-30 s",
                folder,
                err.strerror or err,
            )
        else:
            if not any((folder / "__pycache__").glob(f"{name}.run_*-*.nbi")):
                _log.info(
                    "compiling a kernel for the compiled engine: once per scenario structure "
                    "on this machine, about 5-30 s (cached in %s)",
                    folder,
                )
        module = _execute(name, filename, text)
        _loaded[digest] = module
    return module


def _digest(text: str) -> str:
    """The key of generated source ``text`` (its module is ``steppe_kernel_<key>``)."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def ready(sc: Scenario, *, evidence: bool = False) -> bool:
    """Whether ``sc``'s kernel can run without compiling anything: loaded in this process,
    or in the cache, as :func:`import_source` looks for it (the index of its ``run_chunk``).
    Writes nothing; takes a few milliseconds (it generates the kernel's source to find its
    name).

    The shared helpers (:mod:`steppe.engines.kernel._runtime`) need no check: Numba links
    the machine code of the helpers a kernel calls into the kernel's own, so a cached kernel
    loads without them (they are compiled, or loaded from their own cache, only when a
    kernel is compiled). A cache entry that turns out unreadable, or saved by another Numba,
    is still compiled again when used: this says what the files promise. With
    ``evidence``: the kernel that conditions on evidence.
    """
    if not available() or unsupported(sc) is not None:
        return False
    digest = _digest(generate(sc, evidence=evidence).text)
    if digest in _loaded:
        return True
    entry = "run_evidence" if evidence else "run_chunk"
    index = (_cache_dir() / "__pycache__").glob(f"steppe_kernel_{digest}.{entry}-*.nbi")
    return any(index)


def _execute(name: str, filename: str, text: str) -> ModuleType:
    """Run ``text`` as the module ``name``, with ``filename`` as its source file.

    Compiled from ``text`` itself, not read back from the file and with no bytecode file
    (``.pyc``) to go stale or be damaged. Numba caches the machine code of its functions
    beside ``filename`` if that is a file (:mod:`steppe.engines.kernel._cache`).
    """
    module = ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(text, filename, "exec"), module.__dict__)
    return module


def warm_up(sc: Scenario) -> None:
    """Compile (or load from the cache) ``sc``'s kernel now, e.g. before forking workers.

    Once per scenario object: a sweep runs many points of one scenario, and an empty run
    costs a parameter draw and a kernel call (about 1 ms, a tenth of a 2,000-replication
    point)."""
    if _state(sc).get("compiled-warm"):
        return
    simulate_kernel(sc, seed=0, start=0, n=0)
    _state(sc)["compiled-warm"] = True


@dataclass(frozen=True)
class _Prepared:
    """What a scenario's kernel (plain or conditioned on evidence) needs besides a chunk's
    draws: built once per scenario."""

    module: ModuleType
    consts: np.ndarray
    hoisted: tuple[Any, ...]
    off: np.ndarray
    args: KernelArgs
    #: per source of the clocks and durations, its row in the stream array; the sources of
    #: the series' noise, in the order of the rows of ``Z``
    stream_sources: np.ndarray
    noise_sources: np.ndarray
    n_ticks: int

    def lift(self, columns: np.ndarray) -> np.ndarray:
        """The hoisted expressions' values, one row each, for the parameter ``columns``
        (one row per parameter, one column per replication)."""
        lifted = np.zeros((len(self.hoisted), columns.shape[1]))
        with np.errstate(all="ignore"):
            for j, f in enumerate(self.hoisted):
                lifted[j] = f(Namespace(p=columns))
        return lifted


def _prepare(sc: Scenario, *, evidence: bool = False) -> _Prepared:
    """``sc``'s kernel and its fixed arguments; with ``evidence``, its evidence kernel
    (:mod:`steppe.engines.kernel.evidence`), whose layout adds the evidence fields."""
    key = "compiled-evidence" if evidence else "compiled"
    prepared = _state(sc).get(key)
    if prepared is not None:
        return cast(_Prepared, prepared)
    module, consts = load_kernel(sc, evidence=evidence)
    cm = sc.compiled("vector")
    src = sources(sc)
    offsets = layout(sc, len(cm.hoisted), evidence=evidence)
    off = np.array([offsets[f] for f in (*FIELDS, "size")], dtype=np.int64)
    prepared = _Prepared(
        module,
        consts,
        tuple(cm.hoisted),
        off,
        kernel_args(sc),
        # the stream array has a row per source; the noise sources' rows go unused
        stream_sources=np.arange(len(src.names), dtype=np.int64),
        noise_sources=np.array([x for x in src.noise if x >= 0], dtype=np.int64),
        n_ticks=len(sc.ticks),
    )
    _state(sc)[key] = prepared
    return prepared


def kernel_args(sc: Scenario) -> KernelArgs:
    """The fixed arguments of ``sc``'s kernels (plain and conditioned on evidence)."""
    cm = sc.compiled("vector")
    src = sources(sc)
    groups = observation_groups(sc)
    ticks = set(sc.ticks.tolist())
    observed = {t: i for i, (t, _) in enumerate(groups)}
    stops = np.array(sorted(ticks | set(observed) | {sc.timeline.t_horizon}), dtype=np.float64)
    slots = race_slots(sc, cm)
    rows = noise_rows(src)
    args = KernelArgs(
        stops=stops,
        stop_tick=np.array([x in ticks for x in stops.tolist()], dtype=np.bool_),
        stop_group=np.array([observed.get(x, -1) for x in stops.tolist()], dtype=np.int64),
        hist=np.array([float(e.history_count) for e in sc.events], dtype=np.float64),
        g0=np.array([float(p.completed_stages) for p in sc.projects], dtype=np.float64),
        done0=np.array(
            [1.0 if p.completed_stages == len(p.stage_names) else 0.0 for p in sc.projects],
            dtype=np.float64,
        ),
        slot_event=np.array([slot[1] if slot[0] else -1 for slot in slots], dtype=np.int64),
        slot_index=np.array([slot[1] for slot in slots], dtype=np.int64),
        slot_recurring=np.array(
            [slot[0] and sc.events[slot[1]].recurring for slot in slots], dtype=np.bool_
        ),
        clock_source=np.array(src.clock, dtype=np.int64),
        nstages=np.array([len(p.stage_names) for p in sc.projects], dtype=np.float64),
        stage_base=np.array(stage_codes(sc), dtype=np.int64),
        has_duration=np.array([e.duration is not None for e in sc.events], dtype=np.bool_),
        series_log=np.array([s.process == "log" for s in sc.series], dtype=np.bool_),
        series_floor=np.array(
            [np.nan if s.floor is None else s.floor for s in sc.series], dtype=np.float64
        ),
        noise_row=np.array(rows, dtype=np.int64),
        dt=float(sc.step),
        time_to_idx=np.array([o.index for o in sc.outcomes if o.form == "time_to"], dtype=np.int64),
    )
    return args


def _prepare_prefix(host: Scenario, k: int) -> _Prepared:
    """``host``'s kernel, set to read and return its first ``k`` outcomes only: observation
    dates of later outcomes alone are skipped, ``time_to`` results after them not closed."""
    key = f"compiled-first-{k}"
    prepared = _state(host).get(key)
    if prepared is not None:
        return cast(_Prepared, prepared)
    base = _prepare(host)
    needed = [any(i < k for i in members) for _, members in observation_groups(host)]
    groups = base.args.stop_group
    args = base.args._replace(
        stop_group=np.array([g if g < 0 or needed[g] else -1 for g in groups], dtype=np.int64),
        time_to_idx=base.args.time_to_idx[base.args.time_to_idx < k],
    )
    prepared = _Prepared(
        base.module, base.consts, base.hoisted, base.off, args,
        base.stream_sources, base.noise_sources, base.n_ticks,
    )  # fmt: skip
    _state(host)[key] = prepared
    return prepared


def simulate_kernel(
    scenario: Scenario,
    *,
    seed: int,
    start: int,
    n: int,
    fixed: Fixed | None = None,
    host: Scenario | None = None,
) -> np.ndarray:
    """Run replications ``[start, start + n)``; return their samples (the random numbers of
    a replication depend on its index only, not on the batch it runs in).

    The result has the layout of :func:`steppe.engines.des.simulate_des`.

    ``host``: a scenario whose first outcomes are ``scenario``'s and whose model is the same
    otherwise (``scenario`` with the report's traces added). Its kernel runs, computing
    ``scenario``'s outcomes only: the same numbers as ``scenario``'s own kernel (outcomes do
    not change the random numbers, ``docs/engine.md`` section 8), which then need not be
    compiled.
    """
    sc = scenario
    if host is None:
        model, kp = sc, _prepare(sc)
    else:
        same = [o.name for o in host.outcomes[: len(sc.outcomes)]] == [o.name for o in sc.outcomes]
        if not same or [p.name for p in host.params] != [p.name for p in sc.params]:
            raise ValueError("host: a scenario with the same model and more outcomes")
        model, kp = host, _prepare_prefix(host, len(sc.outcomes))
    params = draw_parameters(model, seed, start, n, fixed)
    columns = params.T  # (n_params, n), contiguous: one row per parameter
    lifted = kp.lift(columns)
    # Outcome-major, so that each outcome's samples are contiguous for the summaries; the
    # samples returned are its transpose, of the layout every engine returns.
    out = np.full((len(sc.outcomes), n), np.nan)
    err_i = np.zeros(4, dtype=np.int64)
    err_f = np.zeros(2, dtype=np.float64)
    keys = sources(model).keys(seed)
    st = new_streams(keys)  # one row per source (see steppe.engines.kernel._philox)
    noise_keys = np.ascontiguousarray(keys[kp.noise_sources])
    status = kp.module.run_chunk(
        np.ascontiguousarray(columns),
        lifted,
        kp.consts,
        kp.off,
        st,
        noise_keys,
        np.zeros((len(noise_keys), kp.n_ticks)),
        start,
        kp.args,
        out,
        err_i,
        err_f,
        MAX_CHANGES,
    )
    if status:
        raise _error(model, Failure(int(status)), err_i, err_f, start)
    samples = out.T
    combine_outcomes(sc, samples)
    return samples


def _error(
    sc: Scenario, kind: Failure, err_i: np.ndarray, err_f: np.ndarray, start: int
) -> SimulationError:
    """The error the kernel reported (see :class:`Failure`), worded as the reference
    engine words it."""
    site, rep, extra = int(err_i[1]), start + int(err_i[2]), int(err_i[3])
    value, when = float(err_f[0]), float(err_f[1])
    if kind is Failure.TOO_MANY_CHANGES:
        return too_many_changes(sc, rep, when)
    path: tuple[str | int, ...]
    if kind is Failure.HAZARD:
        path, what = race_slots(sc, sc.compiled("vector"))[site][4], f"the hazard {_MUST}"
    elif kind is Failure.PACE:
        path, what = ("projects", sc.projects[site].name, "pace"), f"the pace {_MUST}"
    elif kind is Failure.DURATION:
        what = f"a duration {_MUST}"
        if site < len(sc.events):
            path = ("events", sc.events[site].name, "duration")
        else:
            bases = stage_codes(sc)
            k = max(i for i, b in enumerate(bases) if b <= site)
            path = ("projects", sc.projects[k].name, "stages", site - bases[k], "duration")
    elif kind is Failure.DRIFT:
        path, what = ("series", sc.series[site].name, "drift"), "the drift"
    elif kind is Failure.VOLATILITY:
        path, what = ("series", sc.series[site].name, "volatility"), f"the volatility {_MUST}"
    elif kind is Failure.REVERSION and extra == 0:
        path = ("series", sc.series[site].name, "reverts_to")
        what = "the level it reverts to (must be finite, and > 0 for a log series)"
    elif kind is Failure.REVERSION:
        path = ("series", sc.series[site].name, "half_life")
        what = "the half-life (must be finite and > 0)"
    elif kind is Failure.SERIES_OVERFLOW:
        path, what = ("series", sc.series[site].name), "the series (overflow)"
    elif kind is Failure.JUMP_OVERFLOW:
        path, what = ("series", sc.series[extra].name), "the series (overflow)"
    elif kind is Failure.JUMP:
        path = ("series", sc.series[extra].name, "jumps")
        what = f"the jump on {sc.events[site].name!r} (a factor must be > 0, an amount finite)"
    elif kind is Failure.OUTCOME:
        path, what = ("outcomes", sc.outcomes[site].name), "the outcome (must be finite)"
    else:
        path = ("series", sc.series[site].name, "initial")
        what = "the initial value (must be finite, and > 0 for a log series)"
    return SimulationError(
        f"{where(sc, path)}: {what} evaluated to {value!r} in replication {rep} at "
        f"t = {when:.4f} years ({sc.timeline.date(when).isoformat()})"
    )
