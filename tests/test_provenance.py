"""``steppe validate --provenance``: every number carries a source or a why.

The shipped scenarios must pass (the project's own forecasting discipline); a sketch that
does not is reported number by number, located in the file that supplied each value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from steppe.cli import main
from steppe.errors import ScenarioError
from steppe.load.provenance import provenance_gaps

ROOT = Path(__file__).parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_every_shipped_scenario_gives_every_number_a_source() -> None:
    result = invoke("validate", "--provenance", *SCENARIOS)
    assert result.exit_code == 0, result.stderr
    assert [line.split(": ok")[0] for line in result.stdout.splitlines()] == [
        str(p) for p in SCENARIOS
    ]


def test_a_sketch_is_valid_but_its_numbers_are_reported_where_they_stand() -> None:
    assert invoke("validate", SMOKE).exit_code == 0  # provenance is asked for, not required
    result = invoke("validate", "--provenance", SMOKE)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    gaps = provenance_gaps(SMOKE)
    assert lines == [str(g) for g in gaps]
    where = {".".join(map(str, g.path)): (g.line, g.column) for g in gaps}
    # smoke.yaml: actors on lines 8-9, parameters on 11-15, the hazard on line 20 ...
    assert where["actors.KZ"] == (8, 7)
    assert where["parameters.shock_rate"] == (13, 15)  # a bare number
    assert where["parameters.dbl"] == (15, 8)  # a formula needs a why too
    assert where["events.uz_delists.hazard"] == (20, 13)
    assert where["series.kz_trade.initial"] == (35, 14)
    assert where["outcomes.trade_3b.time_to"] == (43, 23)  # the $3B threshold
    by_path = {".".join(map(str, g.path)): g.message for g in gaps}
    assert by_path["events.uz_delists.hazard"].startswith("the numbers 0.2, 0.3 without")
    # a distribution is reported once, with all its numbers, 1 included
    assert by_path["projects.railway.stages.0.duration"].startswith(
        "the numbers of this distribution 0.5, 1, 3 without"
    )
    # 0 and 1 in expressions are not numbers that need a source
    assert "outcomes.uz_time.time_to" not in by_path
    assert "events.shock.hazard" not in by_path  # names a parameter, no number


def test_a_source_on_the_entry_or_around_the_number_covers_it(tmp_path: Path) -> None:
    text = SMOKE.read_text(encoding="utf-8")
    text = text.replace(
        '    hazard: "base * (1 +',
        '    why: Borders halve the pace; shocks cut it to a fifth.\n    hazard: "base * (1 +',
    )
    text = text.replace(
        "{name: feasibility, duration: {dist: pert, min: 0.5, mode: 1, max: 3}}",
        "{name: feasibility, duration: {dist: pert, min: 0.5, mode: 1, max: 3, why: judgement}}",
    )
    text = text.replace("  trade_3b: {time_to: kz_trade >= 3000}", (
        "  trade_3b: {time_to: kz_trade >= 3000, why: the $3B target (Forbes.kz)}"
    ))  # fmt: skip
    path = tmp_path / "smoke.yaml"
    path.write_text(text, encoding="utf-8")
    paths = {".".join(map(str, g.path)) for g in provenance_gaps(path)}
    assert "events.uz_delists.hazard" not in paths
    assert "projects.railway.stages.0.duration" not in paths
    assert "outcomes.trade_3b.time_to" not in paths
    assert "projects.railway.stages.1.duration" in paths  # still without


VARIANT = """\
extends: baseline.yaml
name: sketchy
title: A variant
description: Changes numbers without saying why.
parameters:
  contagion: 0.5
  border_penalty: {ci90: [0.1, 0.5]}
  trade_volatility: {value: 0.2, why: Restated for the new value.}
events:
  uz_delists:
    hazard: "delist_base * 2"
add:
  parameters:
    extra: {value: 3.0}
"""


@pytest.fixture
def variant(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "scenarios" / "baseline.yaml", tmp_path / "baseline.yaml")
    path = tmp_path / "sketchy.yaml"
    path.write_text(VARIANT, encoding="utf-8")
    return path


def test_a_variant_that_changes_values_must_restate_their_source(variant: Path) -> None:
    gaps = provenance_gaps(variant)
    parent = str(variant.with_name("baseline.yaml"))
    found = {".".join(map(str, g.path)): g for g in gaps}
    assert set(found) == {
        "parameters.contagion",  # a bare number replaces the parent's parameter
        "parameters.border_penalty",  # merged key by key: the parent's why stays
        "parameters.extra",
        "events.uz_delists",  # the hazard changed, the source and why are the parent's
    }
    for name in ("parameters.border_penalty", "events.uz_delists"):
        g = found[name]
        assert g.file == str(variant)
        assert g.message.startswith("the values are changed here but the source or why")
        assert parent in g.message
    assert (found["parameters.contagion"].line, found["parameters.contagion"].column) == (6, 14)
    assert found["parameters.extra"].line == 14  # under add:, in the variant


def test_an_invalid_file_is_reported_as_invalid_not_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ntitle: t\nstart: 2024-01-01\nhorizon: 2030-12-31\nparameters: 5\n"
        "outcomes: {a: {probability: 1}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError):
        provenance_gaps(bad)
    result = invoke("validate", "--provenance", bad)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{bad}:5:13: error: parameters: ")
