"""A scenario's observations through the plan builder and the chunked, parallel driver
(``steppe.evidence.build``, ``steppe.evidence.parallel``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import steppe
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
