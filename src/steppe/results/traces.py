"""Traces: series and event probabilities over time, recorded as hidden outcomes.

Reports draw fan charts of every series and P(event by date) curves of every event. The
engines know nothing of figures; instead :func:`plan_traces` makes a copy of a scenario with
extra outcomes appended after the scenario's own ones:

* for every series ``s`` and every date ``d`` of :func:`series_grid`, a ``value: s`` outcome
  at ``d`` (the series' value at the start of that day, i.e. at its latest tick, jumps
  included, see ``docs/engine.md`` section 7);
* for every event ``e`` a ``time_to: occurred(e)`` outcome, and for every project ``p`` a
  ``time_to: completed(p)`` outcome.

Their names start with ``_trace``: scenario names must start with a letter, so they never
clash with the scenario's own outcomes. The scenario's outcomes keep their indices (the trace
columns come last), so a run of the traced scenario gives the scenario's samples in its first
columns. :func:`summarize_traces` turns the trace columns into the ``traces`` section of
``summary.json``; they never enter ``outcomes`` or ``samples.parquet``.

References
----------
.. [1] R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages", Amer. Statist.
   50 (1996), 361-365 (definition 1, the inverted empirical CDF used for quantiles).
.. [2] E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
   J. Amer. Statist. Assoc. 22 (1927), 209-212.
"""

from __future__ import annotations

import ast
import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from steppe.model.scenario import Scenario
from steppe.model.schema import STEPS, TimeToOutcome, ValueOutcome
from steppe.results.indicators import Indicator, plan_indicators
from steppe.results.stats import QUANTILE_LEVELS, Z95, interval_ranks, order_rank

__all__ = [
    "TRACE_PREFIX",
    "TracePlan",
    "event_grid",
    "plan_traces",
    "series_grid",
    "series_targets",
    "summarize_traces",
]

#: Prefix of the hidden outcomes; no scenario name can start with it.
TRACE_PREFIX = "_trace"
#: At most this many dates per series (each is one more observation in every replication).
MAX_SERIES_POINTS = 40
#: At most this many dates per P(by date) curve (computed from the samples: no run cost,
#: but every date adds to summary.json).
MAX_EVENT_POINTS = 60
#: Spacings of the date grids, in months: the finest that keeps the grid short is used.
_SPACINGS = (1, 3, 6, 12, 24, 60, 120, 240)
_HIST_BINS = 30


