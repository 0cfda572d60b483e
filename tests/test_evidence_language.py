"""The evidence language: ``evidence:`` items, evidence files, variants, checks, schema.

Every item kind becomes its observation class (``steppe.model.observations``); every
static check is a located error (file, line, column, YAML path); evidence the model gives
probability zero is refused with its reason traced to the scenario.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import pickle
import re
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steppe
from steppe.cli import main
from steppe.errors import ScenarioError
from steppe.load import loads
from steppe.model.observations import (
    EventCount,
    EventNotBy,
    EventOccurred,
    EventTimes,
    SeriesObserved,
    StageReached,
)

DATA = Path(__file__).parent / "data" / "evidence" / "language"
BASE = DATA / "base.yaml"
D = dt.date

#: The base scenario without its evidence section: cases append their own.
HEAD = BASE.read_text(encoding="utf-8").split("evidence:\n")[0]


def with_items(items: str, *, head: str = HEAD) -> Any:
    """Load the base scenario with ``items`` (YAML list text) as its evidence."""
    text = head + "evidence:\n" + textwrap.indent(textwrap.dedent(items), "  ")
    return loads(text, file=str(DATA / "case.yaml"))


def line_of(items: str, needle: str) -> int:
    """The line of the case file on which ``needle`` first appears in ``items``."""
    lines = textwrap.dedent(items).splitlines()
    index = next(i for i, line in enumerate(lines) if needle in line)
    return HEAD.count("\n") + 2 + index


# --- each kind of item ------------------------------------------------------------------


def test_each_item_kind_becomes_its_observation() -> None:
    sc = with_items(
        """
        - {event: kg_delists, occurred: 2024-09-06, source: a}
        - {event: uz_delists, occurred: [2024-03-01, 2024-03-31], source: b}
        - {event: border_clash, on: [2024-07-19, 2024-03-02],
           between: [2024-01-01, 2025-01-01], source: c}
        - {event: border_clash, count: 0, between: [2025-01-01, 2025-01-15], source: d}
        - {project: tapi, stage: completed, not_reached_by: 2025-01-15, source: e}
        - {project: tapi, stage: preparation, reached_by: 2024-02-01, source: f}
        - {series: kz_trade, at: 2024-07-01, value: 700, sigma: 0.1, source: g}
        - {series: uz_trade, total: [2024-01-01, 2024-07-01], at_least: 400, at_most: 500,
           source: h}
        """
    )
    assert set(sc.evidence) == {
        EventOccurred("kg_delists", D(2024, 9, 6), D(2024, 9, 6), item=0, source="a"),
        EventOccurred("uz_delists", D(2024, 3, 1), D(2024, 3, 31), item=1, source="b"),
        EventTimes(
            "border_clash",
            (D(2024, 3, 2), D(2024, 7, 19)),
            D(2024, 1, 1),
            D(2025, 1, 1),
            item=2,
            source="c",
        ),
        EventCount("border_clash", 0, D(2025, 1, 1), D(2025, 1, 15), item=3, source="d"),
        StageReached("tapi", 2, "completed", D(2025, 1, 15), False, item=4, source="e"),
        StageReached("tapi", 0, "preparation", D(2024, 2, 1), True, item=5, source="f"),
        SeriesObserved("kz_trade", D(2024, 7, 1), None, 700.0, 0.1, item=6, source="g"),
        SeriesObserved(
            "uz_trade", D(2024, 1, 1), D(2024, 7, 1), at_least=400.0, at_most=500.0, item=7,
            source="h",
        ),
    }  # fmt: skip


def test_evidence_is_sorted_by_end_then_item() -> None:
    sc = with_items(
        """
        - {event: border_clash, count: 2, between: [2024-01-01, 2025-01-01], source: a}
        - {series: kz_trade, at: 2024-07-01, at_least: 1, source: b}
        - {event: uz_delists, not_by: 2024-07-01, source: c}
        - {event: kg_delists, occurred: 2024-03-01, source: d}
        """
    )
    assert [o.item for o in sc.evidence] == [3, 1, 2, 0]
    assert [o.end for o in sc.evidence] == sorted(o.end for o in sc.evidence)


def test_a_scenario_without_evidence_has_none() -> None:
    sc = steppe.load(Path(__file__).parent / "data" / "smoke.yaml")
    assert sc.evidence == ()


def test_evidence_survives_pickling() -> None:
    sc = steppe.load(BASE, evidence=[DATA / "more.yaml"])
    again = pickle.loads(pickle.dumps(sc))
    assert again.evidence == sc.evidence
    assert len(again.evidence) == 4
    assert again.spec.as_of == D(2025, 1, 15)
    # evidence set in Python (not in the spec) is kept too
    only = dataclasses.replace(sc, evidence=sc.evidence[:1], _compiled={})
    assert pickle.loads(pickle.dumps(only)).evidence == sc.evidence[:1]


# --- static checks ----------------------------------------------------------------------

ERRORS = [
    # (items, YAML path, message pattern, text on the line the error points at)
    (
        "- {event: kg_delist, occurred: 2024-09-06, source: s}",
        "evidence[0].event",
        "unknown event 'kg_delist' (did you mean 'kg_delists'?)",
        "kg_delist",
    ),
    (
        "- {project: tap, stage: preparation, reached_by: 2024-09-06, source: s}",
        "evidence[0].project",
        "unknown project 'tap' (did you mean 'tapi'?)",
        "tap",
    ),
    (
        "- {project: tapi, stage: constrution, reached_by: 2024-09-06, source: s}",
        "evidence[0].stage",
        "unknown stage 'constrution' of projects.tapi (did you mean 'construction'?); "
        "expected one of preparation, construction, completed",
        "constrution",
    ),
    (
        "- {series: kz_trad, at: 2024-09-06, value: 1, sigma: 0.1, source: s}",
        "evidence[0].series",
        "unknown series 'kz_trad' (did you mean 'kz_trade'?)",
        "kz_trad",
    ),
    (
        "- {event: kg_delists, occurred: 2023-12-31, source: s}",
        "evidence[0].occurred",
        "date 2023-12-31 is outside [start, as_of] = [2024-01-01, 2025-01-15]",
        "2023-12-31",
    ),
    (
        "- {event: kg_delists, occurred: [2024-09-06, 2025-02-01], source: s}",
        "evidence[0].occurred[1]",
        "date 2025-02-01 is outside [start, as_of]",
        "2025-02-01",
    ),
    (
        "- {event: kg_delists, occurred: [2024-09-06, 2024-09-01], source: s}",
        "evidence[0].occurred",
        r"the range \[2024-09-06, 2024-09-01\] is reversed",
        "2024-09-06",
    ),
    (
        "- {event: border_clash, occurred: 2024-09-06, source: s}",
        "evidence[0].occurred",
        "events.border_clash is recurring: occurred: is for a one-shot event; .*on: .*count:",
        "border_clash",
    ),
    (
        "- {event: kg_delists, count: 1, between: [2024-01-01, 2024-06-01], source: s}",
        "evidence[0].count",
        "events.kg_delists is a one-shot event: count: is for a recurring event; use occurred:",
        "kg_delists",
    ),
    (
        "- {event: kg_delists, occurred: 2024-09-06, source: s}\n"
        "- {event: kg_delists, occurred: 2024-10-06, source: t}",
        "evidence[1].occurred",
        r"events.kg_delists is a one-shot event and occurs once: evidence\[0\] already says when",
        "2024-10-06",
    ),
    (
        "- {event: kg_delists, occurred: 2024-09-06, source: s}\n"
        "- {event: kg_delists, not_by: 2024-10-01, source: t}",
        "evidence[1].not_by",
        r"events.kg_delists: not_by 2024-10-01 is later than its occurrence \(evidence\[0\]",
        "2024-10-01",
    ),
    (
        "- {event: old_news, not_by: 2024-10-01, source: t}",
        "evidence[0].event",
        r"events.old_news is a one-shot event that already occurred before the start "
        r"\(history: 2023-05-01\)",
        "old_news",
    ),
    (
        "- {event: border_clash, count: 1, between: [2024-01-01, 2024-07-01], source: s}\n"
        "- {event: border_clash, count: 1, between: [2024-06-01, 2024-12-01], source: t}",
        "evidence[1].between",
        r"events.border_clash: the period overlaps that of evidence\[0\] "
        r"\(\[2024-01-01, 2024-07-01\]\)",
        "2024-06-01",
    ),
    (
        "- {event: border_clash, on: [2024-08-01], between: [2024-01-01, 2024-07-01], source: s}",
        "evidence[0].on[0]",
        r"date 2024-08-01 is outside between: \[2024-01-01, 2024-07-01\]",
        "2024-08-01",
    ),
    (
        "- {event: border_clash, on: [2024-03-01, 2024-03-01], between: [2024-01-01, "
        "2024-07-01], source: s}",
        "evidence[0].on[1]",
        "date 2024-03-01 is given twice",
        "2024-03-01",
    ),
    (
        "- {event: border_clash, count: -1, between: [2024-01-01, 2024-07-01], source: s}",
        "evidence[0].count",
        "count must be 0 or more, found -1",
        "-1",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, value: 0, sigma: 0.1, source: s}",
        "evidence[0].value",
        "value must be a number > 0 .lognormal error., found 0",
        "value",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, value: 700, sigma: -0.1, source: s}",
        "evidence[0].sigma",
        "sigma must be a number > 0 .lognormal error., found -0.1",
        "sigma",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, value: 700, source: s}",
        "evidence[0].value",
        "value: needs sigma: too",
        "value",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, at_least: 800, at_most: 700, source: s}",
        "evidence[0].at_least",
        r"at_least \(800\) is above at_most \(700\)",
        "at_least",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, source: s}",
        "evidence[0]",
        "a series observation needs value: with sigma: .lognormal error., or bounds",
        "kz_trade",
    ),
    (
        "- {series: kz_trade, total: [2024-01-01, 2024-07-01], value: 1, sigma: 0.1, source: s}",
        "evidence[0].total",
        "a total is observed only for a series that is an annual rate: declare kind: rate on "
        "series.kz_trade",
        "kz_trade",
    ),
    (
        "- {event: kg_delists, source: s}",
        "evidence[0]",
        "an evidence item needs one of: event with exactly one of occurred, not_by",
        "kg_delists",
    ),
    (
        "- {event: kg_delists, occurred: 2024-09-06}",
        "evidence[0]",
        "missing required key 'source'",
        "kg_delists",
    ),
    (
        "- {event: kg_delists, occurred: 2024-09-06, source: s, sorce: t}",
        "evidence[0].sorce",
        "unknown key 'sorce' .did you mean 'source'.",
        "sorce",
    ),
    (
        "- {event: kg_delists, occurred: 2024-09-06, source: s}\n"
        "- {event: kg_delists, not_by: 2024-06-01, source: t}",
        "evidence[1].not_by",
        r"events.kg_delists: evidence\[0\] says it occurred from 2024-09-06, which already "
        r"says it had not occurred before; remove this item",
        "2024-06-01",
    ),
    (
        "- {event: uz_delists, not_by: 2024-06-01, source: s}\n"
        "- {event: uz_delists, not_by: 2024-09-01, source: t}",
        "evidence[1].not_by",
        r"events.uz_delists: evidence\[0\] already says it had not occurred by 2024-06-01; "
        r"give one not_by: \(the latest, 2024-09-01\)",
        "2024-09-01",
    ),
    (
        "- {series: uz_trade, total: [2024-07-01, 2024-07-01], value: 1, sigma: 0.1, source: s}",
        "evidence[0].total",
        r"a total needs a period of at least one day, found \[2024-07-01, 2024-07-01\]",
        "uz_trade",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, value: 700, sigma: 0.1, at_most: 800, source: s}",
        "evidence[0].at_most",
        "give value: with sigma:, or bounds, not both",
        "at_most",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, sigma: 0.1, source: s}",
        "evidence[0].sigma",
        "sigma: needs value: too",
        "sigma",
    ),
    (
        "- {project: tapi, stage: construction, reached_by: 2024-09-12, not_reached_by: "
        "2024-10-01, source: s}",
        "evidence[0]",
        "an evidence item needs one of",
        "tapi",
    ),
    # probability zero, traced to the scenario
    (
        "- {project: tapi, stage: construction, reached_by: 2024-09-12, source: s}",
        "evidence[0].reached_by",
        r"projects.tapi: stage 'construction' cannot begin before 2025-07-02: preparation "
        r"takes at least 1.5 years \(parameters.prep, pert min\), from the start; the evidence "
        r"says it had begun by 2024-09-12",
        "construction",
    ),
    (
        "- {project: tapi, stage: preparation, not_reached_by: 2024-09-12, source: s}",
        "evidence[0].not_reached_by",
        r"projects.tapi: stage 'preparation' had begun at the start",
        "preparation",
    ),
    (
        "- {event: frozen, occurred: 2024-09-06, source: s}",
        "evidence[0].occurred",
        "events.frozen cannot occur: its hazard is 0, but the evidence says it occurred on "
        "2024-09-06",
        "frozen",
    ),
    (
        "- {series: balance, at: 2024-07-01, at_most: 4, source: s}",
        "evidence[0].at_most",
        r"series.balance cannot be below its floor 5 \(series.balance.floor\)",
        "balance",
    ),
    (
        "- {event: border_clash, count: 1, between: [2024-03-05, 2024-03-05], source: s}",
        "evidence[0].between",
        r"events.border_clash cannot occur once between 2024-03-05 and 2024-03-05: the period "
        r"is the instant at the beginning of 2024-03-05, of length 0; for occurrences on that "
        r"day give between: \[2024-03-05, 2024-03-06\]",
        "border_clash",
    ),
    (
        "- {event: border_clash, count: 1, between: [2024-07-01, 2025-01-01], source: s}\n"
        "- {event: border_clash, on: [2024-07-01], between: [2024-01-01, 2024-07-01], "
        "source: t}",
        "evidence[1].on[0]",
        r"events.border_clash: 2024-07-01 is where this period meets that of evidence\[0\] "
        r"\(\[2024-07-01, 2025-01-01\]\), so an occurrence on it lies in both",
        "source: t",
    ),
    (
        "- {series: kz_trade, at: 2024-07-01, at_most: 0, source: s}",
        "evidence[0].at_most",
        "series.kz_trade is a log series, always above 0",
        "kz_trade",
    ),
]


@pytest.mark.parametrize(("items", "path", "message", "on_line"), ERRORS)
def test_static_checks_are_located_errors(
    items: str, path: str, message: str, on_line: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        with_items(items)
    err = caught.value
    text = str(err)
    assert re.search(re.escape(f"case.yaml:{line_of(items, on_line)}:"), text), text
    assert f": error: {path}: " in text, text
    assert message in err.message or re.search(message, err.message), err.message


def test_evidence_needs_as_of() -> None:
    head = HEAD.replace("as_of: 2025-01-15\n", "")
    with pytest.raises(ScenarioError, match="evidence needs as_of") as caught:
        with_items("- {event: kg_delists, occurred: 2024-09-06, source: s}", head=head)
    assert caught.value.path == ("evidence",)


@pytest.mark.parametrize("as_of", ["2023-12-01", "2027-02-01"])
def test_as_of_within_start_and_horizon(as_of: str) -> None:
    head = HEAD.replace("as_of: 2025-01-15", f"as_of: {as_of}")
    with pytest.raises(ScenarioError, match=r"as_of \(.*\) must be within \[start, horizon\]"):
        with_items("- {event: kg_delists, occurred: 2024-01-01, source: s}", head=head)


def test_a_project_with_completed_stages_can_reach_the_next_stage_at_once() -> None:
    head = HEAD.replace("    why: test\nseries:", "    completed_stages: 1\n    why: test\nseries:")
    sc = with_items("- {project: tapi, stage: construction, reached_by: 2024-01-01, source: s}",
                    head=head)  # fmt: skip
    assert sc.evidence[0] == StageReached(
        "tapi", 1, "construction", D(2024, 1, 1), True, item=0, source="s"
    )


def test_a_period_of_length_0_holds_no_occurrence_but_may_be_observed_empty() -> None:
    sc = with_items(
        """
        - {event: border_clash, count: 0, between: [2024-03-05, 2024-03-05], source: a}
        - {event: border_clash, on: [2024-07-01], between: [2024-07-01, 2024-07-01], source: b}
        """
    )
    assert [type(o).__name__ for o in sc.evidence] == ["EventCount", "EventTimes"]
    with pytest.raises(ScenarioError, match="cannot occur 2 times between 2024-03-05 and"):
        with_items("- {event: border_clash, count: 2, between: [2024-03-05, 2024-03-05], "
                   "source: a}")  # fmt: skip


def test_windows_may_touch_at_an_end_point() -> None:
    sc = with_items(
        """
        - {event: border_clash, count: 1, between: [2024-01-01, 2024-07-01], source: a}
        - {event: border_clash, count: 1, between: [2024-07-01, 2025-01-01], source: b}
        - {event: border_clash, on: [2025-01-02], between: [2025-01-01, 2025-01-15], source: c}
        """
    )
    assert len(sc.evidence) == 3


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("on: [2024-07-01]", "on: [2024-07-01]"),  # one occurrence, not two
        ("on: [2024-07-01]", "on: []"),  # contradicted
        ("on: [2024-07-01]", "count: 1"),
        ("on: [2024-03-01, 2024-07-01]", "count: 0"),
    ],
)
def test_an_occurrence_where_periods_meet_is_refused(a: str, b: str) -> None:
    # Both ends of a period are included: a day where two periods meet is in both, so an
    # occurrence listed on it would be forced twice, or once against the other item.
    with pytest.raises(ScenarioError, match="2024-07-01 is where this period meets") as caught:
        with_items(
            f"""
            - {{event: border_clash, {b}, between: [2024-07-01, 2025-01-01], source: b}}
            - {{event: border_clash, {a}, between: [2024-01-01, 2024-07-01], source: a}}
            """
        )
    days = a.split("[")[1].rstrip("]").split(", ")
    assert caught.value.path == ("evidence", 1, "on", days.index("2024-07-01"))


# --- files, variants, the command line ----------------------------------------------------


def test_evidence_files_are_appended_in_order_and_the_later_as_of_wins() -> None:
    sc = steppe.load(BASE, evidence=[DATA / "more.yaml", DATA / "later.yaml"])
    items = sorted(sc.evidence, key=lambda o: o.item)
    assert [type(o).__name__ for o in items] == [
        "EventOccurred", "EventCount", "EventNotBy", "SeriesObserved", "StageReached",
        "SeriesObserved",
    ]  # fmt: skip
    assert items[2] == EventNotBy("uz_delists", D(2025, 1, 10), item=2, source="Ministry statement")
    assert sc.spec.as_of == D(2025, 6, 1)  # later.yaml's; more.yaml's is earlier than base's
    assert steppe.load(BASE, evidence=[DATA / "more.yaml"]).spec.as_of == D(2025, 1, 15)


def test_the_checksum_covers_the_evidence_files() -> None:
    plain = steppe.load(BASE)
    with_more = steppe.load(BASE, evidence=[DATA / "more.yaml"])
    raw = BASE.read_bytes()
    assert plain.sha256 == hashlib.sha256(raw).hexdigest()
    assert with_more.sha256 == hashlib.sha256(raw + (DATA / "more.yaml").read_bytes()).hexdigest()


def test_errors_in_an_evidence_file_are_located_in_it() -> None:
    with pytest.raises(ScenarioError) as caught:
        steppe.load(BASE, evidence=[DATA / "bad_name.yaml"])
    assert str(caught.value).startswith(
        f"{DATA / 'bad_name.yaml'}:2:12: error: evidence[2].event: unknown event 'kg_delist' "
        "(did you mean 'kg_delists'?)"
    )


def test_an_evidence_file_is_checked_on_its_own(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("evidence:\n  - {event: kg_delists, occurred: 2024-09-06}\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        steppe.load(BASE, evidence=[bad])
    assert str(caught.value) == (f"{bad}:2:5: error: evidence[0]: missing required key 'source'")
    bad.write_text("as_of: 2025-01-01\nparameters: {}\nevidence: []\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="unknown key 'parameters'"):
        steppe.load(BASE, evidence=[bad])


def test_a_variant_appends_its_evidence_to_its_parents() -> None:
    sc = steppe.load(DATA / "variant.yaml")
    items = sorted(sc.evidence, key=lambda o: o.item)
    assert [o.item for o in items] == [0, 1, 2]
    assert items[2] == SeriesObserved("kz_trade", D(2024, 7, 1), None, 700.0, 0.1, item=2,
                                      source="Customs")  # fmt: skip


def test_a_variants_evidence_errors_point_into_the_variant(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: base.yaml\nname: child\ntitle: t\ndescription: d\nevidence:\n"
        "  - {series: kz_trade, at: 2024-07-01, value: 0, sigma: 0.1, source: s}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        steppe.load(child)
    assert str(caught.value).startswith(f"{child}:6:47: error: evidence[2].value: value must be")
    assert str(caught.value).startswith(f"{child}:6:47:")


def invoke(*args: object) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_validate_counts_the_evidence_items() -> None:
    result = invoke("validate", BASE, "--evidence", DATA / "more.yaml", "--evidence",
                    DATA / "later.yaml")  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == f"{BASE}: ok (6 evidence items as of 2025-06-01)\n"
    result = invoke("validate", "--provenance", BASE, "--evidence", DATA / "more.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{BASE}: ok (4 evidence items as of 2025-01-15)\n"


def test_run_with_bad_evidence_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", BASE, "--evidence", DATA / "bad_name.yaml", "--out", out, "-q")
    assert result.exit_code == 2
    assert "unknown event 'kg_delist' (did you mean 'kg_delists'?)" in result.stderr
    assert not out.exists()


# --- the JSON Schema --------------------------------------------------------------------

Validator = jsonschema.Draft202012Validator


def as_json(path: Path) -> Any:
    def plain(x: Any) -> Any:
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, list):
            return [plain(v) for v in x]
        return x.isoformat() if isinstance(x, dt.date) else x

    return plain(yaml.safe_load(path.read_text(encoding="utf-8")))


def schema(*args: str) -> Any:
    result = invoke("schema", *args)
    assert result.exit_code == 0
    found = json.loads(result.stdout)
    Validator.check_schema(found)
    return Validator(found, format_checker=Validator.FORMAT_CHECKER)


#: Every YAML file of the evidence tests: evidence files (only evidence and as_of) and
#: scenarios (with or without evidence, variants included).
EVIDENCE_DATA = sorted((Path(__file__).parent / "data" / "evidence").rglob("*.yaml"))


@pytest.mark.parametrize("path", EVIDENCE_DATA, ids=lambda p: p.name)
def test_every_evidence_test_file_passes_its_schema(path: Path) -> None:
    doc = as_json(path)
    is_evidence_file = set(doc) <= {"evidence", "as_of"}
    validator = schema("--evidence") if is_evidence_file else schema()
    assert [e.message for e in validator.iter_errors(doc)] == []


def test_the_evidence_schema_refuses_what_the_loader_refuses() -> None:
    validator = schema("--evidence")
    assert list(validator.iter_errors({"evidence": [{"event": "x", "occurred": "2024-01-01"}]}))
    assert list(validator.iter_errors({"evidence": [], "parameters": {}}))


def test_the_scenario_schema_knows_evidence_and_kind() -> None:
    validator = schema()
    assert validator.schema["$defs"]["SeriesSpec"]["properties"]["kind"]["enum"] == [
        "level",
        "rate",
    ]
    assert "evidence" in validator.schema["$defs"]["Variant"]["properties"]
    bad = as_json(BASE)
    bad["evidence"][0]["occurred"] = "yesterday"
    assert list(validator.iter_errors(bad))


def test_dumps_of_specs_without_evidence_or_kind_are_unchanged() -> None:
    sc = steppe.load(Path(__file__).parent / "data" / "smoke.yaml")
    dumped = json.loads(sc.spec.model_dump_json(warnings=False))
    assert "evidence" not in dumped
    assert all("kind" not in s for s in dumped["series"].values())
    sc = steppe.load(BASE)
    dumped = json.loads(sc.spec.model_dump_json(warnings=False))
    assert len(dumped["evidence"]) == 2
    assert dumped["series"]["uz_trade"]["kind"] == "rate"


# --- property: any item loads or is a located error ----------------------------------------

_days = st.dates(D(2023, 11, 1), D(2025, 3, 1)).map(lambda d: d.isoformat())
_numbers = st.sampled_from(["-1", "0", "0.1", "5", "700", "1.0e9", ".nan", ".inf"])
_items = st.one_of(
    st.builds("{{event: {}, occurred: {}, source: s}}".format,
              st.sampled_from(["kg_delists", "border_clash", "frozen", "kg"]), _days),
    st.builds("{{event: {}, occurred: [{}, {}], source: s}}".format,
              st.sampled_from(["kg_delists", "uz_delists"]), _days, _days),
    st.builds("{{event: {}, not_by: {}, source: s}}".format,
              st.sampled_from(["kg_delists", "uz_delists", "old_news"]), _days),
    st.builds("{{event: border_clash, on: [{}, {}], between: [{}, {}], source: s}}".format,
              _days, _days, _days, _days),
    st.builds("{{event: {}, count: {}, between: [{}, {}], source: s}}".format,
              st.sampled_from(["border_clash", "kg_delists"]), st.integers(-2, 5), _days,
              _days),
    st.builds("{{project: tapi, stage: {}, {}: {}, source: s}}".format,
              st.sampled_from(["preparation", "construction", "completed", "prep"]),
              st.sampled_from(["reached_by", "not_reached_by"]), _days),
    st.builds("{{series: {}, at: {}, value: {}, sigma: {}, source: s}}".format,
              st.sampled_from(["kz_trade", "balance", "uz_trade"]), _days, _numbers,
              _numbers),
    st.builds("{{series: {}, total: [{}, {}], at_least: {}, at_most: {}, source: s}}".format,
              st.sampled_from(["uz_trade", "kz_trade"]), _days, _days, _numbers, _numbers),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_items, min_size=1, max_size=4))
def test_any_items_load_or_fail_located(items: list[str]) -> None:
    text = "\n".join(f"- {item}" for item in items)
    try:
        sc = with_items(text)
    except ScenarioError as err:
        assert err.file is not None and err.line is not None, str(err)
        assert err.path[:1] in (("evidence",), ("as_of",)), str(err)
        return
    assert sorted(o.item for o in sc.evidence) == list(range(len(items)))
    assert [(o.end, o.item) for o in sc.evidence] == sorted((o.end, o.item) for o in sc.evidence)


def test_each_item_knows_where_it_was_found() -> None:
    sc = steppe.load(DATA / "variant.yaml", evidence=[DATA / "more.yaml"])
    assert sc.evidence_places == {
        0: f"{DATA / 'base.yaml'}:31:5",
        1: f"{DATA / 'base.yaml'}:34:5",
        2: f"{DATA / 'variant.yaml'}:6:5",
        3: f"{DATA / 'more.yaml'}:3:5",
        4: f"{DATA / 'more.yaml'}:6:5",
    }
    assert sc.locate(("evidence", 4, "value")) == (
        f"{DATA / 'more.yaml'}:6:5: error: evidence[4].value"
    )
    again = pickle.loads(pickle.dumps(sc))
    assert again.evidence_places == sc.evidence_places
