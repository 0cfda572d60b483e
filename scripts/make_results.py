"""Regenerate the committed results of the shipped scenarios: ``results/<name>/``.

Usage (from the repository root)::

    python scripts/make_results.py            # every scenarios/*.yaml
    python scripts/make_results.py baseline   # only some, by name

Every scenario runs with its own ``seed`` and ``replications`` (the variants inherit the
baseline's: seed 20240115, 2,000 replications, so the folders share their parameter draws
and ``steppe compare results/A results/B`` pairs them) on the compiled engine, as
``steppe run scenarios/<name>.yaml --engine compiled`` does, and its result folder is
written with the report. The engine is named, not ``auto``: ``auto`` takes the reference
engine while a scenario's kernel is not compiled yet, and the manifests would then say so;
both engines give the same numbers (``docs/engine.md`` section 8). ``summary.json``,
``manifest.json``, ``report.md`` and ``figures/`` are committed;
``samples.parquet`` and ``report.html`` stay local (.gitignore).
``tests/test_results_sync.py`` checks that each committed folder was made from the current
scenario file (same sha256), so rerun this after changing a scenario.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import steppe

ROOT = Path(__file__).resolve().parents[1]


def main(names: list[str]) -> None:
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    if names:
        files = [f for f in files if f.stem in names]
    for path in files:
        began = time.perf_counter()
        sc = steppe.load(path.relative_to(ROOT))  # the manifest records the relative path
        res = steppe.run(sc, workers=None, engine="compiled")  # its own seed and replications
        out = res.write(ROOT / "results" / sc.name)
        print(f"{out.relative_to(ROOT)}: {time.perf_counter() - began:.1f} s", flush=True)


if __name__ == "__main__":
    import os

    os.chdir(ROOT)
    main(sys.argv[1:])
