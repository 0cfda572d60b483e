"""``steppe schema``: the JSON Schema that editors check scenario files against.

Every file steppe ships or tests with must pass it as written (variants included, with
their ``extends:`` and ``add:``), and files the loader refuses for their shape must fail it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from steppe.cli import main

ROOT = Path(__file__).parent.parent
FILES = sorted([*ROOT.glob("scenarios/*.yaml"), *(ROOT / "tests" / "data").glob("*.yaml")])
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"
Validator = jsonschema.Draft202012Validator


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    Validator.check_schema(schema)  # a valid draft 2020-12 schema
    return Validator(schema, format_checker=Validator.FORMAT_CHECKER)


def as_json(path: Path) -> Any:
    """The file as an editor's YAML plug-in hands it to the schema (dates as text)."""

    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, list):
            return [plain(v) for v in x]
        return x.isoformat() if isinstance(x, dt.date) else x

    return plain(yaml.safe_load(path.read_text(encoding="utf-8")))


def errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    return [e.message for e in validator.iter_errors(doc)]


def test_the_schema_describes_scenarios_and_variants(
    validator: jsonschema.protocols.Validator,
) -> None:
    schema = validator.schema
    scenario, variant = schema["$defs"]["Scenario"], schema["$defs"]["Variant"]
    assert {"name", "start", "horizon", "outcomes", "parameters"} <= set(scenario["properties"])
    assert set(scenario["required"]) >= {"name", "title", "start", "horizon", "outcomes"}
    assert set(variant["required"]) == {"extends", "name", "title", "description"}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_shipped_file_passes_as_written(
    validator: jsonschema.protocols.Validator, path: Path
) -> None:
    assert errors(validator, as_json(path)) == []


def test_variants_are_among_the_files_checked() -> None:
    assert sum("extends" in as_json(p) for p in FILES) >= 3


def test_a_scenario_missing_outcomes_or_with_a_stray_key_fails(
    validator: jsonschema.protocols.Validator,
) -> None:
    doc = as_json(SMOKE)
    assert errors(validator, doc) == []
    del doc["outcomes"]
    assert any("'outcomes' is a required property" in m for m in errors(validator, doc))
    doc = {**as_json(SMOKE), "horizn": "2030-12-31"}
    assert any("horizn" in m for m in errors(validator, doc))
    doc = {**as_json(SMOKE), "start": "January 2024"}
    assert any("is not a 'date'" in m for m in errors(validator, doc))


def test_a_variant_is_checked_as_far_as_it_can_be_without_its_parent(
    validator: jsonschema.protocols.Validator,
) -> None:
    variant = {
        "extends": "baseline.yaml",
        "name": "v",
        "title": "A variant",
        "description": "Changes one hazard.",
        "events": {"uz_delists": {"hazard": "delist_base * 2"}, "shock": None},
        "parameters": {"contagion": 0.5, "old": None},
        "add": {"parameters": {"boost": {"value": 2.0, "why": "new"}}},
    }
    assert errors(validator, variant) == []
    # what a variant must give
    missing = {k: v for k, v in variant.items() if k != "description"}
    assert any("'description' is a required property" in m for m in errors(validator, missing))
    # keys a file may not have
    assert errors(validator, {**variant, "extend": "x.yaml"})
    assert errors(validator, {**variant, "add": {"outcome": {}}})
    # entries under add: are whole entries, checked in full
    bad_new = {**variant, "add": {"parameters": {"boost": {"dist": "gaussian", "mean": 1}}}}
    assert errors(validator, bad_new)
    # values that replace the parent's are checked as in a scenario
    assert errors(validator, {**variant, "step": "fortnight"})
    assert errors(validator, {**variant, "events": {"uz_delists": "often"}})
