"""Templates over actors (``templates:``, docs/scenario-format.md "Templates").

Expansion (names, placeholders, ``{others}``, overrides, inherited sources), errors located
at the template with the instance named, the interplay with ``extends:``, the JSON Schema,
``steppe validate --expand``, and the shipped scenarios: their templated text gives the same
scenario, and the same numbers, as the hand-written text it replaced (kept in
``tests/data/templates/``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import steppe
from steppe.cli import main
from steppe.errors import LimitError, ScenarioError
from steppe.load import templates
from steppe.load.provenance import provenance_gaps

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BEFORE = ROOT / "tests" / "data" / "templates"

HEAD = """\
steppe: 1
name: tpl
title: templates
start: 2024-01-01
horizon: 2030-12-31
replications: 200
seed: 7
actors:
  UZ: {name: Uzbekistan, attributes: {border: true, engagement: 1.5}, why: test}
  TJ: {name: Tajikistan, attributes: {border: true, engagement: 0.3}, why: test}
  KG: {name: Kyrgyzstan, attributes: {border: false, engagement: 1.0}, why: test}
parameters:
  base: {value: 0.2, why: test}
  penalty: {value: 0.5, why: test}
"""

TEMPLATE = """\
templates:
  - for_each: {actor: [UZ, TJ, KG]}
    events:
      "{actor.lower}_delists":
        title: "{actor.name} delists"
        actor: "{actor}"
        hazard: >-
          base * {actor}.engagement * (penalty if {actor}.border else 1)
          * (1 + n_occurred({others.lower}_delists))
    outcomes:
      "{actor.lower}_by_2030":
        title: "P({actor.name} delists by 2030)"
        probability: "occurred({actor.lower}_delists)"
"""

EXPLICIT = """\
outcomes:
  first:
    time_to: any_occurred(uz_delists, tj_delists, kg_delists)
"""

#: The scenario HEAD + TEMPLATE + EXPLICIT, written out by hand.
BY_HAND = """\
events:
  uz_delists:
    title: Uzbekistan delists
    actor: UZ
    hazard: base * UZ.engagement * (penalty if UZ.border else 1) * (1 + n_occurred(tj_delists, kg_delists))
  tj_delists:
    title: Tajikistan delists
    actor: TJ
    hazard: base * TJ.engagement * (penalty if TJ.border else 1) * (1 + n_occurred(uz_delists, kg_delists))
  kg_delists:
    title: Kyrgyzstan delists
    actor: KG
    hazard: base * KG.engagement * (penalty if KG.border else 1) * (1 + n_occurred(uz_delists, tj_delists))
outcomes:
  uz_by_2030: {title: P(Uzbekistan delists by 2030), probability: occurred(uz_delists)}
  tj_by_2030: {title: P(Tajikistan delists by 2030), probability: occurred(tj_delists)}
  kg_by_2030: {title: P(Kyrgyzstan delists by 2030), probability: occurred(kg_delists)}
  first:
    time_to: any_occurred(uz_delists, tj_delists, kg_delists)
