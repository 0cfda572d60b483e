"""The compiled engine conditioned on evidence gives the reference engine's samples and
log-weights bit for bit (``docs/engine.md`` section 10).

These are identities, checked exactly (``np.array_equal``, no tolerances): the evidence
kernel replays the reference engine's evidence methods with the same random numbers, the
same arithmetic and the same order of events. Plans are those of
``tests/test_evidence_engine.py`` and hand-built ones on a scenario with every random
ingredient and on the shipped baseline; lineages with one and two resamplings are made by
the reference engine's driver (``steppe.evidence.smc.condition``) and replayed by both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import steppe
from steppe.engines import kernel
from steppe.engines.compiled import CompiledEngine
from steppe.engines.des import Lineages, simulate_des_conditioned
from steppe.errors import SimulationError
from steppe.evidence.plan import EvidencePlan, SeriesCheck, StageCheck, Window
from steppe.evidence.smc import condition
from steppe.model.observations import EventNotBy
from steppe.model.scenario import Scenario

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "evidence"
ENGINE = CompiledEngine()


def _years(sc: Scenario, day: dt.date) -> float:
    return float(sc.timeline.years(day))


def _same(
    sc: Scenario, plan: EvidencePlan, lineages: Lineages, *, seed: int, n: int, start: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Assert that both engines give the same samples and log-weights; return them."""
    ref = simulate_des_conditioned(sc, plan, lineages, seed=seed, start=start, n=n)
    got = ENGINE.simulate_conditioned(sc, plan, lineages, seed=seed, start=start, n=n)
    assert got[0].flags.f_contiguous  # the engine's sample order
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    return ref


def _lineages(sc: Scenario, plan: EvidencePlan, *, seed: int, n: int, threshold: float) -> Lineages:
    """The lineages the reference engine's driver makes (resampling below ``threshold``)."""

    def simulate(lineages: Lineages) -> tuple[np.ndarray, np.ndarray]:
        return simulate_des_conditioned(sc, plan, lineages, seed=seed, n=n)

    return condition(plan, simulate, seed=seed, n=n, threshold=threshold).lineages


# -- the plans of tests/test_evidence_engine.py ---------------------------------------------


@pytest.mark.parametrize("k", [3, 10])
def test_drawn_occurrences_of_a_recurring_event(k: int) -> None:
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    big_t = _years(sc, dt.date(2026, 1, 1))
    window = Window(0, 0.0, big_t, draws=k, dlo=0.0, dhi=big_t, source="evidence:0:times")
    plan = EvidencePlan(windows=(window,), as_of=big_t)
    _, logw = _same(sc, plan, Lineages(), seed=11, n=300)
    assert np.isfinite(logw).all()
    lineages = _lineages(sc, plan, seed=11, n=300, threshold=0.5)
    assert len(lineages.times) == (k == 10)
    _same(sc, plan, lineages, seed=11, n=300)


def test_not_by_a_date() -> None:
    sc = steppe.load(DATA / "lognormal_survival.yaml")
    big_t = _years(sc, dt.date(2025, 1, 1))
    plan = EvidencePlan(windows=(Window(0, 0.0, big_t),), as_of=big_t)
    _same(sc, plan, Lineages(), seed=2, n=300)


def test_series_level_and_total() -> None:
    sc = steppe.load(DATA / "observed_level.yaml")
    at = _years(sc, dt.date(2024, 7, 1))
    lo, hi = _years(sc, dt.date(2024, 1, 1)), _years(sc, dt.date(2025, 1, 1))
    plan = EvidencePlan(
        series=(
            SeriesCheck(0, at, at, value=80.0, sigma=0.3),
            SeriesCheck(0, lo, hi, at_least=60.0 * (hi - lo)),
            SeriesCheck(0, 0.1, hi, at_most=90.0 * (hi - 0.1), at_least=1.0),
        ),
        as_of=hi,
    )
    _, logw = _same(sc, plan, Lineages(), seed=9, n=300)
    assert np.isinf(logw[:, -1]).any() and np.isfinite(logw[:, -1]).any()


@pytest.mark.parametrize("reached", [True, False])
def test_stage_checks(reached: bool) -> None:
    sc = steppe.load(DATA / "stage_check.yaml")
    at = _years(sc, dt.date(2025, 1, 1))
    plan = EvidencePlan(stages=(StageCheck(0, 1, at, reached=reached),), as_of=at)
    _same(sc, plan, Lineages(), seed=4, n=300)


