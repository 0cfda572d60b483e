"""steppe deletes or replaces only what it wrote, and leaves nothing behind after a kill.

Regression tests of issue 13 (findings 1 and 6): a folder that merely held a file named
``manifest.json`` was replaced whole; ``kill -9`` during a write left ``.tmp-*`` folders
that no later run removed; ``--out`` given as a symbolic link left a stale ``.old-*`` link.
See docs/files.md and :mod:`steppe.results.folders`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import steppe
from steppe.cli import main
from steppe.errors import ResultError
from steppe.results.folders import (
    MARKER,
    STAGING,
    check_replaceable,
    folder_kind,
    marker_text,
    remove_stale,
    staging,
)
from steppe.results.io import write_result_folder

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"
SRC = ROOT / "src"


def invoke(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def user_folder(path: Path) -> dict[str, bytes]:
    """A folder of the user's that happens to hold a ``manifest.json``."""
    path.mkdir(parents=True)
    (path / "manifest.json").write_text('{"name": "my web app"}')
    (path / "thesis.tex").write_text("three years of work")
    (path / "data").mkdir()
    (path / "data" / "survey.csv").write_text("a,b\n1,2\n")
    return snapshot(path)


def snapshot(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(path.rglob("*"))
    }


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


# --- finding 1: a folder that is not steppe's is never replaced ---------------------------


def test_run_refuses_a_user_folder_holding_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "project"
    before = user_folder(out)
    result = invoke("run", SMOKE, "-n", "20", "--seed", "1", "--out", out)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    message = result.stderr  # type: ignore[attr-defined]
    assert f"cannot write a steppe result folder at {out}: it exists, is not empty" in message
    assert "no .steppe marker" in message and "choose another path with --out" in message
    assert "Traceback" not in message
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_run_refuses_before_simulating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "project"
    user_folder(out)

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the simulation should not start")

    monkeypatch.setattr("steppe.api.run", no_run)  # run_cmd imports it when it runs
    assert invoke("run", SMOKE, "--out", out).exit_code == 2  # type: ignore[attr-defined]


def test_compare_refuses_a_user_folder(tmp_path: Path) -> None:
    out = tmp_path / "project"
    before = user_folder(out)
    (out / "comparison.json").write_text("{}")
    before = snapshot(out)
    result = invoke("compare", SMOKE, SMOKE, "-n", "20", "--out", out)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "cannot write a steppe comparison folder" in result.stderr  # type: ignore[attr-defined]
    assert snapshot(out) == before


def test_sweep_refuses_a_user_folder_holding_a_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "project"
    user_folder(out)
    (out / "checkpoint.json").write_text("{}")
    before = snapshot(out)
    for extra in ([], ["--resume"]):
        result = invoke(
            "sweep", SMOKE, "--vary", "contagion=0:2:2", "-n", "20", "--out", out, "-q", *extra
        )
        assert result.exit_code == 2  # type: ignore[attr-defined]
        assert "cannot write a steppe sweep folder" in result.stderr  # type: ignore[attr-defined]
        assert snapshot(out) == before


def test_report_refuses_a_folder_steppe_did_not_write(tmp_path: Path) -> None:
    res = steppe.run(steppe.load(SMOKE), replications=20, seed=1)
    out = res.write(tmp_path / "r", report=False)
    (out / MARKER).unlink()
    (out / "figures").mkdir()
    (out / "figures" / "mine.png").write_bytes(b"not steppe's")
    result = invoke("report", out)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "not a steppe result folder" in result.stderr  # type: ignore[attr-defined]
    assert (out / "figures" / "mine.png").read_bytes() == b"not steppe's"


def test_a_result_folder_is_replaced_and_keeps_its_marker(tmp_path: Path) -> None:
    out = tmp_path / "r"
    for seed in (1, 2):
        assert invoke("run", SMOKE, "-n", "20", "--seed", seed, "--out", out).exit_code == 0  # type: ignore[attr-defined]
        assert folder_kind(out) == "result"
        assert json.loads((out / "manifest.json").read_text())["seed"] == seed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize(
    ("marker", "kind", "allowed"),
    [
        (marker_text("result"), "result", True),
        (marker_text("sweep"), "result", False),  # another kind of steppe folder
        ('{"format": "steppe-folder/99", "kind": "result"}', "result", False),
        ("not json", "result", False),
        ("", "result", False),
    ],
)
def test_only_a_valid_marker_of_the_same_kind_allows_replacing(
    tmp_path: Path, marker: str, kind: str, allowed: bool
) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / MARKER).write_text(marker)
    if allowed:
        check_replaceable(folder, kind)  # type: ignore[arg-type]
    else:
        with pytest.raises(ResultError, match=rf"^cannot write a steppe {kind} folder at "):
            check_replaceable(folder, kind)  # type: ignore[arg-type]


