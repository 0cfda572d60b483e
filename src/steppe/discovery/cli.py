"""``steppe discover SOURCE --outcome NAME``: scenario discovery, on the ``steppe`` group.

This module is imported with the ``steppe`` command: it imports click and rich only, and
the discovery itself (pandas, scikit-learn, matplotlib) inside the command. Errors print as
``error: ...`` on stderr with exit status 2, as for the other commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from steppe.errors import SteppeError

if TYPE_CHECKING:
    from rich.table import Table

    from steppe.discovery.api import Discovery

__all__ = ["discover_cmd", "discovery_tables"]

EXIT_INPUT = 2
#: CART leaves shown on the terminal (all are in discovery.json and the report).
LEAVES = 5


def _qp(q: float | None) -> str:
    if q is None:
        return ""
    text = f"{q:.2g}" if q >= 1e-4 else "<0.0001"
    return text + (" *" if q > 0.05 else "")


def _short(text: str, n: int = 90) -> str:
    return text if len(text) <= n else text[: n - 3].rstrip() + "..."


def discovery_tables(d: Discovery) -> list[Table]:
    """The chosen box's limits (with sources), then CART's densest leaves."""
    from rich.markup import escape
    from rich.table import Table

    from steppe.discovery.api import _num

    box = Table(title=escape(f"{d.scenario}: where {d.outcome}"), title_justify="left",
                caption_justify="left")  # fmt: skip
    for name, right in (("parameter", False), ("lower", True), ("upper", True),
                        ("qp lower", True), ("qp upper", True), ("distribution", False),
                        ("source or rationale", False)):  # fmt: skip
        box.add_column(name, justify="right" if right else "left", overflow="fold")
    for lim in d.limits:
        info = d.info.get(lim.name, {})
        box.add_row(
            escape(lim.name),
            "" if lim.lower is None else _num(lim.lower),
            "" if lim.upper is None else _num(lim.upper),
            _qp(lim.qp_lower),
            _qp(lim.qp_upper),
            escape(info.get("distribution", "")),
            escape(_short(info.get("source") or info.get("why", ""))),
        )
    b = d.box
    box.caption = escape(
        f"{d.sentence()}.\nBox {d.chosen} of {len(d.trajectory) - 1} on the peeling trajectory"
        f"{f', pasted in {len(d.pasted)} step(s)' if d.pasted else ''}: coverage "
        f"{b.coverage:.3f}, density {b.density:.3f}, mass {b.mass:.3f}. Chosen by {d.rule}. "
        "qp: quasi-p-value of a limit; * above 0.05: the limit adds little (consider the "
        "box without it). Unrestricted: "
        + (", ".join(p for p in d.parameters if p not in {x.name for x in d.limits}) or "none")
        + "."
    )
    cart = Table(title=escape(f"CART ({d.settings['cart_depth']} levels): densest leaves"),
                 title_justify="left")  # fmt: skip
    for name, right in (("leaf", False), ("cases", True), ("density", True),
                        ("coverage", True)):  # fmt: skip
        cart.add_column(name, justify="right" if right else "left", overflow="fold")
    for leaf in d.leaves[:LEAVES]:
        cart.add_row(escape(d.leaf_limits(leaf)), f"{leaf.n:,}", f"{leaf.density:.3f}",
                     f"{leaf.coverage:.3f}")  # fmt: skip
    return [box, cart]


@click.command("discover")
@click.argument("source", type=click.Path(file_okay=False, path_type=Path))
@click.option("--outcome", required=True, help="The outcome to explain.")
@click.option(
    "--where",
    default=None,
    help='Which values count, as a condition on value: "value >= 3000" (needed for value '
    "outcomes and sweeps; a time-to-event outcome defaults to 'by the horizon').",
)
@click.option(
    "--threshold",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=None,
    help="Choose the box of largest coverage with at least this density (default: the knee).",
)
@click.option(
    "--box",
    "box",
    type=click.IntRange(min=0),
    default=None,
    help="Choose this box of the peeling trajectory (0: all cases).",
)
@click.option(
    "--drop-insignificant",
    is_flag=True,
    help="Remove, one at a time, the box's limits whose quasi-p-value is above 0.05.",
)
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The run's scenario file, if its manifest's path does not reach it.",
)
@click.option(
    "--depth",
    type=click.IntRange(min=1, max=8),
    default=3,
    show_default=True,
    help="Levels of the CART tree.",
)
@click.option(
    "--mass-min",
    type=click.FloatRange(min=0, max=0.5, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Smallest share of the cases in a box.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Discovery folder (default: results/discovery-<scenario>-<outcome>).",
)
@click.option("--json", "as_json", is_flag=True, help="Print discovery.json instead of tables.")
def discover_cmd(
    source: Path,
    outcome: str,
    where: str | None,
    threshold: float | None,
    box: int | None,
    drop_insignificant: bool,
    scenario: Path | None,
    depth: int,
    mass_min: float,
    out: Path | None,
    as_json: bool,
) -> None:
    """In which worlds does OUTCOME happen? PRIM boxes and a CART tree over SOURCE.

    SOURCE is a result folder (its kept replications; their parameter draws are drawn again
    from the scenario file and seed of its manifest) or a sweep folder (its design points).
    Prints the chosen box (the knee of PRIM's peeling trajectory, or --threshold, or --box)
    and CART's densest leaves; writes discovery.json, report.html and report.md.
    """
    from rich.console import Console

    from steppe._progress import print_errors
    from steppe.discovery.api import default_out, discover
    from steppe.discovery.report import DISCOVERY
    from steppe.results.folders import OUT_HINT, check_replaceable, resolve_out

    try:
        if out is not None:  # refuse a folder that is not steppe's before any work
            check_replaceable(resolve_out(out), "discovery", hint=OUT_HINT)
        d = discover(
            source, outcome, where=where, threshold=threshold, box=box, mass_min=mass_min,
            cart_depth=depth, drop_insignificant=drop_insignificant, scenario=scenario,
        )  # fmt: skip
        folder = d.write(out if out is not None else default_out(d))
    except SteppeError as err:
        print_errors(err)
        sys.exit(EXIT_INPUT)
    if as_json:
        click.echo(json.dumps(json.loads((folder / DISCOVERY).read_text(encoding="utf-8")),
                              indent=2))  # fmt: skip
        return
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: do not squeeze the tables into 80 columns
        console.width = max(console.width, 160)
    for table in discovery_tables(d):
        console.print(table)
    console.print(f"discovery written to {folder}", markup=False)
