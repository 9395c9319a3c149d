"""knn_similarity on many seeded random matrices against a dense per-pair reference with a naive top-k.

Covers every metric with shrinkage, min_support, asymmetric cosine, negative similarities, stored zeros
(observed, value 0), empty rows, k >= n, and the independence of the result from blocks and threads.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from cofirec.kernels.similarity import METRICS, knn_similarity

TOL = 1e-5


def _random_matrix(seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    n, f = int(rng.integers(2, 30)), int(rng.integers(1, 25))
    mask = rng.random((n, f)) < rng.choice([0.1, 0.3, 0.6])
    if seed % 4 == 0:
        mask[rng.integers(0, n)] = False  # an empty row
    values = rng.integers(1, 6, (n, f)).astype(np.float64) if seed % 2 else rng.standard_normal((n, f))
    values[rng.random((n, f)) < 0.1] = 0.0  # stored zeros: observed with value 0
    r, c = np.nonzero(mask)
    return sp.csr_matrix((values[r, c], (r, c)), shape=(n, f))


def _pairwise(X: sp.csr_matrix, metric: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Similarity and co-rated count of every ordered pair, one pair at a time, from the stored pattern."""
    dense = X.toarray()
    mask = sp.csr_matrix((np.ones(X.nnz), X.indices, X.indptr), shape=X.shape).toarray() > 0
    n = dense.shape[0]
    sim, common = np.zeros((n, n)), np.zeros((n, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        for a in range(n):
            for b in range(n):
                co = mask[a] & mask[b]
                common[a, b] = co.sum()
                if not co.any():
                    continue
                x, y = dense[a, co], dense[b, co]
                if metric == "cosine":
                    s = dense[a] @ dense[b] / ((dense[a] @ dense[a]) ** alpha * (dense[b] @ dense[b]) ** (1 - alpha))
                elif metric == "corated_cosine":
                    s = x @ y / np.sqrt((x @ x) * (y @ y))
                elif metric == "pearson":
                    xc, yc = x - x.mean(), y - y.mean()
                    den = np.sqrt((xc @ xc) * (yc @ yc))
                    s = xc @ yc / den if den > 1e-9 else 0.0
                elif metric == "jaccard":
                    s = co.sum() / (mask[a] | mask[b]).sum()
                else:  # euclidean
                    s = 1.0 / (1.0 + np.sqrt(((x - y) ** 2).sum()))
                sim[a, b] = s if np.isfinite(s) else 0.0
    return sim, common


def _reference(X, metric, k, shrinkage, min_support, alpha, positive_only) -> np.ndarray:
    """Dense (n, n): the kept similarities (0 elsewhere), top-k per row by value then lower column."""
    sim, common = _pairwise(X, metric, alpha)
    sim[common < min_support] = 0.0
    if shrinkage > 0:
        sim = sim * common / (common + shrinkage)
    np.fill_diagonal(sim, 0.0)
    keep = sim > TOL if positive_only else np.abs(sim) > TOL
    key = np.where(keep, sim, -np.inf)
    out = np.zeros_like(sim)
    for a in range(len(sim)):
        order = np.lexsort((np.arange(len(sim)), -key[a]))[:k]
        order = order[np.isfinite(key[a, order])]
        out[a, order] = sim[a, order]
    return out


def _assert_same_neighbours(got: sp.csr_matrix, want: np.ndarray, full: np.ndarray, k: int) -> None:
    """Same neighbours and values, except where a similarity ties (within TOL) with the cut or with zero."""
    g = got.toarray()
    for a in range(len(want)):
        kept_g, kept_w = set(np.flatnonzero(g[a])), set(np.flatnonzero(want[a]))
        for b in kept_g:
            assert abs(g[a, b] - full[a, b]) <= TOL, (a, b, g[a, b], full[a, b])
        differ = kept_g ^ kept_w
        if differ:  # only allowed at a tie with the k-th value or with the zero threshold
            cut = min(abs(want[a, list(kept_w)]).min() if kept_w else 0.0, TOL)
            kth = np.sort(want[a, list(kept_w)])[0] if len(kept_w) == k else None
            for b in differ:
                near_cut = kth is not None and abs(full[a, b] - kth) <= TOL
                assert near_cut or abs(full[a, b]) <= cut + TOL, (a, b, full[a, b], kth)
        assert len(kept_g) <= k


CASES = [
    dict(k=3),
    dict(k=50),
    dict(k=4, shrinkage=2.5, min_support=2),
    dict(k=5, positive_only=False),
    dict(k=6, alpha=0.25),
]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("seed", range(12))
def test_random_matrices_match_dense_reference(metric, seed):
    X = _random_matrix(seed)
    for params in CASES:
        kw = dict(shrinkage=0.0, min_support=1, alpha=0.5, positive_only=True) | params
        got = knn_similarity(X, metric, **kw)
        assert got.dtype == np.float32 and got.shape == (X.shape[0],) * 2 and got.has_sorted_indices
        assert np.all(got.diagonal() == 0)
        k = min(kw["k"], X.shape[0] - 1)
        want = _reference(X, metric, k, kw["shrinkage"], kw["min_support"], kw["alpha"], kw["positive_only"])
        full, common = _pairwise(X, metric, kw["alpha"])
        full[common < kw["min_support"]] = 0.0
        if kw["shrinkage"] > 0:
            full = full * common / (common + kw["shrinkage"])
        _assert_same_neighbours(got, want, full, k)


def test_stored_zeros_count_as_co_rated():
    # rows 0 and 1 share only column 1, where row 1 stores an explicit 0: one co-rated column
    X = sp.csr_matrix((np.array([1.0, 2.0, 0.0, 3.0]), np.array([0, 1, 1, 2]), np.array([0, 2, 4])), shape=(2, 3))
    assert X.nnz == 4
    got = knn_similarity(X, "jaccard", k=1).toarray()
    np.testing.assert_allclose(got, [[0, 1 / 3], [1 / 3, 0]], atol=1e-7)
    assert knn_similarity(X, "jaccard", k=1, min_support=2).nnz == 0


@pytest.mark.parametrize("metric", METRICS)
def test_blocks_and_threads_do_not_change_the_result(metric):
    X = _random_matrix(101) if metric != "jaccard" else _random_matrix(102)
    ref = knn_similarity(X, metric, k=4, shrinkage=1.0)
    before = numba.get_num_threads()
    try:
        for threads in {1, before}:
            numba.set_num_threads(threads)
            for block in (1, 2, 5, None):
                got = knn_similarity(X, metric, k=4, shrinkage=1.0, block_rows=block)
                assert np.array_equal(got.indptr, ref.indptr) and np.array_equal(got.indices, ref.indices)
                assert np.array_equal(got.data, ref.data)
    finally:
        numba.set_num_threads(before)


def test_degenerate_shapes():
    assert knn_similarity(sp.csr_matrix((0, 4)), "cosine").shape == (0, 0)
    assert knn_similarity(sp.csr_matrix((1, 4)), "cosine").nnz == 0  # nobody to compare with
    assert knn_similarity(sp.csr_matrix((3, 0)), "pearson").nnz == 0
    assert knn_similarity(sp.csr_matrix(np.ones((3, 2))), "cosine", k=0).nnz == 0


def test_ties_go_to_the_lower_row_whatever_the_scan_order():
    # row 0 observes columns 0 and 1; row 5 is reached first (through column 0), row 2 later (column 1),
    # both with jaccard 1/2: the cut at k=1 must keep row 2
    dense = np.zeros((6, 3))
    dense[0, [0, 1]] = 1.0
    dense[5, 0] = 1.0
    dense[2, 1] = 1.0
    dense[[1, 3, 4], 2] = 1.0
    got = knn_similarity(sp.csr_matrix(dense), "jaccard", k=1)
    assert list(got[0].indices) == [2]


@pytest.mark.parametrize("seed", range(15))
def test_exact_ties_on_binary_data_match_the_reference_exactly(seed):
    # jaccard of 0/1 data is a ratio of small integers, computed exactly alike by both: ties are exact
    rng = np.random.default_rng(500 + seed)
    n, f = int(rng.integers(5, 40)), int(rng.integers(2, 12))
    X = sp.csr_matrix((rng.random((n, f)) < 0.3).astype(np.float64))
    for k in (1, 2, 5):
        got = knn_similarity(X, "jaccard", k=k).toarray()
        want = _reference(X, "jaccard", min(k, n - 1), 0.0, 1, 0.5, True)
        np.testing.assert_array_equal(got != 0, want != 0)
        np.testing.assert_allclose(got, want, atol=1e-7)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("positive_only", [True, False])
def test_plain_cosine_loop_equals_the_general_loop_bitwise(seed, positive_only):
    # plain cosine (no shrinkage, min_support 1) takes its own loop; a shrinkage of 1e-300 multiplies by
    # common / (common + 1e-300) == 1.0 exactly but goes through the general loop: both must agree bit for bit
    X = _random_matrix(700 + seed)
    for k, alpha, block in ((3, 0.5, None), (50, 0.5, 2), (2, 0.3, 1)):
        lean = knn_similarity(X, "cosine", k=k, alpha=alpha, positive_only=positive_only, block_rows=block)
        general = knn_similarity(X, "cosine", k=k, alpha=alpha, positive_only=positive_only, block_rows=block, shrinkage=1e-300)
        assert np.array_equal(lean.indptr, general.indptr) and np.array_equal(lean.indices, general.indices)
        assert np.array_equal(lean.data, general.data)
