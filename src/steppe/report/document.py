"""A report as plain data, rendered to HTML (:mod:`.html`) and Markdown (:mod:`.markdown`).

Building the content once and rendering it twice keeps the two reports saying the same
thing. Cells are plain text; renderers escape them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from steppe.report._plot import Figure

__all__ = ["Document", "Section", "Table", "fmt", "fmt_interval"]


@dataclass(frozen=True)
class Table:
    """A table: ``header`` and ``rows`` of text cells; ``numeric`` columns align right."""

    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    caption: str = ""
    numeric: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Section:
    """A heading with paragraphs, tables and figures, in that order."""

    heading: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[Table] = ()
    figures: Sequence[Figure] = ()


@dataclass(frozen=True)
class Document:
    """A whole report: title, key facts (label, value) and sections."""

    title: str
    subtitle: str
    facts: list[tuple[str, str]]
    sections: list[Section] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        """Every figure, in order."""
        return [f for s in self.sections for f in s.figures]


def fmt(x: Any) -> str:
    """A number for a table: 3 decimals below 1, 2 below 100, thousands separators above."""
    if x is None:
        return "never"
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float) and not math.isfinite(x):
        return "-"
    size = abs(x)
    if size >= 100:
        return f"{x:,.0f}"
    if size >= 0.9995 or x == 0:  # 0.99996 shows as 1.00, as 1 does
        return f"{x:.2f}"
    return f"{x:.3f}" if size >= 0.001 else f"{x:.2g}"


def fmt_interval(pair: Sequence[Any]) -> str:
    """``[low, high]`` with :func:`fmt`."""
    return f"[{fmt(pair[0])}, {fmt(pair[1])}]"
