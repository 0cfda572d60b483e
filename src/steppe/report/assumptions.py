"""The "Assumptions" section of a run's report, from ``summary.json`` alone: every parameter,
the rank correlations imposed between parameters (``correlations:``) and the precision rule
that stopped the run (``precision:`` or ``--precision``)."""

from __future__ import annotations

from typing import Any

from steppe.report.document import Section, Table, fmt

__all__ = ["assumption_table", "assumptions_section", "correlation_table", "precision_table"]


def assumption_table(summary: dict[str, Any]) -> Table:
    """Every parameter with its distribution (or value or formula), source and rationale."""
    rows = [
        (name, a.get("distribution") or "", a.get("source") or "", a.get("why") or "")
        for name, a in summary.get("assumptions", {}).items()
    ]
    return Table(
        ("parameter", "distribution / value", "source", "why"),
        rows,
        caption="Parameters drawn once per replication (distributions) or fixed (values); "
        "formulas start with '='.",
    )


def correlation_table(summary: dict[str, Any]) -> Table | None:
    """The imposed rank correlations, one row per pair of parameters whose target is not 0
    (``None`` without ``correlations``), with the rank correlation their draws achieved
    where the summary records it (``achieved``, a matrix like ``rank_matrix``)."""
    corr = summary.get("correlations")
    if not corr:
        return None
    names, target = corr["parameters"], corr["rank_matrix"]
    achieved = corr.get("achieved")
    rows = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            if target[i][j] != 0.0:
                rows.append((a, names[j], f"{target[i][j]:+.3g}", _achieved(achieved, i, j)))
    repaired = (
        " The matrix given was not positive semi-definite: the nearest correlation matrix "
        "(repair: nearest) is imposed, and shown."
        if corr.get("repaired")
        else ""
    )
    over = corr.get("achieved_over")
    sample = f" Achieved: over the first {over:,} replications' draws." if over else ""
    return Table(
        ("parameter", "parameter", "target rank correlation", "achieved"),
        rows,
        caption="Rank (Spearman) correlations imposed by Iman and Conover's "
        "method: each parameter keeps its distribution, only the order of its draws "
        f"changes; pairs not shown are 0.{repaired}{sample}",
        numeric=frozenset({2, 3}),
    )


def _achieved(matrix: list[list[float | None]] | None, i: int, j: int) -> str:
    """An achieved correlation as shown: 'not recorded' (an older summary, or a run
    conditioned on evidence), 'n/a' (a parameter fixed by an override)."""
    if not matrix:
        return "not recorded"
    x = matrix[i][j]
    return "n/a (fixed)" if x is None or x != x else f"{x:+.3f}"


def precision_table(summary: dict[str, Any]) -> Table | None:
    """The precision rule of a run that stopped at a precision (``None`` otherwise): its
    target, the outcomes watched, the stages, the replications used and why it stopped,
    and each watched outcome's final standard error."""
    rule = summary.get("precision")
    if not rule:
        return None
    watched = rule.get("outcomes")
    rows = [
        ("target MC standard error", fmt(rule["se"])),
        ("outcomes watched", ", ".join(watched) if watched else "every probability outcome"),
        ("stages (replications run by the end of each)", ", ".join(
            f"{n:,}" for n in rule.get("stages", [])
        )),
        ("replications used", f"{rule['replications']:,}"),
        ("stopped", str(rule.get("stopped", ""))),
    ]  # fmt: skip
    rows += [(f"final MC s.e. of {name}", fmt(se)) for name, se in rule.get("final_se", {}).items()]
    return Table(
        ("precision rule", "value"),
        rows,
        caption="The run stopped once every watched outcome's Monte Carlo standard error was "
        "at most the target, or at its replications (the cap); each stage doubles the "
        "replications.",
    )


def assumptions_section(summary: dict[str, Any]) -> Section:
    """The parameters, then the correlations and the precision rule where there are any."""
    tables = [assumption_table(summary)]
    tables += [t for t in (correlation_table(summary), precision_table(summary)) if t]
    return Section("Assumptions", tables=tables)
