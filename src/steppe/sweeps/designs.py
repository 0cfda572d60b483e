"""Design points of a sweep: full grids, Latin hypercubes and scrambled Sobol' sequences.

A *design* is a table of parameter values, one row per design point. It is built from

* the parameters to vary, each with a range ``(low, high)`` or an explicit list of values,
* a design kind: ``"grid"`` (every combination of per-parameter levels), ``"lhs"`` (a Latin
  hypercube, :class:`scipy.stats.qmc.LatinHypercube`) or ``"sobol"`` (a scrambled Sobol'
  sequence, :class:`scipy.stats.qmc.Sobol`),
* a seed, from which the design's randomness (the hypercube's permutations, the Sobol'
  scrambling) is derived under its own root of the registry of streams
  (:data:`steppe.streams.DESIGN`), so the design never shares random numbers with a run's
  streams and never touches NumPy's global random state.

Ranged parameters of a random design map the unit cube linearly onto ``[low, high]``; a
parameter given as a list of values takes value ``k`` of its ``m`` values when its
coordinate falls in ``[k/m, (k+1)/m)``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np

from steppe import streams
from steppe.errors import ScenarioError
from steppe.sweeps._names import DESIGNS, DesignKind

__all__ = [
    "DESIGNS",
    "Design",
    "DesignKind",
    "Range",
    "VarySpec",
    "explicit_design",
    "make_design",
    "normalize_vary",
]


#: A varied parameter: a range ``(low, high)`` or a list of values.
VarySpec: TypeAlias = tuple[float, float] | Sequence[float]


@dataclass(frozen=True)
class Range:
    """How one parameter varies: a closed range, optionally with grid levels, or values.

    Attributes
    ----------
    low, high
        The range; ``low < high``. For a list of values, its smallest and largest.
    values
        The explicit values, or ``None`` for a continuous range.
    levels
        Grid levels for a range (``None``: the sweep's ``n``).
    """

    low: float
    high: float
    values: tuple[float, ...] | None = None
    levels: int | None = None

    def grid(self, n: int) -> np.ndarray:
        """The grid levels of this parameter (``n`` when it has no levels of its own)."""
        if self.values is not None:
            return np.array(self.values, dtype=float)
        return np.linspace(self.low, self.high, self.levels or n)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map coordinates in ``[0, 1)`` onto this parameter."""
        if self.values is None:
            return self.low + u * (self.high - self.low)
        vals = np.array(self.values, dtype=float)
        k = np.minimum((u * len(vals)).astype(np.int64), len(vals) - 1)
        return vals[k]

    def describe(self) -> list[float] | dict[str, float | int | None]:
        """A JSON-friendly description (recorded in manifests and checkpoints)."""
        if self.values is not None:
            return list(self.values)
        return {"low": self.low, "high": self.high, "levels": self.levels}


@dataclass(frozen=True)
class Design:
    """A table of design points.

    Attributes
    ----------
    kind
        ``"grid"``, ``"lhs"``, ``"sobol"``, or the sampler that produced an explicit design
        (e.g. ``"saltelli"``, ``"morris"``).
    names
        The varied parameters, in column order.
    ranges
        How each parameter varies.
    points
        ``(n_points, n_params)`` array of parameter values.
    seed
        The seed the design's randomness came from.
    """

    kind: str
    names: tuple[str, ...]
    ranges: Mapping[str, Range]
    points: np.ndarray = field(repr=False)
    seed: int

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def overrides(self, i: int) -> dict[str, float]:
        """The parameter values of point ``i`` as ``{name: value}``."""
        return {name: float(v) for name, v in zip(self.names, self.points[i], strict=True)}

    @property
    def sha256(self) -> str:
        """Checksum of the design's values (detects a changed design on resume)."""
        data = np.ascontiguousarray(self.points, dtype="<f8").tobytes()
        return hashlib.sha256(data + "\0".join(self.names).encode()).hexdigest()


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ScenarioError(f"{what}: expected a number, found {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ScenarioError(f"{what}: expected a finite number, found {value!r}")
    return out


def normalize_vary(vary: Mapping[str, VarySpec | Range]) -> dict[str, Range]:
    """Check ``vary`` and turn each entry into a :class:`Range`.

    A tuple ``(low, high)`` is a range; a list is explicit values (at least two, distinct).

    Raises
    ------
    ScenarioError
        With the parameter's name and what is wrong (not a number, ``low >= high``, ...).
    """
    if not vary:
        raise ScenarioError("nothing to vary: give at least one parameter")
    out: dict[str, Range] = {}
    for name, spec in vary.items():
        where = f"vary {name!r}"
        if isinstance(spec, Range):
            rng = spec
        elif isinstance(spec, tuple):
            if len(spec) != 2:
                raise ScenarioError(
                    f"{where}: a range is a pair (low, high), found {len(spec)} numbers"
                )
            rng = Range(_number(spec[0], where), _number(spec[1], where))
        elif isinstance(spec, Sequence | np.ndarray) and not isinstance(spec, str | bytes):
            vals = tuple(_number(v, where) for v in spec)
            if len(set(vals)) < 2 or len(set(vals)) != len(vals):
                raise ScenarioError(
                    f"{where}: a list of values needs at least two distinct values, "
                    f"without repeats; found {list(vals)}"
                )
            rng = Range(min(vals), max(vals), values=vals)
        else:
            raise ScenarioError(
                f"{where}: expected a range (low, high) or a list of values, found {spec!r}"
            )
        if not rng.low < rng.high:
            raise ScenarioError(f"{where}: low must be < high, found {rng.low:g} >= {rng.high:g}")
        if rng.levels is not None and rng.levels < 2:
            raise ScenarioError(f"{where}: a grid needs at least 2 levels, found {rng.levels}")
        out[name] = rng
    return out


def _unit_sample(kind: DesignKind, d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc  # here: scipy.stats takes a while to import (issue 18)

    rng = streams.rng(seed, streams.DESIGN)
    if kind == "lhs":
        return np.asarray(qmc.LatinHypercube(d, rng=rng).random(n))
    m = n.bit_length() - 1
    if n != 1 << m:
        below, above = 1 << m, 1 << (m + 1)
        raise ScenarioError(
            f"a Sobol' design needs a power of 2 points (its balance properties hold only "
            f"then), found n = {n}; use {below} or {above}"
        )
    return np.asarray(qmc.Sobol(d, scramble=True, rng=rng).random_base2(m))


def make_design(
    vary: Mapping[str, VarySpec | Range],
    *,
    design: DesignKind = "grid",
    n: int | None = None,
    seed: int = 0,
) -> Design:
    """Build the design points of a sweep.

    Parameters
    ----------
    vary
        ``{name: (low, high)}`` ranges or ``{name: [values, ...]}`` explicit values.
    design
        ``"grid"``: every combination of the parameters' levels — ``n`` evenly spaced
        levels from low to high for a range (default 5), the given values for a list.
        ``"lhs"``: a Latin hypercube of ``n`` points. ``"sobol"``: the first ``n`` points
        of a scrambled Sobol' sequence (``n`` a power of 2).
    n
        Points (``lhs``, ``sobol``) or levels per ranged parameter (``grid``).
    seed
        Seed of the design's randomness (unused by a grid).

    Returns
    -------
    Design

    Raises
    ------
    ScenarioError
        For an invalid ``vary``, design or ``n``.

    References
    ----------
    .. [1] McKay, M. D., Beckman, R. J., Conover, W. J. (1979). A comparison of three
       methods for selecting values of input variables in the analysis of output from a
       computer code. Technometrics 21(2), 239-245.
    .. [2] Owen, A. B. (1998). Scrambling Sobol' and Niederreiter-Xing points. Journal of
       Complexity 14(4), 466-489.
    """
    ranges = normalize_vary(vary)
    names = tuple(ranges)
    if design not in DESIGNS:
        raise ScenarioError(f"unknown design {design!r}; expected one of {', '.join(DESIGNS)}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ScenarioError(f"n must be a whole number >= 1, found {n!r}")
    if design == "grid":
        levels = 5 if n is None else n
        if levels < 2 and any(r.values is None and r.levels is None for r in ranges.values()):
            raise ScenarioError(f"a grid needs at least 2 levels per parameter, found n = {n}")
        axes = [ranges[name].grid(levels) for name in names]
        points = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(names))
    else:
        if n is None:
            raise ScenarioError(f"a {design!r} design needs the number of points n")
        unit = _unit_sample(design, len(names), n, seed)
        points = np.column_stack([ranges[k].from_unit(unit[:, j]) for j, k in enumerate(names)])
    return Design(kind=design, names=names, ranges=ranges, points=points, seed=seed)


def explicit_design(
    kind: str, ranges: Mapping[str, Range], points: np.ndarray, *, seed: int
) -> Design:
    """A design from given points (e.g. a SALib sample), checked for shape."""
    names = tuple(ranges)
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != len(names):
        raise ScenarioError(f"expected design points of shape (n, {len(names)}), found {pts.shape}")
    return Design(kind=kind, names=names, ranges=dict(ranges), points=pts, seed=seed)
