"""Compare scenarios: per outcome, how much it moves and whether beyond Monte Carlo noise.

``compare(A, B, C, ...)`` takes scenario files (or loaded scenarios) or result folders, not a
mix, and compares every outcome of B, C, ... with the first, A:

* **Scenario files** are run with **common random numbers** (CRN): the same seed and number
  of replications for all. Parameters draw from per-name streams (``docs/engine.md`` section
  5), so replication ``i`` of A and of B get the same value of every assumption they share,
  and replication ``i`` of B is paired with replication ``i`` of A. The interval of a
  difference is then the **paired** one: the mean of the per-replication differences
  ``d_i = x_i(B) - x_i(A)`` with standard error ``sd(d) / sqrt(n)``; its variance
  ``Var(A) + Var(B) - 2 Cov(A, B)`` is smaller than that of independent runs whenever the
  shared draws move both scenarios the same way. ``crn=False`` runs scenario ``k`` with seed
  ``seed + k`` instead and uses independent intervals (for checking what CRN buys).
* **Result folders** are compared with **independent** intervals (Newcombe's interval for a
  difference of proportions from the Wilson intervals in each summary; a normal interval
  with ``sqrt(se_A^2 + se_B^2)`` for means), unless every folder was run with the same seed
  and replications and holds the samples of every replication (``samples.parquet``): then
  the runs share their parameter draws, as above, and the paired interval is used.
* A run **conditioned on evidence** (``docs/engine.md`` section 10) is a set of weighted
  particles whose samples are an equally weighted resample: particle ``i`` is not
  replication ``i`` of another run, so its comparisons always use the independent
  intervals, from its weighted summaries.

Per outcome the compared statistic is: ``P`` for probability (and ``combine``) outcomes, the
difference of indicators; the ``mean`` for value outcomes; ``P(by horizon)`` for time-to-event
outcomes (the indicator that it happened in the window), with the median dates shown
alongside. A difference is **beyond Monte Carlo noise** when its 95% interval excludes 0.
Only the outcomes that every input asks alike (same name, kind and date; the same horizon
for time to event) are compared; the others are listed in
:attr:`Comparison.outcome_notes` (a scenario updated on evidence usually adds near-term
questions to those of its prior). Inputs that share no such outcome are refused with a
:class:`~steppe.errors.ComparisonError` that lists the differences.

Every scenario runs on the same engine (``auto`` is resolved once for all of them).

Caveat: in the compiled engine the dynamics (event times, series noise) are drawn per chunk,
so beyond the parameters, CRN runs may also share random numbers between *different*
replications of A and B. Such sharing makes the pairs slightly dependent; it tends to
correlate ``x_i(A)`` with ``x_j(B)`` positively, which makes the paired interval
conservative rather than too narrow.

References
----------
.. [1] R. G. Newcombe, "Interval estimation for the difference between independent
   proportions: comparison of eleven methods", Statistics in Medicine 17 (1998), 873-890
   (method 10).
.. [2] A. M. Law, *Simulation Modeling and Analysis*, 5th ed., McGraw-Hill, 2015,
   section 11.2 (common random numbers) and 10.2 (paired-t intervals).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from steppe.analysis.intervals import (
    Difference,
    Estimate,
    estimate,
    independent,
    indicator,
    paired,
    se_of,
)
from steppe.analysis.semantic_diff import Change, diff_specs, plain
from steppe.api import engine_for_runs, run
from steppe.engines import EngineChoice, check_choice
from steppe.errors import ComparisonError, ResultError
from steppe.load import load
from steppe.model.scenario import OutcomeModel, Scenario
from steppe.results.io import read_result_folder, read_summary_manifest
from steppe.results.stats import read_at

__all__ = ["Comparison", "Difference", "Estimate", "OutcomeComparison", "compare"]

STATISTIC = {"probability": "P", "distribution": "mean", "time_to_event": "P(by horizon)"}


@dataclass(frozen=True)
class OutcomeComparison:
    """One outcome across the scenarios: ``differences[0]`` is ``None`` (the reference)."""

    outcome: str
    kind: str
    statistic: str
    date: str
    unit: str | None
    title: str | None
    estimates: tuple[Estimate, ...]
    differences: tuple[Difference | None, ...]


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    scenarios, sources
        Scenario names (made unique) and the files or folders they came from.
    inputs
        ``"scenarios"`` (files, run here) or ``"results"`` (result folders).
    crn, pairing
        Whether common random numbers were used with paired intervals, and why or why not.
    outcomes
        Per outcome, the estimates and the differences from the first scenario.
    changes
        Per scenario, what differs in its assumptions from the first (semantic diff).
    summaries, manifests
        The runs' ``summary.json`` and ``manifest.json`` documents (for reports).
    outcome_notes
        The outcomes not compared and why: asked by only some of the inputs, or asked
        differently (another kind or date); empty when all ask the same questions.
    """

    scenarios: tuple[str, ...]
    sources: tuple[str, ...]
    inputs: Literal["scenarios", "results"]
    crn: bool
    pairing: str
    outcomes: tuple[OutcomeComparison, ...]
    changes: tuple[tuple[Change, ...], ...]
    change_notes: tuple[str, ...]
    summaries: tuple[dict[str, Any], ...] = field(repr=False)
    manifests: tuple[dict[str, Any], ...] = field(repr=False)
    outcome_notes: tuple[str, ...] = ()

    @property
    def default_folder(self) -> Path:
        """``results/compare-A-vs-B[-vs-C...]``."""
        return Path("results") / ("compare-" + "-vs-".join(self.scenarios))

    def to_json(self) -> dict[str, Any]:
        """The ``comparison.json`` document."""
        runs = [
            {
                "scenario": name,
                "source": src,
                "seed": s["seed"],
                "replications": s["replications"],
                "engine": s["engine"],
                "steppe_version": s["steppe_version"],
                "scenario_sha256": m.get("scenario_sha256"),
            }
            for name, src, s, m in zip(
                self.scenarios, self.sources, self.summaries, self.manifests, strict=True
            )
        ]
        return {
            "scenarios": list(self.scenarios),
            "inputs": self.inputs,
            "crn": self.crn,
            "pairing": self.pairing,
            "runs": runs,
            "outcomes": {o.outcome: _outcome_json(o, self.scenarios) for o in self.outcomes},
            "outcomes_not_compared": list(self.outcome_notes),
            "assumption_changes": {
                name: [c.to_json() for c in ch]
                for name, ch in zip(self.scenarios[1:], self.changes[1:], strict=True)
            },
            "assumption_notes": list(self.change_notes),
        }

    def write(self, out_dir: str | Path | None = None, *, report: bool = True) -> Path:
        """Write ``comparison.json`` (and the report) into a folder, atomically.

        The default folder is :attr:`default_folder`. An existing folder is replaced only if
        it is empty or a steppe comparison folder (its marker ``.steppe``, see
        :mod:`steppe.results.folders`).
        """
        from steppe.report.comparison import write_comparison  # matplotlib, lazily

        return write_comparison(self, Path(out_dir or self.default_folder), report=report)


