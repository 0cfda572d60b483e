"""Read a scenario file: a regular file of at most :data:`~steppe.load.yamlsafe.MAX_BYTES`.

Every YAML file steppe reads (a scenario, and each file it ``extends``) goes through
:func:`read_scenario_file`. It refuses devices (``/dev/zero``, ``/dev/urandom``), named
pipes, sockets and directories *before* reading a byte, and it never reads more than
``MAX_BYTES + 1`` bytes, so no file can exhaust memory or block the loader:

1. ``stat`` the path (following symbolic links) and refuse anything but a regular file.
   Opening a named pipe would block until a writer appears, so this comes first.
2. Open it with ``O_NONBLOCK`` (a pipe swapped in after the ``stat`` then opens at once
   instead of blocking) and ``fstat`` the open descriptor: what is read is what was checked.
3. Read at most ``MAX_BYTES + 1`` bytes; one byte too many is a :class:`LimitError`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from steppe.errors import LimitError, ScenarioError
from steppe.load.yamlsafe import MAX_BYTES

__all__ = ["read_scenario_file"]

_CHUNK = 1 << 16
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # POSIX only; Windows has no named pipes in the file tree
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)  # Windows only
)


def _kind(mode: int) -> str | None:
    """What a file is, in words, when it is not a regular file (None when it is)."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _too_big(what: str, size: int | None) -> str:
    found = f"{size:,} bytes" if size is not None else f"more than {MAX_BYTES:,} bytes"
    return f"{what} is {found}; scenario files are limited to {MAX_BYTES:,}"


def read_scenario_file(path: str | Path, *, what: str = "the file") -> tuple[str, bytes]:
    """The text and the bytes of a scenario file, read safely.

    Parameters
    ----------
    path
        The file. Symbolic links are followed; the target must be a regular file.
    what
        How messages name the file, e.g. ``"the file"`` or ``"'parent.yaml' (dir/parent.yaml)"``.

    Returns
    -------
    (str, bytes)
        The UTF-8 text and the raw bytes.

    Raises
    ------
    ScenarioError
        The file is missing or unreadable, is not a regular file (a device, named pipe,
        socket or directory), or is not UTF-8 text. The error's ``file`` is ``path``.
    LimitError
        The file is larger than :data:`~steppe.load.yamlsafe.MAX_BYTES` bytes.
    """
    name = str(path)

    def refuse(message: str) -> ScenarioError:
        return ScenarioError(message, file=name)

    try:
        kind = _kind(os.stat(path).st_mode)
        # Refused before opening: opening a named pipe blocks until a writer appears.
        fd = os.open(path, _OPEN_FLAGS) if kind is None else -1
    except OSError as exc:
        raise refuse(f"cannot read {what}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character in the path
        raise refuse(f"cannot read {what}: the path holds a NUL character") from None
    if kind is not None:
        raise refuse(f"cannot read {what}: expected a regular file, found {kind}")
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:  # replaced between stat and open
            raise refuse(f"cannot read {what}: expected a regular file, found {kind}")
        if info.st_size > MAX_BYTES:
            raise LimitError(_too_big(what, info.st_size), file=name)
        chunks: list[bytes] = []
        left = MAX_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise refuse(f"cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > MAX_BYTES:  # it grew after fstat, or gave no size (as files in /proc do)
        raise LimitError(_too_big(what, None), file=name)
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError as exc:
        raise refuse(f"{what} is not UTF-8 text ({exc.reason})") from None
