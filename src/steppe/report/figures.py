"""The figures of a run's report, drawn from ``summary.json`` alone.

* :func:`probability_chart` — every probability outcome (and every time-to-event outcome's
  P(by the horizon)) as a dot with its Wilson 95% interval;
* :func:`fan_charts` — one fan chart per series: median, 50% and 90% bands, targets;
* :func:`event_curves` — P(event by date) for every event, and P(completed by date) for every
  project, with Wilson 95% bands;
* :func:`time_to_curves` — P(by 31 December) of every ``time_to`` outcome with intervals;
* :func:`histograms` — the distribution of every ``value`` outcome.

The fan charts, event curves and histograms need the ``traces`` section of the summary (see
:mod:`steppe.results.traces`); a run without traces gets the other figures only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from steppe.report._plot import (
    PALETTE,
    Figure,
    Margins,
    date_axis,
    dates,
    grid,
    new_figure,
    style,
    text_width,
    to_png,
)

__all__ = [
    "event_curves",
    "fan_charts",
    "histograms",
    "probability_chart",
    "run_figures",
    "time_to_curves",
]

_PANEL_W, _PANEL_H = 3.3, 2.4
# Fixed layouts (no layout engine, see steppe.report._plot.Margins), in inches: a single
# chart; small multiples under a figure title (each panel has its own title and tick
# labels; histograms have x labels too).
_CHART = Margins(left=0.85, right=0.3, top=0.35, bottom=0.55)
_PANELS = Margins(left=0.75, right=0.3, top=0.65, bottom=0.4, across=0.85, down=0.65)
_PANELS_XLABEL = Margins(left=0.75, right=0.3, top=0.65, bottom=0.6, across=0.85, down=0.8)


def _label(name: str, o: dict[str, Any], horizon: str) -> str:
    return f"{name} (by {o.get('date', horizon)})"


def probability_rows(summary: dict[str, Any]) -> list[tuple[str, float, list[float]]]:
    """``(label, p, [low, high])`` of every probability and every time-to-event by the horizon."""
    horizon = summary["horizon"]
    rows = []
    for name, o in summary["outcomes"].items():
        if o["kind"] == "probability":
            rows.append((_label(name, o, horizon), o["p"], o["ci95"]))
        elif o["kind"] == "time_to_event":
            rows.append((f"{name} (by {horizon})", o["p_by"][horizon], o["p_by_ci95"][horizon]))
    return rows


def probability_chart(summary: dict[str, Any]) -> Figure | None:
    """Dots with Wilson 95% intervals for the probabilities of the outcomes."""
    rows = probability_rows(summary)
    if not rows:
        return None
    labels = [r[0] for r in rows]
    margins = Margins(left=text_width(labels, 7) + 0.2, right=0.25, top=0.35, bottom=0.5)
    fig = new_figure(8.0, 0.8 + 0.27 * len(rows), margins=margins)
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    p = np.array([r[1] for r in rows])
    lo = np.array([r[2][0] for r in rows])
    hi = np.array([r[2][1] for r in rows])
    ax.errorbar(p, y, xerr=[p - lo, hi - p], fmt="o", color=PALETTE[0], ms=4, capsize=2)
    ax.set_yticks(y, labels, fontsize=7)
    style(
        ax,
        xlim=(0, 1),
        xlabel="probability",
        title=f"{summary['scenario']}: probabilities with 95% intervals",
    )
    ax.title.set_fontsize(9)
    return Figure(
        "probabilities",
        "Probabilities",
        "Each probability outcome (and each time-to-event outcome's probability of happening "
        "by the horizon) with its Wilson 95% interval; "
        f"{summary['replications']:,} replications.",
        to_png(fig),
    )


def fan_charts(summary: dict[str, Any], *, only: str | None = None) -> list[Figure]:
    """One fan chart per traced series (or of the series ``only``): median, 50% and 90%
    bands, targets dashed."""
    traces = summary.get("traces") or {}
    out = []
    for i, (name, tr) in enumerate(traces.get("series", {}).items()):
        if only is not None and name != only:
            continue
        x = dates(tr["dates"])
        q = {k: np.array(v, dtype=float) for k, v in tr["quantiles"].items()}
        colour = PALETTE[i % len(PALETTE)]
        fig = new_figure(6.4, 3.4, margins=_CHART)
        ax = fig.add_subplot()
        ax.fill_between(x, q["0.05"], q["0.95"], color=colour, alpha=0.18, label="90% of runs")
        ax.fill_between(x, q["0.25"], q["0.75"], color=colour, alpha=0.38, label="50% of runs")
        ax.plot(x, q["0.5"], color=colour, lw=1.8, label="median")
        for t in tr.get("targets", []):
            ax.axhline(t["value"], color="#333333", ls="--", lw=1.0, label=t["label"])
        unit = tr.get("unit") or "value"
        title = tr.get("title") or name
        style(ax, xlabel="date", ylabel=unit, title=f"{summary['scenario']}: {title} ({name})")
        ax.title.set_fontsize(9)
        date_axis(ax)
        ax.legend(fontsize=7, loc="upper left")
        err = _relative_error(tr)
        out.append(
            Figure(
                f"series_{name}",
                f"Series {name}" + (f" ({tr['unit']})" if tr.get("unit") else ""),
                f"{title}: median, middle 50% and middle 90% of {traces['sample']:,} "
                f"replications at each date (value at the start of the day, i.e. at the latest "
                f"step of the series). Monte Carlo error: the order-statistic 95% intervals of "
                f"the plotted quantiles are within {err} of them."
                + (" Dashed: targets." if tr.get("targets") else ""),
                to_png(fig),
            )
        )
    return out


def _relative_error(tr: dict[str, Any]) -> str:
    """The largest half-width of the plotted quantiles' intervals, relative to the quantile."""
    worst = 0.0
    for key, cis in tr["quantiles_ci95"].items():
        for v, lo, hi in zip(tr["quantiles"][key], cis["low"], cis["high"], strict=True):
            if v and math.isfinite(v) and lo is not None and hi is not None:
                worst = max(worst, (hi - lo) / 2 / abs(v))
    return f"±{100 * worst:.1f}%"