"""  # noqa: E501 - a hazard on one line, as the folded template text gives it


def _load(text: str, tmp_path: Path | None = None, name: str = "tpl.yaml") -> steppe.Scenario:
    if tmp_path is None:
        return steppe.loads(text, file=name)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return steppe.load(path)


def _error(text: str, tmp_path: Path | None = None, name: str = "tpl.yaml") -> str:
    with pytest.raises(ScenarioError) as info:
        _load(text, tmp_path, name)
    return str(info.value)


def _file_error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        steppe.load(path)
    return str(info.value)


def _line(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line holding ``needle``."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[nth - 1]


# -- expansion ------------------------------------------------------------------------------


def test_a_template_gives_the_scenario_written_by_hand() -> None:
    templated = _load(HEAD + TEMPLATE + EXPLICIT)
    by_hand = _load(HEAD + BY_HAND)
    assert templated.spec == by_hand.spec
    # generated entries first, actor by actor, then the explicit ones
    assert list(templated.spec.events) == ["uz_delists", "tj_delists", "kg_delists"]
    assert list(templated.spec.outcomes) == ["uz_by_2030", "tj_by_2030", "kg_by_2030", "first"]


def test_others_repeats_its_word_for_each_other_actor() -> None:
    text = HEAD + TEMPLATE.replace(
        "* (1 + n_occurred({others.lower}_delists))",
        "* (1 + n_occurred({others.lower}_delists)) * max({others}.engagement, 1)",
    ).replace('title: "{actor.name} delists"', 'title: "{actor.name}, not {others.name}"')
    sc = _load(text + EXPLICIT)
    tj = sc.spec.events["tj_delists"]
    assert tj.hazard == (
        "base * TJ.engagement * (penalty if TJ.border else 1) "
        "* (1 + n_occurred(uz_delists, kg_delists)) * max(UZ.engagement, KG.engagement, 1)"
    )
    assert tj.title == "Tajikistan, not Uzbekistan, Kyrgyzstan"


# (not YAML 1.1's booleans ON, NO, YES, OFF, which a plain key would be read as)
_KEY = st.from_regex(r"[A-Z][A-Z0-9]{0,3}", fullmatch=True).filter(
    lambda k: k not in ("ON", "NO", "YES", "OFF")
)
_KEYS = st.lists(_KEY, min_size=2, max_size=8, unique=True)


@settings(max_examples=60, deadline=None)
@given(keys=_KEYS, suffix=st.from_regex(r"_[a-z0-9_]{0,8}", fullmatch=True))
def test_others_is_every_other_actor_in_order(keys: list[str], suffix: str) -> None:
    """Property: in each instance, ``f({others.lower}SUFFIX, {actor}.a)`` lists the other
    actors' words in for_each order, then the instance's own."""
    actors = "".join(f"  {k}: {{name: {k}}}\n" for k in keys)
    text = (
        HEAD.split("actors:\n")[0]
        + "actors:\n"
        + actors
        + "templates:\n  - for_each: {actor: ["
        + ", ".join(keys)
        + ']}\n    outcomes:\n      "o_{actor.lower}":\n'
        + f'        value: "1"\n        why: "f({{others.lower}}{suffix}, {{actor}}.a)"\n'
    )
    sc = _load(text)
    for k in keys:
        others = ", ".join(f"{o.lower()}{suffix}" for o in keys if o != k)
        assert sc.spec.outcomes[f"o_{k.lower()}"].why == f"f({others}, {k}.a)"


def test_double_braces_are_literal_braces() -> None:
    text = HEAD + TEMPLATE.replace('"{actor.name} delists"', '"{{{actor}}} delists"')
    assert _load(text + EXPLICIT).spec.events["kg_delists"].title == "{KG} delists"


def test_overrides_change_delete_and_leave_out_per_instance() -> None:
    text = (
        HEAD
        + TEMPLATE
        + """\
    overrides:
      TJ:
        events:
          tj_delists: {title: null, why: the most reluctant}
      KG:
        outcomes:
          kg_by_2030: null
"""
        + EXPLICIT
    )
    sc = _load(text)
    assert sc.spec.events["tj_delists"].title is None
    assert sc.spec.events["tj_delists"].why == "the most reluctant"
    assert sc.spec.events["uz_delists"].why is None
    assert list(sc.spec.outcomes) == ["uz_by_2030", "tj_by_2030", "first"]


def test_a_template_gives_its_source_and_why_to_entries_without_one(tmp_path: Path) -> None:
    text = HEAD + TEMPLATE.replace(
        "  - for_each: {actor: [UZ, TJ, KG]}\n",
        "  - for_each: {actor: [UZ, TJ, KG]}\n    why: one structure for all\n",
    ).replace('        actor: "{actor}"\n', '        actor: "{actor}"\n        why: own\n', 1)
    sc = _load(text + EXPLICIT)
    assert sc.spec.events["uz_delists"].why == "own"
    assert sc.spec.outcomes["kg_by_2030"].why == "one structure for all"
    # a source on the template, an override's why: the entry's own come first
    text = text.replace("    why: one structure for all\n", "    source: a quote\n")
    text = text.replace("        why: own\n", "")
    text += "    overrides:\n      KG: {events: {kg_delists: {why: its own}}}\n"
    sc = _load(text + EXPLICIT)
    kg, tj = sc.spec.events["kg_delists"], sc.spec.events["tj_delists"]
    assert (kg.source, kg.why, tj.source, tj.why) == (None, "its own", "a quote", None)
    assert sc.spec.outcomes["kg_by_2030"].why is None  # an outcome has no source to take


def test_template_parameters_and_series() -> None:
    text = (
        HEAD
        + """\
