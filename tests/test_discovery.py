"""Scenario discovery (``steppe discover``): PRIM against EMA Workbench, a planted box,
CART, the cases of a run (parameter draws drawn again) and of a sweep, the command."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import steppe
from steppe.cli import main
from steppe.discovery.cart import cart_leaves
from steppe.discovery.data import outcome_rule
from steppe.discovery.prim import get_quantile, quasi_p, trajectory
from steppe.errors import ExpressionError, ResultError, ScenarioError

FIXTURE = Path(__file__).parent / "data" / "discovery" / "ema_prim.json"


def _none(v: float | None) -> float:
    return np.nan if v is None else v


@pytest.mark.parametrize("name", ["planted", "sloped"])
def test_prim_reproduces_ema_workbench(name: str) -> None:
    """Every box of EMA Workbench 3.0's trajectory (peeling, then pasting), its statistics,
    limits and quasi-p-values, on the data it ran on (made by make_ema_fixture.py)."""
    data = json.loads(FIXTURE.read_text())[name]
    x, y = np.array(data["x"]), np.array(data["y"])
    ours = trajectory(x, y)
    theirs = data["trajectory"]
    assert len(ours) == len(theirs)
    for mine, ema in zip(ours, theirs, strict=True):
        assert (mine.n, mine.k, mine.res_dim) == (ema["n"], ema["k"], ema["res_dim"])
        np.testing.assert_allclose(
            [mine.coverage, mine.density, mine.mass],
            [ema["coverage"], ema["density"], ema["mass"]],
            rtol=1e-12,
        )
        np.testing.assert_allclose(mine.lower, ema["lower"], rtol=1e-12)
        np.testing.assert_allclose(mine.upper, ema["upper"], rtol=1e-12)
        qp = {
            data["columns"][j]: [_none(v) for v in pair] for j, pair in quasi_p(x, y, mine).items()
        }
        assert set(qp) == set(ema["qp"])
        for col, pair in qp.items():
            np.testing.assert_allclose(pair, [_none(v) for v in ema["qp"][col]], rtol=1e-9)
    assert [b.step for b in ours].count("paste") == (10 if name == "planted" else 0)


def test_get_quantile_does_not_split_ties() -> None:
    data = np.array([1.0, 2.0, 2.0, 2.0, 3.0])
    assert get_quantile(data, 0.5 - 1e-9) == 2.5  # the upper neighbour moves past the ties
    assert get_quantile(data, 0.95) == 2.5
    # position 1 of 0..20 holds 1; the cut is half-way to the next distinct value
    assert get_quantile(np.arange(21.0), 0.05) == 1.5


def _planted(seed: int, n: int = 4000) -> pd.DataFrame:
    """Five uniform parameters; the outcome holds where 0.2 <= u1 <= 0.6 and u3 >= 0.5,
    flipped in 5% of the cases (noise)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 5))
    hit = (x[:, 1] >= 0.2) & (x[:, 1] <= 0.6) & (x[:, 3] >= 0.5)
    hit ^= rng.random(n) < 0.05
    table = pd.DataFrame(x, columns=[f"u{i}" for i in range(5)])
    table["hit"] = hit.astype(float)
    table.attrs["vary"] = {f"u{i}": [0, 1] for i in range(5)}
    return table


@pytest.mark.parametrize("seed", [1, 2])
def test_planted_box_is_recovered(seed: int) -> None:
    d = steppe.discover(_planted(seed), "hit", where="value > 0.5")
    limits = {lim.name: lim for lim in d.limits}
    assert set(limits) == {"u1", "u3"}  # u0, u2, u4 unrestricted
    # Resolution: a peel moves a limit past 5% of the box's cases, i.e. by about 0.05 x the
    # box's width (<= 0.05 of the unit range); 0.03 is well within one peel of the truth.
    assert limits["u1"].lower == pytest.approx(0.2, abs=0.03)
    assert limits["u1"].upper == pytest.approx(0.6, abs=0.03)
    assert limits["u3"].lower == pytest.approx(0.5, abs=0.03)
    assert limits["u3"].upper is None
    assert all(lim.significant for lim in d.limits)
    # Inside the planted box 95% of the cases hold; the chosen box is nearly that.
    assert d.box.density > 0.85 and d.box.coverage > 0.7
    assert "knee" in d.rule


