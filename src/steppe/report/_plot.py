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

__all__ = ["DPI", "PALETTE", "Figure", "date_axis", "dates", "grid", "new_figure", "to_png"]

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


def new_figure(width: float, height: float) -> MplFigure:
    """A figure on its own Agg canvas, with constrained layout."""
    fig = MplFigure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def grid(fig: MplFigure, n: int, *, cols: int = 3) -> list[Axes]:
    """``n`` axes in rows of ``cols`` (the figure should be sized for them)."""
    cols = max(1, min(cols, n))
    rows = math.ceil(n / cols)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


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
    """
    canvas = cast(FigureCanvasAgg, fig.canvas)
    canvas.draw()  # type: ignore[no-untyped-call]
    with Image.fromarray(np.asarray(canvas.buffer_rgba())) as img:  # type: ignore[no-untyped-call]
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        out = io.BytesIO()
        small.save(out, format="png", optimize=True)
    return out.getvalue()


def style(ax: Axes, **kw: Any) -> None:
    """Light grid and the given ``set`` properties (``xlabel``, ``ylabel``, ``title`` ...)."""
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set(**kw)