templates:
  - for_each: {actor: [UZ, KG]}
    parameters:
      "{actor.lower}_growth": {dist: uniform, low: 0.0, high: 0.1, why: test}
    series:
      "{actor.lower}_trade":
        initial: 100
        drift: "{actor.lower}_growth"
        why: test
    outcomes:
      "{actor.lower}_trade_2030": {value: "{actor.lower}_trade"}
"""
    )
    sc = _load(text)
    assert [p.name for p in sc.params] == ["uz_growth", "kg_growth", "base", "penalty"]
    assert list(sc.spec.series) == ["uz_trade", "kg_trade"]
    assert sc.spec.series["kg_trade"].drift == "kg_growth"


# -- errors ---------------------------------------------------------------------------------


def test_an_error_in_one_instance_points_at_the_template_and_names_it() -> None:
    # only UZ and TJ have the attribute `border`: the instance for KG fails
    head = HEAD.replace("{border: false, engagement: 1.0}", "{engagement: 1.0}")
    text = head + TEMPLATE + EXPLICIT
    line = _line(text, "hazard: >-")  # where the hazard's text starts
    assert _error(text) == (
        f"tpl.yaml:{line}:17: error: events.kg_delists.hazard: unknown actor attribute "
        "'KG.border' (did you mean 'UZ.border'?) (in the instance for KG of templates[0])"
    )


def test_a_schema_error_in_one_instance_names_it() -> None:
    text = HEAD + TEMPLATE.replace('actor: "{actor}"', 'actor: "{actor}"\n        recurring: maybe')
    line = _line(text, "recurring: maybe")
    assert _error(text + EXPLICIT) == (
        f"tpl.yaml:{line}:20: error: events.uz_delists.recurring: Input should be a valid "
        "boolean, unable to interpret input; found 'maybe' (str) "
        "(in the instance for UZ of templates[0])"
    )


def test_a_typo_in_for_each_gets_a_did_you_mean() -> None:
    text = HEAD + TEMPLATE.replace("for_each: {actor:", "for_each: {actors:") + EXPLICIT
    line = _line(text, "for_each")
    assert _error(text) == (
        f"tpl.yaml:{line}:16: error: templates[0].for_each.actors: unknown key 'actors' "
        "(did you mean 'actor'?); allowed keys: actor"
    )


def test_a_typo_in_a_template_key_gets_a_did_you_mean() -> None:
    text = HEAD + TEMPLATE.replace("    outcomes:", "    outcome:") + EXPLICIT
    line = _line(text, "    outcome:")
    assert _error(text) == (
        f"tpl.yaml:{line}:5: error: templates[0].outcome: unknown key 'outcome' "
        "(did you mean 'outcomes'?); allowed keys: events, for_each, outcomes, overrides, "
        "parameters, series, source, why"
    )


def test_an_unknown_actor_in_for_each() -> None:
    text = HEAD + TEMPLATE.replace("[UZ, TJ, KG]", "[UZ, TJ, KGZ]") + EXPLICIT
    line = _line(text, "for_each")
    assert _error(text) == (
        f"tpl.yaml:{line}:32: error: templates[0].for_each.actor[2]: unknown actor 'KGZ' "
        "(did you mean 'KG'?); for_each lists keys of actors:"
    )


def test_an_actor_listed_twice() -> None:
    text = HEAD + TEMPLATE.replace("[UZ, TJ, KG]", "[UZ, TJ, UZ]") + EXPLICIT
    assert "each actor may appear once, found repeated ['UZ']" in _error(text)


def test_an_unknown_placeholder_is_located_with_a_did_you_mean() -> None:
    text = HEAD + TEMPLATE.replace('"{actor.name} delists"', '"{actor.nmae} delists"') + EXPLICIT
    line = _line(text, "{actor.nmae}")
    assert _error(text) == (
        f'tpl.yaml:{line}:16: error: templates[0].events."{{actor.lower}}_delists".title: '
        "unknown placeholder '{actor.nmae}' (did you mean '{actor.name}'?); a template knows "
        "{actor}, {actor.lower}, {actor.name}, {others}, {others.lower}, {others.name}"
    )


def test_a_lone_brace_is_refused() -> None:
    text = HEAD + TEMPLATE.replace('"{actor.name} delists"', '"{actor.name delists"') + EXPLICIT
    assert "a lone '{' in '{actor.name delists'" in _error(text)


def test_a_name_without_a_placeholder_would_repeat() -> None:
    text = HEAD + TEMPLATE.replace('"{actor.lower}_by_2030"', "by_2030") + EXPLICIT
    line = _line(text, "by_2030:")
    assert _error(text) == (
        f"tpl.yaml:{line}:7: error: templates[0].outcomes.by_2030: the name 'by_2030' would be "
        "the same in every instance; put {actor} or {actor.lower} in it"
    )


def test_a_generated_name_given_explicitly_names_both_places() -> None:
    text = HEAD + TEMPLATE + EXPLICIT + "  tj_by_2030: {probability: occurred(tj_delists)}\n"
    gen = _line(text, '"{actor.lower}_by_2030"')
    own = _line(text, "  tj_by_2030:")
    assert _error(text) == (
        f'tpl.yaml:{gen}:7: error: templates[0].outcomes."{{actor.lower}}_by_2030": '
        "outcomes.tj_by_2030 is generated here (in the instance for TJ of templates[0]) and "
        f"also given at tpl.yaml:{own}:3; rename one, or change the generated entry under the "
        "template's overrides"
    )


def test_two_templates_generating_one_name() -> None:
    second = """\
  - for_each: {actor: [KG]}
    outcomes:
      "{actor.lower}_by_2030": {probability: "occurred({actor.lower}_delists)"}
