"""Pairwise similarity kernels for memory-based kNN, computed with sparse products in blocks of rows.

Rows of the input matrix are the entities compared (items for item-item kNN, users for user-user kNN);
columns are the features they share (users / items). A stored entry is an observation (explicit zeros
count as observed). "Co-rated" sums run over the columns both rows observed.

Similarities (``metric``):

``cosine``
    ``dot(a, b) / (|a|^(2 alpha) |b|^(2 (1 - alpha)))`` over full vectors (missing = 0); ``alpha=0.5`` is
    the plain cosine, other values the asymmetric cosine (Aiolli 2013). ``a`` is the row whose neighbours
    are sought.
``corated_cosine``
    ``sum_co a b / sqrt(sum_co a^2 * sum_co b^2)``: with baseline residuals as values this is Surprise's
    ``pearson_baseline``.
``pearson``
    Pearson correlation over co-rated columns (means over the co-rated columns, like Surprise).
``jaccard``
    ``|A & B| / |A | B|`` of the observation patterns.
``euclidean``
    ``1 / (1 + sqrt(sum_co (a - b)^2))``.

Then similarities of pairs with fewer than ``min_support`` co-rated columns are zeroed, shrinkage
multiplies by ``n_common / (n_common + shrinkage)``, self-similarity is removed and each row keeps its
``k`` largest (positive, by default) similarities in a sparse CSR matrix. Memory stays bounded by the block
size (``block_rows * n_rows`` dense values at a time).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

Metric = Literal["cosine", "corated_cosine", "pearson", "jaccard", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "corated_cosine", "pearson", "jaccard", "euclidean")

_BLOCK_CELLS = 2_000_000
"""Dense cells per block and per intermediate (about 16 MB of float64)."""


# ---------------------------------------------------------------------- weighting and centring
def bm25_weight(X: sp.spmatrix, k1: float = 100.0, b: float = 0.8) -> sp.csr_matrix:
    """BM25 weights of a rows-x-columns count matrix, as ``implicit.nearest_neighbours.bm25_weight``.

    Rows are the "documents" (the entities compared), columns the "terms": ``idf_c = log(n_rows) -
    log1p(df_c)``, length normalisation by each row's total over the mean row total.

    Returns
    -------
    csr_matrix, float64, same shape and pattern as ``X``.
    """
    X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    n_rows = float(X.shape[0])
    df = np.bincount(X.indices, minlength=X.shape[1])
    idf = np.log(n_rows) - np.log1p(df)
    row_sums = np.asarray(X.sum(axis=1)).ravel()
    avg = row_sums.mean() if len(row_sums) else 1.0
    length_norm = (1.0 - b) + b * row_sums / (avg if avg > 0 else 1.0)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    X.data = X.data * (k1 + 1.0) / (k1 * length_norm[rows] + X.data) * idf[X.indices]
    return X


def tfidf_weight(X: sp.spmatrix) -> sp.csr_matrix:
    """TF-IDF weights as ``implicit.nearest_neighbours.tfidf_weight``: ``sqrt(x) * log(n_rows / (1 + df_c))``."""
    X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    df = np.bincount(X.indices, minlength=X.shape[1])
    idf = np.log(X.shape[0]) - np.log1p(df)
    X.data = np.sqrt(X.data) * idf[X.indices]
    return X


def center_columns(X: sp.spmatrix) -> sp.csr_matrix:
    """Subtract each column's mean over its stored entries from those entries (pattern kept)."""
    X = sp.csr_matrix(X, dtype=np.float64, copy=True)
    counts = np.bincount(X.indices, minlength=X.shape[1])
    sums = np.bincount(X.indices, weights=X.data, minlength=X.shape[1])
    means = sums / np.maximum(counts, 1)
    X.data = X.data - means[X.indices]
    return X


# ---------------------------------------------------------------------- similarity
def _pattern(X: sp.csr_matrix) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones_like(X.data), X.indices, X.indptr), shape=X.shape)


def _dense(m) -> np.ndarray:
    return m.toarray() if sp.issparse(m) else np.asarray(m)


class _Operands:
    """Matrices shared by every block: values, squared values, pattern and their transposes (CSC views)."""

    def __init__(self, X: sp.csr_matrix) -> None:
        self.X = X
        self.B = _pattern(X)
        self.X2 = X.multiply(X).tocsr()
        self.Xt = X.T.tocsr()
        self.Bt = self.B.T.tocsr()
        self.X2t = self.X2.T.tocsr()
        self.sq = np.asarray(self.X2.sum(axis=1)).ravel()
        self.cnt = np.diff(X.indptr).astype(np.float64)


