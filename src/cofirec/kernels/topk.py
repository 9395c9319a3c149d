"""Top-k selection over rows of a score matrix (numba, parallel over rows).

Each row is scanned once, keeping its ``k`` best entries in a small heap stored in the output row itself
(no copy of the scores, no allocation per row); the heap is then sorted in place. The order is total and
deterministic: larger values first, ties broken by the smaller column index, ``-inf`` after every finite
value and ``NaN`` after everything (the order of ``np.lexsort((columns, -row))``).

:func:`topk_rows_masked` applies a per-row exclusion list (e.g. the items each user has seen, as CSR
``indptr``/``indices``) and an optional allowed-columns mask inside the scan: the result equals
:func:`topk_rows` on a copy of the scores with those entries set to ``-inf``, without making that copy.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

_EMPTY_PTR = np.zeros(1, dtype=np.int64)
_EMPTY_IDX = np.zeros(0, dtype=np.int64)
_EMPTY_ROWS = np.zeros(0, dtype=np.int64)
_EMPTY_MASK = np.zeros(0, dtype=np.bool_)
_CHUNK = 32
"""Columns tested at once against the heap's worst entry before looking at them one by one."""


def topk_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest entries of each row, best first.

    Parameters
    ----------
    scores : float array, shape (b, m)
        ``-inf`` marks entries that must never be chosen (they come last).
    k : int
        Number of entries per row; clipped to ``m``.

    Returns
    -------
    idx : int64 array, shape (b, k)
    vals : array, shape (b, k), sorted descending; ties are broken by the smaller column index.
    """
    return topk_rows_masked(scores, k)


def topk_rows_masked(
    scores: np.ndarray,
    k: int,
    *,
    exclude: sp.csr_matrix | None = None,
    exclude_rows: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    parallel: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`topk_rows` of ``scores`` with excluded entries treated as ``-inf``, without copying the scores.

    Parameters
    ----------
    scores : float array, shape (b, m)
    k : int
        Entries per row; clipped to ``m``.
    exclude : CSR matrix with ``m`` columns, optional
        Row ``exclude_rows[r]`` of it lists the columns excluded from score row ``r`` (e.g. the model's
        ``seen_`` matrix). Only its structure is used (stored zeros exclude too).
    exclude_rows : int array, shape (b,), optional
        Row of ``exclude`` for each score row; negative: nothing excluded for that row. Default: row ``r``
        of ``exclude`` for score row ``r`` (then ``exclude`` must have ``b`` rows).
    allowed : bool array, shape (m,), optional
        Columns that may be chosen; the others count as ``-inf`` in every row.
    parallel : bool
        Rows in parallel (numba threads); False runs in the calling thread (for callers that run several
        blocks in their own threads).

    Returns
    -------
    idx, vals as :func:`topk_rows`: excluded entries that still make the top ``k`` (when fewer than ``k``
    remain) come last, by column index, with value ``-inf``.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"topk_rows: scores must be 2-d, got shape {scores.shape}")
    b, m = scores.shape
    k = int(min(max(k, 0), m))
    out_dtype = scores.dtype
    converted = scores.dtype not in (np.float32, np.float64)
    work = np.ascontiguousarray(scores.astype(np.float64) if converted else scores)
    ptr, ind, rows = _exclusion(exclude, exclude_rows, b, m)
    mask = _allowed(allowed, m)
    idx = np.empty((b, k), dtype=np.int64)
    vals = np.empty((b, k), dtype=work.dtype)
    if b and k:
        kernel = _topk_kernel if parallel else _topk_kernel_serial
        kernel(work, ptr, ind, rows, len(rows) > 0, mask, len(mask) > 0, idx, vals)
    if converted:  # non-float input: the values come from the original array (a C-order copy of floats is not that)
        return idx, np.take_along_axis(scores, idx, axis=1)
    return idx, vals.astype(out_dtype, copy=False)


def _exclusion(exclude: sp.spmatrix | None, exclude_rows: np.ndarray | None, b: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """indptr, sorted indices and per-score-row row numbers of the exclusion matrix (empty when unused)."""
    if exclude is None:
        if exclude_rows is not None:
            raise ValueError("topk_rows_masked: exclude_rows given without exclude")
        return _EMPTY_PTR, _EMPTY_IDX, _EMPTY_ROWS
    ex = exclude if sp.issparse(exclude) and exclude.format == "csr" else sp.csr_matrix(exclude)
    if ex.shape[1] != m:
        raise ValueError(f"topk_rows_masked: exclude has {ex.shape[1]} columns but scores have {m}")
    if not ex.has_sorted_indices:
        ex = ex.sorted_indices()
    if exclude_rows is None:
        if ex.shape[0] != b:
            raise ValueError(f"topk_rows_masked: exclude has {ex.shape[0]} rows but scores have {b} (pass exclude_rows)")
        rows = np.arange(b, dtype=np.int64)
    else:
        rows = np.asarray(exclude_rows, dtype=np.int64).ravel()
        if len(rows) != b:
            raise ValueError(f"topk_rows_masked: exclude_rows has {len(rows)} entries but scores have {b} rows")
        if len(rows) and rows.max() >= ex.shape[0]:
            raise ValueError(f"topk_rows_masked: exclude_rows refers to row {rows.max()} of a {ex.shape[0]}-row exclude")
    return ex.indptr, ex.indices, rows


def _allowed(allowed: np.ndarray | None, m: int) -> np.ndarray:
    if allowed is None:
        return _EMPTY_MASK
    mask = np.ascontiguousarray(allowed, dtype=np.bool_).ravel()
    if len(mask) != m:
        raise ValueError(f"topk_rows_masked: allowed has {len(mask)} entries but scores have {m} columns")
    return mask


# ---------------------------------------------------------------------- numba kernel
@njit(cache=True, nogil=True, inline="always")
def _after(av, ai, bv, bi) -> bool:
    """Whether entry (value ``av``, column ``ai``) ranks after (``bv``, ``bi``): NaN last, then smaller value,
    then larger column."""
    a_nan = av != av
    b_nan = bv != bv
    if a_nan != b_nan:
        return a_nan
    if not a_nan and av != bv:
        return av < bv
    return ai > bi


@njit(cache=True, nogil=True, inline="always")
def _sift_down(vals, idx, pos, size) -> None:
    """Restore the heap below ``pos`` (root = the entry that ranks last) in ``vals[:size]``, ``idx[:size]``."""
    v = vals[pos]
    i = idx[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        right = child + 1
        if right < size and _after(vals[right], idx[right], vals[child], idx[child]):
            child = right
        if not _after(vals[child], idx[child], v, i):
            break
        vals[pos] = vals[child]
        idx[pos] = idx[child]
        pos = child
    vals[pos] = v
    idx[pos] = i


@njit(cache=True, nogil=True, inline="always")
def _push_or_replace(vals, idx, size, k, v, j) -> int:
    """Offer entry (v, j) to a heap of ``size`` entries (capacity ``k``); return the new size."""
    if size < k:  # sift up
        pos = size
        while pos > 0:
            parent = (pos - 1) // 2
            if not _after(v, j, vals[parent], idx[parent]):
                break
            vals[pos] = vals[parent]
            idx[pos] = idx[parent]
            pos = parent
        vals[pos] = v
        idx[pos] = j
        return size + 1
    if _after(vals[0], idx[0], v, j):
        vals[0] = v
        idx[0] = j
        _sift_down(vals, idx, 0, size)
    return size


@njit(cache=True, nogil=True)
def _heap_sort_best_first(vals, idx, size) -> None:
    """Turn a heap (root ranks last) into a best-first sorted array, in place."""
    for end in range(size - 1, 0, -1):
        v = vals[0]
        i = idx[0]
        vals[0] = vals[end]
        idx[0] = idx[end]
        vals[end] = v
        idx[end] = i
        _sift_down(vals, idx, 0, end)


@njit(cache=True, nogil=True)
def _scan(row, off, lo, hi, allowed, use_allowed, vals, idx, size, k) -> int:
    """Offer columns ``lo:hi`` (ascending; values ``row[j - off]``, disallowed ones as ``-inf``) to the heap;
    return its size. ``off`` is the column of ``row[0]`` (0 for a full row, the tile's first column for a tile)."""
    j = lo
    while j < hi and size < k:  # filling: every entry goes in
        v = row[j - off]
        if use_allowed and not allowed[j]:
            v = -np.inf
        size = _push_or_replace(vals, idx, size, k, v, j)
        j += 1
    if size < k:
        return size
    root = vals[0]
    while j < hi:
        if root == root:  # skip whole chunks that cannot beat the root (a vectorisable test)
            stop = min(j + _CHUNK, hi)
            beats = False
            for t in range(j, stop):
                beats |= row[t - off] > root
            if not beats:
                j = stop
                continue
        v = row[j - off]
        # scanning columns upwards, an equal value never beats the root (its column is smaller)
        if v > root or (root != root and v == v):
            if use_allowed and not allowed[j]:
                v = -np.inf
            if _after(root, idx[0], v, j):
                vals[0] = v
                idx[0] = j
                _sift_down(vals, idx, 0, size)
                root = vals[0]
        j += 1
    return size


@njit(cache=True, nogil=True, parallel=True)
def _topk_kernel(scores, ex_ptr, ex_ind, ex_rows, use_ex, allowed, use_allowed, out_idx, out_vals) -> None:
    """Best-first top ``out_idx.shape[1]`` of every row of ``scores``, excluded entries read as ``-inf``."""
    for r in prange(scores.shape[0]):
        ex_row = ex_rows[r] if use_ex else -1
        _topk_row(scores[r], ex_ptr, ex_ind, ex_row, allowed, use_allowed, out_idx[r], out_vals[r])


@njit(cache=True, nogil=True)
def _topk_kernel_serial(scores, ex_ptr, ex_ind, ex_rows, use_ex, allowed, use_allowed, out_idx, out_vals) -> None:
    """:func:`_topk_kernel` in the calling thread."""
    for r in range(scores.shape[0]):
        ex_row = ex_rows[r] if use_ex else -1
        _topk_row(scores[r], ex_ptr, ex_ind, ex_row, allowed, use_allowed, out_idx[r], out_vals[r])


@njit(cache=True, nogil=True)
def _topk_row(row, ex_ptr, ex_ind, ex_row, allowed, use_allowed, idx, vals) -> None:
    """Best-first top ``len(idx)`` of one row; columns of row ``ex_row`` of the exclusion CSR (none when
    negative) read as ``-inf``."""
    m = len(row)
    k = len(idx)
    p = 0
    end = 0
    if ex_row >= 0:
        p = ex_ptr[ex_row]
        end = ex_ptr[ex_row + 1]
    size = 0
    lo = 0
    while lo < m:  # segments between excluded columns, then the excluded column itself as -inf
        hi = ex_ind[p] if p < end else m
        size = _scan(row, 0, lo, hi, allowed, use_allowed, vals, idx, size, k)
        if hi < m:
            size = _push_or_replace(vals, idx, size, k, -np.inf, hi)
            while p < end and ex_ind[p] <= hi:
                p += 1
        lo = hi + 1
    _heap_sort_best_first(vals, idx, size)
