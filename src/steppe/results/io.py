"""Write and read result folders atomically.

A result folder holds three files::

    <out_dir>/
    ├── summary.json      per-outcome summaries (see :mod:`steppe.results.stats`)
    ├── manifest.json     what was run: scenario, seed, versions, ...
    └── samples.parquet   per-replication samples, one column per outcome

:func:`write_result_folder` builds the folder under a temporary sibling name and swaps it into
place with renames, so a reader sees either the old folder or the complete new one, never a
half-written one. The JSON files hold strict JSON: non-finite floats are stored as ``null``.
Concurrent writers to the same folder are not coordinated.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from steppe.errors import ResultError

__all__ = [
    "read_result_folder",
    "read_summary_manifest",
    "replace_folder",
    "write_json_atomic",
    "write_result_folder",
    "write_text_atomic",
]

SUMMARY = "summary.json"
MANIFEST = "manifest.json"
SAMPLES = "samples.parquet"


def _jsonable(value: Any, where: str) -> Any:
    """Copy ``value`` into plain JSON types: non-finite floats become ``None``."""
    if isinstance(value, np.generic | np.ndarray):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, Mapping):
        return {k: _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where}: JSON cannot hold a value of type {type(value).__name__}")


def _dumps(data: Mapping[str, Any], name: str) -> str:
    text = json.dumps(_jsonable(data, name), indent=2, sort_keys=False, allow_nan=False)
    return text + "\n"


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_text(path: Path, text: str) -> None:
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically.

    The JSON (``indent=2``, keys in insertion order, non-finite floats as ``null``) goes to a
    temporary file in the same directory, which then replaces ``path`` with :func:`os.replace`.

    Raises
    ------
    ResultError
        If ``data`` cannot be held in JSON or the file cannot be written; ``path`` is then
        unchanged and no temporary file remains.
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}-{secrets.token_hex(6)}")
    try:
        _write_text(tmp, _dumps(data, path.name))
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except (OSError, TypeError, ValueError) as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise ResultError(f"cannot write {path}: {exc}") from exc


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (temporary file, then :func:`os.replace`).

    Raises
    ------
    ResultError
        If the file cannot be written; ``path`` is then unchanged and no temporary file
        remains.
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}-{secrets.token_hex(6)}")
    try:
        _write_text(tmp, text)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise ResultError(f"cannot write {path}: {exc}") from exc


def replace_folder(tmp: Path, out_dir: Path) -> None:
    """Move the complete folder ``tmp`` to ``out_dir``, replacing it (old one deleted).

    ``tmp`` must be a sibling of ``out_dir`` (same file system). A reader sees the old or
    the new folder, never a mix.

    Raises
    ------
    ResultError
        If the rename fails; an existing ``out_dir`` is then put back.
    """
    try:
        _swap_into_place(Path(tmp), Path(out_dir))
        _fsync_dir(Path(out_dir).parent)
    except OSError as exc:
        raise ResultError(f"cannot replace {out_dir}: {exc}") from exc


def _is_replaceable(folder: Path) -> bool:
    """Whether an existing ``folder`` may be replaced: an empty folder or a result folder."""
    return folder.is_dir() and ((folder / MANIFEST).is_file() or not any(folder.iterdir()))


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename ``tmp`` to ``out_dir``, moving an existing ``out_dir`` aside and deleting it."""
    if not os.path.lexists(out_dir):
        os.rename(tmp, out_dir)
        return
    old = out_dir.parent / f".old-{out_dir.name}-{secrets.token_hex(6)}"
    os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except OSError:
        os.rename(old, out_dir)  # put the previous result back before reporting
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_result_folder(
    out_dir: Path,
    *,
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    samples: pd.DataFrame,
    extra: Callable[[Path], object] | None = None,
) -> Path:
    """Write a result folder atomically, replacing any previous result there.

    Parameters
    ----------
    out_dir
        The folder to create. Its parent is created if missing. An existing ``out_dir`` is
        replaced only if it is empty or holds a ``manifest.json`` (a previous result), so
        that a mistyped path never deletes unrelated files.
    summary, manifest
        Written as ``summary.json`` and ``manifest.json`` (see :func:`write_json_atomic`).
    samples
        Written as ``samples.parquet`` with the pyarrow engine.
    extra
        Called with the temporary folder once the three files are in it, to add more files
        (e.g. the report) that then appear together with them.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ResultError
        If anything fails. The temporary folder is removed and an existing ``out_dir`` is
        left as it was.
    """
    out_dir = Path(out_dir)
    parent = out_dir.parent
    tmp = parent / f".tmp-{out_dir.name}-{secrets.token_hex(6)}"
    try:
        if os.path.lexists(out_dir) and not _is_replaceable(out_dir):
            raise ResultError(
                f"cannot write result folder {out_dir}: it exists and is not a steppe result "
                f"folder (expected a directory that is empty or holds {MANIFEST}); "
                "choose another path or remove it"
            )
        summary_text = _dumps(summary, SUMMARY)
        manifest_text = _dumps(manifest, MANIFEST)
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        try:
            _write_text(tmp / SUMMARY, summary_text)
            _write_text(tmp / MANIFEST, manifest_text)
            samples.to_parquet(tmp / SAMPLES, engine="pyarrow")
            _fsync_file(tmp / SAMPLES)
            if extra is not None:
                extra(tmp)
            _fsync_dir(tmp)
            _swap_into_place(tmp, out_dir)
            _fsync_dir(parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    except ResultError:
        raise
    except Exception as exc:
        raise ResultError(f"cannot write result folder {out_dir}: {exc}") from exc
    return out_dir


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard constant {name}")


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ResultError(f"{path}: file is missing")
    try:
        data = json.loads(path.read_bytes(), parse_constant=_reject_constant)
    except OSError as exc:
        raise ResultError(f"{path}: cannot be read: {exc}") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        raise ResultError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultError(
            f"{path}: expected a JSON object at the top level, found {type(data).__name__}"
        )
    return data


def _read_samples(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ResultError(f"{path}: file is missing")
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ResultError(f"{path}: cannot be read as Parquet: {exc}") from exc


def read_summary_manifest(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read ``summary.json`` and ``manifest.json`` of a result folder (no samples needed).

    Raises
    ------
    ResultError
        As :func:`read_result_folder`.
    """
    path = Path(path)
    if not path.is_dir():
        what = "does not exist" if not path.exists() else "is not a directory"
        raise ResultError(f"{path}: {what} (expected a result folder)")
    return _read_json(path / SUMMARY), _read_json(path / MANIFEST)


def read_result_folder(path: Path) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame]:
    """Read a result folder written by :func:`write_result_folder`.

    Returns
    -------
    summary, manifest : dict
        The parsed ``summary.json`` and ``manifest.json`` (``null`` stays ``None``).
    samples : pandas.DataFrame
        The contents of ``samples.parquet``.

    Raises
    ------
    ResultError
        If the folder or one of its files is missing or cannot be parsed; the message names
        the file and what is wrong with it.
    """
    path = Path(path)
    if not path.exists():
        raise ResultError(f"{path}: result folder does not exist")
    if not path.is_dir():
        raise ResultError(f"{path}: not a directory (expected a result folder)")
    summary = _read_json(path / SUMMARY)
    manifest = _read_json(path / MANIFEST)
    samples = _read_samples(path / SAMPLES)
    return summary, manifest, samples
