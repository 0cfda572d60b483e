"""The indicators a run keeps per replication (``indicators.parquet``): what they record
agrees replication by replication with the outcomes of the same definitions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import steppe
from steppe.errors import ResultError
from steppe.results.indicators import INDICATORS, read_indicators, year_ends

SCENARIO = """\
steppe: 1
name: ind
title: "Indicators"
start: 2024-01-01
horizon: 2027-06-30
step: quarter
replications: 300
seed: 11
parameters:
  g: {dist: normal, mean: 0.05, sd: 0.1, why: test}
events:
  a: {hazard: 0.4, why: test}
  b: {hazard: "0.2 + 0.6 * occurred(a)", why: test}
  h: {history: [2023-05-01], why: test}
projects:
  p:
    completed_stages: 1
    cancel_hazard: 0.05
    stages:
      - {name: s0, duration: 1.0}
      - {name: s1, duration: {dist: uniform, low: 0.5, high: 1.5}}
      - {name: s2, duration: {dist: uniform, low: 0.5, high: 1.5}}
    why: test
series:
  x:
    initial: 100
    drift: g
    volatility: 0.1
    why: test
outcomes:
  b_by_2025: {probability: occurred(b), by: 2025-12-31}
  s2_by_2026: {probability: "stage(p) >= 2", by: 2026-12-31}
  done_by_2026: {probability: completed(p), by: 2026-12-31}
  x_2025: {value: x, at: 2025-12-31}
  cancel_time: {time_to: cancelled(p)}
"""


@pytest.fixture
def result(tmp_path: Path) -> steppe.RunResult:
    path = tmp_path / "ind.yaml"
    path.write_text(SCENARIO)
    return steppe.run(path, engine="simpy")


def test_columns_and_descriptions(result: steppe.RunResult) -> None:
    ind = result.indicators
    assert ind is not None and len(ind) == 300
    # events (history included), the stages still to begin (1 of 3 done at the start), the
    # completion, the cancellation, then the series at each 31 December before the horizon
    assert list(ind.columns) == [
        "occurred(a)", "occurred(b)", "occurred(h)",
        "stage(p) >= 2", "stage(p) >= 3", "cancelled(p)",
        "x@2024-12-31", "x@2025-12-31", "x@2026-12-31",
    ]  # fmt: skip
    labels = {d["name"]: d["label"] for d in ind.attrs["indicators"]}
    assert labels["stage(p) >= 2"] == "p: s2 begins"
    assert labels["stage(p) >= 3"] == "p completed"
    # the history event happened before the start: time 0 in every replication
    assert (ind["occurred(h)"] == 0).all()


def test_agree_with_outcomes_replication_by_replication(result: steppe.RunResult) -> None:
    """P(X by D) from an indicator column is the outcome's own estimate, exactly."""
    ind, s = result.indicators, result.samples
    assert ind is not None
    tl = result.scenario.timeline
    t25, t26 = tl.years(dt.date(2025, 12, 31)), tl.years(dt.date(2026, 12, 31))
    np.testing.assert_array_equal(ind["occurred(b)"] <= t25, s["b_by_2025"] == 1)
    np.testing.assert_array_equal(ind["stage(p) >= 2"] <= t26, s["s2_by_2026"] == 1)
    np.testing.assert_array_equal(ind["stage(p) >= 3"] <= t26, s["done_by_2026"] == 1)
    np.testing.assert_array_equal(ind["x@2025-12-31"], s["x_2025"])
    np.testing.assert_array_equal(ind["cancelled(p)"], s["cancel_time"])


def test_written_and_read_back(result: steppe.RunResult, tmp_path: Path) -> None:
    out = result.write(tmp_path / "out", report=False)
    frame, described = read_indicators(out)
    assert result.indicators is not None
    assert frame.equals(result.indicators)
    assert [d.name for d in described] == list(frame.columns)
    stage = next(d for d in described if d.name == "stage(p) >= 2")
    assert (stage.kind, stage.subject, stage.stage, stage.stage_name) == ("stage", "p", 2, "s2")
    (out / INDICATORS).unlink()
    with pytest.raises(ResultError, match=r"file is missing.*run the scenario again"):
        read_indicators(out)
    (out / INDICATORS).write_bytes(b"not parquet")
    with pytest.raises(ResultError, match="cannot be read"):
        read_indicators(out)


def test_no_traces_no_indicators(tmp_path: Path) -> None:
    path = tmp_path / "ind.yaml"
    path.write_text(SCENARIO)
    r = steppe.run(path, engine="simpy", replications=20, traces=False)
    assert r.indicators is None
    r.write(tmp_path / "out", report=False)
    assert not (tmp_path / "out" / INDICATORS).exists()


def test_year_ends(scenario_from_yaml) -> None:  # type: ignore[no-untyped-def]
    sc = scenario_from_yaml(SCENARIO.replace("start: 2024-01-01", "start: 2024-12-31"))
    # a start on 31 December is not "after the start"; the horizon ends mid-2027
    assert year_ends(sc) == [dt.date(2025, 12, 31), dt.date(2026, 12, 31)]


def test_evidence_run_keeps_the_resampled_rows(tmp_path: Path) -> None:
    """For a conditioned run the rows are the resample that samples.parquet holds."""
    path = tmp_path / "ind.yaml"
    path.write_text(
        SCENARIO
        + """
as_of: 2025-01-01
evidence:
  - {event: a, occurred: [2024-01-01, 2024-12-31], source: test}
"""
    )
    r = steppe.run(path, engine="simpy", replications=400)
    ind, s = r.indicators, r.samples
    assert ind is not None and len(ind) == len(s) == 400
    tl = r.scenario.timeline
    # every kept particle saw a occur in 2024, as the evidence says
    assert (ind["occurred(a)"] <= tl.years(dt.date(2024, 12, 31))).all()
    np.testing.assert_array_equal(ind["x@2025-12-31"], s["x_2025"])


@pytest.mark.slow
def test_compiled_engine_keeps_the_same_indicators(tmp_path: Path) -> None:
    """Both engines draw the same random numbers (docs/engine.md section 8): identical."""
    path = tmp_path / "ind.yaml"
    path.write_text(SCENARIO)
    a = steppe.run(path, engine="simpy", replications=200).indicators
    b = steppe.run(path, engine="compiled", replications=200).indicators
    assert a is not None and b is not None
    assert a.equals(b)
