"""Train/test splits of an :class:`~cofirec.data.dataset.Interactions` container.

Every split is seeded and deterministic, vectorised over rows, and keeps the parent's vocabularies
(``train`` and ``test`` are :meth:`Interactions.subset` views of the same data, so their indices agree).
Rows keep the parent's order inside each part.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cofirec._seeds import check_seed
from cofirec.data.dataset import Interactions, rank_within_user
from cofirec.data.idmap import IdMap
from cofirec.errors import ConfigError, DataError

__all__ = [
    "SPLIT_METHODS",
    "Split",
    "kfold",
    "leave_last_out",
    "random_split",
    "split_data",
    "split_report",
    "train_test_from_files",
    "user_ratio_split",
    "validation_split",
]

SPLIT_METHODS: dict[str, str] = {
    "random": "random",
    "user": "user",
    "loo": "loo",
    "leave-last-out": "loo",
    "kfold": "kfold",
    "temporal": "temporal",
    "user-temporal": "user-temporal",
}
"""Method names accepted by :func:`split_data` (and the CLI), mapped to their canonical name."""


@dataclass
class Split:
    """A train/test pair sharing one id space.

    Attributes
    ----------
    train, test : Interactions
        Disjoint row subsets of the same parent data (same ``user_map`` / ``item_map``).
    name : str
        How the split was made, e.g. ``"random(test_ratio=0.2, seed=0)"`` or ``"kfold(k=5, fold=0)"``.
    cold : Interactions or None
        Temporal splits: test rows whose user or item first appears at/after the cut-off (``test`` then holds
        only warm rows); None for other splits and for ``cold="drop"``.
    info : dict
        What the split decided, e.g. the temporal cut-off and cold counts (empty for the random splits).
    """

    train: Interactions
    test: Interactions
    name: str
    cold: Interactions | None = None
    info: dict = field(default_factory=dict)

    def __iter__(self):
        """Unpack as ``train, test = split``."""
        return iter((self.train, self.test))


# ---------------------------------------------------------------------- helpers
def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: ``np.unique`` hashes and is far slower on many distinct ints)."""
    s = np.sort(np.asarray(values).ravel())
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _check_data(data: Interactions, what: str) -> None:
    if not isinstance(data, Interactions):
        raise DataError(f"{what} expects an Interactions container, got {type(data).__name__}")
    if len(data) == 0:
        raise DataError(f"{what}: {data.name or 'data'} has no interactions")


def _check_ratio(ratio: float, name: str = "test_ratio") -> float:
    try:
        ratio = float(ratio)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number in (0, 1), got {ratio!r}") from None
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"{name} must be in (0, 1), got {ratio}")
    return ratio


def _make_split(data: Interactions, test_mask: np.ndarray, name: str) -> Split:
    train = data.subset(~test_mask)
    test = data.subset(test_mask)
    train = replace(train, name=f"{data.name}:train" if data.name else "train")
    test = replace(test, name=f"{data.name}:test" if data.name else "test")
    return Split(train=train, test=test, name=name)


def _per_user_holdout_mask(data: Interactions, ratio: float, seed: int) -> np.ndarray:
    """Random ``round(ratio * count)`` rows of each user (half rounds up), at most ``count - 1``."""
    rng = np.random.default_rng(seed)
    shuffle_key = rng.random(len(data))
    rank, counts = rank_within_user(data.users, (shuffle_key,))
    n_test = np.minimum(np.floor(ratio * counts + 0.5).astype(np.int64), counts - 1)
    return rank < n_test


# ---------------------------------------------------------------------- splits
def random_split(data: Interactions, test_ratio: float = 0.2, seed: int = 0) -> Split:
    """Hold out ``round(test_ratio * n)`` interactions chosen uniformly at random.

    Test users or items may be absent from train (see :func:`split_report`).
    """
    _check_data(data, "random_split")
    test_ratio = _check_ratio(test_ratio)
    n = len(data)
    n_test = int(min(max(round(test_ratio * n), 1 if n > 1 else 0), n - 1))
    rng = np.random.default_rng(seed)
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[:n_test]] = True
    return _make_split(data, mask, f"random(test_ratio={test_ratio:g}, seed={seed})")


def user_ratio_split(data: Interactions, test_ratio: float = 0.2, seed: int = 0) -> Split:
    """Hold out a random ``test_ratio`` of each user's interactions.

    A user with ``c`` interactions gives ``min(round(test_ratio * c), c - 1)`` of them (half rounds up) to
    test, so every user keeps at least one training interaction and users with one interaction stay fully
    in train.
    """
    _check_data(data, "user_ratio_split")
    test_ratio = _check_ratio(test_ratio)
    mask = _per_user_holdout_mask(data, test_ratio, seed)
    return _make_split(data, mask, f"user(test_ratio={test_ratio:g}, seed={seed})")