"""
    text = HEAD + TEMPLATE + second + EXPLICIT
    first = _line(text, '"{actor.lower}_by_2030"')
    again = _line(text, '"{actor.lower}_by_2030"', 2)
    assert _error(text) == (
        f'tpl.yaml:{again}:7: error: templates[1].outcomes."{{actor.lower}}_by_2030": '
        f"outcomes.kg_by_2030 is generated twice: also at tpl.yaml:{first}:7 "
        "(in the instance for KG of templates[0])"
    )


def test_overrides_of_unknown_actors_or_names() -> None:
    base = HEAD + TEMPLATE
    text = base + "    overrides:\n      KZ: {events: {kz_delists: {why: x}}}\n" + EXPLICIT
    assert "'KZ' is not in this template's for_each; overrides are given by actor" in (_error(text))
    text = base + "    overrides:\n      KG: {events: {kg_delist: {why: x}}}\n" + EXPLICIT
    line = _line(text, "kg_delist:")
    assert _error(text) == (
        f"tpl.yaml:{line}:21: error: templates[0].overrides.KG.events.kg_delist: 'kg_delist' "
        "is not an entry this template generates in events for KG (did you mean "
        "'kg_delists'?); it generates kg_delists"
    )


def test_a_generated_number_without_a_source_is_reported_at_the_template(
    tmp_path: Path,
) -> None:
    text = HEAD + TEMPLATE.replace("base * {actor}", "0.3 * base * {actor}") + EXPLICIT
    path = tmp_path / "tpl.yaml"
    path.write_text(text, encoding="utf-8")
    gaps = [str(g) for g in provenance_gaps(path)]
    line = _line(text, "hazard: >-")
    assert len(gaps) == 3
    assert gaps[0] == (
        f"{path}:{line}:17: error: events.uz_delists.hazard: the number 0.3 without a "
        "source or why: add `source:` or `why:` here or to the entry, or make it a parameter "
        "(in the instance for UZ of templates[0])"
    )
    # a why on the template covers every instance
    covered = text.replace("KG]}\n", "KG]}\n    why: judgement\n", 1)
    path.write_text(covered, encoding="utf-8")
    assert provenance_gaps(path) == []


def _many_actors(n: int) -> str:
    actors = "".join(f"  A{i}: {{name: actor {i}}}\n" for i in range(n))
    return HEAD.split("actors:\n")[0] + "actors:\n" + actors + "parameters:\n  base: 0.1\n"


def test_templates_that_generate_too_many_entries_are_refused() -> None:
    actors = ", ".join(f"A{i}" for i in range(40))
    events = "".join(f'      "e{j}_{{actor}}": {{hazard: base}}\n' for j in range(26))
    text = _many_actors(40) + f"templates:\n  - for_each: {{actor: [{actors}]}}\n    events:\n"
    text += events + "outcomes:\n  x: {probability: occurred(e0_A0)}\n"
    with pytest.raises(LimitError) as info:
        _load(text)
    assert str(info.value) == (
        f"tpl.yaml:{_line(text, '    events:')}:5: error: templates[0].events: the templates "
        "generate more than 1,000 entries of events"
    )


def test_a_placeholder_may_not_expand_without_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    actors = ", ".join(f"A{i}" for i in range(40))
    word = "w" * 3000
    text = _many_actors(40) + f"templates:\n  - for_each: {{actor: [{actors}]}}\n    events:\n"
    text += f'      "e_{{actor}}": {{hazard: base, why: "{word}{{others}}"}}\n'
    text += "outcomes:\n  x: {probability: occurred(e_A0)}\n"
    with pytest.raises(LimitError, match="a placeholder expands to more than 100,000 characters"):
        _load(text)
    monkeypatch.setattr(templates, "MAX_TOTAL_TEXT", 50_000)
    with pytest.raises(LimitError, match="the templates expand to more than 50,000 characters"):
        _load(text.replace(word, "w" * 2000).replace("{others}", "{actor}"))


# -- extends ----------------------------------------------------------------------------------


def _family(tmp_path: Path, child: str) -> Path:
    (tmp_path / "parent.yaml").write_text(HEAD + TEMPLATE + EXPLICIT, encoding="utf-8")
    path = tmp_path / "child.yaml"
    path.write_text(
        "extends: parent.yaml\nname: child\ntitle: child\ndescription: a variant\n" + child,
        encoding="utf-8",
    )
    return path


def test_a_variant_changes_a_generated_entry_by_its_name(tmp_path: Path) -> None:
    path = _family(tmp_path, "events:\n  tj_delists: {hazard: base}\n")
    sc = steppe.load(path)
    assert sc.spec.events["tj_delists"].hazard == "base"
    assert sc.spec.events["tj_delists"].title == "Tajikistan delists"
    assert sc.spec.events["kg_delists"].hazard.startswith("base * KG.engagement")


def test_an_error_in_the_parents_instance_points_into_the_parent(tmp_path: Path) -> None:
    path = _family(tmp_path, "actors:\n  KG: {attributes: {border: null}}\n")
    parent = tmp_path / "parent.yaml"
    line = _line(parent.read_text(encoding="utf-8"), "hazard: >-")
    assert _file_error(path) == (
        f"{parent}:{line}:17: error: events.kg_delists.hazard: unknown actor attribute "
        "'KG.border' (did you mean 'UZ.border'?) (in the instance for KG of templates[0])"
    )


def test_a_variants_template_adds_entries_after_the_parents(tmp_path: Path) -> None:
    child = """\
