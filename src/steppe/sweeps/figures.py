"""Charts of a sweep: a tornado chart and one-way curves with Monte Carlo error bands.

Importing this module selects matplotlib's non-interactive ``Agg`` backend; steppe imports
it only when it draws, never at ``import steppe``.

* **Tornado** (no sensitivity method): for each parameter, the outcome predicted at the
  parameter's low and high value by a least-squares linear fit on all design points, the
  other parameters at their mean — the bar's length is the change from low to high.
  With Sobol' indices: the total index ``ST`` with its bootstrap interval, beside ``S1``;
  with Morris: ``mu*`` with its interval.
* **One-way curves**: each outcome against each parameter, averaged over the points in each
  of the parameter's levels (grid designs) or quantile bins (random designs), with a band
  of ±1.96 times the mean standard error of those points. Under common random numbers the
  points' errors are positively correlated, and the mean of the standard errors bounds the
  standard error of their average from above (Minkowski), so the band is conservative. The
  band shows Monte Carlo error only, not the spread due to the other parameters (the grey
  dots).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after matplotlib.use: the backend must be chosen first
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from steppe.results.stats import Z95

__all__ = ["linear_effects", "oneway_figure", "png_bytes", "tornado_figure"]


def linear_effects(table: pd.DataFrame, params: Sequence[str], outcome: str) -> pd.DataFrame:
    """Predicted outcome at each parameter's low and high, others at their mean (OLS fit)."""
    x = table[list(params)].to_numpy(dtype=float)
    y = table[outcome].to_numpy(dtype=float)
    ok = np.isfinite(y)
    mean = x.mean(axis=0)
    design = np.column_stack([np.ones(ok.sum()), x[ok] - mean])
    coef, *_ = np.linalg.lstsq(design, y[ok], rcond=None)
    low, high = x.min(axis=0), x.max(axis=0)
    at_low = coef[0] + coef[1:] * (low - mean)
    at_high = coef[0] + coef[1:] * (high - mean)
    return pd.DataFrame(
        {"low": low, "high": high, "at_low": at_low, "at_high": at_high, "centre": coef[0]},
        index=list(params),
    )


def _bins(x: np.ndarray) -> np.ndarray:
    levels = np.unique(x)
    if len(levels) <= 12:
        return np.searchsorted(levels, x)
    k = int(max(2, min(10, len(x) // 5)))
    edges = np.quantile(x, np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(edges, x, side="right")


def oneway_curve(
    table: pd.DataFrame, param: str, outcome: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, mean estimate, band half-width)`` of one outcome against one parameter."""
    frame = pd.DataFrame(
        {
            "bin": _bins(table[param].to_numpy(dtype=float)),
            "x": table[param],
            "y": table[outcome],
            "se": table[f"{outcome}_se"],
        }
    )
    g = frame.groupby("bin", sort=True)[["x", "y", "se"]].mean()
    return g["x"].to_numpy(), g["y"].to_numpy(), Z95 * g["se"].to_numpy()


def tornado_figure(
    table: pd.DataFrame,
    params: Sequence[str],
    outcomes: Sequence[str],
    labels: dict[str, str],
    indices: pd.DataFrame | None = None,
    method: str | None = None,
) -> Figure:
    """One panel per outcome; see the module docstring."""
    rows = len(outcomes)
    fig, axes = plt.subplots(
        rows, 1, figsize=(7.5, 0.6 + rows * (0.5 + 0.35 * len(params))), squeeze=False
    )
    for ax, o in zip(axes[:, 0], outcomes, strict=True):
        if indices is not None and method == "sobol":
            t = indices[indices["outcome"] == o].set_index("parameter").loc[list(params)]
            t = t.sort_values("ST")
            pos = np.arange(len(t))
            err = np.abs(np.vstack([t["ST"] - t["ST_low"], t["ST_high"] - t["ST"]]))
            ax.barh(pos + 0.2, t["ST"], height=0.4, xerr=err, color="#c0504d", label="total ST")
            ax.barh(pos - 0.2, t["S1"], height=0.4, color="#4f81bd", label="first-order S1")
            ax.set_yticks(pos, list(t.index))
            ax.set_xlabel(f"Sobol' index of {o}")
            ax.legend(fontsize="small", loc="lower right")
        elif indices is not None and method == "morris":
            t = indices[indices["outcome"] == o].set_index("parameter").loc[list(params)]
            t = t.sort_values("mu_star")
            pos = np.arange(len(t))
            ax.barh(pos, t["mu_star"], xerr=t["mu_star_conf"], color="#4f81bd")
            ax.set_yticks(pos, list(t.index))
            ax.set_xlabel(f"Morris mu* of {o} (elementary effect, per unit range)")
        else:
            eff = linear_effects(table, params, o)
            eff = eff.reindex((eff["at_high"] - eff["at_low"]).abs().sort_values().index)
            pos = np.arange(len(eff))
            left = np.minimum(eff["at_low"], eff["at_high"])
            width = (eff["at_high"] - eff["at_low"]).abs()
            colors = [
                "#4f81bd" if h >= lo else "#c0504d"
                for lo, h in zip(eff["at_low"], eff["at_high"], strict=True)
            ]
            ax.barh(pos, width, left=left, color=colors)
            ax.axvline(float(eff["centre"].iloc[0]), color="k", lw=0.8)
            ax.set_yticks(
                pos, [f"{p}  [{eff.loc[p, 'low']:g}, {eff.loc[p, 'high']:g}]" for p in eff.index]
            )
            ax.set_xlabel(f"{o} ({labels.get(o, '')}): low → high (blue: rises)")
    fig.tight_layout()
    return fig


def oneway_figure(
    table: pd.DataFrame, params: Sequence[str], outcomes: Sequence[str], labels: dict[str, str]
) -> Figure:
    """A grid of panels, outcomes down and parameters across; see the module docstring."""
    rows, cols = len(outcomes), len(params)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.4 * cols + 0.6, 2.6 * rows + 0.4), squeeze=False
    )
    for r, o in enumerate(outcomes):
        for c, p in enumerate(params):
            ax = axes[r, c]
            ax.scatter(table[p], table[o], s=6, color="0.75", zorder=1)
            x, y, half = oneway_curve(table, p, o)
            ax.fill_between(x, y - half, y + half, color="#4f81bd", alpha=0.3, zorder=2)
            ax.plot(x, y, color="#1f3d7a", marker="o", ms=3, zorder=3)
            if r == rows - 1:
                ax.set_xlabel(p)
            if c == 0:
                ax.set_ylabel(f"{o}\n{labels.get(o, '')}", fontsize="small")
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (and closed)."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    finally:
        plt.close(fig)
    return buf.getvalue()
