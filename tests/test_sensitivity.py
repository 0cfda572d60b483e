"""``steppe.sensitivity``: SALib's Sobol' and Morris estimators on textbook functions and on a
scenario, with explicit seeds and NumPy's global random state left alone."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import steppe
from steppe.errors import ScenarioError, SimulationError

SMOKE = Path(__file__).parent / "data" / "smoke.yaml"
PI = math.pi


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami & Homma (1990): y = sin x1 + a sin^2 x2 + b x3^4 sin x1."""
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Exact first-order and total indices (Sobol' & Levitan 1999)."""
    v1 = 0.5 * (1 + b * PI**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * PI**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / var, np.array([v1 + v13, v2, v13]) / var


def test_exact_ishigami_indices_are_the_textbook_ones() -> None:
    s1, st = ishigami_indices()
    np.testing.assert_allclose(s1, [0.3139, 0.4424, 0.0], atol=5e-5)
    np.testing.assert_allclose(st, [0.5576, 0.4424, 0.2437], atol=5e-5)


def test_sobol_indices_of_ishigami() -> None:
    """n = 4096 base samples (24,576 evaluations). The bootstrap standard deviations are
    about 0.015 (S1) and 0.005-0.02 (ST), so |estimate - exact| <= 0.05 is 2.5 to 10 of
    them; the estimates are also required to lie in their own 95% bootstrap intervals."""
    state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking it is untouched
    res = steppe.sensitivity(
        ishigami, params={"x1": (-PI, PI), "x2": (-PI, PI), "x3": (-PI, PI)},
        method="sobol", n=4096, seed=1,
    )  # fmt: skip
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    s1, st = ishigami_indices()
    t = res.table("y")
    assert list(t.index) == ["x1", "x2", "x3"]
    np.testing.assert_allclose(t["S1"], s1, atol=0.05)
    np.testing.assert_allclose(t["ST"], st, atol=0.05)
    assert np.all((t["S1_low"] <= s1) & (s1 <= t["S1_high"]))
    assert np.all((t["ST_low"] <= st) & (st <= t["ST_high"]))
    assert len(res.points) == 4096 * 5
    assert res.noise_share == {"y": 0.0}
    frame = res.to_frame()
    assert list(frame.index.names) == ["outcome", "parameter"]
    assert list(frame.columns) == [
        "S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low", "ST_high", "ST_conf",
    ]  # fmt: skip


def test_sobol_indices_depend_only_on_the_seed() -> None:
    kwargs = {"params": {"x1": (-PI, PI), "x2": (-PI, PI), "x3": (-PI, PI)}, "n": 64}
    a = steppe.sensitivity(ishigami, seed=3, **kwargs).to_frame()  # type: ignore[arg-type]
    b = steppe.sensitivity(ishigami, seed=3, **kwargs).to_frame()  # type: ignore[arg-type]
    c = steppe.sensitivity(ishigami, seed=4, **kwargs).to_frame()  # type: ignore[arg-type]
    assert a.equals(b)
    assert not a.equals(c)


def test_morris_finds_the_inert_input() -> None:
    """y = 3 a + b^2 (+ 0 c): elementary effects are exactly 3 for a, between 1/3 and 5/3
    for b on the 4-level grid, and exactly 0 for c."""
    res = steppe.sensitivity(
        lambda x: 3 * x[:, 0] + x[:, 1] ** 2, params={"a": (0, 1), "b": (0, 1), "c": (0, 1)},
        method="morris", n=20, seed=2,
    )  # fmt: skip
    t = res.table("y")
    assert list(t.columns) == ["mu", "mu_star", "mu_star_conf", "sigma"]
    assert t.loc["a", "mu_star"] == pytest.approx(3.0)
    assert t.loc["a", "sigma"] == pytest.approx(0.0, abs=1e-12)
    assert 1 / 3 <= t.loc["b", "mu_star"] <= 5 / 3
    assert t.loc["c", "mu_star"] == 0.0
    assert t.loc["c", "mu_star_conf"] == 0.0
    assert len(res.points) == 20 * 4


def test_sensitivity_of_a_scenario(tmp_path: Path) -> None:
    """A small Sobol' analysis of the smoke scenario. Checked exactly: the design has
    n (d + 2) points, each a run with the same seed, and a checkpoint resumes it to the same
    indices. Checked loosely (the indices need far more points to be precise): the base
    hazard, spanning a 10-fold range, matters more than contagion, a 1x-3x multiplier."""
    kwargs = {
        "params": {"base": (0.02, 0.2), "contagion": (0.0, 2.0)},
        "outcomes": ["uz_by_2027"], "method": "sobol", "n": 8, "replications": 100, "seed": 4,
    }  # fmt: skip
    res = steppe.sensitivity(SMOKE, checkpoint=tmp_path / "ck", **kwargs)  # type: ignore[arg-type]
    assert len(res.points) == 8 * 4
    assert res.replications == 100
    assert res.outcomes == ("uz_by_2027",)
    assert 0 < res.noise_share["uz_by_2027"] < 1
    t = res.table("uz_by_2027")
    assert t.loc["base", "ST"] > t.loc["contagion", "ST"]  # base spans a 10-fold hazard
    again = steppe.sensitivity(SMOKE, checkpoint=tmp_path / "ck", **kwargs)  # type: ignore[arg-type]
    assert again.to_frame().equals(res.to_frame())
    d = res.to_dict()
    assert d["evaluations"] == 32
    assert set(d["outcomes"]["uz_by_2027"]["indices"]) == {"base", "contagion"}


def test_a_constant_output_has_undefined_sobol_indices() -> None:
    res = steppe.sensitivity(lambda x: np.ones(len(x)), params={"a": (0, 1)}, n=8, seed=1)
    assert res.table("y")["S1"].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "fast"}, "unknown method 'fast'; expected one of sobol, morris"),
        (
            {"n": 100},
            "Sobol' sensitivity needs n a power of 2 (base samples of the Saltelli "
            "design), found n = 100; use 64 or 128",
        ),
        ({"n": 1}, "n must be a whole number >= 2, found 1"),
        ({"params": {"a": [0, 1]}}, "sensitivity needs ranges (low, high), not lists of values"),
        ({"params": {"a": (1, 0)}}, "vary 'a': low must be < high, found 1 >= 0"),
        ({"num_levels": 3, "method": "morris"}, "num_levels must be an even whole number >= 2"),
        ({"conf_level": 1.0}, "conf_level must be in (0, 1), found 1.0"),
    ],
)
def test_bad_requests_are_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"params": {"a": (0, 1)}, "n": 8, **kwargs}
    with pytest.raises(ScenarioError) as info:
        steppe.sensitivity(lambda x: x[:, 0], **args)  # type: ignore[arg-type]
    assert info.value.message.startswith(message)


def test_a_function_must_return_one_finite_number_per_row() -> None:
    with pytest.raises(SimulationError, match=r"expected shape \(32,\), found \(32, 1\)"):
        steppe.sensitivity(lambda x: x[:, :1], params={"a": (0, 1), "b": (0, 1)}, n=8)
    with pytest.raises(SimulationError, match="non-finite value nan at row 0"):
        steppe.sensitivity(lambda x: np.full(len(x), np.nan), params={"a": (0, 1)}, n=8)


def test_unknown_scenario_parameters_are_refused() -> None:
    with pytest.raises(ScenarioError, match=r"cannot vary 'contagon'.*did you mean 'contagion'"):
        steppe.sensitivity(SMOKE, params={"contagon": (0, 1)}, n=8)
