"""Every random stream of steppe, derived from a run's seed: the one registry of roots.

All randomness comes from the run's ``seed`` through :class:`numpy.random.SeedSequence`,
whose ``spawn_key`` starts with one of the **roots** below; nothing else in steppe builds a
``SeedSequence`` or touches NumPy's global random state. Distinct roots make the streams of
different purposes distinct: a sweep's design never reads the draws of a simulation.

======================  ====  ================================================================
root                    word  streams under it
======================  ====  ================================================================
``PARAMETERS``          0     one PCG64 stream per parameter name: ``(0, crc32(name))``; word
                              ``i`` is replication ``i``'s uniform (:func:`parameter_uniforms`)
``DYNAMICS``            1     one Philox key per *source* of randomness of a scenario (an
                              event's clock, an event's durations, a project stage's duration,
                              a project's cancellation clock, a series' noise), keyed by the
                              source's name: ``(1, *sha256_words(name))``; replication ``i``
                              reads the Philox stream with counter ``[0, i, 0, 0]``
                              (:func:`dynamics_keys`, :func:`source_generator`)
``DESIGN``              2     a sweep's design (Latin hypercube, scrambled Sobol')
``SENSITIVITY_SAMPLE``  3     the global sensitivity sampler (Saltelli / Morris)
``SENSITIVITY_BOOT``    4     the bootstrap of the sensitivity analysis
``RESAMPLING``          5     the uniform of each resampling of a run conditioned on evidence:
                              ``(5, generation)`` (:func:`resampling_uniform`)
``CORRELATION``         6     the score permutations of Iman and Conover's method in block
                              ``b`` of replications: ``(6, b)`` (:func:`block_generator`)
``SCORING_PIT``         7     the uniform of the randomised PIT of each scored question, keyed
                              by the question's id: ``(7, *sha256_words(id))``
                              (:func:`pit_uniform`, ``steppe score``)
======================  ====  ================================================================

Sources are keyed by **name**, not position, so adding, removing or changing one part of a
scenario leaves the draws of every other part untouched (common random numbers between
variants; ``docs/engine.md`` section 5).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np

__all__ = [
    "CORRELATION",
    "DESIGN",
    "DYNAMICS",
    "PARAMETERS",
    "RESAMPLING",
    "ROOTS",
    "SCORING_PIT",
    "SENSITIVITY_BOOT",
    "SENSITIVITY_SAMPLE",
    "block_generator",
    "dynamics_keys",
    "parameter_uniforms",
    "pit_uniform",
    "resampling_uniform",
    "rng",
    "source_generator",
]

PARAMETERS: Final = 0
DYNAMICS: Final = 1
DESIGN: Final = 2
SENSITIVITY_SAMPLE: Final = 3
SENSITIVITY_BOOT: Final = 4
RESAMPLING: Final = 5
CORRELATION: Final = 6
SCORING_PIT: Final = 7
#: Every root by name (a test checks that they are distinct).
ROOTS: Final = {
    "PARAMETERS": PARAMETERS,
    "DYNAMICS": DYNAMICS,
    "DESIGN": DESIGN,
    "SENSITIVITY_SAMPLE": SENSITIVITY_SAMPLE,
    "SENSITIVITY_BOOT": SENSITIVITY_BOOT,
    "RESAMPLING": RESAMPLING,
    "CORRELATION": CORRELATION,
    "SCORING_PIT": SCORING_PIT,
}


def rng(seed: int, root: int) -> np.random.Generator:
    """A generator for a purpose that needs one stream per run (designs, samplers)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(root,))))


def parameter_uniforms(seed: int, name: str, start: int, n: int) -> np.ndarray:
    """Uniforms in (0, 1) for parameter ``name``, replications ``start .. start + n - 1``.

    Replication ``i`` takes the ``i``-th 64-bit word of the parameter's PCG64 stream (the
    stream is advanced, not replayed), so it gets the same value in every batch, worker and
    engine, and in every scenario with a parameter of that name.
    """
    ss = np.random.SeedSequence(seed, spawn_key=(PARAMETERS, zlib.crc32(name.encode())))
    bg = np.random.PCG64(ss)
    if start:
        bg.advance(start)
    words = bg.random_raw(n)
    return (np.asarray(words >> np.uint64(11), dtype=np.float64) + 0.5) * 2.0**-53


def resampling_uniform(seed: int, generation: int) -> float:
    """The uniform in ``[0, 1)`` of the systematic resampling that makes ``generation``."""
    ss = np.random.SeedSequence(seed, spawn_key=(RESAMPLING, generation))
    return float(np.random.Generator(np.random.PCG64(ss)).random())


def block_generator(seed: int, block: int) -> np.random.Generator:
    """The generator of the score permutations that correlate block ``block`` of
    replications (:mod:`steppe.engines.correlate`)."""
    ss = np.random.SeedSequence(seed, spawn_key=(CORRELATION, block))
    return np.random.Generator(np.random.PCG64(ss))


def pit_uniform(seed: int, question: str) -> float:
    """The uniform in ``[0, 1)`` of the randomised PIT of the question with id ``question``
    (the same for every result scored; adding a question changes no other's)."""
    ss = np.random.SeedSequence(seed, spawn_key=(SCORING_PIT, *_name_words(question)))
    return float(np.random.Generator(np.random.PCG64(ss)).random())


def _name_words(name: str) -> tuple[int, ...]:
    """Four 32-bit words of the SHA-256 of ``name``: distinct names, distinct keys."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def dynamics_keys(seed: int, names: Sequence[str]) -> np.ndarray:
    """The Philox keys of the sources ``names``: a ``uint64`` array of shape ``(len, 2)``."""
    keys = np.empty((len(names), 2), dtype=np.uint64)
    for i, name in enumerate(names):
        ss = np.random.SeedSequence(seed, spawn_key=(DYNAMICS, *_name_words(name)))
        keys[i] = ss.generate_state(2, np.uint64)
    return keys


def source_generator(key: np.ndarray, replication: int, generation: int = 0) -> np.random.Generator:
    """The generator of one source in one replication: Philox with that source's ``key``
    and counter ``[0, replication, generation, 0]`` (the compiled engine computes the same
    numbers, :mod:`steppe.engines.kernel._philox`). ``generation``: a run conditioned on
    evidence draws the future of its resampled particles afresh from generation ``g``'s
    streams (``docs/engine.md`` section 10); 0 otherwise."""
    counter = np.array([0, replication, generation, 0], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key, counter=counter))
