"""One random stream per source of randomness per replication (``docs/engine.md`` section 5).

What these streams promise, checked exactly (no tolerances: these are identities):

* the registry of roots (``steppe.streams``) is the only place that derives streams, and its
  roots and a scenario's sources are distinct;
* a replication's numbers depend on its index only: any range of replications gives the same
  rows as a run that contains it;
* a variant that changes only TAPI's parameters, or that adds an unrelated event, gives every
  outcome that does not depend on the change **bit for bit** the same, replication by
  replication, on the reference engine and on the compiled engine;
* the compiled engine draws the same numbers as the reference and applies the same
  arithmetic, so the two engines give the same outcomes replication by replication.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import steppe
from steppe import streams
from steppe.engines.common import sources
from steppe.engines.des import simulate_des
from steppe.engines.kernel import simulate_kernel
from steppe.model.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
DATA = sorted((ROOT / "tests" / "data").glob("*.yaml"))


def _variant(tmp_path: Path, name: str, change: Any) -> Scenario:
    """The baseline with ``change(spec)`` applied, written next to the test and loaded."""
    spec = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    spec = copy.deepcopy(spec)
    change(spec)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return steppe.load(path)


def _tapi_only(spec: dict[str, Any]) -> None:
    spec["parameters"]["tapi_cancel_base"] = {"value": 0.3, "why": "test: a riskier TAPI"}
    spec["projects"]["tapi"]["stages"][0]["duration"] = {
        "dist": "pert", "min": 0.5, "mode": 1.0, "max": 3.0, "why": "test: faster preparation",
    }  # fmt: skip


def _unrelated_event(spec: dict[str, Any]) -> None:
    spec["events"]["unrelated"] = {
        "hazard": "0.7",
        "recurring": True,
        "duration": {"dist": "exponential", "mean": 0.3, "why": "test"},
        "why": "test: an event nothing reads",
    }


def _same_columns(a: np.ndarray, b: np.ndarray, names: list[str]) -> list[str]:
    """The outcomes whose samples are identical (NaN equal to NaN)."""
    return [n for i, n in enumerate(names) if np.array_equal(a[:, i], b[:, i], equal_nan=True)]


def test_roots_are_distinct_and_name_their_purpose() -> None:
    assert len(set(streams.ROOTS.values())) == len(streams.ROOTS)
    assert set(streams.ROOTS) == {
        "PARAMETERS", "DYNAMICS", "DESIGN", "SENSITIVITY_SAMPLE", "SENSITIVITY_BOOT", "RESAMPLING",
        "CORRELATION",
        "SCORING_PIT",
    }  # fmt: skip


def test_only_the_registry_derives_streams() -> None:
    """No module but ``steppe.streams`` calls a SeedSequence, a bit generator or
    ``default_rng`` (found in the code, not in the docstrings)."""
    makers = {"SeedSequence", "default_rng", "PCG64", "Philox", "MT19937", "SFC64"}
    offenders = []
    for path in (ROOT / "src" / "steppe").rglob("*.py"):
        if path.name == "streams.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in makers or any(k.arg == "spawn_key" for k in node.keywords):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_sources_are_named_and_their_keys_distinct() -> None:
    sc = steppe.load(BASELINE)
    src = sources(sc)
    assert len(set(src.names)) == len(src.names)
    assert "event:uz_delists:clock" in src.names
    assert "project:tapi:stage:construction" in src.names
    assert "series:kz_trade:noise" in src.names
    keys = src.keys(7)
    assert len({tuple(k) for k in keys.tolist()}) == len(keys)
    # keyed by name: the same source has the same key in another scenario and order
    again = streams.dynamics_keys(7, ["series:kz_trade:noise"])
    assert np.array_equal(again[0], keys[src.names.index("series:kz_trade:noise")])
    assert not np.array_equal(streams.dynamics_keys(8, src.names), keys)


@pytest.mark.parametrize("engine", ["simpy", "compiled"])
def test_a_replication_does_not_depend_on_its_batch(engine: str) -> None:
    sc = steppe.load(BASELINE)
    run = simulate_des if engine == "simpy" else _kernel
    whole = run(sc, seed=5, start=0, n=120)
    part = run(sc, seed=5, start=70, n=30)
    assert np.array_equal(whole[70:100], part, equal_nan=True)


def _kernel(sc: Scenario, *, seed: int, start: int, n: int) -> np.ndarray:
    return simulate_kernel(sc, seed=seed, start=start, n=n)


@pytest.mark.parametrize(
    ("engine", "n"), [("simpy", 300), ("compiled", 5_000)], ids=["simpy", "compiled"]
)
def test_a_tapi_variant_changes_only_tapi(tmp_path: Path, engine: str, n: int) -> None:
    """Only ``tapi_completed`` reads TAPI: every other outcome is bit-identical."""
    base = steppe.load(BASELINE)
    variant = _variant(tmp_path, "tapi", _tapi_only)
    run = simulate_des if engine == "simpy" else _kernel
    a, b = run(base, seed=11, start=0, n=n), run(variant, seed=11, start=0, n=n)
    names = [o.name for o in base.outcomes]
    assert [o.name for o in variant.outcomes] == names
    assert set(names) - set(_same_columns(a, b, names)) == {"tapi_completed"}


@pytest.mark.parametrize(
    ("engine", "n"),
    [("simpy", 300), pytest.param("compiled", 5_000, marks=pytest.mark.slow)],
    ids=["simpy", "compiled"],
)
def test_an_unrelated_event_changes_nothing(tmp_path: Path, engine: str, n: int) -> None:
    """An added event that nothing reads leaves every outcome bit-identical (the compiled
    case compiles a kernel of its own: slow tier)."""
    base = steppe.load(BASELINE)
    variant = _variant(tmp_path, "unrelated", _unrelated_event)
    run = simulate_des if engine == "simpy" else _kernel
    a, b = run(base, seed=12, start=0, n=n), run(variant, seed=12, start=0, n=n)
    names = [o.name for o in base.outcomes]
    assert _same_columns(a, b, names) == names


@pytest.mark.parametrize(
    "path",
    [BASELINE, *[pytest.param(p, marks=pytest.mark.slow) for p in SHIPPED + DATA if p != BASELINE]],
    ids=lambda p: p.stem,
)
def test_the_compiled_engine_reproduces_the_reference(path: Path) -> None:
    """Same seed, same replications: the same outcomes, bit for bit, in both engines."""
    sc = steppe.load(path)
    a = simulate_des(sc, seed=2024, start=1000, n=150)
    b = _kernel(sc, seed=2024, start=1000, n=150)
    names = [o.name for o in sc.outcomes]
    assert _same_columns(a, b, names) == names
