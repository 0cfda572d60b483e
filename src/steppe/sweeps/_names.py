"""The names ``steppe sweep`` offers (``--design``, ``--method``), importing nothing heavy.

The command builds its options from these at start-up (issue 18); :mod:`.designs` and
:mod:`.gsa`, which implement them, re-export them.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["DESIGNS", "METHODS", "DesignKind", "Method"]

DesignKind = Literal["grid", "lhs", "sobol"]
DESIGNS: tuple[DesignKind, ...] = ("grid", "lhs", "sobol")

Method = Literal["sobol", "morris"]
METHODS: tuple[Method, ...] = ("sobol", "morris")