def test_a_marker_that_is_a_device_or_folder_is_no_marker(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / MARKER).symlink_to("/dev/zero")
    assert folder_kind(folder) is None
    (folder / MARKER).unlink()
    (folder / MARKER).mkdir()
    assert folder_kind(folder) is None


# --- finding 6: symbolic links and what a kill leaves behind -------------------------------


def test_out_as_a_symlink_writes_where_it_points_and_leaves_no_link(tmp_path: Path) -> None:
    real = tmp_path / "store" / "run-1"
    real.parent.mkdir()
    link = tmp_path / "latest"
    link.symlink_to(real, target_is_directory=True)
    for seed in (1, 2):  # the second write replaces the folder behind the link
        assert invoke("run", SMOKE, "-n", "20", "--seed", seed, "--out", link).exit_code == 0  # type: ignore[attr-defined]
        assert link.is_symlink() and link.resolve() == real.resolve()
        assert json.loads((real / "manifest.json").read_text())["seed"] == seed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "store"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["run-1"]


def test_a_symlink_to_a_user_folder_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "project"
    before = user_folder(real)
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    assert invoke("run", SMOKE, "-n", "20", "--out", link).exit_code == 2  # type: ignore[attr-defined]
    assert snapshot(real) == before and link.is_symlink()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import pandas as pd
    from steppe.results.io import write_result_folder

    def stall(tmp):
        (tmp / "partial.bin").write_bytes(b"x" * 1000)
        print("writing", flush=True)
        time.sleep(60)

    write_result_folder(Path(sys.argv[1]), summary={"new": 1}, manifest={},
                        samples=pd.DataFrame({"a": [1.0]}), extra=stall)
    """
)


def test_a_write_killed_midway_is_cleaned_by_the_next_one(tmp_path: Path) -> None:
    out = tmp_path / "r"
    write_result_folder(out, summary={"old": 1}, manifest={}, samples=pd.DataFrame({"a": [0.0]}))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    with subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE,
                          text=True, env=env) as proc:  # fmt: skip
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "writing\n"  # blocks until the writer is midway
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    # What the kill left: a staging folder beside the result; the old result is intact.
    left = list((tmp_path / STAGING).iterdir())
    assert len(left) == 1 and (left[0] / "r" / "partial.bin").is_file()
    assert json.loads((out / "summary.json").read_text()) == {"old": 1}
    write_result_folder(out, summary={"new": 2}, manifest={}, samples=pd.DataFrame({"a": [1.0]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert json.loads((out / "summary.json").read_text()) == {"new": 2}


def test_remove_stale_keeps_live_foreign_and_unknown_entries(tmp_path: Path) -> None:
    area = tmp_path / STAGING
    area.mkdir()
    with staging(tmp_path) as mine:  # this process is running: kept
        host = mine.name.split("-")[0]
        other_host = "0" * 8 if host != "0" * 8 else "1" * 8
        dead = dead_pid()
        stale_dir = area / f"{host}-{dead}-0-{'a' * 12}"
        stale_dir.mkdir()
        (stale_dir / "x").write_text("partial")
        stale_file = area / f"{host}-{dead}-0-{'b' * 12}"
        stale_file.write_text("partial")
        foreign = area / f"{other_host}-{dead}-0-{'c' * 12}"  # another machine's: kept
        foreign.mkdir()
        unknown = area / "notes"  # not a name steppe writes: kept
        unknown.write_text("?")
        removed = remove_stale(tmp_path)
        assert sorted(removed) == sorted([stale_dir, stale_file])
        assert sorted(p.name for p in area.iterdir()) == sorted([mine.name, foreign.name, "notes"])
    assert not mine.exists()


def test_a_reused_pid_does_not_keep_a_stale_entry(tmp_path: Path) -> None:
    # This process's pid, but another start time: the writer was an earlier process.
    with staging(tmp_path) as mine:
        host, pid, start, _ = mine.name.split("-")
        assert int(pid) == os.getpid()
        if int(start) == 0:
            pytest.skip("no /proc start times on this system")
        earlier = tmp_path / STAGING / f"{host}-{pid}-{int(start) - 1}-{'d' * 12}"
        earlier.mkdir()
        assert remove_stale(tmp_path) == [earlier]


def test_sweep_points_leave_no_temporary_files(tmp_path: Path) -> None:
    ck = tmp_path / "sw"
    steppe.sweep(steppe.load(SMOKE), vary={"contagion": (0.0, 2.0)}, n=3, replications=20,
                 checkpoint=ck)  # fmt: skip
    names = {str(p.relative_to(ck)) for p in ck.rglob("*")}
    assert not [n for n in names if STAGING in n or ".tmp-" in n]
    assert folder_kind(ck) == "sweep"
