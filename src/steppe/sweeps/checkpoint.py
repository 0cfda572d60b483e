"""Checkpoints of a sweep: one small JSON file per finished design point.

Layout of a checkpoint folder::

    DIR/
    ├── .steppe                marks the folder as a steppe sweep folder
    ├── checkpoint.json        what the sweep is: scenario sha256, design, seed, ... (the key)
    └── points/
        ├── 000000.json        {"key": <sha256 of the key>, "point": 0, "values": {...},
        ├── 000001.json         "outcomes": {name: [estimate, se], ...}}
        └── ...

Each point file is written with :func:`~steppe.results.io.write_json_atomic` (a temporary
file in the same folder, fsync, :func:`os.replace`, fsync of the folder), so after a crash
or ``kill -9`` a point file is either complete or absent. Resuming reads every point file,
checks that it belongs to this sweep (the key's checksum, its index and parameter values),
and runs only the missing points. JSON stores floats exactly (shortest round-trip repr), so
a resumed sweep's table equals an uninterrupted one bit for bit; non-finite numbers are
stored as ``null`` and read back as NaN, which the sweep applies to fresh points too.

A folder holding a checkpoint of a *different* sweep (another scenario file, design, seed,
number of replications, ...) is never resumed: :class:`~steppe.errors.ResultError` names the
fields that differ.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from steppe.errors import ResultError
from steppe.results.folders import MARKER, OUT_HINT, check_replaceable, folder_kind, marker_text
from steppe.results.io import write_json_atomic, write_text_atomic
from steppe.sweeps.points import Row

__all__ = ["CHECKPOINT", "FORMAT", "POINTS", "Checkpoint"]

FORMAT = "steppe-sweep-checkpoint/1"
CHECKPOINT = "checkpoint.json"
POINTS = "points"
_POINT_FILE = re.compile(r"^(\d{6,})\.json$")


def _key_hash(key: Mapping[str, Any]) -> str:
    text = json.dumps(key, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _nan(x: Any) -> float:
    return math.nan if x is None else float(x)


class Checkpoint:
    """A sweep's checkpoint folder; see the module docstring.

    Use :meth:`open`, then :meth:`done` for the points already finished and :meth:`save`
    for each point as it finishes.
    """

    def __init__(self, folder: Path, key: Mapping[str, Any]) -> None:
        self.folder = folder
        self.key = {"format": FORMAT, **key}
        self.key_hash = _key_hash(self.key)

    @classmethod
    def open(cls, folder: str | Path, key: Mapping[str, Any], *, resume: bool) -> Checkpoint:
        """Open (or create) the checkpoint in ``folder``.

        Parameters
        ----------
        folder
            The checkpoint folder (created if missing).
        key
            What identifies the sweep; a checkpoint with another key is not resumed.
        resume
            Keep the finished points of the same sweep. Without it, the points of a previous
            sweep in ``folder`` are deleted and the sweep starts afresh.

        Raises
        ------
        ResultError
            If ``folder`` holds a different sweep and ``resume`` is true, or is a non-empty
            folder that is not a steppe sweep folder (no marker ``.steppe`` of a sweep, see
            :mod:`steppe.results.folders`), or cannot be written.
        """
        ck = cls(Path(folder), key)
        meta = ck.folder / CHECKPOINT
        check_replaceable(ck.folder, "sweep", hint=OUT_HINT)
        if meta.is_file():
            if resume:
                ck._check_same(meta)
            else:
                ck._clear()
        try:
            (ck.folder / POINTS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultError(f"cannot create the sweep folder {ck.folder}: {exc}") from exc
        if folder_kind(ck.folder) is None:
            write_text_atomic(ck.folder / MARKER, marker_text("sweep"))
        write_json_atomic(meta, {**ck.key, "key_sha256": ck.key_hash})
        return ck

    @staticmethod
    def saved_key(folder: str | Path) -> dict[str, Any] | None:
        """The key saved in ``folder`` by an earlier sweep, if it holds a readable one."""
        try:
            old = json.loads((Path(folder) / CHECKPOINT).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return old if isinstance(old, dict) else None

    def _check_same(self, meta: Path) -> None:
        try:
            old = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResultError(f"{meta}: cannot be read as a sweep checkpoint: {exc}") from exc
        if not isinstance(old, dict):
            raise ResultError(f"{meta}: expected a JSON object, found {type(old).__name__}")
        old.pop("key_sha256", None)
        if old == self.key:
            return
        fields = sorted(set(old) | set(self.key))
        diff = [
            f"{k}: {old.get(k, '(none)')!r} in the checkpoint, {self.key.get(k, '(none)')!r} now"
            for k in fields
            if old.get(k) != self.key.get(k)
        ]
        raise ResultError(
            f"cannot resume the sweep in {self.folder}: it was made by a different sweep ("
            + "; ".join(diff)
            + "). Start afresh without resuming, or use another folder."
        )

    def _clear(self) -> None:
        points = self.folder / POINTS
        if points.is_dir():
            for f in points.iterdir():
                if _POINT_FILE.match(f.name):
                    with contextlib.suppress(FileNotFoundError):
                        f.unlink()

    def path(self, i: int) -> Path:
        """The file of point ``i``."""
        return self.folder / POINTS / f"{i:06d}.json"

    def done(self, expected: Mapping[int, Mapping[str, float]]) -> dict[int, Row]:
        """The points already finished, by index.

        Parameters
        ----------
        expected
            The parameter values of every design point, by index.

        Raises
        ------
        ResultError
            If a point file belongs to another sweep or disagrees with the design.
        """
        out: dict[int, Row] = {}
        folder = self.folder / POINTS
        for f in sorted(folder.iterdir()):
            m = _POINT_FILE.match(f.name)
            if m is None:
                continue
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                # Cannot happen with atomic writes short of disk corruption; the point is
                # deterministic, so running it again is safe.
                continue
            i = int(m.group(1))
            if (
                not isinstance(data, dict)
                or data.get("key") != self.key_hash
                or data.get("point") != i
                or i not in expected
                or data.get("values") != dict(expected[i])
            ):
                raise ResultError(
                    f"{f}: this point file does not belong to the sweep in {self.folder} "
                    "(another sweep's key, index or parameter values); remove it or start "
                    "afresh"
                )
            out[i] = {
                "point": i,
                "values": {k: float(v) for k, v in data["values"].items()},
                "outcomes": {k: [_nan(e), _nan(s)] for k, (e, s) in data["outcomes"].items()},
            }
        return out

    def save(self, row: Row) -> None:
        """Persist one finished point atomically."""
        write_json_atomic(self.path(int(row["point"])), {"key": self.key_hash, **row})