def upper(values: Any) -> float:
    """A round top for a probability axis: 1, or a multiple of 0.05 above small values."""
    top = float(np.nanmax(values)) if np.size(values) else 1.0
    return 1.0 if top > 0.6 else max(0.05, math.ceil(top * 1.15 / 0.05) * 0.05)


def event_curves(summary: dict[str, Any], *, only: str | None = None) -> list[Figure]:
    """P(by date) of every event and P(completed by date) of every project, with bands
    (``only="event"`` or ``"project"``: that figure alone)."""
    traces = summary.get("traces") or {}
    out = []
    groups = (
        ("event", "events", "Events: P(first occurrence by date)", "first occurrence"),
        ("project", "projects", "Projects: P(completed by date)", "completed"),
    )
    for kind, stem, heading, what in groups:
        if only is not None and kind != only:
            continue
        items = {k: v for k, v in traces.get("events", {}).items() if v["kind"] == kind}
        shown = {k: v for k, v in items.items() if v["p_by"][0] < 1.0}
        before = sorted(set(items) - set(shown))
        if not shown:
            continue
        fig = new_figure(
            _PANEL_W * min(3, len(shown)),
            0.5 + _PANEL_H * math.ceil(len(shown) / 3),
            margins=_PANELS,
        )
        panels = grid(fig, len(shown), margins=_PANELS)
        for ax, (name, ev) in zip(panels, shown.items(), strict=True):
            x = dates(ev["dates"])
            lo, hi = ev["ci95"]["low"], ev["ci95"]["high"]
            ax.fill_between(x, lo, hi, color=PALETTE[0], alpha=0.3, lw=0)
            ax.plot(x, ev["p_by"], color=PALETTE[0], lw=1.5)
            style(ax, ylim=(0, upper(hi)), ylabel=f"P({what} by date)", title=name)
            ax.title.set_fontsize(8)
            date_axis(ax)
        fig.suptitle(f"{summary['scenario']}: {heading}", fontsize=9)
        note = (
            f" Omitted because they had already happened before the start: {', '.join(before)}."
            if before
            else ""
        )
        out.append(
            Figure(
                stem,
                heading,
                f"Share of {traces['sample']:,} replications in which each {kind} has "
                f"{'occurred at least once' if kind == 'event' else 'been completed'} by each "
                "date (month ends); the band is the Wilson 95% interval at each date." + note,
                to_png(fig),
            )
        )
    return out


