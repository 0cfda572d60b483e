"""Verifying forecasts: ``steppe score`` and :func:`steppe.score`.

:mod:`.spec` (the resolutions file), :mod:`.questions` (reading it, asking its questions of
a result folder), :mod:`.rules` (the scores, in NumPy), :mod:`.score` (the scoring and
:class:`ScoreResult`), :mod:`.report` (the score folder), :mod:`.cli` (the command).
"""

from steppe.scoring.score import ScoreResult, score

__all__ = ["ScoreResult", "score"]
