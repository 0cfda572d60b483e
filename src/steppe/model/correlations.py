"""Rank correlations between parameters: the target matrix, checked and (if asked) repaired.

A scenario's ``correlations:`` (:mod:`steppe.model.correlation_spec`) becomes one
:class:`Correlation`: the parameters that take part (every one with a non-zero correlation;
a parameter whose correlations are all 0 keeps its own independent draws), the target rank
(Spearman) correlation matrix, and the Pearson correlation matrix of the normal scores that
Iman and Conover's method imposes to get it (:func:`score_matrix`). The draws themselves
are made by :mod:`steppe.engines.correlate`.

Checks, each a :class:`~steppe.errors.ScenarioError` at the YAML path of the culprit: the
names are drawn parameters (not fixed, bare numbers or formulas; an override's fixed
value is allowed, see :meth:`steppe.model.scenario.Scenario.with_overrides`); the matrix is
square, symmetric, with 1 on its diagonal; no pair is given twice or against itself; and
the whole matrix is positive semi-definite, else the error gives its smallest eigenvalue,
unless ``repair: nearest`` asks for the nearest correlation matrix (:func:`nearest_correlation`),
which :class:`Correlation` then records.

References
----------
.. [1] R. L. Iman and W. J. Conover, "A distribution-free approach to inducing rank
   correlation among input variables", *Communications in Statistics - Simulation and
   Computation* 11 (1982), 311-334.
.. [2] N. J. Higham, "Computing the nearest correlation matrix - a problem from finance",
   *IMA Journal of Numerical Analysis* 22 (2002), 329-343.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from steppe.errors import PathPart, ScenarioError, format_path
from steppe.model.base import suggest
from steppe.model.correlation_spec import CorrelationMatrixSpec, CorrelationsSpec, PairSpec

if TYPE_CHECKING:
    import numpy as np  # imported by the functions that compute: validating needs none

__all__ = [
    "PSD_TOLERANCE",
    "Correlation",
    "build_correlation",
    "nearest_correlation",
    "score_matrix",
]

#: A matrix whose smallest eigenvalue is below ``-PSD_TOLERANCE`` is not positive
#: semi-definite (rounding of a valid matrix's entries stays far above it).
PSD_TOLERANCE = 1e-10
Path = tuple[PathPart, ...]


class _Param(Protocol):
    """What is read of a parameter (:class:`steppe.model.scenario.ParamModel`)."""

    @property
    def name(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def dist(self) -> Any: ...
    @property
    def value(self) -> float | None: ...
    @property
    def expr(self) -> Any: ...


@dataclass(frozen=True)
class Correlation:
    """The rank correlations of a scenario's parameters.

    Attributes
    ----------
    names, indices
        The correlated parameters (names and parameter indices), in the order of the matrix.
    target
        The rank correlation matrix imposed (after any repair), row by row.
    given_eigenvalue
        The smallest eigenvalue of the matrix as the scenario gives it.
    repaired
        Whether ``target`` is the nearest correlation matrix to a given one that was not
        positive semi-definite (``repair: nearest``).
    """

    names: tuple[str, ...]
    indices: tuple[int, ...]
    target: tuple[tuple[float, ...], ...]
    given_eigenvalue: float
    repaired: bool = False

    def matrix(self) -> np.ndarray:
        """``target`` as an array."""
        import numpy as np

        return np.array(self.target, dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        """The summary's account of the correlations."""
        return {
            "method": "Iman-Conover",
            "parameters": list(self.names),
            "rank_matrix": [list(row) for row in self.target],
            "repaired": self.repaired,
            "smallest_eigenvalue_given": self.given_eigenvalue,
        }


def score_matrix(target: np.ndarray) -> np.ndarray:
    """The Pearson correlation of normal scores whose Spearman correlation is ``target``:
    ``2 sin(pi r / 6)`` entry by entry (exact for a bivariate normal; Pearson, 1907),
    made positive semi-definite again if the map broke it (:func:`nearest_correlation`)."""
    import numpy as np

    scores = 2.0 * np.sin(np.pi * target / 6.0)
    np.fill_diagonal(scores, 1.0)
    if float(np.linalg.eigvalsh(scores)[0]) < -PSD_TOLERANCE:
        scores = nearest_correlation(scores)
    return scores


def nearest_correlation(a: np.ndarray, *, tol: float = 1e-12, max_iter: int = 10_000) -> np.ndarray:
    """The nearest correlation matrix to symmetric ``a`` in the Frobenius norm: Higham's
    alternating projections (onto the positive semi-definite cone, with Dykstra's
    correction, and onto unit-diagonal matrices) [2]_.

    Returns a symmetric matrix with unit diagonal whose eigenvalues are non-negative (to
    rounding)."""
    import numpy as np

    y = np.array(a, dtype=np.float64)
    ds = np.zeros_like(y)
    for _ in range(max_iter):
        r = y - ds
        w, v = np.linalg.eigh((r + r.T) / 2.0)
        x = (v * np.maximum(w, 0.0)) @ v.T
        ds = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        done = np.linalg.norm(y_new - y, "fro") <= tol * max(1.0, float(np.linalg.norm(y_new)))
        y = y_new
        if done:
            break
    return (y + y.T) / 2.0


