"""``steppe signposts RESULT``: what to watch, registered on the ``steppe`` command group.

Errors (a folder without ``indicators.parquet``, an unknown outcome) print as
``error: ...`` on stderr with exit status 2, as for the other commands. The analysis
(pandas) and rich are imported when the command runs (issue 18).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from steppe.analysis._defaults import MIN_EFFECTIVE
from steppe.errors import SteppeError

if TYPE_CHECKING:
    from rich.table import Table

    from steppe.analysis.signposts import Signposts

__all__ = ["signposts_cmd", "signposts_table"]

EXIT_INPUT = 2
#: Pairs per outcome in the per-outcome tables (one outcome asked: more).
PER_OUTCOME = 5
ONE_OUTCOME = 20


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def signposts_table(sp: Signposts, title: str) -> Table:
    """A rich table of ``sp``'s rows; flagged rows are marked ``*`` (the caption says why)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left", caption_justify="left")
    for name, right in (
        ("outcome", False), ("if X", False), ("P(X)", True), ("P(Y)", True),
        ("P(Y | X) [95%]", True), ("P(Y | not X) [95%]", True), ("n X / not X", True),
        ("Brier value ± s.e.", True), ("MI bits", True), ("", False),
    ):  # fmt: skip
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for _, r in sp.frame.iterrows():
        table.add_row(
            escape(r["outcome"]),
            escape(r["if_"]),
            _pct(r["p_x"]),
            _pct(r["p_y"]),
            f"{_pct(r['p_y_given_x'])} [{_pct(r['p_y_given_x_low'])}, "
            f"{_pct(r['p_y_given_x_high'])}]",
            f"{_pct(r['p_y_given_not_x'])} [{_pct(r['p_y_given_not_x_low'])}, "
            f"{_pct(r['p_y_given_not_x_high'])}]",
            f"{r['n_x']:,.0f} / {r['n_not_x']:,.0f}",
            f"{r['voi_brier']:.4f} ± {r['voi_brier_se']:.4f}",
            f"{r['voi_entropy']:.3f}",
            "[bold red]*[/]" if r["flag"] else "",
        )
    notes = [
        f"* {r['outcome']}, {r['indicator']}: {r['flag']}"
        for _, r in sp.frame.iterrows()
        if r["flag"]
    ]
    basis = (
        f"{sp.replications:,} replications"
        if not sp.weighted
        else f"{sp.replications:,} resampled particles, {sp.effective:,.0f} effective replications"
    )
    table.caption = escape(
        f"Ranked by the expected reduction of Y's Brier score from learning X first "
        f"(P(X) P(not X) (P(Y|X) - P(Y|not X))^2); MI: mutual information. Wilson 95% "
        f"intervals, delta-method s.e., from {basis}; n: effective replications with / "
        "without X. docs/scoring.md." + ("\n" + "\n".join(notes) if notes else "")
    )
    return table


@click.command("signposts")
@click.argument("result_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--outcome", "outcome", default=None, help="Only this outcome Y.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=None,
    help="One table of the K best signposts (over all outcomes, or of --outcome).",
)
@click.option(
    "--exclude-own",
    is_flag=True,
    help="Leave out X that observes what Y itself names (Y resolving early).",
)
@click.option(
    "--min-effective",
    type=click.FloatRange(min=0),
    default=MIN_EFFECTIVE,
    show_default=True,
    help="Flag pairs with fewer effective replications with, or without, X.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the signposts as JSON.")
def signposts_cmd(
    result_dir: Path,
    outcome: str | None,
    top: int | None,
    exclude_own: bool,
    min_effective: float,
    as_json: bool,
) -> None:
    """What to watch: which indicators would tell most about each outcome of RESULT_DIR.

    For every outcome Y and every indicator X resolved before it (events, project stages
    and cancellations by each 31 December, series above their quartiles at each 31
    December, the scenario's declared signposts): P(X), P(Y | X), P(Y | not X) and the
    value of learning X, from the result's kept replications (no rerun). Without --top, a
    table per outcome with its best signposts; then the watch list.
    """
    from rich.console import Console

    from steppe._progress import print_errors
    from steppe.analysis.signposts import Signposts, signposts

    try:
        sp = signposts(
            result_dir, outcome, top=top, min_effective=min_effective, exclude_own=exclude_own
        )
    except SteppeError as err:
        print_errors(err)
        sys.exit(EXIT_INPUT)
    if as_json:
        click.echo(json.dumps(sp.to_dict(), indent=2, allow_nan=False))
        return
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
        console.width = max(console.width, 180)
    if top is not None:
        console.print(signposts_table(sp, f"{sp.scenario}: the {top} best signposts"))
    else:
        per = ONE_OUTCOME if outcome is not None else PER_OUTCOME
        for name, rows in sp.frame.groupby("outcome", sort=False):
            part = Signposts(
                rows.head(per).reset_index(drop=True), sp.scenario, sp.replications,
                sp.effective, sp.dropped, sp.min_effective,
            )  # fmt: skip
            console.print(signposts_table(part, f"{name}: {rows['outcome_title'].iloc[0]}"))
    if sp.dropped:
        console.print(
            f"{sp.dropped} indicators held in all or none of the replications and were "
            "dropped (nothing to learn from them).",
            markup=False,
        )
    console.print("\nWhat to watch:", markup=False)
    for line in sp.watch_list(top or 10):
        console.print(f"  {line}", markup=False, soft_wrap=True)
