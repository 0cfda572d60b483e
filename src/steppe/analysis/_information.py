"""What learning a binary indicator X tells about a binary outcome Y: vectorised formulas.

Every function takes arrays of the same shape (one entry per (X, Y) pair) of the sample
proportions ``px = P(X)``, ``py = P(Y)``, ``pxy = P(X and Y)`` and an effective sample size
``n`` (the number of replications, or Kish's effective sample size of a weighted run), and
returns arrays. The estimates are plug-in estimates from the sample; their standard errors
are first-order (delta method), as is usual for Monte Carlo summaries.

References
----------
.. [1] E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
   J. Amer. Statist. Assoc. 22 (1927), 209-212.
.. [2] R. G. Newcombe, "Interval estimation for the difference between independent
   proportions: comparison of eleven methods", Statist. Med. 17 (1998), 873-890 (method 10,
   the hybrid score interval).
.. [3] G. W. Brier, "Verification of forecasts expressed in terms of probability", Monthly
   Weather Review 78 (1950), 1-3.
.. [4] T. M. Cover and J. A. Thomas, *Elements of Information Theory*, 2nd ed., Wiley
   (2006), section 2.4 (mutual information).
.. [5] L. Wasserman, *All of Statistics*, Springer (2004), section 9.9 (the delta method).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from steppe.results.stats import Z95

__all__ = ["brier_value", "mutual_information", "newcombe_interval", "wilson"]

_Array = npt.NDArray[np.float64]


def wilson(p: _Array, n: _Array | float, z: float = Z95) -> tuple[_Array, _Array]:
    """Wilson score intervals [1]_ of proportions ``p`` out of (possibly fractional) ``n``."""
    p, n = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * np.sqrt(np.maximum(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe_interval(
    p1: _Array, n1: _Array, p0: _Array, n0: _Array, z: float = Z95
) -> tuple[_Array, _Array]:
    """Newcombe's hybrid score interval [2]_ of ``p1 - p0`` from two Wilson intervals.

    ``p1`` and ``p0`` are proportions in disjoint groups (replications with X, without X),
    so their estimates are independent given the group sizes.
    """
    l1, u1 = wilson(p1, n1, z)
    l0, u0 = wilson(p0, n0, z)
    d = p1 - p0
    return d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + np.sqrt(
        (u1 - p1) ** 2 + (p0 - l0) ** 2
    )


def brier_value(px: _Array, py: _Array, pxy: _Array, n: float) -> tuple[_Array, _Array]:
    """The expected reduction of Y's Brier score [3]_ from observing X first, and its s.e.

    A forecaster who says ``p = P(Y)`` expects (under that belief) the Brier score
    ``p (1 - p)``; after seeing X they say ``p1 = P(Y | X)`` or ``p0 = P(Y | not X)`` and
    expect ``P(X) p1 (1 - p1) + P(not X) p0 (1 - p0)``. The difference is

    ``V = P(X) P(not X) (p1 - p0)^2 = Cov(X, Y)^2 / Var(X)``,

    with ``Cov(X, Y) = pxy - px py`` and ``Var(X) = px (1 - px)``. Its standard error is the
    delta method's [5]_: ``V`` is a smooth function of the three means ``(px, py, pxy)``,
    whose covariance over one replication is ``Var(X) = px(1-px)``, ``Var(Y) = py(1-py)``,
    ``Var(XY) = pxy(1-pxy)``, ``Cov(X,Y) = C``, ``Cov(X,XY) = pxy(1-px)``,
    ``Cov(Y,XY) = pxy(1-py)``; ``se = sqrt(g' S g / n)`` with ``g`` the gradient of ``V``.
    Near ``V = 0`` the gradient vanishes and this s.e. understates the noise (the estimate
    of a square is biased upwards by about ``py (1 - py) / n``): read small values together
    with the interval of ``p1 - p0``.
    """
    c = pxy - px * py
    v = px * (1 - px)
    value = c * c / v
    g_xy = 2 * c / v
    g_y = -2 * c * px / v
    g_x = -2 * c * py / v - c * c * (1 - 2 * px) / (v * v)
    var = (
        g_x**2 * v
        + g_y**2 * py * (1 - py)
        + g_xy**2 * pxy * (1 - pxy)
        + 2 * g_x * g_y * c
        + 2 * g_x * g_xy * pxy * (1 - px)
        + 2 * g_y * g_xy * pxy * (1 - py)
    )
    return value, np.sqrt(np.maximum(var, 0.0) / n)


def mutual_information(px: _Array, py: _Array, pxy: _Array, n: float) -> tuple[_Array, _Array]:
    """The mutual information ``I(X; Y)`` in bits [4]_ and its delta-method s.e.

    ``I = sum over the four cells (x, y) of p(x, y) log2(p(x, y) / (p(x) p(y)))``: the
    expected reduction of Y's entropy from observing X. The plug-in estimate's influence
    function at a replication in cell ``(x, y)`` is ``log2(p(x, y) / (p(x) p(y))) - I``, so
    ``se = sqrt((sum p(x, y) log2(...)^2 - I^2) / n)``. Empty cells add nothing.
    """
    cells = (
        (pxy, px, py),
        (px - pxy, px, 1 - py),
        (py - pxy, 1 - px, py),
        (1 - px - py + pxy, 1 - px, 1 - py),
    )
    info = np.zeros_like(np.asarray(pxy, dtype=float))
    second = np.zeros_like(info)
    for joint, a, b in cells:
        joint = np.clip(joint, 0.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log = np.where(joint > 0, np.log2(joint / (a * b)), 0.0)
        info += joint * log
        second += joint * log * log
    info = np.maximum(info, 0.0)  # rounding can leave -1e-17
    return info, np.sqrt(np.maximum(second - info * info, 0.0) / n)
