"""Static probability-zero checks of stage evidence (``steppe.model.feasibility``): the
bounds ``least`` and ``most`` of formulas, and a pace that is not a constant.

A bound that is wrong would refuse possible evidence, so besides the worked cases a
property test checks on random small scenarios that the earliest time a stage can begin,
by the bounds, is never later than a time the engine reaches.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steppe
from steppe.errors import ScenarioError
from steppe.load import loads
from steppe.model.feasibility import earliest_start, least, most

ROOT = Path(__file__).parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"

SPEC = loads(
    textwrap.dedent(
        """\
        steppe: 1
        name: bounds
        title: "Parameters for the bounds"
        start: 2024-01-01
        horizon: 2030-01-01
        parameters:
          u: {dist: uniform, low: 0.2, high: 0.8, why: test}
          v: {dist: pert, min: 1, mode: 2, max: 5, why: test}
          w: {dist: lognormal, ci90: [1, 6], why: test}
          z: {dist: normal, mean: 1, sd: 1, why: test}
          zt: {dist: normal, mean: 1, sd: 1, truncate: [0.5, 1.5], why: test}
          c: {dist: choice, values: [0.5, 2, 3], why: test}
          k: 2
          f: {value: 3, why: test}
          d: {expr: "2 * u", why: test}
          minus: {expr: "0 - v", why: test}
        events:
          shock: {hazard: 1, recurring: true, duration: 0.5, why: test}
        series:
          s: {initial: 100, why: test}
        outcomes:
          o: {probability: "active(shock)"}
        """
    )
).spec


@pytest.mark.parametrize(
    ("expr", "low", "high"),
    [
        (1.5, 1.5, 1.5),
        ("-2", -2.0, -2.0),
        ("u", 0.2, 0.8),
        ("v", 1.0, 5.0),
        ("w", 0.0, None),  # lognormal: unbounded above
        ("z", None, None),
        ("zt", 0.5, 1.5),  # truncate cuts the support
        ("c", 0.5, 3.0),
        ("k", 2.0, 2.0),
        ("f", 3.0, 3.0),
        ("d", 0.4, 1.6),
        ("u if active(shock) else 1", 0.2, 1.0),
        ("u if s > 100 else k", 0.2, 2.0),
        ("min(u, v)", 0.2, 0.8),
        ("max(u, v, k)", 2.0, 5.0),
        ("min(u, s)", None, 0.8),  # min is below any bounded argument
        ("max(u, s)", 0.2, None),
        ("u + v", 1.2, 5.8),
        ("v - u", 0.2, 4.8),
        ("-u", -0.8, -0.2),
        ("+u", 0.2, 0.8),
        ("u * v", 0.2, 4.0),
        ("u * w", 0.0, None),
        ("u * minus", None, None),  # a factor that may be negative
        ("0 * w", 0.0, 0.0),
        ("u / 2", None, None),  # division: not bounded
        ("s", None, None),
        ("t", None, None),
        ("exp(u)", None, None),
        ("active(shock)", None, None),
    ],
)
def test_bounds_of_formulas(expr: object, low: float | None, high: float | None) -> None:
    lo, hi = least(expr, SPEC), most(expr, SPEC)
    assert (None if lo is None else lo[0]) == pytest.approx(low)
    assert (None if hi is None else hi[0]) == pytest.approx(high)


def test_bounds_say_how_they_were_found() -> None:
    assert most("u", SPEC) == (0.8, "parameters.u, uniform max")
    assert least("v", SPEC) == (1.0, "parameters.v, pert min")
    assert most("u if active(shock) else 1", SPEC) == (
        1.0,
        "u if active(shock) else 1, where parameters.u is at most 0.8, uniform max",
    )
    assert most("u + f", SPEC) == (
        pytest.approx(3.8),
        "u + f, where parameters.u is at most 0.8, uniform max; parameters.f = 3",
    )
    assert least("d", SPEC) == (pytest.approx(0.4), "parameters.d: 2 * u, where parameters.u "
                                "is at least 0.2, uniform min")  # fmt: skip
    # exact asks for a constant
    assert least("k", SPEC, exact=True) == (2.0, "parameters.k = 2")
    assert least("u", SPEC, exact=True) is None
    assert least("u if active(shock) else 1", SPEC, exact=True) is None


# --- the baseline: a pace that is not a constant ------------------------------------------


def evidence_file(tmp_path: Path, item: str, as_of: str = "2024-06-01") -> Path:
    path = tmp_path / "ev.yaml"
    path.write_text(f"as_of: {as_of}\nevidence:\n  - {item}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "{project: tapi, stage: construction, reached_by: 2024-06-01, source: s}",
            "evidence[0].reached_by: projects.tapi: stage 'construction' cannot begin before "
            "2025-07-02: preparation takes at least 1.5 years (pert min), at pace at most 1 "
            "(shock_pace if active(shock) else 1, where parameters.shock_pace is at most 0.8, "
            "uniform max), from the start; the evidence says it had begun by 2024-06-01",
        ),
        (
            "{project: casa1000, stage: completed, reached_by: 2024-06-01, source: s}",
            "evidence[0].reached_by: projects.casa1000: completion cannot begin before "
            "2026-10-02: resumption takes at least 1 years (pert min); afghan_section takes "
            "at least 1.5 years (pert min); commissioning takes at least 0.25 years (pert "
            "min), at pace at most 1 (shock_pace if active(shock) else 1, where "
            "parameters.shock_pace is at most 0.8, uniform max), from the start; the evidence "
            "says it had begun by 2024-06-01",
        ),
    ],
)
def test_impossible_stage_evidence_on_the_baseline_is_refused(
    tmp_path: Path, item: str, message: str
) -> None:
    ev = evidence_file(tmp_path, item)
    with pytest.raises(ScenarioError) as caught:
        steppe.load(BASELINE, evidence=[ev])
    column = item.index("reached_by: ") + len("reached_by: ") + 5
    assert str(caught.value) == f"{ev}:3:{column}: error: {message}"


def test_possible_stage_evidence_on_the_baseline_is_not_refused(tmp_path: Path) -> None:
    # 1.5 years of work at pace 1: construction may have begun by 2025-07-02, not before
    ev = evidence_file(
        tmp_path,
        "{project: tapi, stage: construction, reached_by: 2025-07-02, source: s}",
        as_of="2025-07-02",
    )
    assert len(steppe.load(BASELINE, evidence=[ev]).evidence) == 1
    ev = evidence_file(
        tmp_path,
        "{project: tapi, stage: construction, reached_by: 2025-07-01, source: s}",
        as_of="2025-07-02",
    )
    with pytest.raises(ScenarioError, match="cannot begin before 2025-07-02"):
        steppe.load(BASELINE, evidence=[ev])


def project_scenario(pace: str, *, extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        steppe: 1
        name: paced
        title: "A project with a variable pace"
        start: 2024-01-01
        horizon: 2028-01-01
        as_of: 2025-01-01
        replications: 50
        parameters:
          fast: {{dist: lognormal, ci90: [1, 6], why: test}}
          slow: {{dist: uniform, low: 0.2, high: 0.5, why: test}}
          {extra}
        events:
          shock: {{hazard: 1, recurring: true, duration: 0.5, why: test}}
        projects:
          p:
            stages:
              - {{name: prep, duration: 2, why: test}}
              - {{name: build, duration: 1, why: test}}
            pace: "{pace}"
            why: test
        outcomes:
          begun: {{probability: "stage(p) >= 1"}}
        evidence:
          - {{project: p, stage: build, reached_by: 2025-01-01, source: s}}
        """
    )


