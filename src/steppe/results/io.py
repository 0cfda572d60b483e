"""Write and read result folders atomically.

A result folder holds these files and the marker of a steppe folder::

    <out_dir>/
    ├── .steppe           marks the folder as steppe's (see :mod:`steppe.results.folders`)
    ├── summary.json      per-outcome summaries (see :mod:`steppe.results.stats`)
    ├── manifest.json     what was run: scenario, seed, versions, ...
    ├── samples.parquet   per-replication samples, one column per outcome
    └── indicators.parquet  per-replication event and stage times, series at year ends

:func:`write_result_folder` builds the folder in a staging folder beside it
(``.steppe-tmp/``) and swaps it into place with renames, so a reader sees either the old
folder or the complete new one, never a half-written one. The JSON files hold strict JSON:
non-finite floats are stored as ``null``. Concurrent writers to the same folder are not coordinated.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from steppe.errors import ResultError
from steppe.results.folders import (
    MARKER,
    OUT_HINT,
    check_replaceable,
    marker_text,
    resolve_out,
    staging,
    swap_into_place,
)
from steppe.results.indicators import INDICATORS, write_indicators

__all__ = [
    "read_result_folder",
    "read_summary_manifest",
    "replace_folder",
    "write_file_atomic",
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


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` with a staging path, then rename the file it wrote onto ``path``."""
    with staging(path.parent) as area:
        tmp = area / path.name
        write(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
    _fsync_dir(path.parent)


def write_file_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` atomically: ``write(tmp)`` writes a temporary file, which replaces it.

    The temporary file lives in a private folder of ``.steppe-tmp/`` beside ``path``
    (:func:`~steppe.results.folders.staging`), removed afterwards, and by the next write
    if the process is killed meanwhile.

    Raises
    ------
    ResultError
        If the file cannot be written; ``path`` is then unchanged.
    """
    path = Path(path)
    try:
        _write_atomic(path, write)
    except ResultError:
        raise
    except Exception as exc:
        raise ResultError(f"cannot write {path}: {exc}") from exc


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (see :func:`write_file_atomic`).

    The JSON has ``indent=2``, keys in insertion order, and non-finite floats as ``null``.

    Raises
    ------
    ResultError
        If ``data`` cannot be held in JSON or the file cannot be written; ``path`` is then
        unchanged.
    """
    path = Path(path)
    try:
        text = _dumps(data, path.name)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"cannot write {path}: {exc}") from exc
    write_text_atomic(path, text)


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_file_atomic`).

    Raises
    ------
    ResultError
        If the file cannot be written; ``path`` is then unchanged.
    """
    write_file_atomic(Path(path), lambda tmp: _write_text(tmp, text))


def replace_folder(write: Callable[[Path], object], out_dir: Path, *, what: str = "") -> None:
    """Build a folder with ``write(tmp)`` and move it to ``out_dir``, replacing it.

    A reader sees the old or the new folder, never a mix. The parent of ``out_dir`` is
    created if missing. The caller checks that ``out_dir`` may be replaced
    (:func:`~steppe.results.folders.check_replaceable`); ``what`` names the folder in
    errors (``"result folder"``).

    Raises
    ------
    ResultError
        If anything fails; an existing ``out_dir`` is then left as it was.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with staging(out_dir.parent) as area:
            tmp = area / out_dir.name
            tmp.mkdir()
            write(tmp)
            _fsync_dir(tmp)
            swap_into_place(tmp, out_dir, area)
        _fsync_dir(out_dir.parent)
    except ResultError:
        raise
    except Exception as exc:
        raise ResultError(f"cannot write {what + ' ' if what else ''}{out_dir}: {exc}") from exc


def write_result_folder(
    out_dir: Path,
    *,
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    samples: pd.DataFrame,
    indicators: pd.DataFrame | None = None,
    extra: Callable[[Path], object] | None = None,
) -> Path:
    """Write a result folder atomically, replacing any previous result there.

    Parameters
    ----------
    out_dir
        The folder to create; a symbolic link is followed (the link stays). Its parent is
        created if missing. An existing ``out_dir`` is replaced only if it is empty or a
        steppe result folder (it holds the marker ``.steppe``, see
        :mod:`steppe.results.folders`), so that a mistyped path never deletes unrelated
        files.
    summary, manifest
        Written as ``summary.json`` and ``manifest.json`` (strict JSON, see
        :func:`write_json_atomic`).
    samples
        Written as ``samples.parquet`` with the pyarrow engine.
    indicators
        Written as ``indicators.parquet`` (:mod:`steppe.results.indicators`), if given.
    extra
        Called with the temporary folder once the files are in it, to add more files (e.g.
        the report) that then appear together with them.

    Returns
    -------
    Path
        ``out_dir`` as given.

    Raises
    ------
    ResultError
        If anything fails. The temporary folder is removed and an existing ``out_dir`` is
        left as it was.
    """
    given = Path(out_dir)
    out_dir = resolve_out(given)
    check_replaceable(out_dir, "result", hint=OUT_HINT)
    try:
        summary_text = _dumps(summary, SUMMARY)
        manifest_text = _dumps(manifest, MANIFEST)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"cannot write result folder {given}: {exc}") from exc

    def write(tmp: Path) -> None:
        _write_text(tmp / MARKER, marker_text("result"))
        _write_text(tmp / SUMMARY, summary_text)
        _write_text(tmp / MANIFEST, manifest_text)
        samples.to_parquet(tmp / SAMPLES, engine="pyarrow")
        _fsync_file(tmp / SAMPLES)
        if indicators is not None:
            write_indicators(tmp / INDICATORS, indicators)
            _fsync_file(tmp / INDICATORS)
        if extra is not None:
            extra(tmp)

    replace_folder(write, out_dir, what="result folder")
    return given


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
