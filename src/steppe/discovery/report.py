"""The discovery folder: ``discovery.json``, ``report.html``, ``report.md`` and ``figures/``.

Figures:

* the peeling trajectory: coverage against density of every box, coloured by the number of
  restricted parameters, with the chosen box and its pasted form marked;
* the box: for each restricted parameter, its limits within the parameter's range over the
  cases, with the quasi-p-value of each limit;
* the cases on the box's two most restricted parameters (for a box on two or more), the
  box drawn on them.

The folder is built under a temporary name and swapped into place, with the marker of a
``discovery`` folder (:mod:`steppe.results.folders`), as the run, comparison and score
folders are. This module imports matplotlib: only ``steppe discover`` and
:meth:`~steppe.discovery.Discovery.write` load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.patches import Rectangle

from steppe.report._plot import PALETTE, Figure, new_figure, style, to_png
from steppe.report.build import write_document
from steppe.report.document import Document, Section, Table
from steppe.results.folders import MARKER, OUT_HINT, check_replaceable, marker_text, resolve_out
from steppe.results.io import replace_folder, write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from steppe.discovery.api import Discovery

__all__ = ["DISCOVERY", "discovery_document", "write_discovery"]

DISCOVERY = "discovery.json"


def _qp(q: float | None) -> str:
    if q is None:
        return ""
    text = f"{q:.2g}" if q >= 1e-4 else "<0.0001"
    return text + (" *" if q > 0.05 else "")


def _num(v: float | None) -> str:
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def trajectory_figure(d: Discovery) -> Figure:
    """Coverage against density along the peeling trajectory."""
    fig = new_figure(5.6, 4.2)
    ax = fig.add_subplot()
    cov = np.array([b.coverage for b in d.trajectory])
    den = np.array([b.density for b in d.trajectory])
    res = np.array([b.res_dim for b in d.trajectory])
    ax.plot(cov, den, color="#bbbbbb", lw=0.8, zorder=1)
    dots = ax.scatter(cov, den, c=res, cmap="viridis", s=18, zorder=2)
    fig.colorbar(dots, ax=ax, label="restricted parameters")
    c = d.trajectory[d.chosen]
    ax.scatter([c.coverage], [c.density], s=140, facecolors="none", edgecolors=PALETTE[1],
               linewidths=2, zorder=3, label=f"chosen: box {d.chosen}")  # fmt: skip
    if d.pasted:
        ax.scatter([d.box.coverage], [d.box.density], marker="*", s=120, color=PALETTE[1],
                   zorder=3, label="after pasting")  # fmt: skip
    thr = d.settings.get("threshold")
    if thr is not None:
        ax.axhline(thr, color="#888888", ls="--", lw=0.8, label=f"threshold {thr:g}")
    style(ax, xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="coverage", ylabel="density",
          title="PRIM peeling trajectory")  # fmt: skip
    ax.legend(fontsize=7, loc="lower left")
    return Figure(
        "trajectory",
        "Peeling trajectory",
        "Each dot is a box of PRIM's peeling, from the box of all cases (right: coverage 1, "
        "density = the outcome's overall share) to the smallest (left). Coverage: the share "
        "of all cases of interest inside the box; density: the share of the box's cases that "
        f"are of interest. Circled: the chosen box ({d.rule}).",
        to_png(fig),
    )


def box_figure(d: Discovery) -> Figure | None:
    """The box's limits on each restricted parameter, within its range over the cases."""
    if not d.limits:
        return None
    k = len(d.limits)
    fig = new_figure(6.4, 0.9 + 0.55 * k)
    ax = fig.add_subplot()
    for i, lim in enumerate(reversed(d.limits)):
        span = (lim.data_max - lim.data_min) or 1.0
        lo = 0.0 if lim.lower is None else (lim.lower - lim.data_min) / span
        hi = 1.0 if lim.upper is None else (lim.upper - lim.data_min) / span
        ax.plot([0, 1], [i, i], color="#cccccc", lw=6, solid_capstyle="butt")
        ax.plot([lo, hi], [i, i], color=PALETTE[0], lw=6, solid_capstyle="butt")
        ax.text(-0.02, i, _num(lim.data_min), ha="right", va="center", fontsize=7)
        ax.text(1.02, i, _num(lim.data_max), ha="left", va="center", fontsize=7)
        for side, x, q in ((lim.lower, lo, lim.qp_lower), (lim.upper, hi, lim.qp_upper)):
            if side is not None:
                ax.text(x, i + 0.22, f"{_num(side)} (qp {_qp(q)})", ha="center", fontsize=7)
    ax.set_yticks(range(k), [lim.name for lim in reversed(d.limits)], fontsize=8)
    ax.set_xticks([])
    ax.set_xlim(-0.25, 1.25)
    ax.set_ylim(-0.6, k - 0.3)
    ax.set_title("The box on each restricted parameter", fontsize=10)
    return Figure(
        "box",
        "The box",
        "Grey: each restricted parameter's range over the cases; blue: the box's range. "
        "Each limit is labelled with its value and its quasi-p-value (one-sided binomial "
        "test of the box's density against the density with that limit removed; Bryant and "
        "Lempert 2010): above 0.05 the limit adds little.",
        to_png(fig),
    )


