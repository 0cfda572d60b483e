"""Hostile scenario files: refused up front with a clear error, and nothing is executed.

No wall-clock assertions: "quickly" is guaranteed by construction (the size checks count nodes
before anything is built), and a regression would show up as a hanging or crashing test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import steppe
from steppe.errors import ExpressionError, LimitError, ScenarioError
from steppe.load import yamlsafe
from steppe.load.yamlsafe import MAX_DEPTH, MAX_NODES, parse_yaml

FILE = "evil.yaml"

VALID = """\
name: t
title: t
start: 2024-01-01
horizon: 2030-12-31
parameters:
  a: 0.1
events:
  e: {hazard: a}
outcomes:
  p: {probability: occurred(e)}
"""


def load(text: str) -> steppe.Scenario:
    return steppe.loads(text, file=FILE)


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Size checks run on libyaml's event stream when it is there, else while composing."""
    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML was built without libyaml")
    else:
        monkeypatch.setattr(yaml, "__with_libyaml__", False)
    return str(request.param)


# ---------------------------------------------------------------------------------------
# YAML tags that would build Python objects
# ---------------------------------------------------------------------------------------


def _refused_tag(tag: str) -> str:
    return (
        f"refused: could not determine a constructor for the tag 'tag:yaml.org,2002:{tag}' "
        "(only plain YAML data is allowed)"
    )


@pytest.mark.parametrize(
    ("payload", "tag"),
    [
        ("!!python/object/apply:os.system ['touch {marker}']", "python/object/apply:os.system"),
        ("!!python/object/new:os.system ['touch {marker}']", "python/object/new:os.system"),
        ("!!python/object/apply:subprocess.check_call [['touch', '{marker}']]",
         "python/object/apply:subprocess.check_call"),
        ("!!python/name:os.system", "python/name:os.system"),
        ("!!python/module:os", "python/module:os"),
        ("!!python/object:builtins.object {{}}", "python/object:builtins.object"),
        ("!!python/tuple [1, 2]", "python/tuple"),
    ],
)  # fmt: skip
def test_python_tags_are_refused_and_nothing_runs(payload: str, tag: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = VALID.replace("title: t", "title: " + payload.format(marker=marker))
    with pytest.raises(ScenarioError) as info:
        load(text)
    assert str(info.value) == f"{FILE}:2:8: error: <document>: {_refused_tag(tag)}"
    assert not marker.exists()


def test_python_tag_on_the_whole_document(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ScenarioError) as info:
        load(text)
    assert str(info.value) == (
        f"{FILE}:1:1: error: <document>: {_refused_tag('python/object/apply:os.system')}"
    )
    assert not marker.exists()


def test_python_tag_hidden_behind_an_alias(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = VALID + f"x: &bad !!python/object/apply:os.system ['touch {marker}']\ny: *bad\n"
    with pytest.raises(
        ScenarioError, match=re.escape(_refused_tag("python/object/apply:os.system"))
    ):
        load(text)
    assert not marker.exists()


def test_unknown_local_tags_are_refused() -> None:
    with pytest.raises(ScenarioError) as info:
        load(VALID.replace("title: t", "title: !include /etc/passwd"))
    assert str(info.value) == (
        f"{FILE}:2:8: error: <document>: refused: could not determine a constructor for the "
        "tag '!include' (only plain YAML data is allowed)"
    )


# ---------------------------------------------------------------------------------------
# Resource exhaustion in YAML
# ---------------------------------------------------------------------------------------


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_by_counting_nodes(yaml_backend: str) -> None:
    # 9**9 (387 million) strings once expanded: refused while counting, never constructed.
    text = billion_laughs()
    with pytest.raises(LimitError) as info:
        load(text)
    assert str(info.value) == (
        f"{FILE}:6:4: error: <document>: the document expands to more than {MAX_NODES:,} "
        "values (aliases included); refusing to read it"
    )


def test_a_moderate_alias_fan_out_is_also_counted() -> None:
    # Aliases are fine in moderation: 3 x 3 copies of a list expand to a few dozen values.
    lines = ["a: &a [1, 2]", "b: &b [*a, *a, *a]", "c: [*b, *b, *b]"]
    data = parse_yaml("\n".join(lines) + "\n", file=FILE).data
    assert data["c"] == [[[1, 2]] * 3] * 3


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [*a]\n",
        "a: &a\n  b: *a\n",
        "a: &a [1, [2, *a]]\n",
    ],
)
def test_recursive_alias_is_refused(text: str) -> None:
    with pytest.raises(LimitError) as info:
        load(text)
    assert str(info.value) == (
        f"{FILE}:1:4: error: <document>: the document contains a recursive alias"
    )


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", 4 + MAX_DEPTH),
        ("x: " + "[" * 10_000 + "\n", 4 + MAX_DEPTH),
        # the key ``a`` of the innermost allowed mapping is one level too deep
        ("x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n", 5 + 4 * (MAX_DEPTH - 1)),
        ("- " * 10_000 + "1\n", 1 + 2 * (MAX_DEPTH + 1)),
    ],
    ids=["closed-lists", "unclosed-lists", "mappings", "block-lists"],
)
def test_deeply_nested_yaml_is_refused(text: str, column: int, yaml_backend: str) -> None:
    with pytest.raises(LimitError) as info:
        load(text)
    assert str(info.value) == (
        f"{FILE}:1:{column}: error: <document>: the document is nested more than "
        f"{MAX_DEPTH} levels deep"
    )


