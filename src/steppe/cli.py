"""The ``steppe`` command line: ``run``, ``validate``, ``schema``.

Errors in a scenario print as ``FILE:LINE:COL: error: YAML.PATH: message`` on stderr and
exit with status 2; a failed run writes nothing into the result folder.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from steppe._options import engine_option
from steppe.analysis.cli import compare_cmd, report_cmd
from steppe.analysis.signposts_cli import signposts_cmd
from steppe.discovery.cli import discover_cmd
from steppe.errors import ScenarioError, ScenarioWarning, SteppeError
from steppe.scoring.cli import score_cmd
from steppe.sweeps.cli import sweep_cmd

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from steppe.api import RunResult

__all__ = ["main"]

EXIT_INPUT = 2

# The commands import what they run inside their functions, not here: ``steppe --help``,
# shell completion and ``steppe validate`` start without pandas, SciPy, matplotlib or Numba
# (issue 18; tests/test_imports.py).


def _parse_set(items: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ScenarioError(f"--set expects NAME=VALUE, found {item!r}", file="--set")
        try:
            number = float(value)
        except ValueError:
            raise ScenarioError(
                f"--set {name.strip()}: expected a number, found {value!r}", file="--set"
            ) from None
        if not math.isfinite(number):
            raise ScenarioError(
                f"--set {name.strip()}: expected a finite number, found {value!r}", file="--set"
            )
        out[name.strip()] = number
    return out


def _fmt(x: Any) -> str:
    """A number for the table: 3 decimals below 1, 2 below 100, thousands separators above."""
    if x is None:
        return "never"
    if isinstance(x, str):
        return x
    if isinstance(x, float) and not math.isfinite(x):
        return "-"
    size = abs(x)
    if size >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if size >= 0.9995 else f"{x:.3f}"  # 0.99996 shows as 1.00, as 1 does


def _interval(pair: list[Any]) -> str:
    from rich.markup import escape

    return escape(f"[{_fmt(pair[0])}, {_fmt(pair[1])}]")  # not rich markup


def precision_sentence(section: dict[str, Any]) -> str:
    """The line that says where a run with a precision rule stopped (``summary.json``'s
    ``precision`` section)."""
    n, se, target = section["replications"], section["final_se"], section["se"]
    if section["stopped"] == "precision met":
        which = ", ".join(section["outcomes"]) if section["outcomes"] else "every P"
        return f"stopped at {n:,} replications: {which}'s MC s.e. <= {target:g}"
    worst = max(se, key=lambda k: se[k])
    return f"cap reached at {n:,} replications: the s.e. of {worst} is {se[worst]:.4f} > {target:g}"


def outcome_table(result: RunResult) -> Table:
    """A rich table: each outcome with its estimate, MC standard error and 95% interval."""
    from rich.table import Table

    from steppe.results.stats import read_at

    s = result.summary
    table = Table(
        title=f"{s['scenario']}: {s['replications']:,} replications, seed {s['seed']}, "
        f"engine {s['engine']}, steppe {s['steppe_version']}",
        title_justify="left",
        caption="P: probability, Wilson 95% interval. Means: normal interval. Medians: "
        "order-statistic interval. 'never': not by the horizon in that share of runs.",
        caption_justify="left",
    )
    # On a narrow terminal names wrap (never cut: an analyst must tell kz_trade_2026 from
    # kz_trade_2030) and the numbers stay on one line each.
    table.add_column("outcome", overflow="fold")
    table.add_column("statistic")
    table.add_column("estimate", justify="right", no_wrap=True)
    table.add_column("MC s.e.", justify="right", no_wrap=True)
    table.add_column("95% interval", justify="right", no_wrap=True)
    table.add_column("date", no_wrap=True)
    horizon = s["horizon"]
    for name, o in s["outcomes"].items():
        kind = o["kind"]
        if kind == "probability":
            table.add_row(
                name, "P", _fmt(o["p"]), _fmt(o["se"]), _interval(o["ci95"]),
                o.get("date", horizon),
            )  # fmt: skip
        elif kind == "distribution":
            unit = f" ({o['unit']})" if o.get("unit") else ""
            table.add_row(
                name, "mean" + unit, _fmt(o["mean"]), _fmt(o["se"]), _interval(o["ci95"]),
                read_at(o, horizon),
            )  # fmt: skip
            table.add_row(
                "", "median" + unit, _fmt(o["quantiles"]["0.5"]), "",
                _interval(o["quantiles_ci95"]["0.5"]), "",
            )  # fmt: skip
        else:
            table.add_row(
                name, "P(by date)", _fmt(o["p_by"][horizon]), _fmt(o["p_by_se"][horizon]),
                _interval(o["p_by_ci95"][horizon]), horizon,
            )  # fmt: skip
            table.add_row(
                "", "median date", _fmt(o["quantiles"]["0.5"]), "",
                _interval(o["quantiles_ci95"]["0.5"]), "",
            )  # fmt: skip
    return table


def show_evidence(console: Console, summary: dict[str, Any]) -> None:
    """After the outcome table of a run conditioned on evidence: the weight diagnostic and
    what the evidence taught (:mod:`steppe.evidence.display`)."""
    from steppe.evidence.display import diagnostic_line, outcome_change_table, parameter_table

    console.print(diagnostic_line(summary), markup=False)
    console.print(outcome_change_table(summary))
    if summary["posterior"]:
        console.print(parameter_table(summary))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="steppe")
def main() -> None:
    """steppe: scenario forecasting with discrete-event Monte Carlo."""
    if not getattr(warnings.showwarning, "steppe", False):
        warnings.showwarning = _plain_warnings(warnings.showwarning)


def _plain_warnings(show: Callable[..., None]) -> Callable[..., None]:
    """``show`` (:func:`warnings.showwarning`) that prints a
    :class:`~steppe.errors.ScenarioWarning` as its located text alone, on standard error."""

    def shown(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if issubclass(category, ScenarioWarning):
            click.echo(str(message), err=True)
        else:
            show(message, category, *args, **kw)

    shown.steppe = True  # type: ignore[attr-defined]
    return shown


main.add_command(sweep_cmd)  # steppe sweep: src/steppe/sweeps/cli.py
main.add_command(compare_cmd)  # steppe compare: src/steppe/analysis/cli.py
main.add_command(report_cmd)  # steppe report: src/steppe/analysis/cli.py
main.add_command(score_cmd)  # steppe score: src/steppe/scoring/cli.py
main.add_command(signposts_cmd)  # steppe signposts: src/steppe/analysis/signposts_cli.py
main.add_command(discover_cmd)  # steppe discover: src/steppe/discovery/cli.py


@main.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Number of replications (default: the scenario's).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**63 - 1),
    default=None,
    help="Random seed (default: the scenario's).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Fix a parameter at a value (repeatable).",
)
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="An evidence file (an evidence: list, optional as_of:) to condition on, after "
    "the scenario's own evidence (repeatable).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Result folder (default: results/<scenario-name>).",
)
@engine_option
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of a table.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes to use (default: all cores). The numbers do not depend on it.",
)
@click.option(
    "--keep-samples",
    is_flag=True,
    help="Write every replication to samples.parquet (default: the first 250,000).",
)
@click.option(
    "--precision",
    type=click.FloatRange(min=0.0, max=0.5, min_open=True, max_open=True),
    default=None,
    metavar="SE",
    help="Stop once every probability's MC standard error is at most SE (replications in "
    "stages, up to -n or the scenario's; docs/engine.md, section 8).",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress bar, notices or estimate of a long run's time.",
)
def run_cmd(
    scenario: Path,
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    evidence: tuple[Path, ...],
    out: Path | None,
    engine: str,
    as_json: bool,
    workers: int | None,
    keep_samples: bool,
    precision: float | None,
    quiet: bool,
) -> None:
    """Run SCENARIO and print each outcome with its Monte Carlo error."""
    from rich.console import Console

    from steppe._progress import print_errors, progress_bar
    from steppe.analysis.cromwell import cromwell_lines, lint
    from steppe.api import run
    from steppe.load import load
    from steppe.results.folders import OUT_HINT, check_replaceable, resolve_out

    try:
        overrides = _parse_set(sets)
        sc = load(scenario, evidence=evidence)
        try:  # checked here too, so that a bad override is reported against --set
            sc.with_overrides(overrides)
        except ScenarioError as err:
            raise err.located(file="--set", line=None, column=None) from None
        folder = out if out is not None else Path("results") / sc.name
        # Refuse a folder that is not steppe's before running anything (checked again when
        # the folder is written).
        check_replaceable(resolve_out(folder), "result", hint=OUT_HINT)
        total = replications or sc.spec.replications
        with progress_bar(total, quiet=quiet, label="simulating") as tick:
            try:
                result = run(
                    sc,
                    replications=replications,
                    seed=seed,
                    overrides=overrides,
                    engine=engine,  # type: ignore[arg-type]
                    workers=workers,
                    keep_samples=keep_samples,
                    progress=tick,
                    precision=precision,
                )
            except ScenarioError as err:  # e.g. a size limit: name the scenario file
                if err.file is not None:
                    raise
                raise err.located(file=str(scenario), line=None, column=None) from None
        folder = result.write(folder)
    except SteppeError as err:
        print_errors(err)
        sys.exit(EXIT_INPUT)
    if as_json:
        # The file as written: strict JSON (json.dumps would print Infinity and NaN).
        click.echo((folder / "summary.json").read_text(encoding="utf-8"), nl=False)
    else:
        console = Console(highlight=False)
        console.print(outcome_table(result))
        if "evidence" in result.summary:
            show_evidence(console, result.summary)
        if "precision" in result.summary:
            console.print(precision_sentence(result.summary["precision"]), markup=False)
        for line in cromwell_lines(lint(result.scenario, result=result), result.summary):
            console.print(line, markup=False, soft_wrap=True)  # docs/scoring.md
        console.print(f"results written to {folder}", markup=False)


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--provenance",
    is_flag=True,
    help="Also require a source or why for every number (docs/scenario-format.md, section 17).",
)
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="An evidence file to check with each scenario (repeatable).",
)
@click.option(
    "--lint",
    "with_lint",
    is_flag=True,
    help="Also report outcomes that are 0 or 1 by the scenario's structure and questions "
    "that all resolve late (warnings: the exit status stays 0; docs/scoring.md).",
)
@click.option("--json", "as_json", is_flag=True, help="With --lint: print the findings as JSON.")
@click.option(
    "--expand",
    is_flag=True,
    help="Print each valid file as YAML with its templates expanded (a variant: merged onto "
    "the scenario it extends).",
)
def validate_cmd(
    files: tuple[Path, ...],
    provenance: bool,
    evidence: tuple[Path, ...],
    with_lint: bool,
    as_json: bool,
    expand: bool,
) -> None:
    """Check scenario FILES without running them (exit 0 when all are valid)."""
    if expand and as_json:
        raise click.UsageError("--expand prints YAML; it cannot be combined with --json")
    from steppe.analysis.cromwell import lint
    from steppe.load import load
    from steppe.load.loader import expanded_text
    from steppe.load.provenance import provenance_gaps

    bad = 0
    report: list[dict[str, Any]] = []
    for f in files:
        try:
            sc = load(f, evidence=evidence)
            if expand:
                click.echo(expanded_text(f), nl=False)
            gaps = provenance_gaps(f, evidence=evidence) if provenance else []
            findings = lint(f, evidence=evidence) if with_lint else []
        except ScenarioError as err:
            from steppe._progress import print_errors  # rich: only when there is an error

            print_errors(err)
            bad += 1
            continue
        if as_json:
            report.append({"file": str(f), "findings": [x.to_dict() for x in findings]})
        else:
            for finding in findings:
                click.echo(str(finding))
        if gaps:
            from steppe._progress import stderr_console

            console = stderr_console()
            for gap in gaps:
                console.print(str(gap), markup=False)
            bad += 1
        elif as_json:
            pass
        elif sc.evidence:
            n = len(sc.evidence)
            items = f"{n} evidence item{'s' if n != 1 else ''}"
            click.echo(f"{f}: ok ({items} as of {sc.spec.as_of})")
        else:
            click.echo(f"{f}: ok")
    if as_json:
        click.echo(json.dumps(report, indent=2))
    if bad:
        sys.exit(EXIT_INPUT)


@main.command("schema")
@click.option(
    "--evidence",
    "evidence",
    is_flag=True,
    help="Print the JSON Schema of evidence files (steppe run --evidence FILE) instead.",
)
@click.option(
    "--resolutions",
    "resolutions",
    is_flag=True,
    help="Print the JSON Schema of resolutions files (steppe score --resolutions FILE) instead.",
)
def schema_cmd(evidence: bool, resolutions: bool) -> None:
    """Print the JSON Schema of scenario files (scenarios and their variants)."""
    if resolutions:
        from steppe.scoring.spec import resolutions_file_schema

        click.echo(json.dumps(resolutions_file_schema(), indent=2))
        return
    from steppe.load.fileschema import evidence_file_schema, file_schema

    click.echo(json.dumps(evidence_file_schema() if evidence else file_schema(), indent=2))
