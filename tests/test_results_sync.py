"""The committed results/ are in sync with the scenario files they were made from.

Only hashes and file lists are checked, never numbers: the numbers depend on the engine,
which may change; ``python scripts/make_results.py`` regenerates every folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import steppe
from steppe.results.folders import folder_kind

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
REGENERATE = "run `python scripts/make_results.py` to regenerate"


def test_every_scenario_has_a_result_folder() -> None:
    missing = [
        p.stem for p in SCENARIOS if not (ROOT / "results" / p.stem / "manifest.json").is_file()
    ]
    assert missing == [], f"no committed results for {missing}; {REGENERATE}"
    # The marker lets `steppe run scenarios/<name>.yaml` (the README's first command)
    # replace the committed folder; without it the run would refuse (docs/files.md).
    unmarked = [p.stem for p in SCENARIOS if folder_kind(ROOT / "results" / p.stem) != "result"]
    assert unmarked == [], f"committed results without a .steppe marker: {unmarked}"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_result_was_made_from_the_current_scenario(path: Path) -> None:
    folder = ROOT / "results" / path.stem
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    # The sha256 covers the file and every parent it extends (docs/scenario-format.md §18).
    current = steppe.load(path).sha256
    assert manifest["scenario_sha256"] == current, (
        f"results/{path.stem} was made from another version of {path.name} "
        f"(or of a parent it extends); {REGENERATE}"
    )
    assert summary["scenario"] == path.stem
    assert f"**scenario sha256:** {current}" in (folder / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_report_figures_are_committed(path: Path) -> None:
    folder = ROOT / "results" / path.stem
    md = (folder / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^]]*\]\((figures/[^)]+)\)", md)
    assert links
    assert sorted(links) == sorted(f"figures/{p.name}" for p in (folder / "figures").iterdir())
