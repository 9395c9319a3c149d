"""Two-stage recommend: ANN candidates, re-ranked with the full model's scores, seen and excluded items dropped."""

from __future__ import annotations

from typing import Any

import numpy as np

from cofirec.kernels.topk import topk_rows
from cofirec.models.base import check_top_n, ranked_lists, raw_id_array

BLOCK_USERS = 1024
"""Users per search/re-rank block (bounds the candidate matrices)."""


def two_stage_recommend(index: Any, model: Any, users: Any, n: int, *, exclude_seen: bool = True, exclude: Any = None) -> Any:
    """Top-``n`` :class:`~cofirec.models.base.Recommendations` through ``index`` (an attached AnnIndex).

    Each known user retrieves ``index.candidates * n`` items plus as many as the most items any user of the
    block has seen (so seen items never crowd out the list), re-ranked by ``model._predict_pairs``; unknown
    users get the model's fallback ranking, exactly as the exact ``recommend``.
    """
    n = check_top_n(n)
    model._check_fitted()
    single = np.ndim(users) == 0
    raw_users = raw_id_array(users, "recommend: users")
    uidx = model.user_map_.lookup(raw_users)
    n_eff = int(min(n, model.n_items))
    blocked = _excluded_mask(model, exclude)
    out_items = np.zeros((len(uidx), n_eff), dtype=np.int64)
    out_scores = np.full((len(uidx), n_eff), -np.inf, dtype=np.float32)
    known = np.flatnonzero(uidx >= 0)
    for b0 in range(0, len(known), BLOCK_USERS):
        rows = known[b0 : b0 + BLOCK_USERS]
        idx, vals = _known_block(index, model, uidx[rows], n_eff, exclude_seen, blocked)
        out_items[rows, : idx.shape[1]], out_scores[rows, : idx.shape[1]] = idx, vals
    unknown = np.flatnonzero(uidx < 0)
    if len(unknown):
        scores = np.array(model._unknown_user_scores(), dtype=np.float32)[None, :]
        if blocked is not None:
            scores[:, blocked] = -np.inf
        idx, vals = topk_rows(scores, n_eff)
        out_items[unknown], out_scores[unknown] = idx[0], vals[0]
    return ranked_lists(model.item_map_, out_items, out_scores, raw_users, uidx >= 0, single=single)


def _excluded_mask(model: Any, exclude: Any) -> np.ndarray | None:
    """Bool mask (n_items,) of the ``exclude`` raw ids (unknown ids ignored), or None."""
    if exclude is None:
        return None
    eidx = model.item_map_.lookup(raw_id_array(exclude, "recommend: exclude"))
    mask = np.zeros(model.n_items, dtype=bool)
    mask[eidx[eidx >= 0]] = True
    return mask


def _known_block(index: Any, model: Any, ub: np.ndarray, n: int, exclude_seen: bool, blocked: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``n`` (item indices, scores) for known user indices ``ub``: -inf marks slots with no item."""
    extra = 0
    if exclude_seen:
        extra += int(np.diff(model.seen_.indptr)[ub].max(initial=0))
    if blocked is not None:
        extra += int(blocked.sum())
    k = int(min(model.n_items, index.candidates * n + extra))
    cand, _ = index.search(index._user_vectors[ub], k)
    cand = np.sort(cand, axis=1)  # item order: ties then break by the smaller item index, as in the exact search
    valid = cand >= 0
    safe = np.where(valid, cand, 0)
    users = np.repeat(ub, k)
    scores = np.asarray(model._predict_pairs(users, safe.ravel()), dtype=np.float32).reshape(cand.shape)
    drop = ~valid
    if exclude_seen:
        drop |= _seen_pairs(model, ub, safe)
    if blocked is not None:
        drop |= blocked[safe]
    scores[drop] = -np.inf
    top, vals = topk_rows(scores, n)
    return np.take_along_axis(safe, top, axis=1), vals


def _seen_pairs(model: Any, ub: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Bool (len(ub), k): whether user ``ub[r]`` has seen item ``cand[r, j]`` (vectorised key lookup)."""
    sub = model.seen_[ub]
    n_items = np.int64(model.n_items)
    seen_keys = np.repeat(np.arange(len(ub), dtype=np.int64), np.diff(sub.indptr)) * n_items + sub.indices
    cand_keys = np.arange(len(ub), dtype=np.int64)[:, None] * n_items + cand
    return np.isin(cand_keys, seen_keys)


def two_stage_history(index: Any, model: Any, idx: np.ndarray, values: np.ndarray, n: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``n`` (item indices, scores), each (1, n), of a new user folded in from history items ``idx`` with
    ``values`` (a factor model's ``_fold_in_solution``): ANN candidates for the user's scoring vector ``[p, 1, c]``,
    re-scored exactly (``_fold_in_scores``), history and disallowed items dropped; -inf marks empty slots."""
    p, const = model._fold_in_solution(idx, values)
    vector = np.concatenate([p, [1.0, const]]).astype(np.float32)
    extra = len(idx) + (int(model.n_items - allowed.sum()) if allowed is not None else 0)
    k = int(min(model.n_items, index.candidates * n + extra))
    cand, _ = index.search(vector[None, :], k)
    cand = np.sort(cand[0][cand[0] >= 0])  # item order: ties break by the smaller item index, as in the exact search
    scores = model._fold_in_scores(p, const, cand)
    drop = np.isin(cand, idx)
    if allowed is not None:
        drop |= ~allowed[cand]
    scores[drop] = -np.inf
    if len(cand) == 0:
        return np.zeros((1, 0), dtype=np.int64), np.zeros((1, 0), dtype=np.float32)
    top, vals = topk_rows(scores[None, :], n)
    return cand[top], vals
