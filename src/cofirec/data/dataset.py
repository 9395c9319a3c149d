"""The in-memory interaction container shared by every part of cofirec.

One orientation everywhere: users are rows, items are columns. Kernels see dense indices; everything that
faces a person (CLI, service, reports) speaks raw ids, translated through :class:`~cofirec.data.idmap.IdMap`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cofirec.data.idmap import IdMap, parse_ids
from cofirec.errors import DataError


@dataclass(frozen=True, eq=False)
class Interactions:
    """User-item interactions with their vocabularies and optional side features.

    Attributes
    ----------
    users, items : int32 arrays, shape (n,)
        Dense indices into ``user_map`` / ``item_map``.
    ratings : float32 array, shape (n,)
        Explicit ratings, binary labels, or 1.0 for implicit interactions.
    timestamps : int64 array, shape (n,), or None
        Seconds since the epoch when known.
    user_map, item_map : IdMap
        Raw id vocabularies. They may hold ids with no interaction (after :meth:`subset`); use
        :meth:`compact` to drop them.
    user_features, item_features : DataFrame or None
        Side information indexed by raw id (MovieLens: age, gender, occupation, zip / title, year, genres,
        where ``genres`` is a ``|``-separated string).
    kind : "explicit", "implicit" or "binary"
        What ``ratings`` hold.
    name : str
        Where the data came from (dataset name or file), for messages and reports.
    raw_ratings : float32 array, shape (n,), or None
        For binary data made by :meth:`binarize`: the ratings the labels were cut from (models with an
        ordinal loss learn from the whole scale); None otherwise.
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    user_map: IdMap
    item_map: IdMap
    timestamps: np.ndarray | None = None
    user_features: pd.DataFrame | None = None
    item_features: pd.DataFrame | None = None
    kind: Literal["explicit", "implicit", "binary"] = "explicit"
    name: str = ""
    meta: dict = field(default_factory=dict)
    raw_ratings: np.ndarray | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        user_col: str = "user",
        item_col: str = "item",
        rating_col: str | None = "rating",
        timestamp_col: str | None = "timestamp",
        user_features: pd.DataFrame | None = None,
        item_features: pd.DataFrame | None = None,
        kind: Literal["explicit", "implicit", "binary"] | None = None,
        name: str = "",
        duplicates: Literal["latest", "error"] = "latest",
    ) -> "Interactions":
        """Build a container from a frame of raw ids.

        Duplicate (user, item) pairs: with ``duplicates="latest"`` the latest one (by timestamp, then by
        position in the frame) is kept and a warning gives the count; ``"error"`` raises :class:`DataError`.
        Vocabularies are sorted raw ids, so indices are stable for the same data. Id columns follow the id
        policy (:mod:`cofirec.data.idmap`): int64 when every id is a whole number that fits, else strings;
        missing ids (None, NaN, "") and fractional numbers are a :class:`DataError`.
        """
        for col in (user_col, item_col):
            if col not in df.columns:
                raise DataError(f"{name or 'data'}: missing column {col!r} (have {list(df.columns)})")
        if len(df) == 0:
            raise DataError(f"{name or 'data'}: no interactions")
        has_rating = rating_col is not None and rating_col in df.columns
        has_ts = timestamp_col is not None and timestamp_col in df.columns
        user_raw = parse_ids(df[user_col], what="user", source=name or "data")
        item_raw = parse_ids(df[item_col], what="item", source=name or "data")
        user_codes, user_ids = _factorize_sorted(user_raw)
        item_codes, item_ids = _factorize_sorted(item_raw)
        if has_rating:
            ratings = pd.to_numeric(df[rating_col], errors="coerce").to_numpy(dtype=np.float32)
            bad = ~np.isfinite(ratings)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError(f"{name or 'data'}: non-numeric rating {df[rating_col].iloc[row]!r} at row {row + 1}")
        else:
            ratings = np.ones(len(df), dtype=np.float32)
        timestamps = None
        if has_ts:
            timestamps = pd.to_numeric(df[timestamp_col], errors="coerce").to_numpy()
            if np.isnan(timestamps).any() if timestamps.dtype.kind == "f" else False:
                row = int(np.flatnonzero(np.isnan(timestamps))[0])
                raise DataError(f"{name or 'data'}: non-numeric timestamp {df[timestamp_col].iloc[row]!r} at row {row + 1}")
            timestamps = timestamps.astype(np.int64)
        users = user_codes.astype(np.int32)
        items = item_codes.astype(np.int32)
        users, items, ratings, timestamps, n_dup = _drop_duplicates(users, items, ratings, timestamps, len(item_ids))
        if n_dup:
            if duplicates == "error":
                raise DataError(f"{name or 'data'}: {n_dup} duplicate (user, item) pairs")
            warnings.warn(f"{name or 'data'}: {n_dup} duplicate (user, item) pairs; kept the latest of each", stacklevel=2)
        if kind is None:
            kind = "explicit" if has_rating else "implicit"
        return cls(
            users=users,
            items=items,
            ratings=ratings,
            timestamps=timestamps,
            user_map=IdMap(np.asarray(user_ids)),
            item_map=IdMap(np.asarray(item_ids)),
            user_features=user_features,
            item_features=item_features,
            kind=kind,
            name=name,
            meta={"duplicates_dropped": int(n_dup)} if n_dup else {},
        )

    def to_frame(self) -> pd.DataFrame:
        """Interactions as a frame of raw ids: columns user, item, rating (and timestamp)."""
        data = {"user": self.user_map.to_raw(self.users), "item": self.item_map.to_raw(self.items), "rating": self.ratings}
        if self.timestamps is not None:
            data["timestamp"] = self.timestamps
        return pd.DataFrame(data)

    # ------------------------------------------------------------------ sizes
    def __len__(self) -> int:
        return len(self.users)

    @property
    def n_users(self) -> int:
        return len(self.user_map)

    @property
    def n_items(self) -> int:
        return len(self.item_map)

    @property
    def sparsity(self) -> float:
        """Fraction of the user x item matrix that is empty."""
        cells = self.n_users * self.n_items
        return 1.0 - len(self) / cells if cells else 1.0

    @property
    def is_explicit(self) -> bool:
        return self.kind == "explicit"

    def user_counts(self) -> np.ndarray:
        """Interactions per user index, shape (n_users,)."""
        return np.bincount(self.users, minlength=self.n_users)

    def item_counts(self) -> np.ndarray:
        """Interactions per item index, shape (n_items,)."""
        return np.bincount(self.items, minlength=self.n_items)

    # ------------------------------------------------------------------ matrices
    def to_csr(self, values: Literal["rating", "binary"] = "rating", dtype=np.float32) -> sp.csr_matrix:
        """User x item CSR matrix, shape (n_users, n_items); ``values="binary"`` puts 1 at every interaction."""
        vals = self.ratings if values == "rating" else np.ones(len(self), dtype=dtype)
        m = sp.csr_matrix((vals.astype(dtype, copy=False), (self.users, self.items)), shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        m.sort_indices()
        return m

    # ------------------------------------------------------------------ transformations
    def subset(self, rows: np.ndarray) -> "Interactions":
        """Rows selected by a boolean mask or an index array; vocabularies are kept (see :meth:`compact`)."""
        rows = np.asarray(rows)
        return replace(
            self,
            users=self.users[rows],
            items=self.items[rows],
            ratings=self.ratings[rows],
            timestamps=None if self.timestamps is None else self.timestamps[rows],
            raw_ratings=None if self.raw_ratings is None else self.raw_ratings[rows],
            meta=dict(self.meta),
        )

    def compact(self) -> "Interactions":
        """Drop users and items that have no interaction, re-indexing densely (order of raw ids kept)."""
        u_used = np.flatnonzero(np.bincount(self.users, minlength=self.n_users))
        i_used = np.flatnonzero(np.bincount(self.items, minlength=self.n_items))
        if len(u_used) == self.n_users and len(i_used) == self.n_items:
            return self
        u_new = np.full(self.n_users, -1, dtype=np.int32)
        u_new[u_used] = np.arange(len(u_used), dtype=np.int32)
        i_new = np.full(self.n_items, -1, dtype=np.int32)
        i_new[i_used] = np.arange(len(i_used), dtype=np.int32)
        return replace(
            self,
            users=u_new[self.users],
            items=i_new[self.items],
            user_map=IdMap(self.user_map.ids[u_used]),
            item_map=IdMap(self.item_map.ids[i_used]),
            meta=dict(self.meta),
        )

    def binarize(self, threshold: float = 4.0) -> "Interactions":
        """Like/dislike labels: rating >= ``threshold`` becomes 1, else 0 (every interaction kept; the ratings
        stay available as ``raw_ratings``)."""
        if self.kind != "explicit":
            raise DataError(f"{self.name or 'data'}: binarize needs explicit ratings, data is {self.kind}")
        labels = (self.ratings >= threshold).astype(np.float32)
        return replace(self, ratings=labels, kind="binary", raw_ratings=self.ratings.copy(), meta={**self.meta, "binary_threshold": threshold})

    def as_implicit(self, min_rating: float | None = None) -> "Interactions":
        """Every interaction (or only those with rating >= ``min_rating``) as a positive with value 1."""
        data = self if min_rating is None else self.subset(self.ratings >= min_rating)
        meta = dict(self.meta) if min_rating is None else {**self.meta, "implicit_min_rating": float(min_rating)}
        return replace(data, ratings=np.ones(len(data), dtype=np.float32), kind="implicit", raw_ratings=None, meta=meta)

    def recency_weights(self, half_life: float) -> np.ndarray:
        """Loss weights (n,) float32: ``0.5 ** (age / half_life)`` with ``age`` from :meth:`recency_rank`
        (0 = each user's latest interaction), normalised to mean 1."""
        w = 0.5 ** (self.recency_rank() / float(half_life))
        return (w / w.mean()).astype(np.float32) if len(w) else w.astype(np.float32)

    def recency_rank(self) -> np.ndarray:
        """Age of each interaction within its user's history: 0 for the user's latest, 1 for the one before...
        (by timestamp; ties, and data without timestamps, by position: a later row counts as more recent).
        int64 array, shape (n,)."""
        position = np.arange(len(self))
        keys = (-position,) if self.timestamps is None else (-position, -self.timestamps)
        return rank_within_user(self.users, keys)[0]

    # ------------------------------------------------------------------ mean normalisation
    @property
    def global_mean(self) -> float:
        return float(self.ratings.mean()) if len(self) else 0.0

    def user_means(self) -> np.ndarray:
        """Mean rating per user index (global mean for users without ratings), float32 (n_users,)."""
        return _group_means(self.users, self.ratings, self.n_users, self.global_mean)

    def item_means(self) -> np.ndarray:
        """Mean rating per item index (global mean for items without ratings), float32 (n_items,)."""
        return _group_means(self.items, self.ratings, self.n_items, self.global_mean)

    def centered_ratings(self, by: Literal["global", "user", "item"] = "user") -> np.ndarray:
        """Ratings minus the global, per-user or per-item mean (the classic mean normalisation), float32 (n,)."""
        if by == "global":
            return (self.ratings - self.global_mean).astype(np.float32)
        if by == "user":
            return (self.ratings - self.user_means()[self.users]).astype(np.float32)
        if by == "item":
            return (self.ratings - self.item_means()[self.items]).astype(np.float32)
        raise ValueError(f"unknown normalisation {by!r}; use global, user or item")

    # ------------------------------------------------------------------ side information
    def item_titles(self) -> np.ndarray | None:
        """Title per item index (``None`` when the data has no titles); missing titles are empty strings."""
        if self.item_features is None or "title" not in self.item_features.columns:
            return None
        titles = self.item_features["title"].reindex(self.item_map.ids)
        return np.asarray(titles.fillna("").astype(str).to_numpy(), dtype=str)

    def with_features(self, user_features: pd.DataFrame | None = None, item_features: pd.DataFrame | None = None) -> "Interactions":
        """A copy with side features attached (indexed by raw id; coerced to this data's id dtype)."""
        uf = _align_index(user_features, self.user_map) if user_features is not None else self.user_features
        itf = _align_index(item_features, self.item_map) if item_features is not None else self.item_features
        return replace(self, user_features=uf, item_features=itf, meta=dict(self.meta))

    def stats(self) -> dict:
        """Summary numbers: users, items, ratings, sparsity, rating histogram, count quantiles."""
        qs = [0.0, 0.25, 0.5, 0.75, 0.9, 1.0]
        uc = self.user_counts()
        ic = self.item_counts()
        out: dict = {
            "name": self.name,
            "kind": self.kind,
            "users": int(self.n_users),
            "items": int(self.n_items),
            "ratings": int(len(self)),
            "sparsity": float(self.sparsity),
            "density": float(1.0 - self.sparsity),
            "user_count_quantiles": {f"q{int(q * 100)}": float(np.quantile(uc, q)) for q in qs} if len(uc) else {},
            "item_count_quantiles": {f"q{int(q * 100)}": float(np.quantile(ic, q)) for q in qs} if len(ic) else {},
            "has_timestamps": self.timestamps is not None,
            "has_user_features": self.user_features is not None,
            "has_item_features": self.item_features is not None,
        }
        if len(self):
            values, counts = np.unique(self.ratings, return_counts=True)
            out["rating_histogram"] = {_fmt_rating(v): int(c) for v, c in zip(values, counts)} if len(values) <= 50 else {}
            out["rating_min"] = float(values[0])
            out["rating_max"] = float(values[-1])
            out["rating_mean"] = self.global_mean
        if self.timestamps is not None and len(self):
            out["timestamp_min"] = int(self.timestamps.min())
            out["timestamp_max"] = int(self.timestamps.max())
        return out

    def __repr__(self) -> str:
        return f"Interactions(name={self.name!r}, kind={self.kind}, users={self.n_users}, items={self.n_items}, n={len(self)})"


# ---------------------------------------------------------------------- helpers
def rank_within_user(users: np.ndarray, sort_keys: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Position of each row inside its user's group, ordered by ``sort_keys`` (np.lexsort order, user last).

    Returns
    -------
    rank : int64 array, shape (n,)
        0 for the first row of each user in the given order.
    counts : int64 array, shape (n,)
        Number of rows of the row's user.
    """
    order = np.lexsort((*sort_keys, users))
    su = users[order]
    starts = np.flatnonzero(np.r_[True, su[1:] != su[:-1]])
    sizes = np.diff(np.r_[starts, len(su)])
    group_start = np.repeat(starts, sizes)
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - group_start
    counts = np.empty(len(users), dtype=np.int64)
    counts[order] = np.repeat(sizes, sizes)
    return rank, counts


def _factorize_sorted(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes into the sorted unique ids (like ``pd.factorize(raw, sort=True)``), O(n) for compact integer ids."""
    if raw.dtype.kind == "i" and len(raw):
        lo, hi = int(raw.min()), int(raw.max())
        if hi - lo < max(4 * len(raw), 1 << 20):
            shifted = raw - lo if lo else raw
            present = np.zeros(hi - lo + 1, dtype=bool)
            present[shifted] = True
            remap = np.cumsum(present, dtype=np.int64) - 1
            return remap[shifted], np.flatnonzero(present).astype(np.int64) + lo
    codes, uniques = pd.factorize(raw, sort=True)
    return codes, np.asarray(uniques)


def _drop_duplicates(users, items, ratings, timestamps, n_items):
    """Keep the latest of each (user, item) pair: by timestamp, then by position."""
    key = users.astype(np.int64) * max(n_items, 1) + items
    if len(key) < 2 or bool((key[1:] > key[:-1]).all()):  # strictly increasing (sorted files): O(n) check
        return users, items, ratings, timestamps, 0
    sorted_key = np.sort(key)
    dup = sorted_key[1:] == sorted_key[:-1]
    if not dup.any():
        return users, items, ratings, timestamps, 0
    # resolve only the rows whose key occurs more than once
    dup_keys = np.unique(sorted_key[1:][dup])
    pos = np.minimum(np.searchsorted(dup_keys, key), len(dup_keys) - 1)
    rows = np.flatnonzero(dup_keys[pos] == key)
    if timestamps is None:
        order = rows[::-1]  # last occurrence first
    else:
        order = rows[np.lexsort((-rows, -timestamps[rows]))]  # latest timestamp, then latest position
    _, first = np.unique(key[order], return_index=True)
    keep_mask = np.ones(len(key), dtype=bool)
    keep_mask[rows] = False
    keep_mask[order[first]] = True
    keep = np.flatnonzero(keep_mask)
    ts = None if timestamps is None else timestamps[keep]
    return users[keep], items[keep], ratings[keep], ts, len(key) - len(keep)


def _group_means(groups: np.ndarray, values: np.ndarray, n: int, default: float) -> np.ndarray:
    sums = np.bincount(groups, weights=values, minlength=n)
    counts = np.bincount(groups, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), default)
    return means.astype(np.float32)


def _align_index(frame: pd.DataFrame, idmap: IdMap) -> pd.DataFrame:
    """``frame`` re-indexed by its ids converted to ``idmap``'s kind (id policy); rows whose id cannot be of
    that kind are dropped, and of ids that become equal (``1`` and ``1.0``) the first is kept."""
    ids, ok = idmap.convert(frame.index)
    frame = frame[ok].copy()
    frame.index = pd.Index(ids[ok], name=frame.index.name)
    return frame[~frame.index.duplicated()]


def _fmt_rating(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