def test_cart_finds_the_planted_parameters() -> None:
    table = _planted(1)
    x = table[[f"u{i}" for i in range(5)]].to_numpy()
    leaves = cart_leaves(x, table["hit"].to_numpy(), max_depth=3)
    assert set(leaves[0].limits) == {1, 3}
    assert leaves[0].density > 0.85
    assert sum(leaf.n for leaf in leaves) == len(table)
    np.testing.assert_allclose(sum(leaf.coverage for leaf in leaves), 1.0)


def test_same_inputs_same_boxes() -> None:
    a = steppe.discover(_planted(3), "hit", where="value > 0.5").to_dict()
    b = steppe.discover(_planted(3), "hit", where="value > 0.5").to_dict()
    assert a == b


def test_threshold_and_index_choose_the_box() -> None:
    table = _planted(1)
    d = steppe.discover(table, "hit", where="value > 0.5", threshold=0.5)
    chosen = d.trajectory[d.chosen]
    assert chosen.density >= 0.5
    assert all(b.density < 0.5 or b.coverage <= chosen.coverage for b in d.trajectory)
    assert d.rule.startswith("density threshold 0.5")
    none = steppe.discover(table, "hit", where="value > 0.5", threshold=1.0)
    assert "no box reaches it" in none.rule and none.chosen == len(none.trajectory) - 1
    third = steppe.discover(table, "hit", where="value > 0.5", box=3)
    assert third.chosen == 3
    with pytest.raises(ScenarioError, match=r"box 999 is not on the peeling trajectory"):
        steppe.discover(table, "hit", where="value > 0.5", box=999)


def test_drop_insignificant_leaves_the_planted_parameters() -> None:
    """The densest boxes also cut noise parameters (quasi-p-values well above 0.05); dropped
    one at a time, only the planted u1 and u3 remain, each limit significant."""
    table = _planted(1)
    dense = steppe.discover(table, "hit", where="value > 0.5", threshold=0.99)
    assert {lim.name for lim in dense.limits} > {"u1", "u3"}
    assert not all(lim.significant for lim in dense.limits)
    kept = steppe.discover(table, "hit", where="value > 0.5", threshold=0.99,
                           drop_insignificant=True)  # fmt: skip
    assert {lim.name for lim in kept.limits} == {"u1", "u3"}
    assert all(lim.significant for lim in kept.limits)
    assert kept.released and all(r.startswith(("u0", "u2", "u4")) for r in kept.released)
    assert "dropped" in kept.rule and kept.box.step == "drop"
    assert kept.box.mass > dense.box.mass


def test_where_uses_the_expression_language() -> None:
    rule = outcome_rule("value >= 3 and not value > 5")
    np.testing.assert_array_equal(rule(np.array([1.0, 3.0, 5.0, 6.0])), [0, 1, 1, 0])
    with pytest.raises(ExpressionError, match=r"unknown name 'valu'.*did you mean 'value'"):
        outcome_rule("valu > 3")
    with pytest.raises(ExpressionError):
        outcome_rule("__import__('os')")


# --- a run: the parameter draws drawn again ---------------------------------------------

