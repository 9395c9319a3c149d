"""Top-k of sparse non-negative scores ``a[rows] @ b`` without a dense score block (implicit-feedback kNN).

Implicit kNN scores are sums of positive similarities: ``score = (a[r] @ b)_j`` where that sum is positive
(and, with ``min_k > 1``, at least ``min_k`` terms were added), else 0. :func:`sparse_product_topk` computes
each row's sums over the columns it touches only (per-thread accumulators of length ``m``, reset after
the row), keeps the ``k`` best in a small heap and fills the rest of the list with the zero-score columns,
then the excluded ones, each in column order: exactly what :func:`cofirec.kernels.topk.topk_rows_masked`
returns on the dense scores (same order, same float32 values; sums in scipy's order and dtype), without
touching all ``m`` columns of every row.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from cofirec.kernels.topk import _allowed, _exclusion, _heap_sort_best_first, _push_or_replace

_LANES_PER_THREAD = 4
"""Scratch lanes per numba thread; rows go to lanes round-robin, which balances skewed row lengths."""


def sparse_product_topk(
    a: sp.csr_matrix,
    rows: np.ndarray,
    b: sp.csr_matrix,
    k: int,
    *,
    min_k: int = 1,
    exclude: sp.csr_matrix | None = None,
    exclude_rows: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Best-first top ``k`` (column indices, float32 values) of each row of ``max-or-0(a[rows] @ b)``.

    ``a`` and ``b`` are float32 CSR matrices with non-negative sums in mind (a negative or zero sum scores
    0, like an untouched column). ``exclude``/``exclude_rows``/``allowed`` as in
    :func:`~cofirec.kernels.topk.topk_rows_masked`: excluded and disallowed columns score ``-inf``.
    """
    a = a if a.format == "csr" else a.tocsr()
    b = b if b.format == "csr" else b.tocsr()
    if a.dtype != np.float32 or b.dtype != np.float32:
        raise ValueError("sparse_product_topk: a and b must be float32")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"sparse_product_topk: shapes {a.shape} and {b.shape} do not chain")
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= a.shape[0]):
        raise IndexError(f"sparse_product_topk: row index out of range for {a.shape[0]} rows")
    m = b.shape[1]
    k = int(min(max(k, 0), m))
    ptr, ind, ex_rows = _exclusion(exclude, exclude_rows, len(rows), m)
    mask = _allowed(allowed, m)
    idx = np.empty((len(rows), k), dtype=np.int64)
    vals = np.empty((len(rows), k), dtype=np.float32)
    if len(rows) and k:
        lanes = int(min(len(rows), _LANES_PER_THREAD * numba.get_num_threads()))
        scratch_sums = np.zeros((lanes, m), dtype=np.float32)
        scratch_counts = np.zeros((lanes, m), dtype=np.int32)
        scratch_flags = np.zeros((lanes, m), dtype=np.uint8)
        scratch_touched = np.empty((lanes, m + 1), dtype=np.int32 if m < 2**31 - 1 else np.int64)  # + 1: the branch-free append writes one past
        _kernel(
            a.indptr, a.indices, a.data, rows, b.indptr, b.indices, b.data, int(min_k),
            ptr, ind, ex_rows, len(ex_rows) > 0, mask, len(mask) > 0,
            scratch_sums, scratch_counts, scratch_flags, scratch_touched, idx, vals,
        )  # fmt: skip
    return idx, vals


_TOUCHED = np.uint8(1)
_BLOCKED = np.uint8(2)


@njit(cache=True, nogil=True, parallel=True)
def _kernel(
    a_ptr, a_ind, a_dat, rows, b_ptr, b_ind, b_dat, min_k,
    ex_ptr, ex_ind, ex_rows, use_ex, allowed, use_allowed,
    sums_all, counts_all, flags_all, touched_all, out_idx, out_vals,
):  # fmt: skip
    n_lanes = sums_all.shape[0]
    n_rows = len(rows)
    for lane in prange(n_lanes):
        sums = sums_all[lane]
        counts = counts_all[lane]
        flags = flags_all[lane]
        touched = touched_all[lane]
        for r in range(lane, n_rows, n_lanes):
            _one_row(
                a_ptr, a_ind, a_dat, rows[r], b_ptr, b_ind, b_dat, min_k,
                ex_ptr, ex_ind, ex_rows[r] if use_ex else -1, allowed, use_allowed,
                sums, counts, flags, touched, out_idx[r], out_vals[r],
            )  # fmt: skip


@njit(cache=True, nogil=True)
def _one_row(
    a_ptr, a_ind, a_dat, u, b_ptr, b_ind, b_dat, min_k,
    ex_ptr, ex_ind, ex_row, allowed, use_allowed, sums, counts, flags, touched, idx, vals,
):  # fmt: skip
    m = len(sums)
    k = len(idx)
    n_touched = 0
    for p in range(a_ptr[u], a_ptr[u + 1]):  # scipy's order: a's entries, then b's row in order
        h = a_ind[p]
        v = a_dat[p]
        for q in range(b_ptr[h], b_ptr[h + 1]):
            j = b_ind[q]
            fresh = flags[j] == 0  # branch-free: the column is written always, counted only when new
            touched[n_touched] = j
            n_touched += fresh
            flags[j] = _TOUCHED
            sums[j] += v * b_dat[q]
            if min_k > 1:
                counts[j] += 1
    if ex_row >= 0:
        for p in range(ex_ptr[ex_row], ex_ptr[ex_row + 1]):
            flags[ex_ind[p]] |= _BLOCKED
    size = 0
    for t in range(n_touched):  # positive scores of allowed, unexcluded columns compete in the heap
        j = touched[t]
        if _positive(sums[j], counts[j], min_k) and not (flags[j] & _BLOCKED) and not (use_allowed and not allowed[j]):
            size = _push_or_replace(vals, idx, size, k, sums[j], j)
    _heap_sort_best_first(vals, idx, size)
    j = 0
    while size < k and j < m:  # then score-0 columns in column order
        blocked = (flags[j] & _BLOCKED) or (use_allowed and not allowed[j])
        if not blocked and not ((flags[j] & _TOUCHED) and _positive(sums[j], counts[j], min_k)):
            idx[size] = j
            vals[size] = 0.0
            size += 1
        j += 1
    j = 0
    while size < k and j < m:  # then the excluded ones (-inf), in column order
        if (flags[j] & _BLOCKED) or (use_allowed and not allowed[j]):
            idx[size] = j
            vals[size] = -np.inf
            size += 1
        j += 1
    for t in range(n_touched):
        j = touched[t]
        sums[j] = 0.0
        counts[j] = 0
        flags[j] = 0
    if ex_row >= 0:
        for p in range(ex_ptr[ex_row], ex_ptr[ex_row + 1]):
            flags[ex_ind[p]] = 0


@njit(cache=True, nogil=True, inline="always")
def _positive(total, count, min_k) -> bool:
    return total > 0 and (min_k <= 1 or count >= min_k)