def scatter_figure(d: Discovery) -> Figure | None:
    """The cases on the box's first two restricted parameters, with the box."""
    x, y = d.x, d.y
    if len(d.limits) < 2:
        return None
    a, b = (d.parameters.index(lim.name) for lim in d.limits[:2])
    # at most 4,000 points, evenly spaced over the cases (the same figure every time)
    idx = np.unique(np.linspace(0, len(y) - 1, min(len(y), 4000)).astype(int))
    fig = new_figure(5.2, 4.4)
    ax = fig.add_subplot()
    yes = y[idx].astype(bool)
    ax.scatter(x[idx][~yes, a], x[idx][~yes, b], s=4, color="#bbbbbb", label="not of interest")
    ax.scatter(x[idx][yes, a], x[idx][yes, b], s=4, color=PALETTE[0], label="of interest")
    lo, hi = d.box.lower, d.box.upper
    ax.add_patch(
        Rectangle((lo[a], lo[b]), hi[a] - lo[a], hi[b] - lo[b], fill=False, ec=PALETTE[1], lw=2)
    )
    style(ax, xlabel=d.parameters[a], ylabel=d.parameters[b], title="Cases and the box")
    ax.legend(fontsize=7, loc="best", markerscale=3)
    shown = "" if len(idx) == len(y) else f" ({len(idx):,} of the {len(y):,} cases, evenly spaced)"
    return Figure(
        "scatter",
        "Cases on the two first restricted parameters",
        f"Every case{shown} on the box's first two restricted parameters; blue: the "
        "outcome's condition holds. Orange: the box's limits on these two (its other limits "
        "also apply).",
        to_png(fig),
    )


