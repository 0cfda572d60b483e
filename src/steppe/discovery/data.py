"""Where discovery's cases come from: a run's kept replications or a sweep's design points.

* **A run** (a result folder or a :class:`~steppe.RunResult`): one case per kept
  replication (``samples.parquet``: the first 250,000 unless the run kept all). Its inputs
  are the replication's parameter draws, which a result folder does not store: they are
  drawn again with :func:`~steppe.engines.common.draw_parameters` from the scenario file the
  manifest names (its sha256 must match: a changed file would give other draws), the
  manifest's seed and overrides, for replications ``0 .. n - 1`` -- the very numbers the
  run used, correlations included (``tests/test_discovery.py`` checks it). Only parameters
  drawn from a distribution are inputs: fixed ones do not vary, derived ones are functions
  of the drawn ones. A run conditioned on evidence keeps a resample of weighted particles:
  from a :class:`~steppe.RunResult` its posterior draws are used; from a folder it is refused
  (they cannot be drawn again).
* **A sweep** (a sweep folder, or the table :func:`steppe.sweep` returns): one case per
  design point; the inputs are the varied parameters, the outcome is the point's estimate.

The outcome becomes 0/1 per case. ``where`` is a condition on ``value`` in the scenario
language (``value >= 3000``; parsed with :mod:`steppe.model.expr`, never ``eval``). Without
it, a probability outcome is its own 0/1, and a time-to-event outcome is "happened by the
horizon"; a value outcome and every sweep outcome need ``where``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steppe.errors import ExpressionError, ResultError
from steppe.model.base import suggest
from steppe.model.expr import Symbol, compile_expression, parse_expression

if TYPE_CHECKING:
    from steppe.api import RunResult
    from steppe.model.scenario import Scenario

__all__ = ["Cases", "ParamInfo", "load_cases", "outcome_rule"]

POINTS = "points.parquet"


@dataclass(frozen=True)
class ParamInfo:
    """What a reader needs beside a parameter's limits."""

    name: str
    distribution: str = ""
    source: str = ""
    why: str = ""


@dataclass(frozen=True)
class Cases:
    """Inputs and 0/1 outcome of the cases discovery looks at.

    Attributes
    ----------
    x
        One row per case, one column per input parameter (float).
    y
        The outcome, ``True`` where the condition holds.
    phrase
        The condition in words ("kz_trade_reaches_3b happens by the horizon 2030-12-31").
    scenario, outcome, origin
        The scenario's name, the outcome's name and ``"run"`` or ``"sweep"``.
    params
        Per input, its description and sources.
    dropped
        Parameters left out because they do not vary over the cases.
    title
        The outcome's title in the scenario, if it has one.
    """

    x: pd.DataFrame
    y: np.ndarray
    phrase: str
    scenario: str
    outcome: str
    origin: str
    params: dict[str, ParamInfo] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    title: str = ""


def _infos(sc: Scenario | None) -> dict[str, ParamInfo]:
    if sc is None:
        return {}
    out = {}
    for p in sc.params:
        source, why = (" ".join((t or "").split()) for t in (p.source, p.why))
        out[p.name] = ParamInfo(p.name, p.describe(), source, why)
    return out


