"""What ``engine=`` and ``--engine`` accept, without importing any engine.

The command line builds its ``--engine`` option from these names at start-up; the engines
themselves (SimPy, Numba) load only when a run needs them (issue 18).
:mod:`steppe.engines.registry` holds the engines under the same names
(``tests/test_engines.py`` checks that they agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from steppe.errors import EngineError

__all__ = [
    "AUTO",
    "AUTO_COMPILED_FROM",
    "CHOICES",
    "RETIRED",
    "EngineChoice",
    "check_choice",
]

#: What ``engine=`` and ``--engine`` accept.
EngineChoice = Literal["auto", "simpy", "compiled"]
AUTO = "auto"
#: The values of ``engine=`` / ``--engine``: ``auto`` and every engine's name, the reference
#: first (the keys of :data:`steppe.engines.registry.ENGINES`).
CHOICES: tuple[str, ...] = (AUTO, "simpy", "compiled")
#: ``auto`` runs at least this many replications (in total: all the points of a sweep; per
#: scenario for a comparison) on the compiled engine even if its kernel must be compiled
#: first: compiling a new scenario structure (5-30 s) is then a small part of the run, which
#: would take SimPy about 10 s per 10,000 replications of the baseline.
AUTO_COMPILED_FROM = 10_000
#: Engines that steppe no longer has, with what to say to whoever asks for one.
RETIRED: Mapping[str, str] = {
    "vector": "the NumPy 'vector' engine was retired in steppe 0.2 (issue 14): use --engine "
    "compiled (the fast engine) or --engine simpy (the reference); see docs/engine.md",
}


def check_choice(choice: str) -> None:
    """Refuse a ``choice`` that is neither ``auto`` nor an engine's name.

    Raises
    ------
    EngineError
        For a retired engine (saying what to use instead) or an unknown name (listing the
        choices).
    """
    if choice in RETIRED:
        raise EngineError(RETIRED[choice])
    if choice not in CHOICES:
        raise EngineError(f"unknown engine {choice!r}; expected one of {', '.join(CHOICES)}")
