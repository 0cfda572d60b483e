"""Figures of a comparison: the scenarios drawn over each other, from their summaries.

* :func:`probabilities_overlay` — every probability (and P(by horizon)) per scenario, side by
  side with its 95% interval;
* :func:`differences_chart` — each scenario's difference from the first with its 95%
  interval (filled: beyond Monte Carlo noise);
* :func:`series_overlay` — per series, each scenario's median and 50% band, 90% as lines;
* :func:`event_overlay` — P(event by date) of every event and project, one line and band per
  scenario;
* :func:`distribution_overlay` — histograms of every value outcome, one outline per scenario.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from steppe.report._plot import PALETTE, Figure, date_axis, dates, grid, new_figure, style, to_png
from steppe.report.figures import upper

if TYPE_CHECKING:
    from steppe.analysis.compare import Comparison

__all__ = ["comparison_figures"]

_PANEL_W, _PANEL_H = 3.3, 2.4


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def _title(cmp: Comparison) -> str:
    return " vs ".join(cmp.scenarios)


def probabilities_overlay(cmp: Comparison) -> Figure | None:
    """Each probability-type outcome per scenario with its 95% interval."""
    rows = [o for o in cmp.outcomes if o.kind != "distribution"]
    if not rows:
        return None
    k = len(cmp.scenarios)
    fig = new_figure(8.0, 1.0 + 0.14 * k * len(rows) + 0.1 * len(rows))
    ax = fig.add_subplot()
    base = np.arange(len(rows))[::-1] * (k + 1) * 0.3
    for j, name in enumerate(cmp.scenarios):
        y = base - j * 0.3 + (k - 1) * 0.15
        p = np.array([o.estimates[j].value for o in rows])
        lo = np.array([o.estimates[j].ci95[0] for o in rows])
        hi = np.array([o.estimates[j].ci95[1] for o in rows])
        ax.errorbar(
            p, y, xerr=[p - lo, hi - p], fmt="o", ms=3.5, capsize=2, color=_colour(j), label=name
        )
    ax.set_yticks(base, [f"{o.outcome} ({o.statistic})" for o in rows], fontsize=7)
    style(ax, xlim=(0, 1), xlabel="probability", title=f"{_title(cmp)}: probabilities")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="lower right")
    return Figure(
        "probabilities",
        "Probabilities side by side",
        "Each scenario's estimate with its own 95% interval (Wilson). Whether two scenarios "
        "differ is judged from the interval of the difference (next figure), which under "
        "common random numbers is narrower than these suggest.",
        to_png(fig),
    )


def differences_chart(cmp: Comparison) -> Figure | None:
    """Differences from the first scenario for probability-type outcomes, with intervals."""
    rows = [o for o in cmp.outcomes if o.kind != "distribution"]
    if not rows or len(cmp.scenarios) < 2:
        return None
    k = len(cmp.scenarios) - 1
    fig = new_figure(8.0, 1.0 + 0.16 * k * len(rows) + 0.1 * len(rows))
    ax = fig.add_subplot()
    base = np.arange(len(rows))[::-1] * (k + 1) * 0.3
    for j, name in enumerate(cmp.scenarios[1:], start=1):
        y = base - (j - 1) * 0.3 + (k - 1) * 0.15
        for yi, o in zip(y, rows, strict=True):
            d = o.differences[j]
            assert d is not None
            ax.errorbar(
                [d.value],
                [yi],
                xerr=[[d.value - d.ci95[0]], [d.ci95[1] - d.value]],
                fmt="o",
                ms=4,
                capsize=2,
                color=_colour(j),
                mfc=_colour(j) if d.beyond_noise else "white",
            )
        ax.plot([], [], "o", color=_colour(j), label=f"{name} - {cmp.scenarios[0]}")
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks(base, [f"{o.outcome} ({o.statistic})" for o in rows], fontsize=7)
    style(
        ax,
        xlabel=f"difference in probability from {cmp.scenarios[0]}",
        title=f"{_title(cmp)}: differences with 95% intervals",
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="lower right")
    kind = "paired (common random numbers)" if cmp.crn else "independent"
    return Figure(
        "differences",
        "Differences from the first scenario",
        f"Difference of each probability from {cmp.scenarios[0]}'s with its {kind} 95% "
        "interval; filled markers: the interval excludes 0 (beyond Monte Carlo noise).",
        to_png(fig),
    )


def series_overlay(cmp: Comparison) -> list[Figure]:
    """Per series: each scenario's median, 50% band and 90% range (dotted)."""
    traced = [s.get("traces") or {} for s in cmp.summaries]
    names = [
        n for n in traced[0].get("series", {}) if all(n in t.get("series", {}) for t in traced)
    ]
    out = []
    for name in names:
        fig = new_figure(6.4, 3.4)
        ax = fig.add_subplot()
        unit = ""
        for j, (label, t) in enumerate(zip(cmp.scenarios, traced, strict=True)):
            tr = t["series"][name]
            unit = tr.get("unit") or unit
            x = dates(tr["dates"])
            q = {k: np.array(v, dtype=float) for k, v in tr["quantiles"].items()}
            c = _colour(j)
            ax.fill_between(x, q["0.25"], q["0.75"], color=c, alpha=0.25, lw=0)
            ax.plot(x, q["0.5"], color=c, lw=1.8, label=f"{label}: median, 50% band")
            ax.plot(x, q["0.05"], color=c, lw=0.8, ls=":")
            ax.plot(x, q["0.95"], color=c, lw=0.8, ls=":")
        for tgt in traced[0]["series"][name].get("targets", []):
            ax.axhline(tgt["value"], color="#333333", ls="--", lw=1.0, label=tgt["label"])
        style(ax, xlabel="date", ylabel=unit or "value", title=f"{_title(cmp)}: {name}")
        ax.title.set_fontsize(9)
        date_axis(ax)
        ax.legend(fontsize=7, loc="upper left")
        out.append(
            Figure(
                f"series_{name}",
                f"Series {name}" + (f" ({unit})" if unit else ""),
                "Median (line) and middle 50% (band) of each scenario's replications at each "
                "date; dotted: 5% and 95% quantiles. Dashed: targets.",
                to_png(fig),
            )
        )
    return out


