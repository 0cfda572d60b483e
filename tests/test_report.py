"""Traces (series and events over time) and the reports of a run: report.html, report.md."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import steppe
from steppe.cli import main
from steppe.report.run_report import run_document
from steppe.results.traces import TRACE_PREFIX, plan_traces, series_grid, series_targets

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"

CONSTANT_HAZARD = """
name: constant
title: one event at a constant hazard, one deterministic series
start: 2024-01-01
horizon: 2028-12-31
step: month
parameters:
  rate: {value: 0.3, why: test}
  growth: {value: 0.1, why: test}
events:
  e: {hazard: rate}
series:
  level: {initial: 100, drift: growth, volatility: 0, unit: tonnes}
outcomes:
  e_by_2026: {probability: occurred(e), by: 2026-12-31}
  level_hits: {time_to: level >= 140}
"""


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[steppe.RunResult, Path]:
    """One small run of the smoke scenario, written with its report."""
    res = steppe.run(SMOKE, replications=300, seed=11)
    out = res.write(tmp_path_factory.mktemp("run") / "smoke")
    return res, out


# -- traces ---------------------------------------------------------------------------------


def test_traces_are_appended_after_the_outcomes() -> None:
    sc = steppe.load(SMOKE)
    plan = plan_traces(sc)
    n = len(sc.outcomes)
    assert plan.n_outcomes == n
    assert [o.name for o in plan.scenario.outcomes[:n]] == [o.name for o in sc.outcomes]
    assert all(o.name.startswith(TRACE_PREFIX) for o in plan.scenario.outcomes[n:])
    assert set(plan.events) == {"kz_delists", "uz_delists", "shock", "railway"}
    assert len(plan.series["kz_trade"]) == len(plan.dates)


def test_trace_names_cannot_clash_with_scenario_names(scenario_from_yaml) -> None:  # type: ignore[no-untyped-def]
    # Scenario names must start with a letter, so a "_trace..." outcome is refused.
    with pytest.raises(steppe.ScenarioError, match="is not a valid name"):
        scenario_from_yaml(
            f"""
            name: x
            title: x
            start: 2024-01-01
            horizon: 2025-01-01
            outcomes:
              {TRACE_PREFIX}.event.e: {{probability: "1"}}
            """
        )


def test_series_grid_is_quarter_ends_for_monthly_steps() -> None:
    sc = steppe.load(SMOKE)
    grid = series_grid(sc)
    assert grid[0] == dt.date(2024, 1, 1)
    assert grid[1:5] == [
        dt.date(2024, 3, 31),
        dt.date(2024, 6, 30),
        dt.date(2024, 9, 30),
        dt.date(2024, 12, 31),
    ]
    assert grid[-1] == dt.date(2030, 12, 31)
    assert len(grid) == 1 + 7 * 4


def test_targets_come_from_outcomes_and_target_parameters() -> None:
    sc = steppe.load(ROOT / "scenarios" / "baseline.yaml")
    targets = series_targets(sc)
    assert [t["value"] for t in targets["kz_trade"]] == [3000.0]
    assert [t["value"] for t in targets["tm_trade"]] == [1000.0]
    assert "kz_trade_target" in targets["kz_trade"][0]["label"]
    assert "uz_trade" not in targets


def test_run_reports_traces_apart_from_outcomes(smoke_run: tuple[steppe.RunResult, Path]) -> None:
    res, _ = smoke_run
    sc = steppe.load(SMOKE)
    assert list(res.summary["outcomes"]) == [o.name for o in sc.outcomes]
    assert list(res.samples.columns) == [o.name for o in sc.outcomes]
    traces = res.summary["traces"]
    assert traces["sample"] == traces["replications"] == 300
    kz = traces["series"]["kz_trade"]
    assert kz["unit"] == "USD million"
    assert set(kz["quantiles"]) == {"0.05", "0.25", "0.5", "0.75", "0.95"}
    assert all(len(v) == len(kz["dates"]) for v in kz["quantiles"].values())
    assert kz["targets"][0]["value"] == 3000.0
    assert set(traces["events"]) == {"kz_delists", "uz_delists", "shock", "railway"}
    assert traces["events"]["kz_delists"]["p_by"][0] == 1.0  # history: before the start
    assert set(traces["histograms"]) == {"trade_2027", "shocks"}


def test_traces_agree_with_the_outcomes_of_the_same_run(
    smoke_run: tuple[steppe.RunResult, Path],
) -> None:
    # The same replications give both, so these agree up to the 6 significant digits the
    # traces are stored with.
    res, _ = smoke_run
    s, traces = res.summary, res.summary["traces"]
    kz = traces["series"]["kz_trade"]
    j = kz["dates"].index("2027-12-31")
    for q in ("0.05", "0.5", "0.95"):
        expected = s["outcomes"]["trade_2027"]["quantiles"][q]
        assert kz["quantiles"][q][j] == pytest.approx(expected, rel=1e-5)
    uz = traces["events"]["uz_delists"]
    by_year = s["outcomes"]["uz_time"]["p_by"]
    for day, p in by_year.items():
        if day in uz["dates"]:
            assert uz["p_by"][uz["dates"].index(day)] == pytest.approx(p, rel=1e-5)
    hist = traces["histograms"]["shocks"]
    assert sum(hist["counts"]) == hist["n"] == 300


def test_event_trace_matches_a_constant_hazard(scenario_from_yaml) -> None:  # type: ignore[no-untyped-def]
    # P(by t) = 1 - exp(-0.3 t). With n = 4000 the s.e. is at most sqrt(0.25/4000) = 0.008;
    # 4 s.e. keeps the chance of a false failure at any of the ~60 dates below 1e-3.
    sc = scenario_from_yaml(CONSTANT_HAZARD)
    res = steppe.run(sc, replications=4000, seed=5)
    ev = res.summary["traces"]["events"]["e"]
    for day, p in zip(ev["dates"], ev["p_by"], strict=True):
        t = sc.timeline.years(dt.date.fromisoformat(day))
        expected = 1 - math.exp(-0.3 * t)
        assert abs(p - expected) <= 4 * math.sqrt(max(expected * (1 - expected), 1e-9) / 4000)
    # A series without noise: every quantile is 100 exp(0.1 t_k) at the latest tick t_k.
    level = res.summary["traces"]["series"]["level"]
    for day, median in zip(level["dates"], level["quantiles"]["0.5"], strict=True):
        t = sc.timeline.years(dt.date.fromisoformat(day))
        k = math.floor(t * 12 + 1e-9)
        assert median == pytest.approx(100 * math.exp(0.1 * k / 12), rel=1e-5)


def test_traces_can_be_switched_off() -> None:
    res = steppe.run(SMOKE, replications=50, seed=1, traces=False)
    assert "traces" not in res.summary


# -- reports ------------------------------------------------------------------------------


def test_run_writes_html_markdown_and_figures(smoke_run: tuple[steppe.RunResult, Path]) -> None:
    res, out = smoke_run
    md = (out / "report.md").read_text(encoding="utf-8")
    manifest = res.manifest
    for fact in (
        "**seed:** 11",
        "**replications:** 300",
        f"**engine:** {res.summary['engine']}",
        f"**steppe version:** {steppe.__version__}",
        f"**scenario sha256:** {manifest['scenario_sha256']}",
        "**as of:** not stated",
    ):
        assert fact in md
    for name in res.summary["assumptions"]:
        assert f"| {name} |" in md
    links = re.findall(r"!\[[^]]*\]\((figures/[^)]+\.png)\)", md)
    assert sorted(links) == sorted(f"figures/{p.name}" for p in (out / "figures").iterdir())
    assert {
        "figures/probabilities.png",
        "figures/series_kz_trade.png",
        "figures/events.png",
        "figures/distributions.png",
    } <= set(links)
    for png in (out / "figures").iterdir():
        with Image.open(png) as img:
            assert img.width > 200 and img.height > 100


def test_every_estimate_in_the_report_has_an_interval(
    smoke_run: tuple[steppe.RunResult, Path],
) -> None:
    _, out = smoke_run
    md = (out / "report.md").read_text(encoding="utf-8")
    table = md.split("## Outcomes")[1].split("## ")[0]
    rows = [r for r in table.splitlines() if r.startswith("| ") and "---" not in r][1:]
    assert rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.fullmatch(r"\[.+, .+\]", cells[4]), row  # the 95% interval column


def test_html_is_self_contained(smoke_run: tuple[steppe.RunResult, Path]) -> None:
    _, out = smoke_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)
    assert "<script" not in html and "@import" not in html and "url(" not in html
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == len(list((out / "figures").iterdir()))
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            assert img.format == "PNG" and img.width > 0


def test_figures_are_titled_with_the_scenario_and_units(
    smoke_run: tuple[steppe.RunResult, Path],
) -> None:
    from steppe.report.figures import fan_charts

    res, _ = smoke_run
    (fig,) = fan_charts(res.summary)
    assert fig.name == "series_kz_trade" and "USD million" in fig.title


def test_figures_drawn_in_workers_are_those_drawn_in_process(
    smoke_run: tuple[steppe.RunResult, Path],
) -> None:
    # steppe.report.parallel: the same code on the same summary gives the same PNG bytes,
    # in report order, with two worker processes or none.
    from steppe.report.figures import run_figures
    from steppe.report.parallel import drawing

    _, out = smoke_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    here = run_figures(summary)
    for workers in (2, 1):
        with drawing(summary, workers=workers) as figures:
            drawn = figures()
        assert [(f.name, f.png) for f in drawn] == [(f.name, f.png) for f in here]
    written = {p.stem: p.read_bytes() for p in (out / "figures").iterdir()}
    assert written == {f.name: f.png for f in here}


def test_figures_keep_their_labels_inside(smoke_run: tuple[steppe.RunResult, Path]) -> None:
    # The fixed layout's margins (steppe.report._plot.Margins) hold the labels: no figure
    # has ink in its outermost pixel columns and rows, where a cut label would show.
    _, out = smoke_run
    for png in (out / "figures").iterdir():
        with Image.open(png) as img:
            pixels = np.asarray(img.convert("L"))
        edges = np.concatenate([pixels[:, :2].ravel(), pixels[:, -2:].ravel(), pixels[:2].ravel(),
                                pixels[-2:].ravel()])  # fmt: skip
        assert edges.min() > 200, png.name


def test_report_command_rebuilds_from_the_folder_files(
    smoke_run: tuple[steppe.RunResult, Path], tmp_path: Path
) -> None:
    # the JSON files, and the Parquet files the "What to watch" section is computed from
    # (without them the report builds without that section: tests/test_signposts.py)
    _, out = smoke_run
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in (
        ".steppe", "summary.json", "manifest.json", "samples.parquet", "indicators.parquet"
    ):  # fmt: skip
        shutil.copy(out / name, copy / name)
    result = CliRunner().invoke(main, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "report.md").read_text() == (out / "report.md").read_text()
    assert (copy / "report.html").read_text() == (out / "report.html").read_text()
    assert sorted(p.name for p in (copy / "figures").iterdir()) == sorted(
        p.name for p in (out / "figures").iterdir()
    )
    assert not [p for p in copy.iterdir() if p.name.startswith((".tmp-", ".steppe-tmp"))]


def test_report_command_refuses_a_folder_without_results(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'summary.json'}: file is missing" in result.output


def test_report_without_traces_says_so(tmp_path: Path) -> None:
    res = steppe.run(SMOKE, replications=50, seed=1, traces=False)
    out = res.write(tmp_path / "plain")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "recorded no traces" in md
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "probabilities.png",
        "time_to.png",
    ]
    assert np.isfinite(res.summary["outcomes"]["trade_2027"]["mean"])


def test_summarize_traces_overwrites_only_when_allowed_and_gives_the_same() -> None:
    """``overwrite=True`` sorts the series' trace columns in place (the run drops them
    next): the traces are the same, and the scenario's own columns are left untouched."""
    from steppe.engines.kernel import simulate_kernel
    from steppe.results.traces import summarize_traces

    sc = steppe.load(Path(__file__).parent / "data" / "smoke.yaml")
    plan = plan_traces(sc)
    x = simulate_kernel(plan.scenario, seed=4, start=0, n=3000)
    before = x.copy()
    kept = summarize_traces(plan, x, replications=3000)
    np.testing.assert_array_equal(x, before)  # not overwritten
    fast = summarize_traces(plan, x, replications=3000, overwrite=True)
    assert fast == kept
    m = plan.n_outcomes
    np.testing.assert_array_equal(x[:, :m], before[:, :m])
    series_cols = [c for cols in plan.series.values() for c in cols]
    assert series_cols and not np.array_equal(x[:, series_cols], before[:, series_cols])
    np.testing.assert_array_equal(np.sort(x[:, series_cols], axis=0), x[:, series_cols])