def test_several_chunks_give_the_rows_of_the_whole() -> None:
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    big_t = _years(sc, dt.date(2026, 1, 1))
    window = Window(0, 0.0, big_t, draws=10, dlo=0.0, dhi=big_t, source="evidence:0:times")
    plan = EvidencePlan(windows=(window,), as_of=big_t)
    lineages = _lineages(sc, plan, seed=3, n=600, threshold=0.5)
    assert len(lineages.times) == 1
    whole = _same(sc, plan, lineages, seed=3, n=600)
    for start, n in ((0, 250), (250, 1), (251, 349)):
        part = ENGINE.simulate_conditioned(sc, plan, lineages, seed=3, start=start, n=n)
        np.testing.assert_array_equal(part[0], whole[0][start : start + n])
        np.testing.assert_array_equal(part[1], whole[1][start : start + n])


def test_empty_plan_and_no_particles() -> None:
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    out, logw = _same(sc, EvidencePlan(), Lineages(), seed=8, n=100)
    np.testing.assert_array_equal(out, ENGINE.simulate(sc, seed=8, start=0, n=100))
    assert logw.shape == (100, 0)
    out, logw = ENGINE.simulate_conditioned(sc, EvidencePlan(), Lineages(), seed=8, start=5, n=0)
    assert out.shape == (0, len(sc.outcomes)) and logw.shape == (0, 0)


# -- windows: fixed and drawn times, touching, overlapping, later ---------------------------


@pytest.mark.parametrize(
    "windows",
    [
        # fixed times, two on one day, and drawn ones in a part of the window
        (Window(0, 0.0, 1.5, times=(0.25, 0.7, 0.7), draws=2, dlo=0.8, dhi=1.4, source="a"),),
        # touching, listed later one first; then one opening later with draws
        (
            Window(0, 0.5, 1.0, times=(1.0,)),
            Window(0, 0.0, 0.5),
            Window(0, 1.2, 2.0, draws=3, dlo=1.2, dhi=2.0, source="b"),
        ),
        # overlapping and nested, on a tick and off it
        (Window(0, 0.0, 1.0 + 1e-9), Window(0, 0.5, 2.0, times=(1.75,)), Window(0, 0.6, 0.9)),
    ],
)
def test_windows_of_every_shape(windows: tuple[Window, ...]) -> None:
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    plan = EvidencePlan(windows=windows, as_of=2.0)
    _same(sc, plan, Lineages(), seed=21, n=300)
    lineages = _lineages(sc, plan, seed=21, n=300, threshold=0.9)
    assert lineages.times
    _same(sc, plan, lineages, seed=21, n=300)


# -- every random ingredient: jumps, durations, projects, series noise -----------------------

_JUMPS = "jumps: [{event: uz_delists, factor: 1.05}, {event: shock, factor: 0.9}]"


def _everything() -> Scenario:
    text = (ROOT / "tests" / "data" / "everything.yaml").read_text(encoding="utf-8")
    return steppe.loads(text.replace("jumps: [{event: uz_delists, factor: 1.05}]", _JUMPS))


def _everything_plan(sc: Scenario) -> EvidencePlan:
    t = [_years(sc, dt.date(2024, m, 1)) for m in range(1, 13)]
    t += [_years(sc, dt.date(2025, m, 1)) for m in range(1, 13)]
    uz, shock = 1, 2
    return EvidencePlan(
        windows=(
            Window(uz, 0.0, t[9] + 0.01, times=(t[9] + 0.01,)),  # occurred on a day
            Window(shock, t[2], t[14], draws=3, dlo=t[2], dhi=t[14], source="evidence:1:times"),
            Window(shock, t[14], t[18]),  # then quiet
            Window(shock, t[16], t[20], times=(t[19],)),  # overlapping
        ),
        series=(
            SeriesCheck(0, t[6], t[6], value=1000.0, sigma=0.2),
            SeriesCheck(0, t[3] + 0.02, t[15] - 0.03, value=1100.0, sigma=0.3),  # a total
            SeriesCheck(0, t[12], t[12], at_least=500.0, at_most=5000.0),
        ),
        stages=(StageCheck(0, 1, t[20], reached=True), StageCheck(0, 2, t[23], reached=False)),
        as_of=t[23],
    )


