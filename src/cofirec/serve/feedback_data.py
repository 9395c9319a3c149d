"""Stored feedback as training data: ``cofirec train ... --feedback DB_URL``.

:func:`load_feedback` reads the ``feedback`` table that ``cofirec serve`` writes (:mod:`cofirec.serve.store`),
:func:`add_feedback` merges it into training interactions. The rules:

- Ids are raw ids, read by the same id policy as a ratings file (:func:`cofirec.data.idmap.parse_ids`): the
  server stores ``str(raw id)``, so ``"7"`` is user 7 of integer-id data; a user or item the data does not have
  becomes a new user or item.
- The latest rating of a (user, item) pair wins: of the stored ones, the one stored last (time, then row id),
  and a stored rating replaces the pair's training rating (feedback is newer than the data it was trained on).
- Values must lie on the training data's scale (explicit and binary: from its lowest to its highest rating;
  implicit: above 0 and at most its largest value); any other is a DataError naming the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cofirec.data.dataset import Interactions
from cofirec.data.idmap import parse_ids
from cofirec.errors import DataError


@dataclass(frozen=True)
class FeedbackMerge:
    """What :func:`add_feedback` did: rows stored (latest per pair), of which replaced training ratings, new users
    and new items."""

    rows: int
    replaced: int
    new_users: int
    new_items: int

    def as_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "replaced": self.replaced, "new_users": self.new_users, "new_items": self.new_items}


def load_feedback(db_url: str) -> pd.DataFrame:
    """The stored ratings of the feedback database at ``db_url``, the latest per (user, item) pair, oldest first:
    columns user, item (raw id texts), rating (float), created_at (seconds since the epoch). ConfigError when
    the URL or database is unusable (another schema version, no driver)."""
    import sqlalchemy as sa

    from cofirec.serve.store import FeedbackStore, feedback_table

    store = FeedbackStore(db_url)
    t = feedback_table
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.user_id, t.c.item_id, t.c.rating, t.c.created_at).order_by(t.c.created_at, t.c.id)).all()
    finally:
        store.close()
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "created_at"]).astype({"rating": float, "created_at": float})
    return frame.drop_duplicates(["user", "item"], keep="last").reset_index(drop=True)


def check_scale(data: Interactions, ratings: np.ndarray, source: str) -> None:
    """DataError naming the first value of ``ratings`` off the training data's scale (module docstring)."""
    low, high = float(data.ratings.min()), float(data.ratings.max())
    if data.kind == "implicit":
        bad = ~np.isfinite(ratings) | (ratings <= 0) | (ratings > high)
        scale = f"implicit values above 0 and at most {high:g}"
    else:
        bad = ~np.isfinite(ratings) | (ratings < low) | (ratings > high)
        scale = f"{data.kind} ratings from {low:g} to {high:g}"
    if bad.any():
        first = float(ratings[np.flatnonzero(bad)[0]])
        raise DataError(f"{source}: {int(bad.sum())} stored rating(s) outside the training data's scale ({scale}), e.g. {first:g}")


def add_feedback(data: Interactions, feedback: pd.DataFrame, *, source: str = "feedback") -> tuple[Interactions, FeedbackMerge]:
    """``data`` with the ``feedback`` rows of :func:`load_feedback` added (rules in the module docstring)."""
    if len(feedback) == 0:
        return data, FeedbackMerge(0, 0, 0, 0)
    ratings = feedback["rating"].to_numpy(dtype=np.float64)
    check_scale(data, ratings, source)
    n_train = len(data)
    users = parse_ids(np.concatenate([data.user_map.to_raw(data.users).astype(object), feedback["user"].to_numpy(dtype=object)]), what="user", source=source)
    items = parse_ids(np.concatenate([data.item_map.to_raw(data.items).astype(object), feedback["item"].to_numpy(dtype=object)]), what="item", source=source)
    frame = pd.DataFrame({"user": users, "item": items, "rating": np.concatenate([data.ratings.astype(np.float64), ratings])})
    if data.timestamps is not None:
        frame["timestamp"] = np.concatenate([data.timestamps, feedback["created_at"].to_numpy().astype(np.int64)])
    replaced = frame.duplicated(["user", "item"], keep="last").to_numpy()  # feedback rows come last: they win
    merged = Interactions.from_frame(
        frame[~replaced], kind=data.kind, name=data.name, duplicates="error", timestamp_col="timestamp" if data.timestamps is not None else None
    )
    merged = _keep_features(merged, data)
    stats = FeedbackMerge(
        rows=len(feedback),
        replaced=int(replaced[:n_train].sum()),
        new_users=_new_ids(data.user_map, users[n_train:]),
        new_items=_new_ids(data.item_map, items[n_train:]),
    )
    return merged, stats


def _new_ids(idmap: Any, raw: np.ndarray) -> int:
    """How many distinct ids of ``raw`` the data's vocabulary ``idmap`` does not have."""
    return int(len(np.unique(raw[idmap.lookup(raw) < 0])))


def _keep_features(merged: Interactions, data: Interactions) -> Interactions:
    """Side features, metadata and the data's own fields carried over (features re-indexed to the merged ids)."""
    from dataclasses import replace

    out: Any = replace(merged, meta=dict(data.meta))
    if data.user_features is not None or data.item_features is not None:
        out = out.with_features(data.user_features, data.item_features)
    return out


def with_stored_feedback(data: Interactions, db_url: str) -> tuple[Interactions, dict[str, int]]:
    """``data`` plus the feedback stored at ``db_url`` (the rules above) and the counts of what was added."""
    from cofirec._extras import require

    require("sqlalchemy", "--feedback (reading the feedback database)")
    from cofirec.serve.store import shown_url

    merged, stats = add_feedback(data, load_feedback(db_url), source=f"--feedback {shown_url(db_url)}")
    return merged, stats.as_dict()
