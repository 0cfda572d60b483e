"""The content of a run's report, from ``summary.json`` and ``manifest.json`` alone."""

from __future__ import annotations

from typing import Any

from steppe.report._plot import Figure
from steppe.report.assumptions import assumptions_section
from steppe.report.document import Document, Section, Table, fmt, fmt_interval
from steppe.report.evidence import evidence_section
from steppe.report.figures import run_figures
from steppe.results.stats import read_at

__all__ = ["outcome_rows", "run_document", "run_facts"]

_NUMERIC = frozenset({2, 3, 4})


def run_facts(summary: dict[str, Any], manifest: dict[str, Any]) -> list[tuple[str, str]]:
    """What ran: scenario, hash, seed, replications, engine, version, dates."""
    overrides = manifest.get("overrides") or {}
    facts = [
        ("scenario", f"{summary['scenario']} ({manifest.get('scenario_file') or 'no file'})"),
        ("scenario sha256", str(manifest.get("scenario_sha256"))),
        ("seed", str(summary["seed"])),
        ("replications", f"{summary['replications']:,}"),
        ("engine", str(summary["engine"])),
        ("steppe version", str(summary["steppe_version"])),
        ("as of", str(summary.get("as_of") or "not stated")),
        ("window", f"{summary['start']} to {summary['horizon']}"),
    ]
    if overrides:
        facts.append(("overrides", ", ".join(f"{k} = {v:g}" for k, v in overrides.items())))
    if manifest.get("timestamp"):
        facts.append(("run at", str(manifest["timestamp"])))
    return facts


def outcome_rows(summary: dict[str, Any]) -> list[tuple[str, ...]]:
    """Rows ``(outcome, statistic, estimate, MC s.e., 95% interval, date, title)``."""
    horizon = summary["horizon"]
    rows: list[tuple[str, ...]] = []
    for name, o in summary["outcomes"].items():
        title = o.get("title") or ""
        if o["kind"] == "probability":
            rows.append(
                (
                    name,
                    "P",
                    fmt(o["p"]),
                    fmt(o["se"]),
                    fmt_interval(o["ci95"]),
                    read_at(o, horizon),
                    title,
                )
            )
        elif o["kind"] == "distribution":
            unit = f" ({o['unit']})" if o.get("unit") else ""
            rows.append(
                (
                    name,
                    "mean" + unit,
                    fmt(o["mean"]),
                    fmt(o["se"]),
                    fmt_interval(o["ci95"]),
                    read_at(o, horizon),
                    title,
                )
            )
            for key, label in (
                ("0.05", "5% quantile"),
                ("0.5", "median"),
                ("0.95", "95% quantile"),
            ):
                rows.append(
                    (
                        "",
                        label + unit,
                        fmt(o["quantiles"][key]),
                        "",
                        fmt_interval(o["quantiles_ci95"][key]),
                        "",
                        "",
                    )
                )
        else:
            rows.append(
                (
                    name,
                    "P(by horizon)",
                    fmt(o["p_by"][horizon]),
                    fmt(o["p_by_se"][horizon]),
                    fmt_interval(o["p_by_ci95"][horizon]),
                    horizon,
                    title,
                )
            )
            rows.append(
                (
                    "",
                    "median date",
                    fmt(o["quantiles"]["0.5"]),
                    "",
                    fmt_interval(o["quantiles_ci95"]["0.5"]),
                    "",
                    "",
                )
            )
    return rows


OUTCOME_CAPTION = (
    "P: share of replications, Wilson 95% interval; MC s.e. = sqrt(p(1-p)/n). Means: normal "
    "95% interval (s.e. = sd/sqrt(n)). Quantiles and median dates: distribution-free "
    "order-statistic 95% intervals. 'never': not by the horizon in that share of runs."
)


def run_document(
    summary: dict[str, Any],
    manifest: dict[str, Any],
    figures: list[Figure] | None = None,
    *,
    watch: Section | None = None,
) -> Document:
    """The report of one run; ``figures`` default to :func:`~.figures.run_figures`.

    ``watch`` is the "What to watch" section (:func:`steppe.report.watch.watch_section`),
    placed after the outcomes, when the result keeps indicators.
    """
    figs = run_figures(summary) if figures is None else figures
    traces = summary.get("traces")
    notes = []
    if traces is None:
        notes.append(
            "This run recorded no traces (run with traces=False): the fan charts of series, "
            "the P(event by date) curves and the histograms are not available."
        )
    elif traces["sample"] < traces["replications"]:
        notes.append(
            f"Fan charts, event curves and histograms use the first {traces['sample']:,} of "
            f"{traces['replications']:,} replications; the outcome table uses all of them."
        )
    sections = [
        Section(
            "Outcomes",
            paragraphs=notes,
            tables=[
                Table(
                    (
                        "outcome",
                        "statistic",
                        "estimate",
                        "MC s.e.",
                        "95% interval",
                        "date",
                        "question",
                    ),
                    outcome_rows(summary),
                    caption=OUTCOME_CAPTION,
                    numeric=_NUMERIC,
                )
            ],
        ),
        *([taught] if (taught := evidence_section(summary)) is not None else []),
        *([watch] if watch is not None else []),
        Section("Figures", figures=figs),
        assumptions_section(summary),
    ]
    return Document(
        title=f"{summary['scenario']}: {summary['title']}",
        subtitle=f"steppe report: {summary['replications']:,} replications of a discrete-event "
        "Monte Carlo simulation; every estimate is shown with its Monte Carlo error.",
        facts=run_facts(summary, manifest),
        sections=sections,
    )
