"""What steppe owns on disk: the marker of its folders, and where its temporary files live.

**The marker.** Every folder steppe writes as a whole — a result folder (``steppe run``), a
comparison folder (``steppe compare``), a sweep folder (``steppe sweep``), a score
folder (``steppe score``) — holds a small
file ``.steppe`` (JSON: the format and the kind of folder). steppe replaces or clears an
existing folder only if it holds the marker of the same kind, or is empty
(:func:`check_replaceable`); any other folder is refused, so a mistyped ``--out`` never
deletes a user's files. A folder given as a symbolic link is written where the link points
(:func:`resolve_out`), and the link is kept.

**Staging.** Files and folders are written under a temporary name and renamed into place, so
that a reader sees the old version or the complete new one. The temporary names live in a
private folder per write inside ``.steppe-tmp/`` of the folder written into::

    <parent>/.steppe-tmp/<host>-<pid>-<start>-<random>/   one write in progress

(``<host>`` a hash of the machine's name, ``<pid>`` and ``<start>`` the writing process and
its start time.) A write removes its folder when it ends, whatever happens, and
``.steppe-tmp/`` itself once empty. A process killed mid-write (``kill -9``, a power cut)
leaves its folder behind; the next write into the same parent removes every folder of
``.steppe-tmp/`` whose process, on this machine, is no longer running
(:func:`remove_stale`). Folders of other machines (a shared network drive) are left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from steppe.errors import ResultError

__all__ = [
    "MARKER",
    "OUT_HINT",
    "STAGING",
    "FolderKind",
    "check_replaceable",
    "folder_kind",
    "marker_text",
    "remove_stale",
    "resolve_out",
    "staging",
    "swap_into_place",
]

#: The file that marks a folder as steppe's.
MARKER = ".steppe"
#: The folder, inside a folder written into, that holds writes in progress.
STAGING = ".steppe-tmp"
FORMAT = "steppe-folder/1"
#: What a refused ``--out`` should do instead.
OUT_HINT = "choose another path with --out"

FolderKind = Literal["result", "comparison", "sweep", "score", "discovery"]
_KINDS: tuple[FolderKind, ...] = ("result", "comparison", "sweep", "score", "discovery")
_ENTRY = re.compile(r"^(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)-[0-9a-f]{12}$")


def marker_text(kind: FolderKind) -> str:
    """The content of the marker of a folder of ``kind``."""
    body = {
        "format": FORMAT,
        "kind": kind,
        "note": "written by steppe, which may replace or delete this folder",
    }
    return json.dumps(body, indent=2) + "\n"


def folder_kind(folder: Path) -> FolderKind | None:
    """The kind of steppe folder ``folder`` is, from its marker; ``None`` if unmarked.

    A marker that is not a regular file, is larger than 4 KiB, or does not hold a known
    format and kind counts as no marker.
    """
    path = Path(folder) / MARKER
    try:
        if not path.is_file() or path.stat().st_size > 4096:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    kind = data.get("kind")
    return kind if kind in _KINDS else None


def _is_empty_dir(folder: Path) -> bool:
    with os.scandir(folder) as it:
        return next(it, None) is None


def check_replaceable(folder: Path, kind: FolderKind, *, hint: str = "choose another path") -> None:
    """Raise unless steppe may replace ``folder`` by a new folder of ``kind``.

    steppe may replace what does not exist, an empty directory, and a directory marked as a
    steppe folder of the same ``kind``.

    Raises
    ------
    ResultError
        Naming the folder, what was expected and what was found.
    """
    folder = Path(folder)
    if not os.path.lexists(folder):
        return
    what = f"a steppe {kind} folder"
    if not folder.is_dir():
        raise ResultError(
            f"cannot write {what} at {folder}: it exists and is not a directory; {hint}"
        )
    try:
        found = folder_kind(folder)
        if found == kind or (found is None and _is_empty_dir(folder)):
            return
    except OSError as exc:
        raise ResultError(f"cannot write {what} at {folder}: {exc}") from exc
    if found is None:
        raise ResultError(
            f"cannot write {what} at {folder}: it exists, is not empty, and was not written "
            f"by steppe (it has no {MARKER} marker); steppe replaces only its own folders "
            f"or empty ones, so your files are left as they are: {hint} or remove it"
        )
    raise ResultError(
        f"cannot write {what} at {folder}: it holds a steppe {found} folder, not a {kind} "
        f"folder; {hint} or remove it"
    )


def resolve_out(folder: Path) -> Path:
    """``folder``, or the folder a symbolic link ``folder`` points to (the link is kept)."""
    folder = Path(folder)
    return Path(os.path.realpath(folder)) if folder.is_symlink() else folder


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or ``None`` if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _running(pid: int, start: int) -> bool:
    """Whether process ``pid`` that started at ``start`` is still running on this machine."""
    if os.name != "posix":  # pragma: no cover - os.kill(pid, 0) would end it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    now = _start_time(pid)
    return now is None or start == 0 or now == start  # another process with the same pid


def remove_stale(parent: Path) -> list[Path]:
    """Remove the writes in ``parent/.steppe-tmp`` left by processes no longer running.

    Returns the paths removed. Entries of other machines, of running processes and with
    names steppe does not write are kept; errors are ignored (the next write tries again).
    """
    area = Path(parent) / STAGING
    removed: list[Path] = []
    try:
        entries = list(os.scandir(area))
    except OSError:
        return removed
    host = _host()
    for entry in entries:
        m = _ENTRY.match(entry.name)
        if m is None or m["host"] != host or _running(int(m["pid"]), int(m["start"])):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(path)
    with contextlib.suppress(OSError):
        area.rmdir()  # only if empty
    return removed


@contextlib.contextmanager
def staging(parent: Path) -> Iterator[Path]:
    """A new private folder in ``parent/.steppe-tmp`` for one write; removed on exit.

    Stale writes in ``parent`` are removed first (:func:`remove_stale`); ``parent`` must
    exist. Whatever the block leaves in the folder is deleted on exit, and
    ``.steppe-tmp`` too once it is empty.

    Raises
    ------
    OSError
        If the folder cannot be created.
    """
    parent = Path(parent)
    remove_stale(parent)
    pid = os.getpid()
    name = f"{_host()}-{pid}-{_start_time(pid) or 0}-{secrets.token_hex(6)}"
    area = parent / STAGING / name
    for attempt in range(3):
        (parent / STAGING).mkdir(exist_ok=True)
        try:
            area.mkdir()
            break
        except FileNotFoundError:  # another process removed the empty .steppe-tmp meanwhile
            if attempt == 2:
                raise
    try:
        yield area
    finally:
        shutil.rmtree(area, ignore_errors=True)
        with contextlib.suppress(OSError):
            (parent / STAGING).rmdir()


def swap_into_place(new: Path, target: Path, area: Path) -> None:
    """Rename the folder ``new`` to ``target``; an existing ``target`` goes into ``area``.

    ``area`` is the caller's :func:`staging` folder (same file system), so the previous
    ``target`` is deleted with it, and if the process is killed meanwhile, by the next
    write's :func:`remove_stale`. If the second rename fails, the previous ``target`` is put
    back before the error propagates.
    """
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    old = area / "previous"
    os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)  # put the previous folder back before reporting
        raise
