"""``steppe compare`` and ``steppe report``: registered on the ``steppe`` command group.

Errors print as ``WHERE: error: ...`` on stderr with exit status 2, as for ``steppe run``.
matplotlib is imported only when a report is written; the comparison, rich and the engines
only when a command runs (``steppe --help`` imports none of them, issue 18).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from steppe._options import engine_option
from steppe.errors import ScenarioError, SteppeError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from steppe.engines import EngineChoice

__all__ = ["compare_cmd", "comparison_table", "fitted_comparison_table", "report_cmd"]

EXIT_INPUT = 2


def _fail(err: SteppeError) -> None:
    from steppe._progress import print_errors

    print_errors(err)
    sys.exit(EXIT_INPUT)


def comparison_table(cmp: object, *, long: bool = False) -> Table:
    """A rich table of a :class:`~steppe.analysis.compare.Comparison`.

    Wide (the default): a row per outcome statistic and, per scenario after the first, its
    estimate, difference, 95% interval and whether that is beyond noise. ``long``: a heading
    row per outcome statistic, then a row per scenario, for terminals too narrow for the
    wide table.
    """
    from rich.markup import escape
    from rich.table import Table

    from steppe.analysis.compare import Comparison
    from steppe.report.comparison import comparison_rows  # no matplotlib at import

    assert isinstance(cmp, Comparison)
    header, rows = comparison_rows(cmp)
    crn = "yes" if cmp.crn else "no"
    table = Table(
        title=f"{' vs '.join(cmp.scenarios)}: common random numbers: {crn}",
        title_justify="left",
        caption=f"{cmp.pairing}. Differences are from {cmp.scenarios[0]}; 'beyond noise': "
        "the 95% interval of the difference excludes 0.",
        caption_justify="left",
    )

    def cell(text: str) -> str:
        return escape(text) if text != "yes" else "[bold red]yes[/]"

    if not long:
        for i, h in enumerate(header):
            table.add_column(escape(h), justify="right" if i >= 2 else "left", no_wrap=i < 2)
        for row in rows:
            table.add_row(*(cell(c) for c in row))
        return table
    # Long: a heading row per outcome statistic, then a row per scenario. Names fold
    # rather than being cut; numbers stay whole.
    table.add_column("outcome: statistic / scenario", overflow="fold")
    for h in ("estimate", "difference", "95% interval", "beyond\nnoise"):
        table.add_column(h, justify="right", no_wrap=True)
    outcome = ""
    for row in rows:
        outcome = row[0] or outcome  # a further statistic of an outcome leaves it blank
        table.add_row(f"[bold]{escape(outcome)}[/]: {escape(row[1])}")
        table.add_row(f"  {escape(cmp.scenarios[0])}", row[2])
        for k, name in enumerate(cmp.scenarios[1:]):
            est, diff, interval, beyond = row[3 + 4 * k : 7 + 4 * k]
            table.add_row(
                f"  {escape(name)}", cell(est), cell(diff), cell(interval), cell(beyond),
                end_section=k == len(cmp.scenarios) - 2,  # a rule after each statistic
            )  # fmt: skip
    return table


def fitted_comparison_table(cmp: object, console: Console) -> Table:
    """The wide comparison table if it fits the console's width uncut, else the long one."""
    from rich.measure import Measurement

    wide = comparison_table(cmp)
    needs = Measurement.get(console, console.options.update_width(10**6), wide).maximum
    return wide if needs <= console.width else comparison_table(cmp, long=True)


@click.command("compare")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications of every scenario (default: the first scenario's).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**63 - 1),
    default=None,
    help="Seed of every scenario (default: the first scenario's).",
)
@engine_option
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to use (default: all cores).",
)
@click.option(
    "--no-crn", is_flag=True, help="Run scenario k with seed+k and use independent intervals."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Comparison folder (default: results/compare-A-vs-B).",
)
@click.option("--json", "as_json", is_flag=True, help="Print comparison.json instead of a table.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (and --json).")
def compare_cmd(
    inputs: tuple[Path, ...],
    replications: int | None,
    seed: int | None,
    engine: str,
    workers: int | None,
    no_crn: bool,
    out: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Compare scenario files (run with common random numbers) or result folders.

    Per outcome: each scenario's estimate, its difference from the first with a 95%
    interval, and whether that is beyond Monte Carlo noise; then what differs in the
    scenarios' assumptions. Writes comparison.json, report.html and report.md.
    """
    from rich.console import Console

    from steppe._progress import notices
    from steppe.analysis.compare import compare
    from steppe.results.folders import OUT_HINT, check_replaceable, resolve_out

    try:
        for p in inputs:
            if not p.exists():
                raise ScenarioError(f"no such file or folder: {p}", file=str(p))
        if out is not None:  # refuse a folder that is not steppe's before running anything
            check_replaceable(resolve_out(out), "comparison", hint=OUT_HINT)
        with notices(quiet=quiet or as_json):  # e.g. that a kernel is being compiled
            cmp = compare(
                *inputs,
                replications=replications,
                seed=seed,
                engine=cast("EngineChoice", engine),
                workers=workers,
                crn=not no_crn,
            )
        folder = cmp.write(out)
    except SteppeError as err:
        _fail(err)
        return
    if as_json:
        click.echo((folder / "comparison.json").read_text(encoding="utf-8"), nl=False)
        return
    if quiet:
        return
    console = Console(highlight=False)
    if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
        console.width = max(console.width, 150)
    console.print(fitted_comparison_table(cmp, console))
    if cmp.outcome_notes:
        console.print("\nNot compared (not asked alike by every input):", markup=False)
        for note in cmp.outcome_notes:
            console.print(f"  {note}", markup=False)
    for name, changes in zip(cmp.scenarios[1:], cmp.changes[1:], strict=True):
        console.print(f"\nWhat differs in {name} (from {cmp.scenarios[0]}):", markup=False)
        if not changes:
            console.print("  nothing in the resolved scenarios", markup=False)
        for c in changes:
            what = "; ".join(
                f"{f}: {a or '-'} -> {b or '-'}"
                for f, a, b in c.fields
                if f.rsplit(".", 1)[-1] not in ("why", "source", "title")
            )
            console.print(
                f"  {c.kind} {c.section}{'.' + c.name if c.name else ''}"
                + (f": {what}" if what else ""),
                markup=False,
            )
    for note in cmp.change_notes:
        console.print(f"  note: {note}", markup=False)
    console.print(f"comparison written to {folder}", markup=False)


@click.command("report")
@click.argument("result_dir", type=click.Path(file_okay=False, path_type=Path))
def report_cmd(result_dir: Path) -> None:
    """Rebuild report.html, report.md and figures/ of RESULT_DIR from its JSON files."""
    from steppe.report import write_report

    try:
        md = write_report(result_dir)
    except SteppeError as err:
        _fail(err)
        return
    click.echo(f"report written to {result_dir / 'report.html'} and {md}")