@pytest.mark.parametrize(
    "pace",
    [
        "fast if active(shock) else 1",  # lognormal: the pace has no largest value
        "slow * fast",
        "1 + t",  # the time: not bounded
        "2 / slow",  # division: not bounded
        "slow if active(shock) else 2.5",  # 2 years at pace 2.5: possible by 2025-01-01
    ],
)
def test_a_pace_without_a_small_enough_bound_is_not_refused(pace: str) -> None:
    assert len(loads(project_scenario(pace)).evidence) == 1


@pytest.mark.parametrize(
    ("pace", "at_pace"),
    [
        ("slow if active(shock) else 1", "at pace at most 1 (slow if active(shock) else 1, "
         "where parameters.slow is at most 0.5, uniform max)"),
        ("max(slow, 0.5) * 2 if active(shock) else min(1.5, slow + 1)",
         "at pace at most 1.5 (max(slow, 0.5) * 2 if active(shock) else min(1.5, slow + 1), "
         "where parameters.slow is at most 0.5, uniform max)"),
        ("1.5", "at pace 1.5 (constant)"),
    ],
)  # fmt: skip
def test_a_bounded_pace_refuses_impossible_evidence(pace: str, at_pace: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        loads(project_scenario(pace), file="paced.yaml")
    assert f"prep takes at least 2 years (constant), {at_pace}, from the start" in str(caught.value)
    assert str(caught.value).startswith("paced.yaml:24:44: error: evidence[0].reached_by: ")


# --- property: the bound is never later than the engine ------------------------------------

_duration = st.one_of(
    st.sampled_from(["0.4", "0.25", "dur", "'2 * dur'", "'dur + 0.1'", "'max(dur, 0.3)'"]),
    st.builds("{{dist: uniform, low: {}, high: {}}}".format, st.sampled_from([0.1, 0.3]),
              st.sampled_from([0.35, 0.5])),
    st.builds("{{dist: pert, min: {}, mode: 0.4, max: 0.6}}".format,
              st.sampled_from([0.2, 0.3])),
)  # fmt: skip
_pace = st.sampled_from(
    [
        "1",
        "1.5",
        "speed",
        "speed if active(shock) else 1",
        "1 if active(shock) else speed",
        "min(speed, 1.2)",
        "max(speed, 0.9)",
        "speed + 0.5",
        "speed * boost",
        "2 - speed",
        "boost * (speed if active(shock) else 1.1)",
        "max(speed, boost) if count(shock) > 1 else min(speed, 1)",
    ]
)


def random_scenario(durations: list[str], pace: str, done: int) -> str:
    stages = "\n".join(
        f"      - {{name: s{j}, duration: {d}, why: test}}" for j, d in enumerate(durations)
    )
    outcomes = "\n".join(
        f'  at{k}: {{time_to: "stage(p) >= {k}"}}' for k in range(done + 1, len(durations) + 1)
    )
    return f"""\
steppe: 1
name: random_project
title: "A random small project"
start: 2024-01-01
horizon: 2027-01-01
replications: 300
seed: 3
parameters:
  speed: {{dist: uniform, low: 0.6, high: 1.4, why: test}}
  boost: {{dist: triangular, min: 1, mode: 1.9, max: 2, why: test}}
  dur: {{dist: uniform, low: 0.15, high: 0.2, why: test}}
events:
  shock: {{hazard: 2, recurring: true, duration: 0.2, why: test}}
projects:
  p:
    stages:
{stages}
    completed_stages: {done}
    pace: "{pace}"
    why: test
outcomes:
{outcomes}
"""


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_duration, min_size=1, max_size=3),
    _pace,
    st.integers(0, 2),
)
def test_the_earliest_start_is_never_later_than_the_engine(
    durations: list[str], pace: str, done: int
) -> None:
    done = min(done, len(durations) - 1)
    sc = loads(random_scenario(durations, pace, done))
    result = steppe.run(sc, engine="simpy", traces=False)
    project = sc.spec.projects["p"]
    for k in range(done + 1, len(durations) + 1):
        found = earliest_start(project, k, sc.spec)
        assert found is not None, (pace, durations, k)  # every pace and duration is bounded
        first = float(np.min(result.samples[f"at{k}"].to_numpy()))
        assert math.isfinite(first), (pace, durations, k)
        assert found.time <= first + 1e-9, (pace, durations, k, found, first)