def build_correlation(
    spec: CorrelationsSpec | None, params: Sequence[_Param], overridden: frozenset[str]
) -> Correlation | None:
    """The :class:`Correlation` of a scenario's ``correlations:`` (None without one, or when
    every correlation is 0).

    Raises
    ------
    ScenarioError
        At the YAML path of a bad name, entry or matrix (see the module docstring).
    """
    if spec is None:
        return None
    by_name = {p.name: p for p in params}
    root: Path = ("correlations",)
    pairs: list[tuple[PairSpec, Path]]
    names: list[str] = []
    given: dict[tuple[str, str], tuple[float, Path]] = {}
    repair = False
    if isinstance(spec, CorrelationMatrixSpec):
        repair = spec.repair == "nearest"
        pairs = [(p, (*root, "pairs", i)) for i, p in enumerate(spec.pairs)]
        if spec.parameters is not None and spec.matrix is not None:
            names = _matrix_names(spec.parameters, by_name, overridden)
            _matrix_entries(spec.matrix, names, given)
    else:
        pairs = [(p, (*root, i)) for i, p in enumerate(spec)]
    for pair, path in pairs:
        a, b = (
            _check_name(n, (*path, "between", j), by_name, overridden)
            for j, n in enumerate(pair.between)
        )
        if a == b:
            raise ScenarioError(
                f"a parameter cannot be correlated with itself ({a!r})", path=(*path, "between")
            )
        key = (a, b) if a < b else (b, a)
        if key in given:
            _, where = given[key]
            raise ScenarioError(
                f"the correlation of {a!r} and {b!r} is already given at "
                f"{format_path(where)}; give each pair once",
                path=(*path, "between"),
            )
        given[key] = (pair.rank, path)
        names += [n for n in (a, b) if n not in names]
    # Only parameters with a non-zero correlation take part: the others keep their draws.
    active = [n for n in names if any(v != 0.0 and n in k for k, (v, _) in given.items())]
    if len(active) < 2:
        return None
    import numpy as np  # here: a scenario without correlations is validated without NumPy

    m = np.eye(len(active))
    pos = {n: i for i, n in enumerate(active)}
    for (a, b), (v, _) in given.items():
        if a in pos and b in pos:
            m[pos[a], pos[b]] = m[pos[b], pos[a]] = v
    smallest = float(np.linalg.eigvalsh(m)[0])
    repaired = False
    if smallest < -PSD_TOLERANCE:
        if not repair:
            how = (
                "add `repair: nearest` to this mapping"
                if isinstance(spec, CorrelationMatrixSpec)
                else "write correlations as a mapping with `pairs:` and `repair: nearest`"
            )
            raise ScenarioError(
                f"the rank correlation matrix of {', '.join(active)} is not positive "
                f"semi-definite: its smallest eigenvalue is {smallest:.6g} (it must be >= 0); "
                "these correlations cannot all hold at once. Weaken some of them, or "
                f"{how} to use the nearest valid matrix (with a warning)",
                path=root,
            )
        m, repaired = nearest_correlation(m), True
    indices = tuple(by_name[n].index for n in active)
    target = tuple(tuple(float(x) for x in row) for row in m)
    return Correlation(tuple(active), indices, target, smallest, repaired)


def _check_name(
    name: str, path: Path, by_name: dict[str, _Param], overridden: frozenset[str]
) -> str:
    p = by_name.get(name)
    if p is None:
        raise ScenarioError(f"unknown parameter {name!r}{suggest(name, list(by_name))}", path=path)
    if p.dist is None and name not in overridden:
        what = f"derived (= {p.expr.source})" if p.expr is not None else f"fixed ({p.value:g})"
        raise ScenarioError(
            f"parameter {name!r} is {what}: only parameters drawn from a distribution can be "
            "correlated",
            path=path,
        )
    return name


def _matrix_names(
    names: list[str], by_name: dict[str, _Param], overridden: frozenset[str]
) -> list[str]:
    seen: list[str] = []
    for j, n in enumerate(names):
        path: Path = ("correlations", "parameters", j)
        _check_name(n, path, by_name, overridden)
        if n in seen:
            raise ScenarioError(f"parameter {n!r} is listed twice", path=path)
        seen.append(n)
    return seen


def _matrix_entries(
    matrix: list[list[float]], names: list[str], given: dict[tuple[str, str], tuple[float, Path]]
) -> None:
    k = len(names)
    base: Path = ("correlations", "matrix")
    if len(matrix) != k:
        raise ScenarioError(
            f"the matrix has {len(matrix)} rows but there are {k} parameters; it must be {k} x {k}",
            path=base,
        )
    for i, row in enumerate(matrix):
        if len(row) != k:
            raise ScenarioError(
                f"row {i} has {len(row)} entries; the matrix must be {k} x {k}", path=(*base, i)
            )
    for i in range(k):
        if matrix[i][i] != 1.0:
            raise ScenarioError(
                f"the diagonal must be 1 (a parameter's correlation with itself), found "
                f"{matrix[i][i]:g}",
                path=(*base, i, i),
            )
        for j in range(i + 1, k):
            if not math.isclose(matrix[i][j], matrix[j][i], rel_tol=0.0, abs_tol=1e-12):
                raise ScenarioError(
                    f"the matrix must be symmetric: [{i}][{j}] is {matrix[i][j]:g} but "
                    f"[{j}][{i}] is {matrix[j][i]:g}",
                    path=(*base, j, i),
                )
            a, b = names[i], names[j]
            key = (a, b) if a < b else (b, a)
            given[key] = (matrix[i][j], (*base, i, j))
