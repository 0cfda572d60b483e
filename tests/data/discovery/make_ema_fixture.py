"""Make ema_prim.json: PRIM of EMA Workbench on two small data sets, for tests/test_discovery.py.

EMA Workbench 3 needs Python >= 3.12 and is no dependency of steppe, so its results are
computed once and kept. Run with an interpreter that has it::

    python3.12 -m venv /tmp/ema && /tmp/ema/bin/pip install ema_workbench==3.0.0
    /tmp/ema/bin/python tests/data/discovery/make_ema_fixture.py

The data are stored in the JSON too (the test does not depend on this script's random
numbers). For each data set: the inputs, the outcome, and the trajectory of the first box
(``Prim(x, y).find_box()``: peeling, then pasting of the last box) with every box's limits,
statistics and quasi-p-values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from ema_workbench import __version__ as ema_version
from ema_workbench.analysis import prim


def planted(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Five uniform inputs; the outcome holds in a box on two of them, 10% flipped."""
    x = pd.DataFrame(np.round(rng.random((n, 5)), 6), columns=[f"x{i}" for i in range(5)])
    y = ((x["x0"] > 0.5) & (x["x1"] < 0.4)).to_numpy()
    flip = rng.random(n) < 0.1
    return x, (y ^ flip).astype(int)


def sloped(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Four inputs on different scales; the outcome's probability rises with two of them."""
    x = pd.DataFrame(
        {
            "a": np.round(rng.normal(10, 3, n), 4),
            "b": np.round(rng.lognormal(0, 1, n), 4),
            "c": np.round(rng.uniform(-1, 1, n), 4),
            "d": np.round(rng.integers(0, 20, n) / 2.0, 1),  # ties: half-integers
        }
    )
    logit = 0.6 * (x["a"] - 12) + 1.5 * (x["d"] - 7)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).to_numpy().astype(int)
    return x, y


def finite(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v == -1 else float(v)


def run(x: pd.DataFrame, y: np.ndarray) -> dict[str, object]:
    p = prim.Prim(x, y, peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05)
    box = p.find_box()
    traj = box.peeling_trajectory
    boxes = []
    for i in range(len(traj)):
        lims = box.box_lims[i]
        boxes.append(
            {
                "coverage": float(traj.loc[i, "coverage"]),
                "density": float(traj.loc[i, "density"]),
                "mass": float(traj.loc[i, "mass"]),
                "res_dim": int(traj.loc[i, "res_dim"]),
                "n": int(traj.loc[i, "n"]),
                "k": int(traj.loc[i, "k"]),
                "lower": [float(lims.loc[0, c]) for c in x.columns],
                "upper": [float(lims.loc[1, c]) for c in x.columns],
                "qp": {k: [finite(v) for v in vs] for k, vs in box.p_values[i].items()},
            }
        )
    return {
        "columns": list(x.columns),
        "x": x.to_numpy().tolist(),
        "y": [int(v) for v in y],
        "trajectory": boxes,
    }


def main() -> None:
    rng = np.random.default_rng(20261205)
    out = {
        "made_by": "tests/data/discovery/make_ema_fixture.py",
        "ema_workbench": ema_version,
        "settings": {"peel_alpha": 0.05, "paste_alpha": 0.05, "mass_min": 0.05},
        "planted": run(*planted(rng, 800)),
        "sloped": run(*sloped(rng, 600)),
    }
    path = Path(__file__).with_name("ema_prim.json")
    path.write_text(json.dumps(out) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