templates:
  - for_each: {actor: [UZ, KG]}
    events:
      "{actor.lower}_recognizes": {actor: "{actor}", hazard: "base * {actor}.engagement"}
    outcomes:
      "{actor.lower}_recognizes_by_2030": {probability: "occurred({actor.lower}_recognizes)"}
add:
  events:
    later: {hazard: base}
outcomes:
  later_by_2030: {probability: occurred(later)}
"""
    sc = steppe.load(_family(tmp_path, child))
    assert list(sc.spec.events) == [
        "uz_delists", "tj_delists", "kg_delists", "uz_recognizes", "kg_recognizes", "later",
    ]  # fmt: skip
    assert list(sc.spec.outcomes)[-3:] == [
        "uz_recognizes_by_2030", "kg_recognizes_by_2030", "later_by_2030",
    ]  # fmt: skip


def test_a_variants_template_may_not_generate_a_parents_name(tmp_path: Path) -> None:
    child = """\
templates:
  - for_each: {actor: [UZ]}
    events:
      "{actor.lower}_delists": {hazard: base}
"""
    path = _family(tmp_path, child)
    parent_line = _line((tmp_path / "parent.yaml").read_text(), '"{actor.lower}_delists"')
    assert _file_error(path) == (
        f'{path}:8:7: error: templates[0].events."{{actor.lower}}_delists": events.uz_delists '
        "is generated here (in the instance for UZ of templates[0]) and also given at "
        f"{tmp_path / 'parent.yaml'}:{parent_line}:7; rename one, or change the generated "
        "entry under the template's overrides"
    )


# -- the JSON Schema and validate --expand ----------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    result = CliRunner().invoke(main, ["schema"])
    schema = json.loads(result.stdout)
    return jsonschema.Draft202012Validator(schema)


def test_the_schema_describes_templates(validator: jsonschema.protocols.Validator) -> None:
    defs = validator.schema["$defs"]
    assert defs["Scenario"]["properties"]["templates"]["items"] == {"$ref": "#/$defs/TemplateSpec"}
    assert "templates" in defs["Variant"]["properties"]
    template = defs["TemplateSpec"]["properties"]
    assert template["events"]["additionalProperties"] == {"$ref": "#/$defs/EventSpec"}
    doc = yaml.safe_load(HEAD + TEMPLATE + EXPLICIT)
    doc = json.loads(json.dumps(doc, default=str))
    assert list(validator.iter_errors(doc)) == []
    doc["templates"][0]["for_each"] = {"actors": ["UZ"]}
    assert list(validator.iter_errors(doc))
    doc["templates"][0]["for_each"] = {"actor": ["UZ"]}
    doc["templates"][0]["events"]["{actor.lower}_delists"]["hazzard"] = "1"
    assert list(validator.iter_errors(doc))


def test_validate_expand_prints_the_scenario_the_loader_validates(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", "--expand", str(SCENARIOS / "baseline.yaml")])
    assert result.exit_code == 0, result.output
    text, ok = result.stdout.rsplit("\n", 2)[0], result.stdout.splitlines()[-1]
    assert ok.endswith("baseline.yaml: ok")
    assert "templates" not in yaml.safe_load(text)
    assert "{actor" not in text
    expanded = _load(text + "\n", tmp_path, "expanded.yaml")
    assert expanded.spec == steppe.load(SCENARIOS / "baseline.yaml").spec


# -- the shipped scenarios --------------------------------------------------------------------


def test_the_templated_baseline_is_the_hand_written_one() -> None:
    before = steppe.load(BEFORE / "baseline_before.yaml")
    after = steppe.load(SCENARIOS / "baseline.yaml")
    assert after.spec == before.spec
    assert list(after.spec.outcomes) == list(before.spec.outcomes)
    # the generated events come first: only kz_delists (history, no hazard) moved
    assert list(after.spec.events) == [
        "uz_delists", "tj_delists", "tm_delists", "kg_delists",
        *[e for e in before.spec.events if not re.fullmatch("(uz|tj|tm|kg)_delists", e)],
    ]  # fmt: skip
    assert [p.name for p in after.params] == [p.name for p in before.params]


def test_the_templated_update_2025_is_the_hand_written_one() -> None:
    before = steppe.load(BEFORE / "update_2025_before.yaml")
    after = steppe.load(SCENARIOS / "update_2025.yaml")
    assert after.spec == before.spec
    assert list(after.spec.outcomes) == list(before.spec.outcomes)


VARIANTS = sorted(
    p for p in SCENARIOS.glob("*.yaml") if "extends: baseline.yaml" in p.read_text("utf-8")
)


@pytest.mark.parametrize("variant", VARIANTS, ids=[p.stem for p in VARIANTS])
def test_every_variant_is_unchanged(tmp_path: Path, variant: Path) -> None:
    """Each variant of the baseline, merged onto the hand-written baseline and onto the
    templated one, gives the same scenario."""
    shutil.copy(BEFORE / "baseline_before.yaml", tmp_path / "baseline.yaml")
    text = variant.read_text(encoding="utf-8")
    if variant.name == "update_2025.yaml":
        text = (BEFORE / "update_2025_before.yaml").read_text(encoding="utf-8")
        text = text.replace("extends: baseline_before.yaml", "extends: baseline.yaml")
    (tmp_path / variant.name).write_text(text, encoding="utf-8")
    assert steppe.load(variant).spec == steppe.load(tmp_path / variant.name).spec


def _numbers(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: summary[k] for k in ("outcomes", "assumptions", "traces")}


def test_the_baselines_numbers_are_unchanged() -> None:
    """Same seed, same results: the templated baseline's summary (outcomes, assumptions and
    traces) is identical to the hand-written one's (simpy, 60 replications; the compiled
    engine on 2000 replications was compared when the baseline was rewritten)."""
    kw: dict[str, Any] = {"replications": 60, "seed": 11, "engine": "simpy", "workers": 1}
    before = steppe.run(BEFORE / "baseline_before.yaml", **kw).summary
    after = steppe.run(SCENARIOS / "baseline.yaml", **kw).summary
    assert _numbers(after) == _numbers(before)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["simpy", "compiled"])
def test_a_templated_scenario_runs_as_its_hand_written_twin(engine: str) -> None:
    """On either engine, the templated scenario and the one written by hand give identical
    numbers (same seed): streams are keyed by the generated names."""
    kw: dict[str, Any] = {"replications": 400, "seed": 3, "engine": engine, "workers": 1}
    templated = steppe.run(_load(HEAD + TEMPLATE + EXPLICIT), **kw).summary
    by_hand = steppe.run(_load(HEAD + BY_HAND), **kw).summary
    assert _numbers(templated) == _numbers(by_hand)
    assert 0 < templated["outcomes"]["kg_by_2030"]["p"] < 1


def test_the_worked_example_in_the_docs_is_the_baselines_template() -> None:
    """docs/scenario-format.md, "Templates": the worked example, put in place of the
    baseline's template, gives the baseline; the error it shows is the one steppe prints."""
    doc = (ROOT / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    section = doc.split("## 20. Templates", 1)[1]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    example = next(b for b in blocks if b.startswith("templates:"))
    text = (SCENARIOS / "baseline.yaml").read_text(encoding="utf-8")
    start, end = text.index("\ntemplates:\n") + 1, text.index("\nevents:\n") + 1
    sc = _load(text[:start] + example + "\n" + text[end:], name="scenarios/baseline.yaml")
    assert sc.spec == steppe.load(SCENARIOS / "baseline.yaml").spec
    kg = "  KG:\n    name: Kyrgyzstan\n    attributes: {borders_afghanistan: false, "
    broken = text.replace(kg, "  KG:\n    name: Kyrgyzstan\n    attributes: {")
    assert broken != text
    shown = re.search(r"```\n(baseline.yaml:.*?)```", section, flags=re.S)
    assert shown is not None
    expected = " ".join(shown.group(1).split())
    assert _error(broken, name="baseline.yaml") == expected
