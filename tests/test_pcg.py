"""The series' noise (``steppe.engines.kernel._pcg``) is NumPy's, bit for bit.

Row ``s`` of ``fill_normals(keys, rep, out)`` must be
``steppe.streams.noise_generator(keys[s], rep).standard_normal(K)``: NumPy's PCG64, seeded
by the first Philox block of the series' stream, through NumPy's ziggurat. Both engines
read the noise this way, so the reference engine and the compiled one draw the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba.np.random._constants import ziggurat_nor_r

from steppe.engines.kernel import _pcg
from steppe.streams import noise_generator, source_generator

#: Keys: small, all bits set, high bits set in either word.
KEYS = [(1, 2), (2**64 - 1, 2**64 - 1), (2**63 + 12345, 7), (0xDEADBEEF12345678, 2**63 + 1)]


def _keys() -> np.ndarray:
    return np.array(KEYS, dtype=np.uint64)


def test_noise_generator_is_pcg64_seeded_by_the_first_philox_block() -> None:
    key = np.array(KEYS[2], dtype=np.uint64)
    w = [int(x) for x in source_generator(key, 9, 3).bit_generator.random_raw(4)]
    state = noise_generator(key, 9, 3).bit_generator.state
    assert state["bit_generator"] == "PCG64"
    assert state["state"]["state"] == (w[1] << 64) | w[0]
    assert state["state"]["inc"] == (w[3] << 64) | w[2] | 1


@pytest.mark.parametrize("rep", [0, 7, 2**40, 2**63 - 1])
def test_fill_normals_rows_are_the_noise_generators_normals(rep: int) -> None:
    keys = _keys()
    out = np.empty((len(keys), 30_000))
    _pcg.fill_normals(keys, rep, out)
    for s, key in enumerate(keys):
        expected = noise_generator(key, rep).standard_normal(out.shape[1])
        assert np.array_equal(out[s].view(np.uint64), expected.view(np.uint64))
    # the ziggurat's slow paths were taken (the base strip's tail, beyond r)
    assert np.count_nonzero(np.abs(out) >= ziggurat_nor_r) > 5


def test_fill_normals_of_a_generation() -> None:
    keys = _keys()
    out = np.empty((len(keys), 20_000))
    _pcg.fill_normals_of(keys, 5, 2, out)
    for s, key in enumerate(keys):
        expected = noise_generator(key, 5, 2).standard_normal(out.shape[1])
        assert np.array_equal(out[s].view(np.uint64), expected.view(np.uint64))
    # generation 0 is fill_normals
    a, b = np.empty((4, 500)), np.empty((4, 500))
    _pcg.fill_normals_of(keys, 5, 0, a)
    _pcg.fill_normals(keys, 5, b)
    assert np.array_equal(a, b)


def test_each_series_and_replication_has_its_own_stream() -> None:
    keys = _keys()
    a, b = np.empty((4, 200)), np.empty((4, 200))
    _pcg.fill_normals(keys, 1, a)
    _pcg.fill_normals(keys, 2, b)
    assert not np.any(a == b)  # 1,600 continuous draws: no coincidence expected
    assert len({row.tobytes() for row in a}) == 4


def test_fill_normals_with_no_columns_or_rows() -> None:
    _pcg.fill_normals(np.zeros((2, 2), dtype=np.uint64), 0, np.empty((2, 0)))
    _pcg.fill_normals(np.zeros((0, 2), dtype=np.uint64), 0, np.empty((0, 5)))
