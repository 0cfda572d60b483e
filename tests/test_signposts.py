"""Signposts (``steppe signposts``, ``steppe.signposts``) and declared signposts
(``signposts:`` in a scenario): conditional probabilities against an analytic case, the
value-of-information formulas against hand computations, flags, the CLI and the report."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import integrate

import steppe
from steppe.analysis._information import brier_value, mutual_information, newcombe_interval
from steppe.cli import main
from steppe.errors import ResultError, ScenarioError
from steppe.results.indicators import INDICATORS

# Two events: A at a constant hazard a; B at hazard b, multiplied by m once A has occurred.
A, B, M = 0.3, 0.1, 4.0
ANALYTIC = f"""\
steppe: 1
name: two_events
title: "B's hazard multiplied after A"
start: 2024-01-01
horizon: 2028-12-31
step: quarter
replications: 4000
seed: 7
events:
  a: {{hazard: {A}, title: A happens, why: test}}
  b: {{hazard: "{B} * (1 + {M - 1} * occurred(a))", title: B happens, why: test}}
outcomes:
  b_by_2028: {{probability: occurred(b), by: 2028-12-31, title: "P(B by 2028)"}}
signposts:
  a_early:
    probability: occurred(a)
    by: 2025-06-30
    title: A before mid-2025
    watch: the A news
"""
DAYS = 365.25


def years(day: dt.date) -> float:
    return (day - dt.date(2024, 1, 1)).days / DAYS


def p_b_not_by(s: float, horizon: float) -> float:
    """P(B has not occurred by ``horizon`` | A occurs at ``s``)."""
    before = min(s, horizon)
    return math.exp(-(B * before + B * M * max(horizon - s, 0.0)))


def analytic(t1: float, horizon: float) -> tuple[float, float, float]:
    """P(A by t1), P(B by T | A by t1), P(B by T | not A by t1), by numerical integration
    over A's exponential occurrence time s (density a e^{-a s})."""

    def joint(lo: float, hi: float) -> float:
        f = lambda s: A * math.exp(-A * s) * (1 - p_b_not_by(s, horizon))  # noqa: E731
        return integrate.quad(f, lo, hi, limit=200)[0]

    px = 1 - math.exp(-A * t1)
    with_x = joint(0.0, t1) / px
    # after t1: up to the horizon, then A after the horizon (B at rate b throughout)
    late = joint(t1, horizon) + math.exp(-A * horizon) * (1 - math.exp(-B * horizon))
    return px, with_x, late / (1 - px)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sp") / "two.yaml"
    path.write_text(ANALYTIC)
    out = tmp_path_factory.mktemp("sp") / "result"
    steppe.run(path, engine="simpy").write(out)
    return out


def test_conditional_probabilities_match_the_analytic_case(folder: Path) -> None:
    sp = steppe.signposts(folder, "b_by_2028")
    horizon = years(dt.date(2028, 12, 31))
    for day in (dt.date(2024, 12, 31), dt.date(2025, 12, 31), dt.date(2026, 12, 31)):
        row = sp.frame.set_index("indicator").loc[f"occurred(a) by {day.isoformat()}"]
        px, p1, p0 = analytic(years(day), horizon)
        n = sp.replications
        n1, n0 = row["n_x"], row["n_not_x"]
        # Monte Carlo s.e.: the replications are independent, so P(X) is a binomial share of
        # n; given the n1 replications with X, their B's are independent Bernoulli(p1),
        # hence se = sqrt(p1 (1 - p1) / n1) (likewise p0 with n0), at the true values.
        assert abs(row["p_x"] - px) < 4 * math.sqrt(px * (1 - px) / n)
        assert abs(row["p_y_given_x"] - p1) < 4 * math.sqrt(p1 * (1 - p1) / n1)
        assert abs(row["p_y_given_not_x"] - p0) < 4 * math.sqrt(p0 * (1 - p0) / n0)
        assert row["p_y_given_x_low"] <= row["p_y_given_x"] <= row["p_y_given_x_high"]
        assert row["flag"] == ""  # thousands of replications, and a clear difference


