"""What every engine provides: the :class:`Engine` protocol, and per-scenario state.

An engine runs replications of a scenario as ``docs/engine.md`` defines them. The rest of
steppe (:mod:`steppe.execute`, :mod:`steppe.api`, the sweeps and the command line) knows
engines only through this protocol and the registry (:mod:`steppe.engines.registry`), never
by name: adding or retiring an engine touches the engine modules and the registry alone.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

from steppe.engines.common import Fixed
from steppe.engines.des import Lineages
from steppe.evidence.plan import EvidencePlan
from steppe.model.scenario import Scenario

__all__ = ["Engine", "PerScenario"]

T = TypeVar("T")


@runtime_checkable
class Engine(Protocol):
    """An engine: runs replications ``[start, start + n)`` of a scenario.

    A run is split into chunks (:func:`steppe.execute.chunks`) of :attr:`chunk_size`
    replications, shrinking at the end to no less than :attr:`smallest_chunk`; workers run
    chunks with :meth:`simulate`. What a chunk returns depends only on the scenario, the
    seed, ``fixed`` and its range of replications, so a run gives the same numbers on any
    number of workers.
    """

    @property
    def name(self) -> str:
        """The name that selects it (``--engine NAME``), recorded in summaries."""
        ...

    @property
    def chunk_size(self) -> int:
        """Replications per chunk (the unit of work given to a worker)."""
        ...

    @property
    def smallest_chunk(self) -> int:
        """The smallest chunk of a run's shrinking tail (see :func:`steppe.execute.chunks`)."""
        ...

    @property
    def sample_order(self) -> Literal["C", "F"]:
        """The memory layout of the arrays :meth:`simulate` returns (``"F"``: each outcome's
        samples contiguous), so that kept samples can be gathered without reordering."""
        ...

    def unsupported(self, scenario: Scenario) -> str | None:
        """Why this engine cannot run ``scenario`` (``None`` if it can)."""
        ...

    def ready(self, scenario: Scenario) -> bool:
        """Whether it can start on ``scenario`` at once, without compiling anything first."""
        ...

    def prepare(self, scenario: Scenario) -> None:
        """Get ready to run ``scenario`` (and scenarios it hosts, see :meth:`simulate`):
        compile or load what it needs now, before worker processes are forked, so that
        they inherit it."""
        ...

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
        """The samples of replications ``[start, start + n)`` of ``scenario``.

        Parameters
        ----------
        scenario
            The scenario to run.
        seed
            The run's seed.
        start, n
            The replications: their random numbers depend on their indices only (never on
            how a run is split into chunks or spread over workers).
        fixed
            Parameter values by index that replace their draws (see
            :func:`~steppe.engines.common.draw_parameters`).
        host
            A scenario whose first outcomes are ``scenario``'s and whose model is the same
            otherwise (``scenario`` with the report's traces added). An engine may run
            ``host``'s model, computing ``scenario``'s outcomes only, to reuse what it
            prepared for ``host``; outcomes do not change the random numbers
            (``docs/engine.md`` section 8). An engine with nothing to reuse runs
            ``scenario``.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, len(scenario.outcomes))``, in :attr:`sample_order`. Probability
            outcomes are 0/1, values are numbers, times to event are model years (``inf``
            when not reached by the horizon).

        Raises
        ------
        SimulationError
            If a replication fails (e.g. a hazard evaluates to a negative number).
        """
        ...

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
        """Particles ``[start, start + n)`` of the last generation of ``lineages``, run
        conditioned on ``plan`` (``docs/engine.md`` section 10).

        Returns
        -------
        tuple of numpy.ndarray
            The outcome samples, as :meth:`simulate` returns them (in :attr:`sample_order`),
            and the log-weights, shape ``(n, len(plan.checkpoints))``: each particle's
            log-weight at each checkpoint, counted from its last resampling. They depend
            only on the scenario, the seed, the plan, the lineages and the particles'
            indices.
        """
        ...


class PerScenario(Generic[T]):
    """What an engine keeps for each scenario object, for as long as the object lives.

    Keyed by identity: :class:`~steppe.model.scenario.Scenario` is neither hashable (it
    holds arrays) nor meant to carry engine state, and a scenario rebuilt from a pickle (in
    a spawned worker) is another object, which prepares its own. An entry goes when its
    scenario is collected.
    """

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._items: dict[int, T] = {}

    def __call__(self, scenario: Scenario) -> T:
        """The state of ``scenario``, made on first use."""
        key = id(scenario)
        item = self._items.get(key)
        if item is None:
            item = self._items[key] = self._make()
            # Runs when the scenario is collected, before its id can be reused.
            weakref.finalize(scenario, self._items.pop, key, None)
        return item

    def __len__(self) -> int:
        return len(self._items)
