"""The engine contract and registry: which engines there are, what ``auto`` picks, the retired
``vector`` engine, and that nothing outside the engines branches on an engine's name.

What each engine computes is tested elsewhere: ``test_equivalence.py`` (the same law as the
reference), ``test_execute.py`` (the same numbers on any number of workers),
``test_kernel.py`` (the compiled engine's code).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import steppe
import steppe.engines.kernel
import steppe.engines.registry
from steppe.api import engine_for_runs
from steppe.cli import main
from steppe.engines import (
    AUTO_COMPILED_FROM,
    CHOICES,
    ENGINES,
    RETIRED,
    Engine,
    get_engine,
    resolve_engine,
)
from steppe.errors import EngineError, ScenarioError
from steppe.sweeps.designs import make_design
from steppe.sweeps.runner import run_design

SRC = Path(steppe.__file__).parent
SMOKE = Path(__file__).parent / "data" / "smoke.yaml"

#: What a retired engine's name gives, wherever it is asked for.
RETIRED_VECTOR = (
    "the NumPy 'vector' engine was retired in steppe 0.2 (issue 14): use --engine compiled "
    "(the fast engine) or --engine simpy (the reference); see docs/engine.md"
)

#: A small scenario for the tests of ``auto``; its kernel is compiled once, into a cache of
#: this module's own (:func:`warm_cache`).
PROBE = textwrap.dedent(
    """
    name: probe
    title: a scenario for the engine choice
    start: 2024-01-01
    horizon: 2026-12-31
    parameters:
      rate: {dist: uniform, low: 0.5, high: 1.5}
    events:
      e: {hazard: "rate * (1 + count(f))", recurring: true}
      f: {hazard: "rate / 4"}
    outcomes:
      n_e: {value: count(e)}
      f_by_2025: {probability: occurred(f), by: 2025-12-31}
    """
)


def probe() -> steppe.Scenario:
    return steppe.loads(PROBE)


def use_cache(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Use the kernel cache in ``folder``, as a new process would (no kernel loaded)."""
    monkeypatch.setenv("STEPPE_CACHE_DIR", str(folder))
    monkeypatch.setattr(steppe.engines.kernel, "_loaded", {})


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A kernel cache that holds :data:`PROBE`'s kernel: compiled here, once (5-30 s)."""
    folder = tmp_path_factory.mktemp("warm") / "cache"
    with pytest.MonkeyPatch.context() as mp:
        use_cache(mp, folder)
        sc = probe()
        compiled = ENGINES["compiled"]
        assert not compiled.ready(sc)
        compiled.prepare(sc)
        assert compiled.ready(sc)
    yield folder


# ---------------------------------------------------------------------------------------
# the registry and the protocol
# ---------------------------------------------------------------------------------------


def test_the_registry_holds_the_reference_and_the_compiled_engine() -> None:
    assert list(ENGINES) == ["simpy", "compiled"]
    assert CHOICES == ("auto", "simpy", "compiled")
    assert set(RETIRED) == {"vector"}
    for name, engine in ENGINES.items():
        assert get_engine(name) is engine
        assert engine.name == name


@pytest.mark.parametrize("name", list(ENGINES))
def test_every_engine_satisfies_the_protocol(name: str) -> None:
    engine = ENGINES[name]
    assert isinstance(engine, Engine)
    assert isinstance(engine.chunk_size, int) and engine.chunk_size >= 1
    assert isinstance(engine.smallest_chunk, int)
    assert 1 <= engine.smallest_chunk <= engine.chunk_size
    assert engine.sample_order in ("C", "F")


