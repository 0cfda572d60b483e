"""Cromwell's rule (``steppe validate --lint``, ``steppe.lint``; docs/scoring.md): outcomes
that are 0 or 1 by a scenario's structure, traced to its keys and lines; outcomes that are
0 or 1 in a run for no structural reason; questions that all resolve late.

``tests/data/lint.yaml`` plants one case of each kind. A structural verdict must never call
a possible outcome impossible: every verdict is also checked against a run.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

import steppe
from steppe.analysis.cromwell import cromwell_lines, exact_bound
from steppe.cli import main
from steppe.load import loads
from steppe.model.feasibility import latest_start, series_range
from steppe.model.lint import Finding, late_questions
from steppe.model.structural import structural_verdicts

ROOT = Path(__file__).parent.parent
PLANTED = ROOT / "tests" / "data" / "lint.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"

#: What the lint says of each planted outcome (the others must not be reported).
EXPECTED = {
    "rail_construction_2025": "structural-zero",  # preparation takes at least 2 years
    "rail_construction_2030": "structural-one",  # ... at most 5, and no cancellation
    "rail_done_2026": "structural-zero",  # completion takes at least 2 + 3 years
    "settled_q": "structural-one",  # a history
    "never_q": "structural-zero",  # a hazard that is the constant 0
    "rail_done_time": "structural-zero-before",  # 0 at the year-ends 2024 ... 2028
    "flat_200": "structural-zero",  # volatility 0: at most 100 exp(0.05 x 6.92)
    "both": "structural-zero",  # ... and rail_construction_2025
    "either": "structural-one",  # ... or settled_q
}
SILENT = ("rare_q", "common_q", "noisy_200")


def line_of(text: str, path: Path = PLANTED) -> int:
    """The 1-based line of the first line of ``path`` that contains ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


@pytest.fixture(scope="module")
def planted() -> dict[str, Finding]:
    found = steppe.lint(PLANTED)
    return {f.outcome or f.code: f for f in found}


@pytest.fixture(scope="module")
def planted_run() -> steppe.RunResult:
    return steppe.run(PLANTED, replications=200, seed=3, workers=1)


def test_planted_structural_zero_is_traced_to_key_and_line(planted: dict[str, Finding]) -> None:
    f = planted["rail_construction_2025"]
    assert f.code == "structural-zero"
    assert f.path == ("outcomes", "rail_construction_2025", "probability")
    assert (f.file, f.line) == (str(PLANTED), line_of("probability: stage(rail) >= 1"))
    assert f.causes == (("projects", "rail", "stages", 0, "duration"),)
    duration = line_of("duration: {dist: pert, min: 2")
    assert f.message == (
        "rail_construction_2025 is 0 in every replication (probability: stage(rail) >= 1, by "
        "2024-12-31): stage 'construction' of projects.rail cannot begin before 2026-01-01: "
        "preparation takes at least 2 years (pert min) "
        f"[see projects.rail.stages[0].duration (line {duration})]; no evidence can ever raise "
        "a forecast of 0; if it is possible at all, widen the assumption that rules it out"
    )
    assert str(f).startswith(
        f"{PLANTED}:{f.line}:18: structural-zero: outcomes.rail_construction_2025.probability: "
    )


def test_history_is_a_structural_one(planted: dict[str, Finding]) -> None:
    f = planted["settled_q"]
    assert f.code == "structural-one"
    assert f.causes == (("events", "settled", "history", 0),)
    assert "events.settled has a history: it occurred on 2023-06-01, before the start" in (
        f.message
    )
    assert f"events.settled.history[0] (line {line_of('settled: {history')})" in f.message


def test_every_planted_case_and_nothing_else(planted: dict[str, Finding]) -> None:
    assert {k: f.code for k, f in planted.items()} == EXPECTED
    assert "preparation takes at least 2 years (pert min); construction takes at least 3" in (
        planted["rail_done_2026"].message
    )
    assert "events.never cannot occur: its hazard is 0" in planted["never_q"].message
    assert (
        "has begun by 2028-12-31 at the latest: preparation takes at most 5 years (pert max)"
        in (planted["rail_construction_2030"].message)
    )
    before = planted["rail_done_time"]
    assert "at 2024-12-31, 2025-12-31, 2026-12-31, 2027-12-31, 2028-12-31 (" in before.message
    assert "series.flat has volatility 0 and no jumps: over 83 ticks of month it rises to at " in (
        planted["flat_200"].message
    )


