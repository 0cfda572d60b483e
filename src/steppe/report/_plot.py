"""Shared matplotlib plumbing: Agg canvases, PNG encoding, date axes, small multiples.

Figures are built on :class:`matplotlib.figure.Figure` with an explicit
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, never through ``pyplot``: no global
figure registry, no GUI backend, nothing set at import time of steppe's core. PNGs are written
without timestamps and reduced to a 256-colour palette, so the same summary gives the same
bytes and the committed figures stay small.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, MonthLocator, YearLocator
from matplotlib.figure import Figure as MplFigure
from PIL import Image

__all__ = [
    "DPI",
    "PALETTE",
    "Figure",
    "Margins",
    "date_axis",
    "dates",
    "grid",
    "new_figure",
    "text_width",
    "to_png",
]

#: Resolution of every PNG (figures are sized in inches).
DPI = 90
#: Colours of scenarios in overlays and of series in single-run charts (colour-blind safe).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


@dataclass(frozen=True)
class Figure:
    """A rendered figure.

    Attributes
    ----------
    name
        File stem (``figures/<name>.png``).
    title
        Heading shown above it in the reports.
    caption
        What it shows and how its intervals are computed.
    png
        The PNG bytes.
    """

    name: str
    title: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Margins:
    """Fixed margins of a figure, in inches: around the axes (``left`` ... ``bottom``) and,
    in a grid, between them (``across``: from one axes to the next in a row; ``down``:
    from one row to the next). They hold the tick labels, axis labels and titles.

    A fixed layout draws a figure once; constrained layout measured every tick label of
    every panel first, which was most of a run report's drawing time (issue 18).
    """

    left: float = 0.75
    right: float = 0.2
    top: float = 0.4
    bottom: float = 0.5
    across: float = 0.85
    down: float = 0.75


def new_figure(width: float, height: float, *, margins: Margins | None = None) -> MplFigure:
    """A figure on its own Agg canvas: with ``margins``, a fixed layout (see
    :class:`Margins`; :func:`grid` spaces its axes by them); without, constrained layout."""
    fig = MplFigure(
        figsize=(width, height), dpi=DPI, layout=None if margins is not None else "constrained"
    )
    FigureCanvasAgg(fig)
    if margins is not None:
        fig.subplots_adjust(
            left=margins.left / width,
            right=1.0 - margins.right / width,
            top=1.0 - margins.top / height,
            bottom=margins.bottom / height,
        )
    return fig


def grid(fig: MplFigure, n: int, *, cols: int = 3, margins: Margins | None = None) -> list[Axes]:
    """``n`` axes in rows of ``cols`` (the figure should be sized for them), spaced by
    ``margins`` (those the figure was made with) if given."""
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    spacing: dict[str, float] = {}
    if margins is not None:  # wspace and hspace are fractions of an axes' width and height
        width, height = fig.get_size_inches()
        inner_w = width - margins.left - margins.right
        inner_h = height - margins.top - margins.bottom
        axes_w = (inner_w - (cols - 1) * margins.across) / cols
        axes_h = (inner_h - (rows - 1) * margins.down) / rows
        spacing = {"wspace": margins.across / axes_w, "hspace": margins.down / axes_h}
    axes = fig.subplots(rows, cols, squeeze=False, gridspec_kw=spacing).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def text_width(texts: Sequence[str], fontsize: float) -> float:
    """The width in inches of the widest of ``texts`` at ``fontsize`` in the default font
    (for a margin that must hold labels of any length)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, DPI)  # type: ignore[no-untyped-call]
    font = FontProperties(size=fontsize)
    measure = renderer.get_text_width_height_descent
    widest = max(
        (measure(t, font, ismath=False)[0] for t in texts),  # type: ignore[no-untyped-call]
        default=0.0,
    )
    return float(widest) / DPI


def dates(values: Sequence[str]) -> np.ndarray:
    """ISO date strings to a ``datetime64[D]`` array (matplotlib plots it as dates)."""
    return np.array([dt.date.fromisoformat(v) for v in values], dtype="datetime64[D]")


def date_axis(ax: Axes, *, span_years: float | None = None) -> None:
    """Year ticks on the x axis (month ticks for windows under two years).

    Fixed locators are used rather than ``AutoDateLocator``, whose rule iteration dominates
    the drawing time of small multiples.
    """
    if span_years is None:
        lo, hi = ax.get_xlim()
        span_years = (hi - lo) / 365.25
    if span_years < 2:
        ax.xaxis.set_major_locator(MonthLocator(bymonth=(1, 4, 7, 10)))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(DateFormatter("%Y-%m"))  # type: ignore[no-untyped-call]
    else:
        base = max(1, math.ceil(span_years / 6))
        ax.xaxis.set_major_locator(YearLocator(base=base))  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(DateFormatter("%Y"))  # type: ignore[no-untyped-call]


def to_png(fig: MplFigure) -> bytes:
    """Encode ``fig`` as a palette PNG without metadata that changes from run to run.

    The canvas's pixels go straight to the palette encoder: ``savefig`` would encode a
    full-colour PNG only for it to be decoded again (about a sixth of the figures' time).
    The palette is chosen by fast octree and the PNG compressed at zlib's default level:
    median cut and ``optimize=True`` took a fifth of a report's drawing time for files a
    quarter larger (issue 18).
    """
    canvas = cast(FigureCanvasAgg, fig.canvas)
    canvas.draw()  # type: ignore[no-untyped-call]
    with Image.fromarray(np.asarray(canvas.buffer_rgba())) as img:  # type: ignore[no-untyped-call]
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        out = io.BytesIO()
        small.save(out, format="png", compress_level=6)
    return out.getvalue()


def style(ax: Axes, **kw: Any) -> None:
    """Light grid and the given ``set`` properties (``xlabel``, ``ylabel``, ``title`` ...).

    The title is placed just above the axes (``y=1``): matplotlib would otherwise measure the
    tick labels of every panel to keep it clear of ticks at the top, which these charts do
    not have.
    """
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    title = kw.pop("title", None)
    ax.set(**kw)
    if title is not None:
        ax.set_title(title, y=1.0)
