"""Which assumption drives whether Uzbekistan delists the Taliban by 2027? Sobol' indices of
the baseline's P(UZ delists by 2027) to five of its parameters, with bootstrap intervals.

The Saltelli design needs n * (d + 2) runs of the scenario (n a power of 2). Each point's
estimate carries Monte Carlo error; the "noise share" printed with the indices says how
much of the spread across points is that noise (keep it small by raising --replications).

    python examples/sobol_delisting_drivers.py                   # n = 128: 896 runs of 2,000
    python examples/sobol_delisting_drivers.py -n 8 --replications 200    # a quick look
"""

from __future__ import annotations

import argparse
from pathlib import Path

import steppe

ROOT = Path(__file__).resolve().parents[1]

#: The ranges are the baseline's 90% intervals (see scenarios/baseline.yaml).
PARAMS = {
    "delist_base": (0.015, 0.15),
    "border_penalty": (0.05, 0.35),
    "contagion": (0.3, 3.0),
    "shock_rate": (0.15, 0.8),
    "shock_dampener": (0.05, 0.5),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=128, help="Sobol' base samples, a power of 2")
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=None, help="default: all cores")
    parser.add_argument("--out", type=Path, default=Path("results/examples/sobol_drivers"))
    args = parser.parse_args(argv)

    result = steppe.sensitivity(
        ROOT / "scenarios" / "baseline.yaml",
        params=PARAMS,
        outcomes=["uz_delists_by_2027"],
        method="sobol",
        n=args.n,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        checkpoint=args.out / "checkpoint",  # rerun after an interruption: nothing redone
    )
    table = result.table("uz_delists_by_2027").sort_values("ST", ascending=False)
    print(f"Sobol' indices of P(UZ delists by 2027), {len(result.points)} runs")
    print(table[["S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]].round(3).to_string())
    print(f"noise share: {result.noise_share['uz_delists_by_2027']:.3f}")
    result.to_frame().to_csv(args.out / "indices.csv")
    print(f"indices written to {args.out / 'indices.csv'}")


if __name__ == "__main__":
    main()
