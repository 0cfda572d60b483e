"""The score folder: ``score.json``, ``report.html``, ``report.md`` and ``figures/``.

Figures, from ``score.json`` alone:

* the reliability diagram: per result, the observed frequency of each forecast bin against
  its mean forecast, with the 90% consistency band of a reliable forecaster (Bröcker & Smith
  2007) around the diagonal;
* per-question bars: each question's Brier score per result, so the costly ones stand out;
* the PIT histogram of the value questions (flat for a calibrated forecaster).

The folder is built under a temporary name and swapped into place, with the marker of a
``score`` folder (:mod:`steppe.results.folders`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from steppe.report._plot import PALETTE, Figure, new_figure, style, to_png
from steppe.report.build import write_document
from steppe.report.document import Document, Section, Table, fmt, fmt_interval
from steppe.results.folders import MARKER, OUT_HINT, check_replaceable, marker_text, resolve_out
from steppe.results.io import replace_folder, write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from steppe.scoring.score import ScoreResult

__all__ = ["SCORE", "default_out", "score_document", "score_rows", "write_score"]

SCORE = "score.json"


def default_out(result: ScoreResult) -> Path:
    """``results/score-<names>``: the scored results' names joined by ``-vs-``."""
    names = "-vs-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", n) for n in result.results)
    return Path("results") / f"score-{names}"


def _f(x: Any) -> str:
    return "" if x is None else fmt(x)


def _pm(block: dict[str, Any] | None) -> str:
    if not block or block.get("mean") is None:
        return ""
    se = block.get("se")
    return fmt(block["mean"]) + (f" ± {fmt(se)}" if se is not None else "")


