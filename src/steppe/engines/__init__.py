"""Engines: the SimPy reference engine, the vectorized NumPy engine and the compiled engine.

All three implement ``docs/engine.md``. :func:`simulate_chunk` runs one chunk of replications with
either; :mod:`steppe.execute` splits a run into chunks and spreads them over workers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from steppe.engines.common import Fixed
from steppe.engines.des import simulate_des
from steppe.engines.kernel import simulate_kernel
from steppe.engines.vector import simulate_vector
from steppe.model.scenario import Scenario

__all__ = ["CHUNK_SIZE", "ENGINE_NAMES", "SMALLEST_CHUNK", "EngineName", "simulate_chunk"]

EngineName = Literal["simpy", "vector", "compiled"]
ENGINE_NAMES: tuple[EngineName, ...] = ("simpy", "vector", "compiled")

#: Replications per chunk. A chunk is the unit of work given to a worker and, in the vector
#: and compiled engines, the unit of random streams (chunk ``c`` uses ``SeedSequence(seed,
#: spawn_key=(2, c))``, resp. ``(3, c)``), so results depend on these sizes but never on the
#: number of workers.
CHUNK_SIZE: dict[EngineName, int] = {"simpy": 500, "vector": 50_000, "compiled": 50_000}
#: The smallest chunk of a run's shrinking tail (see :func:`steppe.execute.chunks`). The
#: compiled engine's fixed cost per chunk is about a millisecond, so its tail shrinks to
#: small chunks that let the workers finish together; a vector chunk costs about 0.1 s
#: before its first replication, and SimPy's chunks are small already: theirs do not shrink.
SMALLEST_CHUNK: dict[EngineName, int] = {"simpy": 500, "vector": 50_000, "compiled": 6_250}


def simulate_chunk(
    scenario: Scenario,
    engine: EngineName,
    *,
    seed: int,
    chunk: int,
    start: int,
    n: int,
    fixed: Fixed | None = None,
    host: Scenario | None = None,
) -> np.ndarray:
    """Samples of replications ``[start, start + n)``, run as chunk ``chunk`` of ``engine``
    (``fixed``: parameter values by index, see :func:`~steppe.engines.common.draw_parameters`;
    ``host``: compiled engine only, see :func:`~steppe.engines.kernel.simulate_kernel`)."""
    if host is not None and engine != "compiled":
        raise ValueError("host: only for the compiled engine")
    if engine == "simpy":
        return simulate_des(scenario, seed=seed, start=start, n=n, fixed=fixed)
    if engine == "compiled":
        return simulate_kernel(
            scenario, seed=seed, chunk=chunk, start=start, n=n, fixed=fixed, host=host
        )
    return simulate_vector(scenario, seed=seed, chunk=chunk, start=start, n=n, fixed=fixed)