@dataclass(frozen=True)
class TracePlan:
    """A scenario with trace outcomes appended, and where each trace's column is.

    Attributes
    ----------
    scenario
        The traced copy: the original outcomes first (same indices), then the traces.
    n_outcomes
        The number of the scenario's own outcomes (columns ``[0, n_outcomes)``).
    dates
        The dates at which every series is observed.
    series
        Series name -> the columns of its values at ``dates``.
    events
        Event or project name -> ``("event" | "project", column of its time to occurrence
        or completion)``.
    indicators
        The columns kept per replication in ``indicators.parquet``
        (:mod:`steppe.results.indicators`), each with its column.
    """

    scenario: Scenario
    n_outcomes: int
    dates: tuple[dt.date, ...]
    series: dict[str, tuple[int, ...]]
    events: dict[str, tuple[str, int]]
    indicators: tuple[tuple[Indicator, int], ...] = ()


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _grid(start: dt.date, horizon: dt.date, *, min_months: int, max_points: int) -> list[dt.date]:
    """Month ends every k months (k from :data:`_SPACINGS`), with the start and the horizon."""
    for k in _SPACINGS:
        if k < min_months:
            continue
        ends = []
        y, m = start.year, start.month
        while True:
            day = _month_end(y, m)
            if day > horizon:
                break
            aligned = m % k == 0 if k <= 12 else m == 12 and y % (k // 12) == 0
            if day > start and aligned:
                ends.append(day)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        if len(ends) + 2 <= max_points or k == _SPACINGS[-1]:
            return sorted({start, *ends, horizon})
    raise AssertionError("unreachable")  # pragma: no cover - the last spacing always returns


def series_grid(sc: Scenario) -> list[dt.date]:
    """Dates at which series are traced: the start, month ends and the horizon.

    The spacing is the finest of 1, 3, 6, 12, 24, ... months that is at least the scenario's
    ``step`` (so monthly series are traced every quarter end, aligned to calendar quarters)
    and keeps at most :data:`MAX_SERIES_POINTS` dates.
    """
    step_months = max(1, round(STEPS[sc.spec.step] * 12))
    min_months = 3 if step_months <= 3 else step_months
    return _grid(
        sc.spec.start, sc.spec.horizon, min_months=min_months, max_points=MAX_SERIES_POINTS
    )


def event_grid(sc: Scenario) -> list[dt.date]:
    """Dates of the P(by date) curves: month ends (coarser for long windows), start, horizon."""
    return _grid(sc.spec.start, sc.spec.horizon, min_months=1, max_points=MAX_EVENT_POINTS)


def plan_traces(sc: Scenario) -> TracePlan:
    """Append the trace outcomes to a copy of ``sc`` (see the module docstring)."""
    spec = sc.spec
    extra: dict[str, Any] = {}
    n = len(spec.outcomes)
    dates = tuple(series_grid(sc)) if spec.series else ()
    series: dict[str, tuple[int, ...]] = {}
    for s in spec.series:
        cols = []
        for j, day in enumerate(dates):
            extra[f"{TRACE_PREFIX}.series.{s}.{j}"] = ValueOutcome(value=s, at=day)
            cols.append(n + len(extra) - 1)
        series[s] = tuple(cols)
    events: dict[str, tuple[str, int]] = {}
    for e in spec.events:
        extra[f"{TRACE_PREFIX}.event.{e}"] = TimeToOutcome(time_to=f"occurred({e})")
        events[e] = ("event", n + len(extra) - 1)
    for p in spec.projects:
        extra[f"{TRACE_PREFIX}.project.{p}"] = TimeToOutcome(time_to=f"completed({p})")
        events[p] = ("project", n + len(extra) - 1)
    # the indicators reuse the columns above where they record the same thing
    same: dict[str, int] = {f"occurred({e})": c for e, (_, c) in events.items() if e in spec.events}
    same |= {
        f"{s}@{d.isoformat()}": cols[j] for s, cols in series.items() for j, d in enumerate(dates)
    }
    indicators: list[tuple[Indicator, int]] = []
    for j, (ind, outcome) in enumerate(plan_indicators(sc)):
        if ind.name not in same:
            extra[f"{TRACE_PREFIX}.indicator.{j}"] = outcome
            same[ind.name] = n + len(extra) - 1
        indicators.append((ind, same[ind.name]))
    # model_copy does not re-validate: the trace names, which no scenario may use, pass.
    traced_spec = spec.model_copy(update={"outcomes": {**spec.outcomes, **extra}})
    traced = Scenario.from_spec(
        traced_spec, file=sc.file, sha256=sc.sha256, positions=sc.positions,
        overridden=sc.overridden,  # a correlated parameter fixed by an override stays allowed
    )  # fmt: skip
    return TracePlan(traced, n, dates, series, events, tuple(indicators))


def series_targets(sc: Scenario) -> dict[str, list[dict[str, Any]]]:
    """Targets to draw on each series' fan chart.

    A target is read from

    * an outcome (``probability`` or ``time_to``) whose expression is a single comparison of
      a series with a number or a fixed parameter, e.g. ``kz_trade >= kz_trade_target``;
    * a fixed parameter named ``<series>_target`` (e.g. ``kz_trade_target``).

    Returns
    -------
    dict
        Series name -> list of ``{"value": float, "label": str}``, without duplicates.
    """
    fixed = {p.name: p.value for p in sc.params if p.value is not None}
    series = {s.name for s in sc.series}
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in series}

    def add(s: str, value: float, label: str) -> None:
        if all(t["value"] != value for t in out[s]):
            out[s].append({"value": value, "label": label})

    def number(node: ast.expr) -> tuple[float, str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value), f"{node.value:g}"
        if isinstance(node, ast.Name) and node.id in fixed:
            v = fixed[node.id]
            assert v is not None
            return v, node.id
        return None

    for o in sc.outcomes:
        if o.form not in ("probability", "time_to"):
            continue
        tree = o.expr.tree
        if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1):
            continue
        left, right = tree.left, tree.comparators[0]
        for a, b in ((left, right), (right, left)):
            if isinstance(a, ast.Name) and a.id in series and (found := number(b)) is not None:
                add(a.id, found[0], f"target: {found[1]} = {found[0]:,.6g} ({o.name})")
    for s in series:
        v = fixed.get(f"{s}_target")
        if v is not None:
            add(s, v, f"target: {s}_target = {v:,.6g}")
    return {s: sorted(t, key=lambda x: x["value"]) for s, t in out.items() if t}


def _sig(values: np.ndarray, digits: int = 6) -> list[float]:
    """Round to ``digits`` significant digits (keeps summary.json small; far below MC error)."""
    return [float(f"{v:.{digits}g}") for v in values.tolist()]


def _quantile_rows(block: np.ndarray) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per level, over the columns of a column-sorted block: quantiles and their intervals."""
    n = block.shape[0]
    qs: dict[str, Any] = {}
    cis: dict[str, Any] = {}
    for q in QUANTILE_LEVELS:
        key = f"{q:g}"
        lo, hi = interval_ranks(n, q)
        qs[key] = _sig(block[order_rank(q, n) - 1])
        cis[key] = {"low": _sig(block[lo - 1]), "high": _sig(block[hi - 1])}
    return qs, cis


def _wilson(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95% intervals for ``k`` successes of ``n`` (vectorized
    :func:`~steppe.results.stats.wilson_interval`, same formula and end rules)."""
    p = k / n
    z2n = Z95 * Z95 / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = Z95 / (1.0 + z2n) * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    lo = np.where(k == 0, 0.0, np.maximum(0.0, centre - half))
    hi = np.where(k == n, 1.0, np.minimum(1.0, centre + half))
    return lo, hi