def discovery_document(d: Discovery) -> Document:
    """The report of a discovery folder."""
    rows = []
    for lim in d.limits:
        info = d.info.get(lim.name, {})
        rows.append((
            lim.name, _num(lim.lower), _num(lim.upper), _qp(lim.qp_lower), _qp(lim.qp_upper),
            f"{_num(lim.data_min)} to {_num(lim.data_max)}", info.get("distribution", ""),
            info.get("source") or info.get("why", ""),
        ))  # fmt: skip

    def least(qp: dict[int, tuple[float | None, ...]]) -> str:
        """The least significant limit of a box (its largest quasi-p-value)."""
        worst = [(q, d.parameters[j]) for j, pair in qp.items() for q in pair if q is not None]
        return f"{_qp(max(worst)[0])} ({max(worst)[1]})" if worst else ""

    traj = [
        (str(i), b.step, f"{b.coverage:.3f}", f"{b.density:.3f}", f"{b.mass:.3f}",
         str(b.res_dim), ", ".join(d.parameters[j] for j in b.restricted), least(qp))
        for i, (b, qp) in enumerate(zip(d.trajectory, d.significance, strict=True))
    ]  # fmt: skip
    traj += [
        (f"pasted {i + 1}", b.step, f"{b.coverage:.3f}", f"{b.density:.3f}", f"{b.mass:.3f}",
         str(b.res_dim), ", ".join(d.parameters[j] for j in b.restricted), "")
        for i, b in enumerate(d.pasted)
    ]  # fmt: skip
    leaves = [
        (d.leaf_limits(leaf), f"{leaf.n:,}", f"{leaf.density:.3f}", f"{leaf.coverage:.3f}",
         f"{leaf.mass:.3f}")
        for leaf in d.leaves
    ]  # fmt: skip
    figures = [f for f in (trajectory_figure(d), box_figure(d), scatter_figure(d)) if f]
    s = d.settings
    what = "replications" if d.origin == "run" else "design points"
    sections = [
        Section(
            "The box",
            paragraphs=[
                d.sentence() + ".",
                f"Chosen by {d.rule}"
                + (f"; then pasted in {len(d.pasted)} step(s)." if d.pasted else "."),
                "qp: the quasi-p-value of a limit (one-sided binomial test of the box's "
                "density against the density without that limit; Bryant and Lempert 2010); "
                "* marks a limit above 0.05, which adds little: consider the box without it.",
                "Parameters have no declared unit in a scenario: a limit is in the "
                "parameter's own terms, which its source or rationale (last column) states.",
            ],
            tables=[
                Table(
                    (
                        "parameter",
                        "lower",
                        "upper",
                        "qp lower",
                        "qp upper",
                        "range in the cases",
                        "distribution",
                        "source or rationale",
                    ),
                    rows,
                    numeric=frozenset({1, 2, 3, 4}),
                )
            ],
        ),
        Section("Figures", figures=figures),
        Section(
            "Peeling trajectory",
            paragraphs=[
                f"PRIM (Friedman and Fisher 1999) as EMA Workbench runs it: peel_alpha "
                f"{s['peel_alpha']}, paste_alpha {s['paste_alpha']}, mass_min {s['mass_min']}; "
                "objective: gain of density per case removed (EMA's lenient1). 'largest qp': "
                "the least significant limit of each box (choose a box with --box I).",
            ],
            tables=[
                Table(
                    ("box", "step", "coverage", "density", "mass", "restricted", "on"),
                    traj,
                    numeric=frozenset({2, 3, 4, 5}),
                )
            ],
        ),
        Section(
            "CART",
            paragraphs=[
                f"A classification tree of {s['cart_depth']} levels (scikit-learn, Gini; leaves "
                f"of at least {s['mass_min']:.0%} of the cases), densest leaf first: a second "
                "view of the same cases. A case is in a leaf when it meets every condition."
            ],
            tables=[
                Table(
                    ("leaf", "cases", "density", "coverage", "mass"),
                    leaves,
                    numeric=frozenset({1, 2, 3, 4}),
                )
            ],
        ),
    ]
    facts = [
        ("scenario", d.scenario),
        ("outcome", f"{d.outcome}: {d.title}" if d.title else d.outcome),
        ("condition", d.phrase),
        ("cases", f"{d.n:,} {what}, {d.k:,} of interest ({d.k / d.n:.1%})"),
        ("inputs", ", ".join(d.parameters)),
    ]
    if d.dropped:
        facts.append(("constant (left out)", ", ".join(d.dropped)))
    return Document(
        title=f"Discovery: {d.scenario}, {d.outcome}",
        subtitle="In which worlds does it happen? PRIM boxes and a CART tree (steppe discover)",
        facts=facts,
        sections=sections,
    )


def write_discovery(d: Discovery, out_dir: Path, *, report: bool = True) -> Path:
    """Write the discovery folder ``out_dir`` atomically and return its path.

    Raises
    ------
    ResultError
        If ``out_dir`` exists and is neither empty nor a discovery folder, or writing fails
        (an existing folder is then left as it was).
    """
    given = Path(out_dir)
    out_dir = resolve_out(given)
    check_replaceable(out_dir, "discovery", hint=OUT_HINT)

    def write(tmp: Path) -> None:
        write_text_atomic(tmp / MARKER, marker_text("discovery"))
        write_json_atomic(tmp / DISCOVERY, d.to_dict())
        if report:
            write_document(tmp, discovery_document(d))

    replace_folder(write, out_dir, what="discovery folder")
    return given
