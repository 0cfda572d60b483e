"""The compiled engine as an :class:`~steppe.engines.base.Engine`: each replication's loop
in machine code, generated per scenario structure (:mod:`steppe.engines.kernel`).

The kernel package, and Numba with it, is imported by the methods, on first use: importing
the registry of engines does not import Numba (issue 18).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from steppe.engines.common import Fixed
from steppe.engines.des import Lineages
from steppe.evidence.plan import EvidencePlan
from steppe.model.scenario import Scenario

__all__ = ["CompiledEngine"]


@dataclass(frozen=True)
class CompiledEngine:
    """The fast engine: Numba compiles a kernel per scenario structure (5-30 s, once per
    machine: it is cached, see :mod:`steppe.engines.kernel`), which then runs hundreds of
    thousands of replications per second.

    A chunk costs about a millisecond before its first replication, so a run's last chunks
    shrink (to :attr:`smallest_chunk`) to let the workers finish together. It returns its
    samples outcome-major (:attr:`sample_order` ``"F"``).
    """

    name: str = "compiled"
    chunk_size: int = 50_000
    smallest_chunk: int = 6_250
    sample_order: Literal["C", "F"] = "F"

    def unsupported(self, scenario: Scenario) -> str | None:
        """``"Numba is not installed"``, or what the kernel generator declines (see
        :func:`steppe.engines.kernel.unsupported`), else ``None``."""
        from steppe.engines import kernel

        if not kernel.available():
            return "Numba is not installed"
        return kernel.unsupported(scenario)

    def ready(self, scenario: Scenario) -> bool:
        """Whether ``scenario``'s kernel (and, if it has evidence, its evidence kernel) is
        loaded in this process or cached on this machine (see
        :func:`steppe.engines.kernel.ready`)."""
        from steppe.engines import kernel

        if scenario.evidence and not kernel.ready(scenario, evidence=True):
            return False
        return kernel.ready(scenario)

    def prepare(self, scenario: Scenario) -> None:
        """Compile ``scenario``'s kernel, or load it from the cache (once per scenario
        object); it also serves the scenarios ``scenario`` hosts. With evidence, its
        evidence kernel too (one per scenario structure, whatever the plan)."""
        from steppe.engines import kernel
        from steppe.engines.kernel.evidence import warm_up_evidence

        kernel.warm_up(scenario)
        if scenario.evidence:
            warm_up_evidence(scenario)

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
        """See :meth:`Engine.simulate <steppe.engines.base.Engine.simulate>`; with ``host``,
        ``host``'s kernel computes ``scenario``'s outcomes (see
        :func:`~steppe.engines.kernel.simulate_kernel`). Replication ``i`` draws from its own
        streams, the same numbers as in the reference engine (``docs/engine.md`` section 5).
        """
        from steppe.engines import kernel

        return kernel.simulate_kernel(scenario, seed=seed, start=start, n=n, fixed=fixed, host=host)

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
        <steppe.engines.base.Engine.simulate_conditioned>`: the evidence kernel
        (:mod:`steppe.engines.kernel.evidence`) gives the reference engine's samples and
        log-weights bit for bit."""
        from steppe.engines.kernel.evidence import simulate_kernel_conditioned

        return simulate_kernel_conditioned(scenario, plan, lineages, seed=seed, start=start, n=n)
