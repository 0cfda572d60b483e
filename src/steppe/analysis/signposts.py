"""Signposts: which observable indicators would tell most about each outcome.

From a result's kept replications (``samples.parquet`` and ``indicators.parquet``, no rerun)
:func:`signposts` pairs every outcome **Y** with every indicator **X** that resolves before
it and estimates, per pair, ``P(X)``, ``P(Y | X)``, ``P(Y | not X)`` with Wilson intervals,
and the value of learning X before Y resolves: the expected reduction of Y's Brier score and
the mutual information (the expected reduction of its entropy, in bits). Ranked by the
first, the pairs make a watch list: "If ru_delists occurs by 2025-12-31 (P = 12% ± 2),
P(Uzbekistan delists by 2027) goes from 7% to 19% [14%, 25%]; watch: ...".

Outcomes Y (binary):

* ``probability`` and ``combine`` outcomes, at their date;
* ``time_to`` outcomes as "by the horizon";
* ``value`` outcomes as "above their median" (the sample median), at their date.

Indicators X (binary, each with a date D; a pair needs D before Y's date):

* every event, project stage and cancellation "by D", D every 31 December;
* every series above its sample quartiles (25%, median, 75%) at every 31 December ("below"
  is the same question: its complement carries the same value);
* every declared signpost (the scenario's ``signposts:``), at its ``by`` date;

each only with a date after the forecast's ``as_of`` (when the summary states one): what
was known then is evidence, not something to watch.

X that holds in all or none of the replications tells nothing and is dropped (counted in
:attr:`Signposts.dropped`). Pairs whose conditional estimates rest on fewer than
``min_effective`` effective replications on either side, or whose interval of
``P(Y | X) - P(Y | not X)`` covers 0, are flagged, never hidden. For a run conditioned on
evidence the rows are an equally weighted resample of weighted particles (duplicates):
standard errors and the flag then use Kish's effective sample size ``evidence.ess`` of
``summary.json``, spread over the rows in proportion. Definitions: ``docs/scoring.md``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steppe.analysis._defaults import MIN_EFFECTIVE
from steppe.analysis._information import (
    brier_value,
    mutual_information,
    newcombe_interval,
    wilson,
)
from steppe.errors import ResultError
from steppe.model.base import suggest
from steppe.model.timeline import Timeline
from steppe.results.indicators import Indicator, read_indicators
from steppe.results.io import SAMPLES, read_summary_manifest

if TYPE_CHECKING:
    from steppe.api import RunResult

__all__ = ["MIN_EFFECTIVE", "Signposts", "signposts"]

_LEVELS = ((0.25, "its 25% quantile"), (0.5, "its median"), (0.75, "its 75% quantile"))


@dataclass(frozen=True)
class _Binary:
    """A yes/no question of every replication: an outcome Y or an indicator X."""

    name: str
    phrase: str
    date: str
    values: np.ndarray
    watch: str = ""
    kind: str = ""
    #: Y: the names its expression reads (outcomes' names expanded); X: its subject.
    names: frozenset[str] = frozenset()


def _pct(p: float) -> str:
    if not math.isfinite(p):
        return "-"
    q = 100 * p
    return f"{q:.1f}%" if 0 < q < 1 or 99 < q < 100 else f"{q:.0f}%"


def _pp(x: float) -> str:
    q = 100 * x
    return f"{q:.1f}" if q < 1 else f"{q:.0f}"


@dataclass(frozen=True)
class Signposts:
    """The ranked pairs (outcome Y, indicator X) of a result; see the module docstring.

    Attributes
    ----------
    frame
        One row per pair, ranked by ``voi_brier`` (largest first): ``outcome``,
        ``outcome_title``, ``outcome_date``, ``indicator`` (a short name of X),
        ``if_`` (X as a phrase), ``kind`` (``event``, ``stage``, ``cancelled``, ``series``,
        ``declared``), ``date`` (X's date), ``watch``, ``p_x``, ``p_x_low``,
        ``p_x_high``, ``p_y``, ``p_y_given_x`` (+ ``_low``, ``_high``),
        ``p_y_given_not_x`` (+ ``_low``, ``_high``), ``diff_low``, ``diff_high``
        (Newcombe's interval of the difference), ``n_x``, ``n_not_x`` (effective
        replications with and without X), ``voi_brier``, ``voi_brier_se``,
        ``voi_entropy``, ``voi_entropy_se`` (bits), ``own`` (X observes something Y's
        expression names: Y itself resolving early) and ``flag`` ("" or the reasons).
    scenario
        The scenario's name.
    replications
        Rows used (kept replications, or the resample of a conditioned run).
    effective
        The effective number of replications behind the rows (``replications`` unless
        the run was conditioned on evidence: then Kish's effective sample size).
    dropped
        Indicators dropped because they held in all or none of the rows.
    min_effective
        The flagging threshold.
    """

    frame: pd.DataFrame
    scenario: str
    replications: int
    effective: float
    dropped: int
    min_effective: float = MIN_EFFECTIVE

    @property
    def weighted(self) -> bool:
        """Whether the rows are a resample of weighted particles (a conditioned run)."""
        return self.effective != self.replications

    def top(self, k: int) -> Signposts:
        """The ``k`` highest-ranked pairs."""
        frame = self.frame.head(k).reset_index(drop=True)
        return Signposts(
            frame, self.scenario, self.replications, self.effective, self.dropped,
            self.min_effective,
        )  # fmt: skip

    def sentence(self, row: pd.Series) -> str:
        """One pair as a watch-list sentence."""
        half = (row["p_x_high"] - row["p_x_low"]) / 2
        text = (
            f"If {row['if_']} (P = {_pct(row['p_x'])} ± {_pp(half)}), "
            f"{row['outcome_title']} goes from {_pct(row['p_y'])} to "
            f"{_pct(row['p_y_given_x'])} [{_pct(row['p_y_given_x_low'])}, "
            f"{_pct(row['p_y_given_x_high'])}] (if not: {_pct(row['p_y_given_not_x'])})"
        )
        if row["watch"]:
            text += f"; watch: {row['watch']}"
        return text + (f" [flagged: {row['flag']}]" if row["flag"] else "")

    def watch_list(self, top: int | None = None) -> list[str]:
        """The pairs as sentences, best first (the first ``top`` of them)."""
        rows = self.frame if top is None else self.frame.head(top)
        return [self.sentence(r) for _, r in rows.iterrows()]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the facts, and the rows as records (``if_`` as ``if``)."""
        records = self.frame.rename(columns={"if_": "if"}).to_dict(orient="records")
        return {
            "scenario": self.scenario,
            "replications": self.replications,
            "effective_replications": self.effective,
            "weighted": self.weighted,
            "min_effective": self.min_effective,
            "dropped_trivial_indicators": self.dropped,
            "signposts": records,
        }


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _reads(name: str, outcomes: dict[str, Any], seen: frozenset[str] = frozenset()) -> set[str]:
    """The names outcome ``name``'s expression reads, a combine's outcomes expanded."""
    names = set(_NAME.findall(str(outcomes[name].get("expression", ""))))
    out = set()
    for k in names:
        if k in outcomes and k != name and k not in seen:
            out |= _reads(k, outcomes, seen | {name})
        else:
            out.add(k)
    return out


def _outcomes(summary: dict[str, Any], samples: pd.DataFrame) -> list[_Binary]:
    horizon = str(summary["horizon"])
    out = []
    for name, o in summary["outcomes"].items():
        if name not in samples.columns:
            continue
        x = samples[name].to_numpy(dtype=float)
        title = o.get("title") or ""
        if o["kind"] == "probability":
            date = str(o.get("date", horizon))
            y, phrase = x > 0.5, title if title.startswith("P(") else f"P({name} by {date})"
        elif o["kind"] == "time_to_event":
            date, y = horizon, np.isfinite(x)
            phrase = f"P({name} by the horizon {horizon})"
        else:
            date = str(o.get("date", horizon))
            med = float(np.median(x))
            on = f"over {o['period'][0]} to {date}" if o.get("period") else f"on {date}"
            y, phrase = x > med, f"P({name} above its median {med:.4g} {on})"
        reads = frozenset(_reads(name, summary["outcomes"]))
        out.append(_Binary(name, phrase, date, y, kind=o["kind"], names=reads))
    return out


def _indicators(
    summary: dict[str, Any], frame: pd.DataFrame, described: list[Indicator]
) -> list[_Binary]:
    tl = Timeline(
        dt.date.fromisoformat(summary["start"]), dt.date.fromisoformat(summary["horizon"])
    )
    ends = [d for d in tl.year_ends() if (d.month, d.day) == (12, 31)]  # not the horizon
    units = {
        k: v.get("unit") or "" for k, v in (summary.get("traces") or {}).get("series", {}).items()
    }
    out = []
    for ind in described:
        col = frame[ind.name].to_numpy(dtype=float)
        if ind.kind == "declared":
            date = ind.date or ""
            phrase = f"signpost {ind.name} holds by {date}"
            if ind.title:
                phrase = f"signpost {ind.name} ({ind.title}) holds by {date}"
            out.append(_Binary(ind.name, phrase, date, col > 0.5, ind.watch or "", ind.kind))
            continue
        subject = frozenset({ind.subject})
        if ind.kind == "series":
            unit = f" {units.get(ind.subject, '')}".rstrip()
            for q, words in _LEVELS:
                cut = float(np.quantile(col, q))
                name = f"{ind.name} > q{round(q * 100)}"
                phrase = f"{ind.subject} on {ind.date} is above {words} ({cut:.4g}{unit})"
                watch = ind.title or ind.subject
                x = col > cut
                out.append(_Binary(name, phrase, ind.date or "", x, watch, ind.kind, subject))
        else:
            watch = ind.title or ind.subject
            if ind.kind == "stage" and ind.stage_name and ind.title:
                watch = f"{ind.title}: {ind.stage_name}"
            for day in ends:
                iso = day.isoformat()
                x = col <= tl.years(day)
                name, phrase = f"{ind.name} by {iso}", f"{ind.label} by {iso}"
                out.append(_Binary(name, phrase, iso, x, watch, ind.kind, subject))
    return out


def _load(
    result: RunResult | str | Path,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, list[Indicator]]:
    from steppe.api import RunResult  # the API imports the engines: only when needed

    if isinstance(result, RunResult):
        if result.indicators is None:
            raise ResultError(
                f"{result.scenario.name}: the run kept no indicators (it ran without traces): "
                "run it again with traces"
            )
        described = [Indicator(**d) for d in result.indicators.attrs.get("indicators", [])]
        return result.summary, result.samples, result.indicators, described
    folder = Path(result)
    summary, _ = read_summary_manifest(folder)
    frame, described = read_indicators(folder)
    file = folder / SAMPLES
    if not file.is_file():
        raise ResultError(f"{file}: file is missing")
    try:
        samples = pd.read_parquet(file, engine="pyarrow")
    except (OSError, ValueError) as exc:
        raise ResultError(f"{file}: cannot be read as Parquet: {exc}") from exc
    if len(samples) != len(frame):
        raise ResultError(
            f"{folder}: samples.parquet has {len(samples)} rows but indicators.parquet has "
            f"{len(frame)}; they must hold the same replications"
        )
    return summary, samples, frame, described


def signposts(
    result: RunResult | str | Path,
    outcome: str | None = None,
    *,
    top: int | None = None,
    min_effective: float = MIN_EFFECTIVE,
    exclude_own: bool = False,
) -> Signposts:
    """Rank what to watch: indicators X by the value of learning them for outcomes Y.

    Parameters
    ----------
    result
        A :class:`~steppe.RunResult` (run with traces, the default) or the path of a result
        folder holding ``indicators.parquet``.
    outcome
        Only this outcome (default: every outcome).
    top
        Keep the ``top`` highest-ranked pairs (default: all).
    min_effective
        Flag pairs with fewer effective replications with, or without, X.
    exclude_own
        Leave out pairs whose X observes something Y's own expression names (an event,
        project or series it reads, e.g. "uz_delists occurs by 2026-12-31" for
        "P(uz_delists by 2027)"): Y itself resolving early. They are kept by default and
        marked in the column ``own``.

    Returns
    -------
    Signposts

    Raises
    ------
    ResultError
        If the result has no indicators or samples, or ``outcome`` is not one of its
        outcomes.

    References
    ----------
    See :mod:`steppe.analysis._information` (Wilson, Newcombe, Brier, mutual information,
    the delta method).
    """
    summary, samples, frame, described = _load(result)
    ys = _outcomes(summary, samples)
    if outcome is not None:
        names = [y.name for y in ys]
        if outcome not in names:
            raise ResultError(
                f"{summary['scenario']}: no outcome {outcome!r}{suggest(outcome, names)}; "
                f"outcomes: {', '.join(names)}"
            )
        ys = [y for y in ys if y.name == outcome]
    n = len(samples)
    ess = (summary.get("evidence") or {}).get("ess")
    effective = float(ess) if ess is not None else float(n)
    # what was known when the forecast was made is evidence, not a signpost to watch
    as_of = str(summary.get("as_of") or "")
    xs_all = [x for x in _indicators(summary, frame, described) if x.date > as_of]
    xs = [x for x in xs_all if 0 < int(np.count_nonzero(x.values)) < n]
    rows = [
        _pairs(y, [x for x in xs if x.date < y.date and not (exclude_own and x.names & y.names)],
               n, effective, min_effective)
        for y in ys
    ]  # fmt: skip
    full = [r for r in rows if len(r)]
    table = pd.concat(full, ignore_index=True) if full else _empty()
    table = table.sort_values("voi_brier", ascending=False, kind="stable").reset_index(drop=True)
    out = Signposts(
        table, str(summary["scenario"]), n, effective, len(xs_all) - len(xs), min_effective
    )
    return out.top(top) if top is not None else out


_COLUMNS = (
    "outcome", "outcome_title", "outcome_date", "indicator", "if_", "kind", "date", "watch",
    "p_x", "p_x_low", "p_x_high", "p_y",
    "p_y_given_x", "p_y_given_x_low", "p_y_given_x_high",
    "p_y_given_not_x", "p_y_given_not_x_low", "p_y_given_not_x_high",
    "diff_low", "diff_high", "n_x", "n_not_x",
    "voi_brier", "voi_brier_se", "voi_entropy", "voi_entropy_se", "own", "flag",
)  # fmt: skip
_TEXT = frozenset({*_COLUMNS[:8], "flag"})


def _empty() -> pd.DataFrame:
    dtypes = {c: object if c in _TEXT else bool if c == "own" else float for c in _COLUMNS}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


def _pairs(y: _Binary, xs: list[_Binary], n: int, effective: float, min_eff: float) -> pd.DataFrame:
    ny = float(np.count_nonzero(y.values))
    if not xs or ny in (0.0, float(n)):  # Y decided in every replication: nothing to learn
        return _empty().iloc[0:0]
    # counts column by column: no (rows x indicators) matrix, which for 250,000 kept
    # replications and hundreds of indicators would take gigabytes
    nx = np.array([np.count_nonzero(x.values) for x in xs], dtype=float)
    nxy = np.array([np.count_nonzero(x.values & y.values) for x in xs], dtype=float)
    px, py, pxy = nx / n, ny / n, nxy / n
    p1, p0 = nxy / nx, (ny - nxy) / (n - nx)
    scale = effective / n
    n1, n0 = nx * scale, (n - nx) * scale
    px_lo, px_hi = wilson(px, effective)
    p1_lo, p1_hi = wilson(p1, n1)
    p0_lo, p0_hi = wilson(p0, n0)
    d_lo, d_hi = newcombe_interval(p1, n1, p0, n0)
    voi, voi_se = brier_value(px, np.full_like(px, py), pxy, effective)
    mi, mi_se = mutual_information(px, np.full_like(px, py), pxy, effective)
    flags = []
    for a, b, lo, hi in zip(n1, n0, d_lo, d_hi, strict=True):
        why = []
        if min(a, b) < min_eff:
            why.append(f"few replications ({min(a, b):.0f} < {min_eff:g} on one side)")
        if lo <= 0 <= hi:
            why.append("difference within Monte Carlo noise")
        flags.append("; ".join(why))
    k = len(xs)
    return pd.DataFrame(
        {
            "outcome": [y.name] * k,
            "outcome_title": [y.phrase] * k,
            "outcome_date": [y.date] * k,
            "indicator": [x.name for x in xs],
            "if_": [x.phrase for x in xs],
            "kind": [x.kind for x in xs],
            "date": [x.date for x in xs],
            "watch": [x.watch for x in xs],
            "p_x": px, "p_x_low": px_lo, "p_x_high": px_hi,
            "p_y": np.full(k, py),
            "p_y_given_x": p1, "p_y_given_x_low": p1_lo, "p_y_given_x_high": p1_hi,
            "p_y_given_not_x": p0, "p_y_given_not_x_low": p0_lo, "p_y_given_not_x_high": p0_hi,
            "diff_low": d_lo, "diff_high": d_hi,
            "n_x": n1, "n_not_x": n0,
            "voi_brier": voi, "voi_brier_se": voi_se,
            "voi_entropy": mi, "voi_entropy_se": mi_se,
            "own": [bool(x.names & y.names) for x in xs],
            "flag": flags,
        }
    )  # fmt: skip
