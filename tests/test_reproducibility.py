"""Reproducibility: the same seed gives the same numbers, however the work is split."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import steppe
from steppe.engines.common import draw_parameters
from steppe.engines.des import simulate_des
from steppe.model.scenario import Scenario

ScenarioFactory = Callable[[str], Scenario]

#: Exercises every source of randomness: drawn and derived parameters, competing and
#: recurring events, durations drawn from a distribution, projects with drawn stage
#: durations and cancellation, a noisy series with jumps, and every kind of outcome.
EVERYTHING = (Path(__file__).parent / "data" / "everything.yaml").read_text(encoding="utf-8")


@pytest.fixture
def everything(scenario_from_yaml: ScenarioFactory) -> Scenario:
    return scenario_from_yaml(EVERYTHING)


def test_same_seed_same_results(everything: Scenario) -> None:
    one = steppe.run(everything, replications=150, seed=5, engine="simpy")
    two = steppe.run(everything, replications=150, seed=5, engine="simpy")
    assert one.summary == two.summary
    pd.testing.assert_frame_equal(one.samples, two.samples, check_exact=True)
    # the scenario's own seed and size are the defaults
    three = steppe.run(everything, engine="simpy")
    four = steppe.run(everything, replications=200, seed=7, engine="simpy")
    pd.testing.assert_frame_equal(three.samples, four.samples, check_exact=True)


def test_results_are_not_trivial(everything: Scenario) -> None:
    """Guards the other tests: every outcome actually varies across replications."""
    s = steppe.run(everything, replications=150, seed=5, engine="simpy").samples
    for col in s.columns:
        assert s[col].nunique() > 1, f"{col} is constant: the scenario tests nothing"


def test_batches_give_identical_replications(everything: Scenario) -> None:
    """Replication i gives the same numbers whether run in one batch or split."""
    whole = simulate_des(everything, seed=5, start=0, n=100)
    split = np.vstack(
        [
            simulate_des(everything, seed=5, start=0, n=40),
            simulate_des(everything, seed=5, start=40, n=60),
        ]
    )
    np.testing.assert_array_equal(whole, split, strict=True)
    alone = simulate_des(everything, seed=5, start=73, n=1)
    np.testing.assert_array_equal(whole[73:74], alone, strict=True)
    # and steppe.run is replications [0, n) of the same streams
    samples = steppe.run(everything, replications=100, seed=5, engine="simpy").samples.to_numpy()
    np.testing.assert_array_equal(whole, samples)


def test_different_seeds_differ(everything: Scenario) -> None:
    a = simulate_des(everything, seed=5, start=0, n=100)
    b = simulate_des(everything, seed=6, start=0, n=100)
    names = [o.name for o in everything.outcomes]
    for j in (names.index("trade_2027"), names.index("uz_time"), names.index("rail_time")):
        assert not np.array_equal(a[:, j], b[:, j]), f"{names[j]} is the same for seeds 5 and 6"
    pa = draw_parameters(everything, 5, 0, 100)
    pb = draw_parameters(everything, 6, 0, 100)
    base = everything.param("base").index
    assert not np.array_equal(pa[:, base], pb[:, base])


def test_parameter_draws_do_not_depend_on_the_batch(
    everything: Scenario, scenario_from_yaml: ScenarioFactory
) -> None:
    whole = draw_parameters(everything, 9, 0, 100)
    split = np.vstack(
        [draw_parameters(everything, 9, 0, 40), draw_parameters(everything, 9, 40, 60)]
    )
    np.testing.assert_array_equal(whole, split, strict=True)
    np.testing.assert_array_equal(whole[73:74], draw_parameters(everything, 9, 73, 1), strict=True)
    # drawn parameters vary, derived ones follow them, fixed ones are fixed
    idx = {p.name: p.index for p in everything.params}
    assert np.unique(whole[:, idx["base"]]).size == 100
    np.testing.assert_allclose(whole[:, idx["dbl"]], 2 * whole[:, idx["base"]], rtol=1e-15)
    assert (whole[:, idx["shock_rate"]] == 0.5).all()

    # Common random numbers: a parameter's draws depend on its name, not on what else the
    # scenario declares or in which order.
    other = scenario_from_yaml(
        """
        name: other
        title: the same parameter in another scenario
        start: 2024-01-01
        horizon: 2025-01-01
        parameters:
          extra: {dist: uniform, low: 0, high: 1}
          base: {dist: lognormal, ci90: [0.02, 0.2]}
        events:
          e: {hazard: "base + extra"}
        outcomes:
          p: {probability: occurred(e)}
        """
    )
    np.testing.assert_array_equal(
        draw_parameters(other, 9, 0, 100)[:, other.param("base").index],
        whole[:, idx["base"]],
        strict=True,
    )


def test_global_rng_state_untouched(everything: Scenario) -> None:
    # The legacy global NumPy generator and Python's `random` are what user code may rely on.
    np_before = np.random.get_state()  # noqa: NPY002
    py_before = random.getstate()
    steppe.run(everything, replications=20, seed=5, engine="simpy")
    simulate_des(everything, seed=5, start=3, n=5)
    draw_parameters(everything, 5, 0, 10)
    np_after = np.random.get_state()  # noqa: NPY002
    assert py_before == random.getstate()
    assert isinstance(np_before, tuple)
    assert isinstance(np_after, tuple)
    assert np_before[0] == np_after[0]
    np.testing.assert_array_equal(np_before[1], np_after[1])
    assert np_before[2:] == np_after[2:]
