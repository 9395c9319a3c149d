"""Pieces of the new-user API shared by every model: parsing a history, solving fold-in systems, assembling reasons.

A model folds a new user in through two hooks of :class:`~cofirec.models.base.Recommender`:
``_fold_in(item_idx, values) -> scores (n_items,)`` and, for reasons, ``_contributions(item_idx, values,
targets) -> (len(targets), len(item_idx))``. This module holds what they have in common.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cofirec.errors import DataError


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
    out = []
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