CORRELATED = """
name: corr
title: correlated parameters, stopped at a precision
start: 2025-01-01
horizon: 2028-01-01
replications: 4000
seed: 2
parameters:
  a: {dist: uniform, low: 0.1, high: 1, why: test}
  b: {dist: lognormal, ci90: [0.2, 0.8], why: test}
  c: {dist: uniform, low: 0, high: 1, why: test}
events:
  e: {hazard: a, why: test}
  f: {hazard: b, why: test}
correlations:
  - {between: [a, b], rank: 0.6, why: test}
  - {between: [b, c], rank: -0.3, why: test}
precision: {se: 0.01, outcomes: [e_by]}
outcomes:
  e_by: {probability: occurred(e)}
  f_by: {probability: occurred(f)}
"""


def test_report_lists_correlations_and_the_precision_rule(
    scenario_from_yaml: Callable[[str], steppe.Scenario], tmp_path: Path
) -> None:
    res = steppe.run(scenario_from_yaml(CORRELATED), engine="simpy")
    n = res.summary["replications"]
    assert n == res.summary["precision"]["replications"] < 4000  # stopped before the cap
    corr = res.summary["correlations"]
    assert corr["achieved_over"] == n
    # Iman-Conover imposes the ranks within blocks of 1,024 draws: the achieved rank
    # correlation of n >= 1,000 draws is within a few hundredths of the target (its
    # sampling error is about (1 - rho^2) / sqrt(n) <= 0.03; the draws are fixed by the seed)
    assert abs(corr["achieved"][0][1] - 0.6) < 0.05
    assert abs(corr["achieved"][1][2] + 0.3) < 0.05
    assert abs(corr["achieved"][0][2]) < 0.1  # not imposed
    out = res.write(tmp_path / "corr")
    md = (out / "report.md").read_text()
    assert f"| a | b | +0.6 | {corr['achieved'][0][1]:+.3f} |" in md
    assert f"| b | c | -0.3 | {corr['achieved'][1][2]:+.3f} |" in md
    assert "| a | c |" not in md  # pairs not given are 0, not listed
    assert f"over the first {n:,} replications' draws" in md
    assert "| target MC standard error | 0.010 |" in md
    assert "| outcomes watched | e_by |" in md
    assert f"| replications used | {n:,} |" in md
    assert "| stopped | precision met |" in md
    html = (out / "report.html").read_text()
    assert "target rank correlation" in html and "precision rule" in html
    # rebuilt from the folder alone (summary.json), the report says the same
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.md").read_text() == md


def test_a_fixed_correlated_parameter_has_no_achieved_correlation(
    scenario_from_yaml: Callable[[str], steppe.Scenario],
) -> None:
    """A parameter fixed by an override keeps its place in the correlations (the others
    keep their draws) but has no achieved correlation: its draws are one constant."""
    sc = scenario_from_yaml(CORRELATED.replace("precision: {se: 0.01, outcomes: [e_by]}", ""))
    res = steppe.run(sc, replications=300, engine="simpy", overrides={"a": 0.5})
    doc = run_document(res.summary, res.manifest, figures=[])
    (table,) = [t for s in doc.sections for t in s.tables if "achieved" in t.header]
    assert ("a", "b", "+0.6", "n/a (fixed)") in table.rows
    assert not [t for s in doc.sections for t in s.tables if "precision rule" in t.header]


def test_report_without_correlations_or_precision_has_neither(
    smoke_run: tuple[steppe.RunResult, Path],
) -> None:
    md = (smoke_run[1] / "report.md").read_text()
    assert "target rank correlation" not in md and "precision rule" not in md
