"""The committed results are exactly what running their scenario writes today.

``tests/test_results_sync.py`` checks that each committed folder was made from the current
scenario file; this checks its numbers: the scenario is run again as
``scripts/make_results.py`` runs it (the compiled engine, its own seed and replications,
two workers: ``summary.json`` is the same for any number) and the new ``summary.json`` must
equal the committed one byte for byte. So the README's first command on a fresh clone
rewrites ``results/baseline/summary.json`` with the same bytes, and a change that moves
any number (a new stream, another order of summation) fails here until the results are
regenerated (``python scripts/make_results.py``) and the change is said in its commit.

``update_2025`` is left out: a run conditioned on evidence takes one to two minutes here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import steppe

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [
    p for p in sorted((ROOT / "scenarios").glob("*.yaml")) if p.stem != "update_2025"
]  # fmt: skip


@pytest.mark.slow  # six runs of 2,000 replications, and the kernels' compilation
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_summary_is_what_the_scenario_gives_today(path: Path, tmp_path: Path) -> None:
    sc = steppe.load(path)
    res = steppe.run(sc, engine="compiled", workers=2)
    res.write(tmp_path / sc.name)
    fresh = (tmp_path / sc.name / "summary.json").read_bytes()
    committed = (ROOT / "results" / path.stem / "summary.json").read_bytes()
    assert fresh == committed, (
        f"results/{path.stem}/summary.json is not what {path.name} gives today; "
        "run `python scripts/make_results.py` and say in the commit which numbers moved"
    )
