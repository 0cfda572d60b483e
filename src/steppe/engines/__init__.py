"""Engines: the SimPy reference engine and the vectorized NumPy engine.

Both implement ``docs/engine.md``. :func:`simulate_chunk` runs one chunk of replications with
either; :mod:`steppe.execute` splits a run into chunks and spreads them over workers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from steppe.engines.des import simulate_des
from steppe.engines.vector import simulate_vector
from steppe.model.scenario import Scenario

__all__ = ["CHUNK_SIZE", "ENGINE_NAMES", "EngineName", "simulate_chunk"]

EngineName = Literal["simpy", "vector"]
ENGINE_NAMES: tuple[EngineName, ...] = ("simpy", "vector")

#: Replications per chunk. A chunk is the unit of work given to a worker and, in the vector
#: engine, the unit of random streams (chunk ``c`` uses ``SeedSequence(seed,
#: spawn_key=(2, c))``), so results depend on these sizes but never on the number of workers.
CHUNK_SIZE: dict[EngineName, int] = {"simpy": 500, "vector": 50_000}


def simulate_chunk(
    scenario: Scenario, engine: EngineName, *, seed: int, chunk: int, start: int, n: int
) -> np.ndarray:
    """Samples of replications ``[start, start + n)``, run as chunk ``chunk`` of ``engine``."""
    if engine == "simpy":
        return simulate_des(scenario, seed=seed, start=start, n=n)
    return simulate_vector(scenario, seed=seed, chunk=chunk, start=start, n=n)
