"""What ``steppe run`` prints after the outcome table of a run conditioned on evidence:
the weight diagnostic, and what the evidence taught (each outcome's and each parameter's
prior beside its posterior, and how far the evidence moved it)."""

from __future__ import annotations

import math
from typing import Any

from rich.markup import escape
from rich.table import Table

__all__ = ["count", "diagnostic_line", "khat_text", "outcome_change_table", "parameter_table"]


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    size = abs(x)
    if size >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if size >= 1 else f"{x:.3f}"


def _signed(x: float) -> str:
    return ("+" if x >= 0 else "") + _num(x)


def count(k: int, noun: str) -> str:
    """``"1 observation"``, ``"3 observations"``."""
    return f"{k:,} {noun}{'' if k == 1 else 's'}"


def khat_text(ev: dict[str, Any]) -> str:
    """Pareto k-hat and its threshold, or why there is none."""
    if ev["khat"] is None:
        return "Pareto k-hat not fitted: the largest weights are equal"
    return f"Pareto k-hat {ev['khat']:.2f}, threshold {ev['khat_threshold']:.2f}"


def diagnostic_line(summary: dict[str, Any]) -> str:
    """One paragraph: the evidence, the effective sample size, k̂ and the message."""
    ev = summary["evidence"]
    resampled = len(ev["resamplings"])
    return (
        f"Conditioned on {count(len(ev['items']), 'observation')} up to {ev['as_of']}: "
        "effective "
        f"sample size {ev['ess']:,.0f} of {summary['replications']:,} "
        f"({khat_text(ev)}), "
        f"{count(resampled, 'resampling')}. {ev['message']}"
    )


def outcome_change_table(summary: dict[str, Any]) -> Table:
    """Each outcome's headline without the evidence (prior) and with it (posterior)."""
    table = Table(
        title="What the evidence taught: outcomes",
        title_justify="left",
        caption="prior: the same run without the evidence (same seed). change: posterior - "
        "prior, with 2 Monte Carlo standard errors of the difference.",
        caption_justify="left",
    )
    table.add_column("outcome", overflow="fold")
    table.add_column("statistic", overflow="fold")
    table.add_column("prior", justify="right", no_wrap=True)
    table.add_column("posterior", justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    for name, t in summary["taught"].items():
        post = t["prior"] + t["change"]
        change = f"{_signed(t['change'])} ± {_num(2 * t['change_se'])}"
        table.add_row(name, escape(t["statistic"]), _num(t["prior"]), _num(post), change)
    return table


def parameter_table(summary: dict[str, Any]) -> Table:
    """Each uncertain parameter's median and 90% range before and after the evidence."""
    table = Table(
        title="What the evidence taught: assumptions",
        title_justify="left",
        caption="median [5%, 95%]. shift: the change of the mean in prior standard deviations.",
        caption_justify="left",
    )
    table.add_column("parameter", overflow="fold")
    table.add_column("prior", justify="right", no_wrap=True)
    table.add_column("posterior", justify="right", no_wrap=True)
    table.add_column("shift", justify="right", no_wrap=True)

    def spread(body: dict[str, Any]) -> str:
        q = body["quantiles"]
        return escape(f"{_num(q['0.5'])} [{_num(q['0.05'])}, {_num(q['0.95'])}]")

    for name, p in summary["posterior"].items():
        table.add_row(name, spread(p["prior"]), spread(p["posterior"]), _signed(p["shift"]))
    return table