def _block(ops: _Operands, rows: np.ndarray, metric: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Similarity and co-rated counts of ``rows`` against every row: two float64 arrays (len(rows), n_rows)."""
    X, B, X2 = ops.X[rows], ops.B[rows], ops.X2[rows]
    common = _dense(B @ ops.Bt)
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "jaccard":
            sim = common / (ops.cnt[rows][:, None] + ops.cnt[None, :] - common)
        elif metric == "cosine":
            dot = _dense(X @ ops.Xt)
            sim = dot / (ops.sq[rows][:, None] ** alpha * ops.sq[None, :] ** (1.0 - alpha))
        else:
            dot = _dense(X @ ops.Xt)
            sq_a = _dense(X2 @ ops.Bt)  # sum over co-rated of a^2
            sq_b = _dense(B @ ops.X2t)  # sum over co-rated of b^2
            if metric == "corated_cosine":
                sim = dot / np.sqrt(sq_a * sq_b)
            elif metric == "euclidean":
                sim = 1.0 / (1.0 + np.sqrt(np.maximum(sq_a + sq_b - 2.0 * dot, 0.0)))
            elif metric == "pearson":
                s_a = _dense(X @ ops.Bt)
                s_b = _dense(B @ ops.Xt)
                num = common * dot - s_a * s_b
                den = np.sqrt(np.maximum(common * sq_a - s_a**2, 0.0) * np.maximum(common * sq_b - s_b**2, 0.0))
                sim = num / den
            else:
                raise ValueError(f"unknown similarity metric {metric!r} (known: {', '.join(METRICS)})")
    sim[~np.isfinite(sim) | (common == 0)] = 0.0
    return sim, common


def knn_similarity(
    X: sp.spmatrix,
    metric: Metric = "cosine",
    *,
    k: int = 50,
    shrinkage: float = 0.0,
    min_support: int = 1,
    alpha: float = 0.5,
    positive_only: bool = True,
    block_rows: int | None = None,
) -> sp.csr_matrix:
    """Top-``k`` neighbour similarities between the rows of ``X``.

    Parameters
    ----------
    X : sparse matrix, shape (n, f)
        Rows are compared; stored entries are observations.
    metric : see the module docstring.
    k : int
        Neighbours kept per row (largest similarities; ties at the cut go to the lower column index).
    shrinkage : float
        ``sim * n_common / (n_common + shrinkage)``; 0 disables.
    min_support : int
        Pairs with fewer co-rated columns get similarity 0.
    alpha : float
        Asymmetry of ``cosine`` (0.5 = plain cosine).
    positive_only : bool
        Keep only similarities > 0 (else the ``k`` largest by value, negatives included, zeros dropped).
    block_rows : int, optional
        Rows per block (default: keeps a block's dense intermediates around ``2e6`` cells).

    Returns
    -------
    csr_matrix, float32, shape (n, n): row ``a`` holds its neighbours ``b`` with ``sim(a, b)``; diagonal empty.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown similarity metric {metric!r} (known: {', '.join(METRICS)})")
    X = sp.csr_matrix(X, dtype=np.float64)
    X.sort_indices()
    n = X.shape[0]
    k = int(min(max(k, 0), max(n - 1, 0)))
    if n == 0 or k == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    ops = _Operands(X)
    block = int(block_rows or max(1, _BLOCK_CELLS // max(n, 1)))
    parts_rows, parts_cols, parts_vals = [], [], []
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        sim, common = _block(ops, rows, metric, alpha)
        sim[common < min_support] = 0.0
        if shrinkage > 0:
            sim *= common / (common + shrinkage)
        sim[np.arange(len(rows)), rows] = 0.0
        r, c, v = _topk_entries(sim, k, positive_only)
        parts_rows.append(r + start)
        parts_cols.append(c)
        parts_vals.append(v)
    rows_all = np.concatenate(parts_rows)
    out = sp.csr_matrix(
        (np.concatenate(parts_vals).astype(np.float32), (rows_all, np.concatenate(parts_cols))), shape=(n, n)
    )
    out.sort_indices()
    return out


def _topk_entries(sim: np.ndarray, k: int, positive_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, value) of the ``k`` largest entries per row, dropping zeros (and negatives if asked).

    Ties at the cut go to the lower column index, so results do not depend on the block size.
    """
    key = np.where(sim > 0, sim, -np.inf) if positive_only else np.where(sim != 0, sim, -np.inf)
    b, m = key.shape
    if k >= m:
        part = np.broadcast_to(np.arange(m), (b, m))
    else:
        part = np.argpartition(-key, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(key, part, axis=1)
        kth = vals.min(axis=1, keepdims=True)
        # rows whose k-th value is -inf keep every finite entry already; only finite ties need fixing
        tied = np.isfinite(kth[:, 0]) & ((key == kth).sum(axis=1) > (vals == kth).sum(axis=1))
        rows = np.flatnonzero(tied)
        if len(rows):
            cols = np.broadcast_to(np.arange(m), (len(rows), m))
            part[rows] = np.lexsort((cols, -key[rows]), axis=1)[:, :k]
    vals = np.take_along_axis(key, part, axis=1)
    keep = np.isfinite(vals)
    row_ids = np.broadcast_to(np.arange(b)[:, None], part.shape)
    return row_ids[keep], part[keep], vals[keep]