def time_to_curves(summary: dict[str, Any]) -> Figure | None:
    """P(by each 31 December) of every time-to-event outcome, with Wilson 95% intervals."""
    items = {k: o for k, o in summary["outcomes"].items() if o["kind"] == "time_to_event"}
    if not items:
        return None
    fig = new_figure(
        _PANEL_W * min(3, len(items)), 0.5 + _PANEL_H * math.ceil(len(items) / 3), margins=_PANELS
    )
    for ax, (name, o) in zip(grid(fig, len(items), margins=_PANELS), items.items(), strict=True):
        x = dates(list(o["p_by"]))
        p = np.array(list(o["p_by"].values()), dtype=float)
        ci = np.array(list(o["p_by_ci95"].values()), dtype=float)
        ax.errorbar(
            x,
            p,
            yerr=[p - ci[:, 0], ci[:, 1] - p],
            fmt="o-",
            ms=3,
            capsize=2,
            color=PALETTE[1],
            lw=1,
        )
        style(ax, ylim=(0, upper(ci[:, 1])), ylabel="P(by date)", title=name)
        ax.title.set_fontsize(8)
        date_axis(ax)
    fig.suptitle(f"{summary['scenario']}: time-to-event outcomes, P(by date)", fontsize=9)
    return Figure(
        "time_to",
        "Time-to-event outcomes",
        "Probability that each time-to-event outcome's condition has held by each 31 December "
        "and by the horizon, with Wilson 95% intervals.",
        to_png(fig),
    )


def histograms(summary: dict[str, Any]) -> Figure | None:
    """Histograms of the value outcomes, with the median and the 5%-95% range marked."""
    hists = (summary.get("traces") or {}).get("histograms", {})
    items = {k: h for k, h in hists.items() if k in summary["outcomes"]}
    if not items:
        return None
    fig = new_figure(
        _PANEL_W * min(3, len(items)),
        0.5 + _PANEL_H * math.ceil(len(items) / 3),
        margins=_PANELS_XLABEL,
    )
    for ax, (name, h) in zip(
        grid(fig, len(items), margins=_PANELS_XLABEL), items.items(), strict=True
    ):
        o = summary["outcomes"][name]
        edges = np.array(h["edges"], dtype=float)
        share = np.array(h["counts"], dtype=float) / max(1, h["n"])
        ax.bar(
            edges[:-1],
            share,
            width=np.diff(edges),
            align="edge",
            color=PALETTE[2],
            alpha=0.75,
            edgecolor="white",
            lw=0.3,
        )
        q = o["quantiles"]
        ax.axvline(q["0.5"], color="#333333", lw=1.2)
        for key in ("0.05", "0.95"):
            ax.axvline(q[key], color="#333333", lw=0.8, ls=":")
        style(ax, xlabel=o.get("unit") or "value", ylabel="share of runs", title=name)
        ax.title.set_fontsize(8)
    fig.suptitle(f"{summary['scenario']}: distributions of value outcomes", fontsize=9)
    return Figure(
        "distributions",
        "Distributions",
        "Share of replications in each bin (the last bin also holds the values above the 99.5% "
        "quantile); solid line: median, dotted: 5% and 95% quantiles (their order-statistic "
        "95% intervals are in the outcome table).",
        to_png(fig),
    )


def run_figures(summary: dict[str, Any]) -> list[Figure]:
    """Every figure of a run's report, in report order, drawn in this process (see
    :func:`drawing` for drawing them in worker processes)."""
    return [fig for job in figure_jobs(summary) for fig in draw_job(summary, job)]


#: A part of a report's figures that one process draws: ``(kind, key)``.
Job = tuple[str, str | None]


def figure_jobs(summary: dict[str, Any]) -> list[Job]:
    """The figures of a run's report as jobs, in report order (:func:`draw_job` draws one)."""
    traces = summary.get("traces") or {}
    return [
        ("probabilities", None),
        *(("series", name) for name in traces.get("series", {})),
        ("events", "event"),
        ("events", "project"),
        ("time_to", None),
        ("histograms", None),
    ]


def draw_job(summary: dict[str, Any], job: Job) -> list[Figure]:
    """The figures of ``job`` (none if the summary has nothing for it)."""
    kind, key = job
    if kind == "series":
        return fan_charts(summary, only=key)
    if kind == "events":
        return event_curves(summary, only=key)
    single = {
        "probabilities": probability_chart,
        "time_to": time_to_curves,
        "histograms": histograms,
    }[kind](summary)
    return [single] if single is not None else []
