"""``steppe score`` end to end: tables, score.json, the report and its figures, two results
side by side with references, refused inputs (exit 2, nothing written), and
``steppe schema --resolutions``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

import steppe
from steppe.cli import main

SCENARIO = """\
steppe: 1
name: {name}
title: "Scoring CLI"
start: 2024-01-01
horizon: 2026-12-31
step: quarter
replications: 400
seed: 3
events:
  a: {{hazard: {rate}, why: test}}
series:
  x:
    initial: 100
    drift: 0.05
    volatility: 0.2
    why: test
outcomes:
  a_by_2025: {{probability: occurred(a), by: 2025-12-31}}
  x_2025: {{value: x, at: 2025-12-31}}
"""

RESOLUTIONS = """\
title: CLI test
as_of: 2026-01-15
resolutions:
  - {id: a_2024, event: a, by: 2024-12-31, resolved: true, date: 2024-05-01, source: s}
  - {id: a_2025, outcome: a_by_2025, resolved: true, date: 2024-05-01, source: s}
  - {id: a_mid, event: a, by: 2024-07-01, resolved: false, date: 2024-07-01, source: s}
  - {id: x_2024, series: x, at: 2024-12-31, resolved: 104, date: 2025-01-10, source: s}
  - {id: x_2025, outcome: x_2025, resolved: 140, date: 2026-01-10, source: s}
  - {id: x_up, series: x, at: 2025-12-31, above: 100, resolved: true, date: 2026-01-10,
     source: s}
  - {id: later, event: a, by: 2026-12-31, resolved: null, source: a report in 2027}
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("scorecli")
    out = []
    for name, rate in (("slow", 0.2), ("fast", 1.0)):
        (base / f"{name}.yaml").write_text(SCENARIO.format(name=name, rate=rate))
        out.append(steppe.run(base / f"{name}.yaml", engine="simpy").write(base / name))
    return out[0], out[1]


@pytest.fixture
def resolutions(tmp_path: Path) -> Path:
    path = tmp_path / "res.yaml"
    path.write_text(RESOLUTIONS)
    return path


def test_score_one_result(runs: tuple[Path, Path], resolutions: Path, tmp_path: Path) -> None:
    out = tmp_path / "score"
    result = CliRunner().invoke(
        main, ["score", str(runs[0]), "--resolutions", str(resolutions), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Scores against" in result.output
    assert "Questions, costliest first" in result.output
    assert "pending (1, not scored): later" in result.output
    assert f"scores written to {out}" in result.output
    summary = json.loads((out / "score.json").read_text())
    assert summary["format"] == "steppe-score/1"
    assert summary["resolved"] == 6 and summary["questions"] == 7
    assert json.loads((out / ".steppe").read_text())["kind"] == "score"
    html = (out / "report.html").read_text()
    for fig in ("reliability", "contributions", "pit"):
        assert f'id="fig-{fig}"' in html
        assert (out / "figures" / f"{fig}.png").stat().st_size > 0
    assert "](figures/reliability.png)" in (out / "report.md").read_text()


def test_two_results_side_by_side_with_references(
    runs: tuple[Path, Path], resolutions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "both"
    args = ["score", str(runs[0]), str(runs[1]), "--resolutions", str(resolutions)]
    args += ["--reference", "0.5", "--base-rate", "a_2024=0.3", "--base-rate", "0.4"]
    args += ["--reference-result", str(runs[0]), "--out", str(out), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [r["name"] for r in summary["results"]] == ["slow", "fast"]
    refs = [s["reference"] for s in summary["results"][0]["skill"]]
    assert refs == ["constant 0.5", "base rates", "result slow"]
    # slow scored against itself has skill 0 exactly, on every score.
    own = summary["results"][0]["skill"][2]
    assert own["brier"]["skill"] == 0.0 and own["log"]["skill"] == 0.0
    assert own["crps"]["skill"] == 0.0
    assert own["crps"]["n"] == 2
    assert summary == json.loads((out / "score.json").read_text())


def test_default_out(
    runs: tuple[Path, Path], resolutions: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default folder is relative to the working directory
    args = ["score", str(runs[0]), str(runs[1]), "--resolutions", str(resolutions), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert (tmp_path / "results/score-slow-vs-fast/score.json").is_file()


def test_bad_resolutions_exit_2_and_write_nothing(runs: tuple[Path, Path], tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "resolutions:\n  - {id: q, event: aa, by: 2024-12-31, resolved: true, "
        "date: 2024-05-01, source: s}\n"
    )
    out = tmp_path / "score"
    result = CliRunner().invoke(
        main, ["score", str(runs[0]), "--resolutions", str(path), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert (
        f"{path}:2:20: error: resolutions[0].event: unknown event 'aa' (did you mean 'a'?)"
        in result.output
    )
    assert not out.exists()


def test_bad_inputs_exit_2(runs: tuple[Path, Path], resolutions: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    cases = [
        (["--out", str(mine)], "it exists, is not empty, and was not written by steppe"),
        (["--reference", "1.5"], "--reference: a reference probability must lie strictly"),
        (["--base-rate", "a_2042=0.3"], "a_2042: no question with that id (did you mean"),
        (["--base-rate", "a=b"], "--base-rate expects ID=P or P"),
    ]
    for extra, message in cases:
        args = ["score", str(runs[0]), "--resolutions", str(resolutions), *extra]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, extra
        assert message in result.output, (extra, result.output)
    assert (mine / "notes.txt").read_text() == "keep me"
    missing = CliRunner().invoke(
        main, ["score", str(tmp_path / "nope"), "--resolutions", str(resolutions)]
    )
    assert missing.exit_code == 2
    assert "result folder does not exist" in missing.output


def test_schema_checks_the_example_files() -> None:
    result = CliRunner().invoke(main, ["schema", "--resolutions"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    validator = jsonschema.Draft202012Validator(schema)
    root = Path(__file__).resolve().parents[1] / "examples"
    for name in ("resolutions_2024.yaml", "resolutions_2025.yaml"):
        doc = yaml.safe_load((root / name).read_text())
        for item in doc["resolutions"]:  # JSON has no dates: as the editor sees them
            for key in ("by", "at", "date"):
                if key in item:
                    item[key] = item[key].isoformat()
        doc.pop("as_of", None)
        assert list(validator.iter_errors(doc)) == [], name
    assert list(validator.iter_errors({"resolutions": [{"id": "q", "event": "a"}]}))


@pytest.mark.slow  # the baseline at its own 2,000 replications
def test_docs_worked_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/scoring.md's worked example, as written: the table it shows is what steppe prints
    (the run is seeded and both engines give the same numbers), and its Python runs."""
    root = Path(__file__).resolve().parents[1]
    docs = (root / "docs" / "scoring.md").read_text(encoding="utf-8")
    base = tmp_path / "score-base"
    steppe.run(root / "scenarios" / "baseline.yaml").write(base)
    res = root / "examples" / "resolutions_2024.yaml"
    args = ["score", str(base), "--resolutions", str(res), "--reference", "0.5"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    shown = [line.rstrip() for line in result.output.splitlines()]
    for line in ("│ baseline │ 12        │ 0.387 ± 0.138 │", "│ baseline │ constant 0.5 │"):
        (expected,) = [x for x in docs.splitlines() if x.startswith(line)]
        assert expected in shown
    block = docs.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    code = block.replace("/tmp/score-base", str(base)).replace("examples/", f"{root}/examples/")
    exec(compile(code, "docs/scoring.md", "exec"), {})  # our own documentation, not input
    assert (tmp_path / "results" / "score-baseline" / "score.json").is_file()
