"""What an expression reads: the parts of the state it depends on.

Engines use this to skip re-evaluating what a change cannot have affected.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from steppe.model.expr import Expression, Symbol

__all__ = ["reads_clock", "state_reads"]

_STATE_KEY = {
    "count": "n",
    "occurred": "n",
    "n_occurred": "n",
    "any_occurred": "n",
    "all_occurred": "n",
    "active": "a",
    "stage": "g",
    "completed": "done",
    "cancelled": "c",
}


def state_reads(expr: Expression, symbols: Mapping[str, Symbol]) -> frozenset[tuple[str, int]]:
    """The parts of the state ``expr`` reads, as keys ``(field, index)``.

    Fields are those of :class:`steppe.engines.common.Namespace`: ``("s", i)`` for series
    ``i``, ``("t", 0)`` for the tick time, ``("n", e)``/``("a", e)`` for event ``e``'s count
    and active durations, ``("g", p)``/``("done", p)``/``("c", p)`` for project ``p``.
    """
    out: set[tuple[str, int]] = set()
    for node in ast.walk(expr.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fld = _STATE_KEY.get(node.func.id)
            if fld is not None:
                for arg in node.args:
                    if isinstance(arg, ast.Name) and arg.id in symbols:
                        out.add((fld, symbols[arg.id].index))
        elif isinstance(node, ast.Name):
            sym = symbols.get(node.id)
            if sym is not None and sym.kind == "series":
                out.add(("s", sym.index))
            elif sym is not None and sym.kind == "time":
                out.add(("t", 0))
    return frozenset(out)


def reads_clock(expr: Expression, symbols: Mapping[str, Symbol]) -> bool:
    """Whether ``expr`` reads a series value or the tick time ``t``."""
    return any(field in ("s", "t") for field, _ in state_reads(expr, symbols))