def test_deep_block_nesting_is_refused(yaml_backend: str) -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "v\n"
    with pytest.raises(LimitError) as info:
        load(text)
    assert str(info.value) == (
        f"{FILE}:{MAX_DEPTH + 1}:{MAX_DEPTH + 1}: error: <document>: the document is nested "
        f"more than {MAX_DEPTH} levels deep"
    )


def test_nesting_up_to_the_limit_is_fine() -> None:
    text = "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert parse_yaml(text, file=FILE).data["x"] == eval_nested(MAX_DEPTH - 1)


def eval_nested(depth: int) -> list[object]:
    out: list[object] = []
    for _ in range(depth - 1):
        out = [out]
    return out


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
def test_a_2mb_file_of_tiny_values_is_refused_by_counting() -> None:
    # Refused from libyaml's event stream; composing a million values in pure Python would
    # take a minute (the pure-Python path is tested below with a lowered limit).
    text = "x: [" + ",".join(["1"] * 990_000) + "]\n"
    with pytest.raises(LimitError) as info:
        load(text)
    assert str(info.value) == (
        # values 1-3 are the document, the key x and the list: item MAX_NODES - 3 is too many
        f"{FILE}:1:{5 + 2 * (MAX_NODES - 3)}: error: <document>: the document expands to more "
        f"than {MAX_NODES:,} values (aliases included); refusing to read it"
    )


@pytest.mark.parametrize("limit", [1_000])
def test_too_many_values_are_refused_while_composing(
    limit: int, yaml_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlsafe, "MAX_NODES", limit)
    text = "x: [" + ", ".join(["1"] * (limit + 10)) + "]\n"
    with pytest.raises(LimitError) as info:
        load(text)
    assert str(info.value) == (
        f"{FILE}:1:{5 + 3 * (limit - 3)}: error: <document>: the document expands to more "
        f"than {limit:,} values (aliases included); refusing to read it"
    )


def test_huge_file_is_refused_before_parsing() -> None:
    text = "x: '" + "a" * 2_000_001 + "'\n"
    with pytest.raises(LimitError) as info:
        load(text)
    assert str(info.value) == (
        f"{FILE}: error: <document>: the file is {len(text):,} bytes; scenario files are "
        "limited to 2,000,000"
    )


# ---------------------------------------------------------------------------------------
# Expressions that would escape the sandbox or exhaust resources
# ---------------------------------------------------------------------------------------

PREFIX = f"{FILE}:8:15: error: events.e.hazard: "


def with_hazard(expr: str) -> str:
    quoted = "'" + expr.replace("'", "''") + "'"
    return VALID.replace("{hazard: a}", "{hazard: " + quoted + "}")


