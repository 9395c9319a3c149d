"""Top-k selection over rows of a score matrix."""

from __future__ import annotations

import numpy as np


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
    scores = np.asarray(scores)
    b, m = scores.shape
    k = int(min(max(k, 0), m))
    if k == 0:
        return np.empty((b, 0), dtype=np.int64), np.empty((b, 0), dtype=scores.dtype)
    if k < m:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(m), (b, m)).copy()
    part_vals = np.take_along_axis(scores, part, axis=1)
    # sort by value descending, then by column index ascending (deterministic ties)
    order = np.lexsort((part, -part_vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(part_vals, order, axis=1)
    if k < m:
        idx, vals = _fix_boundary_ties(scores, idx, vals, k)
    return idx, vals


def _fix_boundary_ties(scores: np.ndarray, idx: np.ndarray, vals: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """argpartition picks an arbitrary subset among entries tied at the k-th value; make it the lowest indices."""
    kth = vals[:, -1:]
    n_tied_total = (scores == kth).sum(axis=1)
    n_tied_taken = (vals == kth).sum(axis=1)
    rows = np.flatnonzero(n_tied_total > n_tied_taken)
    for r in rows:  # rare: only rows with ties straddling the cut
        row = scores[r]
        order = np.lexsort((np.arange(len(row)), -row))[:k]
        idx[r] = order
        vals[r] = row[order]
    return idx, vals