@pytest.mark.parametrize("name", list(ENGINES))
def test_every_engine_runs_a_chunk_in_its_layout(
    name: str, warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Samples of the replications asked for, in the engine's sample order, the same
    numbers every time."""
    use_cache(monkeypatch, warm_cache)
    sc = probe()
    engine = ENGINES[name]
    assert engine.unsupported(sc) is None
    engine.prepare(sc)
    x = engine.simulate(sc, seed=5, start=40, n=30)
    assert x.shape == (30, len(sc.outcomes))
    assert x.flags[f"{engine.sample_order}_CONTIGUOUS"]
    assert set(np.unique(x[:, 1])) <= {0.0, 1.0}
    np.testing.assert_array_equal(engine.simulate(sc, seed=5, start=40, n=30), x, strict=True)
    assert engine.simulate(sc, seed=5, start=40, n=0).shape == (0, len(sc.outcomes))


def test_the_reference_engine_is_always_ready(cold_cache: Path) -> None:
    reference = ENGINES["simpy"]
    assert reference.ready(probe())
    assert reference.unsupported(probe()) is None


def test_auto_is_not_an_engine() -> None:
    with pytest.raises(EngineError, match="'auto' is not an engine"):
        get_engine("auto")


# ---------------------------------------------------------------------------------------
# the retired vector engine, and unknown names
# ---------------------------------------------------------------------------------------


def test_the_vector_engine_is_retired_in_the_api(tmp_path: Path) -> None:
    assert RETIRED["vector"] == RETIRED_VECTOR
    sc = probe()
    vector: Any = "vector"  # not an EngineChoice any more
    calls = [
        lambda: get_engine(vector),
        lambda: resolve_engine(vector, [sc], 10),
        lambda: steppe.run(sc, engine=vector),
        lambda: steppe.sweep(sc, vary={"rate": (0.5, 1.5)}, engine=vector),
        lambda: steppe.compare(sc, sc, engine=vector),
        lambda: steppe.sensitivity(sc, params={"rate": (0.5, 1.5)}, engine=vector),
    ]
    for call in calls:
        with pytest.raises(EngineError) as err:
            call()
        assert str(err.value) == f"error: {RETIRED_VECTOR}"


def test_an_unknown_engine_lists_the_choices() -> None:
    warp: Any = "warp"
    with pytest.raises(EngineError) as err:
        steppe.run(probe(), engine=warp)
    assert str(err.value) == "error: unknown engine 'warp'; expected one of auto, simpy, compiled"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "command",
    [
        ["run", str(SMOKE), "-n", "20"],
        ["sweep", str(SMOKE), "--vary", "contagion=0.3:1.9", "-n", "2", "--replications", "20"],
        ["compare", str(SMOKE), str(SMOKE), "-n", "20"],
    ],
    ids=["run", "sweep", "compare"],
)
def test_the_command_line_refuses_the_vector_engine(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit status 2, the message on standard error, and nothing written (not even the
    default results/ folder)."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [*command, "--engine", "vector", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {RETIRED_VECTOR}\n"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_the_help_lists_only_the_engines_there_are() -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    assert "[auto|simpy|compiled]" in result.stdout
    assert "vector" not in result.stdout


# ---------------------------------------------------------------------------------------
# auto
# ---------------------------------------------------------------------------------------


def test_auto_runs_a_small_run_of_a_new_scenario_on_the_reference(cold_cache: Path) -> None:
    """No kernel compiled: a default-size run answers at once on SimPy, and compiles
    nothing."""
    sc = probe()
    assert not ENGINES["compiled"].ready(sc)
    assert resolve_engine("auto", [sc], 2_000).name == "simpy"
    assert resolve_engine("auto", [sc], AUTO_COMPILED_FROM - 1).name == "simpy"
    res = steppe.run(sc, replications=200, seed=1, traces=False)
    assert res.summary["engine"] == res.manifest["engine"] == "simpy"
    assert not any(cold_cache.rglob("*.nbi"))


def test_auto_compiles_for_a_large_run(cold_cache: Path) -> None:
    """At least AUTO_COMPILED_FROM replications: the compiled engine, even if its kernel
    must be compiled first (a run, a sweep's total, a comparison's per scenario)."""
    sc = probe()
    assert AUTO_COMPILED_FROM == 10_000
    assert resolve_engine("auto", [sc], AUTO_COMPILED_FROM).name == "compiled"
    assert engine_for_runs([sc], engine="auto", replications=10_000, traces=False) == "compiled"
    assert engine_for_runs([sc, sc], engine="auto", replications=10_000) == "compiled"
    assert engine_for_runs([sc, sc], engine="auto", replications=9_999) == "simpy"


def test_auto_uses_a_ready_kernel_for_every_size(
    warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the kernel is compiled (in the cache, or in this process), auto uses it."""
    use_cache(monkeypatch, warm_cache)  # a later process on the same machine
    sc = probe()
    assert ENGINES["compiled"].ready(sc)
    assert resolve_engine("auto", [sc], 1).name == "compiled"
    res = steppe.run(sc, replications=200, seed=1, traces=False)
    assert res.summary["engine"] == res.manifest["engine"] == "compiled"
    # ... but the scenario with the report's traces is another kernel, not compiled yet
    assert steppe.run(sc, replications=200, seed=1).summary["engine"] == "simpy"


def test_auto_never_picks_an_engine_that_cannot_run_the_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(steppe.engines.kernel, "available", lambda: False)  # no Numba
    sc = probe()
    assert ENGINES["compiled"].unsupported(sc) == "Numba is not installed"
    assert not ENGINES["compiled"].ready(sc)
    assert resolve_engine("auto", [sc], 10**6).name == "simpy"
    with pytest.raises(ScenarioError, match="the compiled engine cannot run this scenario: Numba"):
        resolve_engine("compiled", [sc], 10)


def test_a_comparison_runs_every_scenario_on_one_engine(
    warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small runs: the compiled engine only if every scenario's kernel is ready."""
    use_cache(monkeypatch, warm_cache)
    other = steppe.loads(PROBE.replace('"rate / 4"', '"rate / 4 + count(e) / 100"'))
    assert ENGINES["compiled"].ready(probe()) and not ENGINES["compiled"].ready(other)
    options: dict[str, Any] = {"engine": "auto", "replications": 100, "traces": False}
    assert engine_for_runs([probe(), probe()], **options) == "compiled"
    assert engine_for_runs([probe(), other], **options) == "simpy"
    cmp = steppe.compare(probe(), other, replications=100, seed=1)
    assert [m["engine"] for m in cmp.manifests] == ["simpy", "simpy"]


def test_a_resumed_sweep_keeps_the_engine_it_started_with(
    cold_cache: Path, warm_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small sweep starts on SimPy; the kernel gets compiled meanwhile; resuming goes on
    with SimPy (its checkpoint says so) rather than refusing a 'different' sweep. A new
    sweep uses the kernel."""
    design = make_design({"rate": (0.5, 1.5)}, design="grid", n=3, seed=1)
    common = {"outcomes": None, "replications": 20, "seed": 1, "checkpoint": tmp_path / "ck"}
    first = run_design(probe(), design, **common)  # type: ignore[arg-type]
    assert first.key["engine"] == "auto"
    assert first.key["engine_used"] == "simpy"
    use_cache(monkeypatch, warm_cache)
    again = run_design(probe(), design, **common)  # type: ignore[arg-type]
    assert again.key["engine_used"] == "simpy"
    assert again.resumed == len(design)
    fresh = run_design(probe(), design, resume=False, **common)  # type: ignore[arg-type]
    assert fresh.key["engine_used"] == "compiled"
    assert fresh.resumed == 0


def test_prefer_is_for_auto_only_and_ignores_other_names() -> None:
    sc = probe()
    assert resolve_engine("auto", [sc], 1, prefer="compiled").name == "compiled"
    assert resolve_engine("auto", [sc], 10**6, prefer="simpy").name == "simpy"
    assert resolve_engine("simpy", [sc], 1, prefer="compiled").name == "simpy"
    for stale in ("vector", "warp", None):
        assert resolve_engine("auto", [sc], 10**6, prefer=stale).name == "compiled"


# ---------------------------------------------------------------------------------------
# nothing outside the engines names an engine
# ---------------------------------------------------------------------------------------

#: The modules that run engines without knowing them (docs/engine.md, section 8).
CALLERS = [
    "api.py",
    "execute.py",
    "cli.py",
    "_options.py",
    *(f"sweeps/{p.name}" for p in sorted((SRC / "sweeps").glob("*.py"))),
    *(f"analysis/{p.name}" for p in sorted((SRC / "analysis").glob("*.py"))),
]


def _engine_names_compared_or_indexed(tree: ast.AST) -> list[str]:
    """Engine names (current or retired) that code compares with, tests membership in,
    matches or indexes by: ``engine == "compiled"``, ``x in ("simpy", ...)``,
    ``CHUNK_SIZE["vector"]``, ``case "simpy":``."""
    names = set(ENGINES) | set(RETIRED)

    def named(node: ast.AST) -> list[str]:
        return [
            n.value
            for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in names
        ]

    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            found += named(node)
        elif isinstance(node, ast.Subscript):
            found += named(node.slice)
        elif isinstance(node, ast.MatchValue):
            found += named(node.value)
    return found


@pytest.mark.parametrize("module", CALLERS)
def test_callers_do_not_branch_on_engine_names(module: str) -> None:
    tree = ast.parse((SRC / module).read_text(encoding="utf-8"), filename=module)
    assert _engine_names_compared_or_indexed(tree) == [], module


def test_the_branch_finder_finds_branches() -> None:
    code = 'if e == "compiled" or e in ("simpy",):\n    x = SIZE["vector"]\n'
    found = _engine_names_compared_or_indexed(ast.parse(code))
    assert sorted(found) == ["compiled", "simpy", "vector"]
