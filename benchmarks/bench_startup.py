"""Time to first answer: the wall time of steppe's short commands, each in a fresh process.

Run from the repository root::

    python benchmarks/bench_startup.py                      # this tree, medians of 7
    python benchmarks/bench_startup.py --against main       # ... and main's, side by side

It prints the median (and range) over ``--repeat`` runs of:

* ``python -c pass`` and ``python -c "import numpy"``: yardsticks of the machine's speed at
  the moment (the interpreter's start, and one heavy import);
* ``python -c "import steppe"``;
* ``steppe --help``;
* ``steppe validate SCENARIO``;
* ``steppe run SCENARIO --out TMP``: the whole command at the scenario's default
  replications, report and figures included.

The commands run as ``python -m steppe ...``, which is what the ``steppe`` script does
(a pyenv shim in front of the script would add its own start-up, about 0.1 s here).
Every command runs once, untimed, before the timing starts: that writes the bytecode
cache, as installing a package does (``PYTHONDONTWRITEBYTECODE`` is removed from the
commands' environment: without it every command would compile steppe's sources first),
and it compiles the scenario's kernel, or loads it from the cache, so that ``run`` uses the
engine it uses on a machine that has run the scenario before (``--engine auto``: the
compiled one; the table says which engine ran). With ``--against REV`` (a git revision),
the ``src`` folder of ``REV`` is exported to a temporary folder and measured in the same
run, its commands alternating with this tree's, so that the machine's drift affects both
alike; each tree has its own kernel cache (this tree's is ``$STEPPE_CACHE_DIR`` if set).

Not part of the test suite: a benchmark reports numbers, it asserts nothing (issue 18's
targets are 0.3 s for ``validate`` and ``--help`` and 1.0 s for ``run``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def commands(scenario: Path, out: Path) -> dict[str, list[str]]:
    """Each measured command (its label and its arguments after the interpreter)."""
    return {
        "python -c pass": ["-c", "pass"],
        'python -c "import numpy"': ["-c", "import numpy"],
        'python -c "import steppe"': ["-c", "import steppe"],
        "steppe --help": ["-m", "steppe", "--help"],
        f"steppe validate {scenario}": ["-m", "steppe", "validate", str(scenario)],
        f"steppe run {scenario}": ["-m", "steppe", "run", str(scenario), "--out", str(out)],
    }


def _export(rev: str, folder: Path) -> Path:
    """The ``src`` folder of git revision ``rev``, exported into ``folder``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"], check=True, capture_output=True, cwd=HERE
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def _env(src: Path, cache: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(src), "STEPPE_CACHE_DIR": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time(args: list[str], env: dict[str, str]) -> float:
    """Wall seconds of ``python ARGS`` in a fresh process (it must succeed)."""
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        check=True, env=env, cwd=HERE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - began


def _engine(out: Path) -> str:
    """The engine the timed ``run`` used (its manifest says)."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except OSError:
        return "?"
    return str(manifest.get("engine", "?"))


def measure(
    trees: dict[str, Path], scenario: Path, repeat: int, root: Path
) -> tuple[dict[str, dict[str, list[float]]], dict[str, str]]:
    """Times of every command of every tree, alternating; and the engine each tree's run used."""
    caches = [root / f"cache-{i}" for i in range(len(trees))]
    if os.environ.get("STEPPE_CACHE_DIR"):  # this tree's kernels: where they are already
        caches[0] = Path(os.environ["STEPPE_CACHE_DIR"])
    envs = {
        name: _env(src, cache) for (name, src), cache in zip(trees.items(), caches, strict=True)
    }
    outs = {name: root / f"out-{i}" for i, name in enumerate(trees)}
    for name in trees:  # untimed: bytecode written, kernel compiled (or loaded from the cache)
        for args in commands(scenario, outs[name]).values():
            subprocess.run(
                [sys.executable, *args],
                check=True, env=envs[name], cwd=HERE, capture_output=True,
            )  # fmt: skip
        warm = ["-m", "steppe", "run", str(scenario), "--out", str(outs[name])]
        subprocess.run(
            [sys.executable, *warm, "--engine", "compiled", "-q"],
            check=True, env=envs[name], cwd=HERE, capture_output=True,
        )  # fmt: skip
    times: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    for _ in range(max(1, repeat)):
        for name in trees:
            for label, args in commands(scenario, outs[name]).items():
                times[name].setdefault(label, []).append(_time(args, envs[name]))
    return times, {name: _engine(outs[name]) for name in trees}


def report(times: dict[str, dict[str, list[float]]], engines: dict[str, str]) -> None:
    """Print the table: per command, each tree's median and range."""
    names = list(times)
    labels = list(times[names[0]])
    heads = [f"{n} (median, min-max)" for n in names]
    print("| command | " + " | ".join(heads) + " |")
    print("| --- |" + " ---: |" * len(names))
    for label in labels:
        cells = []
        for name in names:
            t = times[name][label]
            cells.append(f"{statistics.median(t):.3f} s ({min(t):.3f}-{max(t):.3f})")
        shown = label + (
            f" (engine: {', '.join(sorted(set(engines.values())))})"
            if label.startswith("steppe run")
            else ""
        )
        print(f"| {shown} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=Path("scenarios/baseline.yaml"), type=Path)
    ap.add_argument("--repeat", type=int, default=7, help="timed runs of each command")
    ap.add_argument("--against", metavar="REV", help="also measure git revision REV")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="steppe-startup-") as tmp:
        root = Path(tmp)
        trees = {"this tree": HERE / "src"}
        if args.against:
            trees[args.against] = _export(args.against, root)
        times, engines = measure(trees, args.scenario, args.repeat, root)
    print(
        f"{sys.version.split()[0]}, {os.cpu_count()} cores, {args.repeat} runs of each command "
        f"(alternating{' between the trees' if args.against else ''}), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    report(times, engines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
