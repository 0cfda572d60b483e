"""Indicators: what an analyst could observe, kept per replication for later questions.

A forecast is checked (``steppe score``) and watched (``steppe signposts``) long after it
ran, against questions its author did not write as outcomes: "did Russia delist by the end
of 2025?", "had TAPI's construction begun by 2026?", "was Kazakh trade above $1.5B at the
end of 2025?". A run therefore keeps, beside ``samples.parquet``, one column per
**indicator** for every kept replication, in ``indicators.parquet``:

=================  =============================  ==========================================
column             value per replication           kind
=================  =============================  ==========================================
``occurred(e)``    time of ``e``'s first            ``event`` (one per event)
                   occurrence, model years
``stage(p) >= k``  time stage ``k`` (0-based) of    ``stage`` (``k`` from
                   ``p`` begins (``k`` stages       ``completed_stages + 1``; the last is
                   done)                            ``k`` = the number of stages: completion)
``cancelled(p)``   time ``p`` is cancelled          ``cancelled`` (projects that can be)
``s@YYYY-MM-DD``   the value of series ``s`` at    ``series`` (every 31 December after the
                   the start of that day            start, up to the horizon)
``NAME``           1 if the signpost ``NAME``      ``declared`` (the scenario's
                   holds at its ``by`` date, else  ``signposts:``, recorded as the outcome
                   0                               ``probability: ... by: ...``)
=================  =============================  ==========================================

Times are in model years from the start (``docs/engine.md``), ``inf`` when it did not happen
by the horizon, ``0`` when it had happened at the start (history). They are recorded with
the same definitions as the outcomes ``time_to: occurred(e)``, ``time_to: stage(p) >= k``,
``time_to: cancelled(p)`` and ``value: s`` (``docs/scenario-format.md`` §12), as hidden
outcomes of the run (:mod:`steppe.results.traces`), so "P(X by D)" computed from a column is
exactly what the outcome ``probability: ... by: D`` would estimate from the same
replications. For a run conditioned on evidence the rows are the equally weighted resample
that ``samples.parquet`` holds, row for row.

The description of every column (its kind, subject, stage, date and a label for tables)
is stored in the Parquet file's metadata under ``steppe.indicators``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from steppe.errors import ResultError
from steppe.model.scenario import Scenario
from steppe.model.schema import ProbabilityOutcome, TimeToOutcome, ValueOutcome

__all__ = [
    "INDICATORS",
    "Indicator",
    "indicator_frame",
    "plan_indicators",
    "read_indicators",
    "write_indicators",
    "year_ends",
]

#: The file name in a result folder.
INDICATORS = "indicators.parquet"
#: The Parquet metadata key of the column descriptions.
_META_KEY = b"steppe.indicators"

Kind = Literal["event", "stage", "cancelled", "series", "declared"]


@dataclass(frozen=True)
class Indicator:
    """One kept column: what it records and how to name it to a reader.

    Attributes
    ----------
    name
        The column name (``occurred(ru_delists)``, ``stage(tapi) >= 2``, ``kz_trade@2025-12-31``).
    kind
        ``event``, ``stage``, ``cancelled`` (times), ``series`` (values) or ``declared``
        (0/1: a signpost of the scenario's ``signposts:``).
    subject
        The event, project or series.
    label
        A short phrase for tables: "ru_delists occurs", "tapi: construction begins",
        "tapi completed", "kz_trade on 2025-12-31".
    stage
        For ``stage``: the number of completed stages ``k`` it waits for.
    stage_name
        For ``stage``: the name of the stage that then begins, ``None`` for completion.
    date
        For ``series``: the ISO date of the value; for ``declared``: its ``by`` date.
    title
        The title of the event, project, series or signpost, if it has one.
    watch
        For ``declared``: what to watch in the world (the signpost's ``watch``).
    """

    name: str
    kind: Kind
    subject: str
    label: str
    stage: int | None = None
    stage_name: str | None = None
    date: str | None = None
    title: str | None = None
    watch: str | None = None

    @property
    def is_time(self) -> bool:
        """Whether the column holds times (model years) rather than values or 0/1."""
        return self.kind not in ("series", "declared")


def year_ends(sc: Scenario) -> list[dt.date]:
    """Every 31 December after the scenario's start, up to its horizon."""
    start, horizon = sc.spec.start, sc.spec.horizon
    first = start.year if start < dt.date(start.year, 12, 31) else start.year + 1
    return [
        dt.date(y, 12, 31) for y in range(first, horizon.year + 1) if dt.date(y, 12, 31) <= horizon
    ]


def _can_cancel(hazard: object) -> bool:
    try:
        return float(str(hazard)) != 0.0
    except ValueError:
        return True


def plan_indicators(sc: Scenario) -> list[tuple[Indicator, Any]]:
    """The indicators of ``sc``, each with the hidden outcome that records it.

    Returns
    -------
    list of (Indicator, outcome spec)
        The outcome is a ``TimeToOutcome`` or a ``ValueOutcome`` (see the module docstring).
        The outcome is a ``TimeToOutcome``, a ``ValueOutcome`` or (declared signposts) a
        ``ProbabilityOutcome`` (see the module docstring). Events, then projects (their
        stages in order, completion, cancellation), then series (dates in order), then the
        declared signposts.
    """
    spec = sc.spec
    out: list[tuple[Indicator, Any]] = []
    for e, ev in spec.events.items():
        expr = f"occurred({e})"
        ind = Indicator(expr, "event", e, f"{e} occurs", title=ev.title)
        out.append((ind, TimeToOutcome(time_to=expr)))
    for p, proj in spec.projects.items():
        n = len(proj.stages)
        for k in range(proj.completed_stages + 1, n + 1):
            expr = f"stage({p}) >= {k}"
            if k < n:
                stage_name = proj.stages[k].name
                label = f"{p}: {stage_name} begins"
            else:
                stage_name, label = None, f"{p} completed"
            ind = Indicator(
                expr, "stage", p, label, stage=k, stage_name=stage_name, title=proj.title
            )
            out.append((ind, TimeToOutcome(time_to=expr)))
        if _can_cancel(proj.cancel_hazard):
            expr = f"cancelled({p})"
            ind = Indicator(expr, "cancelled", p, f"{p} cancelled", title=proj.title)
            out.append((ind, TimeToOutcome(time_to=expr)))
    for s, ser in spec.series.items():
        for day in year_ends(sc):
            name, iso = f"{s}@{day.isoformat()}", day.isoformat()
            ind = Indicator(name, "series", s, f"{s} on {iso}", date=iso, title=ser.title)
            out.append((ind, ValueOutcome(value=s, at=day)))
    for name, sp in spec.signposts.items():
        # a plain name: every other column's name has parentheses or '@', so none clash
        ind = Indicator(
            name, "declared", name, sp.title or name, date=sp.by.isoformat(), title=sp.title,
            watch=sp.watch,
        )  # fmt: skip
        out.append((ind, ProbabilityOutcome(probability=sp.probability, by=sp.by)))
    return out


def indicator_frame(
    indicators: tuple[tuple[Indicator, int], ...], samples: np.ndarray
) -> pd.DataFrame:
    """The kept columns of a traced run's samples, named; the descriptions in ``attrs``."""
    cols = [c for _, c in indicators]
    frame = pd.DataFrame(
        np.ascontiguousarray(samples[:, cols]), columns=[i.name for i, _ in indicators]
    )
    frame.attrs["indicators"] = [asdict(i) for i, _ in indicators]
    return frame


def write_indicators(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` (from :func:`indicator_frame`) as Parquet with its descriptions."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_META_KEY] = json.dumps(frame.attrs.get("indicators", [])).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def read_indicators(path: Path) -> tuple[pd.DataFrame, list[Indicator]]:
    """Read ``indicators.parquet`` of a result folder (``path`` is the folder or the file).

    Raises
    ------
    ResultError
        If the file is missing (a result written before steppe kept indicators, or by a run
        without traces: run it again), cannot be read, or its descriptions do not match its
        columns.
    """
    path = Path(path)
    file = path / INDICATORS if path.is_dir() else path
    if not file.is_file():
        raise ResultError(
            f"{file}: file is missing (a run without traces, or by an earlier steppe, keeps "
            "no indicators: run the scenario again)"
        )
    try:
        table = pq.read_table(file)
        raw = (table.schema.metadata or {}).get(_META_KEY)
        described = [Indicator(**d) for d in json.loads(raw)] if raw else []
    except (OSError, ValueError, TypeError, pa.ArrowException) as exc:
        raise ResultError(f"{file}: cannot be read as an indicators file: {exc}") from exc
    frame = table.to_pandas()
    if [i.name for i in described] != list(frame.columns):
        raise ResultError(f"{file}: its column descriptions do not match its columns")
    frame.attrs["indicators"] = [asdict(i) for i in described]
    return frame, described
