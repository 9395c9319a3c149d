"""Pairwise similarity kernels for memory-based kNN: a parallel sparse product with a per-row top-k.

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
``k`` largest (positive, by default) similarities in a sparse CSR matrix.

Each row ``a`` is compared with every row sharing a column by a row-by-row sparse product (Gustavson's
algorithm, the same summation order as scipy's ``X @ X.T``, so the sums are bitwise those of a sparse
product) into per-thread accumulators of length ``n_rows``; only the touched rows are then scored, and a
``k``-entry heap picks the best when more than ``k`` qualify. Plain cosine (no shrinkage, no minimum
support) takes a leaner loop that keeps only the dot products. Rows run in parallel (numba ``prange``) in
blocks of ``block_rows``; memory is the input, its transpose, ``threads x n_rows x 8`` scratch values and
``block_rows x k`` selected entries (never a dense block of similarities).
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from cofirec.kernels.topk import _after, _push_or_replace, _sift_down

Metric = Literal["cosine", "corated_cosine", "pearson", "jaccard", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "corated_cosine", "pearson", "jaccard", "euclidean")

_BLOCK_CELLS = 250_000
"""Selected (row, neighbour) slots per block: ``block_rows * k`` (int32 + float64 scratch, about 3 MB)."""

_METRIC_CODE = {name: code for code, name in enumerate(METRICS)}
_N_SUMS = {"jaccard": 1, "cosine": 2, "corated_cosine": 4, "euclidean": 4, "pearson": 6}
"""Accumulators per metric: co-rated counts; + dot products; + co-rated squares (a, b); + co-rated sums (a, b)."""


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
    # data * (k1 + 1) / (k1 * norm_row + data) * idf_col, evaluated in place (one temporary of nnz values)
    den = np.repeat(length_norm, np.diff(X.indptr))
    np.multiply(den, k1, out=den)
    np.add(den, X.data, out=den)
    np.multiply(X.data, k1 + 1.0, out=X.data)
    np.divide(X.data, den, out=X.data)
    del den
    np.multiply(X.data, idf[X.indices], out=X.data)
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
    transpose: sp.csr_matrix | None = None,
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
        Rows per parallel block (default: ``block_rows * k`` around ``2.5e5`` selected slots).
    transpose : csr_matrix, optional
        ``X.T`` as a CSR matrix with sorted indices and the same values, when the caller already holds it
        (saves building a copy); otherwise it is computed.

    Values are used in float64; float32 input is read as is (widened exactly, no float64 copy).

    Returns
    -------
    csr_matrix, float32, shape (n, n): row ``a`` holds its neighbours ``b`` with ``sim(a, b)``; diagonal empty.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown similarity metric {metric!r} (known: {', '.join(METRICS)})")
    X = _float_csr(X)
    X.sort_indices()
    n = X.shape[0]
    k = int(min(max(k, 0), max(n - 1, 0)))
    if n == 0 or k == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    Xt = _float_csr(transpose) if transpose is not None else X.T.tocsr()
    if Xt.shape != X.shape[::-1]:
        raise ValueError(f"transpose has shape {Xt.shape}, expected {X.shape[::-1]}")
    sq = _row_sums_of_squares(X.indptr, X.data)  # as X.multiply(X).sum(axis=1), without the copy
    norm_a, norm_b = sq**alpha, sq ** (1.0 - alpha)
    cnt = np.diff(X.indptr).astype(np.float64)
    lanes = max(1, numba.get_num_threads())
    plain_cosine = metric == "cosine" and shrinkage <= 0 and min_support <= 1  # only the dot products matter
    sums_per_row = 1 if plain_cosine else _N_SUMS[metric]
    acc = np.zeros((lanes, n, sums_per_row), dtype=np.float64)  # a row's sums share a cache line
    marks = np.zeros((lanes, n if plain_cosine else 1), dtype=np.uint16)
    touched = np.empty((lanes, n + 1), dtype=np.int64)  # + 1: the branch-free append writes one past
    cand = np.empty((lanes, 1 if plain_cosine else n), dtype=np.float64)
    block = int(block_rows or max(lanes, _BLOCK_CELLS // k))
    params = np.array([shrinkage, float(min_support)], dtype=np.float64)
    index_dtype = np.int32 if n * k < np.iinfo(np.int32).max else np.int64
    # the result's arrays, sized for k neighbours per row, filled block by block and trimmed at the end
    cols = np.empty(n * k, dtype=index_dtype)
    vals = np.empty(n * k, dtype=np.float32)
    counts = np.zeros(n, dtype=np.int64)
    out_idx = np.empty((min(block, n), k), dtype=index_dtype)
    out_val = np.empty((min(block, n), k), dtype=np.float64)
    nnz = 0
    for start in range(0, n, block):
        stop = min(start + block, n)
        out_len = counts[start:stop]
        if plain_cosine:
            _cosine_neighbours(
                X.indptr, X.indices, X.data, Xt.indptr, Xt.indices, Xt.data, start, stop,
                norm_a, norm_b, positive_only, acc.reshape(lanes, n), marks, touched, out_idx, out_val, out_len,
            )  # fmt: skip
        else:
            _neighbours(
                X.indptr, X.indices, X.data, Xt.indptr, Xt.indices, Xt.data, start, stop,
                _METRIC_CODE[metric], norm_a, norm_b, cnt, params, positive_only, acc, touched, cand, out_idx, out_val, out_len,
            )  # fmt: skip
        nnz = _compact_block(out_idx, out_val, out_len, cols, vals, nnz)
    del out_idx, out_val, acc, marks, touched, cand
    cols.resize(nnz, refcheck=False)  # in place (realloc): no second copy of the result
    vals.resize(nnz, refcheck=False)
    indptr = np.zeros(n + 1, dtype=index_dtype)
    np.cumsum(counts, out=indptr[1:])
    out = sp.csr_matrix((vals, cols, indptr), shape=(n, n))
    out.sort_indices()
    return out


def _float_csr(X: sp.spmatrix) -> sp.csr_matrix:
    """``X`` as CSR with float32 or float64 values (others become float64); no copy when it already is one."""
    X = sp.csr_matrix(X)
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)


@njit(cache=True, nogil=True)
def _row_sums_of_squares(indptr, data):
    """Per row, the sum of its stored entries squared, added in storage order (scipy's ``sum(axis=1)`` order)."""
    n = len(indptr) - 1
    out = np.zeros(n, dtype=np.float64)
    for r in range(n):
        total = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            v = np.float64(data[p])
            total += v * v * 1.0
        out[r] = total
    return out


@njit(cache=True, nogil=True)
def _compact_block(out_idx, out_val, out_len, cols, vals, nnz) -> int:
    """Append the block's first ``out_len[r]`` entries of each row to ``cols``/``vals`` (float32) from ``nnz``."""
    for r in range(len(out_len)):
        for j in range(out_len[r]):
            cols[nnz] = out_idx[r, j]
            vals[nnz] = np.float32(out_val[r, j])
            nnz += 1
    return nnz


@njit(cache=True, nogil=True, error_model="numpy")
def _score(code, common, dot, sq_a, sq_b, s_a, s_b, norm, cnt_sum) -> float:
    """Similarity of two rows from their accumulated sums (the formulas of the module docstring).

    ``norm`` is the cosine denominator, ``cnt_sum`` the sum of both rows' counts. The expressions (and their
    evaluation order) are those of the vectorised formulas, so results are bitwise equal. Scalars only: a
    call with array arguments would cost reference counting per pair.
    """
    if code == 3:  # jaccard
        return common / (cnt_sum - common)
    if code == 0:  # cosine
        return dot / norm
    if code == 1:  # corated_cosine
        return dot / np.sqrt(sq_a * sq_b)
    if code == 4:  # euclidean
        return 1.0 / (1.0 + np.sqrt(max(sq_a + sq_b - 2.0 * dot, 0.0)))
    num = common * dot - s_a * s_b
    den = np.sqrt(max(common * sq_a - s_a * s_a, 0.0) * max(common * sq_b - s_b * s_b, 0.0))
    return num / den


@njit(cache=True, nogil=True, error_model="numpy")
def _accumulate(a, indptr, indices, data, t_indptr, t_indices, t_data, sums, touched) -> int:
    """Add row ``a``'s products with every row sharing a column into ``sums``; return how many rows it touched.

    Same loop order as scipy's sparse product (a's columns ascending, then the column's rows in order).
    """
    n_sums = sums.shape[1]
    n_touched = 0
    for p in range(indptr[a], indptr[a + 1]):
        c = indices[p]
        xa = np.float64(data[p])
        for q in range(t_indptr[c], t_indptr[c + 1]):
            b = t_indices[q]
            xb = np.float64(t_data[q])
            fresh = sums[b, 0] == 0.0  # branch-free: the row is written always, counted only when new
            touched[n_touched] = b
            n_touched += fresh
            sums[b, 0] += 1.0
            if n_sums > 1:
                sums[b, 1] += xa * xb
            if n_sums > 2:
                sums[b, 2] += xa * xa
                sums[b, 3] += xb * xb
            if n_sums > 4:
                sums[b, 4] += xa
                sums[b, 5] += xb
    return n_touched


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _neighbours(
    indptr, indices, data, t_indptr, t_indices, t_data, start, stop,
    code, norm_a, norm_b, cnt, params, positive_only, acc, touched, cand, out_idx, out_val, out_len,
):  # fmt: skip
    """Top-k neighbours of rows ``start:stop`` into ``out_*`` (row ``a`` at ``a - start``; a row's entries in
    no particular order), lanes in parallel.

    Lane ``l`` takes rows ``start + l``, ``start + l + lanes``, ... with its own accumulators ``acc[l]``
    (left zeroed again after each row), touched-row list ``touched[l]`` (reused for the candidates' rows)
    and candidate similarities ``cand[l]``.
    """
    lanes = acc.shape[0]
    shrinkage = params[0]
    min_support = params[1]
    for lane in prange(lanes):
        sums = acc[lane]
        rows = touched[lane]
        sims = cand[lane]
        n_sums = sums.shape[1]
        for a in range(start + lane, stop, lanes):
            n_touched = _accumulate(a, indptr, indices, data, t_indptr, t_indices, t_data, sums, rows)
            n_cand = 0
            for t in range(n_touched):
                b = rows[t]
                common = sums[b, 0]
                dot = sums[b, 1] if n_sums > 1 else 0.0
                sq_a = sums[b, 2] if n_sums > 2 else 0.0
                sq_b = sums[b, 3] if n_sums > 2 else 0.0
                s_a = sums[b, 4] if n_sums > 4 else 0.0
                s_b = sums[b, 5] if n_sums > 4 else 0.0
                sim = _score(code, common, dot, sq_a, sq_b, s_a, s_b, norm_a[a] * norm_b[b], cnt[a] + cnt[b])
                for s in range(n_sums):
                    sums[b, s] = 0.0
                if not np.isfinite(sim) or common < min_support or b == a:
                    continue
                if shrinkage > 0:
                    sim *= common / (common + shrinkage)
                if sim > 0 or (not positive_only and sim != 0):
                    rows[n_cand] = b  # n_cand <= t: only rows already read are overwritten
                    sims[n_cand] = sim
                    n_cand += 1
            out_len[a - start] = _select(rows, sims, n_cand, out_idx[a - start], out_val[a - start])


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _cosine_neighbours(
    indptr, indices, data, t_indptr, t_indices, t_data, start, stop,
    norm_a, norm_b, positive_only, dots, marks, touched, out_idx, out_val, out_len,
):  # fmt: skip
    """``_neighbours`` for cosine without shrinkage or minimum support, where only the dot products matter.

    Lane ``l`` keeps its dot products in ``dots[l]`` (float64, ``n_rows``) and, in ``marks[l]`` (uint16),
    which row each belongs to (``a % 65535 + 1``; reset when it wraps), so the accumulators are never zeroed
    and take little more than ``n_rows x 8`` bytes of cache. The first product of a pair is stored, later
    ones added (``0.0 + x == x``: the sums are bitwise those of ``_neighbours``); the append to the touched
    list is branch-free, and the similarities go straight into the row's heap.
    """
    lanes = dots.shape[0]
    k = out_idx.shape[1]
    for lane in prange(lanes):
        sums = dots[lane]
        owner = marks[lane]
        rows = touched[lane]
        for a in range(start + lane, stop, lanes):
            mark = np.uint16(a % 65535 + 1)
            if mark == 1:  # the 16-bit marks wrap around: forget the old ones
                owner[:] = 0
            n_touched = 0
            for p in range(indptr[a], indptr[a + 1]):
                c = indices[p]
                xa = np.float64(data[p])
                for q in range(t_indptr[c], t_indptr[c + 1]):
                    b = t_indices[q]
                    fresh = owner[b] != mark
                    owner[b] = mark
                    before = sums[b]  # loaded unconditionally, so that the choice below compiles to a select
                    before = 0.0 if fresh else before
                    sums[b] = before + xa * np.float64(t_data[q])
                    rows[n_touched] = b
                    n_touched += fresh
            idx = out_idx[a - start]
            vals = out_val[a - start]
            size = 0
            na = norm_a[a]
            for t in range(n_touched):
                b = rows[t]
                sim = sums[b] / (na * norm_b[b])
                if b == a or not np.isfinite(sim) or not (sim > 0 or (not positive_only and sim != 0)):
                    continue
                if size < k:
                    size = _push_or_replace(vals, idx, size, k, sim, b)
                elif sim >= vals[0] and _after(vals[0], idx[0], sim, b):
                    vals[0] = sim
                    idx[0] = b
                    _sift_down(vals, idx, 0, k)
            out_len[a - start] = size


@njit(cache=True, nogil=True)
def _select(rows, sims, n_cand, idx, vals) -> int:
    """The ``len(idx)`` best candidates (largest similarity, then lower row) into ``idx``/``vals``, unordered."""
    k = len(idx)
    if n_cand <= k:
        idx[:n_cand] = rows[:n_cand]
        vals[:n_cand] = sims[:n_cand]
        return n_cand
    size = 0
    for t in range(k):
        size = _push_or_replace(vals, idx, size, k, sims[t], rows[t])
    root = vals[0]
    for t in range(k, n_cand):
        v = sims[t]
        if v >= root and _after(root, idx[0], v, rows[t]):
            vals[0] = v
            idx[0] = rows[t]
            _sift_down(vals, idx, 0, k)
            root = vals[0]
    return k


# ---------------------------------------------------------------------- scoring: rows of A times a CSR B
def rows_times_csr(a: sp.csr_matrix, rows: np.ndarray, b: sp.csr_matrix | np.ndarray, dtype=np.float32) -> np.ndarray:
    """Dense ``a[rows] @ b`` (shape (len(rows), b.shape[1])) computed row-parallel, without a sparse result.

    The sums run in scipy's order (row ``r``'s stored entries in order, then row ``h`` of ``b`` in order) in
    ``dtype`` (the upcast of both inputs in scipy), so the values are bitwise those of
    ``(a[rows] @ b).toarray()`` when ``dtype`` is that upcast. ``b`` may be dense (then its rows are added whole).
    """
    a = a if a.format == "csr" else a.tocsr()
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= a.shape[0]):
        raise IndexError(f"rows_times_csr: row index out of range for {a.shape[0]} rows")
    a_data = np.ascontiguousarray(a.data, dtype=dtype)
    out = np.empty((len(rows), b.shape[1]), dtype=dtype)
    if isinstance(b, sp.spmatrix | sp.sparray):
        bs = sp.csr_matrix(b)
        _rows_times_sparse(a.indptr, a.indices, a_data, rows, bs.indptr, bs.indices, np.ascontiguousarray(bs.data, dtype=dtype), out)
    else:
        _rows_times_dense(a.indptr, a.indices, a_data, rows, np.ascontiguousarray(b, dtype=dtype), out)
    return out


@njit(cache=True, nogil=True, parallel=True)
def _rows_times_sparse(a_ptr, a_ind, a_dat, rows, b_ptr, b_ind, b_dat, out) -> None:
    for r in prange(len(rows)):
        acc = out[r]
        acc[:] = 0
        u = rows[r]
        for p in range(a_ptr[u], a_ptr[u + 1]):
            h = a_ind[p]
            v = a_dat[p]
            for q in range(b_ptr[h], b_ptr[h + 1]):
                acc[b_ind[q]] += v * b_dat[q]


@njit(cache=True, nogil=True, parallel=True)
def _rows_times_dense(a_ptr, a_ind, a_dat, rows, b, out) -> None:
    m = b.shape[1]
    for r in prange(len(rows)):
        acc = out[r]
        acc[:] = 0
        u = rows[r]
        for p in range(a_ptr[u], a_ptr[u + 1]):
            h = a_ind[p]
            v = a_dat[p]
            for j in range(m):
                acc[j] += v * b[h, j]
