"""Scoring forecasts (``steppe.score``): the rules against ``scoringrules`` and hand-computed
cases, their properness, Murphy's decomposition, derived questions against outcomes of the
same definition, and located errors in resolutions files."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scoringrules as sr
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import steppe
from steppe.errors import ScenarioError
from steppe.model.timeline import Timeline
from steppe.scoring import rules
from steppe.scoring.questions import load_resolutions

SCENARIO = """\
steppe: 1
name: sc
title: "Scoring"
start: 2024-01-01
horizon: 2026-12-31
step: quarter
replications: 2000
seed: 5
parameters:
  g: {dist: normal, mean: 0.05, sd: 0.1, why: test}
events:
  a: {hazard: 0.4, why: test}
  b: {hazard: "0.2 + 0.6 * occurred(a)", why: test}
projects:
  p:
    stages:
      - {name: prep, duration: {dist: uniform, low: 0.5, high: 2.0}}
      - {name: build, duration: {dist: uniform, low: 0.5, high: 1.5}}
    why: test
series:
  x:
    initial: 100
    drift: g
    volatility: 0.1
    why: test
outcomes:
  a_by_2025: {probability: occurred(a), by: 2025-12-31}
  b_by_2025: {probability: occurred(b), by: 2025-12-31}
  build_by_2025: {probability: "stage(p) >= 1", by: 2025-12-31}
  done_by_2026: {probability: completed(p), by: 2026-12-31}
  x_above_105: {probability: "x > 105", by: 2025-12-31}
  x_2025: {value: x, at: 2025-12-31}
  a_time: {time_to: occurred(a)}
"""

RESOLUTIONS = """\
title: test
resolutions:
  - {id: a_derived, event: a, by: 2025-12-31, resolved: true, date: 2025-03-01, source: s}
  - {id: a_outcome, outcome: a_by_2025, resolved: true, date: 2025-03-01, source: s}
  - {id: a_time, outcome: a_time, by: 2025-12-31, resolved: true, date: 2025-03-01, source: s}
  - {id: b_derived, event: b, by: 2025-12-31, resolved: false, date: 2025-12-31, source: s}
  - {id: b_outcome, outcome: b_by_2025, resolved: false, date: 2025-12-31, source: s}
  - {id: build_derived, project: p, stage: build, by: 2025-12-31, resolved: true,
     date: 2025-06-01, source: s}
  - {id: build_outcome, outcome: build_by_2025, resolved: true, date: 2025-06-01, source: s}
  - {id: done_derived, project: p, completed: true, by: 2026-12-31, resolved: false,
     date: 2026-12-31, source: s}
  - {id: done_outcome, outcome: done_by_2026, resolved: false, date: 2026-12-31, source: s}
  - {id: x_derived, series: x, at: 2025-12-31, above: 105, resolved: true, date: 2026-01-10,
     source: s}
  - {id: x_outcome, outcome: x_above_105, resolved: true, date: 2026-01-10, source: s}
  - {id: x_value, series: x, at: 2025-12-31, resolved: 112.5, date: 2026-01-10, source: s}
  - {id: x_value_outcome, outcome: x_2025, resolved: 112.5, date: 2026-01-10, source: s}
  - {id: later, event: a, by: 2026-12-31, resolved: null, source: "a report in 2027"}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("score")
    (base / "sc.yaml").write_text(SCENARIO)
    return steppe.run(base / "sc.yaml", engine="simpy").write(base / "sc")


@pytest.fixture
def resolutions(tmp_path: Path) -> Path:
    path = tmp_path / "res.yaml"
    path.write_text(RESOLUTIONS)
    return path


# --- The rules, against scoringrules and by hand ---------------------------------------


def test_brier_and_log_by_hand() -> None:
    assert_allclose(rules.brier([0.7, 0.2], [1, 0]), [0.09, 0.04])
    assert_allclose(rules.log_score([0.7, 0.2], [1, 0]), [-math.log(0.7), -math.log(0.8)])
    assert rules.log_score([0.0], [1])[0] == math.inf


