"""Engines: the SimPy reference engine and the compiled engine.

Both implement ``docs/engine.md`` and the :class:`~steppe.engines.base.Engine` protocol;
:mod:`steppe.engines.registry` names them and resolves ``auto``. :mod:`steppe.execute`
splits a run into chunks and spreads them over workers, each chunk run by
:meth:`Engine.simulate <steppe.engines.base.Engine.simulate>`.
"""

from __future__ import annotations

from steppe.engines.base import Engine
from steppe.engines.registry import (
    AUTO,
    AUTO_COMPILED_FROM,
    CHOICES,
    ENGINES,
    RETIRED,
    EngineChoice,
    check_choice,
    get_engine,
    resolve_engine,
)

__all__ = [
    "AUTO",
    "AUTO_COMPILED_FROM",
    "CHOICES",
    "ENGINES",
    "RETIRED",
    "Engine",
    "EngineChoice",
    "check_choice",
    "get_engine",
    "resolve_engine",
]