SCENARIO = """\
name: disc
title: Discovery test
start: 2025-01-01
horizon: 2030-01-01
replications: 2500
seed: 5
parameters:
  a: {dist: uniform, low: 0, high: 1, why: test}
  b: {dist: lognormal, ci90: [0.5, 2.0], source: "a source sentence", why: test}
  c: {dist: uniform, low: 0, high: 1, why: test}
  d: {dist: normal, mean: 0, sd: 1, why: test}
  f: {value: 0.5, why: test}
  g: {expr: "a * 2", why: test}
correlations:
  - {between: [a, b], rank: 0.6, why: test}
events:
  e: {hazard: "0.5 * (a > 0.5) * (c > 0.5)", why: test}
outcomes:
  pe: {probability: "occurred(e)"}
  te: {time_to: "occurred(e)"}
  va: {value: "a"}
  vb: {value: "b"}
  vc: {value: "c"}
  vd: {value: "d"}
"""


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("disc")
    file = root / "disc.yaml"
    file.write_text(SCENARIO)
    res = steppe.run(file, engine="simpy", workers=1)
    res.write(root / "run", report=False)
    return root


def test_regenerated_draws_match_the_run(run_folder: Path) -> None:
    """The draws discovery makes again are the run's, correlations included (a and b, over
    two whole blocks of 1,024 replications and a partial one): the outcomes va .. vd record
    the parameters in every replication."""
    from steppe.discovery.data import load_cases

    cases = load_cases(run_folder / "run", "pe")
    samples = pd.read_parquet(run_folder / "run" / "samples.parquet")
    assert list(cases.x.columns) == ["a", "b", "c", "d"]  # f fixed, g derived
    for p in "abcd":
        np.testing.assert_array_equal(cases.x[p].to_numpy(), samples[f"v{p}"].to_numpy())


def test_discovery_of_a_run_folder(run_folder: Path) -> None:
    d = steppe.discover(run_folder / "run", "pe", threshold=0.9)
    # e can occur only where a > 0.5 and c > 0.5 (P = 1 - exp(-2.5) = 0.92 there)
    assert {lim.name for lim in d.limits} == {"a", "c"}
    for lim in d.limits:
        assert lim.lower == pytest.approx(0.5, abs=0.03) and lim.upper is None
    assert d.info["b"]["source"] == "a source sentence"
    by = steppe.discover(run_folder / "run", "te")
    assert "by the horizon 2030-01-01" in by.phrase
    assert by.k == d.k  # an event's time is finite exactly when it occurred by the horizon
    with pytest.raises(ExpressionError, match=r"say which values count with --where"):
        steppe.discover(run_folder / "run", "va")
    with pytest.raises(ResultError, match=r"no outcome 'p' \(did you mean 'pe'\?\)"):
        steppe.discover(run_folder / "run", "p")


