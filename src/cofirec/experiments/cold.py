"""The cold rows of a temporal split: test rows at/after the cut-off whose user or item has no training row.

Collaborative-filtering models learn one vector (or row of similarities) per user and item seen in training, so:

* a **new item** (first seen after the cut-off) cannot be recommended by any of them: rows pairing a known user
  with a new item would score 0 for every model, so they are counted, not ranked;
* a **new user** gets the model's non-personalised fallback ranking (popularity for most models): rows pairing a
  new user with a known item are ranked, and the numbers measure that fallback, not the model.

:func:`cold_summary` counts the three kinds of rows; :func:`new_user_metrics` ranks a model's fallback lists
against the new users' known test items (hr@K, recall@K, ndcg@K, vectorised over users).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.evaluate import metrics as M

NEW_USERS_NOTE = (
    "Users first seen after the cut-off have no learned representation: every model ranks the catalogue for them "
    "with its non-personalised fallback (popularity for most), so these numbers measure that fallback, not the model."
)


def _known(train: Interactions, part: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``part``: is its user / its item in ``train`` (by raw id, with at least one training row)?"""
    u = train.user_map.lookup(part.user_map.to_raw(part.users))
    i = train.item_map.lookup(part.item_map.to_raw(part.items))
    users_with_rows = train.user_counts() > 0
    items_with_rows = train.item_counts() > 0
    return (u >= 0) & users_with_rows[np.maximum(u, 0)], (i >= 0) & items_with_rows[np.maximum(i, 0)]


def cold_summary(train: Interactions, cold: Interactions | None, info: dict[str, Any]) -> dict[str, Any] | None:
    """Counts of the cold rows by kind, the cut-off and the notes; None when the split made no cut-off."""
    if "cutoff" not in info:
        return None
    out: dict[str, Any] = {"cutoff": info.get("cutoff"), "policy": info.get("cold_policy")}
    out.update({k: int(v) for k, v in info.items() if k.startswith("n_cold") or k == "n_dropped"})
    if cold is None or len(cold) == 0:
        if info.get("n_dropped"):
            out["note"] = f"{info['n_dropped']:,} cold test rows were dropped (--cold drop); the metrics above are on warm rows only."
        return out
    user_known, item_known = _known(train, cold)
    out["n_rows_new_user_known_item"] = int((~user_known & item_known).sum())
    out["n_rows_known_user_new_item"] = int((user_known & ~item_known).sum())
    out["n_rows_new_user_new_item"] = int((~user_known & ~item_known).sum())
    out["new_items_note"] = (
        f"{out['n_rows_known_user_new_item'] + out['n_rows_new_user_new_item']:,} cold rows hold an item first seen after the cut-off: "
        "no model here can recommend an item it never saw in training, so they would score 0 for every model and are counted, not ranked."
    )
    out["new_users_note"] = NEW_USERS_NOTE
    out["note"] = "The metrics above are on warm rows only (user and item both seen before the cut-off)."
    return out


def new_user_rows(train: Interactions, cold: Interactions) -> Interactions:
    """The cold rows pairing a new user with a known item (the only cold rows a model can rank)."""
    user_known, item_known = _known(train, cold)
    return cold.subset(~user_known & item_known)


def new_user_metrics(model: Any, rows: Interactions, k: Sequence[int]) -> dict[str, float]:
    """hr@K, recall@K and ndcg@K of ``model``'s lists for the users of ``rows`` (all relevant), seen items not
    excluded (the users have none); empty dict when ``rows`` is empty."""
    if len(rows) == 0:
        return {}
    ks = sorted({int(x) for x in k})
    kmax = max(ks)
    raw_users = rows.user_map.to_raw(rows.users)
    raw_items = rows.item_map.to_raw(rows.items)
    users, row_of = np.unique(raw_users, return_inverse=True)
    row_of = row_of.ravel()
    n_items = model.n_items
    item_idx = model.item_map_.lookup(raw_items)
    ok = item_idx >= 0
    truth = np.unique(row_of[ok] * (n_items + 1) + item_idx[ok])
    n_relevant = np.bincount(row_of, minlength=len(users))
    recs = model.recommend(users, n=kmax, exclude_seen=False)
    idx = model.item_map_.lookup(np.asarray(recs.items).reshape(len(users), -1).ravel()).reshape(len(users), -1)
    idx[~np.isfinite(np.asarray(recs.scores, dtype=np.float64).reshape(idx.shape))] = -1
    keys = np.arange(len(users))[:, None] * (n_items + 1) + idx
    hits = np.zeros((len(users), kmax), dtype=bool)
    hits[:, : idx.shape[1]] = (idx >= 0) & np.isin(keys, truth)
    out: dict[str, float] = {}
    for kk in ks:
        h = hits[:, :kk]
        out[f"hr@{kk}"] = float(M.hr_at_k(h, n_relevant))
        out[f"recall@{kk}"] = float(M.recall_at_k(h, n_relevant))
        out[f"ndcg@{kk}"] = float(M.ndcg_at_k(h, n_relevant))
    return out
