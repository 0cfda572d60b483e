"""Defaults of the analyses that the command line shows in its help, importing nothing heavy
(``steppe --help`` builds every command's options at start-up without pandas, issue 18)."""

from __future__ import annotations

__all__ = ["MIN_EFFECTIVE"]

#: Fewer effective replications than this on either side of X flag a signpost pair
#: (:func:`steppe.signposts`).
MIN_EFFECTIVE = 50
