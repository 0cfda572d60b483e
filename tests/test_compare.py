"""``steppe compare``: paired intervals under common random numbers, semantic diffs, refusals."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

import steppe
from steppe.analysis.semantic_diff import diff_specs
from steppe.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
REVERSAL = ROOT / "scenarios" / "security_reversal.yaml"
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"

#: A variant of the smoke scenario: a higher delisting base rate, a new parameter.
SMOKE_VARIANT = """
extends: smoke.yaml
name: smoke_fast
title: faster delisting
description: the smoke scenario with a higher base rate
parameters:
  base: {dist: lognormal, ci90: [0.1, 0.6]}
add:
  parameters:
    unused: {value: 1.0, why: test}
"""


@pytest.fixture
def smoke_pair(tmp_path: Path) -> tuple[Path, Path]:
    a = tmp_path / "smoke.yaml"
    shutil.copy(SMOKE, a)
    b = tmp_path / "smoke_fast.yaml"
    b.write_text(SMOKE_VARIANT, encoding="utf-8")
    return a, b


def test_crn_interval_is_narrower_than_independent_runs() -> None:
    # kz_trade_2030 (the mean of Kazakh trade at the horizon) is driven by parameters the two
    # scenarios share: kz_growth_share, af_market_capacity, kz_trade_initial ... . Under CRN
    # replication i of both scenarios draws the same values of them (per-name streams), so
    # the two trade values are strongly positively correlated and
    #   Var(B - A) = Var(A) + Var(B) - 2 Cov(A, B)
    # is much smaller than Var(A) + Var(B), the variance of a difference of independent runs
    # (security_reversal run with another seed). With 1,000 replications the paired s.e. is
    # itself estimated to a few per cent, far less than the gap between the two widths
    # (a factor of about 1.5 here), so the inequality does not hinge on the seed.
    kw = {"replications": 1000, "seed": 2024, "engine": "compiled"}  # both engines: same numbers
    crn = steppe.compare(BASELINE, REVERSAL, crn=True, **kw)  # type: ignore[arg-type]
    ind = steppe.compare(BASELINE, REVERSAL, crn=False, **kw)  # type: ignore[arg-type]
    assert crn.crn and not ind.crn
    (c,) = [o for o in crn.outcomes if o.outcome == "kz_trade_2030"]
    (i,) = [o for o in ind.outcomes if o.outcome == "kz_trade_2030"]
    dc, di = c.differences[1], i.differences[1]
    assert dc is not None and di is not None
    assert dc.paired and not di.paired
    width_crn = dc.ci95[1] - dc.ci95[0]
    width_ind = di.ci95[1] - di.ci95[0]
    assert width_crn < 0.8 * width_ind
    assert dc.beyond_noise  # the reversal lowers trade: far beyond noise


def test_a_scenario_compared_with_itself_differs_by_nothing() -> None:
    cmp = steppe.compare(SMOKE, SMOKE, replications=200, seed=3)
    assert cmp.scenarios == ("smoke", "smoke#2")
    for o in cmp.outcomes:
        d = o.differences[1]
        assert d is not None
        assert d.value == 0 and d.ci95 == (0.0, 0.0) and not d.beyond_noise
    assert cmp.changes[1] == ()


def test_independent_runs_of_one_scenario_are_mostly_within_noise() -> None:
    # Two independent runs of the same scenario: each 95% interval of the difference covers
    # the true difference 0 with probability about 0.95, so of the 7 outcomes we expect
    # about 0.35 flags; 3 or more has probability below 0.5% (binomial), and the seeds are
    # fixed.
    cmp = steppe.compare(SMOKE, SMOKE, replications=400, seed=8, crn=False)
    flags = [o.outcome for o in cmp.outcomes if o.differences[1].beyond_noise]  # type: ignore[union-attr]
    assert len(flags) <= 2, flags


def test_semantic_diff_of_security_reversal() -> None:
    changes = diff_specs(steppe.load(BASELINE).spec, steppe.load(REVERSAL).spec)
    got = {(c.section, c.name, c.kind) for c in changes}
    assert got == {
        ("parameters", "shock_rate", "changed"),
        ("parameters", "shock_dampener", "changed"),
        ("parameters", "shock_trade_drag", "changed"),
        ("events", "shock", "changed"),
    }
    (rate,) = [c for c in changes if c.name == "shock_rate"]
    assert rate.fields[0] == (
        "distribution",
        "lognormal(ci90=[0.15, 0.8])",
        "lognormal(ci90=[0.4, 1.5])",
    )
    (shock,) = [c for c in changes if c.name == "shock"]
    assert ("duration.ci90", "[0.25, 1.5]", "[0.5, 2.5]") in shock.fields


def test_semantic_diff_lists_added_entries(smoke_pair: tuple[Path, Path]) -> None:
    a, b = smoke_pair
    changes = diff_specs(steppe.load(a).spec, steppe.load(b).spec)
    assert {(c.section, c.name, c.kind) for c in changes} == {
        ("parameters", "base", "changed"),
        ("parameters", "unused", "added"),
    }


def test_cli_compare_prints_the_table_and_writes_the_report(
    smoke_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = smoke_pair
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(a), str(b), "-n", "300", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "common random numbers: yes" in result.output
    assert "beyond noise" in result.output
    assert (
        "changed parameters.base: distribution: lognormal(ci90=[0.02, 0.2]) -> "
        "lognormal(ci90=[0.1, 0.6])" in result.output
    )
    assert "added parameters.unused" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        ".steppe",
        "comparison.json",
        "figures",
        "report.html",
        "report.md",
    ]
    doc = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert doc["crn"] is True and doc["scenarios"] == ["smoke", "smoke_fast"]
    uz = doc["outcomes"]["uz_by_2027"]
    assert uz["differences"]["smoke_fast"]["beyond_noise"] is True
    assert uz["differences"]["smoke_fast"]["paired"] is True
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"probabilities.png", "differences.png", "series_kz_trade.png", "events.png"} <= figures
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "**common random numbers:** yes" in md


def test_cli_compare_json(smoke_pair: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = smoke_pair
    result = CliRunner().invoke(
        main, ["compare", str(a), str(b), "-n", "100", "--json", "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["outcomes"]) == {
        "uz_by_2027",
        "uz_time",
        "trade_2027",
        "trade_3b",
        "shocks",
        "rail_done",
        "both",
    }
    assert doc["runs"][0]["seed"] == doc["runs"][1]["seed"] == 7


def test_result_folders_with_the_same_seed_are_paired(
    smoke_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    a, b = smoke_pair
    # One engine for all (auto could pick the compiled engine for a scenario whose kernel
    # some earlier test compiled, and the reference for the other).
    fa = steppe.run(a, replications=200, seed=4, engine="simpy").write(tmp_path / "a", report=False)
    fb = steppe.run(b, replications=200, seed=4, engine="simpy").write(tmp_path / "b", report=False)
    folders = steppe.compare(fa, fb)
    files = steppe.compare(a, b, replications=200, seed=4, engine="simpy")
    assert folders.crn and "paired" in folders.pairing
    for of, os_ in zip(folders.outcomes, files.outcomes, strict=True):
        assert of.differences[1] == os_.differences[1]
    # Another seed: independent intervals.
    fc = steppe.run(b, replications=200, seed=5).write(tmp_path / "c", report=False)
    other = steppe.compare(fa, fc)
    assert not other.crn and "independent" in other.pairing


def test_result_folders_compare_the_outcomes_they_ask_alike(
    smoke_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = smoke_pair
    fa = steppe.run(a, replications=20, seed=1).write(tmp_path / "a", report=False)
    text = a.read_text(encoding="utf-8").replace("  shocks: {value: count(shock)}\n", "")
    text = text.replace("by: 2027-12-31", "by: 2028-12-31")
    other = tmp_path / "other.yaml"
    other.write_text(text, encoding="utf-8")
    fb = steppe.run(other, replications=20, seed=1).write(tmp_path / "b", report=False)
    cmp = steppe.compare(fa, fb)
    notes = (
        "only in smoke: shocks",
        "uz_by_2027 is asked differently: probability at 2027-12-31 in smoke, "
        "probability at 2028-12-31 in smoke#2",
    )
    assert cmp.outcome_notes == notes
    everything = {o.name for o in steppe.load(a).outcomes}
    assert {o.outcome for o in cmp.outcomes} == everything - {"shocks", "uz_by_2027"}
    assert cmp.to_json()["outcomes_not_compared"] == list(notes)
    result = CliRunner().invoke(main, ["compare", str(fa), str(fb), "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())
    assert "Not compared (not asked alike by every input):" in printed
    assert "only in smoke: shocks" in printed
    report = (tmp_path / "c" / "report.md").read_text(encoding="utf-8")
    assert "Not compared (not asked alike by every input): only in smoke: shocks;" in report


def test_inputs_that_share_no_outcome_are_refused(
    smoke_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = smoke_pair
    fa = steppe.run(a, replications=20, seed=1).write(tmp_path / "a", report=False)
    text = a.read_text(encoding="utf-8").replace("horizon: 2030-12-31", "horizon: 2031-12-31")
    text = text.replace("by: 2027-12-31", "by: 2028-12-31").replace("at: 2027", "at: 2028")
    other = tmp_path / "other.yaml"
    other.write_text(text, encoding="utf-8")
    with pytest.raises(steppe.ComparisonError, match="no outcome is asked alike"):
        steppe.compare(a, other)
    fb = steppe.run(other, replications=20, seed=1).write(tmp_path / "b", report=False)
    result = CliRunner().invoke(main, ["compare", str(fa), str(fb), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2
    assert "cannot compare: no outcome is asked alike" in result.output
    assert not (tmp_path / "c").exists()


def test_a_mix_of_files_and_folders_is_refused(smoke_pair: tuple[Path, Path]) -> None:
    a, b = smoke_pair
    with pytest.raises(steppe.ComparisonError, match="not a mix"):
        steppe.compare(a, b.parent)
    with pytest.raises(steppe.ComparisonError, match="at least two inputs"):
        steppe.compare(a)


def test_a_narrow_terminal_gets_the_long_table_with_nothing_cut(
    smoke_pair: tuple[Path, Path],
) -> None:
    from steppe.analysis.cli import fitted_comparison_table
    from steppe.report.comparison import comparison_rows

    a, b = smoke_pair
    cmp = steppe.compare(a, b, a, replications=100, seed=2)  # three scenarios: 11 columns
    header, rows = comparison_rows(cmp)

    def render(width: int) -> list[str]:
        console = Console(width=width, file=io.StringIO(), color_system=None)
        console.print(fitted_comparison_table(cmp, console))
        return console.file.getvalue().splitlines()  # type: ignore[attr-defined]

    narrow = render(80)
    assert all(len(line) <= 80 for line in narrow)
    assert "…" not in "\n".join(narrow)
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in narrow if "│" in line]
    for row in rows:  # every estimate, difference and interval appears whole, in its row
        assert any(row[2] in c[1:2] for c in cells)
        for k in range(len(cmp.scenarios) - 1):
            shown = [row[3 + 4 * k], row[4 + 4 * k], row[5 + 4 * k], row[6 + 4 * k]]
            assert any(c[1:] == shown for c in cells), shown
    for name in cmp.scenarios:
        assert any(c[0] == name for c in cells)
    wide = render(400)  # room for the wide table: one row per statistic
    assert any(all(h in line for h in header[2:4]) for line in wide)
    assert len(wide) < len(narrow)


def test_a_scenario_and_its_update_on_evidence_compare_their_shared_outcomes(
    tmp_path: Path,
) -> None:
    # The updated scenario adds a near-term outcome and is conditioned on evidence: the
    # shared outcomes are compared with unpaired intervals (its particles are not paired
    # with the prior's replications), the added one is listed as not compared.
    prior = tmp_path / "smoke.yaml"
    shutil.copy(SMOKE, prior)
    updated = tmp_path / "updated.yaml"
    updated.write_text(
        "extends: smoke.yaml\nname: updated\ntitle: smoke, updated\n"
        "description: the smoke test as of 2025\nas_of: 2025-01-15\n"
        "outcomes:\n  uz_by_2025: {probability: occurred(uz_delists), by: 2025-12-31}\n"
        "evidence:\n  - {event: uz_delists, not_by: 2025-01-15, source: a test}\n",
        encoding="utf-8",
    )
    cmp = steppe.compare(prior, updated, replications=200, seed=3)
    assert not cmp.crn and "conditioned on evidence" in cmp.pairing
    assert cmp.outcome_notes == ("only in updated: uz_by_2025",)
    assert {o.outcome for o in cmp.outcomes} == {o.name for o in steppe.load(prior).outcomes}
    assert all(d is not None and not d.paired for o in cmp.outcomes for d in o.differences[1:])
    (uz,) = [o for o in cmp.outcomes if o.outcome == "uz_by_2027"]
    # Not delisted by 2025-01-15 can only lower P(delisted by 2027).
    assert uz.estimates[1].value < uz.estimates[0].value


CORRELATED = """\
name: corr
title: correlated parameters and a precision rule
start: 2025-01-01
horizon: 2028-01-01
parameters:
  a: {dist: uniform, low: 0.1, high: 1, why: test}
  b: {dist: lognormal, ci90: [0.2, 0.8], why: test}
  c: {dist: uniform, low: 0, high: 1, why: test}