def test_crps_by_hand() -> None:
    # Sample {0, 1, 2} at y = 1: E|X - 1| = 2/3, E|X - X'| = 8/9, CRPS = 2/3 - 4/9 = 2/9.
    assert rules.crps_ensemble([0.0, 1.0, 2.0], 1.0) == pytest.approx(2 / 9)
    # A single value: the CRPS is the absolute error.
    assert rules.crps_ensemble([3.0], 1.0) == pytest.approx(2.0)


def test_rules_agree_with_scoringrules() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 1, 200)
    y = (rng.uniform(0, 1, 200) < p).astype(float)
    assert_allclose(rules.brier(p, y), sr.brier_score(y, p), rtol=1e-12)
    assert_allclose(rules.log_score(p, y), sr.log_score(y, p), rtol=1e-12)
    for _ in range(20):
        x = rng.lognormal(3, 1, rng.integers(1, 400))
        obs = float(rng.lognormal(3, 1))
        expected = float(sr.crps_ensemble(obs, x, estimator="nrg"))
        assert rules.crps_ensemble(x, obs) == pytest.approx(expected, rel=1e-10)


def test_clip_pit_coverage_band() -> None:
    assert_allclose(rules.clip_probability([0.0, 0.5, 1.0], 100), [0.005, 0.5, 0.995])
    # Ties: half the sample equals y, so the PIT is 0.25 + u/2... here below = 0.25.
    x = [1.0, 2.0, 2.0, 3.0]
    assert rules.pit(x, 2.0, 0.0) == 0.25
    assert rules.pit(x, 2.0, 1.0) == 0.75
    assert rules.pit(x, 10.0, 0.3) == 1.0
    sample = np.arange(1, 101, dtype=float)
    assert rules.coverage(sample, 50.0, 0.5)
    assert not rules.coverage(sample, 99.0, 0.9)
    lo, hi = rules.consistency_band(0.5, 10)
    assert (lo, hi) == (0.2, 0.8)  # Binomial(10, 0.5): 5% and 95% quantiles are 2 and 8


def test_skill() -> None:
    assert rules.skill(0.1, 0.25) == pytest.approx(0.6)
    assert math.isnan(rules.skill(0.1, 0.0))


# --- Properness and the decomposition (Hypothesis) ---------------------------------------

probabilities = st.floats(min_value=0.001, max_value=0.999)


@given(q=probabilities, p=probabilities)
def test_brier_and_log_are_proper(q: float, p: float) -> None:
    """The expected score under the true probability ``q`` is smallest at ``p = q``."""

    def expected(score: object, f: float) -> float:
        s = score(np.array([f, f]), np.array([1.0, 0.0]))  # type: ignore[operator]
        return float(q * s[0] + (1 - q) * s[1])

    for score in (rules.brier, rules.log_score):
        assert expected(score, p) >= expected(score, q) - 1e-12


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.05, 0.1, 0.3, 0.5, 0.77, 1.0]), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_murphy_sums_to_brier(pairs: list[tuple[float, bool]]) -> None:
    p = np.array([f for f, _ in pairs])
    y = np.array([float(o) for _, o in pairs])
    m = rules.murphy(p, y)
    assert m.reliability - m.resolution + m.uncertainty == pytest.approx(m.brier, abs=1e-12)
    assert m.brier == pytest.approx(float(np.mean((p - y) ** 2)), abs=1e-15)
    assert sum(n for _, n, _ in m.bins) == len(pairs)


# --- Questions of a result folder -------------------------------------------------------


def test_derived_questions_agree_with_outcomes(folder: Path, resolutions: Path) -> None:
    result = steppe.score(folder, resolutions)
    f = result.frame.set_index("id")
    for derived, outcome in (
        ("a_derived", "a_outcome"),
        ("a_derived", "a_time"),
        ("b_derived", "b_outcome"),
        ("build_derived", "build_outcome"),
        ("done_derived", "done_outcome"),
        ("x_derived", "x_outcome"),
    ):
        assert f.loc[derived, "forecast"] == f.loc[outcome, "forecast"], derived
    assert f.loc["x_value", "crps"] == f.loc["x_value_outcome", "crps"]
    assert "later" not in f.index
    assert [p["id"] for p in result.summary["pending"]] == ["later"]