def test_structural_verdicts_agree_with_a_run(
    planted: dict[str, Finding], planted_run: steppe.RunResult
) -> None:
    for name, f in planted.items():
        o = planted_run.outcome(name)
        if f.code == "structural-zero-before":
            early = [d for d, p in o["p_by"].items() if d <= "2028-12-31"]
            assert early and all(o["p_by"][d] == 0.0 for d in early), name
            continue
        p = o["p"] if o["kind"] == "probability" else o["p_ever"]
        assert p == (1.0 if f.code == "structural-one" else 0.0), name


def test_rare_outcome_is_empirical_not_structural(planted_run: steppe.RunResult) -> None:
    # rare_q has a hazard of 1e-5 a year: possible, but 0 in 200 replications
    assert planted_run.outcome("rare_q")["p"] == 0.0
    found = steppe.lint(PLANTED, result=planted_run)
    empirical = [f for f in found if f.code.startswith("empirical-")]
    assert [(f.outcome, f.code) for f in empirical] == [("rare_q", "empirical-zero")]
    f = empirical[0]
    assert f.path == ("outcomes", "rare_q", "probability")
    assert f.line == line_of("probability: occurred(rare)")
    assert f.message == (
        "rare_q is 0 in all 200 replications; not traced to the scenario's structure, so it "
        "may be merely rare: the exact 95% upper bound on its probability is 0.018 "
        "(Clopper-Pearson; the rule of three gives 0.015); more replications may show it happen"
    )
    # the summary alone (summary.json) gives the same
    assert steppe.lint(PLANTED, result=planted_run.summary) == found


def test_settled_by_evidence() -> None:
    # update_2025 is conditioned on Kyrgyzstan's delisting (September 2024): the baseline's
    # Kyrgyz questions it inherits are 1 in every replication, settled, not almost certain
    update = ROOT / "scenarios" / "update_2025.yaml"
    summary = json.loads((ROOT / "results" / "update_2025" / "summary.json").read_text())
    found = steppe.lint(update, result=summary)
    assert [(f.code, f.outcome) for f in found] == [
        ("settled-by-evidence", "kg_delists_by_2027"),
        ("settled-by-evidence", "kg_delists_by_2030"),
        ("settled-by-evidence", "first_neighbour_delists"),
    ]
    assert found[0].file == str(BASELINE)  # the outcome is the baseline's
    assert "which observes events.kg_delists occurred between 2024-08-30 and 2024-09-06 (" in (
        found[0].message
    )
    assert cromwell_lines(found, summary)[0] == (
        "Cromwell: kg_delists_by_2027 is settled by the evidence (no longer a forecast)"
    )
    # without the evidence's observations (a summary of a plain run) it is empirical
    plain = {k: v for k, v in summary.items() if k != "evidence"}
    again = steppe.lint(update, result=plain)
    assert [f.code for f in again] == ["empirical-one"] * 3
    assert "exact 95% lower bound on its probability is 1 - 0.00037 (" in again[0].message


def test_exact_bound_is_clopper_pearson() -> None:
    for n in (1, 200, 2000, 10_000):
        assert_allclose(exact_bound(n), stats.beta.ppf(0.975, 1, n), rtol=1e-12)
        assert_allclose(exact_bound(n, zero=False), stats.beta.ppf(0.025, n, 1), rtol=1e-12)
    assert f"{exact_bound(2000):.2g}" == "0.0018"


def test_run_lines(planted_run: steppe.RunResult) -> None:
    lines = cromwell_lines(steppe.lint(PLANTED, result=planted_run), planted_run.summary)
    assert lines[0] == (
        "Cromwell: rail_construction_2025 is 0 by the scenario's structure "
        "(steppe validate --lint says why)"
    )
    assert lines[-1] == (
        "Cromwell: rare_q is 0 in every replication; may be merely rare (95% upper bound 0.018)"
    )
    assert len(lines) == len(EXPECTED) + 1
    assert cromwell_lines([], planted_run.summary) == ["Cromwell: no outcome is 0 or 1"]


def _scenario(outcomes: str, *, horizon: str = "2030-12-31", as_of: str = "") -> str:
    return textwrap.dedent(
        f"""\
        steppe: 1
        name: late
        title: late questions
        start: 2024-01-01
        horizon: {horizon}
        {as_of}
        events:
          e: {{hazard: 0.1}}
        outcomes:
        """
    ) + textwrap.indent(textwrap.dedent(outcomes), "  ")


