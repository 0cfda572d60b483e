"""Numba's on-disk cache of machine code, made disposable for the compiled engine.

A function compiled by Numba with ``cache=True`` keeps its machine code beside its source,
in ``__pycache__/``: an index ``<module>.<function>-<line>.pyXY.nbi`` (Numba's version, a
hash of the source file, and which data file holds the code of each signature) and data
files ``<module>.<function>-<line>.pyXY.<N>.nbc`` (the code), all pickles. Numba trusts
them: a truncated or damaged file makes the first call raise (``UnpicklingError``,
``EOFError``, ...) in this run and every later one, and a folder where the code cannot be
saved makes it raise ``OSError`` once the code is compiled.

:func:`njit` is Numba's decorator, with a cache that treats these files as disposable:

* every file carries the SHA-256 digest of what it holds, checked before anything of it is
  used, and every data file the key it was saved under; the index is written after the
  data it points to (each file atomically, as Numba writes them: a temporary file renamed);
* an entry that cannot be read is deleted and its function compiled again, with one
  warning (logger ``steppe``) per module and process;
* when the code cannot be saved (a full disk, a read-only or missing folder), it stays in
  memory for this process, with one warning per folder and process.

So two processes that load or compile the same entry at once do not corrupt each other:
each reads either a complete file or none, one may compile what the other discarded.

The index starts with Numba's version followed by :data:`_FORMAT`: Numba's own reader sees
another version and ignores these files (it does not unpickle the rest), and this one
ignores indexes in Numba's plain format (an older steppe), as it ignores other versions.

A function's machine code includes that of the compiled functions it calls, which Numba
compiles into it; Numba's stamp of the source covers the function's own file only. So the
stamp here also holds :data:`HELPERS`, a digest of the helper modules every kernel calls
(``_runtime``, ``_philox``, ``_contract``): a new version of them invalidates every cached
kernel instead of leaving old helper code inside it.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import itertools
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.dispatcher import Dispatcher
from numba.core.serialize import dumps

from steppe.errors import SteppeError

__all__ = ["HELPERS", "njit", "warn_once"]

#: Appended to Numba's version in an index of this format.
_FORMAT = "+steppe-sha256"
#: The helper modules whose code is compiled into every kernel (see the module docstring).
_HELPER_FILES = ("_runtime.py", "_philox.py", "_contract.py")
#: SHA-256 of the helper modules' sources, part of every cached function's stamp.
HELPERS = hashlib.sha256(
    b"".join(Path(__file__).with_name(name).read_bytes() for name in _HELPER_FILES)
).hexdigest()
_DIGEST = hashlib.sha256().digest_size
_log = logging.getLogger("steppe")
#: The warnings given in this process (see :func:`warn_once`).
_warned: set[str] = set()


def warn_once(key: str, message: str, *args: object) -> None:
    """Log ``message % args`` as a warning of the logger ``steppe``, once per ``key`` and
    process (a folder that cannot be written is said once, not once per function)."""
    if key not in _warned:
        _warned.add(key)
        _log.warning(message, *args)


def njit(*, cache: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Numba's ``njit``; with ``cache=True``, the function's machine code is cached on disk
    as this module describes, if its source is a file (else it is compiled in memory).

    Parameters
    ----------
    cache
        Cache the machine code beside the source file (Numba finds the folder: ``__pycache__``
        beside it if it can be written, else a folder of its own, ``$NUMBA_CACHE_DIR`` first).
    **options
        Numba's options (``nogil``, ``error_model``, ...).
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        dispatcher = numba.njit(**options)(fn)
        # Not a Dispatcher when NUMBA_DISABLE_JIT is set: then nothing is compiled.
        if cache and isinstance(dispatcher, Dispatcher) and os.path.isfile(_source(fn)):
            _enable(dispatcher)
        return dispatcher

    return decorate


def _source(fn: Callable[..., Any]) -> str:
    return str(fn.__code__.co_filename)


def _enable(dispatcher: Any) -> None:
    """What ``Dispatcher.enable_caching`` does (numba/core/dispatcher.py), with our cache."""
    try:
        dispatcher._cache = _DisposableCache(dispatcher.py_func)
        return
    except RuntimeError:  # Numba's "no locator available": no folder it may write
        reason = "no folder where Numba may save it"
    except OSError as err:  # the source file went away (its folder deleted meanwhile)
        reason = err.strerror or str(err)
    folder = os.path.dirname(_source(dispatcher.py_func))
    warn_once(
        f"save:{folder}",
        "cannot cache compiled code beside %s (%s): it is compiled in memory, for this "
        "process only",
        folder,
        reason,
    )


class _UnreadableError(SteppeError):
    """A cache file that cannot be used: truncated, damaged, or not readable (handled in
    this module: the entry is discarded)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path} ({reason})")