def leave_last_out(data: Interactions, n: int = 1) -> Split:
    """Hold out each user's ``n`` latest interactions (by timestamp).

    Ties on the timestamp are broken by position: the row that comes later in ``data`` counts as later.
    Users with ``n`` or fewer interactions stay fully in train. Needs timestamps (:class:`DataError`
    otherwise).
    """
    _check_data(data, "leave_last_out")
    if data.timestamps is None:
        raise DataError(f"leave_last_out needs timestamps; {data.name or 'data'} has none (use the 'user' or 'random' split)")
    if int(n) != n or n < 1:
        raise ConfigError(f"leave_last_out: n must be a positive integer, got {n!r}")
    n = int(n)
    counts = np.bincount(data.users, minlength=data.n_users)[data.users]
    mask = (data.recency_rank() < n) & (counts > n)
    return _make_split(data, mask, f"loo(n={n})")


def kfold(data: Interactions, k: int = 5, seed: int = 0) -> list[Split]:
    """``k`` splits whose test parts partition the interactions (random folds of near-equal size)."""
    k = _check_k(data, k)
    fold = _fold_of_rows(len(data), k, seed)
    return [_make_split(data, fold == f, f"kfold(k={k}, fold={f}, seed={seed})") for f in range(k)]


def _check_k(data: Interactions, k: int) -> int:
    _check_data(data, "kfold")
    if int(k) != k or k < 2:
        raise ConfigError(f"kfold: k must be an integer >= 2, got {k!r}")
    if k > len(data):
        raise ConfigError(f"kfold: k={int(k)} is larger than the number of interactions ({len(data)})")
    return int(k)