def outcome_rule(where: str) -> Any:
    """Compile ``where`` (a condition on ``value``) into a function of an array of values.

    Raises
    ------
    ExpressionError
        If it is not a valid expression of the scenario language on the one name ``value``
        (the message names the offending part, with a did-you-mean).
    """
    expr = parse_expression(where, path=("--where",))
    compiled = compile_expression(
        expr, {"value": Symbol("param", 0)}, mode="vector", context="a --where condition"
    )

    def rule(values: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = compiled(SimpleNamespace(p=[np.asarray(values, dtype=float)]))
        truth: np.ndarray = np.broadcast_to(np.asarray(out, dtype=float), values.shape) != 0.0
        return truth

    return rule


def _binary(
    values: np.ndarray, body: dict[str, Any], name: str, where: str | None, horizon: str
) -> tuple[np.ndarray, str]:
    kind = body.get("kind", "")
    if where is not None:
        y = outcome_rule(where)(values)
        what = {"time_to_event": " (time in years from the start; inf: not by the horizon)"}
        return y, f"{name} {where}{what.get(kind, '')}"
    if kind == "probability":
        return values > 0.5, f"{name} holds"
    if kind == "time_to_event":
        return np.isfinite(values), f"{name} happens by the horizon {horizon}"
    raise ExpressionError(
        f"outcome {name!r} is a {kind or 'value'} outcome: say which values count with "
        '--where, e.g. --where "value >= 3000"',
        path=("--where",),
    )


def _varying(x: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    const = tuple(c for c in x.columns if x[c].nunique() <= 1)
    return x.drop(columns=list(const)), const


def _check_outcome(name: str, outcomes: list[str], scenario: str) -> None:
    if name not in outcomes:
        raise ResultError(
            f"{scenario}: no outcome {name!r}{suggest(name, outcomes)}; "
            f"outcomes: {', '.join(outcomes)}"
        )


def _draws(sc: Scenario, seed: int, n: int) -> pd.DataFrame:
    from steppe.engines.common import draw_parameters  # the engines: only when needed

    drawn = [p for p in sc.params if p.dist is not None]
    values = draw_parameters(sc, seed, 0, n)
    return pd.DataFrame({p.name: values[:, p.index] for p in drawn})


def _from_result(result: RunResult, outcome: str, where: str | None) -> Cases:
    sc, summary = result.scenario, result.summary
    _check_outcome(outcome, list(result.samples.columns), sc.name)
    n = len(result.samples)
    if result.posterior is not None:
        names = [p.name for p in sc.params if p.dist is not None]
        x = result.posterior[[c for c in names if c in result.posterior.columns]]
        x = x.reset_index(drop=True).astype(float)
    else:
        x = _draws(sc, int(result.manifest["seed"]), n)
    values = result.samples[outcome].to_numpy(dtype=float)
    body = summary["outcomes"].get(outcome, {})
    y, phrase = _binary(values, body, outcome, where, str(summary["horizon"]))
    x, dropped = _varying(x)
    title = str(body.get("title") or "")
    return Cases(x, y, phrase, sc.name, outcome, "run", _infos(sc), dropped, title)


def _scenario_of(manifest: dict[str, Any], folder: Path, scenario: str | Path | None) -> Scenario:
    from steppe.load import load

    file = Path(scenario) if scenario is not None else None
    if file is None:
        named = manifest.get("scenario_file")
        if not named:
            raise ResultError(
                f"{folder}/manifest.json names no scenario file (a scenario built in Python): "
                "give the scenario with --scenario"
            )
        file = Path(named)
    if not file.is_file():
        raise ResultError(
            f"{folder}/manifest.json: scenario file {str(file)!r} not found from "
            f"{Path.cwd()}: run from where the scenario ran, or give it with --scenario"
        )
    sc = load(file)
    want = manifest.get("scenario_sha256")
    if want and sc.sha256 != want:
        raise ResultError(
            f"{file}: its sha256 {sc.sha256} is not the one the run recorded ({want}) in "
            f"{folder}/manifest.json: the file changed since the run, so its parameters "
            "cannot be drawn again; run the scenario again"
        )
    return sc.with_overrides(manifest.get("overrides") or {})


def _from_run_folder(
    folder: Path, outcome: str, where: str | None, scenario: str | Path | None
) -> Cases:
    from steppe.results.io import read_result_folder

    summary, manifest, samples = read_result_folder(folder)
    if summary.get("evidence"):
        raise ResultError(
            f"{folder}: a run conditioned on evidence keeps a resample of weighted particles, "
            "whose parameters cannot be drawn again; use steppe.discover on the RunResult "
            "(its posterior holds them)"
        )
    _check_outcome(outcome, list(samples.columns), str(summary.get("scenario")))
    sc = _scenario_of(manifest, folder, scenario)
    x = _draws(sc, int(manifest["seed"]), len(samples))
    values = samples[outcome].to_numpy(dtype=float)
    body = summary["outcomes"].get(outcome, {})
    y, phrase = _binary(values, body, outcome, where, str(summary["horizon"]))
    x, dropped = _varying(x)
    title = str(body.get("title") or "")
    return Cases(x, y, phrase, sc.name, outcome, "run", _infos(sc), dropped, title)


def _from_sweep(
    table: pd.DataFrame, vary: list[str], outcome: str, where: str | None, scenario_name: str,
    sc: Scenario | None,
) -> Cases:  # fmt: skip
    outcomes = [c for c in table.columns if c not in {"point", *vary} and not c.endswith("_se")]
    _check_outcome(outcome, outcomes, scenario_name)
    if where is None:
        raise ExpressionError(
            f"a sweep's outcome {outcome!r} is one estimate per design point: say which "
            'points count with --where, e.g. --where "value >= 0.5"',
            path=("--where",),
        )
    values = table[outcome].to_numpy(dtype=float)
    y = outcome_rule(where)(values)
    x, dropped = _varying(table[vary].astype(float).reset_index(drop=True))
    phrase = f"{outcome} {where} (the point's estimate)"
    return Cases(x, y, phrase, scenario_name, outcome, "sweep", _infos(sc), dropped)


def _from_sweep_folder(
    folder: Path, outcome: str, where: str | None, scenario: str | Path | None
) -> Cases:
    manifest_file = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        table = pd.read_parquet(folder / POINTS, engine="pyarrow")
    except (OSError, ValueError) as exc:
        raise ResultError(f"{folder}: cannot read the sweep's manifest and points: {exc}") from exc
    vary = list(manifest.get("vary") or {})
    sc = None
    file = scenario if scenario is not None else manifest.get("scenario_file")
    if file and Path(file).is_file():
        from steppe.load import load

        sc = load(file)
    name = str(manifest.get("scenario") or (sc.name if sc else folder.name))
    return _from_sweep(table, vary, outcome, where, name, sc)


def load_cases(
    source: RunResult | pd.DataFrame | str | Path,
    outcome: str,
    *,
    where: str | None = None,
    scenario: str | Path | None = None,
) -> Cases:
    """The cases of ``source`` (see the module docstring).

    Raises
    ------
    ResultError
        For a folder that is neither a result nor a sweep folder, an unknown outcome, a
        scenario file that is missing or changed since the run, a conditioned run's folder.
    ExpressionError
        For a ``where`` that does not parse, or a missing one where it is needed.
    """
    from steppe.api import RunResult

    if isinstance(source, RunResult):
        return _from_result(source, outcome, where)
    if isinstance(source, pd.DataFrame):
        vary = list(source.attrs.get("vary") or {})
        if not vary:
            raise ResultError("a sweep table must carry its 'vary' in attrs (steppe.sweep's)")
        name = str(source.attrs.get("scenario") or "sweep")
        return _from_sweep(source, vary, outcome, where, name, None)
    folder = Path(source)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a directory"
        raise ResultError(f"{folder}: {what} (expected a result or sweep folder)")
    if (folder / POINTS).is_file():
        return _from_sweep_folder(folder, outcome, where, scenario)
    return _from_run_folder(folder, outcome, where, scenario)


def finite_or_none(v: float) -> float | None:
    """``v``, or ``None`` when it is not finite (JSON)."""
    return v if math.isfinite(v) else None
