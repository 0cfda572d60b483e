"""``steppe score RESULT... --resolutions FILE``: registered on the ``steppe`` command group.

Errors print as ``FILE:LINE:COL: error: YAML.PATH: message`` on stderr with exit status 2,
and nothing is written. matplotlib is imported only when the report is written, the
scoring and rich only when the command runs (issue 18).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from steppe.errors import ScenarioError, SteppeError

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["score_cmd", "score_tables"]

EXIT_INPUT = 2


def _base_rates(items: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        name = name.strip() if sep else "*"
        try:
            p = float(value)
        except ValueError:
            raise ScenarioError(
                f"--base-rate expects ID=P or P (every question), found {item!r}",
                file="--base-rate",
            ) from None
        if not math.isfinite(p):
            raise ScenarioError(f"--base-rate {item}: not a finite number", file="--base-rate")
        out[name] = p
    return out


def score_tables(summary: dict[str, object]) -> list[Table]:
    """Rich tables of a score summary: the scores per result, skill, and per question."""
    from rich.markup import escape
    from rich.table import Table

    from steppe.scoring.report import question_rows, score_rows, skill_rows

    tables = []
    title = f"Scores against {summary['resolutions']}"
    for (header, rows), name, caption in (
        (score_rows(summary), title, "Smaller is better; ± standard error over questions."),
        (skill_rows(summary), "Skill (1 - score / reference)", ""),
        (question_rows(summary), "Questions, costliest first", "share: of the result's total"),
    ):
        if not rows:
            continue
        table = Table(title=name, title_justify="left", caption=caption, caption_justify="left")
        keep = [i for i in range(len(header)) if any(row[i] for row in rows)]  # no empty column
        texts = 3 if header[1] == "question" else 2  # leading text columns, left-aligned
        for i in keep:
            table.add_column(
                escape(header[i]), justify="left" if i < texts else "right", overflow="fold"
            )
        for row in rows:
            table.add_row(*(escape(row[i]) for i in keep))
        tables.append(table)
    return tables


@click.command("score")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--resolutions",
    "resolutions",
    required=True,
    type=click.Path(path_type=Path),
    help="The resolutions file (docs/scoring.md).",
)
@click.option(
    "--reference",
    type=float,
    default=None,
    help="A constant probability as reference forecaster for skill scores (e.g. 0.5).",
)
@click.option(
    "--base-rate",
    "base_rates",
    multiple=True,
    metavar="ID=P",
    help="A base rate for question ID as reference (repeat; a bare P: every question).",
)
@click.option(
    "--reference-result",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Another result folder as reference forecaster.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, help="Seed of the randomised PIT.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Score folder (default: results/score-<names>).",
)
@click.option("--json", "as_json", is_flag=True, help="Print score.json instead of tables.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (and --json).")
def score_cmd(
    results: tuple[Path, ...],
    resolutions: Path,
    reference: float | None,
    base_rates: tuple[str, ...],
    reference_result: Path | None,
    seed: int,
    out: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Score result folders against a resolutions file, side by side.

    Brier score with Murphy's decomposition, log score, CRPS, PIT and interval coverage for
    value questions, skill against references, and the cost of each question. Writes
    score.json, report.html and report.md into the score folder.
    """
    from rich.console import Console

    from steppe._progress import print_errors
    from steppe.results.folders import OUT_HINT, check_replaceable, resolve_out
    from steppe.scoring.report import SCORE, default_out
    from steppe.scoring.score import score

    try:
        if out is not None:  # refuse a folder that is not steppe's before reading anything
            check_replaceable(resolve_out(out), "score", hint=OUT_HINT)
        result = score(
            list(results),
            resolutions,
            reference=reference,
            base_rates=_base_rates(base_rates) or None,
            reference_result=reference_result,
            seed=seed,
        )
        folder = result.write(out if out is not None else default_out(result))
    except SteppeError as err:
        print_errors(err)
        sys.exit(EXIT_INPUT)
    if as_json:
        click.echo((folder / SCORE).read_text(encoding="utf-8"), nl=False)
        return
    if quiet:
        return
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: do not squeeze the tables into 80 columns
        console.width = max(console.width, 160)
    for table in score_tables(result.summary):
        console.print(table)
    for note in result.summary["notes"]:
        console.print(f"note: {note}", markup=False)
    pending = result.summary["pending"]
    if pending:
        console.print(
            f"pending ({len(pending)}, not scored): " + ", ".join(p["id"] for p in pending),
            markup=False,
        )
    console.print(f"scores written to {folder}", markup=False)
