"""The scripts in examples/ run, at small sizes, and produce their output."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> Any:
    """The example's ``main`` (the script is not run as __main__)."""
    return runpy.run_path(str(EXAMPLES / name), run_name="example")["main"]


def test_every_example_is_tested() -> None:
    tested = {"contagion_vs_shocks.py", "sobol_delisting_drivers.py", "ishigami_check.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_contagion_vs_shocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = load("contagion_vs_shocks.py")
    main(["--levels", "2", "--replications", "50", "--workers", "1", "--out", str(tmp_path)])
    table = pd.read_csv(tmp_path / "points.csv")
    assert len(table) == 2 * 4
    assert table["bordering_delists_by_2027"].between(0, 1).all()
    assert (tmp_path / "contagion_vs_shocks.png").read_bytes().startswith(b"\x89PNG")
    assert "P(a bordering state delists by 2027)" in capsys.readouterr().out


def test_sobol_delisting_drivers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = load("sobol_delisting_drivers.py")
    main(["-n", "2", "--replications", "50", "--workers", "1", "--out", str(tmp_path)])
    indices = pd.read_csv(tmp_path / "indices.csv")
    assert set(indices["parameter"]) == {
        "delist_base", "border_penalty", "contagion", "shock_rate", "shock_dampener",
    }  # fmt: skip
    assert "P(UZ delists by 2027), 14 runs" in capsys.readouterr().out  # n (d + 2) runs
    assert len(list((tmp_path / "checkpoint" / "points").glob("*.json"))) == 2 * 7


def test_ishigami_check(capsys: pytest.CaptureFixture[str]) -> None:
    load("ishigami_check.py")(["-n", "256"])
    out = capsys.readouterr().out
    assert "S1_exact" in out
    assert "x3" in out


def test_the_python_example_of_docs_sweeps_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first Python block of docs/sweeps.md, as written but at small sizes."""
    root = EXAMPLES.parent
    doc = (root / "docs" / "sweeps.md").read_text(encoding="utf-8")
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    small = code.replace("n=64", "n=4").replace("replications=2000", "replications=100")
    assert small.count("n=4,") == 2 and small.count("replications=100") == 2
    monkeypatch.chdir(root)  # the example names scenarios/baseline.yaml
    names: dict[str, Any] = {}
    exec(compile(small, "docs/sweeps.md", "exec"), names)  # our own documentation
    table, frame = names["table"], names["res"].to_frame()
    assert len(table) == 4
    assert {"contagion", "shock_rate", "uz_delists_by_2027", "uz_delists_by_2027_se"} <= set(
        table.columns
    )
    assert set(frame.reset_index()["parameter"]) == {"contagion", "shock_rate", "border_penalty"}
