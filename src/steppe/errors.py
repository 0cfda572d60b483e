"""The exception tree of steppe.

Every error steppe raises on purpose derives from :class:`SteppeError`::

    SteppeError(Exception)
    ├── ScenarioError(SteppeError, ValueError)       a scenario is invalid
    │   ├── ExpressionError(ScenarioError)           an expression is refused
    │   └── LimitError(ScenarioError)                a size or resource limit is exceeded
    ├── SimulationError(SteppeError, RuntimeError)   a run failed (e.g. a negative hazard)
    ├── ComparisonError(SteppeError, ValueError)     inputs cannot be compared (outcomes differ)
    ├── EngineError(SteppeError, ValueError)         no such engine (unknown, or retired)
    └── ResultError(SteppeError, OSError)            a result folder cannot be read or written

and the one warning, ``ScenarioWarning(UserWarning)``: a scenario loads, but with a change
it asked for (e.g. a correlation matrix repaired to the nearest valid one).

A :class:`ScenarioError` knows *where* the problem is: the YAML path (a tuple of keys and
indices) and, once the loader has attached them, the file, line and column. ``str(err)``
renders ``FILE:LINE:COL: error: YAML.PATH: message``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

__all__ = [
    "ComparisonError",
    "EngineError",
    "ExpressionError",
    "LimitError",
    "ResultError",
    "ScenarioError",
    "ScenarioWarning",
    "SimulationError",
    "SteppeError",
    "format_path",
]

PathPart = str | int


_PLAIN = re.compile(r"[A-Za-z0-9_-]+")


def format_path(path: Sequence[PathPart]) -> str:
    """Render a YAML path as ``events.uz_delists.hazard`` or ``series.x.jumps[0].factor``.

    A key made only of ASCII letters, digits, ``_`` and ``-`` is written as it is; any other
    key (empty, or holding ``.``, ``:``, a space, a quote, a non-ASCII letter, ...) is written
    in double quotes with JSON escapes, e.g. ``outcomes."uz_by_:027:".by``, so that the path
    never contains an unquoted ``:`` or ``.`` and ``FILE:LINE:COL: error: PATH: message`` can
    be split unambiguously. List indices are written ``[0]``.
    """
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
            continue
        text = part if isinstance(part, str) else str(part)
        shown = text if _PLAIN.fullmatch(text) else json.dumps(text, ensure_ascii=False)
        out += ("." if out else "") + shown
    return out or "<document>"


class SteppeError(Exception):
    """Base class of every error steppe raises deliberately."""


class ScenarioError(SteppeError, ValueError):
    """A scenario (file, data or override) is invalid.

    Parameters
    ----------
    message
        What was expected and what was found.
    path
        The YAML path of the offending value, e.g. ``("events", "uz_delists", "hazard")``.
    file, line, column
        Where the value stands; ``line`` and ``column`` are 1-based. Filled in by the loader.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Sequence[PathPart] = (),
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.path: tuple[PathPart, ...] = tuple(path)
        self.file = file
        self.line = line
        self.column = column
        #: Further problems found in the same pass (e.g. by schema validation).
        self.also: tuple[ScenarioError, ...] = ()
        super().__init__(message)

    def located(self, *, file: str | None, line: int | None, column: int | None) -> ScenarioError:
        """Return a copy of this error that carries a file position."""
        err = type(self)(self.message, path=self.path, file=file, line=line, column=column)
        err.__cause__ = self.__cause__
        err.also = self.also
        return err

    def with_message(self, message: str) -> ScenarioError:
        """Return a copy with another message (the same path, place and further errors)."""
        err = type(self)(
            message, path=self.path, file=self.file, line=self.line, column=self.column
        )
        err.__cause__ = self.__cause__
        err.also = self.also
        return err

    def all(self) -> tuple[ScenarioError, ...]:
        """This error followed by the others found in the same pass."""
        return (self, *self.also)

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: error: {format_path(self.path)}: {self.message}"


class ExpressionError(ScenarioError):
    """An expression is malformed, uses a forbidden construct or an unknown name."""


class LimitError(ScenarioError):
    """A scenario or a request exceeds a size limit (file size, memory, steps, ...)."""


class SimulationError(SteppeError, RuntimeError):
    """A run failed at run time, e.g. a hazard evaluated to a negative number or NaN."""


class ComparisonError(SteppeError, ValueError):
    """Scenarios or result folders cannot be compared, e.g. their outcomes do not match."""


class EngineError(SteppeError, ValueError):
    """An engine was asked for that steppe does not have: an unknown name, or a retired
    engine (the message says what to use instead). Printed as ``error: message``."""

    def __str__(self) -> str:
        return f"error: {super().__str__()}"


class ResultError(SteppeError, OSError):
    """A result folder cannot be written or read back."""


class ScenarioWarning(UserWarning):
    """A scenario loads, but not quite as written: its text says ``FILE:LINE:COL: warning:
    YAML.PATH: message`` (e.g. ``correlations:`` repaired with ``repair: nearest``)."""
