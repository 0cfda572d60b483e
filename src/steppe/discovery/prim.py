"""PRIM: the patient rule induction method of Friedman and Fisher, as EMA Workbench runs it.

Given inputs ``x`` (``n`` cases of ``d`` real parameters) and a 0/1 outcome ``y``, PRIM looks
for a *box* (an interval on each parameter) in which ``y`` is more often 1 than overall:

* **Peeling.** From the box of all the data, each step considers, for every parameter, cutting
  off the ``peel_alpha`` (5%) of the cases in the box with the lowest, or the highest, values
  (the cut at the ``peel_alpha`` or ``1 - peel_alpha`` quantile, taken half-way between two
  distinct values), and makes the cut with the largest gain of density per case removed
  (EMA Workbench's default objective, *lenient1*: ``(mean_new - mean_old) / |n_old -
  n_new|``; ties go to the cut that leaves more parameters unrestricted, then to the first
  parameter, upper before lower). It stops when no cut gains density or the box would hold
  less than ``mass_min`` (5%) of the cases. Every box on the way is kept: the **peeling
  trajectory**, from high coverage and low density to low coverage and high density.
* **Pasting.** A box is then grown back where that raises its density: for each restricted
  parameter, the limit is moved outwards to the ``paste_alpha`` quantile of the cases just
  outside it (within the box's other limits), and the best such paste (same objective) is
  taken while it adds cases and raises the density.
* **Quasi-p-values** (Bryant and Lempert 2010): for each limit of a box, the one-sided
  binomial test of the box's ``k`` cases of interest among its ``n`` cases against the
  density of the box with that limit removed. A large value says the limit adds little.

Statistics of a box: ``coverage`` (its cases of interest over all cases of interest),
``density`` (its cases of interest over its cases), ``mass`` (its cases over all cases) and
``res_dim`` (its restricted parameters: those whose limits differ from the data's range).

This module reproduces ``ema_workbench.analysis.prim`` 3.0 for real-valued inputs and one box
(``tests/data/discovery/``: the same data through EMA Workbench, and the script that made it);
it holds NumPy arrays only and imports SciPy's binomial test when it computes quasi-p-values.

References
----------
.. [1] J. H. Friedman and N. I. Fisher, "Bump hunting in high-dimensional data", *Statistics
   and Computing* 9 (1999), 123-143.
.. [2] B. P. Bryant and R. J. Lempert, "Thinking inside the box: a participatory,
   computer-assisted approach to scenario discovery", *Technological Forecasting and Social
   Change* 77 (2010), 34-49.
.. [3] J. H. Kwakkel, "The Exploratory Modeling Workbench", *Environmental Modelling &
   Software* 96 (2017), 239-250 (``ema_workbench.analysis.prim``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PrimBox", "box_of", "get_quantile", "paste", "peel", "quasi_p", "trajectory"]


@dataclass(frozen=True)
class PrimBox:
    """One box: its limits, the cases inside it and its statistics.

    Attributes
    ----------
    lower, upper
        The limits per parameter (``d`` values each); a case is inside when
        ``lower <= x <= upper`` for every parameter.
    inside
        Indices of the cases inside the box (ascending).
    coverage, density, mass
        See the module docstring.
    n, k
        Cases, and cases of interest, inside the box.
    restricted
        Indices of the restricted parameters, ascending.
    step
        ``"start"``, ``"peel"`` or ``"paste"``: how the box was reached.
    """

    lower: np.ndarray
    upper: np.ndarray
    inside: np.ndarray
    coverage: float
    density: float
    mass: float
    n: int
    k: int
    restricted: tuple[int, ...]
    step: str

    @property
    def res_dim(self) -> int:
        """The number of restricted parameters."""
        return len(self.restricted)


def get_quantile(data: np.ndarray, quantile: float) -> float:
    """The PRIM quantile of ``data`` (sdtoolkit's rule, as EMA Workbench takes it).

    Position ``(len - 1) * quantile`` of the sorted data; above the median the lower
    neighbour, below it the upper neighbour, is moved until it holds a different value,
    and the result is half-way between the two. A cut there never splits tied values.
    """
    data = np.sort(np.asarray(data, dtype=float))
    i = (len(data) - 1) * quantile
    lo, hi = math.floor(i), math.ceil(i)
    if quantile > 0.5:
        while data[lo] == data[hi] and lo > 0:
            lo -= 1
    else:
        while data[lo] == data[hi] and hi < len(data) - 1:
            hi += 1
    return float((data[lo] + data[hi]) / 2)


class _Data:
    """The inputs of one PRIM run, with the statistics of a box from its cases."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = np.ascontiguousarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.n = len(self.y)
        self.total = max(float(self.y.sum()), 1.0)
        self.lo0 = self.x.min(axis=0)
        self.hi0 = self.x.max(axis=0)

    def restricted(self, lower: np.ndarray, upper: np.ndarray) -> tuple[int, ...]:
        free = (lower == self.lo0) & (upper == self.hi0)
        return tuple(int(j) for j in np.flatnonzero(~free))

    def box(self, lower: np.ndarray, upper: np.ndarray, inside: np.ndarray, step: str) -> PrimBox:
        yi = self.y[inside]
        k = float(yi.sum())
        return PrimBox(
            lower=lower, upper=upper, inside=inside,
            coverage=k / self.total, density=k / max(len(yi), 1), mass=len(yi) / self.n,
            n=len(yi), k=round(k), restricted=self.restricted(lower, upper), step=step,
        )  # fmt: skip


def _objective(y_old: np.ndarray, y_new: np.ndarray) -> float:
    """EMA Workbench's *lenient1*: the gain of mean per case removed (or added)."""
    mean_old = float(np.mean(y_old))
    mean_new = float(np.mean(y_new)) if len(y_new) else 0.0
    if mean_old == mean_new or len(y_old) == len(y_new):
        return 0.0
    return (mean_new - mean_old) / abs(len(y_old) - len(y_new))


def _best(
    data: _Data, old: np.ndarray, candidates: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """The candidate ``(inside, lower, upper)`` of the largest objective (ties: the one
    leaving more parameters unrestricted, then the first)."""
    d = data.x.shape[1]
    best: tuple[float, int] | None = None
    chosen = candidates[0]
    for cand in candidates:
        key = (_objective(data.y[old], data.y[cand[0]]), d - len(data.restricted(*cand[1:])))
        if best is None or key > best:
            best, chosen = key, cand
    assert best is not None
    return best[0], *chosen


def peel(
    x: np.ndarray, y: np.ndarray, *, peel_alpha: float = 0.05, mass_min: float = 0.05
) -> list[PrimBox]:
    """The peeling trajectory of ``y`` over ``x``: the box of all cases, then each peel.

    Parameters
    ----------
    x
        Inputs, shape ``(n, d)``.
    y
        The outcome, 0 or 1 per case.
    peel_alpha
        Share of the box's cases each peel removes.
    mass_min
        The smallest share of all cases a box may hold.

    Returns
    -------
    list of PrimBox
        The first holds every case (``step="start"``).
    """
    data = _Data(x, y)
    inside = np.arange(data.n)
    boxes = [data.box(data.lo0.copy(), data.hi0.copy(), inside, "start")]
    while True:
        box = boxes[-1]
        xs = data.x[box.inside]
        candidates = []
        for j in range(xs.shape[1]):
            xj = xs[:, j]
            for upper in (True, False):
                lo, hi = box.lower.copy(), box.upper.copy()
                if upper:
                    hi[j] = cut = get_quantile(xj, 1 - peel_alpha)
                    keep = xj <= cut
                else:
                    lo[j] = cut = get_quantile(xj, peel_alpha)
                    keep = xj >= cut
                candidates.append((box.inside[keep], lo, hi))
        obj, new, lo, hi = _best(data, box.inside, candidates)
        if not (mass_min <= len(new) / data.n < box.mass and obj > 0):
            return boxes
        boxes.append(data.box(lo, hi, new, "peel"))


def paste(
    x: np.ndarray, y: np.ndarray, box: PrimBox, *, paste_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> list[PrimBox]:  # fmt: skip
    """The boxes that pasting ``box`` goes through (empty if no paste improves it).

    Parameters
    ----------
    x, y
        As for :func:`peel`.
    box
        A box of :func:`peel`'s trajectory.
    paste_alpha
        The quantile of the cases just outside a limit that the limit is moved to.
    mass_min
        As for :func:`peel`.
    """
    data = _Data(x, y)
    out: list[PrimBox] = []
    current = box
    while True:
        res = list(current.restricted)
        if not res:
            return out
        xr = data.x[:, res]
        candidates = []
        for j in res:
            for upper in (False, True):
                reach_lo, reach_hi = current.lower.copy(), current.upper.copy()
                if upper:
                    reach_lo[j], reach_hi[j] = current.upper[j], data.hi0[j]
                else:
                    reach_lo[j], reach_hi[j] = data.lo0[j], current.lower[j]
                near = np.all((reach_lo[res] <= xr) & (xr <= reach_hi[res]), axis=1)
                values = data.x[near, j]
                lo, hi = current.lower.copy(), current.upper.copy()
                if upper:
                    hi[j] = get_quantile(values, paste_alpha) if len(values) else data.hi0[j]
                else:
                    lo[j] = get_quantile(values, 1 - paste_alpha) if len(values) else data.lo0[j]
                inside = np.flatnonzero(np.all((lo[res] <= xr) & (xr <= hi[res]), axis=1))
                candidates.append((inside, lo, hi))
        obj, new, lo, hi = _best(data, current.inside, candidates)
        mean_old, mean_new = float(np.mean(data.y[current.inside])), float(np.mean(data.y[new]))
        if not (
            len(new) / data.n >= mass_min
            and len(new) / data.n > current.mass
            and obj > 0
            and mean_new > mean_old
        ):
            return out
        current = data.box(lo, hi, new, "paste")
        out.append(current)


def trajectory(
    x: np.ndarray, y: np.ndarray, *, peel_alpha: float = 0.05, paste_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> list[PrimBox]:  # fmt: skip
    """EMA Workbench's trajectory of one box: :func:`peel`, then :func:`paste` of its last
    box appended (``Prim(x, y).find_box().peeling_trajectory``)."""
    boxes = peel(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
    return boxes + paste(x, y, boxes[-1], paste_alpha=paste_alpha, mass_min=mass_min)


def box_of(
    x: np.ndarray, y: np.ndarray, lower: np.ndarray, upper: np.ndarray, step: str
) -> PrimBox:
    """The box with these limits over the cases, with its statistics (``step`` names how it
    was made, e.g. ``"drop"`` for a box with a restriction removed)."""
    data = _Data(x, y)
    inside = np.flatnonzero(np.all((lower <= data.x) & (data.x <= upper), axis=1))
    return data.box(np.asarray(lower, float), np.asarray(upper, float), inside, step)


def quasi_p(x: np.ndarray, y: np.ndarray, box: PrimBox) -> dict[int, tuple[float | None, ...]]:
    """Quasi-p-values of each restricted limit of ``box`` (Bryant and Lempert 2010).

    For each restricted parameter, ``(lower, upper)``: the p-value of the one-sided binomial
    test ``binomtest(k, n, p, alternative="greater")`` of the box's ``k`` cases of interest
    among its ``n`` cases, where ``p`` is the density of the box with that limit put back to
    the data's range; ``None`` for a limit that is not restricted.
    """
    from scipy.stats import binomtest  # scipy.stats is slow to import: only when asked

    data = _Data(x, y)
    res = list(box.restricted)
    xr = data.x[:, res]
    out: dict[int, tuple[float | None, ...]] = {}
    for j in res:
        pair: list[float | None] = []
        for upper in (False, True):
            limit, free = (box.upper, data.hi0) if upper else (box.lower, data.lo0)
            if limit[j] == free[j]:
                pair.append(None)
                continue
            lo, hi = box.lower.copy(), box.upper.copy()
            (hi if upper else lo)[j] = free[j]
            inside = np.all((lo[res] <= xr) & (xr <= hi[res]), axis=1)
            p = float(np.mean(data.y[inside]))
            pair.append(float(binomtest(box.k, box.n, p, alternative="greater").pvalue))
        out[j] = tuple(pair)
    return out
