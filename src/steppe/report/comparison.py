"""The report of a comparison, and the comparison folder.

A comparison folder holds ``comparison.json`` (:meth:`Comparison.to_json
<steppe.analysis.compare.Comparison.to_json>`), ``report.html``, ``report.md`` and
``figures/``. It is built under a temporary sibling name and swapped into place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from steppe.report.build import write_document
from steppe.report.document import Document, Section, Table, fmt, fmt_interval
from steppe.report.overlay import comparison_figures
from steppe.results.folders import MARKER, OUT_HINT, check_replaceable, marker_text, resolve_out
from steppe.results.io import replace_folder, write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from steppe.analysis.compare import Comparison

__all__ = ["COMPARISON", "comparison_document", "comparison_rows", "write_comparison"]

COMPARISON = "comparison.json"


def comparison_rows(cmp: Comparison) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the outcome table: estimates, differences, intervals, flags."""
    first = cmp.scenarios[0]
    header = ["outcome", "statistic", first]
    for name in cmp.scenarios[1:]:
        label = "difference" if len(cmp.scenarios) == 2 else f"{name} - {first}"
        header += [name, label, "95% interval", "beyond noise"]
    rows = []
    for o in cmp.outcomes:
        unit = f" ({o.unit})" if o.unit else ""
        row = [o.outcome, o.statistic + unit, fmt(o.estimates[0].value)]
        for est, diff in zip(o.estimates[1:], o.differences[1:], strict=True):
            assert diff is not None
            row += [
                fmt(est.value),
                fmt(diff.value),
                fmt_interval(diff.ci95),
                "yes" if diff.beyond_noise else "no",
            ]
        rows.append(tuple(row))
        if o.kind == "time_to_event":
            medians = [fmt(e.median_date) for e in o.estimates]
            extra = ["", "median date", medians[0]]
            for m in medians[1:]:
                extra += [m, "", "", ""]
            rows.append(tuple(extra))
    return tuple(header), rows


def _changes_table(cmp: Comparison) -> Table:
    rows = []
    for name, changes in zip(cmp.scenarios[1:], cmp.changes[1:], strict=True):
        if not changes:
            rows.append((name, "", "", "no difference in the resolved scenarios", "", ""))
        for c in changes:
            if not c.fields:
                rows.append((name, c.section, c.name, c.kind, "", ""))
            for field, a, b in c.fields:
                rows.append((name, c.section, c.name, f"{c.kind}: {field}", a or "-", b or "-"))
    return Table(
        ("scenario", "section", "entry", "change", cmp.scenarios[0], "scenario's value"),
        rows,
        caption="Semantic diff of the resolved scenarios (extends applied): added, removed "
        "and changed entries; long texts are shortened.",
    )


def _runs_table(cmp: Comparison) -> Table:
    rows = [
        (
            name,
            src,
            str(s["seed"]),
            f"{s['replications']:,}",
            str(s["engine"]),
            str(s["steppe_version"]),
            str(m.get("scenario_sha256")),
        )
        for name, src, s, m in zip(
            cmp.scenarios, cmp.sources, cmp.summaries, cmp.manifests, strict=True
        )
    ]
    return Table(
        ("scenario", "source", "seed", "replications", "engine", "steppe", "scenario sha256"),
        rows,
    )


def comparison_document(cmp: Comparison) -> Document:
    """The report of a comparison."""
    header, rows = comparison_rows(cmp)
    numeric = frozenset(i for i in range(2, len(header)) if header[i] != "beyond noise")
    how = (
        "Paired 95% intervals: mean of the per-replication differences +- 1.96 standard "
        "errors of that mean."
        if cmp.crn
        else "Independent 95% intervals: Newcombe's interval for a difference of proportions "
        "(from the Wilson intervals), a normal interval for a difference of means."
    )
    first = cmp.summaries[0]
    return Document(
        title="Comparison: " + " vs ".join(cmp.scenarios),
        subtitle=f"steppe comparison of {len(cmp.scenarios)} scenarios with the first, "
        f"{cmp.scenarios[0]}; every difference is shown with its 95% interval.",
        facts=[
            ("scenarios", ", ".join(cmp.scenarios)),
            ("common random numbers", "yes" if cmp.crn else "no"),
            ("pairing", cmp.pairing),
            ("as of", str(first.get("as_of") or "not stated")),
            ("window", f"{first['start']} to {first['horizon']}"),
        ],
        sections=[
            Section(
                "Outcomes",
                paragraphs=[
                    "Compared statistic: P for probabilities, the mean for value outcomes, "
                    "P(by the horizon) for time-to-event outcomes (median dates below them). "
                    + how
                    + " 'beyond noise': the interval of the difference excludes 0.",
                    *(
                        [
                            "Not compared (not asked alike by every input): "
                            + "; ".join(cmp.outcome_notes)
                            + "."
                        ]
                        if cmp.outcome_notes
                        else []
                    ),
                ],
                tables=[Table(header, rows, numeric=numeric)],
            ),
            Section(
                "What differs in the assumptions",
                paragraphs=list(cmp.change_notes),
                tables=[_changes_table(cmp)],
            ),
            Section("Figures", figures=comparison_figures(cmp)),
            Section("Runs", tables=[_runs_table(cmp)]),
        ],
    )


def write_comparison(cmp: Comparison, out_dir: Path, *, report: bool = True) -> Path:
    """Write the comparison folder ``out_dir`` atomically and return its path.

    ``out_dir`` may be a symbolic link (it is followed and kept). An existing folder is
    replaced only if it is empty or a steppe comparison folder (its marker ``.steppe``,
    see :mod:`steppe.results.folders`).

    Raises
    ------
    ResultError
        If ``out_dir`` exists and is neither empty nor a comparison folder, or writing fails
        (an existing folder is then left as it was).
    """
    given = Path(out_dir)
    out_dir = resolve_out(given)
    check_replaceable(out_dir, "comparison", hint=OUT_HINT)

    def write(tmp: Path) -> None:
        write_text_atomic(tmp / MARKER, marker_text("comparison"))
        write_json_atomic(tmp / COMPARISON, cmp.to_json())
        if report:
            write_document(tmp, comparison_document(cmp))

    replace_folder(write, out_dir, what="comparison folder")
    return given
