"""The command line: ``steppe run`` and ``validate`` (``schema``: ``test_fileschema.py``).

Errors go to stderr as ``FILE:LINE:COL: error: YAML.PATH: message`` with exit status 2, and a
failed run writes nothing into the result folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner, Result

import steppe
import steppe._progress
import steppe.engines
from steppe.cli import main

#: The working example scenario (a copy of the smoke test used while building steppe).
SMOKE = (Path(__file__).parent / "data" / "smoke.yaml").read_text(encoding="utf-8")

KINDS = {
    "uz_by_2027": "probability",
    "uz_time": "time_to_event",
    "trade_2027": "distribution",
    "trade_3b": "time_to_event",
    "shocks": "distribution",
    "rail_done": "probability",
    "both": "probability",
}
QUANTILE_KEYS = {"0.05", "0.25", "0.5", "0.75", "0.95"}
YEAR_ENDS = [f"{y}-12-31" for y in range(2024, 2031)]

NEGATIVE_HAZARD = SMOKE.replace("hazard: shock_rate", "hazard: shock_rate - 1")
NEGATIVE_HAZARD_MESSAGE = re.compile(
    r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): error: events\.shock\.hazard: "
    r"the hazard \(must be a finite number >= 0\) "
    r"evaluated to -0\.5 in replication \d+ at t = [0-9.]+ years \(\d{4}-\d\d-\d\d\)$"
)


@pytest.fixture
def smoke(tmp_path: Path) -> Path:
    path = tmp_path / "smoke.yaml"
    path.write_text(SMOKE, encoding="utf-8")
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(*args: str | Path) -> Result:
    # click >= 8.2 keeps stderr apart from stdout in CliRunner results.
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------


def test_validate_a_valid_file(smoke: Path) -> None:
    result = invoke("validate", smoke)
    assert result.exit_code == 0
    assert result.stdout == f"{smoke}: ok\n"
    assert result.stderr == ""


def test_validate_an_invalid_file(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", SMOKE.replace("hazard: shock_rate", "hazard: shock_rat"))
    result = invoke("validate", bad)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"{bad}:23:13: error: events.shock.hazard: unknown name 'shock_rat' in a hazard "
        "(did you mean 'shock_rate'?)\n"
    )


def test_validate_reports_every_file_and_every_schema_error(smoke: Path, tmp_path: Path) -> None:
    bad = write(
        tmp_path,
        "bad.yaml",
        SMOKE.replace("replications: 200", "replications: many").replace("seed: 7", "seed: -7"),
    )
    result = invoke("validate", smoke, bad)
    assert result.exit_code == 2
    assert result.stdout == f"{smoke}: ok\n"
    assert result.stderr.splitlines() == [
        f"{bad}:5:15: error: replications: Input should be a valid integer, unable to parse "
        "string as an integer; found 'many' (str)",
        f"{bad}:6:7: error: seed: Input should be greater than or equal to 0; found -7 (int)",
    ]


def test_validate_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = invoke("validate", missing)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{missing}: error: <document>: cannot read the file: No such file or directory\n"
    )


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_validate_a_device(device: str) -> None:
    # /dev/zero grew past 2 GB in seconds, /dev/urandom never returned (issue 13)
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    result = invoke("validate", device)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{device}: error: <document>: cannot read the file: expected a regular file, found a "
        "character device\n"
    )


def test_validate_a_file_extending_a_device(tmp_path: Path) -> None:
    if not os.path.exists("/dev/urandom"):
        pytest.skip("no /dev/urandom here")
    child = write(tmp_path, "child.yaml", "extends: /dev/urandom\nname: c\ntitle: x\n")
    result = invoke("validate", child)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{child}:1:10: error: extends: cannot read '/dev/urandom' (/dev/urandom): expected a "
        "regular file, found a character device\n"
    )


def test_validate_a_file_with_a_control_character(tmp_path: Path) -> None:
    # PyYAML's ReaderError escaped as a traceback with exit status 1 (issue 13)
    bad = tmp_path / "ctrl.yaml"
    bad.write_bytes(b"name: a\x05\n")
    result = invoke("validate", bad)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{bad}:1:8: error: <document>: malformed YAML: character U+0005 (a control character) "
        "is not allowed; YAML text may hold tabs, line breaks and printable characters only\n"
    )


def test_validate_prints_positions_as_written(tmp_path: Path) -> None:
    # rich read ':100:' in 'FILE:100:14: error' as an emoji code and printed a 💯
    bad = write(tmp_path, "long.yaml", "#\n" * 99 + "name: {a: 1, a: 2}\n")
    result = invoke("validate", bad)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{bad}:100:14: error: name.a: duplicate key 'a' (first at line 100)\n"
    )


def test_validate_a_malicious_file(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = write(tmp_path, "evil.yaml", f"x: !!python/object/apply:os.system ['touch {marker}']\n")
    result = invoke("validate", bad)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{bad}:1:4: error: <document>: refused: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system' (only plain YAML data is allowed)\n"
    )
    assert not marker.exists()


def test_validate_needs_a_file() -> None:
    result = invoke("validate")
    assert result.exit_code == 2
    assert "Missing argument 'FILES...'" in result.stderr


# ---------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------


def test_run_writes_the_result_folder(smoke: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", smoke, "-n", "50", "--seed", "1", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert re.search(r"smoke: 50 replications, seed 1, engine \w+", result.stdout)
    for name in KINDS:
        assert name in result.stdout
    assert f"results written to {out}" in result.stdout.replace("\n", "")
    assert sorted(p.name for p in out.iterdir()) == [
        ".steppe",  # marks the folder as steppe's (docs/files.md)
        "figures",  # the report's PNGs (tests/test_report.py checks the report)
        "indicators.parquet",  # tests/test_indicators.py
        "manifest.json",
        "report.html",
        "report.md",
        "samples.parquet",
        "summary.json",
    ]

    summary = strict_json((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["scenario"] == "smoke"
    assert summary["replications"] == 50
    assert summary["seed"] == 1
    assert isinstance(summary["engine"], str)
    assert set(summary["outcomes"]) == set(KINDS)
    for name, o in summary["outcomes"].items():
        assert o["kind"] == KINDS[name], name
        if o["kind"] == "probability":
            assert 0 <= o["p"] <= 1
            assert o["se"] >= 0
            lo, hi = o["ci95"]
            assert 0 <= lo <= o["p"] <= hi <= 1
        elif o["kind"] == "distribution":
            assert {"mean", "sd", "quantiles"} <= set(o)
            assert set(o["quantiles"]) == QUANTILE_KEYS
        else:
            assert list(o["p_by"]) == YEAR_ENDS
            assert set(o["quantiles"]) == QUANTILE_KEYS

    manifest = strict_json((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario_sha256"] == steppe.load(smoke).sha256
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["scenario_sha256"])
    assert manifest["seed"] == 1
    assert manifest["replications"] == 50
    assert manifest["engine"] == summary["engine"]
    assert {"steppe", "numpy", "scipy", "simpy"} <= set(manifest["versions"])
    assert manifest["wall_seconds"] >= 0
    assert dt.datetime.fromisoformat(manifest["timestamp"]).tzinfo is not None

    samples = pd.read_parquet(out / "samples.parquet")
    assert len(samples) == 50
    assert set(samples.columns) == set(KINDS)


def test_a_narrow_terminal_wraps_names_and_keeps_numbers_whole(tmp_path: Path) -> None:
    long = "railway_construction_completed_by_the_horizon"
    path = write(tmp_path, "long.yaml", SMOKE.replace("rail_done:", f"{long}:"))
    args = ["run", str(path), "-n", "50", "--engine", "simpy", "--out", str(tmp_path / "o")]
    result = CliRunner(env={"COLUMNS": "80"}).invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert rows and all(len(line) <= 80 for line in rows)
    assert "…" not in result.stdout  # nothing cut
    first = "".join(line.split("│")[1].strip() for line in rows)
    assert long in first  # the name, folded over lines
    assert all(line.count("[") == line.count("]") for line in rows)  # intervals on one line


def test_run_is_reproducible(smoke: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = invoke("run", smoke, "-n", "30", "--seed", "5", "--out", tmp_path / name)
        assert result.exit_code == 0
    a = pd.read_parquet(tmp_path / "a" / "samples.parquet")
    b = pd.read_parquet(tmp_path / "b" / "samples.parquet")
    pd.testing.assert_frame_equal(a, b)


INFINITE_OUTCOME = SMOKE.replace("shocks: {value: count(shock)}", "shocks: {value: 1 / (t - t)}")
NEVER = SMOKE.replace("shocks: {value: count(shock)}", "shocks: {time_to: t < 0}")


def test_run_json_prints_strict_json(tmp_path: Path) -> None:
    # A time to event that never happens: its quantiles are null in summary.json and --json.
    path = write(tmp_path, "never.yaml", NEVER)
    out = tmp_path / "out"
    result = invoke("run", path, "-n", "20", "--seed", "1", "--json", "--out", out)
    assert result.exit_code == 0, result.stderr
    printed = strict_json(result.stdout)
    assert printed == strict_json((out / "summary.json").read_text(encoding="utf-8"))
    assert printed["outcomes"]["shocks"]["quantiles"]["0.5"] is None


def test_infinite_value_outcome_is_a_run_time_error(tmp_path: Path) -> None:
    path = write(tmp_path, "inf.yaml", INFINITE_OUTCOME)
    out = tmp_path / "out"
    result = invoke("run", path, "-n", "20", "--seed", "1", "--out", out)
    assert result.exit_code == 2
    assert "error: outcomes.shocks: the outcome (must be finite) evaluated to inf" in result.stderr
    assert not out.exists()


def test_run_with_overrides(smoke: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(
        "run", smoke, "-n", "20", "--seed", "1", "--set", "contagion=0", "--set", "base=0.5",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    manifest = strict_json((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["overrides"] == {"contagion": 0.0, "base": 0.5}


# ---------------------------------------------------------------------------------------
# Failed runs: message on stderr, exit 2, nothing written
# ---------------------------------------------------------------------------------------


def assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert list(out.parent.glob(f".{out.name}*")) == []  # no temporary siblings either


def test_negative_hazard_fails_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "neg.yaml", NEGATIVE_HAZARD)
    out = tmp_path / "out"
    result = invoke("run", path, "-n", "20", "--seed", "1", "--out", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    match = NEGATIVE_HAZARD_MESSAGE.match(lines[0])
    assert match, lines[0]
    assert match["file"] == str(path)
    assert_nothing_written(out)


def test_failed_run_creates_no_default_results_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "neg.yaml", NEGATIVE_HAZARD)
    result = invoke("run", "neg.yaml", "-n", "20", "--seed", "1")
    assert result.exit_code == 2
    assert NEGATIVE_HAZARD_MESSAGE.match(result.stderr.strip())
    assert not (tmp_path / "results").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neg.yaml"]


def test_successful_run_uses_the_default_results_folder(
    smoke: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", smoke.name, "-n", "10", "--seed", "1")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "results" / "smoke" / "summary.json").is_file()


def test_failed_run_leaves_an_earlier_result_untouched(smoke: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", smoke, "-n", "10", "--seed", "1", "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    path = write(tmp_path, "neg.yaml", NEGATIVE_HAZARD)
    result = invoke("run", path, "-n", "10", "--seed", "1", "--out", out)
    assert result.exit_code == 2
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_invalid_scenario_fails_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", SMOKE.replace("horizon: 2030-12-31", "horizon: 2020-12-31"))
    out = tmp_path / "out"
    result = invoke("run", path, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}:4:10: error: horizon: horizon (2020-12-31) must be after start (2024-01-01)\n"
    )
    assert_nothing_written(out)


def test_too_many_replications_are_refused_up_front(smoke: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", smoke, "-n", "10000000000", "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{smoke}: error: <document>: 10,000,000,000 replications are more than the limit of "
        "1,000,000,000 per run\n"
    )
    assert_nothing_written(out)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("contagon=1", "--set: error: parameters.contagon: cannot set 'contagon': no such "
                       "parameter (did you mean 'contagion'?)"),
        ("zzz=1", "--set: error: parameters.zzz: cannot set 'zzz': no such parameter"),
        ("base=abc", "--set: error: <document>: --set base: expected a number, found 'abc'"),
        ("base=", "--set: error: <document>: --set base: expected a number, found ''"),
        ("base=inf", "--set: error: <document>: --set base: expected a finite number, "
                     "found 'inf'"),
        ("base", "--set: error: <document>: --set expects NAME=VALUE, found 'base'"),
        ("=1", "--set: error: <document>: --set expects NAME=VALUE, found '=1'"),
    ],
)  # fmt: skip
def test_bad_overrides(smoke: Path, tmp_path: Path, setting: str, message: str) -> None:
    out = tmp_path / "out"
    result = invoke("run", smoke, "-n", "10", "--set", setting, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert_nothing_written(out)


def test_bad_option_values_are_usage_errors(smoke: Path, tmp_path: Path) -> None:
    for args in (["-n", "0"], ["-n", "many"], ["--seed", "-1"], ["--engine", "warp"]):
        result = invoke("run", smoke, *args, "--out", tmp_path / "out")
        assert result.exit_code == 2, args
        assert "Invalid value" in result.stderr, args
    assert_nothing_written(tmp_path / "out")


# ---------------------------------------------------------------------------------------
# the installed command
# ---------------------------------------------------------------------------------------


def test_installed_command_separates_stdout_and_stderr(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", SMOKE.replace("  shock_rate: 0.5\n", ""))
    env = {**os.environ, "COLUMNS": "200"}
    command = Path(sys.executable).with_name("steppe")  # the console script of this venv
    proc = subprocess.run(
        [str(command), "validate", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        f"{bad}:22:13: error: events.shock.hazard: unknown name 'shock_rate' in a hazard\n"
    )


TINY = """\
steppe: 1
name: tiny_kernel
title: tiny
start: 2024-01-01
horizon: 2025-12-31
parameters:
  rate: {dist: uniform, low: 0.5, high: 1.5}
