"""Mean-reverting series (``reverts_to`` and ``half_life``): the exact Ornstein-Uhlenbeck
step against its closed-form mean and variance, both engines alike, located errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import steppe
from steppe.errors import ScenarioError, SimulationError

SCENARIO = """\
steppe: 1
name: ou
title: "Mean reversion"
start: 2024-01-01
horizon: 2029-01-01
step: month
replications: 4000
seed: 3
parameters:
  lvl: {value: 50, why: test}
  hl: {value: 1.5, why: test}
series:
  lin:
    process: linear
    initial: 10
    reverts_to: lvl
    half_life: hl
    volatility: 4
    why: test
  lg:
    initial: 100
    reverts_to: 200
    half_life: 2
    volatility: 0.2
    why: test
outcomes:
  lin_end: {value: lin}
  lg_end: {value: "log(lg)"}
"""


def _write(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "ou.yaml"
    path.write_text(text)
    return path


def _ou_moments(
    x0: float, theta: float, half_life: float, sigma: float, t: float
) -> tuple[float, float]:
    """Mean and variance of an Ornstein-Uhlenbeck process at time t (exact)."""
    k = math.log(2.0) / half_life
    mean = theta + (x0 - theta) * math.exp(-k * t)
    var = sigma**2 * (1.0 - math.exp(-2.0 * k * t)) / (2.0 * k)
    return mean, var


@pytest.mark.parametrize(
    ("column", "x0", "theta", "half_life", "sigma"),
    [("lin_end", 10.0, 50.0, 1.5, 4.0), ("lg_end", math.log(100.0), math.log(200.0), 2.0, 0.2)],
)
def test_closed_form_mean_and_variance(
    tmp_path: Path, column: str, x0: float, theta: float, half_life: float, sigma: float
) -> None:
    """The exact step makes the value after the last tick (60 monthly ticks: t = 5 years)
    an OU draw whatever the step; for the log series, its logarithm is."""
    r = steppe.run(_write(tmp_path), engine="simpy")
    x = r.samples[column].to_numpy()
    n = x.size
    t = len(r.scenario.ticks) * r.scenario.step
    mean, var = _ou_moments(x0, theta, half_life, sigma, t)
    # the sample mean's error is sd / sqrt(n); the sample variance of normal draws has
    # standard error var * sqrt(2 / (n - 1)); 4 of each (a false alarm about 1 in 16,000)
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(x.var(ddof=1) - var) < 4 * var * math.sqrt(2 / (n - 1))


def test_without_noise_the_gap_halves_every_half_life(tmp_path: Path) -> None:
    text = SCENARIO.replace("volatility: 4", "volatility: 0").replace(
        "hl: {value: 1.5", "hl: {value: 2.5"
    )
    text = text.replace("replications: 4000", "replications: 5")
    r = steppe.run(_write(tmp_path, text), engine="simpy")
    # 5 years = two half-lives: the gap of 40 falls to 10
    np.testing.assert_allclose(r.samples["lin_end"], 50.0 - 40.0 / 4.0, rtol=1e-12)


@pytest.mark.slow
def test_engines_identical(tmp_path: Path) -> None:
    """The compiled engine repeats the reference's arithmetic: bit for bit."""
    path = _write(tmp_path, SCENARIO.replace("replications: 4000", "replications: 300"))
    a = steppe.run(path, engine="simpy").samples
    b = steppe.run(path, engine="compiled").samples
    assert a.equals(b)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("    half_life: hl\n", ""), "reverts_to needs half_life"),
        (("    reverts_to: lvl\n", ""), "half_life needs reverts_to"),
        (("    volatility: 4\n", "    volatility: 4\n    drift: 0.1\n"), "has no drift"),
        (("    half_life: hl\n", "    half_life: hl\n    half_lif: 2\n"), "half_life"),
    ],
)
def test_load_errors_are_located(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        steppe.load(_write(tmp_path, SCENARIO.replace(*edit, 1)))
    text = str(info.value)
    assert "ou.yaml:" in text and "series" in text and message in text


@pytest.mark.parametrize("engine", ["simpy", pytest.param("compiled", marks=pytest.mark.slow)])
@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (("reverts_to: 200", "reverts_to: -200"), "reverts_to"),
        (("half_life: 2\n", "half_life: -2\n"), "half_life"),
    ],
)
def test_bad_values_fail_at_their_key(
    tmp_path: Path, engine: str, edit: tuple[str, str], key: str
) -> None:
    path = _write(
        tmp_path, SCENARIO.replace(*edit).replace("replications: 4000", "replications: 10")
    )
    with pytest.raises(SimulationError, match=rf"series\.lg\.{key}.*replication 0"):
        steppe.run(path, engine=engine)  # type: ignore[arg-type]


def test_in_the_schema() -> None:
    from steppe.load.fileschema import file_schema

    text = str(file_schema())
    assert "reverts_to" in text and "half_life" in text


def test_lint_does_not_call_a_reverting_series_still(tmp_path: Path) -> None:
    """Without noise or jumps a drift-only series is bounded by its drift; a mean-reverting
    one moves toward its level, so reaching it is not called impossible."""
    text = SCENARIO.replace("volatility: 4", "volatility: 0").replace(
        "  lin_end: {value: lin}", "  lin_reaches: {probability: lin > 40}"
    )
    found = steppe.lint(_write(tmp_path, text))
    assert not [f for f in found if f.outcome == "lin_reaches"]
    r = steppe.run(_write(tmp_path, text.replace("replications: 4000", "replications: 5")))
    assert r.outcome("lin_reaches")["p"] == 1.0