def score_rows(summary: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the summary table: one row per result."""
    header = (
        "result", "questions", "Brier ± se", "reliability", "resolution", "uncertainty",
        "log score ± se", "CRPS ± se", "50% covered", "90% covered", "skipped",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = []
    for b in summary["results"]:
        p, v = b.get("probability"), b.get("value")
        m = p["murphy"] if p else {}
        cov = v["coverage"] if v else {}
        n = (p["n"] if p else 0) + (v["n"] if v else 0)
        rows.append(
            (
                b["name"],
                str(n),
                _pm(p and p["brier"]),
                _f(m.get("reliability")),
                _f(m.get("resolution")),
                _f(m.get("uncertainty")),
                _pm(p and p["log"]),
                _pm(v and v["crps"]),
                *(
                    f"{c['covered']}/{c['n']}" if (c := cov.get(str(lv))) else ""
                    for lv in (0.5, 0.9)
                ),
                str(len(b["skipped"])),
            )
        )
    return header, rows


def skill_rows(summary: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the skill table: one row per result and reference."""
    header = ("result", "reference", "Brier skill", "log skill", "CRPS skill", "questions")
    rows: list[tuple[str, ...]] = []
    for b in summary["results"]:
        for s in b["skill"]:
            n = max((s[k]["n"] for k in ("brier", "log", "crps") if k in s), default=0)
            rows.append(
                (
                    b["name"],
                    s["reference"],
                    *(_f(s[k]["skill"]) if k in s else "" for k in ("brier", "log", "crps")),
                    str(n),
                )
            )
    return header, rows


def question_rows(summary: dict[str, Any]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the per-question table, costliest first within each result."""
    header = (
        "result", "question", "id", "forecast", "95% interval", "resolved", "Brier", "log",
        "CRPS", "PIT", "share of total",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = []
    for b in summary["results"]:
        mine = [r for r in summary["scores"] if r["result"] == b["name"]]
        mine.sort(key=lambda r: -(r.get("brier_share") or r.get("crps_share") or 0.0))
        for r in mine:
            prob = r["kind"] == "probability"
            forecast = _f(r.get("forecast"))
            if prob and r.get("cromwell"):
                forecast += " (Cromwell)"
            interval = (
                fmt_interval([r["ci_low"], r["ci_high"]])
                if prob
                else fmt_interval([r["q05"], r["q95"]])
            )
            resolved = ("yes" if r["resolved"] else "no") if prob else fmt(r["resolved"])
            share = r.get("brier_share") if prob else r.get("crps_share")
            rows.append(
                (
                    str(b["name"]),
                    str(r["question"]),
                    str(r["id"]),
                    forecast,
                    interval,
                    resolved,
                    _f(r.get("brier")),
                    _f(r.get("log")),
                    _f(r.get("crps")),
                    _f(r.get("pit")),
                    f"{share:.0%}" if share is not None else "",
                )
            )
    return header, rows


def _colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def reliability_figure(summary: dict[str, Any]) -> Figure | None:
    """Reliability diagram with each bin's 90% consistency band."""
    blocks = [b for b in summary["results"] if b.get("probability")]
    if not blocks:
        return None
    fig = new_figure(5.2, 4.6)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#888888", lw=0.8, ls="--", label="perfectly reliable")
    for k, b in enumerate(blocks):
        diagram = b["probability"]["reliability_diagram"]
        f = np.array([d["forecast"] for d in diagram])
        o = np.array([d["observed"] for d in diagram])
        lo = np.array([d["band90"][0] for d in diagram])
        hi = np.array([d["band90"][1] for d in diagram])
        shift = 0.006 * k
        ax.vlines(f + shift, lo, hi, color=_colour(k), alpha=0.35, lw=6)
        sizes = [12 + 6 * d["n"] for d in diagram]
        ax.scatter(f + shift, o, s=sizes, color=_colour(k), label=b["name"], zorder=3)
    style(ax, xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="forecast probability (bin mean)",
          ylabel="observed frequency", title="Reliability diagram")  # fmt: skip
    ax.legend(fontsize=7, loc="upper left")
    return Figure(
        "reliability",
        "Reliability diagram",
        "Forecasts grouped in ten equal-width bins; each dot is a bin's mean forecast against "
        "the share of its questions that resolved true (dot size: number of questions). The "
        "bar is the 90% consistency band (Bröcker & Smith 2007): the range of observed "
        "frequencies a perfectly reliable forecaster would show in that bin 90% of the time "
        "(binomial quantiles at the bin's mean forecast). A dot outside its bar is evidence "
        "of miscalibration; with a few questions per bin the bars are wide.",
        to_png(fig),
    )


def contributions_figure(summary: dict[str, Any]) -> Figure | None:
    """Per-question Brier scores, one bar per result."""
    rows = [r for r in summary["scores"] if r["kind"] == "probability"]
    if not rows:
        return None
    names = [b["name"] for b in summary["results"]]
    ids = list(dict.fromkeys(r["id"] for r in rows))
    worst = {i: max(r["brier"] for r in rows if r["id"] == i) for i in ids}
    ids.sort(key=lambda i: worst[i])
    k = len(names)
    fig = new_figure(7.0, 1.2 + 0.22 * len(ids) * max(1, k) ** 0.5)
    ax = fig.add_subplot()
    h = 0.8 / k
    for j, name in enumerate(names):
        got = {r["id"]: r["brier"] for r in rows if r["result"] == name}
        y = np.arange(len(ids)) + (j - (k - 1) / 2) * h
        ax.barh(y, [got.get(i, 0.0) for i in ids], height=h, color=_colour(j), label=name)
    ax.set_yticks(np.arange(len(ids)), ids, fontsize=7)
    style(ax, xlim=(0, 1), xlabel="Brier score (p - outcome)²", title="Cost of each question")
    if k > 1:
        ax.legend(fontsize=7, loc="lower right")
    return Figure(
        "contributions",
        "Per-question Brier scores",
        "Each resolved probability question's Brier score, costliest at the top; the mean of "
        "a result's bars is its Brier score, so the longest bars are the questions that cost "
        "it most. 0.25 is what a forecast of 0.5 scores on any question.",
        to_png(fig),
    )


def pit_figure(summary: dict[str, Any]) -> Figure | None:
    """PIT histogram of the value questions, one outline per result."""
    blocks = [b for b in summary["results"] if b.get("value")]
    if not blocks:
        return None
    fig = new_figure(5.2, 3.4)
    ax = fig.add_subplot()
    edges = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    for k, b in enumerate(blocks):
        pit = np.asarray(b["value"]["pit"])
        ax.hist(pit, bins=edges, histtype="step", lw=2, color=_colour(k), label=b["name"])
        ax.plot(pit, np.full(pit.size, -0.05 - 0.05 * k), "|", color=_colour(k), ms=10)
    n = max(b["value"]["n"] for b in blocks)
    ax.axhline(n / 5, color="#888888", ls="--", lw=0.8, label="flat (calibrated)")
    style(ax, xlim=(0, 1), xlabel="PIT (randomised)", ylabel="questions", title="PIT histogram")
    ax.legend(fontsize=7)
    return Figure(
        "pit",
        "PIT histogram",
        "The probability integral transform of each value question's resolution under the "
        "forecast sample (randomised within ties); ticks below the axis are the individual "
        "values. A calibrated forecaster's PITs are uniform: a U shape means intervals too "
        "narrow, a hump too wide, a slope a bias. With a few questions, read the ticks.",
        to_png(fig),
    )


def score_document(summary: dict[str, Any]) -> Document:
    """The report of a score folder."""
    header, rows = score_rows(summary)
    sk_header, sk_rows = skill_rows(summary)
    q_header, q_rows = question_rows(summary)
    figures = [f for f in (reliability_figure(summary), contributions_figure(summary),
                           pit_figure(summary)) if f is not None]  # fmt: skip
    pending = [(p["id"], p["question"], p["source"]) for p in summary["pending"]]
    skipped = [(b["name"], s["id"], s["reason"]) for b in summary["results"] for s in b["skipped"]]
    sections = [
        Section(
            "Scores",
            paragraphs=[
                "Brier score: mean of (p - outcome)² over the resolved probability questions; "
                "reliability - resolution + uncertainty = Brier (Murphy's decomposition over "
                "distinct forecast values). Log score: mean of -ln(p of what happened), p "
                "clipped to [1/(2n), 1 - 1/(2n)]. CRPS: from the forecast sample, in the "
                "question's unit. All are smaller-is-better; ± is the standard error over "
                "questions.",
                *summary["notes"],
            ],
            tables=[Table(header, rows, numeric=frozenset(range(1, len(header))))],
        ),
    ]
    if sk_rows:
        sections.append(
            Section(
                "Skill",
                paragraphs=[
                    "Skill = 1 - score / reference score, over the questions both answer: 1 "
                    "is perfect, 0 no better than the reference, below 0 worse."
                ],
                tables=[Table(sk_header, sk_rows, numeric=frozenset(range(2, 6)))],
            )
        )
    sections += [
        Section(
            "Questions",
            paragraphs=[
                "Each resolved question per result, costliest first; 'share of total' is the "
                "question's share of the result's summed Brier score (CRPS for value "
                "questions). Interval: Wilson 95% for probabilities, the 5%-95% range of the "
                "sample for values."
            ],
            tables=[Table(q_header, q_rows, numeric=frozenset(range(3, len(q_header))))],
        ),
        Section("Figures", figures=figures),
    ]
    if pending:
        sections.append(
            Section(
                "Pending",
                paragraphs=["Not yet resolved (resolved: null): listed, not scored."],
                tables=[Table(("id", "question", "what would resolve it"), pending)],
            )
        )
    if skipped:
        sections.append(Section("Skipped", tables=[Table(("result", "id", "why"), skipped)]))
    sources = [
        (r["id"], r.get("date") or "", r["source"])
        for r in {r["id"]: r for r in summary["scores"]}.values()
    ]
    sections.append(
        Section(
            "Sources of the resolutions", tables=[Table(("id", "resolved on", "source"), sources)]
        )
    )
    names = ", ".join(b["name"] for b in summary["results"])
    return Document(
        title=f"Scores: {names}",
        subtitle=summary.get("title") or f"steppe score against {summary['resolutions']}",
        facts=[
            ("results", names),
            ("resolutions", str(summary["resolutions"])),
            ("as of", str(summary.get("as_of") or "not stated")),
            ("questions", f"{summary['resolved']} resolved of {summary['questions']}"),
            ("references", ", ".join(summary["references"]) or "none"),
        ],
        sections=sections,
    )


def write_score(result: ScoreResult, out_dir: Path, *, report: bool = True) -> Path:
    """Write the score folder ``out_dir`` atomically and return its path.

    Raises
    ------
    ResultError
        If ``out_dir`` exists and is neither empty nor a score folder, or writing fails (an
        existing folder is then left as it was).
    """
    given = Path(out_dir)
    out_dir = resolve_out(given)
    check_replaceable(out_dir, "score", hint=OUT_HINT)

    def write(tmp: Path) -> None:
        write_text_atomic(tmp / MARKER, marker_text("score"))
        write_json_atomic(tmp / SCORE, result.summary)
        if report:
            write_document(tmp, score_document(result.summary))

    replace_folder(write, out_dir, what="score folder")
    return given