def test_value_of_information_identity(folder: Path) -> None:
    f = steppe.signposts(folder).frame
    assert len(f) > 0
    expected = f["p_x"] * (1 - f["p_x"]) * (f["p_y_given_x"] - f["p_y_given_not_x"]) ** 2
    np.testing.assert_allclose(f["voi_brier"], expected, rtol=1e-12, atol=1e-15)
    # and as the drop of the expected Brier score p(1-p) after learning X
    before = f["p_y"] * (1 - f["p_y"])
    p1, p0 = f["p_y_given_x"], f["p_y_given_not_x"]
    after = f["p_x"] * p1 * (1 - p1) + (1 - f["p_x"]) * p0 * (1 - p0)
    np.testing.assert_allclose(f["voi_brier"], before - after, rtol=1e-9, atol=1e-15)
    assert (f["voi_brier"].diff().dropna() <= 0).all()  # ranked


def test_a_hand_computed_two_by_two() -> None:
    # P(X, Y) = 0.3, P(X, not Y) = 0.1, P(not X, Y) = 0.2, P(not X, not Y) = 0.4
    px, py, pxy = np.array([0.4]), np.array([0.5]), np.array([0.3])
    value, _ = brier_value(px, py, pxy, 1000)
    p1, p0 = 0.75, 0.2 / 0.6
    assert value[0] == pytest.approx(0.4 * 0.6 * (p1 - p0) ** 2)
    assert value[0] == pytest.approx(0.25 - (0.4 * 0.75 * 0.25 + 0.6 * p0 * (1 - p0)))

    def h(p: float) -> float:
        return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))

    info, _ = mutual_information(px, py, pxy, 1000)
    assert info[0] == pytest.approx(h(0.5) - (0.4 * h(0.75) + 0.6 * h(p0)))  # H(Y) - H(Y|X)
    # independent X and Y: nothing to learn
    zero, _ = brier_value(px, py, px * py, 1000)
    nothing, _ = mutual_information(px, py, px * py, 1000)
    assert zero[0] == pytest.approx(0) and nothing[0] == pytest.approx(0, abs=1e-15)


def test_delta_method_standard_errors_match_the_spread_of_estimates() -> None:
    """The s.e. of both values agrees with their spread over 3,000 simulated samples of
    2,000 replications of the 2x2 case above (within 10%: the s.d. of an s.d. estimated
    from 3,000 draws is about 1.3%)."""
    rng = np.random.default_rng(3)
    n = 2000
    cells = rng.multinomial(n, [0.3, 0.1, 0.2, 0.4], size=3000) / n
    px, py, pxy = cells[:, 0] + cells[:, 1], cells[:, 0] + cells[:, 2], cells[:, 0]
    v, _ = brier_value(px, py, pxy, n)
    i, _ = mutual_information(px, py, pxy, n)
    _, v_se = brier_value(np.array([0.4]), np.array([0.5]), np.array([0.3]), n)
    _, i_se = mutual_information(np.array([0.4]), np.array([0.5]), np.array([0.3]), n)
    assert np.std(v) == pytest.approx(v_se[0], rel=0.1)
    assert np.std(i) == pytest.approx(i_se[0], rel=0.1)


def test_newcombe_interval_covers_the_difference() -> None:
    lo, hi = newcombe_interval(
        np.array([0.6]), np.array([100.0]), np.array([0.4]), np.array([100.0])
    )
    assert lo[0] < 0.2 < hi[0] and lo[0] > 0.05 and hi[0] < 0.35


