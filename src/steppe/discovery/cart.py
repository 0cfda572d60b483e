"""CART: a shallow classification tree as a second view of where an outcome concentrates.

Bryant and Lempert (2010) compare PRIM with CART: a tree splits the cases on one parameter
at a time, each leaf is a box, and the leaves together cover every case. The tree is
scikit-learn's :class:`~sklearn.tree.DecisionTreeClassifier` (Gini impurity) with a few
levels and leaves of at least ``mass_min`` of the cases, as EMA Workbench's ``cart`` builds
it; ``random_state`` is fixed, so the same cases give the same tree. scikit-learn is
imported only here, when a tree is asked for.

References
----------
.. [1] L. Breiman, J. Friedman, R. Olshen and C. Stone, *Classification and Regression
   Trees*, Wadsworth (1984).
.. [2] B. P. Bryant and R. J. Lempert, "Thinking inside the box: a participatory,
   computer-assisted approach to scenario discovery", *Technological Forecasting and Social
   Change* 77 (2010), 34-49.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Leaf", "cart_leaves"]


@dataclass(frozen=True)
class Leaf:
    """One leaf of the tree: a box and its statistics.

    Attributes
    ----------
    limits
        Per restricted parameter (its index), ``(lower, upper)``: a case is in the leaf when
        ``lower < x <= upper`` (``-inf`` / ``inf`` for an open side).
    n, k
        Cases, and cases of interest, in the leaf.
    density, coverage, mass
        ``k / n``, ``k`` over all cases of interest, ``n`` over all cases.
    """

    limits: dict[int, tuple[float, float]]
    n: int
    k: int
    density: float
    coverage: float
    mass: float


def cart_leaves(
    x: np.ndarray, y: np.ndarray, *, max_depth: int = 3, mass_min: float = 0.05
) -> list[Leaf]:
    """Fit a tree of ``max_depth`` levels and return its leaves, densest first.

    Parameters
    ----------
    x
        Inputs, shape ``(n, d)``.
    y
        The outcome, 0 or 1 per case.
    max_depth
        Levels of splits.
    mass_min
        The smallest share of the cases a leaf may hold.
    """
    from sklearn.tree import DecisionTreeClassifier  # heavy: only when a tree is asked for

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=int)
    n = len(y)
    total = max(int(y.sum()), 1)
    tree = DecisionTreeClassifier(
        max_depth=max_depth, min_samples_leaf=max(1, math.ceil(mass_min * n)), random_state=0
    ).fit(x, y)
    t = tree.tree_
    where = tree.apply(x)
    leaves: list[Leaf] = []

    def walk(node: int, limits: dict[int, tuple[float, float]]) -> None:
        left, right = int(t.children_left[node]), int(t.children_right[node])
        if left == right:  # a leaf
            inside = where == node
            k, m = int(y[inside].sum()), int(inside.sum())
            leaves.append(Leaf(dict(limits), m, k, k / max(m, 1), k / total, m / n))
            return
        j, cut = int(t.feature[node]), float(t.threshold[node])
        lo, hi = limits.get(j, (-math.inf, math.inf))
        walk(left, {**limits, j: (lo, min(hi, cut))})
        walk(right, {**limits, j: (max(lo, cut), hi)})

    walk(0, {})
    return sorted(leaves, key=lambda leaf: (-leaf.density, -leaf.coverage))