def _histogram(x: np.ndarray) -> dict[str, Any]:
    """Bin edges and counts of one distribution outcome (integer bins for whole numbers).

    The bins span the minimum to the 99.5% quantile; values above it count in the last bin.
    """
    finite = np.sort(x[np.isfinite(x)])
    if finite.size == 0:
        return {"edges": [0.0, 1.0], "counts": [0], "n": int(x.size)}
    lo = float(finite[0])
    hi = float(finite[order_rank(0.995, finite.size) - 1])  # a long tail would squash the rest
    if np.all(finite == np.round(finite)) and hi - lo <= 60:
        edges = np.arange(lo - 0.5, hi + 1.5)
    else:
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, _HIST_BINS + 1)
    counts, edges = np.histogram(np.minimum(finite, edges[-1]), bins=edges)
    return {"edges": edges.tolist(), "counts": counts.tolist(), "n": int(x.size)}


def summarize_traces(
    plan: TracePlan, samples: np.ndarray, *, replications: int, overwrite: bool = False
) -> dict[str, Any]:
    """The ``traces`` section of ``summary.json`` from the samples of a traced run.

    Parameters
    ----------
    plan
        From :func:`plan_traces`.
    samples
        The kept samples of the traced scenario (replications x all outcomes): every
        replication of runs up to 250,000 replications, the first 250,000 beyond.
    replications
        Replications in the run (``sample`` in the output says how many were used).
    overwrite
        Allow sorting the series' trace columns of ``samples`` in place (their replication
        order is then lost; the scenario's own columns are left as they are): saves a copy
        of them when the caller drops them afterwards.

    Returns
    -------
    dict
        ``series``: per series its ``unit``, ``title``, ``dates``, ``quantiles`` (per level,
        one value per date), ``quantiles_ci95`` (per level, ``low`` and ``high`` per date),
        ``mean`` and ``targets``; ``events``: per event (or project completion) its ``kind``,
        ``title``, ``dates``, ``p_by`` and Wilson ``ci95`` (``low``, ``high``) per date (the
        standard error is ``sqrt(p (1 - p) / sample)``);
        ``histograms``: per distribution outcome ``edges`` and ``counts``; ``sample``: the
        number of replications these come from.
    """
    sc = plan.scenario
    n = int(samples.shape[0])
    targets = series_targets(sc)
    series_out: dict[str, Any] = {}
    for s in sc.series:
        cols = plan.series.get(s.name, ())
        if not cols or n == 0:
            continue
        c0 = cols[0]
        if list(cols) == list(range(c0, c0 + len(cols))):  # as plan_traces makes them
            block = samples[:, c0 : c0 + len(cols)]  # a view
        else:
            block = samples[:, list(cols)]  # a copy
            overwrite = True
        mean = np.mean(block, axis=0)
        if overwrite:
            block.sort(axis=0)
        else:
            block = np.sort(block, axis=0)
        qs, cis = _quantile_rows(block)
        series_out[s.name] = {
            "title": s.title,
            "unit": s.unit,
            "dates": [d.isoformat() for d in plan.dates],
            "quantiles": qs,
            "quantiles_ci95": cis,
            "mean": _sig(mean),
            "targets": targets.get(s.name, []),
        }
    grid = event_grid(sc)
    grid_t = np.array([sc.timeline.years(d) for d in grid])
    titles = {e.name: e.title for e in sc.events} | {p.name: p.title for p in sc.projects}
    events_out: dict[str, Any] = {}
    for name, (kind, col) in plan.events.items():
        if n == 0:
            break
        # k[j] = how many times are <= grid_t[j]: the index of the first grid date at or
        # after each time, counted and accumulated (inf and NaN count nowhere); no sort
        first = np.searchsorted(grid_t, samples[:, col], side="left")
        k = np.cumsum(np.bincount(first, minlength=len(grid_t) + 1)[: len(grid_t)])
        p = k / n
        lo, hi = _wilson(k, n)
        events_out[name] = {
            "kind": kind,
            "title": titles.get(name),
            "dates": [d.isoformat() for d in grid],
            "p_by": _sig(p),
            "ci95": {"low": _sig(lo), "high": _sig(hi)},
        }
    hists = {
        o.name: _histogram(samples[:, o.index])
        for o in sc.outcomes[: plan.n_outcomes]
        if o.kind == "distribution" and n > 0
    }
    return {
        "sample": n,
        "replications": replications,
        "series": series_out,
        "events": events_out,
        "histograms": hists,
    }