def _fold_of_rows(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fold = np.empty(n, dtype=np.int64)
    fold[rng.permutation(n)] = np.arange(n) % k
    return fold


def split_data(
    data: Interactions,
    method: str,
    *,
    test_ratio: float = 0.2,
    seed: int = 0,
    k: int = 5,
    fold: int = 0,
    cutoff: str | float | None = None,
    cold: str | None = None,
) -> Split:
    """One split by method name: ``"random"``, ``"user"``, ``"loo"`` (alias ``"leave-last-out"``), ``"kfold"``,
    ``"temporal"`` or ``"user-temporal"``.

    ``loo`` holds out one interaction per user; ``kfold`` returns fold ``fold`` of ``k``; ``temporal`` cuts at
    one time (``cutoff``, else the ``test_ratio`` quantile) and handles cold rows by ``cold`` (default
    ``"separate"``; see :func:`cofirec.data.temporal.temporal_split`); ``user-temporal`` holds out each user's
    latest ``test_ratio``.
    """
    seed = check_seed(seed, "split seed")
    canonical = SPLIT_METHODS.get(str(method).strip().lower())
    if canonical is None:
        raise ConfigError(f"unknown split method {method!r} (known: {', '.join(SPLIT_METHODS)})")
    if canonical != "temporal" and (cutoff is not None or cold is not None):
        raise ConfigError(f"{'cutoff' if cutoff is not None else 'cold'} applies to the temporal split only, not to {method!r}")
    if canonical in ("temporal", "user-temporal"):
        from cofirec.data.temporal import temporal_split, user_temporal_split

        if canonical == "user-temporal":
            return user_temporal_split(data, test_ratio=test_ratio)
        return temporal_split(data, test_ratio=test_ratio, cutoff=cutoff, cold="separate" if cold is None else cold)
    if canonical == "random":
        return random_split(data, test_ratio=test_ratio, seed=seed)
    if canonical == "user":
        return user_ratio_split(data, test_ratio=test_ratio, seed=seed)
    if canonical == "loo":
        return leave_last_out(data, n=1)
    k = _check_k(data, k)
    if int(fold) != fold or not 0 <= fold < k:
        raise ConfigError(f"kfold: fold must be in 0..{k - 1}, got {fold!r}")
    mask = _fold_of_rows(len(data), k, seed) == fold
    return _make_split(data, mask, f"kfold(k={k}, fold={int(fold)}, seed={seed})")


def validation_split(train: Interactions, ratio: float = 0.1, seed: int = 0) -> Split:
    """Carve a per-user validation set out of training data (for early stopping and tuning).

    Same rule as :func:`user_ratio_split`: ``min(round(ratio * c), c - 1)`` rows of each user go to
    ``Split.test`` (the validation set); the rest stay in ``Split.train``. Never touches the test data.
    """
    _check_data(train, "validation_split")
    seed = check_seed(seed, "validation seed")
    ratio = _check_ratio(ratio, "ratio")
    mask = _per_user_holdout_mask(train, ratio, seed)
    split = _make_split(train, mask, f"validation(ratio={ratio:g}, seed={seed})")
    split.test = replace(split.test, name=f"{train.name}:validation" if train.name else "validation")
    return split


# ---------------------------------------------------------------------- reports
def split_report(train: Interactions, test: Interactions) -> dict:
    """How the test set relates to the training set, matched by raw ids.

    Returns
    -------
    dict with ``train_interactions``, ``test_interactions``, ``train_users``, ``train_items``, ``test_users``,
    ``test_items`` (distinct ids with interactions), ``test_users_unseen`` / ``test_items_unseen`` (test ids
    with no training interaction), ``test_interactions_unseen_user`` / ``test_interactions_unseen_item``
    (test rows concerned), ``overlap_pairs`` (test (user, item) pairs also in train) and ``test_fraction``.
    """
    tr_u = train.user_map.to_raw(train.users)
    tr_i = train.item_map.to_raw(train.items)
    te_u = test.user_map.to_raw(test.users)
    te_i = test.item_map.to_raw(test.items)
    u_vocab = IdMap(pd.unique(tr_u)) if len(tr_u) else IdMap(np.empty(0, dtype=np.int64))
    i_vocab = IdMap(pd.unique(tr_i)) if len(tr_i) else IdMap(np.empty(0, dtype=np.int64))
    tu = u_vocab.lookup(te_u)
    ti = i_vocab.lookup(te_i)
    n_items = max(len(i_vocab), 1)
    train_keys = _sorted_unique(u_vocab.lookup(tr_u) * n_items + i_vocab.lookup(tr_i))
    known = (tu >= 0) & (ti >= 0)
    test_keys = tu[known] * n_items + ti[known]
    overlap = int(np.isin(test_keys, train_keys, kind="sort").sum()) if len(test_keys) else 0
    total = len(train) + len(test)
    return {
        "train_interactions": int(len(train)),
        "test_interactions": int(len(test)),
        "train_users": int(len(u_vocab)),
        "train_items": int(len(i_vocab)),
        "test_users": int(len(pd.unique(te_u))),
        "test_items": int(len(pd.unique(te_i))),
        "test_users_unseen": int(len(pd.unique(te_u[tu < 0]))),
        "test_items_unseen": int(len(pd.unique(te_i[ti < 0]))),
        "test_interactions_unseen_user": int((tu < 0).sum()),
        "test_interactions_unseen_item": int((ti < 0).sum()),
        "overlap_pairs": overlap,
        "test_fraction": float(len(test) / total) if total else 0.0,
    }


# ---------------------------------------------------------------------- files
def train_test_from_files(train_path: str | Path, test_path: str | Path, **reader_kwargs) -> Split:
    """Read a predefined split (e.g. MovieLens ``u1.base`` / ``u1.test``) into one shared id space.

    Both files are read with :func:`cofirec.data.readers.read_ratings_file` (``reader_kwargs`` pass through);
    the vocabularies are then merged (sorted union of raw ids) so train and test indices agree. Pairs present
    in both files are kept in both.
    """
    from cofirec.data.readers import read_ratings_file

    train = read_ratings_file(train_path, **reader_kwargs)
    test = read_ratings_file(test_path, **reader_kwargs)
    user_map = _union_map(train.user_map, test.user_map)
    item_map = _union_map(train.item_map, test.item_map)
    train = _reindex(train, user_map, item_map)
    test = _reindex(test, user_map, item_map)
    return Split(train=train, test=test, name=f"files({Path(train_path).name}, {Path(test_path).name})")


def _union_map(a: IdMap, b: IdMap) -> IdMap:
    if a.is_integer and b.is_integer:
        return IdMap(np.union1d(a.ids, b.ids))
    return IdMap(np.union1d(a.ids.astype(str), b.ids.astype(str)))


def _reindex(data: Interactions, user_map: IdMap, item_map: IdMap) -> Interactions:
    users = user_map.lookup(data.user_map.to_raw(data.users)).astype(np.int32)
    items = item_map.lookup(data.item_map.to_raw(data.items)).astype(np.int32)
    out = replace(data, users=users, items=items, user_map=user_map, item_map=item_map, meta=dict(data.meta))
    if out.user_features is not None or out.item_features is not None:
        out = out.with_features(out.user_features, out.item_features)
    return out
