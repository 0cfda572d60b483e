"""The JSON Schema of scenario files, as ``steppe schema`` prints it.

A scenario file is either a whole scenario (:class:`steppe.model.schema.ScenarioSpec`) or a
variant (a file with ``extends:``, merged onto its parent by :mod:`steppe.load.extends`).
The schema says which with ``if``/``then``/``else`` on the key ``extends``, so an editor
checks both kinds of file:

* a whole scenario against ``#/$defs/Scenario``, pydantic's schema of the spec;
* a variant against ``#/$defs/Variant``: its own ``name``, ``title`` and ``description``
  (required, as for the merged scenario), ``extends``, new entries under ``add:`` checked in
  full, and changes to existing entries checked only as far as a file can be checked
  without its parent (a change is a partial mapping, and ``null`` deletes), since the
  merged scenario is what the loader validates in full.

Either kind of file may have ``templates:`` (:mod:`steppe.load.templates`), which the
loader expands before validation; the schema checks each template's shape, and its entries
as entries of their sections (placeholders stand in text, which those schemas accept).
"""

from __future__ import annotations

from typing import Any

from steppe.load.extends import SECTIONS
from steppe.model.evidence_spec import EvidenceFileSpec
from steppe.model.schema import ScenarioSpec
from steppe.model.template_spec import TEMPLATE_SECTIONS, TemplatesSpec

__all__ = ["evidence_file_schema", "file_schema"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Keys of a variant whose value replaces the parent's as a whole (checked as in a scenario).
_REPLACED = (
    "steppe", "as_of", "sources", "start", "horizon", "step", "replications", "seed",
    "correlations", "precision",
)  # fmt: skip


def _changes(section: str) -> dict[str, Any]:
    """A variant's changes to the entries of ``section``: partial mappings, or ``null`` to
    delete; a parameter may also be replaced by a number."""
    change: dict[str, Any] = {"type": ["object", "null"]}
    if section == "parameters":
        change = {"type": ["object", "number", "null"]}
    description = (
        f"Changes to entries of the parent's {section}: a mapping merged key by key onto the "
        "entry (a distribution, or a parameter with value or expr, replaces it), or null to "
        "delete it."
    )
    if section not in ("outcomes", "signposts"):  # these two take new entries directly
        description += " New entries go under add:."
    return {"type": "object", "additionalProperties": change, "description": description}


def _templates(props: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The schema of ``templates:``; a template's entries are checked as entries of their
    section (placeholders stand in text, so the entry schemas hold as written)."""
    schema = TemplatesSpec.model_json_schema(by_alias=True)
    defs.update(schema.pop("$defs"))
    template = defs["TemplateSpec"]["properties"]
    for section in TEMPLATE_SECTIONS:
        template[section]["additionalProperties"] = props[section]["additionalProperties"]
        template[section]["description"] = (
            f"Entries of {section} to generate for each actor: names and text may hold "
            "{actor}, {actor.lower}, {actor.name}, {others}, {others.lower}, {others.name}."
        )
    return {
        **schema["properties"]["templates"],
        "description": "Entries written once and generated for each actor of a list "
        "(docs/scenario-format.md, 'Templates').",
    }


def file_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file: a scenario or a variant."""
    scenario = ScenarioSpec.model_json_schema(by_alias=True)
    defs: dict[str, Any] = scenario.pop("$defs")
    props = scenario["properties"]
    props["templates"] = _templates(props, defs)
    variant_props: dict[str, Any] = {
        "extends": {
            "type": "string",
            "minLength": 1,
            "title": "Extends",
            "description": "The scenario this file is a variant of: a path relative to this "
            "file's folder.",
        },
        **{key: props[key] for key in ("name", "title", "description")},
        **{key: props[key] for key in (*_REPLACED, "templates")},
        **{section: _changes(section) for section in (*SECTIONS, "outcomes", "signposts")},
        "evidence": {
            **props["evidence"],
            "description": "Evidence items appended after the parent's (null drops them).",
        },
        "add": {
            "type": "object",
            "title": "Add",
            "description": "New entries of the variant, by section.",
            "properties": {section: props[section] for section in SECTIONS},
            "additionalProperties": False,
        },
    }
    defs["Scenario"] = scenario
    defs["Variant"] = {
        "type": "object",
        "title": "Variant",
        "description": "A variant of another scenario (see docs/scenario-format.md, "
        "'Variants: extends'): merged onto its parent, then validated as one scenario.",
        "properties": variant_props,
        "required": ["extends", "name", "title", "description"],
        "additionalProperties": False,
    }
    return {
        "$schema": _DIALECT,
        "title": "steppe scenario file",
        "description": "A scenario, or a variant of one (a file with extends:).",
        "type": "object",
        "if": {"required": ["extends"]},
        "then": {"$ref": "#/$defs/Variant"},
        "else": {"$ref": "#/$defs/Scenario"},
        "$defs": defs,
    }


def evidence_file_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an evidence file (``steppe run --evidence FILE``)."""
    schema = EvidenceFileSpec.model_json_schema(by_alias=True)
    return {
        "$schema": _DIALECT,
        **schema,
        "title": "steppe evidence file",
        "description": "Evidence items appended after a scenario's (docs/files.md), and "
        "optionally a later as_of.",
    }
