"""knn_similarity's input handling (float32, a given transpose) and its memory: no copies beyond the transpose."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from cofirec.data import make_power_law
from cofirec.kernels.similarity import METRICS, knn_similarity


def _csr_bytes(m: sp.csr_matrix) -> int:
    return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes


def _same(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


@pytest.fixture(scope="module")
def items_by_users() -> sp.csr_matrix:
    rng = np.random.default_rng(7)
    m = sp.random(60, 90, density=0.15, format="csr", random_state=rng, data_rvs=lambda n: rng.integers(1, 6, n))
    return m.astype(np.float32)


@pytest.mark.parametrize("metric", METRICS)
def test_float32_input_and_given_transpose_give_bitwise_equal_results(items_by_users, metric):
    want = knn_similarity(items_by_users.astype(np.float64), metric, k=7, shrinkage=2.0)
    _same(knn_similarity(items_by_users, metric, k=7, shrinkage=2.0), want)
    t = items_by_users.T.tocsr()
    _same(knn_similarity(items_by_users, metric, k=7, shrinkage=2.0, transpose=t), want)


def test_small_blocks_give_the_same_result(items_by_users):
    _same(knn_similarity(items_by_users, k=5, block_rows=7), knn_similarity(items_by_users, k=5))


def test_transpose_of_the_wrong_shape_is_refused(items_by_users):
    with pytest.raises(ValueError, match="transpose"):
        knn_similarity(items_by_users, k=5, transpose=items_by_users)


def test_peak_memory_is_the_transpose_plus_the_result():
    """Traced peak above the input: its transpose plus a few times the result (it was 3x the input: squared
    copy, int64 blocks, masks and concatenations)."""
    x = make_power_law(4000, 800, 100_000, seed=0).to_csr("rating", dtype=np.float64).T.tocsr()
    knn_similarity(x, k=50)  # compile / load the kernels
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        out = knn_similarity(x, k=50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    extra = peak - start - _csr_bytes(x)
    assert extra < 3.5 * _csr_bytes(out), extra / _csr_bytes(out)
