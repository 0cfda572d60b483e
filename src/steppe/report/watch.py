"""The run report's "What to watch" section: the best signposts of the result.

Built from the folder's ``indicators.parquet`` and ``samples.parquet``
(:func:`steppe.analysis.signposts.signposts`); a folder without indicators (a run without
traces, or by an earlier steppe) gets no section, and its report builds as before.
"""

from __future__ import annotations

from pathlib import Path

from steppe.analysis.signposts import signposts
from steppe.report.document import Section, Table
from steppe.results.indicators import INDICATORS

__all__ = ["TOP", "watch_section"]

#: Signposts shown in the report.
TOP = 5


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def watch_section(result_dir: Path, *, top: int = TOP) -> Section | None:
    """The section, or ``None`` when the folder keeps no indicators."""
    if not (Path(result_dir) / INDICATORS).is_file():
        return None
    full = signposts(result_dir)
    best = full.top(top)
    if best.frame.empty:
        return Section(
            "What to watch",
            paragraphs=["No indicator resolved before an outcome told anything about it."],
        )
    rows = [
        (
            r["outcome"],
            r["if_"],
            _pct(r["p_x"]),
            _pct(r["p_y"]),
            f"{_pct(r['p_y_given_x'])} [{_pct(r['p_y_given_x_low'])}, "
            f"{_pct(r['p_y_given_x_high'])}]",
            f"{_pct(r['p_y_given_not_x'])} [{_pct(r['p_y_given_not_x_low'])}, "
            f"{_pct(r['p_y_given_not_x_high'])}]",
            f"{r['voi_brier']:.4f} ± {r['voi_brier_se']:.4f}",
            r["flag"] or "",
        )
        for _, r in best.frame.iterrows()
    ]
    basis = (
        f"{best.replications:,} kept replications"
        if not best.weighted
        else f"{best.replications:,} resampled particles ({best.effective:,.0f} effective "
        "replications: intervals and flags use these)"
    )
    own = int(best.frame["own"].sum())
    intro = (
        f"The {len(rows)} indicators whose observation would most reduce the expected Brier "
        f"score of an outcome, from {basis}. `steppe signposts` lists all "
        f"{len(full.frame):,} pairs (definitions: docs/scoring.md)."
    )
    if own:
        intro += (
            f" {own} of these observe what the outcome itself names, resolving early; "
            "`steppe signposts RESULT --exclude-own` ranks the others."
        )
    return Section(
        "What to watch",
        paragraphs=[intro, *(f"{i}. {s}" for i, s in enumerate(best.watch_list(), 1))],
        tables=[
            Table(
                (
                    "outcome Y",
                    "if X",
                    "P(X)",
                    "P(Y)",
                    "P(Y | X) [95%]",
                    "P(Y | not X) [95%]",
                    "Brier value ± s.e.",
                    "flag",
                ),
                rows,
                caption="Brier value: P(X) P(not X) (P(Y|X) - P(Y|not X))^2, the expected "
                "reduction of Y's Brier score from learning X first (delta-method s.e.). "
                "Wilson 95% intervals. Flagged: fewer than "
                f"{best.min_effective:g} effective replications on one side of X, or an "
                "interval of P(Y|X) - P(Y|not X) that covers 0.",
                numeric=frozenset({2, 3, 4, 5, 6}),
            )
        ],
    )
