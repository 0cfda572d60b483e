"""A scenario's observations through the plan builder and the chunked, parallel driver
(``steppe.evidence.build``, ``steppe.evidence.parallel``), and a conditioned run through the
public API: ``steppe.run`` on any number of workers and either engine, and ``steppe run``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import steppe
from steppe.cli import main
from steppe.engines.des import Lineages, simulate_des_conditioned
from steppe.errors import SimulationError
from steppe.evidence.build import build_plan
from steppe.evidence.parallel import run_conditioned
from steppe.evidence.plan import EvidencePlan, SeriesCheck, StageCheck, Window
from steppe.evidence.smc import condition
from steppe.model.observations import (
    EventCount,
    EventNotBy,
    EventOccurred,
    EventTimes,
    SeriesObserved,
    StageReached,
)

DATA = Path(__file__).parent / "data" / "evidence"
D = dt.date


def _with(name: str, *items: object) -> steppe.Scenario:
    sc = steppe.load(DATA / f"{name}.yaml")
    return dataclasses.replace(sc, evidence=tuple(items), _compiled={})  # type: ignore[arg-type]


def test_each_observation_becomes_its_piece_of_the_plan() -> None:
    sc = _with(
        "gamma_poisson",
        EventCount("shock", 3, D(2024, 1, 1), D(2025, 1, 1), item=0),
        EventTimes("shock", (D(2025, 3, 1), D(2025, 2, 1)), D(2025, 1, 1), D(2026, 1, 1), item=1),
    )
    t = sc.timeline.years
    built = build_plan(sc)
    assert built.plan.windows == (
        Window(0, 0.0, t(D(2025, 1, 1)), draws=3, dlo=0.0, dhi=t(D(2025, 1, 1)),
               source="evidence:0:times"),
        Window(0, t(D(2025, 1, 1)), t(D(2026, 1, 1)), times=(t(D(2025, 2, 1)), t(D(2025, 3, 1)))),
    )  # fmt: skip
    assert built.plan.checkpoints == (t(D(2025, 1, 1)), t(D(2026, 1, 1)))
    assert [len(e) for e in built.ends] == [1, 1]


def test_one_shot_items_and_checks() -> None:
    sc = _with(
        "lognormal_survival",
        EventOccurred("e", D(2024, 5, 1), D(2024, 6, 1), item=0),
    )
    t = sc.timeline.years
    (w,) = build_plan(sc).plan.windows
    assert (w.lo, w.hi, w.draws, w.dlo, w.dhi) == (
        0.0,
        t(D(2024, 6, 1)),
        1,
        t(D(2024, 5, 1)),
        t(D(2024, 6, 1)),
    )
    sc = _with("lognormal_survival", EventOccurred("e", D(2024, 6, 1), D(2024, 6, 1)))
    (w,) = build_plan(sc).plan.windows
    assert w.times == (t(D(2024, 6, 1)),) and w.draws == 0
    sc = _with("lognormal_survival", EventNotBy("e", D(2025, 1, 1)))
    assert build_plan(sc).plan.windows == (Window(0, 0.0, t(D(2025, 1, 1))),)
    sc = _with("stage_check", StageReached("p", 1, "build", D(2025, 1, 1), True))
    assert build_plan(sc).plan.stages == (StageCheck(0, 1, sc.timeline.years(D(2025, 1, 1)), True),)
    sc = _with(
        "observed_level",
        SeriesObserved("x", D(2024, 7, 1), value=80.0, sigma=0.3),
    )
    at = sc.timeline.years(D(2024, 7, 1))
    assert build_plan(sc).plan.series == (SeriesCheck(0, at, at, value=80.0, sigma=0.3),)


def test_driver_equals_the_hand_built_plan_and_any_worker_count() -> None:
    # k = 10 in two years is surprising: the run resamples, so the chunks of the later
    # generation replay ancestors from other chunks.
    end = D(2026, 1, 1)
    sc = _with("gamma_poisson", EventCount("shock", 10, D(2024, 1, 1), end, item=0))
    built = build_plan(sc)
    n, seed = 1200, 11
    t = sc.timeline.years(end)
    plan = EvidencePlan(
        windows=(Window(0, 0.0, t, draws=10, dlo=0.0, dhi=t, source="evidence:0:times"),),
        as_of=t,
    )

    def simulate(lineages: Lineages) -> tuple[np.ndarray, np.ndarray]:
        return simulate_des_conditioned(sc, plan, lineages, seed=seed, n=n)

    direct = condition(plan, simulate, seed=seed, n=n)
    one = run_conditioned(sc, built, engine="simpy", seed=seed, replications=n, workers=1)
    two = run_conditioned(sc, built, engine="simpy", seed=seed, replications=n, workers=2)
    assert direct.lineages.times == (t,)  # resampled once
    for res in (one, two):
        assert np.array_equal(res.samples, direct.samples)
        assert np.array_equal(res.logw, direct.logw)
        assert np.array_equal(res.origin, direct.origin)


def test_evidence_of_probability_zero_names_the_item() -> None:
    # the project cannot have completed both stages by mid-2024 (at least 1.2 years of work)
    sc = _with("stage_check", StageReached("p", 2, "completed", D(2024, 7, 1), True, item=0))
    with pytest.raises(SimulationError, match=r"evidence.*projects\.p had completed by 2024-07-01"):
        run_conditioned(build_plan(sc).scenario, build_plan(sc), engine="simpy", seed=1,
                        replications=200)  # fmt: skip


def test_the_proposal_of_draws_in_a_range_of_length_0_is_weight_0() -> None:
    # K sorted uniforms in [a, b] have density K! / (b - a)^K; for b == a the occurrences
    # fall at one instant, which has probability 0: log-weight -inf, not a math error.
    assert Window(0, 0.0, 1.0, draws=3, dlo=0.5, dhi=1.0).log_proposal == pytest.approx(
        3 * np.log(0.5) - np.log(6)
    )
    assert Window(0, 0.0, 1.0, draws=0, dlo=0.5, dhi=0.5).log_proposal == 0.0
    assert Window(0, 0.5, 0.5, draws=2, dlo=0.5, dhi=0.5).log_proposal == -np.inf


# --- through the public API ---------------------------------------------------------------

#: A small scenario with one evidence item of its own; EVIDENCE adds three more.
SMALL = """\
steppe: 1
name: small_evidence
title: "A small scenario conditioned on a few observations"
start: 2024-01-01
horizon: 2027-01-01
as_of: 2025-01-01
step: quarter
replications: 1100
seed: 5
parameters:
  rate: {dist: gamma, shape: 2, scale: 0.5, why: test}
  drift: {dist: normal, mean: 0.05, sd: 0.1, why: test}
  speed: {dist: uniform, low: 0.5, high: 1.0, why: test}
