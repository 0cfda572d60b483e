"""How does P(a state bordering Afghanistan delists the Taliban by 2027) depend on contagion
strength and on the frequency of security shocks?

The baseline has no outcome for "any of Uzbekistan, Tajikistan, Turkmenistan", so this
script adds one in a variant (``extends:``), sweeps ``contagion`` and ``shock_rate`` over a
grid with common random numbers, and writes a table and a chart with Monte Carlo error
bands.

    python examples/contagion_vs_shocks.py                    # 5 x 4 points, 2,000 runs each
    python examples/contagion_vs_shocks.py --levels 3 --replications 200   # a quick look
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt

import steppe

ROOT = Path(__file__).resolve().parents[1]

VARIANT = """
extends: baseline.yaml
name: bordering_states
title: Baseline with an outcome for the three states bordering Afghanistan
description: The baseline, plus P(UZ, TJ or TM delists the Taliban by end-2027).
outcomes:
  bordering_delists_by_2027:
    title: P(Uzbekistan, Tajikistan or Turkmenistan delists the Taliban by 31 Dec 2027)
    probability: any_occurred(uz_delists, tj_delists, tm_delists)
    by: 2027-12-31
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=5, help="grid levels of contagion")
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    parser.add_argument("--out", type=Path, default=Path("results/examples/contagion_vs_shocks"))
    args = parser.parse_args(argv)

    # A variant read from text: `extends` is resolved against the scenarios folder.
    scenario = steppe.loads(VARIANT, file=str(ROOT / "scenarios" / "bordering_states.yaml"))
    shock_rates = [0.15, 0.35, 0.55, 0.8]  # the baseline's 90% range is 0.15-0.8 per year
    table = steppe.sweep(
        scenario,
        vary={"contagion": (0.3, 3.0), "shock_rate": shock_rates},
        design="grid",
        n=args.levels,
        replications=args.replications,
        seed=args.seed,
        outcomes=["bordering_delists_by_2027"],
        workers=args.workers,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "points.csv", index=False)

    p = "bordering_delists_by_2027"
    print("P(a bordering state delists by 2027), rows: contagion, columns: shock rate per year")
    print(table.pivot(index="contagion", columns="shock_rate", values=p).round(3).to_string())
    print(f"Monte Carlo standard errors are at most {table[p + '_se'].max():.3f}.")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for rate, rows in table.groupby("shock_rate"):
        band = 1.96 * rows[p + "_se"]
        ax.fill_between(rows["contagion"], rows[p] - band, rows[p] + band, alpha=0.2)
        ax.plot(rows["contagion"], rows[p], marker="o", label=f"{rate:g} shocks/yr")
    ax.set_xlabel("contagion (relative hazard increase per neighbour that has delisted)")
    ax.set_ylabel("P(UZ, TJ or TM delists by 2027)")
    ax.legend(title="shock rate")
    ax.set_title("Common random numbers: every point uses the same seed", fontsize="small")
    fig.tight_layout()
    fig.savefig(args.out / "contagion_vs_shocks.png", dpi=110)
    plt.close(fig)
    print(f"table and chart written to {args.out}")


if __name__ == "__main__":
    main()
