"""Stopping at a precision (``precision:``, ``steppe run --precision``).

The analytic case: one event with hazard ``ln 2`` a year, so P(it occurs within the year) is
exactly 1/2 and a run of ``n`` replications has standard error about ``0.5 / sqrt(n)``.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import steppe
from steppe.cli import main
from steppe.errors import ScenarioError

ROOT = Path(__file__).parent.parent

HALF = """\
name: half
title: P = 1/2
start: 2025-01-01
horizon: 2026-01-01
replications: 100000
seed: 3
events:
  e: {hazard: 0.6931471805599453, why: "P(by the horizon) = 1 - exp(-ln 2) = 1/2"}
  rare: {hazard: 0.001, why: test}
outcomes:
  pe: {probability: "occurred(e)"}
  pr: {probability: "occurred(rare)"}
  v: {value: "t"}
"""


def scenario(extra: str = "") -> steppe.Scenario:
    return steppe.loads(HALF + textwrap.dedent(extra), file="half.yaml")


def predicted_stop(se: float, first: int = 1000) -> int:
    """The first stage ``first * 2^k`` at which ``0.5 / sqrt(n) <= se``. The estimate's own
    standard error (about ``0.5 / sqrt(n)``) moves ``sqrt(p (1 - p) / n)`` by a relative
    ``O(1 / n)``: far too little to change the stage for the targets below, which are not
    within 1% of a stage's ``0.5 / sqrt(n)``."""
    n = first
    while 0.5 / math.sqrt(n) > se:
        n *= 2
    return n


def test_a_run_stops_at_the_predicted_stage_and_records_the_rule() -> None:
    res = steppe.run(scenario(), engine="simpy", precision=0.005, traces=False)
    n = predicted_stop(0.005)
    assert n == 16_000
    assert res.summary["replications"] == n == res.manifest["replications"]
    assert len(res.samples) == n
    section = res.summary["precision"]
    assert section == res.manifest["precision"]
    assert section["stages"] == [1000, 2000, 4000, 8000, 16000]
    assert section["stopped"] == "precision met"
    assert section["se"] == 0.005 and section["outcomes"] is None and section["first"] == 1000
    assert set(section["final_se"]) == {"pe", "pr"}  # every probability, not the value
    assert section["final_se"]["pe"] == res.outcome("pe")["se"] <= 0.005
    # the same numbers as a plain run of as many replications
    plain = steppe.run(scenario(), engine="simpy", replications=n, traces=False)
    np.testing.assert_array_equal(res.samples.to_numpy(), plain.samples.to_numpy())
    assert res.outcome("pe")["p"] == plain.outcome("pe")["p"]


def test_the_cap_is_the_runs_replications() -> None:
    res = steppe.run(scenario(), engine="simpy", replications=3000, precision=0.005, traces=False)
    section = res.summary["precision"]
    assert section["stages"] == [1000, 2000, 3000]
    assert section["stopped"] == "cap reached"
    assert res.summary["replications"] == 3000
    assert section["final_se"]["pe"] > 0.005


def test_one_or_two_workers_stop_at_the_same_replications_with_the_same_numbers() -> None:
    sc = scenario("precision: {se: 0.01, outcomes: [pe], first: 600}\n")
    one = steppe.run(sc, engine="simpy", workers=1)
    two = steppe.run(sc, engine="simpy", workers=2)
    assert one.summary["replications"] == predicted_stop(0.01, 600) == 4800
    assert one.summary["precision"] == two.summary["precision"]
    assert one.summary["outcomes"] == two.summary["outcomes"]
    assert one.summary["traces"] == two.summary["traces"]
    assert one.summary["precision"]["outcomes"] == ["pe"]
    assert list(one.summary["precision"]["final_se"]) == ["pe"]
    # --precision on the command line sets the target, the scenario's outcomes stay
    cli = steppe.run(sc, engine="simpy", precision=0.005, traces=False)
    assert cli.summary["precision"]["outcomes"] == ["pe"]
    assert cli.summary["replications"] == predicted_stop(0.005, 600)


@pytest.mark.slow
def test_the_compiled_engine_stops_at_the_same_replications() -> None:
    sc = scenario("precision: 0.01\n")
    ref = steppe.run(sc, engine="simpy", traces=False)
    fast = steppe.run(sc, engine="compiled", workers=2, traces=False)
    assert fast.summary["precision"] == ref.summary["precision"]
    assert fast.summary["outcomes"] == ref.summary["outcomes"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("precision: 0.7\n", r"half.yaml:\d+:\d+: error: precision: .*less than 0.5"),
        ("precision: -1\n", r"precision: .*greater than 0"),
        ("precision: fine\n", r"precision: expected a standard error \(e.g. 0.005\)"),
        ("precision: {se: 0.01, first: 0}\n", r"precision.first: .*greater than or equal to 1"),
        (
            "precision: {se: 0.01, outcomes: [pee]}\n",
            r"half.yaml:\d+:\d+: error: precision.outcomes\[0\]: unknown outcome 'pee' \(did "
            r"you mean 'pe'\?\)",
        ),
        (
            "precision: {se: 0.01, outcomes: [pe, v]}\n",
            r"precision.outcomes\[1\]: outcome 'v' is a distribution outcome; precision "
            "applies to probability outcomes",
        ),
        ("precision: {se: 0.01, outcomes: [pe, pe]}\n", r"outcome 'pe' is named twice"),
    ],
)
def test_bad_precision_is_a_located_error(extra: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario(extra)


def test_a_bad_target_or_a_run_on_evidence_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"precision must be a standard error in \(0, 0.5\)"):
        steppe.run(scenario(), precision=0.5)
    with pytest.raises(ScenarioError, match="not available for a run conditioned on evidence"):
        steppe.run(ROOT / "scenarios" / "update_2025.yaml", precision=0.01)


def test_the_cli_option_stops_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "half.yaml"
    path.write_text(HALF)
    runner = CliRunner()
    args = ["run", str(path), "--engine", "simpy", "--workers", "1", "-q"]
    out = tmp_path / "out"
    result = runner.invoke(main, [*args, "--precision", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "stopped at 4,000 replications: every P's MC s.e. <= 0.01" in result.output
    capped = runner.invoke(main, [*args, "-n", "1500", "--precision", "0.01", "--out", str(out)])
    assert capped.exit_code == 0, capped.output
    assert "cap reached at 1,500 replications: the s.e. of pe is 0.01" in capped.output
    bad = runner.invoke(main, [*args, "--precision", "0.6", "--out", str(out)])
    assert bad.exit_code == 2
    assert "0<x<0.5" in bad.output
