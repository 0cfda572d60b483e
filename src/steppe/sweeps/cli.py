"""``steppe sweep``: a sweep or sensitivity analysis from the command line.

Registered on the ``steppe`` command group by :mod:`steppe.cli`. Errors print as
``WHERE: error: PATH: message`` on stderr with exit status 2, as for ``steppe run``.
The sweep machinery (pandas, SciPy, the engines) and rich are imported when the command
runs, not with the module (``steppe --help`` imports none of them, issue 18).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from steppe._options import engine_option
from steppe.errors import ScenarioError, SteppeError
from steppe.sweeps._names import DESIGNS, METHODS

if TYPE_CHECKING:
    from rich.table import Table

    from steppe.engines import EngineChoice
    from steppe.sweeps._names import DesignKind, Method
    from steppe.sweeps.designs import Range
    from steppe.sweeps.executors import Executor
    from steppe.sweeps.gsa import SensitivityResult
    from steppe.sweeps.runner import SweepRun

__all__ = ["parse_vary", "sweep_cmd"]

EXIT_INPUT = 2
EXIT_INTERRUPTED = 130
DEFAULT_N = {"grid": 5, "lhs": 64, "sobol": 64, "method:sobol": 64, "method:morris": 20}


def _err(message: str, where: str = "--vary") -> ScenarioError:
    return ScenarioError(message, file=where)


def _float(text: str, name: str, what: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise _err(f"--vary {name}: {what}: expected a number, found {text!r}") from None
    if not math.isfinite(x):
        raise _err(f"--vary {name}: {what}: expected a finite number, found {text!r}")
    return x


def parse_vary(items: tuple[str, ...]) -> dict[str, Range]:
    """``NAME=LO:HI[:N]`` (a range, optionally with grid levels) or ``NAME=V1,V2,...``."""
    from steppe.sweeps.designs import Range

    if not items:
        raise _err("give at least one --vary NAME=LO:HI[:N]")
    out: dict[str, Range] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _err(f"--vary expects NAME=LO:HI[:N] or NAME=V1,V2,..., found {item!r}")
        if name in out:
            raise _err(f"--vary {name}: given twice")
        if "," in spec:
            vals = tuple(_float(v, name, "value") for v in spec.split(","))
            if len(set(vals)) < 2 or len(set(vals)) != len(vals):
                raise _err(f"--vary {name}: expected at least two distinct values, found {spec!r}")
            out[name] = Range(min(vals), max(vals), values=vals)
            continue
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise _err(f"--vary {name}: expected LO:HI or LO:HI:N, found {spec!r}")
        low, high = _float(parts[0], name, "LO"), _float(parts[1], name, "HI")
        if not low < high:
            raise _err(f"--vary {name}: LO must be < HI, found {parts[0]} >= {parts[1]}")
        levels = None
        if len(parts) == 3:
            if not parts[2].isdigit() or int(parts[2]) < 2:
                raise _err(f"--vary {name}: N must be a whole number >= 2, found {parts[2]!r}")
            levels = int(parts[2])
        out[name] = Range(low, high, levels=levels)
    return out


def _summary_table(swept: SweepRun, outcomes: list[str]) -> Table:
    from rich.table import Table

    t = Table(
        title=f"{swept.scenario.name}: {len(swept.table)} points ({swept.key['design']}), "
        f"{swept.key['replications']:,} replications each, seed {swept.key['seed']}",
        title_justify="left",
        caption="estimate ± Monte Carlo standard error; all rows in points.csv",
        caption_justify="left",
    )
    # names fold on a narrow terminal rather than being cut (see steppe.cli.outcome_table)
    for col in ("point", *swept.design.names):
        t.add_column(col, justify="right", overflow="fold")
    for o in outcomes:
        t.add_column(f"{o}\n{swept.statistics[o]}", justify="right", overflow="fold")
    for _, row in swept.table.head(12).iterrows():
        cells = [str(int(row["point"]))] + [f"{row[p]:.4g}" for p in swept.design.names]
        cells += [f"{row[o]:.4g} ± {row[o + '_se']:.2g}" for o in outcomes]
        t.add_row(*cells)
    return t


def _sens_table(sens: SensitivityResult) -> Table:
    """One row per outcome and parameter; intervals in brackets (95% bootstrap)."""
    from rich.table import Table

    t = Table(
        title=f"sensitivity ({sens.method}), {len(sens.points)} evaluations",
        title_justify="left",
        caption="noise: Monte Carlo variance / variance across points (keep it small)",
        caption_justify="left",
    )
    heads = ["S1 [95%]", "ST [95%]"] if sens.method == "sobol" else ["mu* ± conf", "sigma"]
    for c in ("outcome / parameter", *heads):
        t.add_column(c, justify="left" if c.startswith("outcome") else "right", overflow="fold")
    for o in sens.outcomes:
        t.add_row(f"{o} (noise {sens.noise_share[o]:.2f})", "", "")
        for p, r in sens.table(o).iterrows():
            if sens.method == "sobol":
                cells = [
                    f"{r[k]:.2f} [{r[k + '_low']:.2f}, {r[k + '_high']:.2f}]" for k in ("S1", "ST")
                ]
            else:
                cells = [f"{r['mu_star']:.3g} ± {r['mu_star_conf']:.2g}", f"{r['sigma']:.3g}"]
            t.add_row(f"  {p}", *cells)
    return t


@click.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--vary",
    "vary",
    multiple=True,
    metavar="NAME=LO:HI[:N]",
    help="A parameter to vary: a range (with N grid levels) or NAME=V1,V2,...",
)
@click.option(
    "--design",
    type=click.Choice(DESIGNS),
    default=None,
    help="Design of the points (default grid); not with --method.",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default=None,
    help="Sensitivity analysis: Sobol' indices or Morris screening (SALib).",
)
@click.option(
    "-n",
    "n",
    type=click.IntRange(min=1),
    default=None,
    help="Points (lhs, sobol), grid levels, Sobol' base samples or Morris trajectories.",
)
@click.option(
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications per point (default: the scenario's).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=2**63 - 1),
    default=None,
    help="Seed of the design and of every point (default: the scenario's).",
)
@click.option(
    "--outcome",
    "outcomes",
    multiple=True,
    metavar="NAME",
    help="Outcomes to report (repeatable; default all, charts for the first 6).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sweep folder (default: results/sweep-<scenario>).",
)
@click.option("--resume", is_flag=True, help="Continue the interrupted sweep in --out.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local processes (default: all cores).",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    default=None,
    help="Run the points on this running Dask scheduler.",
)
@click.option(
    "--dask-local",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Start a local Dask cluster of N worker processes.",
)
@engine_option
@click.option("--json", "as_json", is_flag=True, help="Print the manifest (and indices) as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def sweep_cmd(
    scenario: Path,
    vary: tuple[str, ...],
    design: str | None,
    method: str | None,
    n: int | None,
    replications: int | None,
    seed: int | None,
    outcomes: tuple[str, ...],
    out: Path | None,
    resume: bool,
    workers: int | None,
    scheduler: str | None,
    dask_local: int | None,
    engine: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run SCENARIO over a design of parameter values; write tables, charts and a report."""
    from rich.console import Console

    from steppe._progress import print_errors, progress_bar
    from steppe.load import load
    from steppe.sweeps.designs import make_design
    from steppe.sweeps.executors import DaskExecutor
    from steppe.sweeps.gsa import analyse
    from steppe.sweeps.points import select_outcomes
    from steppe.sweeps.report import build_manifest, write_outputs
    from steppe.sweeps.runner import check_vary, run_design

    folder = out
    try:
        ranges = parse_vary(vary)
        if method is not None and design is not None:
            raise _err(f"--method {method} makes its own design; drop --design", "--design")
        if scheduler is not None and dask_local is not None:
            raise _err("give --scheduler or --dask-local, not both", "--scheduler")
        if workers is not None and (scheduler is not None or dask_local is not None):
            raise _err("--workers is for local processes; Dask sizes its own", "--workers")
        sc = load(scenario)
        try:
            check_vary(sc, ranges)
        except ScenarioError as err:
            raise err.located(file="--vary", line=None, column=None) from None
        try:
            chosen = select_outcomes(sc, list(outcomes) if outcomes else None)
        except ScenarioError as err:
            raise err.located(file="--outcome", line=None, column=None) from None
        s = sc.spec.seed if seed is None else seed
        folder = out if out is not None else Path("results") / f"sweep-{sc.name}"
        executor: Executor | None = None
        if scheduler is not None:
            executor = DaskExecutor(scheduler=scheduler)
        elif dask_local is not None:
            executor = DaskExecutor(local_workers=dask_local)
        if scheduler:
            where = f"dask {scheduler}"
        elif dask_local:
            where = f"dask local cluster of {dask_local}"
        else:
            where = f"local processes: {workers or 'all cores'}"
        kind = cast("DesignKind", design or "grid")
        eng = cast("EngineChoice", engine)
        size = n if n is not None else DEFAULT_N[f"method:{method}" if method else kind]
        d = len(ranges)
        if method is None:
            points = make_design(ranges, design=kind, n=size, seed=s)
            total = len(points)
        else:
            total = size * (d + 2 if method == "sobol" else d + 1)
        began = time.perf_counter()
        sens: SensitivityResult | None = None
        with progress_bar(
            total, quiet=quiet or as_json, label="design points",
            what=f"this sweep of {total:,} design points", unit="the first design point",
        ) as tick:  # fmt: skip
            if method is None:
                swept = run_design(
                    sc,
                    points,
                    outcomes=chosen,
                    replications=replications,
                    seed=s,
                    engine=eng,
                    workers=workers,
                    executor=executor,
                    checkpoint=folder,
                    resume=resume,
                    progress=tick,
                )
            else:
                sens, maybe = analyse(
                    sc,
                    params={k: (r.low, r.high) for k, r in ranges.items()},
                    outcomes=chosen,
                    method=cast("Method", method),
                    n=size,
                    seed=s,
                    replications=replications,
                    num_resamples=1000,
                    conf_level=0.95,
                    num_levels=4,
                    engine=eng,
                    workers=workers,
                    executor=executor,
                    checkpoint=folder,
                    resume=resume,
                    progress=tick,
                )
                assert maybe is not None  # a scenario is always swept
                swept = maybe
        wall = time.perf_counter() - began
        manifest = build_manifest(swept, wall=wall, executor=where, n=size)
        figure_outcomes = list(outcomes) if outcomes else None
        write_outputs(folder, swept, manifest=manifest, sens=sens, figure_outcomes=figure_outcomes)
    except SteppeError as err:
        print_errors(err)
        sys.exit(EXIT_INPUT)
    except KeyboardInterrupt:
        click.echo(
            f"interrupted; finished points are saved in {folder}: continue with --resume",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        doc = {
            "folder": str(folder),
            "manifest": json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
        }
        if sens is not None:
            doc["sensitivity"] = json.loads((folder / "sensitivity.json").read_text("utf-8"))
        click.echo(json.dumps(doc, indent=2))
        return
    console = Console(highlight=False)
    shown = list(outcomes) if outcomes else list(swept.outcomes[:3])
    console.print(_summary_table(swept, shown))
    if sens is not None:
        console.print(_sens_table(sens))
    resumed = f" ({swept.resumed} resumed from the checkpoint)" if swept.resumed else ""
    console.print(f"sweep written to {folder}{resumed}", markup=False, soft_wrap=True)
