"""A result folder as ``steppe score`` reads it: summary, samples and indicators.

For a run conditioned on evidence (``summary.json`` has ``evidence``), the rows of
``samples.parquet`` and ``indicators.parquet`` are an equally weighted resample of the
weighted replications; shares computed from them are estimates from Kish's effective sample
size (``ess``), not from the number of rows, so the effective size is what clipping and
Wilson intervals use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from steppe.errors import ResultError
from steppe.model.timeline import Timeline
from steppe.results.indicators import Indicator, read_indicators
from steppe.results.io import read_result_folder

__all__ = ["ResultInput", "read_input"]


@dataclass(frozen=True)
class ResultInput:
    """One result folder, read once.

    Attributes
    ----------
    name
        The scenario's name (made unique among the inputs by the caller).
    folder
        The folder as given.
    summary, manifest
        ``summary.json`` and ``manifest.json``.
    samples
        ``samples.parquet``: one row per kept replication, one column per outcome.
    indicators
        ``indicators.parquet`` (empty if the folder has none) and its column descriptions.
    timeline
        The scenario's start and horizon.
    ess
        The effective sample size of a conditioned run, else ``None``.
    missing
        Why the indicators are missing, or ``""``.
    """

    name: str
    folder: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    samples: pd.DataFrame
    indicators: pd.DataFrame
    described: dict[str, Indicator] = field(default_factory=dict)
    timeline: Timeline = field(
        default_factory=lambda: Timeline(dt.date(2000, 1, 1), dt.date(2001, 1, 1))
    )
    ess: float | None = None
    missing: str = ""

    @property
    def rows(self) -> int:
        """The number of kept replications (rows)."""
        return len(self.samples)

    @property
    def sample_size(self) -> float:
        """The sample size behind a share of rows: the ``ess`` of a conditioned run, else the
        number of rows."""
        return float(self.ess) if self.ess is not None else float(self.rows)

    @property
    def conditioned(self) -> bool:
        """Whether the run was conditioned on evidence."""
        return self.ess is not None


def _ess(summary: dict[str, Any]) -> float | None:
    ev = summary.get("evidence")
    if not isinstance(ev, dict):
        return None
    for key in ("ess", "weights"):
        value = ev.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, dict) and isinstance(value.get("ess"), int | float):
            return float(value["ess"])
    return None


def read_input(folder: Path) -> ResultInput:
    """Read the result folder ``folder``.

    Raises
    ------
    ResultError
        If ``summary.json``, ``manifest.json`` or ``samples.parquet`` is missing or invalid
        (the message names the file). A missing ``indicators.parquet`` is not an error: the
        questions that need it are skipped for this result, with the reason.
    """
    folder = Path(folder)
    summary, manifest, samples = read_result_folder(folder)
    for key in ("scenario", "outcomes", "start", "horizon"):
        if key not in summary:
            raise ResultError(f"{folder / 'summary.json'}: no {key!r}; not a steppe summary")
    try:
        timeline = Timeline(
            dt.date.fromisoformat(str(summary["start"])),
            dt.date.fromisoformat(str(summary["horizon"])),
        )
    except ValueError as exc:
        raise ResultError(f"{folder / 'summary.json'}: bad start or horizon: {exc}") from None
    missing = ""
    try:
        indicators, described = read_indicators(folder)
    except ResultError as exc:
        indicators, described, missing = pd.DataFrame(), [], str(exc)
    if missing == "" and len(indicators) != len(samples):
        raise ResultError(
            f"{folder}: indicators.parquet has {len(indicators):,} rows and samples.parquet "
            f"{len(samples):,}; the folder is inconsistent (run the scenario again)"
        )
    return ResultInput(
        name=str(summary["scenario"]),
        folder=folder,
        summary=summary,
        manifest=manifest,
        samples=samples,
        indicators=indicators,
        described={i.name: i for i in described},
        timeline=timeline,
        ess=_ess(summary),
        missing=missing,
    )
