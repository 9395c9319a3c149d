"""Top-k items for many users of a factor model, scoring and selection fused tile by tile (numba threads).

Scores are ``user_factors @ item_factors.T`` (+ item biases, + a per-user shift). Each thread takes chunks of
users; for each tile of items it computes the chunk's scores with one single-threaded BLAS product into a
small buffer (tile factors and buffer fit in the core's L2 cache) and offers them at once to each user's
heap, so no score ever travels through main memory. The heaps, the scan order (columns ascending, ties to the
smaller column, ``-inf`` for excluded items, ``NaN`` last) and the exclusion/allowed semantics are those of
:func:`cofirec.kernels.topk.topk_rows_masked`, so the result is the same as selecting from the full score rows.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from cofirec.kernels.topk import _heap_sort_best_first, _push_or_replace, _scan

_TILE_BYTES = 1 << 19
"""Item factors per tile (512 KiB): with the chunk's score buffer, well inside a 1-2 MiB L2 cache."""
_MIN_WIDTH = 256
"""Fewest items per tile (many factors: wider tiles than ``_TILE_BYTES`` rather than very narrow ones)."""


def item_tiles(item_factors: np.ndarray) -> np.ndarray:
    """The transposed item factors cut into contiguous tiles, shape (n_tiles, factors, width), zero-padded.

    The width is a multiple of 16 between ``_MIN_WIDTH`` and 8192 columns, about ``_TILE_BYTES`` of factors
    per tile.
    """
    n_items, f = item_factors.shape
    width = int(min(8192, max(_MIN_WIDTH, (_TILE_BYTES // (4 * max(f, 1))) // 16 * 16)))
    n_tiles = max(1, -(-n_items // width))
    tiles = np.zeros((n_tiles, f, width), dtype=np.float32)
    for t in range(n_tiles):
        block = item_factors[t * width : (t + 1) * width]
        tiles[t, :, : len(block)] = block.T
    return tiles


def factor_topk(
    user_factors: np.ndarray,
    tiles: np.ndarray,
    n_items: int,
    users: np.ndarray,
    k: int,
    *,
    item_bias: np.ndarray | None = None,
    shift: np.ndarray | None = None,
    ex_ptr: np.ndarray,
    ex_ind: np.ndarray,
    ex_rows: np.ndarray,
    allowed: np.ndarray,
    chunk: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Best-first top ``k`` items of each user in ``users`` (float32 factors; ``tiles`` from :func:`item_tiles`).

    ``item_bias`` (n_items,) and ``shift`` (one value per entry of ``users``) are added to the scores in that
    order, as ``FactorScoring._score`` does. ``ex_ptr``/``ex_ind``/``ex_rows`` and ``allowed`` are the
    exclusion CSR and allowed-columns mask as prepared by ``topk_rows_masked`` (empty arrays: unused).

    Returns
    -------
    idx : int64 (len(users), k); vals : float32 (len(users), k).
    """
    k = int(min(max(k, 0), n_items))
    idx = np.empty((len(users), k), dtype=np.int64)
    vals = np.empty((len(users), k), dtype=np.float32)
    if not len(users) or not k:
        return idx, vals
    ib = np.zeros(0, dtype=np.float32) if item_bias is None else np.ascontiguousarray(item_bias, dtype=np.float32)
    sh = np.zeros(0, dtype=np.float32) if shift is None else np.ascontiguousarray(shift, dtype=np.float32)
    lanes = max(1, min(numba.get_num_threads(), -(-len(users) // chunk)))
    _fused(
        np.ascontiguousarray(user_factors, dtype=np.float32), tiles, n_items, np.asarray(users, dtype=np.int64),
        ib, len(ib) > 0, sh, len(sh) > 0, ex_ptr, ex_ind, ex_rows, len(ex_rows) > 0, allowed, len(allowed) > 0,
        int(chunk), lanes, idx, vals,
    )  # fmt: skip
    return idx, vals


@njit(cache=True, nogil=True, parallel=True)
def _fused(
    user_factors, tiles, m, users, ib, use_ib, sh, use_sh, ex_ptr, ex_ind, ex_rows, use_ex, allowed, use_allowed,
    chunk, lanes, out_idx, out_vals,
):  # fmt: skip
    """Lane ``l`` takes user chunks ``l, l + lanes, ...``; per chunk, every tile is scored and scanned."""
    n_users = len(users)
    n_chunks = (n_users + chunk - 1) // chunk
    n_tiles, f, width = tiles.shape
    k = out_idx.shape[1]
    for lane in prange(lanes):
        uf = np.empty((chunk, f), dtype=np.float32)
        buf = np.empty((chunk, width), dtype=np.float32)
        heap_v = np.empty((chunk, k), dtype=np.float32)
        heap_i = np.empty((chunk, k), dtype=np.int64)
        size = np.zeros(chunk, dtype=np.int64)
        ptr = np.zeros(chunk, dtype=np.int64)
        end = np.zeros(chunk, dtype=np.int64)
        for c in range(lane, n_chunks, lanes):
            lo = c * chunk
            nb = min(chunk, n_users - lo)
            for r in range(nb):
                uf[r] = user_factors[users[lo + r]]
                size[r] = 0
                ptr[r] = 0
                end[r] = 0
                if use_ex and ex_rows[lo + r] >= 0:
                    ptr[r] = ex_ptr[ex_rows[lo + r]]
                    end[r] = ex_ptr[ex_rows[lo + r] + 1]
            for t in range(n_tiles):
                np.dot(uf[:nb], tiles[t], buf[:nb])
                col0 = t * width
                stop = min(col0 + width, m)
                for r in range(nb):
                    row = buf[r]
                    if use_ib:
                        for j in range(stop - col0):
                            row[j] += ib[col0 + j]
                    if use_sh:
                        s = sh[lo + r]
                        for j in range(stop - col0):
                            row[j] += s
                    size[r] = _scan_tile(row, col0, stop, m, ex_ind, ptr, end, r, allowed, use_allowed, heap_v[r], heap_i[r], size[r], k)
            for r in range(nb):
                _heap_sort_best_first(heap_v[r], heap_i[r], size[r])
                out_vals[lo + r] = heap_v[r]
                out_idx[lo + r] = heap_i[r]


@njit(cache=True, nogil=True)
def _scan_tile(row, col0, stop, m, ex_ind, ptr, end, r, allowed, use_allowed, vals, idx, size, k) -> int:
    """Offer columns ``col0:stop`` (values ``row[j - col0]``) to the heap, excluded columns as ``-inf``;
    ``ptr[r]`` walks the row's sorted exclusion list across tiles. Returns the heap's size."""
    lo = col0
    while lo < stop:
        hi = ex_ind[ptr[r]] if ptr[r] < end[r] else m
        seg_hi = min(hi, stop)
        size = _scan(row, col0, lo, seg_hi, allowed, use_allowed, vals, idx, size, k)
        if hi >= stop:
            break
        size = _push_or_replace(vals, idx, size, k, -np.inf, hi)
        while ptr[r] < end[r] and ex_ind[ptr[r]] <= hi:
            ptr[r] += 1
        lo = hi + 1
    return size
