"""Tests of steppe.results.io: atomic writing and checked reading of result folders."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from steppe.errors import ResultError
from steppe.results.io import read_result_folder, write_json_atomic, write_result_folder


@pytest.fixture
def summary() -> dict[str, Any]:
    return {
        "outcomes": {
            "coup": {"kind": "probability", "p": 0.25, "se": 0.04, "ci95": [0.18, 0.33], "n": 100},
            "gdp": {"kind": "distribution", "mean": 1.5, "sd": float("nan"), "n": 1},
        },
        "counts": np.array([1, 2, 3]),
        "best": np.float64(np.inf),
        "runs": np.int64(100),
    }


@pytest.fixture
def manifest() -> dict[str, Any]:
    return {"scenario": "baseline.yaml", "seed": 42, "replications": 4}


@pytest.fixture
def samples() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "coup": np.array([0.0, 1.0, 0.0, 0.0]),
            "gdp": np.array([1.0, 2.5, -0.5, 3.0]),
            "delist": np.array([0.5, np.inf, 2.25, np.inf]),
        }
    )


def leftovers(parent: Path) -> list[str]:
    """What a write left behind beside its folder (its staging folder, see results.folders)."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith((".tmp-", ".steppe-")))


def test_roundtrip(
    tmp_path: Path, summary: dict[str, Any], manifest: dict[str, Any], samples: pd.DataFrame
) -> None:
    out = tmp_path / "runs" / "baseline"  # the parent does not exist yet
    assert write_result_folder(out, summary=summary, manifest=manifest, samples=samples) == out
    assert sorted(p.name for p in out.iterdir()) == [
        ".steppe",
        "manifest.json",
        "samples.parquet",
        "summary.json",
    ]
    got_summary, got_manifest, got_samples = read_result_folder(out)
    assert got_summary == {
        "outcomes": {
            "coup": {"kind": "probability", "p": 0.25, "se": 0.04, "ci95": [0.18, 0.33], "n": 100},
            "gdp": {"kind": "distribution", "mean": 1.5, "sd": None, "n": 1},
        },
        "counts": [1, 2, 3],
        "best": None,
        "runs": 100,
    }
    assert list(got_summary) == list(summary)  # key order is kept
    assert got_manifest == manifest
    pd.testing.assert_frame_equal(got_samples, samples)
    assert leftovers(out.parent) == []


def test_json_is_strict_and_indented(
    tmp_path: Path, summary: dict[str, Any], manifest: dict[str, Any], samples: pd.DataFrame
) -> None:
    out = write_result_folder(tmp_path / "r", summary=summary, manifest=manifest, samples=samples)
    text = (out / "summary.json").read_text(encoding="utf-8")
    assert "NaN" not in text
    assert "Infinity" not in text
    assert text.startswith('{\n  "outcomes": {\n')
    json.loads(text, parse_constant=lambda name: pytest.fail(f"found {name}"))


def test_overwrites_previous_result(
    tmp_path: Path, summary: dict[str, Any], manifest: dict[str, Any], samples: pd.DataFrame
) -> None:
    out = tmp_path / "r"
    write_result_folder(out, summary={"old": True}, manifest=manifest, samples=samples.head(1))
    (out / "stale.txt").write_text("from the old run")
    write_result_folder(out, summary=summary, manifest=manifest, samples=samples)
    got_summary, _, got_samples = read_result_folder(out)
    assert "old" not in got_summary
    assert len(got_samples) == 4
    assert not (out / "stale.txt").exists()
    assert leftovers(tmp_path) == []


