"""The README's examples run as written (SimPy's docs examples are run by its test suite)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from steppe.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch copy of the repository's scenarios, as the current directory."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_python_example_runs(workdir: Path) -> None:
    (block,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # our own documentation, not input
    assert (workdir / "results" / "my-run" / "summary.json").exists()


@pytest.mark.slow  # many commands, each writing its report (or waiting out a timeout)
def test_shell_examples_run(workdir: Path) -> None:
    (block,) = re.findall(r"## Using it\n\n```bash\n(.*?)```", README, flags=re.S)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    runner = CliRunner()
    for command in filter(None, commands):
        words = shlex.split(command.replace("> scenario.schema.json", ""))
        assert words[0] == "steppe"
        args = [w for w in words[1:] if w != "scenarios/*.yaml"] or words[1:]
        if "scenarios/*.yaml" in words:
            args += sorted(str(p.relative_to(workdir)) for p in workdir.glob("scenarios/*.yaml"))
        if args[0] == "run":
            args += ["-n", "200", "--workers", "1"]  # keep the suite fast: fewer replications
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (command, result.output)


@pytest.mark.slow  # three runs conditioned on evidence, each with its prior run and report
def test_update_examples_run(workdir: Path) -> None:
    shutil.copytree(ROOT / "examples", workdir / "examples")
    (block,) = re.findall(
        r"## Updating a forecast on evidence\n.*?```bash\n(.*?)```", README, flags=re.S
    )
    commands = [shlex.split(line.split("#")[0]) for line in block.splitlines()]
    assert [c[:2] for c in commands] == [
        ["steppe", "run"],
        ["steppe", "run"],
        ["steppe", "compare"],
    ]
    runner = CliRunner()
    for words in commands:
        args = [*words[1:], "-n", "200", "--workers", "1"]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (words, result.output)
        assert "What the evidence taught" in result.output or words[1] == "compare"
    assert (workdir / "results" / "update_2025" / "summary.json").exists()
    compared = workdir / "results" / "compare-baseline-vs-update_2025" / "comparison.json"
    assert "uz_delists_by_2025" in " ".join(
        json.loads(compared.read_text(encoding="utf-8"))["outcomes_not_compared"]
    )
