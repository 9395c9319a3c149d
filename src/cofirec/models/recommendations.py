"""Top-N lists as returned by every model: :class:`Recommendations` and the helpers that build and check them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cofirec.errors import ConfigError, DataError


@dataclass
class Recommendations:
    """Top-N lists: raw item ids and scores, best first.

    A list is never padded with items the user may not get: it is shorter than ``n`` when fewer items qualify
    (too few ``candidates``, or the user has seen nearly every item). For one user (a scalar id was passed)
    ``items`` and ``scores`` are 1-d and exactly that long. For a batch they have shape (n_users, width), width
    the longest list; the empty slots at the end of shorter rows hold score ``-inf`` and a placeholder item id
    that is not in the model's vocabulary, never a real item (``lengths`` gives each row's length,
    :meth:`to_records` drops the empty slots). ``known`` says whether each user was in the training data
    (unknown users get the fallback ranking).
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    known: np.ndarray
    reasons: list[list[tuple[Any, float]]] | None = None
    """With ``why=k``: per recommended item, up to k (history raw item, contribution) pairs, largest first."""
    ignored: list | None = None
    """``recommend_history``: the history items unknown to the model (left out of the fold-in)."""

    @property
    def lengths(self) -> np.ndarray:
        """Number of real items in each list (a 0-d array for a single user)."""
        return (np.asarray(self.scores) > -np.inf).sum(axis=-1)

    def to_records(self) -> list[dict]:
        """One ``{"user", "items", "scores", "known"}`` dict per user, plain Python values, empty slots dropped."""
        users = np.atleast_1d(self.users)
        items = np.atleast_2d(self.items) if self.items.ndim == 1 else self.items
        scores = np.atleast_2d(self.scores) if self.scores.ndim == 1 else self.scores
        known = np.atleast_1d(self.known)
        out = []
        for u, its, scs, kn in zip(users.tolist(), items, scores, known.tolist()):
            ok = scs > -np.inf
            out.append({"user": u, "items": its[ok].tolist(), "scores": [float(s) for s in scs[ok]], "known": bool(kn)})
        return out


def ranked_lists(item_map: Any, idx: np.ndarray, vals: np.ndarray, users: np.ndarray, known: np.ndarray, *, single: bool) -> Recommendations:
    """:class:`Recommendations` from top-k item indices and scores (``-inf``: excluded item, never shown).

    Excluded slots are cut from the end (one user: exactly its list; a batch: down to the longest list) and the
    remaining empty slots get score ``-inf`` and a placeholder id outside the vocabulary, so no excluded (seen,
    non-candidate) item id is ever returned.
    """
    vals = np.asarray(vals, dtype=np.float32)
    valid = vals > -np.inf
    width = int((valid * np.arange(1, vals.shape[1] + 1)).max()) if valid.size else 0
    if single and len(idx):
        width = int(valid[0].sum())
    idx, vals, valid = idx[:, :width], vals[:, :width].copy(), valid[:, :width]
    items = item_map.to_raw(np.where(valid, idx, 0).ravel()).reshape(idx.shape)
    if not valid.all():
        items = items.copy()
        items[~valid] = _placeholder_id(item_map.ids)
        vals[~valid] = -np.inf
    if single:
        return Recommendations(users=users[0], items=items[0], scores=vals[0], known=np.bool_(known[0]))  # type: ignore[arg-type]  # one user: a numpy bool
    return Recommendations(users=users, items=items, scores=vals, known=np.asarray(known, dtype=bool))


def _placeholder_id(ids: np.ndarray) -> Any:
    """An id of the vocabulary's type that is not in it (marks an empty slot of a batch of top-N lists)."""
    if ids.dtype.kind in "iu":
        info = np.iinfo(np.int64)
        options: list[Any] = (
            [-1] + ([int(ids.min()) - 1] if len(ids) and ids.min() > info.min else []) + ([int(ids.max()) + 1] if len(ids) and ids.max() < info.max else [])
        )
    else:
        options = ["", "<none>"] + ["<none>" + "_" * k for k in range(1, len(ids) + 2)]
    taken = set(ids.tolist())
    return next(o for o in options if o not in taken)


def raw_id_array(values: Any, what: str) -> np.ndarray:
    """Raw ids (a scalar or a flat sequence) as a 1-d array; DataError naming ``what`` for nested lists."""
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1:
        raise DataError(f"{what}: expected one id or a flat list of ids, got an array of shape {arr.shape}")
    return arr


def check_top_n(n: Any, what: str = "recommend") -> int:
    """``n`` of a top-N call as an int; ConfigError unless it is a positive integer."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"{what}: n={n!r} should be a positive integer (the length of each list)")
    return int(n)