def test_late_questions() -> None:
    text = _scenario(
        """\
        by_2030: {probability: occurred(e)}
        when: {time_to: occurred(e)}
        at_2027: {value: count(e), at: 2027-06-30}
        """
    )
    f = late_questions(loads(text, file="late.yaml"))
    assert f is not None
    line = next(i for i, x in enumerate(text.splitlines(), start=1) if "at_2027" in x)
    assert (f.code, f.outcome, f.path) == ("late-questions", None, ("outcomes", "at_2027", "at"))
    assert f.line == line
    assert f.message == (
        "every question resolves late: the earliest is outcomes.at_2027 on 2027-06-30 (its at: "
        "date), 3.5 years after the start 2024-01-01 (the window ends 2030-12-31); a forecast "
        "that cannot be checked for years teaches its author nothing: add outcomes dated in "
        "the first year or two (e.g. `by: 2024-12-31` and `by: 2025-12-31`)"
    )
    # a question in the first two years: silent
    early = loads(_scenario("soon: {probability: occurred(e), by: 2025-12-31}\n"))
    assert late_questions(early) is None
    # the last 40% of a short window, but within a year of as_of: silent
    short = _scenario("end: {probability: occurred(e)}\n", horizon="2024-12-31")
    assert late_questions(loads(short)) is None
    # the last 40% and more than a year after the start: late
    mid = _scenario("end: {probability: occurred(e)}\n", horizon="2025-06-30")
    found = late_questions(loads(mid))
    assert found is not None and "outcomes.end on 2025-06-30 (its by: date), 1.5 years" in (
        found.message
    )
    # as_of counts from the forecast's date, not the start
    updated = _scenario(
        "soon: {probability: occurred(e), by: 2026-06-30}\n", as_of="as_of: 2025-01-15"
    )
    assert late_questions(loads(updated)) is None


def test_baseline_findings() -> None:
    found = steppe.lint(BASELINE)
    # Only late-questions. No structural 0 or 1: every event the outcomes ask about has a
    # hazard that is not the constant 0 and none has a history (kz_delists, the one with
    # a history, is asked about by no outcome); each project can be completed before the
    # horizon (railway from 2028-04, TAPI from 2028-07, CASA-1000 from 2026-10, at pace 1)
    # and none is certain to be (each may be cancelled); the trade series have a
    # volatility above 0, so any level can be reached. The earliest question is
    # kz_trade_2026 (and uz_, tm_), at 2026-12-31, 3 years after as_of 2024-01-15.
    assert [(f.code, f.outcome) for f in found] == [("late-questions", None)]
    assert str(found[0]) == (
        f"{BASELINE}:{line_of('at: 2026-12-31', BASELINE)}:9: late-questions: "
        "outcomes.kz_trade_2026.at: every "
        "question resolves late: the earliest is outcomes.kz_trade_2026 on 2026-12-31 (its "
        "at: date), 3.0 years after as_of 2024-01-15 (the window ends 2030-12-31); a forecast "
        "that cannot be checked for years teaches its author nothing: add outcomes dated in "
        "the first year or two (e.g. `by: 2024-12-31` and `by: 2025-12-31`)"
    )


def test_a_variant_is_located_in_the_file_that_wrote_the_value(tmp_path: Path) -> None:
    variant = tmp_path / "v.yaml"
    variant.write_text(
        f"extends: {PLANTED}\nname: v\ntitle: v\ndescription: v\n"
        "outcomes:\n  new_q: {probability: occurred(settled)}\n",
        encoding="utf-8",
    )
    found = {f.outcome: f for f in steppe.lint(variant)}
    assert (found["settled_q"].file, found["settled_q"].line) == (
        str(PLANTED),
        line_of("probability: occurred(settled)"),
    )
    assert (found["new_q"].file, found["new_q"].line) == (str(variant), 6)


def test_series_and_stage_bounds_are_not_too_tight() -> None:
    sc = steppe.load(PLANTED)
    low, high = series_range("flat", sc.spec, sc.timeline.t_horizon)
    assert low is not None and high is not None
    n = len(sc.ticks)
    assert low[0] <= 100.0 <= 100 * (1 + 1e-12) * pow(2.718281828459045, 0.05 * n / 12) <= high[0]
    assert series_range("noisy", sc.spec, 5.0) == (
        (0.0, "series.noisy is a log series, always above 0"),
        None,
    )
    latest = latest_start(sc.spec.projects["rail"], 2, sc.spec)
    assert latest is not None and latest.time == 11.0