@pytest.mark.parametrize(
    ("expr", "cls", "message"),
    [
        ("__import__('os').system('x')", ExpressionError,
         "only named functions may be called, found \"__import__('os').system('x')\""),
        ("__import__('os')", ExpressionError, "unknown function '__import__'"),
        ("__builtins__", ExpressionError,
         "names starting with '_' are not allowed, found '__builtins__'"),
        ("().__class__.__bases__[0].__subclasses__()", ExpressionError,
         "only named functions may be called, found '().__class__.__bases__[0].__subclasses__()'"),
        ("a.__class__", ExpressionError,
         "attribute access is only allowed as ACTOR.attribute, found 'a.__class__'"),
        ("a.__class__.__mro__", ExpressionError,
         "attribute access is only allowed as ACTOR.attribute, found 'a.__class__.__mro__'"),
        ("getattr(a, 'x')", ExpressionError, "unknown function 'getattr'"),
        ("eval('1')", ExpressionError, "unknown function 'eval'"),
        ("open('/etc/passwd')", ExpressionError, "unknown function 'open'"),
        ("9**9**9", ExpressionError,
         "'9**9**9' has a constant part that is not a finite number "
         "(9.0 ** 387420489.0 overflows or is undefined)"),
        ("10**10**10**10", ExpressionError,
         "'10**10**10**10' has a constant part that is not a finite number "
         "(10.0 ** 10000000000.0 overflows or is undefined)"),
        ("a * 9**9**9", ExpressionError,
         "'a * 9**9**9' has a constant part that is not a finite number "
         "(9.0 ** 387420489.0 overflows or is undefined)"),
        ("1e999", ExpressionError, "number literal '1e309' is not finite"),
        ("a + 1e999", ExpressionError, "number literal '1e309' is not finite"),
        ("(" * 10_000 + "a" + ")" * 10_000, ExpressionError,
         "expression is 20001 characters long; the limit is 2000"),
        ("(" * 300 + "a" + ")" * 300, ExpressionError,
         "invalid expression syntax at column 201: too many nested parentheses in "
         + repr("(" * 300 + "a" + ")" * 300)),
        ("-" * 1999 + "a", ExpressionError, "expression has more than 400 parts; simplify it"),
        ("lambda: 1", ExpressionError, "Lambda is not allowed in expressions, found 'lambda: 1'"),
        ("(lambda: 1)()", ExpressionError,
         "only named functions may be called, found '(lambda: 1)()'"),
        ("[x for x in [1]]", ExpressionError,
         "ListComp is not allowed in expressions, found '[x for x in [1]]'"),
        ("sum(x for x in [1, 2])", ExpressionError, "unknown function 'sum'"),
        ("{x: 1 for x in a}", ExpressionError,
         "DictComp is not allowed in expressions, found '{x: 1 for x in a}'"),
        ("(x := 1)", ExpressionError, "NamedExpr is not allowed in expressions, found 'x := 1'"),
        ("f'{a}'", ExpressionError, "JoinedStr is not allowed in expressions, found \"f'{a}'\""),
        ("'a' * 10**9", ExpressionError, "only numbers are allowed as literals, found \"'a'\""),
        ("a if a else a.real", ExpressionError,
         "unknown actor attribute 'a.real'"),
        ("yield a", ExpressionError, "invalid expression syntax at column 1: invalid syntax "
                                     "in 'yield a'"),
        ("await a", ExpressionError, "Await is not allowed in expressions, found 'await a'"),
    ],
)  # fmt: skip
def test_malicious_expressions_are_refused(
    expr: str, cls: type[ScenarioError], message: str
) -> None:
    with pytest.raises(cls) as info:
        load(with_hazard(expr))
    assert str(info.value) == PREFIX + message


def test_expression_in_a_derived_parameter_is_checked_too(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    expr = f"__import__('os').system('touch {marker}')"
    text = VALID.replace("  a: 0.1", '  a: 0.1\n  b: {expr: "' + expr + '"}')
    with pytest.raises(ExpressionError, match=re.escape("only named functions may be called")):
        load(text)
    assert not marker.exists()


def test_names_of_builtins_are_just_unknown_names() -> None:
    with pytest.raises(ExpressionError) as info:
        load(with_hazard("print + os + sys"))
    assert str(info.value) == PREFIX + "unknown name 'print' in a hazard"