def test_forecast_matches_the_analytic_probability(folder: Path, resolutions: Path) -> None:
    """Event a has a constant hazard 0.4/yr: P(a by D) = 1 - exp(-0.4 t(D)). The estimate
    from 2,000 replications (fixed seed) must lie within 4 Monte Carlo standard errors,
    sqrt(p (1 - p) / n), of it: a false alarm has probability ~6e-5 for a correct engine."""
    result = steppe.score(folder, resolutions)
    t = Timeline(dt.date(2024, 1, 1), dt.date(2026, 12, 31)).years(dt.date(2025, 12, 31))
    p = 1 - math.exp(-0.4 * t)
    se = math.sqrt(p * (1 - p) / 2000)
    got = result.frame.set_index("id").loc["a_derived", "forecast"]
    assert abs(got - p) < 4 * se


def test_scores_and_summary(folder: Path, resolutions: Path) -> None:
    result = steppe.score(folder, resolutions, reference=0.5, base_rates={"*": 0.3})
    frame = result.frame
    assert set(frame["kind"]) == {"probability", "value"}
    prob = frame[frame["kind"] == "probability"]
    block = result.summary["results"][0]
    assert block["probability"]["n"] == len(prob) == 11
    assert block["probability"]["brier"]["mean"] == pytest.approx(prob["brier"].mean())
    m = block["probability"]["murphy"]
    assert m["reliability"] - m["resolution"] + m["uncertainty"] == pytest.approx(
        block["probability"]["brier"]["mean"], abs=1e-12
    )
    assert_allclose(prob["brier_share"].sum(), 1.0)
    skill = {s["reference"]: s for s in block["skill"]}
    assert skill["constant 0.5"]["brier"]["reference"] == pytest.approx(0.25)
    assert skill["constant 0.5"]["brier"]["skill"] == pytest.approx(
        1 - block["probability"]["brier"]["mean"] / 0.25
    )
    assert skill["base rates"]["brier"]["n"] == 11
    value = block["value"]
    assert value["n"] == 2 and len(value["pit"]) == 2
    assert set(value["coverage"]) == {"0.5", "0.9"}
    assert result.results == ["sc"]


def test_zero_forecast_is_clipped_and_marked(tmp_path: Path, folder: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "resolutions:\n"
        "  - {id: early, project: p, completed: true, by: 2024-03-01, resolved: true,\n"
        "     date: 2024-03-01, source: s}\n"
    )
    result = steppe.score(folder, path)
    row = result.frame.iloc[0]
    assert row["forecast"] == 0.0 and row["cromwell"] and row["clipped"]
    assert row["log"] == pytest.approx(-math.log(1 / 4000))
    assert any("Cromwell" in n for n in result.summary["notes"])


def test_a_result_without_the_name_skips_the_question(tmp_path: Path, folder: Path) -> None:
    other = tmp_path / "o.yaml"
    text = SCENARIO.replace("name: sc", "name: other").replace("  b: {", "  c: {")
    other.write_text(text.replace("occurred(b)", "occurred(c)"))
    other_folder = steppe.run(other, engine="simpy", replications=50).write(tmp_path / "o")
    path = tmp_path / "r.yaml"
    path.write_text(
        "resolutions:\n  - {id: q, event: b, by: 2025-01-01, resolved: true, date: "
        "2024-06-01, source: s}\n"
    )
    result = steppe.score([folder, other_folder], path)
    assert list(result.frame["result"]) == ["sc"]
    skipped = result.summary["results"][1]["skipped"]
    assert skipped == [{"id": "q", "reason": "other keeps no indicator occurred(b)"}]


