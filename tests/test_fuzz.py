"""Mutated scenario files: each one loads or fails with a located ScenarioError, never more.

The mutants come from ``benchmarks/fuzz_loader.py`` (the same generator the 10,000-mutant
run uses): byte edits, YAML structure edits, odd ``extends:`` targets and expression token
edits of the shipped scenarios and the test fixtures. They are checked with
``steppe validate`` in worker processes of that script, each with a hard per-mutant timeout
and a capped address space, so a hang or a memory blow-up is counted rather than hanging or
exhausting the test run. Nothing here asserts on speed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "fuzz_loader.py"
#: The default tier: a few hundred mutants.
N = 300
SEED = 13


def _fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_loader", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_loader"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


fuzz = _fuzz()


def test_mutants_depend_only_on_the_seed_and_the_index() -> None:
    first = [fuzz.make_mutant(SEED, i) for i in range(20)]
    again = list(fuzz.mutants(SEED, 20))
    assert first == again
    other = [fuzz.make_mutant(SEED + 1, i) for i in range(20)]
    assert [m.data for m in first] != [m.data for m in other]


def test_the_default_tier_uses_every_mutation_and_every_seed_file() -> None:
    batch = list(fuzz.mutants(SEED, N))
    used = Counter(op for m in batch for op in m.mutations)
    assert set(used) == set(fuzz.MUTATIONS)
    assert {m.seed_file for m in batch} == {p.name for p in fuzz.SEEDS}
    originals = {p.read_bytes() for p in fuzz.SEEDS}
    changed = sum(m.data not in originals for m in batch)
    assert changed > 0.9 * N


@pytest.mark.skipif(sys.platform == "win32", reason="uses fork, RLIMIT_AS and named pipes")
def test_mutants_load_or_fail_with_a_located_error(tmp_path: Path) -> None:
    # Every worker kills a mutant after 10 s and caps memory at 1 GiB above its start; the
    # overall timeout is only a guard against a broken harness.
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "-n", str(N), "--seed", str(SEED), "--json", "--show", "5"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    counts = report["counts"]
    details = "\n\n".join(
        f"{f['kind']}: mutant {f['index']} of {f['seed_file']} {f['mutations']}\n{f['detail']}"
        for f in report["failures"]
    )
    assert report["failures"] == [], details
    assert counts["traceback"] == counts["unlocated"] == 0
    assert counts["hang"] == counts["memory"] == 0
    assert counts["loaded"] + counts["located"] == N
    # both outcomes happen: the mutations neither always break nor never break a file
    assert counts["loaded"] > 0
    assert counts["located"] > 0