def test_nan_is_never_taken_for_zero() -> None:
    # noisy is moved by normal draws: unbounded above, and may not be taken for a number
    sc = loads(
        textwrap.dedent(
            """\
            steppe: 1
            name: nan
            title: nan
            start: 2024-01-01
            horizon: 2025-12-31
            parameters:
              a: {dist: uniform, low: -1, high: 1}
              z: {expr: "sqrt(a)"}
            series:
              s: {initial: 1, volatility: 0.2}
            outcomes:
              pos: {probability: "s > -1", by: 2024-12-31}
              nan_eq: {probability: "z == z", by: 2024-12-31}
              div: {probability: "occurred(e) / 1", by: 2024-12-31}
            events:
              e: {hazard: 0}
            """
        )
    )
    assert [f.outcome for f in steppe.lint(sc) if f.outcome] == []


def test_reasons_and_the_clock() -> None:
    sc = loads(
        textwrap.dedent(
            """\
            steppe: 1
            name: clock
            title: clock
            start: 2024-01-01
            horizon: 2026-12-31
            events:
              past: {history: [2023-05-01]}
              e: {hazard: 0.5}
            outcomes:
              branch: {probability: "1 if occurred(past) else 0", by: 2024-06-30}
              late: {time_to: "t >= 2.5"}
              never: {time_to: "t >= 5"}
              not_yet: {time_to: "t >= 1.5 and occurred(e)"}
            """
        )
    )
    found = {v.outcome: v for v in structural_verdicts(sc).values()}
    # the branch taken is traced to the history that picks it
    assert found["branch"].value == 1
    assert found["branch"].why == (
        "events.past has a history: it occurred on 2023-05-01, before the start",
    )
    # t >= 2.5 holds at the horizon, but is only checked when the state changes: it is not
    # called certain, only impossible by the ends of 2024 and 2025
    assert found["late"].value == 0
    assert [d.isoformat() for d in found["late"].dates] == ["2024-12-31", "2025-12-31"]
    assert found["late"].why == ("t is at most 1.999 years (2025-12-31)",)
    assert found["never"].value == 0 and found["never"].dates == ()
    assert [d.isoformat() for d in found["not_yet"].dates] == ["2024-12-31"]