events:
  e: {hazard: a, why: test}
  f: {hazard: "b * c", why: test}
outcomes:
  e_by: {probability: occurred(e)}
  f_by: {probability: occurred(f)}
"""


def _with(extra: str) -> steppe.Scenario:
    return steppe.loads(CORRELATED + extra)


def test_semantic_diff_lists_correlations_pair_by_pair() -> None:
    pairs = _with(
        "correlations:\n  - {between: [a, b], rank: 0.6}\n  - {between: [b, c], rank: -0.3}\n"
    )
    other = _with(
        "correlations:\n  - {between: [b, a], rank: 0.4}\n  - {between: [a, c], rank: 0.2}\n"
    )
    changes = diff_specs(pairs.spec, other.spec)
    assert [(c.section, c.name, c.kind, c.fields) for c in changes] == [
        ("correlations", "a ~ b", "changed", (("rank", "0.6", "0.4"),)),
        ("correlations", "b ~ c", "removed", (("rank", "-0.3", None),)),
        ("correlations", "a ~ c", "added", (("rank", None, "0.2"),)),
    ]
    none = _with("")
    assert {(c.name, c.kind) for c in diff_specs(none.spec, pairs.spec)} == {
        ("a ~ b", "added"),
        ("b ~ c", "added"),
    }


def test_semantic_diff_reads_a_matrix_as_its_pairs() -> None:
    """A matrix that says what the pairs say is no change; a repair is one."""
    pairs = _with(
        "correlations:\n  - {between: [a, b], rank: 0.6}\n  - {between: [b, c], rank: -0.3}\n"
    )
    matrix = _with(
        "correlations:\n  parameters: [a, b, c]\n"
        "  matrix: [[1, 0.6, 0], [0.6, 1, -0.3], [0, -0.3, 1]]\n"
    )
    assert diff_specs(pairs.spec, matrix.spec) == []
    repaired = _with(
        "correlations:\n  parameters: [a, b, c]\n"
        "  matrix: [[1, 0.6, 0], [0.6, 1, -0.3], [0, -0.3, 1]]\n  repair: nearest\n"
    )
    (change,) = diff_specs(matrix.spec, repaired.spec)
    assert change.section == "correlations" and change.name == "repair"
    assert change.fields == (("repair", "none", "nearest"),)


def test_semantic_diff_lists_the_precision_rule() -> None:
    number, mapping = _with("precision: 0.01\n"), _with("precision: {se: 0.01}\n")
    assert diff_specs(number.spec, mapping.spec) == []  # the same rule, written two ways
    named = _with("precision: {se: 0.02, outcomes: [e_by], first: 500}\n")
    (changed,) = diff_specs(number.spec, named.spec)
    assert (changed.section, changed.kind) == ("precision", "changed")
    assert changed.fields == (
        ("se", "0.01", "0.02"),
        ("outcomes", "every probability outcome", "e_by"),
        ("first", "1000", "500"),
    )
    (added,) = diff_specs(_with("").spec, number.spec)
    assert added.kind == "added" and ("se", None, "0.01") in added.fields
    (removed,) = diff_specs(named.spec, _with("").spec)
    assert removed.kind == "removed" and ("outcomes", "e_by", None) in removed.fields


def test_cli_compare_says_what_differs_in_correlations_and_precision(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(CORRELATED + "correlations:\n  - {between: [a, b], rank: 0.6, why: t}\n")
    b.write_text(CORRELATED.replace("name: corr", "name: corr_b") + "precision: 0.02\n")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        main, ["compare", str(a), str(b), "-n", "200", "--engine", "simpy", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "removed correlations.a ~ b: rank: 0.6 -> -" in result.output
    assert "added precision: se: - -> 0.02" in result.output
    md = (out / "report.md").read_text()
    assert "| corr_b | correlations | a ~ b | removed: rank | 0.6 | - |" in md