def test_failed_parquet_write_leaves_previous_result_intact(
    tmp_path: Path,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    samples: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "r"
    write_result_folder(out, summary={"old": True}, manifest=manifest, samples=samples)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(
        ResultError, match=rf"^cannot write result folder {re.escape(str(out))}: disk full$"
    ) as ei:
        write_result_folder(out, summary=summary, manifest=manifest, samples=samples)
    assert isinstance(ei.value.__cause__, OSError)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(tmp_path) == []


def test_failed_swap_puts_previous_result_back(
    tmp_path: Path,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    samples: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "r"
    write_result_folder(out, summary={"old": True}, manifest=manifest, samples=samples)
    real_rename = os.rename

    def rename(src: Path, dst: Path) -> None:
        if Path(src).parent.parent.name == ".steppe-tmp" and Path(src).name == "r":
            raise PermissionError("rename refused")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(ResultError, match="rename refused"):
        write_result_folder(out, summary=summary, manifest=manifest, samples=samples)
    assert read_result_folder(out)[0] == {"old": True}
    assert leftovers(tmp_path) == []


def test_unserialisable_value_is_named(
    tmp_path: Path, manifest: dict[str, Any], samples: pd.DataFrame
) -> None:
    out = tmp_path / "r"
    with pytest.raises(
        ResultError,
        match=r"summary\.json\.outcomes\.x\[1\]: JSON cannot hold a value of type object$",
    ):
        write_result_folder(
            out, summary={"outcomes": {"x": [1, object()]}}, manifest=manifest, samples=samples
        )
    assert not out.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("existing", ["file", "foreign_dir"])
def test_refuses_to_replace_a_non_result(
    tmp_path: Path,
    existing: str,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    samples: pd.DataFrame,
) -> None:
    out = tmp_path / "r"
    if existing == "file":
        out.write_text("precious")
    else:
        out.mkdir()
        (out / "thesis.tex").write_text("precious")
    found = "is not a directory" if existing == "file" else "was not written by steppe"
    with pytest.raises(
        ResultError, match=rf"^cannot write a steppe result folder at .*: it exists.* {found}"
    ):
        write_result_folder(out, summary=summary, manifest=manifest, samples=samples)
    if existing == "file":
        assert out.read_text() == "precious"
    else:
        assert (out / "thesis.tex").read_text() == "precious"
    assert leftovers(tmp_path) == []


def test_replaces_an_empty_folder(
    tmp_path: Path, summary: dict[str, Any], manifest: dict[str, Any], samples: pd.DataFrame
) -> None:
    out = tmp_path / "r"
    out.mkdir()
    write_result_folder(out, summary=summary, manifest=manifest, samples=samples)
    assert read_result_folder(out)[1] == manifest


# --- write_json_atomic -------------------------------------------------------------------


def test_write_json_atomic(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_json_atomic(path, {"a": 1.5, "b": float("-inf")})
    write_json_atomic(path, {"b": [np.float64(2.0)], "a": 1})
    assert path.read_text(encoding="utf-8") == '{\n  "b": [\n    2.0\n  ],\n  "a": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_write_json_atomic_failure_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(
        ResultError, match=rf"^cannot write {re.escape(str(path))}: x\.json\.b: JSON cannot"
    ):
        write_json_atomic(path, {"b": {1, 2}})
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_write_json_atomic_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match=r"^cannot write .*nowhere/x\.json: "):
        write_json_atomic(tmp_path / "nowhere" / "x.json", {})


# --- read_result_folder ------------------------------------------------------------------


@pytest.fixture
def written(
    tmp_path: Path, summary: dict[str, Any], manifest: dict[str, Any], samples: pd.DataFrame
) -> Path:
    return write_result_folder(tmp_path / "r", summary=summary, manifest=manifest, samples=samples)


def test_read_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match=r"nope: result folder does not exist$"):
        read_result_folder(tmp_path / "nope")


def test_read_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(ResultError, match=r"f: not a directory \(expected a result folder\)$"):
        read_result_folder(tmp_path / "f")


@pytest.mark.parametrize("name", ["summary.json", "manifest.json", "samples.parquet"])
def test_read_missing_file(written: Path, name: str) -> None:
    (written / name).unlink()
    with pytest.raises(ResultError, match=rf"r/{name}: file is missing$"):
        read_result_folder(written)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"p": 0.5', r"manifest\.json: not valid JSON: Expecting ',' delimiter: line 1"),
        ('{"p": NaN}', r"manifest\.json: not valid JSON: non-standard constant NaN$"),
        ("[1, 2]", r"manifest\.json: expected a JSON object at the top level, found list$"),
    ],
)
def test_read_corrupt_json(written: Path, text: str, match: str) -> None:
    (written / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(ResultError, match=match):
        read_result_folder(written)


def test_read_corrupt_parquet(written: Path) -> None:
    (written / "samples.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ResultError, match=r"samples\.parquet: cannot be read as Parquet: ") as ei:
        read_result_folder(written)
    assert ei.value.__cause__ is not None
