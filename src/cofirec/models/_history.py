"""Pieces of the new-user API shared by every model: parsing a history, solving fold-in systems, assembling reasons.

A model folds a new user in through two hooks of :class:`~cofirec.models.base.Recommender`:
``_fold_in(item_idx, values) -> scores (n_items,)`` and, for reasons, ``_contributions(item_idx, values,
targets) -> (len(targets), len(item_idx))``. This module holds what they have in common.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import pandas as pd

from cofirec.errors import DataError
from cofirec.kernels.topk import topk_rows

if TYPE_CHECKING:
    import scipy.sparse as sp

    from cofirec.data.idmap import IdMap
    from cofirec.models.base import Recommendations


def parse_history(model: Any, history: Any) -> tuple[np.ndarray, np.ndarray, list]:
    """``history`` as known item indices (int64), their values (float64) and the unknown raw ids (ignored).

    ``history``: a mapping raw item -> value, a sequence of ``(raw item, value)`` pairs, or a sequence of raw
    items (value 1). DataError for a duplicate item in a sequence, a non-numeric or non-finite value, or a
    shape that is none of these.
    """
    items, values = _split_history(history)
    raw = np.asarray(items, dtype=object) if len(items) else np.empty(0, dtype=object)
    dup = pd.Series(raw, dtype=object).duplicated().to_numpy() if len(raw) else np.zeros(0, dtype=bool)
    if dup.any():
        first = _plain(raw[np.flatnonzero(dup)[0]])
        raise DataError(f"history: item {first!r} appears more than once (give each item once, with its latest value)")
    vals = _values(values)
    idx = model.item_map_.lookup(np.asarray(items)) if len(items) else np.empty(0, dtype=np.int64)
    known = idx >= 0
    ignored = [x for x, k in zip(raw.tolist(), known.tolist()) if not k]
    return idx[known].astype(np.int64), vals[known], ignored


def _split_history(history: Any) -> tuple[list, list]:
    if isinstance(history, Mapping):
        return list(history.keys()), list(history.values())
    if isinstance(history, (str, bytes)) or np.ndim(history) == 0:
        raise DataError(f"history: expected a mapping item -> value or a list of items or (item, value) pairs, got {type(history).__name__}")
    seq = list(history)
    pairs = [isinstance(x, (tuple, list)) for x in seq]
    if any(pairs) and not all(pairs):
        raise DataError("history: mix of plain items and (item, value) pairs; use one form")
    if seq and all(pairs):
        if any(len(x) != 2 for x in seq):
            raise DataError("history: each pair must be (item, value)")
        return [x[0] for x in seq], [x[1] for x in seq]
    return seq, [1.0] * len(seq)


def _values(values: list) -> np.ndarray:
    try:
        vals = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DataError("history: every value must be a number (the rating, or 1 for an interaction)") from None
    if not np.isfinite(vals).all():
        raise DataError("history: values must be finite numbers")
    return vals


@dataclass
class RidgeSystem:
    """A new user's regularised least-squares problem against fixed item vectors.

    Minimise ``sum_h w_h (t_h - a_h . x)^2 + x^T diag(lam) x (+ x^T gram x)`` with ``a_h`` the rows of ``a``
    (history items' vectors, possibly with a constant column for a bias). The solution is
    ``x = M^-1 sum_h a_h r_h`` with ``M = gram + A^T diag(w) A + diag(lam)`` and ``r_h = w_h t_h`` (or, for
    implicit ALS, the confidence times the preference): an exact sum over history items, which
    :meth:`parts` returns for reasons.
    """

    a: np.ndarray
    rhs: np.ndarray
    w: np.ndarray
    lam: np.ndarray
    gram: np.ndarray | None = None

    def _matrix(self) -> np.ndarray:
        a = self.a.astype(np.float64)
        m = (a * self.w[:, None]).T @ a + np.diag(self.lam.astype(np.float64))
        if self.gram is not None:
            m += self.gram
        return m

    def solve(self) -> np.ndarray:
        """The user vector x, float64 (d,)."""
        return np.linalg.solve(self._matrix(), self.a.T.astype(np.float64) @ self.rhs)

    def parts(self) -> np.ndarray:
        """Each history item's share of x, (n_history, d), summing to :meth:`solve`."""
        return np.linalg.solve(self._matrix(), (self.a.astype(np.float64) * self.rhs[:, None]).T).T


def top_reasons(model: Any, item_idx: np.ndarray, contributions: np.ndarray, k: int) -> list[list[tuple[Any, float]]]:
    """Per row of ``contributions`` (targets x history items), up to ``k`` (raw history item, contribution)
    pairs with a positive contribution, largest first."""
    raw = model.item_map_.to_raw(item_idx)
    out: list[list[tuple[Any, float]]] = []
    width = min(k, contributions.shape[1]) if contributions.ndim == 2 else 0
    for row in contributions:
        if width == 0:
            out.append([])
            continue
        order = np.argsort(-row, kind="stable")[:width]
        out.append([(_plain(raw[j]), float(row[j])) for j in order if row[j] > 0])
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class NewUsers:
    """Mixin of :class:`~cofirec.models.base.Recommender`: scoring vectors, new users (fold-in) and reasons.

    A model supplies ``_scoring_vectors`` (optional), ``_fold_in`` and, for exact reasons, ``_contributions``.
    """

    if TYPE_CHECKING:  # what the mixin uses of the Recommender it is mixed into
        user_map_: IdMap
        item_map_: IdMap
        seen_: sp.csr_matrix

        @property
        def n_items(self) -> int: ...
        def _check_fitted(self) -> None: ...
        def _unknown_user_scores(self) -> np.ndarray: ...
        def _allowed_items(self, candidates: Any, exclude: Any, what: str) -> np.ndarray | None: ...
        def _item_similarities(self, iidx: np.ndarray) -> np.ndarray: ...

    def item_vectors(self) -> np.ndarray | None:
        """Item vectors (n_items, d) float32 in ``item_map_`` order such that ``user_vectors() @ item_vectors().T``
        ranks each user's items as :meth:`score_users` does (an item bias becomes an extra column); None for
        models without such vectors (kNN, EASE, baselines, MLP-style models)."""
        self._check_fitted()
        pair = self._scoring_vectors()
        return None if pair is None else np.ascontiguousarray(pair[1], dtype=np.float32)

    def user_vectors(self) -> np.ndarray | None:
        """User vectors (n_users, d) float32 matching :meth:`item_vectors` (None when that is None)."""
        self._check_fitted()
        pair = self._scoring_vectors()
        return None if pair is None else np.ascontiguousarray(pair[0], dtype=np.float32)

    def _scoring_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(user vectors, item vectors) whose inner products rank like ``_score``, or None."""
        return None

    def recommend_history(
        self, history: Any, n: int = 10, *, exclude: Iterable | np.ndarray | None = None, candidates: Iterable | np.ndarray | None = None, why: int = 0
    ) -> Recommendations:
        """Top-``n`` items for a user the model has never seen, from a few interactions, without retraining.

        ``history``: a mapping raw item -> value, a list of ``(item, value)`` pairs, or a list of items (value
        1); the value is the rating for models fitted on ratings, 1 for implicit data, 0/1 for binary data. The
        model folds the user in (each model's ``_fold_in``: a least-squares solve for factor models, the
        neighbour sums for item-kNN and EASE, see the model's docs). History items are never recommended back;
        unknown ones are left out and listed in ``ignored`` (a duplicate item is a DataError). Without any
        known history item the result is the unknown-user fallback with ``known=False``. ``why=k`` fills
        ``reasons``: per item, the k history items that contribute most (:meth:`explain`). One user's 1-d lists.
        """
        from cofirec.models.base import check_top_n, ranked_lists

        n = check_top_n(n, "recommend_history")
        self._check_fitted()
        idx, values, ignored = parse_history(self, history)
        known = len(idx) > 0
        allowed = self._allowed_items(candidates, exclude, "recommend_history")
        index = self.__dict__.get("_ann_index")
        if known and candidates is None and index is not None and hasattr(self, "_fold_in_solution") and index.applies(self):
            from cofirec.retrieval.two_stage import two_stage_history  # factor models, large catalogues: ANN, then exact

            top, vals = two_stage_history(index, self, idx, values, int(min(n, self.n_items)), allowed)
        else:
            scores = np.array(self._fold_in(idx, values) if known else self._unknown_user_scores(), dtype=np.float32)
            scores[idx] = -np.inf
            if allowed is not None:
                scores[~allowed] = -np.inf
            top, vals = topk_rows(scores[None, :], int(min(n, self.n_items)))
        recs = ranked_lists(self.item_map_, top, vals, np.array([None], dtype=object), np.array([known]), single=True)
        recs.ignored = ignored
        if why:
            recs.reasons = self._reasons(idx, values, top[0][: len(recs.items)], int(why))
        return recs

    def explain(self, user: Any, items: Any, k: int = 3) -> list[list[tuple[Any, float]]]:
        """For a known user: per raw item in ``items``, up to ``k`` (training-history raw item, contribution) pairs,
        largest first (the same contributions as ``recommend_history(..., why=k)``). UnknownIdError for an
        unknown user or item."""
        self._check_fitted()
        from cofirec.models.base import raw_id_array

        u = int(self.user_map_.index(np.atleast_1d(np.asarray(user)), kind="user")[0])
        targets = self.item_map_.index(raw_id_array(items, "explain: items"), kind="item")
        idx, values = self._user_history(u)
        return self._reasons(idx, values, targets, int(k))

    def _user_history(self, u: int) -> tuple[np.ndarray, np.ndarray]:
        """A known user's training items (indices) and values (ratings when the model kept them, else 1)."""
        ratings = getattr(self, "train_ratings_", None)
        row = (ratings if ratings is not None else self.seen_)[u]
        return row.indices.astype(np.int64), row.data.astype(np.float64)

    def _reasons(self, idx: np.ndarray, values: np.ndarray, targets: np.ndarray, k: int) -> list[list[tuple[Any, float]]]:
        if len(idx) == 0 or k < 1:
            return [[] for _ in targets]
        return top_reasons(self, idx, np.asarray(self._contributions(idx, values, np.asarray(targets, dtype=np.int64))), k)

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Scores (n_items,) of a new user with history items ``idx`` (known, distinct) and ``values``."""
        raise NotImplementedError(f"{type(self).__name__} cannot fold in new users")

    def _contributions(self, idx: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """(len(targets), len(idx)): how much each history item adds to each target's score. Default: the
        model's item-item similarity (:meth:`similar_items`: cosine of item vectors, else co-occurrence)
        times the history value."""
        return self._item_similarities(targets)[:, idx] * values[None, :]