class _PlainUnpickler(pickle.Unpickler):
    """Reads a pickle of plain data only: no class or function is looked up, so unpickling
    bytes not yet checked runs no code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name}: not plain data")


def _sealed(obj: Any) -> bytes:
    """``obj`` pickled as Numba pickles it, preceded by the SHA-256 digest of the pickle."""
    payload: bytes = dumps(obj)
    return hashlib.sha256(payload).digest() + payload


def _unsealed(raw: bytes, path: str | Path) -> Any:
    """The object :func:`_sealed` wrote (read from ``path``), once its digest is checked."""
    digest, payload = raw[:_DIGEST], raw[_DIGEST:]
    if hashlib.sha256(payload).digest() != digest:
        raise _UnreadableError(path, "truncated or damaged: its checksum does not match")
    try:
        return pickle.loads(payload)
    except Exception as err:  # intact bytes that do not unpickle here are unusable as well
        raise _UnreadableError(path, f"{type(err).__name__}: {err}") from err


class _Files(IndexDataCacheFile):
    """Numba's index and data files of one function, each sealed with a digest."""

    def __init__(self, cache_path: str, filename_base: str, source_stamp: Any) -> None:
        super().__init__(cache_path, filename_base, source_stamp)
        self._version = numba.__version__ + _FORMAT
        self.index_path = Path(self._index_path)
        self.data_glob = os.path.join(glob.escape(cache_path), glob.escape(filename_base))
        self.data_glob += ".*.nbc"

    def _dump(self, obj: Any) -> bytes:
        return _sealed(obj)

    def _load_index(self) -> dict[Any, str]:
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as err:
            raise _UnreadableError(self.index_path, err.strerror or str(err)) from err
        head = pickle.dumps(self._version, protocol=-1)  # as Numba's _save_index writes it
        if not raw.startswith(head):
            if self._another_version(raw):
                return {}  # stale, as Numba treats an index of another version
            raise _UnreadableError(self.index_path, "truncated or damaged: no version stamp")
        content = _unsealed(raw[len(head) :], self.index_path)
        if not (isinstance(content, tuple) and len(content) == 2 and isinstance(content[1], dict)):
            raise _UnreadableError(self.index_path, "not an index")
        stamp, overloads = content
        return overloads if stamp == self._source_stamp else {}  # else: the source changed

    def _another_version(self, raw: bytes) -> bool:
        """Whether ``raw`` starts with the version stamp of another Numba or format."""
        try:
            version = _PlainUnpickler(io.BytesIO(raw)).load()
        except Exception:  # what unpickling garbage raises varies with the garbage
            return False
        return isinstance(version, str) and version != self._version

    def load(self, key: Any) -> Any:
        data_name = self._load_index().get(key)
        if data_name is None:
            return None
        path = Path(self._data_path(data_name))
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None  # removed since the index was read: compile (as Numba does)
        except OSError as err:
            raise _UnreadableError(path, err.strerror or str(err)) from err
        content = _unsealed(raw, path)
        if not (isinstance(content, tuple) and len(content) == 2):
            raise _UnreadableError(path, "not a cache entry")
        saved_key, data = content
        # Saved under another key: two processes saved different signatures (or machines
        # sharing the folder, different CPUs) under one name at once. Compile; not damage.
        return data if saved_key == key else None

    def save(self, key: Any, data: Any) -> None:
        try:
            overloads = self._load_index()
        except _UnreadableError:
            overloads = {}  # replaced by the index written below
        data_name = overloads.get(key)
        if data_name is None:
            used = set(overloads.values())
            numbers = itertools.count(1)
            data_name = next(n for i in numbers if (n := self._data_name(i)) not in used)
        self._save_data(data_name, (key, data))
        overloads[key] = data_name
        # After the data: an index never points at data not written yet (Numba writes the
        # index first, so a reader could meet a data file left by an older index).
        self._save_index(overloads)

    def discard(self) -> None:
        """Delete the index and every data file of this function (what can be deleted)."""
        for path in [str(self.index_path), *glob.glob(self.data_glob)]:
            with contextlib.suppress(OSError):
                os.unlink(path)


class _DisposableCache(FunctionCache):
    """Numba's cache of one function, reading and writing :class:`_Files`: an entry that
    cannot be read is discarded, code that cannot be saved stays in memory."""

    def __init__(self, py_func: Callable[..., Any]) -> None:
        super().__init__(py_func)
        stamp = (self._impl.locator.get_source_stamp(), HELPERS)
        self._files = _Files(self._cache_path, self._impl.filename_base, stamp)
        self._cache_file = self._files
        self._module = _source(py_func)

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            return super().load_overload(sig, target_context)
        except _UnreadableError as err:
            self._files.discard()
            warn_once(
                f"load:{self._module}",
                "discarded an unreadable file of the compiled code cache, %s; compiling "
                "again, about 5-30 s",
                err,
            )
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)
        except OSError as err:
            self.disable()  # this function's code stays in memory
            warn_once(
                f"save:{self._cache_path}",
                "cannot save compiled code in %s (%s): it is kept in memory, for this process only",
                self._cache_path,
                err.strerror or err,
            )
