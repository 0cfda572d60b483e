"""Invalid scenarios: every error says FILE:LINE:COL, the YAML path, and what is wrong."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import socket
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steppe
from conftest import GuardedFifo
from steppe.engines import ENGINES
from steppe.errors import (
    ExpressionError,
    LimitError,
    PathPart,
    ScenarioError,
    SimulationError,
    format_path,
)
from steppe.load import files

FILE = "f.yaml"

#: A small valid scenario; each test changes one thing in it.
BASE = """\
name: t
title: test scenario
start: 2024-01-01
horizon: 2030-12-31
actors:
  UZ: {name: Uzbekistan, attributes: {borders_afghanistan: true}}
parameters:
  base: 0.1
  contagion: {dist: uniform, low: 0, high: 2}
  fixed: {value: 0.3, source: guess}
events:
  kz_delists: {history: [2023-12-29]}
  uz_delists:
    hazard: base * (1 + contagion * occurred(kz_delists))
projects:
  rail:
    stages:
      - {name: build, duration: 2}
series:
  trade: {initial: 100, drift: 0.05, volatility: 0.1}
outcomes:
  p1: {probability: occurred(uz_delists), by: 2027-12-31}
  v1: {value: trade, at: 2027-12-31}
"""

#: The working example scenario (a copy of the smoke test used while building steppe).
SMOKE = (Path(__file__).parent / "data" / "smoke.yaml").read_text(encoding="utf-8")


def edit(old: str, new: str, text: str = BASE) -> str:
    """``text`` with the single occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def at(text: str, needle: str, nth: int = 0) -> str:
    """``FILE:LINE:COL`` of the ``nth`` occurrence of ``needle`` in ``text`` (1-based)."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{FILE}:{line}:{column}"


def at_in(text: str, new: str, needle: str) -> str:
    """``FILE:LINE:COL`` of ``needle`` inside the (first) occurrence of ``new`` in ``text``."""
    index = text.index(new) + new.index(needle)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{FILE}:{line}:{column}"


def error_of(text: str, cls: type[ScenarioError] = ScenarioError) -> ScenarioError:
    with pytest.raises(cls) as info:
        steppe.loads(text, file=FILE)
    return info.value


def test_the_base_and_smoke_scenarios_are_valid() -> None:
    assert steppe.loads(BASE, file=FILE).name == "t"
    assert steppe.loads(SMOKE, file=FILE).name == "smoke"


# ---------------------------------------------------------------------------------------
# Malformed YAML
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "name: t\ntitle: t\n  start: 2024-01-01\n",
            f"{FILE}:3:8",
            "malformed YAML: mapping values are not allowed here",
        ),
        (
            "name: t\ntitle: [a, b\nstart: 2024-01-01\n",
            f"{FILE}:3:6",
            "malformed YAML: while parsing a flow sequence expected ',' or ']', but got ':'",
        ),
        (
            "name: t\ntitle: t\nparameters:\n\tbase: 1\n",
            f"{FILE}:4:1",
            "malformed YAML: while scanning for the next token found character '\\t' that "
            "cannot start any token",
        ),
        (
            "name: 'unclosed\n",
            f"{FILE}:2:1",
            "malformed YAML: while scanning a quoted scalar found unexpected end of stream",
        ),
        ("- 1\n- 2\n", f"{FILE}:1:1", "expected a mapping at the top of the file, found list"),
        ("1: 2\n", f"{FILE}:1:1", "keys must be names, found 1"),
        ("--- a\n--- b\n", f"{FILE}:2:1", "malformed YAML: expected a single document in the "
                                          "stream but found another document"),
        # control characters: PyYAML's ReaderError escaped as a traceback (issue 13)
        ("name: a\x05\n", f"{FILE}:1:8", "malformed YAML: character U+0005 (a control "
         "character) is not allowed; YAML text may hold tabs, line breaks and printable "
         "characters only"),
        ("name: t\ntitle: t\x00\n", f"{FILE}:2:9", "malformed YAML: character U+0000 (a "
         "control character) is not allowed; YAML text may hold tabs, line breaks and "
         "printable characters only"),
        ("name: t\ntitle: 'a\x7fb'\n", f"{FILE}:2:10", "malformed YAML: character U+007F (a "
         "control character) is not allowed; YAML text may hold tabs, line breaks and "
         "printable characters only"),
        ("name: \ud800\n", f"{FILE}:1:7", "malformed YAML: character U+D800 (a lone "
         "surrogate) is not allowed; YAML text may hold tabs, line breaks and printable "
         "characters only"),
        # explicitly tagged scalars PyYAML cannot build (KeyError, AttributeError, IndexError)
        ("name: t\ntitle: !!bool maybe\n", f"{FILE}:2:8", "malformed YAML value: 'maybe' is "
         "not a valid bool"),
        ("name: t\ntitle: !!timestamp 2024\n", f"{FILE}:2:8", "malformed YAML value: '2024' "
         "is not a valid timestamp"),
        ("name: t\ntitle: !!float ''\n", f"{FILE}:2:8", "malformed YAML value: '' is not a "
         "valid float"),
    ],
)  # fmt: skip
def test_malformed_yaml_is_located(text: str, where: str, message: str) -> None:
    err = error_of(text)
    path = "title" if "YAML value" in message else "<document>"
    assert str(err) == f"{where}: error: {path}: {message}"


def test_a_control_character_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ctrl.yaml"
    path.write_bytes(b"name: a\x05\n")
    with pytest.raises(ScenarioError) as info:
        steppe.load(path)
    assert str(info.value).startswith(f"{path}:1:8: error: <document>: malformed YAML: ")


def test_empty_file() -> None:
    assert str(error_of("")) == f"{FILE}: error: <document>: the file is empty; expected a " + (
        "scenario mapping"
    )


def test_invalid_date_is_located() -> None:
    text = edit("start: 2024-01-01", "start: 2024-13-01")
    assert str(error_of(text)) == (
        f"{at(text, '2024-13-01')}: error: start: malformed YAML value: month must be in 1..12"
    )


def test_duplicate_keys() -> None:
    text = edit("  base: 0.1\n", "  base: 0.1\n  base: 0.2\n")
    assert str(error_of(text)) == (
        f"{at(text, 'base', 1)}: error: parameters.base: duplicate key 'base' (first at line 8)"
    )


def test_duplicate_top_level_keys() -> None:
    text = BASE + "title: again\n"
    assert str(error_of(text)) == (
        f"{at(text, 'title', 1)}: error: title: duplicate key 'title' (first at line 2)"
    )


def test_complex_keys_are_refused() -> None:
    text = edit("  base: 0.1\n", "  ? [a, b]\n  : 0.1\n")
    assert str(error_of(text)) == (
        f"{at(text, '[a, b]')}: error: parameters: mapping keys must be plain names, "
        "found a complex key"
    )


# ---------------------------------------------------------------------------------------
# Unknown keys, with did-you-mean, pointing at the key
# ---------------------------------------------------------------------------------------

TOP_KEYS = (
    "actors, as_of, correlations, description, events, evidence, horizon, name, outcomes, "
    "parameters, precision, projects, replications, seed, series, signposts, sources, start, "
    "step, steppe, title"
)


@pytest.mark.parametrize(
    ("old", "new", "key", "path", "message"),
    [
        ("horizon:", "horizn:", "horizn", "horizn",
         f"unknown key 'horizn' (did you mean 'horizon'?); allowed keys: {TOP_KEYS}"),
        ("outcomes:\n", "outcome:\n", "outcome:", "outcome",
         f"unknown key 'outcome' (did you mean 'outcomes'?); allowed keys: {TOP_KEYS}"),
        ("low: 0, high: 2", "low: 0, hihg: 2", "hihg", "parameters.contagion.hihg",
         "unknown key 'hihg' (did you mean 'high'?); allowed keys: ci90, dist, high, low, "
         "source, truncate, why"),
        ("{value: 0.3, source: guess}", "{value: 0.3, sorce: guess}", "sorce",
         "parameters.fixed.sorce",
         "unknown key 'sorce' (did you mean 'source'?); allowed keys: source, value, why"),
        ("    hazard: base", "    hazrd: base", "hazrd", "events.uz_delists.hazrd",
         "unknown key 'hazrd' (did you mean 'hazard'?); allowed keys: actor, duration, "
         "hazard, history, recurring, source, title, why"),
        ("{history: [2023-12-29]}", "{history: [2023-12-29], recuring: true}", "recuring",
         "events.kz_delists.recuring",
         "unknown key 'recuring' (did you mean 'recurring'?); allowed keys: actor, duration, "
         "hazard, history, recurring, source, title, why"),
        ("drift: 0.05", "drfit: 0.05", "drfit", "series.trade.drfit",
         "unknown key 'drfit' (did you mean 'drift'?); allowed keys: drift, floor, half_life, "
         "initial, jumps, kind, process, reverts_to, source, title, unit, volatility, why"),
        ("by: 2027-12-31}", "bye: 2027-12-31}", "bye", "outcomes.p1.bye",
         "unknown key 'bye' (did you mean 'by'?); allowed keys: by, probability, title, unit, "
         "why"),
        ("{value: trade, at: 2027-12-31}", "{value: trade, att: 2027-12-31}", "att:",
         "outcomes.v1.att",
         "unknown key 'att' (did you mean 'at'?); allowed keys: at, title, unit, value, why"),
        ("{name: build, duration: 2}", "{name: build, duraton: 2}", "duraton",
         "projects.rail.stages[0].duraton",
         "unknown key 'duraton' (did you mean 'duration'?); allowed keys: duration, name, "
         "source, why"),
        ("{name: Uzbekistan,", "{nme: Uzbekistan,", "nme", "actors.UZ.nme",
         "unknown key 'nme' (did you mean 'name'?); allowed keys: attributes, name, source, "
         "why"),
        ("{initial: 100,", "{initial: 100, zzz: 1,", "zzz", "series.trade.zzz",
         "unknown key 'zzz'; allowed keys: drift, floor, half_life, initial, jumps, kind, "
         "process, reverts_to, source, title, unit, volatility, why"),
    ],
)  # fmt: skip
def test_unknown_keys_point_at_the_key(
    old: str, new: str, key: str, path: str, message: str
) -> None:
    text = edit(old, new)
    err = error_of(text)
    assert str(err) == f"{at(text, key)}: error: {path}: {message}"


def test_unknown_distribution_with_did_you_mean() -> None:
    text = edit("{dist: uniform,", "{dist: unifrm,")
    assert str(error_of(text)) == (
        f"{at(text, 'unifrm')}: error: parameters.contagion.dist: unknown distribution "
        "'unifrm' (did you mean 'uniform'?); expected one of normal, lognormal, uniform, "
        "triangular, pert, beta, gamma, weibull, exponential, choice"
    )


# ---------------------------------------------------------------------------------------
# Wrong types
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "value", "path", "message"),
    [
        ("high: 2}", "high: two}", "two", "parameters.contagion.high",
         "Input should be a valid number, unable to parse string as a number; "
         "found 'two' (str)"),
        ("\nstart: 2024-01-01", "\nreplications: many\nstart: 2024-01-01", "many",
         "replications",
         "Input should be a valid integer, unable to parse string as an integer; "
         "found 'many' (str)"),
        ("\nstart: 2024-01-01", "\nreplications: 2.5\nstart: 2024-01-01", "2.5", "replications",
         "Input should be a valid integer, got a number with a fractional part; "
         "found 2.5 (float)"),
        ("start: 2024-01-01", "start: yesterday", "yesterday", "start",
         "expected a date written YYYY-MM-DD (e.g. 2030-12-31), found 'yesterday' (str): "
         "input is too short"),
        ("start: 2024-01-01", "start: 31/12/2023", "31/12/2023", "start",
         "expected a date written YYYY-MM-DD (e.g. 2030-12-31), found '31/12/2023' (str): "
         "invalid character in year"),
        ("events:\n  kz_delists: {history: [2023-12-29]}\n  uz_delists:\n"
         "    hazard: base * (1 + contagion * occurred(kz_delists))\n",
         "events:\n  - kz_delists\n", "- kz_delists", "events",
         "Input should be a valid dictionary; found a list"),
        ("base: 0.1", "base: [0.1, 0.2]", "[0.1", "parameters.base",
         "expected a number, {dist: NAME, ...}, {value: NUMBER} or {expr: FORMULA}; "
         "found a list"),
        ("base: 0.1", "base: {foo: 1, bar: 2}", "{foo", "parameters.base",
         "expected a number, {dist: NAME, ...}, {value: NUMBER} or {expr: FORMULA}; "
         "found a mapping with keys foo, bar"),
        ("base: 0.1", "base: {}", "{}", "parameters.base",
         "expected a number, {dist: NAME, ...}, {value: NUMBER} or {expr: FORMULA}; "
         "found an empty mapping"),
        ("base: 0.1", "base: abc", "abc", "parameters.base",
         "expected a number, {dist: NAME, ...}, {value: NUMBER} or {expr: FORMULA}; "
         "found 'abc' (str)"),
        ("stages:\n      - {name: build, duration: 2}", "stages: {name: build}", "{name: build}",
         "projects.rail.stages", "Input should be a valid list; found a mapping with keys name"),
        ("{value: trade, at: 2027-12-31}", "{value: trade, time_to: trade > 1}",
         "{value: trade, time_to", "outcomes.v1",
         "an outcome needs exactly one of the keys probability, value, time_to, combine or "
         "total; found a mapping with keys value, time_to"),
        ("name: t\n", "name: 't t'\n", "'t t'", "name",
         "String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'; found 't t' (str)"),
    ],
)  # fmt: skip
def test_wrong_types(old: str, new: str, value: str, path: str, message: str) -> None:
    text = edit(old, new)
    assert str(error_of(text)) == f"{at_in(text, new, value)}: error: {path}: {message}"


BOOL_MESSAGE = "expected a number, found the boolean true"


@pytest.mark.parametrize(
    ("old", "new", "value", "path", "message"),
    [
        # a bare boolean parameter is refused by the parameter discriminator
        ("base: 0.1", "base: true", "true", "parameters.base",
         "expected a number, {dist: NAME, ...}, {value: NUMBER} or {expr: FORMULA}; "
         "found True (bool)"),
        ("{value: 0.3,", "{value: true,", "true", "parameters.fixed.value", BOOL_MESSAGE),
        ("low: 0,", "low: true,", "true", "parameters.contagion.low", BOOL_MESSAGE),
        ("{value: 0.3, source: guess}", "{dist: normal, ci90: [true, 2]}", "[true",
         "parameters.fixed.ci90", "expected numbers, found a boolean in [true, 2]"),
        ("    hazard: base * (1 + contagion * occurred(kz_delists))", "    hazard: true",
         "true", "events.uz_delists.hazard", BOOL_MESSAGE),
        ("\nstart: 2024-01-01", "\nreplications: true\nstart: 2024-01-01", "true",
         "replications", BOOL_MESSAGE),
        ("\nstart: 2024-01-01", "\nseed: false\nstart: 2024-01-01", "false", "seed",
         "expected a number, found the boolean false"),
        ("volatility: 0.1}", "volatility: true}", "true", "series.trade.volatility",
         BOOL_MESSAGE),
        ("{name: build, duration: 2}", "{name: build, duration: true}", "true",
         "projects.rail.stages[0].duration", BOOL_MESSAGE),
    ],
)  # fmt: skip
def test_booleans_are_not_numbers(old: str, new: str, value: str, path: str, message: str) -> None:
    text = edit(old, new)
    assert str(error_of(text)) == f"{at_in(text, new, value)}: error: {path}: {message}"


def test_booleans_are_allowed_where_the_format_says_so() -> None:
    # actor attributes and ``recurring`` are booleans; expressions may say True/False
    text = edit("{history: [2023-12-29]}", "{history: [2023-12-29], recurring: false}")
    text = edit("occurred(uz_delists), by", "occurred(uz_delists) and True, by", text)
    assert steppe.loads(text).param("base").value == 0.1


def test_several_schema_errors_are_reported_in_one_pass() -> None:
    text = edit(
        "\nstart: 2024-01-01",
        "\nreplications: many\nseed: -1\nstep: fortnight\nstart: 2024-01-01",
    )
    err = error_of(text)
    assert [str(e) for e in err.all()] == [
        f"{at(text, 'many')}: error: replications: Input should be a valid integer, unable to "
        "parse string as an integer; found 'many' (str)",
        f"{at(text, '-1')}: error: seed: Input should be greater than or equal to 0; "
        "found -1 (int)",
        f"{at(text, 'fortnight')}: error: step: Input should be 'day', 'week', 'month', "
        "'quarter' or 'year'; found 'fortnight' (str)",
    ]


def test_missing_keys_are_all_listed() -> None:
    err = error_of("name: t\n")
    assert [str(e) for e in err.all()] == [
        f"{FILE}:1:1: error: <document>: missing required key '{k}'"
        for k in ("title", "start", "horizon", "outcomes")
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("t", "'t' is reserved (a keyword, a function or 't')"),
        ("exp", "'exp' is reserved (a keyword, a function or 't')"),
        ("lambda", "'lambda' is reserved (a keyword, a function or 't')"),
        ("2x", "'2x' is not a valid name: use a letter then letters, digits or '_' "
               "(at most 64 characters)"),
    ],
)  # fmt: skip
def test_bad_names(name: str, message: str) -> None:
    new = f"  base: 0.1\n  {name}: 1\n"
    text = edit("  base: 0.1\n", new)
    where = at_in(text, new, f"{name}: 1")  # the key itself
    assert str(error_of(text)) == f"{where}: error: parameters.{name}: {message}"


# ---------------------------------------------------------------------------------------
# Expressions in context
# ---------------------------------------------------------------------------------------

HAZARD = "    hazard: base * (1 + contagion * occurred(kz_delists))"


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("bse * 2", "unknown name 'bse' in a hazard (did you mean 'base'?)"),
        ("contagon", "unknown name 'contagon' in a hazard (did you mean 'contagion'?)"),
        ("kz_delists * 2",
         "'kz_delists' is an event: use occurred(kz_delists), count(kz_delists) or "
         "active(kz_delists)"),
        ("rail + 1", "'rail' is a project: use stage(rail), completed(rail) or cancelled(rail)"),
        ("exq(base)", "unknown function 'exq' (did you mean 'exp'?)"),
        ("log(base, 2)", "log() takes 1 argument(s), found 2 in 'log(base, 2)'"),
        ("min(base)", "min() takes at least 2 argument(s), found 1 in 'min(base)'"),
        ("occurred(kz_delist)",
         "occurred() expects event names, found unknown event 'kz_delist' "
         "(did you mean 'kz_delists'?)"),
        ("completed(uz_delists)",
         "completed() expects project names, and 'uz_delists' is an event; for an event use "
         "active(), all_occurred(), any_occurred(), count(), n_occurred(), occurred()"),
        ("UZ.borders", "unknown actor attribute 'UZ.borders' (did you mean "
                       "'UZ.borders_afghanistan'?)"),
        ("v1 + 1", "unknown name 'v1' in a hazard"),
        ("'9**9**9'", "'9**9**9' has a constant part that is not a finite number "
                      "(9.0 ** 387420489.0 overflows or is undefined)"),
        ("'log(-1)'", "'log(-1)' has a constant part that is not a finite number "
                      "(log(-1.0) overflows or is undefined)"),
        (".inf", "expected a finite number, found inf"),
        (".nan", "expected a finite number, found nan"),
        ("'(x := 1)'", "NamedExpr is not allowed in expressions, found 'x := 1'"),
    ],
)  # fmt: skip
def test_expression_errors_in_a_hazard(new: str, message: str) -> None:
    text = edit(HAZARD, f"    hazard: {new}")
    err = error_of(text, ExpressionError)
    assert str(err) == f"{at(text, new)}: error: events.uz_delists.hazard: {message}"


@pytest.mark.parametrize(
    ("old", "new", "value", "path", "message"),
    [
        ("base: 0.1", "base: {expr: trade}", "trade}", "parameters.base.expr",
         "unknown name 'trade' in a parameter formula (parameters and actor attributes only)"),
        ("base: 0.1", "base: {expr: t}", "t}", "parameters.base.expr",
         "unknown name 't' in a parameter formula (parameters and actor attributes only)"),
        ("base: 0.1", "base: {expr: occurred(uz_delists)}", "occurred", "parameters.base.expr",
         "occurred() cannot be used in a parameter formula (parameters and actor attributes "
         "only)"),
        ("{initial: 100,", "{initial: trade,", "trade,", "series.trade.initial",
         "unknown name 'trade' in an initial value (parameters only)"),
        ("{value: trade, at", "{value: trad, at", "trad,", "outcomes.v1.value",
         "unknown name 'trad' in outcome 'v1' (did you mean 'trade'?)"),
        ("{probability: occurred(uz_delists), by: 2027-12-31}", "{combine: v2}", "v2",
         "outcomes.p1.combine", "unknown name 'v2' in outcome 'p1'"),
        ("{probability: occurred(uz_delists), by: 2027-12-31}", "{combine: base > 1}", "base >",
         "outcomes.p1.combine", "unknown name 'base' in outcome 'p1'"),
    ],
)  # fmt: skip
def test_names_depend_on_the_context(
    old: str, new: str, value: str, path: str, message: str
) -> None:
    text = edit(old, new)
    err = error_of(text, ExpressionError)
    assert str(err) == f"{at_in(text, new, value)}: error: {path}: {message}"


def test_cycle_in_derived_parameters() -> None:
    text = edit("  base: 0.1\n", "  a: {expr: b}\n  b: {expr: a}\n  base: 0.1\n")
    assert str(error_of(text)) == (
        f"{at(text, '{expr: b}')}: error: parameters.a: cycle in parameter formulas: a -> b -> a"
    )


def test_longer_cycle_in_derived_parameters() -> None:
    text = edit("  base: 0.1\n", "  a: {expr: b + 1}\n  b: {expr: 2 * c}\n  c: {expr: a}\n")
    text = text.replace("hazard: base", "hazard: a")
    assert str(error_of(text)) == (
        f"{at(text, '{expr: b + 1}')}: error: parameters.a: cycle in parameter formulas: "
        "a -> b -> c -> a"
    )


def test_self_reference_is_a_cycle() -> None:
    text = edit("  base: 0.1\n", "  base: {expr: base + 1}\n")
    assert str(error_of(text)) == (
        f"{at(text, '{expr: base + 1}')}: error: parameters.base: cycle in parameter formulas: "
        "base -> base"
    )


def test_cycle_in_combine_outcomes() -> None:
    text = BASE + "  x: {combine: y and p1}\n  y: {combine: x}\n"
    assert str(error_of(text)) == (
        f"{at(text, '{combine: y')}: error: outcomes.x: cycle in outcome formulas: x -> y -> x"
    )


# ---------------------------------------------------------------------------------------
# Dates, names, references
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "value", "path"),
    [
        ("by: 2027-12-31", "by: 2031-01-01", "2031-01-01", "outcomes.p1.by"),
        ("by: 2027-12-31", "by: 2023-12-31", "2023-12-31", "outcomes.p1.by"),
        ("at: 2027-12-31", "at: 2035-06-30", "2035-06-30", "outcomes.v1.at"),
        ("at: 2027-12-31", "at: 2000-01-01", "2000-01-01", "outcomes.v1.at"),
    ],
)
def test_dates_outside_the_window(old: str, new: str, value: str, path: str) -> None:
    text = edit(old, new)
    assert str(error_of(text)) == (
        f"{at(text, value)}: error: {path}: date {value} is outside the scenario window "
        "[2024-01-01, 2030-12-31]"
    )


def test_dates_on_the_window_edges_are_allowed() -> None:
    text = edit("by: 2027-12-31", "by: 2024-01-01")
    text = edit("at: 2027-12-31", "at: 2030-12-31", text)
    assert steppe.loads(text).outcomes[0].date == dt.date(2024, 1, 1)


def test_combine_by_date_outside_the_window() -> None:
    text = BASE + "  both: {combine: p1 and v1 > 1, by: 2040-01-01}\n"
    assert str(error_of(text)) == (
        f"{at(text, '2040-01-01')}: error: outcomes.both.by: date 2040-01-01 is outside the "
        "scenario window [2024-01-01, 2030-12-31]"
    )


def test_history_after_start() -> None:
    text = edit("[2023-12-29]", "[2025-01-01]")
    assert str(error_of(text)) == (
        f"{at(text, '2025-01-01')}: error: events.kz_delists.history[0]: history date "
        "2025-01-01 is after the start (2024-01-01); history lists occurrences before the start"
    )


@pytest.mark.parametrize(
    ("horizon", "message"),
    [
        ("2020-12-31", "horizon (2020-12-31) must be after start (2024-01-01)"),
        ("2024-01-01", "horizon (2024-01-01) must be after start (2024-01-01)"),
        ("2300-01-01", "the window from start to horizon is longer than 200 years"),
    ],
)
def test_horizon_before_start_points_at_the_horizon(horizon: str, message: str) -> None:
    text = edit("horizon: 2030-12-31", f"horizon: {horizon}")
    where = at_in(text, f"horizon: {horizon}", horizon)
    assert str(error_of(text)) == f"{where}: error: horizon: {message}"


def test_same_name_in_two_sections() -> None:
    text = edit("  base: 0.1\n", "  base: 0.1\n  uz_delists: 0.2\n")
    where = at_in(text, "uz_delists:\n    hazard", "hazard")  # the event's mapping
    assert str(error_of(text)) == (
        f"{where}: error: events.uz_delists: name 'uz_delists' is "
        "already used in parameters; names must be unique across actors, parameters, events, "
        "projects and series"
    )


def test_same_name_for_a_series_and_an_event() -> None:
    text = edit("  trade: {", "  uz_delists: {")
    text = text.replace("value: trade", "value: uz_delists")
    assert str(error_of(text)) == (
        f"{at(text, '{initial')}: error: series.uz_delists: name 'uz_delists' is already used "
        "in events; names must be unique across actors, parameters, events, projects and series"
    )


def test_unknown_actor() -> None:
    text = edit("  uz_delists:\n", "  uz_delists:\n    actor: KZ\n")
    assert str(error_of(text)) == (
        f"{at(text, 'KZ')}: error: events.uz_delists.actor: unknown actor 'KZ'"
    )


def test_unknown_event_in_a_jump() -> None:
    text = edit("volatility: 0.1}", "volatility: 0.1, jumps: [{event: uz_delist, factor: 2}]}")
    assert str(error_of(text)) == (
        f"{at(text, 'uz_delist,')}: error: series.trade.jumps[0].event: unknown event "
        "'uz_delist' (did you mean 'uz_delists'?)"
    )


# ---------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------


def test_huge_file_is_refused_before_parsing() -> None:
    text = BASE + "description: '" + "x" * 2_000_001 + "'\n"
    err = error_of(text, LimitError)
    assert str(err) == (
        f"{FILE}: error: <document>: the file is {len(text):,} bytes; scenario files are "
        "limited to 2,000,000"
    )


def test_huge_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(BASE + "# " + "x" * 2_100_000 + "\n", encoding="utf-8")
    with pytest.raises(LimitError, match=re.escape("scenario files are limited to 2,000,000")):
        steppe.load(path)


def test_too_many_items() -> None:
    sources = "".join(f"  - {{id: s{i}, citation: x}}\n" for i in range(1001))
    text = BASE + "sources:\n" + sources
    err = error_of(text, LimitError)
    assert str(err) == (
        f"{at(text, '- {id: s0')}: error: sources: too many entries: found 1001, the limit is 1000"
    )


def test_too_many_parameters() -> None:
    params = "".join(f"  p{i}: 1\n" for i in range(1001))
    text = edit("parameters:\n", "parameters:\n" + params)
    err = error_of(text, LimitError)
    assert str(err) == (
        f"{at(text, 'p0: 1')}: error: parameters: too many entries: found 1004, the limit is 1000"
    )


def test_too_many_replications_is_a_limit_error() -> None:
    sc = steppe.loads(SMOKE, file=FILE)
    with pytest.raises(LimitError) as info:
        steppe.run(sc, replications=10_000_000_000, seed=1)
    assert str(info.value) == (
        "<scenario>: error: <document>: 10,000,000,000 replications are more than the limit "
        "of 1,000,000,000 per run"
    )


def test_keeping_too_many_samples_is_a_limit_error() -> None:
    sc = steppe.loads(SMOKE, file=FILE)
    with pytest.raises(LimitError) as info:
        steppe.run(sc, replications=100_000_000, seed=1, keep_samples=True)
    assert str(info.value) == (
        "<scenario>: error: <document>: keeping 100,000,000 replications x 7 outcomes of "
        "samples needs about 10.4 GiB; the limit is 4 GiB. Use fewer replications or do not "
        "keep every sample."
    )


def test_replications_in_the_file_are_bounded() -> None:
    text = edit("\nstart: 2024-01-01", "\nreplications: 10000000000\nstart: 2024-01-01")
    assert str(error_of(text)) == (
        f"{at(text, '10000000000')}: error: replications: Input should be less than or equal "
        "to 1000000000; found 10000000000 (int)"
    )


# ---------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------


def test_load_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(edit(HAZARD, "    hazard: bse"), encoding="utf-8")
    with pytest.raises(ExpressionError) as info:
        steppe.load(path)
    assert str(info.value) == (
        f"{path}:14:13: error: events.uz_delists.hazard: unknown name 'bse' in a hazard "
        "(did you mean 'base'?)"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        steppe.load(path)
    assert str(info.value) == (
        f"{path}: error: <document>: cannot read the file: No such file or directory"
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_before_reading(device: str) -> None:
    # /dev/zero was read whole (past 2 GB in seconds), /dev/urandom never ended (issue 13).
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    with pytest.raises(ScenarioError) as info:
        steppe.load(device)
    assert str(info.value) == (
        f"{device}: error: <document>: cannot read the file: expected a regular file, found a "
        "character device"
    )


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ScenarioError) as info:
        steppe.load(link)
    assert str(info.value) == (
        f"{link}: error: <document>: cannot read the file: expected a regular file, found a "
        "character device"
    )


def test_a_named_pipe_is_refused_without_opening_it(guarded_fifo: GuardedFifo) -> None:
    # open() on a pipe blocks until a writer appears: the loader hung (issue 13)
    with pytest.raises(ScenarioError) as info:
        steppe.load(guarded_fifo.path)
    assert str(info.value) == (
        f"{guarded_fifo.path}: error: <document>: cannot read the file: expected a regular "
        "file, found a named pipe (FIFO)"
    )
    assert not guarded_fifo.opened, "the loader opened the pipe (it must refuse it from a stat)"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(ScenarioError) as info:
        steppe.load(folder)
    assert str(info.value) == (
        f"{folder}: error: <document>: cannot read the file: expected a regular file, found a "
        "directory"
    )


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    if not hasattr(socket, "AF_UNIX") or len(str(path)) > 100:
        pytest.skip("no Unix sockets (or a path too long for one)")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(ScenarioError) as info:
            steppe.load(path)
    assert str(info.value) == (
        f"{path}: error: <document>: cannot read the file: expected a regular file, found a socket"
    )


def test_the_size_limit_counts_bytes_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "sparse.yaml"
    with open(path, "wb") as fh:
        fh.truncate(3 * 2**30)  # sparse: refused from its size, never read
    with pytest.raises(LimitError) as info:
        steppe.load(path)
    assert str(info.value) == (
        f"{path}: error: <document>: the file is 3,221,225,472 bytes; scenario files are "
        "limited to 2,000,000"
    )


def test_a_file_is_read_no_further_than_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file that grows after it was measured, or reports no size (as files in /proc do),
    # is read up to one byte past the limit, never to its end.
    path = tmp_path / "growing.yaml"
    path.write_bytes(b"#" * 5000)
    monkeypatch.setattr(files, "MAX_BYTES", 1000)
    real_fstat, real_read = os.fstat, os.read
    read: list[int] = []

    def fstat(fd: int) -> os.stat_result:
        st = real_fstat(fd)
        return os.stat_result((*st[:6], 0, *st[7:10]))  # st_size = 0

    def counting_read(fd: int, n: int) -> bytes:
        chunk = real_read(fd, n)
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(os, "fstat", fstat)
    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(LimitError) as info:
        steppe.load(path)
    assert str(info.value) == (
        f"{path}: error: <document>: the file is more than 1,000 bytes; scenario files are "
        "limited to 1,000"
    )
    assert sum(read) == 1001


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.replace("test scenario", "caf\xe9").encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        steppe.load(path)
    assert str(info.value) == (
        f"{path}: error: <document>: the file is not UTF-8 text (invalid continuation byte)"
    )


# ---------------------------------------------------------------------------------------
# Paths in messages
# ---------------------------------------------------------------------------------------


def test_a_colon_in_a_key_is_quoted_in_the_path() -> None:
    # FILE:LINE:COL: error: PATH: message must split unambiguously (issue 13)
    text = edit("  p1: {probability", '  "uz_by_:027:": {probability')
    where = at(text, '"uz_by_:027:"')
    assert str(error_of(text)) == (
        f"{where}: error: outcomes.\"uz_by_:027:\": 'uz_by_:027:' is not a valid name: use a "
        "letter then letters, digits or '_' (at most 64 characters)"
    )


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ((), "<document>"),
        (("events", "uz_delists", "hazard"), "events.uz_delists.hazard"),
        (("series", "x", "jumps", 0, "factor"), "series.x.jumps[0].factor"),
        (("actors", "UZ-2", "attributes"), "actors.UZ-2.attributes"),
        (("events", "uz_by_:027:", "hazard"), 'events."uz_by_:027:".hazard'),
        (("events", "a.b"), 'events."a.b"'),
        (("events", "a b"), 'events."a b"'),
        (("events", ""), 'events.""'),
        (("events", 'say "hi"\\'), 'events."say \\"hi\\"\\\\"'),
        (("events", "tab\there"), 'events."tab\\there"'),
        (("events", "Ташкент"), 'events."Ташкент"'),
        (("events", "[0]"), 'events."[0]"'),
    ],
)
def test_format_path_quotes_keys_that_are_not_plain(path: tuple[PathPart, ...], shown: str) -> None:
    assert format_path(path) == shown


# ---------------------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------------------


def test_override_of_an_unknown_parameter() -> None:
    sc = steppe.loads(BASE)
    with pytest.raises(ScenarioError) as info:
        steppe.run(sc, replications=5, overrides={"contagon": 1.0})
    assert str(info.value) == (
        "<scenario>: error: parameters.contagon: cannot set 'contagon': no such parameter "
        "(did you mean 'contagion'?)"
    )


@pytest.mark.parametrize("value", ["abc", True, None])
def test_override_with_a_non_number(value: object) -> None:
    sc = steppe.loads(BASE)
    with pytest.raises(ScenarioError) as info:
        steppe.run(sc, replications=5, overrides={"base": value})  # type: ignore[dict-item]
    assert str(info.value) == (
        f"<scenario>: error: parameters.base: cannot set 'base': expected a number, found {value!r}"
    )


def test_override_with_a_non_finite_number() -> None:
    sc = steppe.loads(BASE)
    with pytest.raises(ScenarioError) as info:
        steppe.run(sc, replications=5, overrides={"base": float("nan")})
    assert str(info.value) == (
        "<scenario>: error: parameters.base: cannot set 'base': expected a finite number, found nan"
    )


# ---------------------------------------------------------------------------------------
# Run-time errors: a hazard that is negative or NaN
# ---------------------------------------------------------------------------------------

RUN_ENGINES = sorted(ENGINES)


@pytest.mark.parametrize(
    ("hazard", "value", "when"),
    [
        ("-1", "-1.0", "t = 0.0000 years (2024-01-01)"),
        ("'log(-1 + 0*t)'", "nan", "t = 0.0000 years (2024-01-01)"),
        ("0.1 - t", "-0.06666666666666665", "t = 0.1667 years (2024-03-01)"),
    ],
)
def test_bad_hazard_fails_at_run_time_with_path_replication_and_time(
    hazard: str, value: str, when: str
) -> None:
    # A constant -1 is a valid expression; the hazard is checked when it is evaluated.
    text = edit(HAZARD, f"    hazard: {hazard}\n    recurring: true")
    sc = steppe.loads(text, file=FILE)
    with pytest.raises(SimulationError) as info:
        steppe.run(sc, replications=20, seed=1, engine="simpy")
    assert str(info.value) == (
        f"{at_in(text, f'hazard: {hazard}', hazard)}: error: events.uz_delists.hazard: "
        "the hazard (must be a finite "
        f"number >= 0) evaluated to {value} in replication 0 at {when}"
    )


@pytest.mark.parametrize("engine", RUN_ENGINES)
def test_bad_hazard_fails_in_every_engine(engine: str) -> None:
    text = edit(HAZARD, "    hazard: log(contagion - 1)")
    sc = steppe.loads(text, file=FILE)
    pattern = (
        re.escape(f"{at(text, 'log(contagion - 1)')}: error: events.uz_delists.hazard: ")
        + r".*replication \d+.*t = [0-9.]+ years \(\d{4}-\d\d-\d\d\)"
    )
    with pytest.raises(SimulationError, match=pattern):
        steppe.run(sc, replications=50, seed=1, engine=engine)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", RUN_ENGINES)
def test_series_that_overflows_is_a_located_error(engine: str) -> None:
    text = edit("drift: 0.05", "drift: 300000")
    sc = steppe.loads(text, file=FILE)
    with pytest.raises(SimulationError) as info:
        steppe.run(sc, replications=3, seed=1, engine=engine)  # type: ignore[arg-type]
    assert str(info.value).startswith(f"{at_in(text, 'trade: {', '{')}: error: series.trade: ")
    assert "the series (overflow) evaluated to inf in replication 0" in str(info.value)


@pytest.mark.parametrize("engine", RUN_ENGINES)
def test_runaway_hazard_is_stopped(engine: str) -> None:
    text = edit(HAZARD, "    hazard: 1000000000\n    recurring: true")
    sc = steppe.loads(text, file=FILE)
    with pytest.raises(SimulationError, match=r"replication 0 made more than 100,000 state"):
        steppe.run(sc, replications=2, seed=1, engine=engine)  # type: ignore[arg-type]


def test_derived_parameter_that_is_nan_fails_at_run_time() -> None:
    text = edit("  base: 0.1\n", "  base: {expr: log(contagion - 5)}\n")
    sc = steppe.loads(text, file=FILE)
    with pytest.raises(SimulationError) as info:
        steppe.run(sc, replications=5, seed=1)
    assert str(info.value) == (
        f"{at(text, '{expr: log')}: error: parameters.base: parameter 'base' is nan in "
        "replication 0; parameters must be finite numbers"
    )


# ---------------------------------------------------------------------------------------
# Property: random YAML documents raise ScenarioError or load
# ---------------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 1, 1)),
    st.sampled_from(["t", "uz_delists", "base", "occurred(uz_delists)", "1 / 0", "normal",
                     "dist", "expr", "value", "2024-01-01", "x if y else z", "__import__"]),
)  # fmt: skip
KEYS = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["name", "title", "start", "horizon", "parameters", "events", "outcomes",
                     "hazard", "dist", "expr", "value", "probability", "by", "series",
                     "initial", "jumps", "event", "factor", "projects", "stages", "duration"]),
)  # fmt: skip
DOCS = st.recursive(
    SCALARS,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(KEYS, kids, max_size=4)),
    max_leaves=20,
)


def _paths(data: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _replace(data: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in data.items()}
    assert isinstance(data, list)
    return [(_replace(v, rest, new) if i == head else v) for i, v in enumerate(data)]


def _load_or_scenario_error(text: str) -> None:
    try:
        steppe.loads(text, file=FILE)
    except ScenarioError as exc:
        assert str(exc).startswith(FILE)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=DOCS)
def test_property_random_documents_raise_only_scenario_errors(doc: object) -> None:
    _load_or_scenario_error(yaml.safe_dump(doc))


SMOKE_DATA = yaml.safe_load(SMOKE)
SMOKE_PATHS = _paths(SMOKE_DATA)[1:]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(SMOKE_PATHS), new=DOCS)
def test_property_mutated_scenarios_raise_only_scenario_errors(
    path: tuple[object, ...], new: object
) -> None:
    """One value of a valid scenario replaced by random data: refused cleanly, or valid."""
    _load_or_scenario_error(yaml.safe_dump(_replace(SMOKE_DATA, path, new)))


@pytest.mark.parametrize("engine", RUN_ENGINES)
def test_hazard_of_an_event_that_can_no_longer_occur_is_not_checked(engine: str) -> None:
    # After a one-shot event occurs it leaves the race (docs/engine.md §3), so its hazard
    # is not evaluated: a value that would be negative then is no error, in either engine.
    text = edit(HAZARD, "    hazard: 50 - 100 * occurred(uz_delists)")
    res = steppe.run(steppe.loads(text, file=FILE), replications=200, seed=1, engine=engine)  # type: ignore[arg-type]
    assert len(res.samples) == 200


# --- libyaml's composer gives what the pure-Python one gives -----------------------------

_UNICODE = (
    'title: "Ünïcødé — \u2018q\u2019"\n'
    "x: {a: 1e7, b: [1, 2, 'é', 😀]}\nz: 😀😀 yes\nw:\n  - é: 3\n"
)


@pytest.mark.parametrize(
    "text",
    [
        *(
            p.read_text(encoding="utf-8")
            for p in sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
        ),
        *(
            p.read_text(encoding="utf-8")
            for p in sorted((Path(__file__).parent.parent / "examples").glob("*.yaml"))
        ),
        _UNICODE,
        _UNICODE.encode("utf-8"),
    ],
)
def test_fast_composer_same_data_and_marks(
    text: str | bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document libyaml reads whole is composed by libyaml (several times faster); the
    data, the positions of values and of keys (multi-byte characters before them included)
    are those of PyYAML's pure-Python composer, which errors and limits still go through."""
    yamlsafe = importlib.import_module("steppe.load.yamlsafe")
    fast = yamlsafe.parse_yaml(text, file="f.yaml")
    monkeypatch.setattr(yamlsafe, "_prescan", lambda text, file: False)
    slow = yamlsafe.parse_yaml(text, file="f.yaml")
    assert fast.data == slow.data
    assert fast.marks == slow.marks
    assert fast.key_marks == slow.key_marks


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("active(rail)", "active() expects event names, and 'rail' is a project; for a project "
         "use cancelled(), completed(), stage()"),
        ("completed(kz_delists)", "completed() expects project names, and 'kz_delists' is an "
         "event; for an event use active(), all_occurred(), any_occurred(), count(), "
         "n_occurred(), occurred()"),
        ("count(trade)", "count() expects event names, and 'trade' is a series; a series is "
         "read by its name, e.g. trade > 0"),
    ],
)  # fmt: skip
def test_a_state_function_of_the_wrong_kind_says_what_to_use(expression: str, message: str) -> None:
    text = BASE.replace("probability: occurred(uz_delists)", f'probability: "{expression}"', 1)
    with pytest.raises(ScenarioError) as info:
        steppe.loads(text)
    assert message in str(info.value)
