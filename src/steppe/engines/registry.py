"""The engines by name, and the choice ``auto``.

:data:`ENGINES` holds the reference engine, ``simpy``, and the fast one, ``compiled``. Code
outside the engines asks this module for an engine (:func:`get_engine`,
:func:`resolve_engine`) and uses it through :class:`~steppe.engines.base.Engine`; it never
branches on an engine's name.

``auto`` (the default everywhere) picks ``compiled`` when it can run the scenario and either
its kernel is ready (compiled before, on this machine or in this process) or the run is
large, at least :data:`AUTO_COMPILED_FROM` replications; otherwise ``simpy``. So a small run
of a new scenario answers at once on the reference engine instead of waiting 5-30 s for a
kernel, and once a kernel is compiled it serves runs of every size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from steppe.engines.base import Engine
from steppe.engines.choices import (
    AUTO,
    AUTO_COMPILED_FROM,
    CHOICES,
    RETIRED,
    EngineChoice,
    check_choice,
)
from steppe.engines.compiled import CompiledEngine
from steppe.engines.reference import SimpyEngine
from steppe.errors import EngineError, ScenarioError
from steppe.model.scenario import Scenario

__all__ = [
    "AUTO",
    "AUTO_COMPILED_FROM",
    "CHOICES",
    "ENGINES",
    "RETIRED",
    "EngineChoice",
    "check_choice",
    "get_engine",
    "resolve_engine",
]

_REFERENCE, _FAST = "simpy", "compiled"

#: Every engine, by name: the reference first. A dict so that tests can swap an entry.
ENGINES: Mapping[str, Engine] = {e.name: e for e in (SimpyEngine(), CompiledEngine())}


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (not ``auto``: see :func:`resolve_engine`).

    Raises
    ------
    EngineError
        For ``auto``, a retired or an unknown name.
    """
    check_choice(name)
    if name == AUTO:
        raise EngineError("'auto' is not an engine: resolve it for a run (resolve_engine)")
    return ENGINES[name]


def resolve_engine(
    choice: str, scenarios: Sequence[Scenario], replications: int, *, prefer: str | None = None
) -> Engine:
    """The engine that runs ``scenarios``, ``replications`` replications each.

    Parameters
    ----------
    choice
        An engine's name, or ``auto``: the compiled engine if it can run every scenario and
        either each one's kernel is ready (:meth:`~steppe.engines.base.Engine.ready`) or
        ``replications >= AUTO_COMPILED_FROM``; else the reference engine, ``simpy``.
    scenarios
        The scenarios as they will run (with the report's traces, if any: each is its own
        kernel). Several for a comparison, which runs them all on one engine.
    replications
        The run's size: a sweep passes its total over all points.
    prefer
        With ``auto``: this engine, if it can run every scenario (a resumed sweep goes on
        with the engine it started with). An unknown or retired name is ignored.

    Raises
    ------
    EngineError
        For a retired or unknown ``choice``.
    ScenarioError
        If the engine asked for by name cannot run a scenario (e.g. Numba is missing).
    """
    check_choice(choice)
    if choice == AUTO:
        if isinstance(prefer, str) and prefer in ENGINES and _can_run(ENGINES[prefer], scenarios):
            return ENGINES[prefer]
        fast = ENGINES[_FAST]
        if _can_run(fast, scenarios) and (
            replications >= AUTO_COMPILED_FROM or all(fast.ready(sc) for sc in scenarios)
        ):
            return fast
        return ENGINES[_REFERENCE]
    engine = ENGINES[choice]
    for sc in scenarios:
        why = engine.unsupported(sc)
        if why:
            which = "this scenario" if len(scenarios) == 1 else f"scenario {sc.name!r}"
            raise ScenarioError(f"the {engine.name} engine cannot run {which}: {why}")
    return engine


def _can_run(engine: Engine, scenarios: Sequence[Scenario]) -> bool:
    return all(engine.unsupported(sc) is None for sc in scenarios)