events:
  e: {hazard: rate}
outcomes:
  hit: {probability: occurred(e), by: 2025-12-31}
"""


def test_compiling_a_new_kernel_is_announced_unless_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run of a scenario structure compiles its kernel (seconds of silence
    otherwise): the command says so on standard error, once; ``-q`` silences it."""
    import steppe.engines.kernel as kernel

    path = write(tmp_path, "tiny.yaml", TINY)
    stderr = {}
    for label, cache, quiet in [("quiet", "a", True), ("first", "b", False), ("again", "b", False)]:
        monkeypatch.setenv("STEPPE_CACHE_DIR", str(tmp_path / cache))
        monkeypatch.setattr(kernel, "_loaded", {})  # as a new process would
        args = ["run", str(path), "--out", str(tmp_path / label), "-n", "300"]
        args += ["--engine", "compiled", *(["-q"] if quiet else [])]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        stderr[label] = result.stderr
    assert "compiling a kernel for the compiled engine" in stderr["first"]
    assert str(tmp_path / "b") in stderr["first"]
    assert "compiling" not in stderr["quiet"]
    assert "compiling" not in stderr["again"]  # loaded from the cache


# ---------------------------------------------------------------------------------------
# the estimate of a long run (steppe._progress)
# ---------------------------------------------------------------------------------------


class StepClock:
    """A clock that moves ``step`` seconds each time it is read (no wall clock in tests)."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize(
    ("step", "quiet", "announced"),
    [(1000.0, False, True), (1.0, False, False), (1000.0, True, False)],
)
def test_a_run_projected_over_an_hour_is_announced_unless_quiet(
    smoke: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    step: float,
    quiet: bool,
    announced: bool,
) -> None:
    """The clock reads ``step`` seconds more at the end of the first of 4 chunks than when
    the chunks started: the run is projected at 4 x ``step`` seconds. Over an hour, one line
    on standard error says so (no terminal here: no bar, but the line all the same)."""
    monkeypatch.setattr(steppe._progress, "_clock", StepClock(step))
    assert steppe.engines.ENGINES["simpy"].chunk_size == 500
    args = ["run", smoke, "-n", "2000", "--engine", "simpy", "--workers", "1"]
    result = invoke(*args, "--out", tmp_path / "out", *(["-q"] if quiet else []))
    assert result.exit_code == 0, result.stderr
    line = (
        "steppe: this run of 2,000 replications will take about 1 h 7 min on 1 worker "
        "(estimated from the first chunk); press Ctrl-C to stop\n"
    )
    assert result.stderr == (line if announced else "")
