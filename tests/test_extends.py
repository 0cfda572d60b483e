"""Scenario variants: ``extends:`` merge rules, located errors, checksums, shipped variants."""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
from pathlib import Path

import pytest

import steppe
from conftest import GuardedFifo
from steppe.errors import LimitError, ScenarioError
from steppe.load.extends import MAX_EXTENDS
from steppe.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]

PARENT = """\
name: parent
title: parent scenario
description: the parent
start: 2024-01-01
horizon: 2030-12-31
actors:
  UZ: {name: Uzbekistan, attributes: {engagement: 1.5}}
parameters:
  base: {value: 0.1, source: guess}
  contagion: {dist: uniform, low: 0, high: 2, why: peers}
  spare: {value: 0.2, why: unused}
events:
  uz_delists:
    title: Uzbekistan delists
    actor: UZ
    hazard: base * UZ.engagement
projects:
  rail:
    stages:
      - {name: prep, duration: 1}
      - {name: build, duration: 2}
outcomes:
  uz: {probability: occurred(uz_delists)}
  rail_done: {probability: completed(rail)}
"""

HEAD = """\
extends: parent.yaml
name: child
title: child scenario
description: the child
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _variant(tmp_path: Path, body: str, parent: str = PARENT) -> Path:
    _write(tmp_path, "parent.yaml", parent)
    return _write(tmp_path, "child.yaml", HEAD + textwrap.dedent(body))


def _load(tmp_path: Path, body: str) -> Scenario:
    return steppe.load(_variant(tmp_path, body))


def _error(tmp_path: Path, body: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, body)
    return info.value


# --- merge rules -----------------------------------------------------------------------


def test_without_changes_the_variant_equals_its_parent(tmp_path: Path) -> None:
    sc = _load(tmp_path, "")
    parent = steppe.load(tmp_path / "parent.yaml")
    assert sc.name == "child"
    for field in type(sc.spec).model_fields:
        if field not in {"name", "title", "description"}:
            assert getattr(sc.spec, field) == getattr(parent.spec, field), field


def test_mappings_merge_key_by_key(tmp_path: Path) -> None:
    sc = _load(tmp_path, "events: {uz_delists: {hazard: 2 * base}}\n")
    (event,) = sc.spec.events.values()
    assert event.hazard == "2 * base"
    assert event.title == "Uzbekistan delists"  # kept from the parent
    assert event.actor == "UZ"


def test_actor_attributes_merge(tmp_path: Path) -> None:
    sc = _load(tmp_path, "actors: {UZ: {attributes: {borders: true}}}\n")
    assert sc.spec.actors["UZ"].attributes == {"engagement": 1.5, "borders": True}


def test_a_distribution_replaces_the_parent_value_whole(tmp_path: Path) -> None:
    sc = _load(tmp_path, "parameters: {contagion: {dist: lognormal, ci90: [0.5, 3.0]}}\n")
    p = sc.param("contagion")
    assert p.dist is not None and p.dist.dist == "lognormal"
    assert p.why is None  # the parent's `why` went with the rest of the entry


def test_a_fixed_value_replaces_the_parent_parameter_whole(tmp_path: Path) -> None:
    sc = _load(tmp_path, "parameters: {contagion: {value: 1.0, why: fixed}}\n")
    p = sc.param("contagion")
    assert (p.dist, p.value, p.why) == (None, 1.0, "fixed")


def test_a_scalar_replaces(tmp_path: Path) -> None:
    sc = _load(tmp_path, "parameters: {base: 0.3}\nreplications: 7\n")
    assert sc.param("base").value == 0.3
    assert sc.spec.replications == 7


def test_lists_replace(tmp_path: Path) -> None:
    sc = _load(tmp_path, "projects: {rail: {stages: [{name: all, duration: 5}]}}\n")
    assert [s.name for s in sc.spec.projects["rail"].stages] == ["all"]


def test_null_deletes_a_key(tmp_path: Path) -> None:
    sc = _load(tmp_path, "outcomes: {rail_done: null}\nevents: {uz_delists: {title: null}}\n")
    assert [o.name for o in sc.outcomes] == ["uz"]
    assert sc.spec.events["uz_delists"].title is None


def test_null_deletes_an_entry(tmp_path: Path) -> None:
    sc = _load(tmp_path, "parameters: {spare: null}\n")
    assert "spare" not in {p.name for p in sc.params}


def test_add_creates_new_entries_and_outcomes_are_free(tmp_path: Path) -> None:
    sc = _load(
        tmp_path,
        """\
        add:
          parameters: {boost: {value: 2.0, why: new}}
        events: {uz_delists: {hazard: base * boost}}
        outcomes: {uz_again: {probability: occurred(uz_delists)}}
        """,
    )
    assert sc.param("boost").value == 2.0
    assert {o.name for o in sc.outcomes} == {"uz", "rail_done", "uz_again"}


def test_variants_chain(tmp_path: Path) -> None:
    _variant(tmp_path, "parameters: {base: 0.3}\n")
    grand = _write(
        tmp_path,
        "grand.yaml",
        "extends: child.yaml\nname: grand\ntitle: g\ndescription: g\nparameters: {spare: 0.5}\n",
    )
    sc = steppe.load(grand)
    assert (sc.param("base").value, sc.param("spare").value) == (0.3, 0.5)


# --- errors ----------------------------------------------------------------------------


def test_changing_a_missing_entry_suggests_and_points_at_add(tmp_path: Path) -> None:
    err = _error(tmp_path, "parameters:\n  contagon: 1.0\n")
    assert str(err) == (
        f"{tmp_path / 'child.yaml'}:6:3: error: parameters.contagon: 'contagon' is not in "
        "parent.yaml (did you mean 'contagion'?); to add a new entry use add:"
    )


def test_adding_an_existing_entry_is_refused(tmp_path: Path) -> None:
    err = _error(tmp_path, "add:\n  parameters: {base: 0.2}\n")
    assert (
        err.message == "'base' is already in parent.yaml; to change it, give it under parameters:"
    )
    assert err.path == ("add", "parameters", "base")


def test_add_accepts_only_the_five_sections(tmp_path: Path) -> None:
    err = _error(tmp_path, "add:\n  paramters: {x: 0.2}\n")
    assert err.message == (
        "unknown section 'paramters' (did you mean 'parameters'?); "
        "add: accepts parameters, events, series, projects, actors"
    )


def test_same_name_as_the_parent_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "parent.yaml", PARENT)
    child = _write(
        tmp_path, "child.yaml", "extends: parent.yaml\nname: parent\ntitle: x\ndescription: y\n"
    )
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert str(info.value) == (
        f"{child}:2:7: error: name: name 'parent' is the name of the scenario it extends "
        "(parent.yaml); a variant needs its own name"
    )


def test_a_variant_gives_its_own_description(tmp_path: Path) -> None:
    _write(tmp_path, "parent.yaml", PARENT)
    child = _write(tmp_path, "child.yaml", "extends: parent.yaml\nname: c\ntitle: x\n")
    with pytest.raises(
        ScenarioError,
        match=re.escape(
            "missing required key 'description': "
            "a variant gives its own name, title and description"
        ),
    ):
        steppe.load(child)


def test_a_cycle_is_refused_with_the_chain(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\ntitle: a\ndescription: a\n")
    _write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\ntitle: b\ndescription: b\n")
    with pytest.raises(ScenarioError) as info:
        steppe.load(tmp_path / "a.yaml")
    err = info.value
    assert err.message == "extends cycle: a.yaml -> b.yaml -> a.yaml"
    assert (err.file, err.line, err.column) == (str(tmp_path / "b.yaml"), 1, 10)


def test_a_self_reference_is_a_cycle(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "extends: a.yaml\nname: a\ntitle: a\ndescription: a\n")
    with pytest.raises(ScenarioError, match=re.escape("extends cycle: a.yaml -> a.yaml")):
        steppe.load(tmp_path / "a.yaml")


def test_the_chain_depth_is_limited(tmp_path: Path) -> None:
    _write(tmp_path, "f0.yaml", PARENT)
    for i in range(1, MAX_EXTENDS + 2):
        _write(
            tmp_path,
            f"f{i}.yaml",
            f"extends: f{i - 1}.yaml\nname: n{i}\ntitle: t\ndescription: d\n",
        )
    assert steppe.load(tmp_path / f"f{MAX_EXTENDS}.yaml").name == f"n{MAX_EXTENDS}"
    with pytest.raises(ScenarioError) as info:
        steppe.load(tmp_path / f"f{MAX_EXTENDS + 1}.yaml")
    chain = " -> ".join(f"f{i}.yaml" for i in range(MAX_EXTENDS + 1, -1, -1))
    assert info.value.message == f"extends chain is longer than {MAX_EXTENDS} files: {chain}"


def test_a_missing_parent_is_located_at_extends(tmp_path: Path) -> None:
    child = _write(tmp_path, "child.yaml", "extends: nowhere.yaml\nname: c\ntitle: x\n")
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert info.value.message.startswith("cannot read 'nowhere.yaml'")
    assert (info.value.file, info.value.line, info.value.column) == (str(child), 1, 10)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_parent_is_refused_before_reading(tmp_path: Path, device: str) -> None:
    # /dev/zero was read whole (past 2 GB in seconds), /dev/urandom never ended (issue 13)
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    child = _write(tmp_path, "child.yaml", f"extends: {device}\nname: c\ntitle: x\n")
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert str(info.value) == (
        f"{child}:1:10: error: extends: cannot read '{device}' ({device}): expected a regular "
        "file, found a character device"
    )


def test_a_named_pipe_as_parent_is_refused_without_opening_it(
    tmp_path: Path, guarded_fifo: GuardedFifo
) -> None:
    child = _write(tmp_path, "child.yaml", "extends: pipe.yaml\nname: c\ntitle: x\n")
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert str(info.value) == (
        f"{child}:1:10: error: extends: cannot read 'pipe.yaml' ({guarded_fifo.path}): expected "
        "a regular file, found a named pipe (FIFO)"
    )
    assert not guarded_fifo.opened, "the loader opened the pipe (it must refuse it from a stat)"


def test_a_directory_as_parent_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    child = _write(tmp_path, "child.yaml", "extends: sub\nname: c\ntitle: x\n")
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert str(info.value) == (
        f"{child}:1:10: error: extends: cannot read 'sub' ({tmp_path / 'sub'}): expected a "
        "regular file, found a directory"
    )


def test_a_parent_over_the_size_limit_is_refused_at_extends(tmp_path: Path) -> None:
    with open(tmp_path / "big.yaml", "wb") as fh:
        fh.truncate(3 * 2**30)  # sparse: refused from its size, never read
    child = _write(tmp_path, "child.yaml", "extends: big.yaml\nname: c\ntitle: x\n")
    with pytest.raises(LimitError) as info:
        steppe.load(child)
    assert str(info.value) == (
        f"{child}:1:10: error: extends: 'big.yaml' ({tmp_path / 'big.yaml'}) is 3,221,225,472 "
        "bytes; scenario files are limited to 2,000,000"
    )


def test_a_parent_with_a_control_character_is_located_in_the_parent(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_bytes(PARENT.replace("the parent", "the \x05").encode())
    child = _write(tmp_path, "child.yaml", HEAD)
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert str(info.value).startswith(
        f"{tmp_path / 'parent.yaml'}:3:18: error: <document>: malformed YAML: character U+0005"
    )


def test_extends_with_a_nul_character(tmp_path: Path) -> None:
    child = _write(tmp_path, "child.yaml", 'extends: "a\\0b"\nname: c\ntitle: x\n')
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert str(info.value) == (
        f"{child}:1:10: error: extends: expected the path of a scenario file; found "
        "'a\\x00b', which holds a NUL character"
    )


def test_extends_must_be_a_path(tmp_path: Path) -> None:
    child = _write(tmp_path, "child.yaml", "extends: [a]\nname: c\ntitle: x\n")
    with pytest.raises(ScenarioError, match=re.escape("found ['a']")):
        steppe.load(child)


# --- error locations -------------------------------------------------------------------


def test_a_schema_error_in_the_child_points_into_the_child(tmp_path: Path) -> None:
    err = _error(tmp_path, "events:\n  uz_delists:\n    hazzard: base\n")
    assert (err.file, err.line, err.column) == (str(tmp_path / "child.yaml"), 7, 5)
    assert err.path == ("events", "uz_delists", "hazzard")


def test_an_expression_error_in_the_child_points_into_the_child(tmp_path: Path) -> None:
    err = _error(tmp_path, "events:\n  uz_delists:\n    hazard: bse * 2\n")
    assert (err.file, err.line) == (str(tmp_path / "child.yaml"), 7)
    assert "did you mean 'base'?" in err.message


def test_an_error_in_an_inherited_value_points_into_the_parent(tmp_path: Path) -> None:
    # Deleting `base` breaks the parent's hazard, which still stands at parent.yaml:16.
    err = _error(tmp_path, "parameters: {base: null}\n")
    assert err.path == ("events", "uz_delists", "hazard")
    assert (err.file, err.line, err.column) == (str(tmp_path / "parent.yaml"), 16, 13)


def test_a_syntax_error_in_the_parent_names_the_parent(tmp_path: Path) -> None:
    _write(tmp_path, "parent.yaml", "name: [unclosed\n")
    child = _write(tmp_path, "child.yaml", HEAD)
    with pytest.raises(ScenarioError) as info:
        steppe.load(child)
    assert info.value.file == str(tmp_path / "parent.yaml")


# --- checksum --------------------------------------------------------------------------


def test_sha256_covers_the_child_and_its_parents(tmp_path: Path) -> None:
    child = _variant(tmp_path, "")
    parent = tmp_path / "parent.yaml"
    expected = hashlib.sha256(child.read_bytes() + parent.read_bytes()).hexdigest()
    first = steppe.load(child).sha256
    assert first == expected
    parent.write_text(PARENT + "replications: 5\n", encoding="utf-8")
    assert steppe.load(child).sha256 != first


def test_a_file_without_extends_keeps_its_plain_sha256() -> None:
    path = ROOT / "scenarios" / "baseline.yaml"
    assert steppe.load(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


# --- shipped variants ------------------------------------------------------------------

#: Each shipped variant and the parameters (or other values) it says it changes.
CHANGES = {
    "neighbors_follow.yaml": ["delist_base", "contagion", "border_penalty"],
    "security_reversal.yaml": ["shock_rate", "shock_dampener", "shock_trade_drag"],
    "connectivity_boom.yaml": [
        "rail_cancel_base",
        "tapi_cancel_base",
        "casa_cancel_base",
        "kz_growth_share",
        "uz_trade_growth",
    ],
    "great_power_push.yaml": ["power_recog_rate", "ru_delist_rate"],
    "astana_facilitator.yaml": ["ca_recog_base", "ca_recog_delist_boost"],
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_shipped_variant_changes_what_it_says(name: str) -> None:
    base = steppe.load(ROOT / "scenarios" / "baseline.yaml")
    sc = steppe.load(ROOT / "scenarios" / name)
    assert sc.name != base.name
    changed = {p.name for p in sc.params if p != base.param(p.name)}
    assert changed == set(CHANGES[name])
    assert {p.name for p in sc.params} == {p.name for p in base.params}


def test_security_reversal_lengthens_shocks() -> None:
    base = steppe.load(ROOT / "scenarios" / "baseline.yaml").spec.events["shock"]
    sc = steppe.load(ROOT / "scenarios" / "security_reversal.yaml").spec.events["shock"]
    assert sc.hazard == base.hazard
    assert sc.duration != base.duration


def test_connectivity_boom_shortens_the_railway() -> None:
    base = steppe.load(ROOT / "scenarios" / "baseline.yaml").spec.projects["railway"]
    sc = steppe.load(ROOT / "scenarios" / "connectivity_boom.yaml").spec.projects["railway"]
    assert [s.name for s in sc.stages] == [s.name for s in base.stages]
    assert sc.stages[0].duration != base.stages[0].duration
    assert sc.title == base.title
