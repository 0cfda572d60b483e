"""``steppe sweep``: the sweep folder, errors with exit status 2, and resume after kill -9."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

import steppe
from steppe.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_sweep_writes_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "sw"
    result = invoke(
        "sweep", SMOKE, "--vary", "contagion=0:2:3", "--vary", "shock_rate=0.2,0.8",
        "--replications", "60", "--seed", "4", "--out", out, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"sweep written to {out}"
    assert {p.name for p in out.iterdir()} == {
        ".steppe", "checkpoint.json", "points", "points.parquet", "points.csv", "manifest.json",
        "tornado.png", "oneway.png", "report.html",
    }  # fmt: skip
    table = pd.read_parquet(out / "points.parquet")
    pd.testing.assert_frame_equal(pd.read_csv(out / "points.csv"), table, check_exact=True)
    api = steppe.sweep(
        SMOKE, vary={"contagion": (0.0, 2.0), "shock_rate": [0.2, 0.8]}, n=3,
        replications=60, seed=4,
    )  # fmt: skip
    api.attrs = {}
    pd.testing.assert_frame_equal(table, api, check_exact=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4
    assert manifest["replications"] == 60
    assert manifest["design"] == "grid"
    assert manifest["points"] == 6
    assert manifest["engine"] == "auto"
    assert manifest["versions"]["steppe"] == steppe.__version__
    assert manifest["scenario_sha256"] == steppe.load(SMOKE).sha256
    assert manifest["statistics"]["uz_time"] == "P(by 2030-12-31)"
    for png in ("tornado.png", "oneway.png"):
        assert (out / png).read_bytes().startswith(PNG)
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from the network
    assert "<script" not in page


def test_a_narrow_terminal_folds_names_rather_than_cutting_them(tmp_path: Path) -> None:
    long = "railway_construction_completed_by_the_horizon"
    path = tmp_path / "long.yaml"
    path.write_text(SMOKE.read_text(encoding="utf-8").replace("rail_done:", f"{long}:"))
    args = ["sweep", str(path), "--vary", "contagion=0:2:2", "--replications", "40"]
    args += ["--outcome", "uz_by_2027", "--outcome", long, "--out", str(tmp_path / "sw"), "-q"]
    result = CliRunner(env={"COLUMNS": "80"}).invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "…" not in result.stdout
    header = [line for line in result.stdout.splitlines() if line.startswith("┃")]
    last_column = "".join(line.rstrip("┃ ").rsplit("┃", 1)[1].strip() for line in header)
    assert last_column.startswith(long)  # folded over the header's lines, then the statistic


def test_sobol_method_writes_indices(tmp_path: Path) -> None:
    out = tmp_path / "sens"
    result = invoke(
        "sweep", SMOKE, "--vary", "base=0.02:0.2", "--vary", "contagion=0:2",
        "--method", "sobol", "-n", "4", "--replications", "40", "--outcome", "uz_by_2027",
        "--out", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["manifest"]["design"] == "saltelli"
    assert doc["manifest"]["method"] == "sobol"
    assert doc["manifest"]["points"] == 4 * (2 + 2)
    indices = doc["sensitivity"]["outcomes"]["uz_by_2027"]["indices"]
    assert set(indices) == {"base", "contagion"}
    assert set(indices["base"]) == {"S1", "S1_low", "S1_high", "S1_conf", "ST", "ST_low",
                                    "ST_high", "ST_conf"}  # fmt: skip
    assert json.loads((out / "sensitivity.json").read_text()) == doc["sensitivity"]


def test_morris_method_prints_a_table(tmp_path: Path) -> None:
    result = invoke(
        "sweep", SMOKE, "--vary", "base=0.02:0.2", "--vary", "contagion=0:2",
        "--method", "morris", "-n", "3", "--replications", "40", "--outcome", "uz_by_2027",
        "--out", tmp_path / "m",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "sensitivity (morris), 9 evaluations" in result.stdout
    assert "mu* ± conf" in result.stdout
    assert "uz_by_2027 (noise " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--vary: error: <document>: give at least one --vary NAME=LO:HI[:N]"),
        (["--vary", "contagion"], "--vary: error: <document>: --vary expects NAME=LO:HI[:N] "
         "or NAME=V1,V2,..., found 'contagion'"),
        (["--vary", "contagion=1"], "--vary: error: <document>: --vary contagion: expected "
         "LO:HI or LO:HI:N, found '1'"),
        (["--vary", "contagion=a:2"], "--vary: error: <document>: --vary contagion: LO: "
         "expected a number, found 'a'"),
        (["--vary", "contagion=2:1"], "--vary: error: <document>: --vary contagion: LO must be "
         "< HI, found 2 >= 1"),
        (["--vary", "contagion=1:1"], "--vary: error: <document>: --vary contagion: LO must be "
         "< HI, found 1 >= 1"),
        (["--vary", "contagion=0:1:1"], "--vary: error: <document>: --vary contagion: N must "
         "be a whole number >= 2, found '1'"),
        (["--vary", "contagion=0:inf"], "--vary: error: <document>: --vary contagion: HI: "
         "expected a finite number, found 'inf'"),
        (["--vary", "contagion=1,1"], "--vary: error: <document>: --vary contagion: expected "
         "at least two distinct values, found '1,1'"),
        (["--vary", "contagon=0:1"], "--vary: error: parameters.contagon: cannot vary "
         "'contagon': no such parameter (did you mean 'contagion'?)"),
        (["--vary", "contagion=0:1", "--outcome", "uz_by_2072"], "--outcome: error: "
         "outcomes.uz_by_2072: unknown outcome 'uz_by_2072' (did you mean 'uz_by_2027'?)"),
        (["--vary", "contagion=0:1", "--method", "sobol", "--design", "lhs"], "--design: "
         "error: <document>: --method sobol makes its own design; drop --design"),
        (["--vary", "contagion=0:1", "--scheduler", "tcp://127.0.0.1:1", "--dask-local", "2"],
         "--scheduler: error: <document>: give --scheduler or --dask-local, not both"),
        (["--vary", "contagion=0:1", "--design", "sobol", "-n", "10"], "<scenario>: error: "
         "<document>: a Sobol' design needs a power of 2 points (its balance properties hold "
         "only then), found n = 10; use 8 or 16"),
    ],
)  # fmt: skip
def test_bad_requests_exit_2_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = invoke("sweep", SMOKE, *args, "--replications", "10", "--out", out)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert not out.exists()


@pytest.mark.slow  # many commands, each writing its report (or waiting out a timeout)
def test_an_unreachable_scheduler_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    """Nothing listens on port 1: the client gives up after its 10 s timeout, and the sweep
    folder (with its checkpoint) is not created before the cluster is reached."""
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    result = invoke(
        "sweep", SMOKE, "--vary", "contagion=0:1", "--replications", "10", "--out", out,
        "--scheduler", "tcp://127.0.0.1:1", "-q",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:1: ")
    assert not out.exists()


def test_resume_after_kill_9_equals_an_uninterrupted_sweep(tmp_path: Path) -> None:
    """Start a sweep in a separate process, SIGKILL it once some points are saved (and
    before all are), resume it, and compare with a sweep that ran in one go."""
    out = tmp_path / "killed"
    args = [
        "sweep", str(SMOKE), "--vary", "contagion=0:2:30", "--replications", "100",
        "--seed", "9", "--workers", "1", "-q", "--outcome", "uz_by_2027",
        "--outcome", "trade_2027",
    ]  # fmt: skip
    command = Path(sys.executable).with_name("steppe")
    proc = subprocess.Popen([str(command), *args, "--out", str(out)])
    points = out / "points"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if points.is_dir() and len(list(points.glob("*.json"))) >= 3:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    saved = len(list(points.glob("*.json")))
    assert 3 <= saved < 30, f"the sweep was not interrupted mid-run ({saved} points saved)"
    assert not (out / "points.parquet").exists()
    resumed = invoke(*args, "--out", out, "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stdout.endswith(f"({saved} resumed from the checkpoint)\n")
    assert json.loads((out / "manifest.json").read_text())["points_resumed"] == saved
    whole = invoke(*args, "--out", tmp_path / "whole")
    assert whole.exit_code == 0, whole.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "points.parquet"),
        pd.read_parquet(tmp_path / "whole" / "points.parquet"),
        check_exact=True,
    )
    assert len(list(points.glob("*.json"))) == 30
    assert not list(points.glob(".tmp-*"))  # a temporary file from the kill was cleaned...
    # ... or never existed; either way no stray file is read as a point.


def test_resuming_another_sweep_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "sw"
    base = ["sweep", SMOKE, "--vary", "contagion=0:2:2", "--replications", "20", "-q"]
    assert invoke(*base, "--seed", "1", "--out", out).exit_code == 0
    result = invoke(*base, "--seed", "2", "--out", out, "--resume")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cannot resume the sweep in {out}: it was made by a ")
    assert "seed: 1 in the checkpoint, 2 now" in result.stderr


def test_readme_sweep_commands_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands of the README's "Sweeps and sensitivity" section, at small sizes."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"## Sweeps and sensitivity\n.*?```bash\n(.*?)```", readme, re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    for command in filter(None, commands):
        words = shlex.split(command)
        assert words[:2] == ["steppe", "sweep"], command
        if "-n" in words:  # the smallest design of each kind (2 is a power of 2)
            words[words.index("-n") + 1] = "2"
        result = invoke(*words[1:], "--replications", "20", "-q", "--workers", "1")
        assert result.exit_code == 0, (command, result.stderr)
        assert (tmp_path / "results").is_dir()


def test_a_sweep_projected_over_an_hour_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock moves 1,000 s each time it is read: the first of 4 points ends 1,000 s
    after the points started, so the sweep is projected at 4,000 s (steppe._progress)."""
    import steppe._progress

    reads = iter(range(1000, 10**6, 1000))
    monkeypatch.setattr(steppe._progress, "_clock", lambda: float(next(reads)))
    result = invoke(
        "sweep", SMOKE, "--vary", "contagion=0:2:4", "--replications", "20", "--workers", "1",
        "--engine", "simpy", "--out", tmp_path / "sw",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "steppe: this sweep of 4 design points will take about 1 h 7 min on 1 worker "
        "(estimated from the first design point); press Ctrl-C to stop\n"
    )