def test_every_ingredient_without_resampling() -> None:
    sc = _everything()
    plan = _everything_plan(sc)
    _, logw = _same(sc, plan, Lineages(), seed=31, n=200)
    assert np.isfinite(logw[:, -1]).sum() > 20


@pytest.mark.slow
def test_every_ingredient_with_two_resamplings_and_chunks() -> None:
    sc = _everything()
    plan = _everything_plan(sc)
    lineages = _lineages(sc, plan, seed=32, n=200, threshold=0.7)
    assert len(lineages.times) >= 2
    whole = _same(sc, plan, lineages, seed=32, n=200)
    part = _same(sc, plan, lineages, seed=32, start=130, n=70)
    np.testing.assert_array_equal(part[0], whole[0][130:])
    # the generations before the last replay their ancestors: any prefix of lineages
    _same(sc, plan, Lineages(lineages.times[:1], lineages.ancestors[:1]), seed=32, n=200)


def _random_plan(sc: Scenario, rng: np.random.Generator) -> EvidencePlan:
    """A plan of random items on :func:`_everything`: windows on its one-shot and recurring
    events (starting at 0 or later, on ticks or between them, with fixed and drawn times),
    series levels and totals (lognormal or bounds), stage checks."""

    def when() -> float:
        return float(rng.choice(sc.ticks[:40])) if rng.random() < 0.4 else rng.uniform(0, 3.3)

    windows = []
    for _ in range(rng.integers(0, 5)):
        ev = int(rng.choice([1, 2]))  # uz_delists (one-shot), shock (recurring)
        lo, hi = sorted((0.0 if rng.random() < 0.3 else when(), when()))
        times = tuple(sorted(rng.uniform(lo, hi, rng.integers(0, 3)).tolist()))
        draws = int(rng.integers(0, 3)) if ev == 2 else 0
        source = f"evidence:{rng.integers(0, 3)}:times"
        windows.append(
            Window(ev, lo, hi, times=times[: 1 if ev == 1 else 3], draws=draws, dlo=lo,
                   dhi=hi, source=source)
        )  # fmt: skip
    checks = []
    for _ in range(rng.integers(0, 3)):
        lo, hi = sorted((when(), when()))
        lo = hi if rng.random() < 0.5 else lo
        size = 1000.0 * (hi - lo) if hi > lo else 1000.0
        if rng.random() < 0.5:
            checks.append(SeriesCheck(0, lo, hi, value=size, sigma=0.3))
        else:
            checks.append(SeriesCheck(0, lo, hi, at_least=size / 2))
    stages = [
        StageCheck(0, int(rng.integers(0, 3)), when(), reached=bool(rng.random() < 0.5))
        for _ in range(rng.integers(0, 2))
    ]
    return EvidencePlan(windows=tuple(windows), series=tuple(checks), stages=tuple(stages))


@pytest.mark.slow
def test_random_plans_and_lineages() -> None:
    # 20 random plans (seeded), each with the lineages the reference's driver makes when it
    # resamples below 80% of the particles (0 to 3 resamplings)
    sc = _everything()
    rng = np.random.default_rng(2026)
    generations = []
    for _ in range(20):
        plan = _random_plan(sc, rng)
        seed = int(rng.integers(0, 1000))
        try:
            lineages = _lineages(sc, plan, seed=seed, n=40, threshold=0.8)
        except SimulationError:  # every particle has weight 0 somewhere
            lineages = Lineages()
        generations.append(len(lineages.times))
        _same(sc, plan, lineages, seed=seed, n=40)
    assert max(generations) >= 2


# -- the shipped baseline -------------------------------------------------------------------