events:
  clash: {hazard: rate, recurring: true, duration: 0.25, why: test}
  deal: {hazard: 0.4, why: test}
projects:
  line:
    stages:
      - {name: prep, duration: {dist: pert, min: 0.5, mode: 1, max: 2}, why: test}
      - {name: build, duration: 1.5, why: test}
    pace: "speed if active(clash) else 1"
    why: test
series:
  trade: {initial: 100, drift: drift, volatility: 0.1, why: test}
outcomes:
  clashes: {value: "count(clash)"}
  dealt: {probability: "occurred(deal)"}
  built: {probability: "completed(line)"}
  trade_2027: {value: trade}
evidence:
  - {event: clash, count: 2, between: [2024-01-01, 2025-01-01], source: "test log"}
"""

EVIDENCE = """\
as_of: 2025-01-01
evidence:
  - {event: deal, not_by: 2024-10-01, source: "test log"}
  - {project: line, stage: build, reached_by: 2025-01-01, source: "test log"}
  - {series: trade, at: 2024-07-01, value: 105, sigma: 0.05, source: "test log"}
"""


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    """The small scenario and its evidence file, written to ``tmp_path``."""
    scenario, evidence = tmp_path / "small.yaml", tmp_path / "seen.yaml"
    scenario.write_text(SMALL, encoding="utf-8")
    evidence.write_text(EVIDENCE, encoding="utf-8")
    return scenario, evidence


def _json(x: Any) -> str:
    return json.dumps(x, sort_keys=True)  # NaN compares equal as text


def test_run_gives_the_same_summary_on_any_number_of_workers(small: tuple[Path, Path]) -> None:
    # 1,100 replications: three chunks of the reference engine (500, 500, 100), which the
    # resampling at the last checkpoint mixes (particles replay ancestors of other chunks).
    scenario, evidence = small
    one = steppe.run(scenario, evidence=[evidence], engine="simpy", workers=1, traces=False)
    two = steppe.run(scenario, evidence=[evidence], engine="simpy", workers=2, traces=False)
    assert len(one.summary["evidence"]["items"]) == 4
    assert one.summary["evidence"]["resamplings"]  # the test covers a resampled generation
    for key in ("outcomes", "evidence", "posterior", "prior", "taught"):
        assert _json(one.summary[key]) == _json(two.summary[key]), key
    assert _json(one.summary) == _json(two.summary)
    pd.testing.assert_frame_equal(one.posterior, two.posterior)
    pd.testing.assert_frame_equal(one.samples, two.samples)


@pytest.mark.slow  # compiles the scenario's kernels the first time
def test_run_gives_the_same_posterior_on_either_engine(small: tuple[Path, Path]) -> None:
    pytest.importorskip("numba")
    scenario, evidence = small
    runs = [
        steppe.run(scenario, evidence=[evidence], engine=engine, replications=300, traces=False)
        for engine in ("simpy", "compiled")
    ]
    assert [r.summary["engine"] for r in runs] == ["simpy", "compiled"]
    ref, got = (r.summary for r in runs)
    for key in ("outcomes", "evidence", "posterior", "taught"):
        assert _json(got[key]) == _json(ref[key]), key
    assert _json(got["prior"]["outcomes"]) == _json(ref["prior"]["outcomes"])
    pd.testing.assert_frame_equal(runs[0].posterior, runs[1].posterior)


def invoke(*args: object) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_run_with_evidence_prints_what_it_taught(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    scenario, evidence = small
    out = tmp_path / "out"
    result = invoke("run", scenario, "--evidence", evidence, "--out", out, "-n", "300",
                    "--engine", "simpy", "--workers", "1", "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Conditioned on 4 observations up to 2025-01-01: effective sample size" in text
    assert "What the evidence taught: outcomes" in text
    assert "What the evidence taught: assumptions" in text
    for name in ("clashes", "dealt", "built", "trade_2027", "rate", "drift", "speed"):
        assert name in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert 0 < summary["evidence"]["ess"] <= 300
    assert len(summary["evidence"]["items"]) == 4
    assert set(summary["posterior"]) == {"rate", "drift", "speed"}
    for body in summary["posterior"].values():
        q = body["posterior"]["quantiles"]
        assert set(q) >= {"0.05", "0.5", "0.95"}
        assert q["0.05"] <= q["0.5"] <= q["0.95"]
    # the evidence says two clashes in 2024: the posterior of their rate moves towards 2
    rate = summary["posterior"]["rate"]
    assert rate["posterior"]["quantiles"]["0.5"] > rate["prior"]["quantiles"]["0.5"]


def test_cli_run_with_impossible_evidence_exits_2_and_writes_nothing(
    small: tuple[Path, Path], tmp_path: Path
) -> None:
    scenario, _ = small
    evidence = tmp_path / "impossible.yaml"
    impossible = "  - {project: line, stage: build, reached_by: 2024-06-01, source: s}\n"
    evidence.write_text(
        "as_of: 2025-01-01\nevidence:\n  - {event: deal, not_by: 2024-10-01, source: s}\n"
        + impossible,
        encoding="utf-8",
    )
    column = impossible.index("2024-06-01") + 1
    out = tmp_path / "out"
    result = invoke("run", scenario, "--evidence", evidence, "--out", out, "-n", "300", "-q")
    assert result.exit_code == 2
    assert result.stderr == (
        f"{evidence}:4:{column}: error: evidence[2].reached_by: projects.line: stage 'build' "
        "cannot begin before 2024-07-02: prep takes at least 0.5 years (pert min), at pace at "
        "most 1 (speed if active(clash) else 1, where parameters.speed is at most 1, uniform "
        "max), from the start; the evidence says it had begun by 2024-06-01\n"
    )
    assert not out.exists()
