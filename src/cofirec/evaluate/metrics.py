"""Evaluation metrics as pure, vectorised functions.

Rating and classification metrics take paired arrays. Ranking metrics take a boolean hit matrix
``hits`` of shape (n_users, K), where ``hits[u, r]`` says whether the item at rank ``r`` (0-based) of user
``u``'s list is relevant, and ``n_relevant`` of shape (n_users,), the number of relevant items of each user
(which may exceed what the list can show). Ranking functions return the mean over users, or the per-user
values with ``per_user=True``; users with ``n_relevant == 0`` score 0 on every ranking metric except
precision (the evaluation runner leaves such users out).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from cofirec.errors import DataError
from cofirec.kernels.rating_error import rmse as _rmse

__all__ = [
    "accuracy",
    "auc",
    "coverage",
    "hr_at_k",
    "log_loss",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]

PROBA_EPS = 1e-7
"""Probabilities are clipped to [PROBA_EPS, 1 - PROBA_EPS] before taking logarithms."""


# ---------------------------------------------------------------------- helpers
def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: ``np.unique`` hashes and is far slower on many distinct ints)."""
    s = np.sort(np.asarray(values).ravel())
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _pair(y_true, y_pred, what: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, dtype=np.float64).ravel()
    b = np.asarray(y_pred, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise DataError(f"{what}: {len(a)} true values but {len(b)} predictions")
    if len(a) == 0:
        raise DataError(f"{what}: no values to evaluate")
    return a, b


def _hits(hits, n_relevant, k: int | None, what: str) -> tuple[np.ndarray, np.ndarray, int]:
    h = np.asarray(hits, dtype=bool)
    if h.ndim != 2:
        raise DataError(f"{what}: hits must be a 2-d (n_users, K) array, got shape {h.shape}")
    if k is not None:
        if k < 1:
            raise DataError(f"{what}: k must be >= 1, got {k}")
        if k > h.shape[1]:  # a shorter list than k: missing slots are misses
            h = np.pad(h, ((0, 0), (0, k - h.shape[1])))
        h = h[:, :k]
    rel = np.asarray(n_relevant, dtype=np.int64).ravel()
    if len(rel) != h.shape[0]:
        raise DataError(f"{what}: hits has {h.shape[0]} rows but n_relevant has {len(rel)} entries")
    return h, rel, h.shape[1]


def _reduce(values: np.ndarray, per_user: bool) -> np.ndarray | float:
    if per_user:
        return values
    return float(values.mean()) if len(values) else 0.0


def _discounts(k: int) -> np.ndarray:
    """1 / log2(r + 2) for ranks r = 0..k-1."""
    return 1.0 / np.log2(np.arange(k) + 2.0)


# ---------------------------------------------------------------------- rating prediction
def rmse(y_true, y_pred) -> float:
    """Root mean squared error, ``sqrt(mean((y - yhat)^2))`` over pairs of shape (n,)."""
    return _rmse(*_pair(y_true, y_pred, "rmse"))


def mae(y_true, y_pred) -> float:
    """Mean absolute error, ``mean(|y - yhat|)`` over pairs of shape (n,)."""
    a, b = _pair(y_true, y_pred, "mae")
    return float(np.mean(np.abs(a - b)))


# ---------------------------------------------------------------------- binary classification
def auc(labels, scores) -> float:
    """Area under the ROC curve (Mann-Whitney U), ties counted half.

    ``AUC = (sum of the average ranks of positives - P (P + 1) / 2) / (P N)`` with ranks of ``scores``
    (1-based, tied scores share their average rank), ``P`` positives and ``N`` negatives (``labels`` > 0.5
    is positive). Equals the probability that a random positive outscores a random negative, with ties
    counting 1/2. NaN when only one class is present.
    """
    y, s = _pair(labels, scores, "auc")
    pos = y > 0.5
    n_pos = int(pos.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s, method="average")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(labels, probs, eps: float = PROBA_EPS) -> float:
    """Mean binary cross-entropy ``-mean(y log p + (1 - y) log(1 - p))``, ``p`` clipped to [eps, 1 - eps]."""
    y, p = _pair(labels, probs, "log_loss")
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def accuracy(labels, scores, threshold: float = 0.5) -> float:
    """Fraction of pairs where ``(score >= threshold) == (label > 0.5)``."""
    y, s = _pair(labels, scores, "accuracy")
    return float(np.mean((s >= threshold) == (y > 0.5)))


# ---------------------------------------------------------------------- top-K ranking
def precision_at_k(hits, n_relevant, k: int | None = None, *, per_user: bool = False):
    """Precision@K: ``(hits in the top K) / K`` per user (K = list length, missing slots are misses).

    Parameters
    ----------
    hits : bool array, shape (n_users, K')
        ``hits[u, r]``: the item at rank ``r`` is relevant for user ``u``.
    n_relevant : int array, shape (n_users,)
        Relevant items per user (only checked for shape here).
    k : int, optional
        Cut-off; defaults to ``K'``. A ``k > K'`` pads with misses.
    per_user : bool
        Return the per-user array (n_users,) instead of the mean.
    """
    h, _, k = _hits(hits, n_relevant, k, "precision_at_k")
    return _reduce(h.sum(axis=1) / k, per_user)


def recall_at_k(hits, n_relevant, k: int | None = None, *, per_user: bool = False):
    """Recall@K: ``(hits in the top K) / |relevant|`` per user (standard recall; cannot reach 1 when
    ``|relevant| > K``). 0 for users without relevant items. Arguments as :func:`precision_at_k`."""
    h, rel, _ = _hits(hits, n_relevant, k, "recall_at_k")
    return _reduce(np.where(rel > 0, h.sum(axis=1) / np.maximum(rel, 1), 0.0), per_user)


def hr_at_k(hits, n_relevant, k: int | None = None, *, per_user: bool = False):
    """Hit rate@K: 1 if any of the top K items is relevant, else 0. Arguments as :func:`precision_at_k`."""
    h, _, _ = _hits(hits, n_relevant, k, "hr_at_k")
    return _reduce(np.asarray(h.any(axis=1), dtype=np.float64), per_user)


def ndcg_at_k(hits, n_relevant, k: int | None = None, *, per_user: bool = False):
    """NDCG@K with binary relevance: ``DCG / IDCG``.

    ``DCG = sum_r hits[u, r] / log2(r + 2)`` over ranks ``r < K``; ``IDCG = sum_{r < min(|rel|, K)} 1 / log2(r + 2)``
    (all relevant items ranked first). 0 for users without relevant items. Arguments as :func:`precision_at_k`.
    """
    h, rel, k = _hits(hits, n_relevant, k, "ndcg_at_k")
    disc = _discounts(k)
    dcg = h @ disc
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(rel, k)]
    return _reduce(np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0), per_user)


