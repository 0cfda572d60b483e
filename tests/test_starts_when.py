"""Projects that start when something happens (``starts_when``): no progress and no risk of
cancellation before; the condition must stay true once it holds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

import steppe
from steppe.errors import ScenarioError

SCENARIO = """\
steppe: 1
name: sw
title: "Starts when"
start: 2024-01-01
horizon: 2034-01-01
step: quarter
replications: 4000
seed: 5
parameters:
  k: {value: 1, why: test}
events:
  deal: {hazard: 0.5, why: test}
projects:
  line:
    starts_when: occurred(deal)
    cancel_hazard: 0.1
    stages:
      - {name: build, duration: 2, why: test}
    why: test
outcomes:
  done_time: {time_to: completed(line)}
  deal_time: {time_to: occurred(deal)}
  was_cancelled: {probability: cancelled(line)}
"""


def _write(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "sw.yaml"
    path.write_text(text)
    return path


def test_progress_and_risk_begin_with_the_condition(tmp_path: Path) -> None:
    r = steppe.run(_write(tmp_path), engine="simpy")
    s = r.samples
    done = np.isfinite(s["done_time"])
    assert done.any()
    # the two-year stage runs from the deal on: completion is 2 years after it, exactly
    np.testing.assert_allclose((s["done_time"] - s["deal_time"])[done], 2.0, atol=1e-9)
    # P(cancelled by the horizon): the hazard 0.1 runs only from the deal (D ~ Exp(0.5))
    # until completion two years later or the horizon
    horizon = r.scenario.timeline.t_horizon

    def density(d: float) -> float:
        return 0.5 * math.exp(-0.5 * d) * (1.0 - math.exp(-0.1 * min(2.0, horizon - d)))

    p, _ = integrate.quad(density, 0.0, horizon, points=[horizon - 2.0])
    got = r.summary["outcomes"]["was_cancelled"]["p"]
    n = r.summary["replications"]
    # 4 binomial standard errors sqrt(p (1 - p) / n): a false alarm about 1 in 16,000
    assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize(
    "condition",
    [
        "count(deal) >= 2",
        "2 <= count(deal)",
        "occurred(deal) and stage(line) >= 0",
        "count(deal) > k or any_occurred(deal)",
        "True",
    ],
)
def test_latching_conditions_load(tmp_path: Path, condition: str) -> None:
    sc = steppe.load(_write(tmp_path, SCENARIO.replace("occurred(deal)\n", f'"{condition}"\n', 1)))
    assert sc.projects[0].starts_when is not None


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("not occurred(deal)", "must stay true once it holds"),
        ("active(deal)", "must stay true once it holds"),
        ("t > 2", "must stay true once it holds"),
        ("count(deal) < 2", "must stay true once it holds"),
        ("occured(deal)", "did you mean 'occurred'"),
        ("occurred(dael)", "did you mean 'deal'"),
    ],
)
def test_bad_conditions_are_located(tmp_path: Path, condition: str, message: str) -> None:
    text = SCENARIO.replace("occurred(deal)\n", f'"{condition}"\n', 1)
    with pytest.raises(ScenarioError) as info:
        steppe.load(_write(tmp_path, text))
    got = str(info.value)
    assert "sw.yaml:15:18:" in got and "projects.line.starts_when" in got and message in got


@pytest.mark.slow
def test_engines_identical(tmp_path: Path) -> None:
    path = _write(tmp_path, SCENARIO.replace("replications: 4000", "replications: 400"))
    a = steppe.run(path, engine="simpy").samples
    b = steppe.run(path, engine="compiled").samples
    assert a.equals(b)


def test_in_the_schema() -> None:
    from steppe.load.fileschema import file_schema

    assert "starts_when" in str(file_schema())


def test_lint_does_not_call_a_waiting_project_certain(tmp_path: Path) -> None:
    """Without a cancellation hazard a project's stages have latest dates, unless it waits
    for its start condition, which may never hold."""
    text = SCENARIO.replace("    cancel_hazard: 0.1\n", "").replace(
        "  was_cancelled: {probability: cancelled(line)}",
        "  built_by_2030: {probability: completed(line), by: 2030-12-31}",
    )
    assert not [f for f in steppe.lint(_write(tmp_path, text)) if f.outcome == "built_by_2030"]
    plain = text.replace("    starts_when: occurred(deal)\n", "")
    found = [f for f in steppe.lint(_write(tmp_path, plain)) if f.outcome == "built_by_2030"]
    assert [f.code for f in found] == ["structural-one"]
