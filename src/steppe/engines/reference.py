"""The reference engine as an :class:`~steppe.engines.base.Engine`: SimPy, one environment
per replication (:mod:`steppe.engines.des`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from steppe.engines.common import Fixed
from steppe.engines.des import Lineages, simulate_des, simulate_des_conditioned
from steppe.evidence.plan import EvidencePlan
from steppe.model.scenario import Scenario

__all__ = ["SimpyEngine"]


@dataclass(frozen=True)
class SimpyEngine:
    """The reference engine: the literal implementation of ``docs/engine.md``.

    It runs every scenario, needs nothing compiled, and replication ``i`` draws from its own
    streams, so its chunks only divide the work (they are small: a replication takes about
    a millisecond, and workers finish together without shrinking them).
    """

    name: str = "simpy"
    chunk_size: int = 500
    smallest_chunk: int = 500
    sample_order: Literal["C", "F"] = "C"

    def unsupported(self, scenario: Scenario) -> str | None:
        """``None``: it runs every scenario."""
        return None

    def ready(self, scenario: Scenario) -> bool:
        """``True``: nothing is compiled."""
        return True

    def prepare(self, scenario: Scenario) -> None:
        """Compile the scenario's expressions (Python closures, milliseconds) once, for the
        workers forked after this to inherit."""
        scenario.compiled("scalar")

    def simulate(
        self,
        scenario: Scenario,
        *,
        seed: int,
        start: int,
        n: int,
        fixed: Fixed | None = None,
        host: Scenario | None = None,
    ) -> np.ndarray:
        """See :meth:`Engine.simulate <steppe.engines.base.Engine.simulate>`; ``host`` is
        not needed: it runs ``scenario`` itself."""
        return simulate_des(scenario, seed=seed, start=start, n=n, fixed=fixed)

    def simulate_conditioned(
        self,
        scenario: Scenario,
        plan: EvidencePlan,
        lineages: Lineages,
        *,
        seed: int,
        start: int,
        n: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """See :meth:`Engine.simulate_conditioned
        <steppe.engines.base.Engine.simulate_conditioned>`."""
        return simulate_des_conditioned(scenario, plan, lineages, seed=seed, start=start, n=n)