def map_at_k(hits, n_relevant, k: int | None = None, *, per_user: bool = False):
    """MAP@K: mean over users of ``AP@K = sum_r P@(r+1) hits[u, r] / min(|rel|, K)``.

    ``P@(r+1)`` is the precision of the first ``r + 1`` items. 0 for users without relevant items.
    Arguments as :func:`precision_at_k`.
    """
    h, rel, k = _hits(hits, n_relevant, k, "map_at_k")
    prec = np.cumsum(h, axis=1) / np.arange(1, k + 1)
    denom = np.minimum(rel, k)
    ap = np.where(denom > 0, (prec * h).sum(axis=1) / np.maximum(denom, 1), 0.0)
    return _reduce(ap, per_user)


def mrr_at_k(hits, n_relevant, k: int | None = None, *, per_user: bool = False):
    """MRR@K: ``1 / (r + 1)`` for the first relevant rank ``r < K``, 0 without a hit. Arguments as
    :func:`precision_at_k`."""
    h, _, k = _hits(hits, n_relevant, k, "mrr_at_k")
    any_hit = h.any(axis=1)
    first = np.argmax(h, axis=1)
    return _reduce(np.where(any_hit, 1.0 / (first + 1.0), 0.0), per_user)


# ---------------------------------------------------------------------- beyond accuracy
def coverage(recommended_item_indices, n_items: int) -> float:
    """Catalogue coverage: ``|distinct recommended items| / n_items``.

    ``recommended_item_indices`` is an int array of any shape (typically (n_users, K)); negative entries
    mark empty slots and are ignored.
    """
    rec = np.asarray(recommended_item_indices).ravel()
    if n_items <= 0:
        raise DataError(f"coverage: n_items must be positive, got {n_items}")
    rec = rec[rec >= 0]
    if len(rec) and rec.max() >= n_items:
        raise DataError(f"coverage: item index {int(rec.max())} out of range for {n_items} items")
    return float(len(_sorted_unique(rec)) / n_items)


def novelty(recommended, item_popularity, n_users: int | None = None) -> float:
    """Mean self-information ``-log2 p(i)`` of the recommended items (higher = less popular items).

    Parameters
    ----------
    recommended : int array, any shape (typically (n_users, K))
        Item indices into ``item_popularity``; negative entries are empty slots and are ignored.
    item_popularity : array, shape (n_items,)
        Training interaction count of each item.
    n_users : int, optional
        With it, ``p(i) = count_i / n_users`` (fraction of users who interacted with ``i``); without it,
        ``p(i) = count_i / sum(counts)``. Counts below 1 are raised to 1 so that ``p > 0``.

    Returns the mean over all non-empty slots (0.0 when there are none).
    """
    rec = np.asarray(recommended).ravel()
    rec = rec[rec >= 0]
    pop = np.maximum(np.asarray(item_popularity, dtype=np.float64).ravel(), 1.0)
    if len(rec) == 0:
        return 0.0
    if rec.max() >= len(pop):
        raise DataError(f"novelty: item index {int(rec.max())} out of range for {len(pop)} items")
    denom = float(n_users) if n_users is not None else float(np.asarray(item_popularity, dtype=np.float64).sum())
    if denom <= 0:
        raise DataError("novelty: the popularity counts are all zero")
    p = np.minimum(pop[rec] / denom, 1.0)
    return float(np.mean(-np.log2(p)))