def event_overlay(cmp: Comparison) -> list[Figure]:
    """P(by date) of every event (and project completion), one line and band per scenario."""
    traced = [(s.get("traces") or {}).get("events", {}) for s in cmp.summaries]
    out = []
    for kind, stem, heading in (
        ("event", "events", "Events: P(first occurrence by date)"),
        ("project", "projects", "Projects: P(completed by date)"),
    ):
        names = [
            n
            for n, ev in traced[0].items()
            if ev["kind"] == kind
            and all(n in t for t in traced)
            and any(t[n]["p_by"][0] < 1.0 for t in traced)
        ]
        if not names:
            continue
        fig = new_figure(_PANEL_W * min(3, len(names)), 0.8 + _PANEL_H * math.ceil(len(names) / 3))
        for ax, name in zip(grid(fig, len(names)), names, strict=True):
            top = 0.0
            for j, t in enumerate(traced):
                ev = t[name]
                x = dates(ev["dates"])
                ax.fill_between(
                    x, ev["ci95"]["low"], ev["ci95"]["high"], color=_colour(j), alpha=0.25, lw=0
                )
                ax.plot(x, ev["p_by"], color=_colour(j), lw=1.4, label=cmp.scenarios[j])
                top = max(top, max(ev["ci95"]["high"]))
            style(ax, ylim=(0, upper([top])), ylabel="P(by date)", title=name)
            ax.title.set_fontsize(8)
            date_axis(ax)
        fig.legend(
            *ax.get_legend_handles_labels(),
            loc="outside lower center",
            ncols=len(cmp.scenarios),
            fontsize=7,
        )
        fig.suptitle(f"{_title(cmp)}: {heading}", fontsize=9)
        out.append(
            Figure(
                stem,
                heading,
                "One line per scenario with its Wilson 95% band at each date.",
                to_png(fig),
            )
        )
    return out


def distribution_overlay(cmp: Comparison) -> Figure | None:
    """Histograms of the value outcomes, one outline per scenario."""
    hists = [(s.get("traces") or {}).get("histograms", {}) for s in cmp.summaries]
    names = [
        o.outcome
        for o in cmp.outcomes
        if o.kind == "distribution" and all(o.outcome in h for h in hists)
    ]
    if not names:
        return None
    fig = new_figure(_PANEL_W * min(3, len(names)), 0.8 + _PANEL_H * math.ceil(len(names) / 3))
    units = {o.outcome: o.unit for o in cmp.outcomes}
    for ax, name in zip(grid(fig, len(names)), names, strict=True):
        for j, h in enumerate(hists):
            share = np.array(h[name]["counts"], dtype=float) / max(1, h[name]["n"])
            width = np.diff(np.array(h[name]["edges"], dtype=float))
            ax.stairs(
                share / width, h[name]["edges"], color=_colour(j), lw=1.3, label=cmp.scenarios[j]
            )
        style(ax, xlabel=units.get(name) or "value", ylabel="density", title=name)
        ax.title.set_fontsize(8)
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="outside lower center",
        ncols=len(cmp.scenarios),
        fontsize=7,
    )
    fig.suptitle(f"{_title(cmp)}: distributions of value outcomes", fontsize=9)
    return Figure(
        "distributions",
        "Distributions",
        "Histogram outlines (share of replications per unit of the outcome) of each scenario; "
        "the outcome table gives the means with their intervals.",
        to_png(fig),
    )


def comparison_figures(cmp: Comparison) -> list[Figure]:
    """Every figure of a comparison report, in report order."""
    out: list[Figure] = []
    for f in (probabilities_overlay(cmp), differences_chart(cmp)):
        if f is not None:
            out.append(f)
    out += series_overlay(cmp)
    out += event_overlay(cmp)
    dist = distribution_overlay(cmp)
    if dist is not None:
        out.append(dist)
    return out