def test_cli_validate_lint(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["validate", "--lint", str(PLANTED)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == f"{PLANTED}: ok"
    pattern = re.compile(r"^(.+):(\d+):(\d+): ([a-z-]+): ([\w.\[\]]+): (.+)$")
    parsed = [pattern.match(line) for line in lines[:-1]]
    assert all(parsed)
    assert [m.group(4) for m in parsed if m] == list(EXPECTED.values())
    plain = runner.invoke(main, ["validate", str(PLANTED)])
    assert plain.exit_code == 0 and plain.stdout == f"{PLANTED}: ok\n"
    as_json = runner.invoke(main, ["validate", "--lint", "--json", str(PLANTED), str(BASELINE)])
    assert as_json.exit_code == 0
    report = json.loads(as_json.stdout)
    assert [r["file"] for r in report] == [str(PLANTED), str(BASELINE)]
    first = report[0]["findings"][0]
    assert first["path"] == "outcomes.rail_construction_2025.probability"
    assert first["causes"] == ["projects.rail.stages[0].duration"]
    assert [f["code"] for f in report[1]["findings"]] == ["late-questions"]
    # an invalid file still fails, with its error on stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\n", encoding="utf-8")
    failed = runner.invoke(main, ["validate", "--lint", str(bad), str(PLANTED)])
    assert failed.exit_code == 2
    assert f"{bad}" in failed.stderr and failed.stdout.endswith(f"{PLANTED}: ok\n")


def test_cli_run_prints_cromwell_lines(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["run", str(PLANTED), "-n", "200", "--workers", "1", "-q"]
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    written = next(i for i, line in enumerate(lines) if line.startswith("results written to"))
    assert lines[written - 1] == (
        "Cromwell: rare_q is 0 in every replication; may be merely rare (95% upper bound 0.018)"
    )
    assert sum(line.startswith("Cromwell: ") for line in lines) == len(EXPECTED) + 1
    smoke = ROOT / "tests" / "data" / "smoke.yaml"
    clean = runner.invoke(main, ["run", str(smoke), "-n", "200", "--workers", "1", "-q",
                                 "--out", str(tmp_path / "smoke")])  # fmt: skip
    assert clean.exit_code == 0, clean.output
    assert "\nCromwell: no outcome is 0 or 1\nresults written to" in clean.stdout
    as_json = runner.invoke(main, [*args, "--json", "--out", str(tmp_path / "j")])
    assert "Cromwell: " not in as_json.stdout


# --- property: a structural verdict is never contradicted by the engine ----------------------

_DURATIONS = st.lists(
    st.sampled_from(
        ["0.4", "dur", "'2 * dur'", "'max(dur, 0.3)'", "{dist: uniform, low: 0.1, high: 0.5}",
         "{dist: pert, min: 0.2, mode: 0.4, max: 0.6}"]
    ),
    min_size=1,
    max_size=3,
)  # fmt: skip
_PACES = st.sampled_from(
    ["1", "speed", "speed if active(shock) else 1", "min(speed, 1.2)", "speed * boost", "2 - speed"]
)
_DATES = ("2024-03-31", "2024-09-30", "2025-03-31", "2025-12-31", "2026-06-30", "2026-12-31")


def random_project(durations: list[str], pace: str, done: int, cancel: str) -> str:
    stages = "\n".join(f"      - {{name: s{j}, duration: {d}}}" for j, d in enumerate(durations))
    outcomes = [
        f'  s{k}_{day[:7].replace("-", "_")}: {{probability: "stage(p) >= {k}", by: {day}}}'
        for k in range(done, len(durations) + 1)
        for day in _DATES
    ]
    outcomes += [
        f'  done_{day[:7].replace("-", "_")}: {{probability: "completed(p)", by: {day}}}'
        for day in _DATES
    ]
    outcomes += ['  when: {time_to: "completed(p)"}', '  none: {probability: "not completed(p)"}']
    nl = "\n"
    return f"""\
steppe: 1
name: random_lint
title: "A random small project"
start: 2024-01-01
horizon: 2027-01-01
replications: 300
seed: 5
parameters:
  speed: {{dist: uniform, low: 0.6, high: 1.4}}
  boost: {{dist: triangular, min: 1, mode: 1.9, max: 2}}
  dur: {{dist: uniform, low: 0.15, high: 0.2}}
events:
  shock: {{hazard: 2, recurring: true, duration: 0.2}}
projects:
  p:
    stages:
{stages}
    completed_stages: {done}
    pace: "{pace}"
    cancel_hazard: {cancel}
outcomes:
{nl.join(outcomes)}
"""


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DURATIONS, _PACES, st.integers(0, 2), st.sampled_from(["0", "0.3"]))
def test_structural_verdicts_hold_in_the_engine(
    durations: list[str], pace: str, done: int, cancel: str
) -> None:
    done = min(done, len(durations) - 1)
    sc = loads(random_project(durations, pace, done, cancel))
    result = steppe.run(sc, engine="simpy", traces=False)
    project = sc.spec.projects["p"]
    for k in range(done + 1, len(durations) + 1):
        latest = latest_start(project, k, sc.spec)
        if latest is not None and latest.time < sc.timeline.t_horizon:
            assert cancel == "0"
            times = result.samples[f"s{k}_2026_12"]  # 1 in every replication
            assert times.min() == 1.0, (durations, pace, k, latest)
    for name, v in structural_verdicts(sc).items():
        o = result.outcome(name)
        if v.dates and not v.value:  # a time_to outcome, 0 at these year-ends
            assert all(o["p_by"][d.isoformat()] == 0.0 for d in v.dates), (v, o["p_by"])
            continue
        p = o["p"] if o["kind"] == "probability" else o["p_ever"]
        assert p == float(v.value), (v, p, durations, pace, done, cancel)


def test_docs_examples_are_what_steppe_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)```", docs, flags=re.DOTALL)
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    command, *shown = blocks[0].splitlines()
    assert command == "$ steppe validate --lint scenarios/baseline.yaml"
    result = runner.invoke(main, command.split()[2:])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == shown
    planted = runner.invoke(main, ["validate", "--lint", "tests/data/lint.yaml"])
    assert blocks[1].strip() in planted.stdout.splitlines()
    run = steppe.run(PLANTED, replications=200, seed=3, workers=1)
    found = steppe.lint(PLANTED, result=run)
    assert blocks[2].strip() in cromwell_lines(found, run.summary)
    assert found[-1].message in " ".join(docs.split())  # the empirical message, as quoted