def test_few_replications_are_flagged_not_hidden(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(ANALYTIC)
    res = steppe.run(path, engine="simpy", replications=80)
    sp = steppe.signposts(res, "b_by_2028")
    row = sp.frame.set_index("indicator").loc["occurred(a) by 2024-12-31"]
    assert min(row["n_x"], row["n_not_x"]) < 50
    assert "few replications" in row["flag"]
    assert any("[flagged: few replications" in s for s in sp.watch_list())
    # a threshold of 0 flags none for that reason
    loose = steppe.signposts(res, "b_by_2028", min_effective=0)
    assert not loose.frame["flag"].str.contains("few").any()


def test_conditioned_runs_use_the_effective_sample_size(folder: Path, tmp_path: Path) -> None:
    res = steppe.run(tmp_path_file(tmp_path), engine="simpy", replications=400)
    weighted = replace(res, summary={**res.summary, "evidence": {"ess": 100.0}})
    a = steppe.signposts(res, "b_by_2028").frame.set_index("indicator")
    b = steppe.signposts(weighted, "b_by_2028")
    assert b.effective == 100.0 and b.weighted
    bf = b.frame.set_index("indicator")
    key = "occurred(a) by 2025-12-31"
    assert bf.loc[key, "p_y_given_x"] == a.loc[key, "p_y_given_x"]  # same estimates
    assert bf.loc[key, "n_x"] == pytest.approx(a.loc[key, "n_x"] / 4)  # a quarter of the rows
    assert bf.loc[key, "voi_brier_se"] == pytest.approx(2 * a.loc[key, "voi_brier_se"])


def tmp_path_file(tmp_path: Path) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(ANALYTIC)
    return path


def test_indicators_resolve_before_the_outcome_and_trivial_ones_are_dropped(
    folder: Path,
) -> None:
    sp = steppe.signposts(folder)
    assert (sp.frame["date"] < sp.frame["outcome_date"]).all()
    assert set(sp.frame["kind"]) == {"event", "declared"}
    # occurred(b) by 2024..2027 for b_by_2028 is B itself, early: kept, marked own
    own = sp.frame[sp.frame["own"]]
    assert set(own["indicator"].str.split(" by ").str[0]) == {"occurred(b)"}
    assert not steppe.signposts(folder, exclude_own=True).frame["own"].any()
    assert sp.dropped == 0
    top = steppe.signposts(folder, top=3)
    assert len(top.frame) == 3 and top.frame.equals(sp.frame.head(3))


def test_declared_signposts_are_kept_and_ranked(folder: Path) -> None:
    sp = steppe.signposts(folder, "b_by_2028").frame.set_index("indicator")
    row = sp.loc["a_early"]
    assert row["kind"] == "declared" and row["watch"] == "the A news"
    assert row["date"] == "2025-06-30"
    px, p1, p0 = analytic(years(dt.date(2025, 6, 30)), years(dt.date(2028, 12, 31)))
    n = 4000  # the se as in test_conditional_probabilities_match_the_analytic_case
    assert abs(row["p_x"] - px) < 4 * math.sqrt(px * (1 - px) / n)
    assert abs(row["p_y_given_x"] - p1) < 4 * math.sqrt(p1 * (1 - p1) / row["n_x"])
    assert abs(row["p_y_given_not_x"] - p0) < 4 * math.sqrt(p0 * (1 - p0) / row["n_not_x"])
    assert "If signpost a_early (A before mid-2025) holds by 2025-06-30" in " ".join(
        steppe.signposts(folder, "b_by_2028").watch_list()
    )


def test_declared_signpost_column_is_the_outcome_it_stands_for(tmp_path: Path) -> None:
    text = ANALYTIC.replace(
        "outcomes:\n", "outcomes:\n  a_mid_2025: {probability: occurred(a), by: 2025-06-30}\n"
    )
    path = tmp_path / "two.yaml"
    path.write_text(text)
    res = steppe.run(path, engine="simpy", replications=300)
    assert res.indicators is not None
    np.testing.assert_array_equal(res.indicators["a_early"], res.samples["a_mid_2025"])
    desc = res.indicators.attrs["indicators"][-1]
    assert desc["kind"] == "declared" and desc["title"] == "A before mid-2025"


@pytest.mark.slow
def test_compiled_engine_records_declared_signposts_identically(tmp_path: Path) -> None:
    path = tmp_path_file(tmp_path)
    a = steppe.run(path, engine="simpy", replications=300).indicators
    b = steppe.run(path, engine="compiled", replications=300).indicators
    assert a is not None and b is not None and "a_early" in a.columns
    assert a.equals(b)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "probability: occurred(a)\n    by",
            "probability: occurred(aa)\n    by",
            r"two.yaml:\d+:\d+: error: signposts\.a_early\.probability: .*unknown event 'aa' "
            r"\(did you mean 'a'\?\)",
        ),
        (
            "by: 2025-06-30",
            "by: 2030-06-30",
            r"two.yaml:\d+:\d+: error: signposts\.a_early\.by: date 2030-06-30 is outside the "
            r"scenario window \[2024-01-01, 2028-12-31\]",
        ),
        (
            "watch: the A news",
            "wach: the A news",
            r"signposts\.a_early\.wach: unknown key 'wach' \(did you mean 'watch'\?\)",
        ),
        (
            "    probability: occurred(a)\n    by: 2025-06-30\n",
            "    probability: occurred(a)\n",
            r"two.yaml:\d+:\d+: error: signposts\.a_early: missing required key 'by'",
        ),
    ],
)
def test_declared_signpost_errors_are_located(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in ANALYTIC
    path = tmp_path / "two.yaml"
    path.write_text(ANALYTIC.replace(old, new))
    with pytest.raises(ScenarioError, match=message):
        steppe.load(path)


def test_signposts_are_in_the_schema_and_leave_other_dumps_alone() -> None:
    result = CliRunner().invoke(main, ["schema"])
    schema = json.loads(result.stdout)
    props = schema["$defs"]["Scenario"]["properties"]
    assert "signposts" in props
    spec = schema["$defs"]["SignpostSpec"]
    assert set(spec["required"]) == {"probability", "by"}
    assert {"title", "watch", "source", "why"} <= set(spec["properties"])
    assert "signposts" in schema["$defs"]["Variant"]["properties"]
    validator = jsonschema.Draft202012Validator(schema)
    doc = yaml.safe_load(ANALYTIC)
    doc["start"], doc["horizon"] = str(doc["start"]), str(doc["horizon"])
    doc["outcomes"]["b_by_2028"]["by"] = str(doc["outcomes"]["b_by_2028"]["by"])
    doc["signposts"]["a_early"]["by"] = "2025-06-30"
    assert list(validator.iter_errors(doc)) == []
    doc["signposts"]["a_early"]["wach"] = "typo"
    assert any("wach" in e.message for e in validator.iter_errors(doc))
    sc = steppe.loads(ANALYTIC.split("signposts:")[0])
    with warnings.catch_warnings():  # pydantic warns of its tagged unions as it dumps them
        warnings.simplefilter("ignore")
        # sweeps hash this dump: a scenario without signposts dumps as before
        assert "signposts" not in json.loads(sc.spec.model_dump_json())
        assert "signposts" in json.loads(steppe.loads(ANALYTIC).spec.model_dump_json())


def test_cli_prints_tables_and_the_watch_list(folder: Path) -> None:
    result = CliRunner().invoke(main, ["signposts", str(folder)])
    assert result.exit_code == 0, result.output
    assert "b_by_2028: P(B by 2028)" in result.output
    assert "What to watch:" in result.output
    assert "If a occurs by 2026-12-31" in result.output
    top = CliRunner().invoke(main, ["signposts", str(folder), "--top", "2"])
    assert top.exit_code == 0 and "the 2 best signposts" in top.output


def test_cli_outcome_filter_and_json(folder: Path) -> None:
    result = CliRunner().invoke(
        main, ["signposts", str(folder), "--outcome", "b_by_2028", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["replications"] == 4000 and data["dropped_trivial_indicators"] == 0
    rows = data["signposts"]
    assert rows and {r["outcome"] for r in rows} == {"b_by_2028"}
    assert {"if", "p_x", "p_y_given_x", "voi_brier", "voi_entropy", "flag"} <= set(rows[0])
    bad = CliRunner().invoke(main, ["signposts", str(folder), "--outcome", "b_by_2029"])
    assert bad.exit_code == 2
    assert "no outcome 'b_by_2029' (did you mean 'b_by_2028'?)" in bad.output


def test_cli_refuses_a_folder_without_indicators(folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in (".steppe", "summary.json", "manifest.json", "samples.parquet"):
        (copy / name).write_bytes((folder / name).read_bytes())
    result = CliRunner().invoke(main, ["signposts", str(copy)])
    assert result.exit_code == 2
    assert f"{copy / INDICATORS}: file is missing" in result.output
    with pytest.raises(ResultError, match="file is missing"):
        steppe.signposts(copy)


def test_report_has_a_what_to_watch_section(folder: Path, tmp_path: Path) -> None:
    md = (folder / "report.md").read_text(encoding="utf-8")
    section = md.split("## What to watch")[1].split("\n## ")[0]
    assert "1. If " in section and "| outcome Y | if X |" in section
    assert md.index("## Outcomes") < md.index("## What to watch") < md.index("## Figures")
    assert "What to watch" in (folder / "report.html").read_text(encoding="utf-8")
    # without indicators.parquet the report still builds, without the section
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in (".steppe", "summary.json", "manifest.json"):
        (copy / name).write_bytes((folder / name).read_bytes())
    result = CliRunner().invoke(main, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    assert "## What to watch" not in (copy / "report.md").read_text(encoding="utf-8")


def test_indicators_known_at_as_of_are_evidence_not_signposts(tmp_path: Path) -> None:
    res = steppe.run(tmp_path_file(tmp_path), engine="simpy", replications=300)
    later = replace(res, summary={**res.summary, "as_of": "2025-06-30"})
    dates = set(steppe.signposts(later).frame["date"])
    assert dates and min(dates) > "2025-06-30"  # the signpost a_early (by 2025-06-30) is out
    assert "2024-12-31" in set(steppe.signposts(res).frame["date"])
