"""Verifying forecasts: ``steppe score`` and :func:`steppe.score`.

:mod:`.spec` (the resolutions file), :mod:`.questions` (reading it, asking its questions of
a result folder), :mod:`.rules` (the scores, in NumPy), :mod:`.score` (the scoring and
:class:`ScoreResult`), :mod:`.report` (the score folder), :mod:`.cli` (the command).
"""

from typing import TYPE_CHECKING

from steppe._lazy import lazy_exports

if TYPE_CHECKING:
    from steppe.scoring.score import ScoreResult, score

__all__ = ["ScoreResult", "score"]

# Lazily (PEP 562): ``steppe score``'s module imports this package at start-up, pandas not.
__getattr__, __dir__ = lazy_exports(
    __name__, dict.fromkeys(__all__, "steppe.scoring.score"), globals()
)