def _outcome_json(o: OutcomeComparison, names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": o.kind,
        "statistic": o.statistic,
        "date": o.date,
        "unit": o.unit,
        "title": o.title,
        "estimates": {},
        "differences": {},
    }
    for name, est, diff in zip(names, o.estimates, o.differences, strict=True):
        out["estimates"][name] = {"value": est.value, "ci95": list(est.ci95)}
        if o.kind == "time_to_event":
            out["estimates"][name]["median_date"] = est.median_date
        if diff is not None:
            out["differences"][name] = {
                "value": diff.value,
                "se": diff.se,
                "ci95": list(diff.ci95),
                "beyond_noise": diff.beyond_noise,
                "paired": diff.paired,
            }
    return out


# -- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    name: str
    source: str
    summary: dict[str, Any]
    manifest: dict[str, Any]
    samples: pd.DataFrame | None
    spec: dict[str, Any] | None


def _signature(summary: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Outcome name -> (kind, date it is read at; the horizon for time to event; a total's
    period)."""
    return {
        name: (o["kind"], read_at(o, summary["horizon"])) for name, o in summary["outcomes"].items()
    }


def _scenario_signature(sc: Scenario) -> dict[str, tuple[str, str]]:
    def when(o: OutcomeModel) -> str:
        if o.period is not None:
            return f"{o.period[0]} to {o.period[1]}"
        return (o.date or sc.spec.horizon).isoformat()

    return {o.name: (o.kind, when(o)) for o in sc.outcomes}


def _shared_outcomes(
    sigs: Sequence[dict[str, tuple[str, str]]], names: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The outcomes every input asks alike (same kind, same date), in the first's order,
    and a note per outcome left out: missing from some input, or asked differently."""
    ref = sigs[0]
    shared = tuple(k for k in ref if all(sig.get(k) == ref[k] for sig in sigs[1:]))
    notes = []
    for name, sig in zip(names, sigs, strict=True):
        only = [k for k in sig if any(k not in other for other in sigs)]
        if only:
            notes.append(f"only in {name}: {', '.join(only)}")
    for k in ref:
        asked = [(name, sig[k]) for name, sig in zip(names, sigs, strict=True) if k in sig]
        if len(asked) == len(sigs) and k not in shared:
            notes.append(
                f"{k} is asked differently: "
                + ", ".join(f"{kind} at {date} in {name}" for name, (kind, date) in asked)
            )
    if not shared:
        raise ComparisonError(
            "cannot compare: no outcome is asked alike by all of "
            + ", ".join(names)
            + " ("
            + "; ".join(notes)
            + "). Compare scenarios or results that ask some of the same questions at the "
            "same dates."
        )
    return shared, tuple(notes)


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        label, k = n, 2
        while label in out:
            label, k = f"{n}#{k}", k + 1
        out.append(label)
    return tuple(out)


def _folder_spec(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The resolved spec of a result's scenario, if its file is still there, unchanged."""
    file = manifest.get("scenario_file")
    if not file or not Path(file).is_file():
        return None
    try:
        sc = load(file)
    except Exception:
        return None
    return plain(sc.spec) if sc.sha256 == manifest.get("scenario_sha256") else None


def _recorded_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Parameter changes from two summaries' ``assumptions`` (when no spec is available)."""
    pa, pb = a.get("assumptions", {}), b.get("assumptions", {})
    out = []
    for name in [*pa, *(k for k in pb if k not in pa)]:
        if name not in pb:
            out.append(Change("parameters", name, "removed"))
        elif name not in pa:
            out.append(Change("parameters", name, "added"))
        elif pa[name].get("distribution") != pb[name].get("distribution"):
            fields = (("distribution", pa[name].get("distribution"), pb[name].get("distribution")),)
            out.append(Change("parameters", name, "changed", fields))
    return out


def _compare_runs(
    runs: Sequence[_Run], shared: Sequence[str], *, pair: bool
) -> tuple[OutcomeComparison, ...]:
    ref = runs[0].summary
    horizon = ref["horizon"]
    out = []
    for name in shared:
        o = ref["outcomes"][name]
        kind = o["kind"]
        ests = tuple(estimate(r.summary["outcomes"][name], horizon) for r in runs)
        diffs: list[Difference | None] = [None]
        for r, est in zip(runs[1:], ests[1:], strict=True):
            if pair:
                assert runs[0].samples is not None and r.samples is not None
                a = indicator(kind, runs[0].samples[name].to_numpy(dtype=np.float64))
                b = indicator(kind, r.samples[name].to_numpy(dtype=np.float64))
                diffs.append(paired(a, b))
            else:
                se_b = se_of(r.summary["outcomes"][name], horizon)
                diffs.append(independent(kind, ests[0], est, se_of(o, horizon), se_b))
        out.append(
            OutcomeComparison(
                name,
                kind,
                STATISTIC[kind],
                read_at(o, horizon),
                o.get("unit"),
                o.get("title"),
                ests,
                tuple(diffs),
            )
        )
    return tuple(out)


# -- the entry point ----------------------------------------------------------------------


def compare(
    *inputs: str | Path | Scenario,
    replications: int | None = None,
    seed: int | None = None,
    engine: EngineChoice = "auto",
    workers: int | None = 1,
    crn: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Comparison:
    """Compare scenarios (files or loaded) or result folders with the first one.

    Parameters
    ----------
    *inputs
        Two or more scenario files / :class:`~steppe.Scenario` objects, or two or more
        result folders (not a mix).
    replications, seed
        For scenarios: used for every run; default to the first scenario's own.
    engine, workers, progress
        As for :func:`steppe.run`; every scenario runs on the same engine, ``auto``
        resolved for ``replications`` of each of them (see
        :func:`~steppe.engines.registry.resolve_engine`).
    crn
        For scenarios: run all with the same seed and use paired intervals (default). With
        ``False`` scenario ``k`` runs with seed ``seed + k`` and intervals are independent.

    Returns
    -------
    Comparison

    Raises
    ------
    ComparisonError
        Fewer than two inputs, a mix of folders and scenarios, or no outcome asked alike
        by all of them.
    EngineError
        For an unknown or retired engine.
    ScenarioError, SimulationError, ResultError
        As raised while loading, running or reading the inputs.
    """
    check_choice(engine)
    if len(inputs) < 2:
        raise ComparisonError(f"compare needs at least two inputs, found {len(inputs)}")
    folders = [not isinstance(x, Scenario) and Path(x).is_dir() for x in inputs]
    if any(folders) and not all(folders):
        mixed = ", ".join(
            f"{x} ({'folder' if f else 'scenario'})" for x, f in zip(inputs, folders, strict=True)
        )
        raise ComparisonError(f"compare takes scenario files or result folders, not a mix: {mixed}")
    if all(folders):
        return _compare_folders([Path(x) for x in inputs])  # type: ignore[arg-type]
    scs = [x if isinstance(x, Scenario) else load(x) for x in inputs]
    names = _unique([sc.name for sc in scs])
    shared, left_out = _shared_outcomes([_scenario_signature(sc) for sc in scs], names)
    n = replications if replications is not None else scs[0].spec.replications
    s = seed if seed is not None else scs[0].spec.seed
    used = engine_for_runs(scs, engine=engine, replications=n, keep_samples=True)
    runs = []
    for k, (sc, name) in enumerate(zip(scs, names, strict=True)):
        res = run(
            sc,
            replications=n,
            seed=s if crn else (s + k) % 2**63,
            engine=used,
            workers=workers,
            keep_samples=True,
            progress=progress,
        )
        src = sc.file or name
        runs.append(_Run(name, src, res.summary, res.manifest, res.samples, plain(sc.spec)))
    # A run conditioned on evidence is a weighted set of particles, resampled for its
    # samples: particle i is not replication i of another run, so nothing is paired.
    conditioned = [name for sc, name in zip(scs, names, strict=True) if sc.evidence]
    pair = crn and not conditioned
    pairing = (
        f"common random numbers: every scenario ran with seed {s} and {n:,} replications; "
        "replication i of each is paired with replication i of the first (paired intervals)"
        if pair
        else f"independent runs (seeds {s}, {s}+1, ...; {n:,} replications): unpaired intervals"
        if not crn
        else f"seed {s} and {n:,} replications for every scenario, but "
        f"{', '.join(conditioned)} conditioned on evidence (weighted particles, not paired "
        "with replications): unpaired intervals"
    )
    changes: tuple[tuple[Change, ...], ...] = (
        (),
        *tuple(tuple(diff_specs(runs[0].spec or {}, r.spec or {})) for r in runs[1:]),
    )
    return Comparison(
        names,
        tuple(r.source for r in runs),
        "scenarios",
        pair,
        pairing,
        _compare_runs(runs, shared, pair=pair),
        changes,
        (),
        tuple(r.summary for r in runs),
        tuple(r.manifest for r in runs),
        left_out,
    )


def _compare_folders(paths: Sequence[Path]) -> Comparison:
    loaded = [read_summary_manifest(p) for p in paths]
    names = _unique([s.get("scenario", p.name) for (s, _), p in zip(loaded, paths, strict=True)])
    shared, left_out = _shared_outcomes([_signature(s) for s, _ in loaded], names)
    same = len({(m.get("seed"), m.get("replications")) for _, m in loaded}) == 1
    same = same and not any("evidence" in s for s, _ in loaded)  # weighted: never paired
    samples: list[pd.DataFrame | None] = [None] * len(paths)
    if same and all((p / "samples.parquet").is_file() for p in paths):
        try:
            samples = [read_result_folder(p)[2] for p in paths]
        except ResultError:
            samples = [None] * len(paths)
    n = loaded[0][1].get("replications")
    use_pairs = all(x is not None and len(x) == n for x in samples)
    if use_pairs:
        pairing = (
            f"result folders run with the same seed ({loaded[0][1].get('seed')}) and "
            f"replications ({n:,}), samples of every replication present: common random "
            "numbers, paired intervals"
        )
    else:
        why = (
            "different seeds or replications" if not same else "samples.parquet missing or partial"
        )
        pairing = f"result folders, {why}: independent intervals"
    runs = [
        _Run(name, str(p), s, m, x if use_pairs else None, _folder_spec(m))
        for name, p, (s, m), x in zip(names, paths, loaded, samples, strict=True)
    ]
    changes: list[tuple[Change, ...]] = [()]
    notes = []
    for r in runs[1:]:
        if runs[0].spec is not None and r.spec is not None:
            changes.append(tuple(diff_specs(runs[0].spec, r.spec)))
        else:
            changes.append(tuple(_recorded_changes(runs[0].summary, r.summary)))
            notes.append(
                f"{r.name}: scenario file missing or changed since the run; only the "
                "parameters recorded in summary.json are compared"
            )
    return Comparison(
        names,
        tuple(str(p) for p in paths),
        "results",
        use_pairs,
        pairing,
        _compare_runs(runs, shared, pair=use_pairs),
        tuple(changes),
        tuple(notes),
        tuple(s for s, _ in loaded),
        tuple(m for _, m in loaded),
        left_out,
    )