@pytest.mark.slow
def test_baseline_with_a_hand_built_plan() -> None:
    sc = steppe.load(ROOT / "scenarios" / "baseline.yaml")
    ev = {e.name: e.index for e in sc.events}
    pr = {p.name: p.index for p in sc.projects}
    se = {s.name: s.index for s in sc.series}
    as_of = _years(sc, dt.date(2025, 1, 15))
    mid = _years(sc, dt.date(2024, 6, 30))
    plan = EvidencePlan(
        windows=(
            *(Window(ev[name], 0.0, as_of) for name in ("uz_delists", "tm_delists")),
            Window(ev["ru_delists"], 0.0, mid),
            Window(ev["kg_delists"], 0.0, as_of, times=(_years(sc, dt.date(2024, 9, 20)),)),
            Window(ev["shock"], 0.0, as_of, draws=1, dlo=0.2, dhi=0.8, source="evidence:4:times"),
        ),
        series=(
            # USD million a year: a level, and a total over 2024 (starting at 266 to 1,300)
            SeriesCheck(se["kz_trade"], as_of, as_of, value=1200.0, sigma=0.25),
            SeriesCheck(se["uz_trade"], 0.0, 1.0, at_least=400.0),
        ),
        stages=(StageCheck(pr["tapi"], 1, as_of, reached=False),),
        as_of=as_of,
    )  # fmt: skip
    _same(sc, plan, Lineages(), seed=41, n=60)
    lineages = _lineages(sc, plan, seed=41, n=60, threshold=0.9)
    assert lineages.times
    _same(sc, plan, lineages, seed=41, n=60)


# -- the failure cases agree ---------------------------------------------------------------


def test_a_window_on_an_event_without_a_hazard_fails_alike() -> None:
    text = (DATA / "lognormal_survival.yaml").read_text(encoding="utf-8")
    sc = steppe.loads(
        text.replace("  e: {hazard: h, why: test}", "  e: {hazard: h, why: test}\n"
                     "  f: {history: [2023-06-01], why: test}")
    )  # fmt: skip
    plan = EvidencePlan(windows=(Window(1, 0.0, 0.5),), as_of=0.5)
    message = "event 'f' happened or not, but it has no hazard"
    with pytest.raises(SimulationError, match=message) as ref:
        simulate_des_conditioned(sc, plan, Lineages(), seed=1, n=3)
    with pytest.raises(SimulationError, match=message) as got:
        ENGINE.simulate_conditioned(sc, plan, Lineages(), seed=1, start=0, n=3)
    assert str(got.value) == str(ref.value)


def test_draws_in_a_range_of_length_0_give_weight_0_alike() -> None:
    # A count over between: [D, D] is refused by the loader; a hand-built plan gives every
    # particle weight 0 (log-weight -inf) in both engines, with the same samples.
    sc = steppe.load(DATA / "gamma_poisson.yaml")
    t = _years(sc, dt.date(2025, 1, 1))
    window = Window(0, t, t, draws=2, dlo=t, dhi=t, source="evidence:0:times")
    assert window.log_proposal == -np.inf
    samples, logw = _same(sc, EvidencePlan(windows=(window,), as_of=t), Lineages(), seed=3, n=50)
    assert (logw == -np.inf).all()
    assert (samples[:, 2] >= 2).all()  # count_2026: the two forced occurrences happened


def test_a_failing_particle_is_reported_alike() -> None:
    # A hazard that turns negative after a forced occurrence: both engines name the same
    # replication (the one the particle descends from), time and value.
    sc = steppe.loads(
        (DATA / "gamma_poisson.yaml").read_text(encoding="utf-8")
        .replace("hazard: rate,", "hazard: \"rate - 10 * count(shock)\",")
    )  # fmt: skip
    plan = EvidencePlan(windows=(Window(0, 0.0, 1.0, times=(0.5,)),), as_of=1.0)
    with pytest.raises(SimulationError) as ref:
        simulate_des_conditioned(sc, plan, Lineages(), seed=1, start=7, n=3)
    with pytest.raises(SimulationError) as got:
        ENGINE.simulate_conditioned(sc, plan, Lineages(), seed=1, start=7, n=3)
    assert str(got.value) == str(ref.value)


def test_the_engine_prepares_scenarios_with_evidence() -> None:
    # prepare compiles (or loads) the evidence kernel too; ready then says so
    base = steppe.load(DATA / "gamma_poisson.yaml")
    sc = dataclasses.replace(base, evidence=(EventNotBy("shock", dt.date(2025, 1, 1)),))
    assert ENGINE.unsupported(sc) is None
    ENGINE.prepare(sc)
    assert kernel.ready(sc, evidence=True) and ENGINE.ready(sc)
