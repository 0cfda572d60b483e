"""Engines: the SimPy reference engine and the compiled engine.

Both implement ``docs/engine.md`` and the :class:`~steppe.engines.base.Engine` protocol;
:mod:`steppe.engines.registry` names them and resolves ``auto``. :mod:`steppe.execute`
splits a run into chunks and spreads them over workers, each chunk run by
:meth:`Engine.simulate <steppe.engines.base.Engine.simulate>`. The choices of
``--engine`` (:mod:`steppe.engines.choices`) load no engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from steppe._lazy import lazy_exports

if TYPE_CHECKING:
    from steppe.engines.base import Engine
    from steppe.engines.choices import (
        AUTO,
        AUTO_COMPILED_FROM,
        CHOICES,
        RETIRED,
        EngineChoice,
        check_choice,
    )
    from steppe.engines.registry import ENGINES, get_engine, resolve_engine

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

# Lazily (PEP 562): the names of the engines load no engine; ENGINES and the functions that
# pick one load them all (SimPy; Numba when the compiled engine is asked what it can run).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(
            ("AUTO", "AUTO_COMPILED_FROM", "CHOICES", "RETIRED", "EngineChoice", "check_choice"),
            "steppe.engines.choices",
        ),
        **dict.fromkeys(("ENGINES", "get_engine", "resolve_engine"), "steppe.engines.registry"),
        "Engine": "steppe.engines.base",
    },
    globals(),
)
