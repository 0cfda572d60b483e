"""Every shipped scenario validates, runs at low replications, and documents its numbers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import steppe
from steppe.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
DOCS = ROOT / "docs"


def test_there_are_scenarios() -> None:
    assert any(p.name == "baseline.yaml" for p in SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_validates_and_runs(path: Path) -> None:
    sc = steppe.load(path)
    res = steppe.run(sc, replications=40, seed=3)
    assert set(res.summary["outcomes"]) == {o.name for o in sc.outcomes}
    assert len(res.samples) == 40
    for name, o in res.summary["outcomes"].items():
        assert o["kind"] in {"probability", "distribution", "time_to_event"}, name


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_number_has_a_source_or_rationale(path: Path) -> None:
    """Forecasting discipline: each parameter says where its number comes from."""
    sc = steppe.load(path)
    missing = [p.name for p in sc.params if not (p.source or p.why)]
    assert missing == []


def _doc_examples(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    return [b for b in blocks if re.search(r"^outcomes:", b, flags=re.M)]


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_complete_examples_in_docs_run(doc: Path) -> None:
    """Every complete scenario shown in the docs (a ```yaml block with outcomes) runs."""
    for block in _doc_examples(doc):
        sc = steppe.loads(block, file=f"{doc.name}:example")
        assert isinstance(sc, Scenario)
        res = steppe.run(sc, replications=20, seed=1)
        assert np.isfinite(res.samples.to_numpy(dtype=float)).any()