# --- Located errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "{id: q, event: aa, by: 2025-01-01, resolved: true, date: 2025-01-01, source: s}",
            r"res\.yaml:3:20: error: resolutions\[0\]\.event: unknown event 'aa' "
            r"\(did you mean 'a'\?\)",
        ),
        (
            "{id: q, series: x, at: 2025-06-30, resolved: 1.0, date: 2025-07-01, source: s}",
            r"resolutions\[0\]\.at: series x is kept at every 31 December only, not on "
            r"2025-06-30; kept dates: 2024-12-31, 2025-12-31, 2026-12-31",
        ),
        (
            "{id: q, project: p, stage: buld, by: 2025-01-01, resolved: true, date: 2025-01-01,"
            " source: s}",
            r"project p has no stage 'buld' that begins after the start \(did you mean "
            r"'build'\?\)",
        ),
        (
            "{id: q, outcome: a_by_2052, resolved: true, date: 2025-01-01, source: s}",
            r"unknown outcome 'a_by_2052' \(did you mean 'a_by_2025'\?\)",
        ),
        (
            "{id: q, event: a, by: 2025-01-01, resolved: 3.5, date: 2025-01-01, source: s}",
            r"resolutions\[0\]\.resolved: a probability question resolves true or false",
        ),
        (
            "{id: q, outcome: x_2025, resolved: true, date: 2025-01-01, source: s}",
            r"a value question resolves to a number, found true",
        ),
        (
            "{id: q, outcome: a_time, resolved: true, date: 2025-01-01, source: s}",
            r"outcome a_time is a time_to outcome: say by: DATE",
        ),
        (
            "{id: q, event: a, by: 2025-01-01, resolved: true, source: s}",
            r"a resolved question needs date: the day it resolved",
        ),
        (
            "{id: q, event: a, by: 2025-01-01, resolvd: true, date: 2025-01-01, source: s}",
            r"unknown key 'resolvd' \(did you mean 'resolved'\?\)",
        ),
        (
            "{id: q, event: a, by: 2025-01-01, resolved: true, date: 2025-01-01}",
            r"missing required key 'source'",
        ),
    ],
)
def test_located_errors(tmp_path: Path, folder: Path, item: str, message: str) -> None:
    path = tmp_path / "res.yaml"
    path.write_text(f"title: t\nresolutions:\n  - {item}\n")
    with pytest.raises(ScenarioError, match=message):
        steppe.score(folder, path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "res.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            resolutions:
              - {id: q, event: a, by: 2025-01-01, resolved: null, source: s}
              - {id: q, event: b, by: 2025-01-01, resolved: null, source: s}
            """
        )
    )
    with pytest.raises(ScenarioError, match=r"res\.yaml:3:10: error: resolutions\[1\]\.id: "):
        load_resolutions(path)


def test_example_files_load() -> None:
    root = Path(__file__).resolve().parents[1] / "examples"
    r2024 = load_resolutions(root / "resolutions_2024.yaml")
    assert all(q.resolved is not None and q.source for q in r2024.questions)
    r2025 = load_resolutions(root / "resolutions_2025.yaml")
    assert all(q.resolved is None for q in r2025.questions)


def test_a_conditioned_run_uses_its_effective_sample_size(tmp_path: Path) -> None:
    """Rows of a conditioned run are a resample: shares are estimates from evidence.ess
    replications, which the intervals, the clipping and the notes use."""
    text = SCENARIO.replace("replications: 2000", "replications: 400") + textwrap.dedent(
        """\
        as_of: 2024-07-01
        evidence:
          - {series: x, at: 2024-07-01, value: 104, sigma: 0.02, source: test}
        """
    )
    (tmp_path / "c.yaml").write_text(text)
    folder = steppe.run(tmp_path / "c.yaml", engine="simpy").write(tmp_path / "c")
    path = tmp_path / "r.yaml"
    path.write_text(RESOLUTIONS)
    result = steppe.score(folder, path)
    ess = result.summary["results"][0]["ess"]
    assert ess is not None and ess < 400
    frame = result.frame.set_index("id")
    assert frame.loc["a_derived", "n"] == ess
    assert frame.loc["a_outcome", "n"] <= ess
    assert frame.loc["a_derived", "forecast"] == frame.loc["a_time", "forecast"]
    assert any("effective replications (evidence.ess)" in n for n in result.summary["notes"])
