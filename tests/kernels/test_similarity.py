"""knn_similarity and the weighting helpers against naive per-pair reference implementations on tiny data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from cofirec.kernels.similarity import METRICS, bm25_weight, center_columns, knn_similarity, tfidf_weight


def _tiny(seed: int = 0, n: int = 9, f: int = 12, density: float = 0.45) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    mask = rng.random((n, f)) < density
    mask[:, 0] = True  # every row observed somewhere, and all rows share column 0
    values = rng.integers(1, 6, (n, f)).astype(np.float64)
    return sp.csr_matrix(np.where(mask, values, 0.0))


def _naive(X: sp.csr_matrix, metric: str, alpha: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Similarity and co-rated count for every ordered pair, one pair at a time."""
    dense, mask = X.toarray(), X.toarray() != 0
    n = dense.shape[0]
    sim, common = np.zeros((n, n)), np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            co = mask[a] & mask[b]
            common[a, b] = co.sum()
            if not co.any():
                continue
            x, y = dense[a, co], dense[b, co]
            if metric == "cosine":
                den = (dense[a] @ dense[a]) ** alpha * (dense[b] @ dense[b]) ** (1 - alpha)
                sim[a, b] = dense[a] @ dense[b] / den
            elif metric == "corated_cosine":
                sim[a, b] = x @ y / np.sqrt((x @ x) * (y @ y))
            elif metric == "pearson":
                xc, yc = x - x.mean(), y - y.mean()
                den = np.sqrt((xc @ xc) * (yc @ yc))
                sim[a, b] = xc @ yc / den if den > 1e-12 else 0.0
            elif metric == "jaccard":
                sim[a, b] = co.sum() / (mask[a] | mask[b]).sum()
            elif metric == "euclidean":
                sim[a, b] = 1.0 / (1.0 + np.sqrt(((x - y) ** 2).sum()))
    return sim, common


def _keep_positive_offdiag(sim: np.ndarray) -> np.ndarray:
    out = np.where(sim > 0, sim, 0.0)
    np.fill_diagonal(out, 0.0)
    return out


@pytest.mark.parametrize("metric", METRICS)
def test_all_neighbours_match_naive(metric):
    X = _tiny()
    got = knn_similarity(X, metric, k=X.shape[0]).toarray()
    want, _ = _naive(X, metric)
    np.testing.assert_allclose(got, _keep_positive_offdiag(want), atol=1e-5)


def test_asymmetric_cosine_matches_naive():
    X = _tiny(1)
    got = knn_similarity(X, "cosine", k=20, alpha=0.2).toarray()
    want, _ = _naive(X, "cosine", alpha=0.2)
    np.testing.assert_allclose(got, _keep_positive_offdiag(want), atol=1e-5)
    assert not np.allclose(got, got.T, atol=1e-3), "alpha != 0.5 must be asymmetric"


@pytest.mark.parametrize("metric", ["cosine", "pearson", "jaccard"])
def test_shrinkage_and_min_support(metric):
    X = _tiny(2, n=10, f=15)
    sim, common = _naive(X, metric)
    shrunk = sim * common / (common + 3.0)
    shrunk[common < 3] = 0.0
    got = knn_similarity(X, metric, k=10, shrinkage=3.0, min_support=3).toarray()
    np.testing.assert_allclose(got, _keep_positive_offdiag(shrunk), atol=1e-5)


@pytest.mark.parametrize("metric", ["cosine", "pearson"])
def test_topk_keeps_largest_per_row(metric):
    X = _tiny(3, n=14, f=20)
    full = _keep_positive_offdiag(_naive(X, metric)[0])
    got = knn_similarity(X, metric, k=3)
    assert np.all(np.diff(got.indptr) <= 3)
    for a in range(X.shape[0]):
        row = got[a].toarray().ravel()
        kept = np.flatnonzero(row)
        np.testing.assert_allclose(row[kept], full[a, kept], atol=1e-6)
        if len(kept):
            # nothing dropped is larger than the smallest kept similarity
            dropped = np.setdiff1d(np.flatnonzero(full[a] > 0), kept)
            assert np.all(full[a, dropped] <= row[kept].min() + 1e-9)


def test_blocks_do_not_change_the_result():
    X = _tiny(4, n=23, f=30)
    ref = knn_similarity(X, "pearson", k=5, shrinkage=2.0)
    for block in (1, 4, 7):
        got = knn_similarity(X, "pearson", k=5, shrinkage=2.0, block_rows=block)
        assert np.array_equal(got.indptr, ref.indptr) and np.array_equal(got.indices, ref.indices)
        np.testing.assert_allclose(got.data, ref.data)


def test_negative_similarities_kept_when_asked():
    X = _tiny(5)
    want = _naive(X, "pearson")[0]
    np.fill_diagonal(want, 0.0)
    got = knn_similarity(X, "pearson", k=X.shape[0], positive_only=False).toarray()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (got < 0).any()


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="unknown similarity metric"):
        knn_similarity(_tiny(), "manhattan")


def test_bm25_matches_formula():
    X = _tiny(6)
    got = bm25_weight(X, k1=1.2, b=0.75).toarray()
    dense = X.toarray()
    n_rows = dense.shape[0]
    df = (dense != 0).sum(axis=0)
    idf = np.log(n_rows) - np.log1p(df)
    length = dense.sum(axis=1)
    norm = 0.25 + 0.75 * length / length.mean()
    want = np.zeros_like(dense)
    for r, c in zip(*np.nonzero(dense)):
        x = dense[r, c]
        want[r, c] = x * 2.2 / (1.2 * norm[r] + x) * idf[c]
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_tfidf_and_column_centring():
    X = _tiny(7)
    dense = X.toarray()
    idf = np.log(dense.shape[0] / (1.0 + (dense != 0).sum(axis=0)))
    np.testing.assert_allclose(tfidf_weight(X).toarray(), np.sqrt(dense) * idf[None, :], atol=1e-10)
    centred = center_columns(X)
    for c in range(dense.shape[1]):
        obs = dense[:, c] != 0
        np.testing.assert_allclose(centred.toarray()[obs, c], dense[obs, c] - dense[obs, c].mean(), atol=1e-10)
    assert centred.nnz == X.nnz


def test_ties_at_the_cut_go_to_lower_columns():
    # rows 1..6 all share exactly one column with row 0 and have identical patterns there: equal similarities
    dense = np.zeros((7, 8))
    dense[0, :6] = 1.0
    for r in range(1, 7):
        dense[r, r - 1] = 1.0
    X = sp.csr_matrix(dense)
    for block in (1, 3, None):
        got = knn_similarity(X, "jaccard", k=3, block_rows=block)
        assert list(got[0].indices) == [1, 2, 3]
        np.testing.assert_allclose(got[0].data, 1.0 / 6.0)
