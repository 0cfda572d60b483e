"""Correlated parameter draws: Iman and Conover's method over fixed blocks of replications.

The correlated parameters (:class:`~steppe.model.correlations.Correlation`) are drawn as
any other -- parameter ``p``'s uniform in replication ``i`` is word ``i`` of its own stream
(:func:`steppe.streams.parameter_uniforms`) -- and then, within each **block** of
:data:`BLOCK` replications (block ``b`` holds replications ``[b B, (b + 1) B)``), each
parameter's uniforms are *reordered* so that their ranks follow a matrix of normal scores
with the target correlation [1]_:

1. the van der Waerden scores ``Phi^-1(r / (B + 1))``, ``r = 1 .. B``, each column of a
   ``B x k`` matrix ``M`` a permutation of them drawn from the block's own stream
   (:func:`steppe.streams.block_generator`: the seed and the block index);
2. ``S = M Q^-T P^T``, with ``Q`` the Cholesky factor of ``M``'s sample correlation and
   ``P`` a factor of the scores' target Pearson correlation ``2 sin(pi R / 6)`` (which
   gives rank correlation ``R``; :func:`steppe.model.correlations.score_matrix`), so that
   ``S``'s sample correlation is exactly that target;
3. in each column, the replication with the ``r``-th smallest ``S`` gets the ``r``-th
   smallest of the parameter's uniforms (ties, which have probability 0, go by replication
   index: a stable sort).

A block's result depends only on the seed, the block index and the block's own draws, so a
chunk of replications draws every block it overlaps, whole, and keeps its slice: the
numbers do not depend on chunks, workers or engine. A run whose length is not a multiple of
:data:`BLOCK` still draws its last block whole. Only the order of each parameter's draws
within a block changes: the values drawn, hence every marginal, are exactly those of the
uncorrelated parameter.

References
----------
.. [1] R. L. Iman and W. J. Conover, "A distribution-free approach to inducing rank
   correlation among input variables", *Communications in Statistics - Simulation and
   Computation* 11 (1982), 311-334.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import special, stats

from steppe.model.correlations import Correlation, score_matrix
from steppe.streams import block_generator, parameter_uniforms

__all__ = ["ACHIEVED_SAMPLE", "BLOCK", "achieved_ranks", "correlated_uniforms", "iman_conover"]

#: Replications per block of Iman and Conover's method (fixed: the numbers depend on it).
BLOCK = 1024
#: The achieved rank correlations a summary records are those of at most this many
#: replications' draws (the first ones of the run).
ACHIEVED_SAMPLE = 100_000


def correlated_uniforms(corr: Correlation, seed: int, start: int, n: int) -> np.ndarray:
    """The uniforms of the correlated parameters (rows, in ``corr.names`` order) for
    replications ``[start, start + n)``: shape ``(k, n)``."""
    k = len(corr.names)
    if n <= 0:
        return np.empty((k, 0))
    first, last = start // BLOCK, (start + n - 1) // BLOCK
    parts = [_block(corr, seed, b) for b in range(first, last + 1)]
    whole = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    offset = start - first * BLOCK
    return whole[:, offset : offset + n]


@functools.lru_cache(maxsize=64)
def _block(corr: Correlation, seed: int, block: int) -> np.ndarray:
    """The reordered uniforms of one block (cached: the engines' evidence paths draw
    parameters for a few replications at a time; read-only)."""
    u = np.stack([parameter_uniforms(seed, name, block * BLOCK, BLOCK) for name in corr.names])
    out = iman_conover(u, _factor(corr), block_generator(seed, block))
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=16)
def _factor(corr: Correlation) -> np.ndarray:
    """A factor ``P`` of the scores' target correlation: ``P P^T = score_matrix(target)``
    (Cholesky; a singular matrix, such as a correlation of 1, by its eigenvectors)."""
    c = score_matrix(corr.matrix())
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        return np.asarray(v * np.sqrt(np.maximum(w, 0.0)), dtype=np.float64)


@functools.lru_cache(maxsize=4)
def _scores(n: int) -> np.ndarray:
    """The van der Waerden scores of ``n`` ranks, ascending."""
    return np.asarray(special.ndtri(np.arange(1, n + 1) / (n + 1)), dtype=np.float64)


def iman_conover(u: np.ndarray, factor: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Reorder each row of ``u`` (``k x B``) so that the rows' ranks follow normal scores
    correlated as ``factor @ factor.T`` (see the module docstring); ``gen`` permutes the
    scores. Returns a new ``k x B`` array whose rows are permutations of ``u``'s."""
    k, n = u.shape
    scores = _scores(n)
    m = np.empty((n, k))
    for j in range(k):
        m[:, j] = scores[gen.permutation(n)]
    q = np.linalg.cholesky(np.corrcoef(m, rowvar=False))
    s = m @ np.linalg.solve(q.T, factor.T)
    out = np.empty_like(u)
    for j in range(k):
        out[j, np.argsort(s[:, j], kind="stable")] = np.sort(u[j])
    return out


def achieved_ranks(draws: np.ndarray) -> np.ndarray:
    """The Spearman correlation matrix of the columns of ``draws`` (``n x k``, one column
    per correlated parameter): the Pearson correlation of their ranks, ties (a ``choice``
    parameter) at their average rank. A column that is constant (a parameter fixed by an
    override) has NaN correlations."""
    k = draws.shape[1]
    if draws.shape[0] < 2:
        return np.full((k, k), np.nan)
    ranks = stats.rankdata(draws, axis=0)
    with np.errstate(all="ignore"):
        out = np.corrcoef(ranks, rowvar=False).reshape(k, k)
    return np.asarray(out, dtype=np.float64)