def test_a_changed_scenario_is_refused(run_folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "disc.yaml"
    other.write_text(SCENARIO.replace("seed: 5", "seed: 6"))
    with pytest.raises(ResultError, match=r"the file changed since the run"):
        steppe.discover(run_folder / "run", "pe", scenario=other)


def test_discover_command(run_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "found"
    got = CliRunner().invoke(
        main, ["discover", str(run_folder / "run"), "--outcome", "pe", "--out", str(out)]
    )
    assert got.exit_code == 0, got.output
    assert "where pe" in got.output and "CART" in got.output
    doc = json.loads((out / "discovery.json").read_text())
    assert doc["outcome"] == "pe" and doc["cases"] == 2500
    assert doc["box"]["limits"] and "knee" in doc["rule"]
    assert doc["trajectory"][0]["qp"] == {}  # the box of all cases restricts nothing
    for b in doc["trajectory"]:
        assert set(b["qp"]) == set(b["restricted"])
    assert (out / "report.html").is_file() and (out / "figures" / "trajectory.png").is_file()
    as_json = CliRunner().invoke(
        main, ["discover", str(run_folder / "run"), "--outcome", "pe", "--out", str(out),
               "--json", "--threshold", "0.8"],
    )  # fmt: skip
    assert as_json.exit_code == 0
    assert json.loads(as_json.output)["settings"]["threshold"] == 0.8
    bad = CliRunner().invoke(
        main, ["discover", str(run_folder / "run"), "--outcome", "vb", "--where", "valeu > 1",
               "--out", str(out)],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "did you mean 'value'" in bad.output


def test_sweep_folder(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    folder.mkdir()
    table = _planted(4, n=600)
    table.insert(0, "point", np.arange(len(table)))
    table["hit_se"] = 0.0
    table.to_parquet(folder / "points.parquet")
    (folder / "manifest.json").write_text(
        json.dumps({"scenario": "planted", "vary": table.attrs["vary"]})
    )
    d = steppe.discover(folder, "hit", where="value > 0.5")
    assert d.origin == "sweep" and d.n == 600
    assert {lim.name for lim in d.limits} <= {f"u{i}" for i in range(5)}
    with pytest.raises(ExpressionError, match=r"one estimate per design point"):
        steppe.discover(folder, "hit")


def test_a_sweep_table(run_folder: Path) -> None:
    """steppe.sweep's table: the varied parameters are the inputs, a point's estimate the
    value (P(e) is 1 - exp(-2.5) = 0.92 where a > 0.5 and c > 0.5, else 0)."""
    table = steppe.sweep(
        run_folder / "disc.yaml", vary={"a": (0.0, 1.0), "c": (0.0, 1.0)}, design="lhs",
        n=60, replications=40, outcomes=["pe"], engine="simpy",
    )  # fmt: skip
    d = steppe.discover(table, "pe", where="value > 0.5")
    assert d.origin == "sweep" and d.parameters == ("a", "c") and d.n == 60
    assert {lim.name for lim in d.limits} == {"a", "c"}
    assert d.box.coverage == 1.0  # every point of interest is in the box
    # 60 points: a peel removes 5% of them (~3), so a limit stops within a few points'
    # spacing (~1/60 each) of 0.5 on the side of the points it could not separate
    for lim in d.limits:
        assert lim.lower == pytest.approx(0.5, abs=0.1) and lim.upper is None


def test_import_steppe_stays_light() -> None:
    code = (
        "import sys, steppe, steppe.cli\n"
        "print(sorted(m for m in ('sklearn', 'matplotlib', 'scipy.stats') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "sklearn" not in out.stdout and "matplotlib" not in out.stdout


def test_scenario_text_is_valid() -> None:
    steppe.loads(textwrap.dedent(SCENARIO))


@pytest.mark.slow  # 20,000 replications of the baseline (and the kernel's compilation)
def test_docs_worked_example(tmp_path: Path) -> None:
    """The numbers docs/discovery.md quotes for the baseline are what steppe gives."""
    from steppe.discovery.api import _num

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "discovery.md").read_text(encoding="utf-8")
    res = steppe.run(root / "scenarios" / "baseline.yaml", replications=20000)
    assert res.manifest["seed"] == 20240115
    knee = steppe.discover(res, "kz_trade_reaches_3b")
    assert (knee.n, knee.k, knee.chosen, len(knee.trajectory)) == (20000, 2322, 20, 59)
    assert [(lim.name, _num(lim.lower or 0)) for lim in knee.limits] == [
        ("kz_growth_share", "0.463"), ("af_market_capacity", "4,430")
    ]  # fmt: skip
    assert knee.sentence() in " ".join(doc.replace("\n> ", " ").split())
    half = steppe.discover(res, "kz_trade_reaches_3b", threshold=0.5, drop_insignificant=True)
    assert half.chosen == 40
    assert [r.split(" (")[0] for r in half.released] == [
        "uz_trade_growth <= 0.302", "shock_rate <= 0.792"
    ]  # fmt: skip
    assert f"{half.box.density:.0%}" == "48%" and f"{half.box.coverage:.0%}" == "59%"
    densest = half.leaf_limits(half.leaves[0])
    assert densest == "kz_growth_share > 0.749 and af_market_capacity > 5,673"
    assert densest in doc
