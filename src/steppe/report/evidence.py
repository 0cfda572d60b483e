"""The report's section on a run conditioned on evidence: the observations, the weight
diagnostic, what the evidence taught (outcomes and assumptions, prior beside posterior),
the parameters' prior and posterior densities, and the series' prior and posterior fans
with the observations drawn on them. Drawn from ``summary.json`` alone."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from steppe.evidence.display import count, khat_text
from steppe.report._plot import PALETTE, Figure, date_axis, dates, grid, new_figure, style, to_png
from steppe.report.document import Section, Table, fmt

__all__ = ["evidence_section"]

_GREY = "#8c8c8c"


def evidence_section(summary: dict[str, Any]) -> Section | None:
    """The section, or ``None`` for a run without evidence."""
    ev = summary.get("evidence")
    if ev is None:
        return None
    resampled = ", ".join(f"{r['date']} (ESS {r['ess']:,.0f})" for r in ev["resamplings"])
    paragraphs = [
        f"This forecast is conditioned on {count(len(ev['items']), 'observation')} made up to "
        f"{ev['as_of']}, by sequential importance sampling (docs/engine.md section 10). "
        f"Effective sample size: {ev['ess']:,.0f} of {summary['replications']:,} "
        f"replications; {khat_text(ev)}; "
        f"{ev['distinct_origins']:,} distinct parameter draws carry weight. {ev['message']}",
        "Resampled at: " + (resampled or "never") + ". The estimates above are weighted; "
        "the figures show an equally weighted resample of the particles. The prior is the "
        "same scenario run from its start without the evidence, with the same seed.",
    ]
    items = Table(
        ("#", "observation", "source"),
        [(str(i["item"]), i["observation"], i.get("source") or "") for i in ev["items"]],
        caption="Only these observations are conditioned on: an event not listed may or may "
        "not have happened, as the model says.",
    )
    outcomes = Table(
        ("outcome", "statistic", "prior", "posterior", "change", "2 s.e. of change"),
        [_taught_row(name, t) for name, t in summary["taught"].items()],
        caption="What the evidence taught: each outcome without the evidence (prior) and with "
        "it (posterior). The change's Monte Carlo error combines both runs'.",
        numeric=frozenset({2, 3, 4, 5}),
    )
    params = Table(
        ("parameter", "prior median [5%, 95%]", "posterior median [5%, 95%]", "shift (prior sd)"),
        [
            (name, _spread(p["prior"]), _spread(p["posterior"]), f"{p['shift']:+.2f}")
            for name, p in summary["posterior"].items()
        ],
        caption="What the evidence taught about the assumptions: shift is the change of the "
        "mean in prior standard deviations.",
        numeric=frozenset({3}),
    )
    figures = [f for f in (density_figure(summary), *fan_figures(summary)) if f is not None]
    return Section(
        "Evidence: what it taught", paragraphs, tables=[items, outcomes, params], figures=figures
    )


def _taught_row(name: str, t: dict[str, Any]) -> tuple[str, ...]:
    change = ("+" if t["change"] >= 0 else "") + fmt(t["change"])
    post = fmt(t["prior"] + t["change"])
    return (name, t["statistic"], fmt(t["prior"]), post, change, fmt(2 * t["change_se"]))


def _spread(body: dict[str, Any]) -> str:
    q = body["quantiles"]
    return f"{fmt(q['0.5'])} [{fmt(q['0.05'])}, {fmt(q['0.95'])}]"


def density_figure(summary: dict[str, Any]) -> Figure | None:
    """Each uncertain parameter's prior (grey) and posterior (colour) density."""
    shown = {k: v for k, v in summary["posterior"].items() if "density" in v}
    if not shown:
        return None
    fig = new_figure(3.3 * min(3, len(shown)), 0.5 + 2.2 * math.ceil(len(shown) / 3))
    for ax, (name, p) in zip(grid(fig, len(shown)), shown.items(), strict=True):
        d = p["density"]
        edges = np.asarray(d["edges"])
        ax.stairs(d["prior"], edges, color=_GREY, lw=1.2, label="prior")
        ax.stairs(d["posterior"], edges, color=PALETTE[0], lw=1.6, label="posterior")
        style(ax, title=name)
        ax.title.set_fontsize(8)
        ax.set_yticks([])
    fig.axes[0].legend(fontsize=7)
    fig.suptitle(f"{summary['scenario']}: assumptions before and after the evidence", fontsize=9)
    return Figure(
        "evidence_parameters",
        "Assumptions: prior and posterior",
        "Histogram densities on 40 bins: grey, the parameter's draws in the run without the "
        "evidence; blue, the same draws weighted by the evidence (the posterior).",
        to_png(fig),
    )


def fan_figures(summary: dict[str, Any]) -> list[Figure]:
    """One figure per series: the prior fan (grey) and the posterior fan (colour), with the
    series' observations (a level as a point with its 95% error bar or bound; a total as
    the average annual rate it implies over its period)."""
    post = (summary.get("traces") or {}).get("series", {})
    prior = ((summary.get("prior") or {}).get("traces") or {}).get("series", {})
    out = []
    for name, tr in post.items():
        if name not in prior:
            continue
        fig = new_figure(6.4, 3.4)
        ax = fig.add_subplot()
        for fan, colour, label in ((prior[name], _GREY, "prior"), (tr, PALETTE[0], "posterior")):
            x = dates(fan["dates"])
            q = {k: np.array(v, dtype=float) for k, v in fan["quantiles"].items()}
            ax.fill_between(x, q["0.05"], q["0.95"], color=colour, alpha=0.18, lw=0)
            ax.plot(x, q["0.5"], color=colour, lw=1.6, label=f"{label} median (90% band)")
        _observations(ax, summary, name)
        unit = tr.get("unit") or "value"
        style(ax, xlabel="date", ylabel=unit, title=f"{summary['scenario']}: {name}")
        ax.title.set_fontsize(9)
        date_axis(ax)
        ax.legend(fontsize=7, loc="upper left")
        out.append(
            Figure(
                f"evidence_series_{name}",
                f"Series {name}: before and after the evidence",
                "Median and middle 90% of the replications at each date, without the evidence "
                "(grey) and with it (blue). Black: the observations (a level with its 95% "
                "error bar, a bound as a triangle, a total over a period as the average "
                "annual rate it implies, drawn over that period).",
                to_png(fig),
            )
        )
    return out


def _observations(ax: Any, summary: dict[str, Any], series: str) -> None:
    for item in summary["evidence"]["items"]:
        if item["type"] != "SeriesObserved" or item["series"] != series:
            continue
        first = dt.date.fromisoformat(item["first"])
        if item.get("last"):
            last = dt.date.fromisoformat(item["last"])
            years = (last - first).days / 365.25
            scale = 1.0 / years
        else:
            last, scale = first, 1.0
        value = item.get("value")
        if value is not None:
            v = value * scale
            sig = item.get("sigma") or 0.0
            lo, hi = v * math.exp(-1.96 * sig), v * math.exp(1.96 * sig)
            mid = first + (last - first) / 2
            ax.errorbar([mid], [v], yerr=[[v - lo], [hi - v]], fmt="o", color="black", ms=4)
            if last != first:
                ax.plot([first, last], [v, v], color="black", lw=1.2)
        for key, marker in (("at_least", "^"), ("at_most", "v")):
            if item.get(key) is not None:
                ax.plot([first], [item[key] * scale], marker=marker, color="black", ms=6)
