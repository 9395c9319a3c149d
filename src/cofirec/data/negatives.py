"""Sampled negatives for the "1 positive + m negatives" ranking protocol (NCF and its followers)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cofirec._seeds import check_seed
from cofirec.data.dataset import Interactions
from cofirec.data.idmap import parse_ids
from cofirec.errors import ConfigError, DataError

__all__ = ["SampledNegatives", "match_test_pairs", "read_ncf_negatives", "sample_negatives"]

_MAX_ROUNDS = 30
_DENSE_BLOCK_CELLS = 8_000_000
_REJECTION_BLOCK_ROWS = 50_000
_BITMAP_CELLS = 64_000_000
_REJECTION_BLOCK_CELLS = 32_000_000


@dataclass
class SampledNegatives:
    """Each test row's positive item and the negatives it is ranked against, as raw ids.

    Attributes
    ----------
    users : array, shape (n,)
        Raw user id of each test row.
    positives : array, shape (n,)
        Raw id of the held-out (positive) item.
    negatives : array, shape (n, m)
        Raw ids of the negative items; slots where ``mask`` is False are padding (-1 for integer ids, "" for
        string ids).
    mask : bool array, shape (n, m)
        True where ``negatives`` holds a real item (rows may have fewer than ``m`` negatives).
    name : str
        Where they come from (the file read), for messages.
    """

    users: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray
    mask: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        n = len(self.users)
        if len(self.positives) != n or self.negatives.shape[0] != n or self.mask.shape != self.negatives.shape:
            raise DataError(
                f"SampledNegatives: inconsistent shapes users {np.shape(self.users)}, positives "
                f"{np.shape(self.positives)}, negatives {np.shape(self.negatives)}, mask {np.shape(self.mask)}"
            )

    def __len__(self) -> int:
        return len(self.users)

    @property
    def counts(self) -> np.ndarray:
        """Number of real negatives per row, int64 (n,)."""
        return self.mask.sum(axis=1).astype(np.int64)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: ``np.unique`` hashes and is far slower on many distinct ints)."""
    s = np.sort(np.asarray(values).ravel())
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


# ---------------------------------------------------------------------- sampling
def sample_negatives(train: Interactions, test: Interactions, n: int = 99, seed: int = 0, *, allow_fewer: bool = False) -> SampledNegatives:
    """Draw ``n`` negatives for every test row: items the user has interacted with in neither train nor test.

    Candidates are the items with at least one training interaction (those a fitted model can score). A
    user with fewer than ``n`` candidates left is an error (the numbers are in the message), unless
    ``allow_fewer``: then that user's rows get all of them (the rest is masked) and the width is at most
    the number of candidates, so memory stays bounded by test rows x catalogue. Sampling is vectorised
    rejection sampling over all rows at once, with an exact fallback for users who have seen most of the
    catalogue; the result depends only on the data and ``seed``.
    """
    if int(n) != n or n < 1:
        raise ConfigError(f"sample_negatives: n must be a positive integer, got {n!r}")
    n = int(n)
    seed = check_seed(seed, "sample_negatives: seed")
    if len(test) == 0:
        raise DataError("sample_negatives: the test set is empty")
    candidates = np.flatnonzero(train.item_counts() > 0)  # train item indices
    if len(candidates) == 0:
        raise DataError("sample_negatives: the training set has no interactions")
    n_cand = len(candidates)
    te_code, seen = _seen_pairs(train, test, candidates)
    available = n_cand - seen.n_seen(te_code)
    if not allow_fewer:
        _check_enough_unseen(test, available, n, n_cand)
    need = np.minimum(available, n)

    rng = np.random.default_rng(seed)
    neg = np.full((len(test), min(n, n_cand)), -1, dtype=np.int32 if n_cand < 2**31 - 1 else np.int64)
    filled = np.zeros(len(test), dtype=np.int64)
    # dense rows: the user has seen so much that rejection would be slow; choose exactly among the rest
    dense = (available < 2 * n) | (available < 0.25 * n_cand)
    _fill_dense(neg, filled, np.flatnonzero(dense & (need > 0)), te_code, seen, n_cand, need, rng)
    sparse_rows = np.flatnonzero(~dense)
    block_rows = max(1, min(_REJECTION_BLOCK_ROWS, _REJECTION_BLOCK_CELLS // (4 * neg.shape[1] + 8)))
    for b0 in range(0, len(sparse_rows), block_rows):  # bounded memory on large test sets
        rows = sparse_rows[b0 : b0 + block_rows]
        leftover = _fill_by_rejection(neg, filled, rows, te_code, seen, n_cand, need, rng)
        _fill_dense(neg, filled, leftover, te_code, seen, n_cand, need, rng)

    mask = neg >= 0
    neg_raw = train.item_map.to_raw(candidates[np.maximum(neg, 0)].ravel()).reshape(neg.shape)
    neg_raw[~mask] = -1 if neg_raw.dtype.kind == "i" else ""
    return SampledNegatives(
        users=test.user_map.to_raw(test.users),
        positives=test.item_map.to_raw(test.items),
        negatives=neg_raw,
        mask=mask,
    )


def _check_enough_unseen(test: Interactions, available: np.ndarray, n: int, n_cand: int) -> None:
    """DataError naming the numbers when some test row's user has fewer than ``n`` unseen candidates."""
    short = available < n
    if not short.any():
        return
    worst = int(np.argmin(available))
    user = test.user_map.to_raw(test.users[worst : worst + 1])[0]
    most = int(available.min())
    hint = f"ask for at most {most:,}" if most > 0 else "some test users have seen every candidate item"
    raise DataError(
        f"sample_negatives: {n:,} negatives per test row asked, but user {user.item() if hasattr(user, 'item') else user!r} "
        f"has only {most:,} unseen items (of {n_cand:,} items in the training data); {int(short.sum()):,} of {len(test):,} "
        f"test rows cannot get {n:,} negatives; {hint}"
    )


def _seen_pairs(train: Interactions, test: Interactions, candidates: np.ndarray) -> tuple[np.ndarray, "_SeenSet"]:
    """User codes of the test rows (n_test,) and the set of (user code, candidate position) pairs seen in
    train or test. Users are matched by raw id, so train and test may use different vocabularies."""
    n_cand = len(candidates)
    tr_u = train.user_map.to_raw(train.users)
    te_u = test.user_map.to_raw(test.users)
    if tr_u.dtype.kind != te_u.dtype.kind:
        tr_u, te_u = tr_u.astype(str), te_u.astype(str)
    codes, _ = pd.factorize(np.concatenate([tr_u, te_u]))
    tr_code, te_code = codes[: len(train)].astype(np.int64), codes[len(train) :].astype(np.int64)
    cand_pos = np.full(train.n_items, -1, dtype=np.int64)  # train item index -> candidate position
    cand_pos[candidates] = np.arange(n_cand)
    te_idx = train.item_map.lookup(test.item_map.to_raw(test.items))
    te_pos = np.where(te_idx >= 0, cand_pos[np.maximum(te_idx, 0)], -1)
    ok = te_pos >= 0
    keys = np.concatenate([tr_code * n_cand + cand_pos[train.items], te_code[ok] * n_cand + te_pos[ok]])
    return te_code, _SeenSet(_sorted_unique(keys), int(codes.max()) + 1, n_cand)


class _SeenSet:
    """The (user code, candidate position) pairs a user has interacted with, for fast membership tests.

    Stored as sorted keys ``code * n_cand + item``; also as a dense bitmap when that stays small.
    """

    def __init__(self, keys: np.ndarray, n_codes: int, n_cand: int) -> None:
        self.keys = keys
        self.n_cand = n_cand
        self.bitmap: np.ndarray | None = None
        if n_codes * n_cand <= _BITMAP_CELLS:
            flat = np.zeros(n_codes * n_cand, dtype=bool)
            flat[keys] = True
            self.bitmap = flat.reshape(n_codes, n_cand)

    def contains(self, codes: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Membership of broadcast (codes, items) pairs, bool array."""
        if self.bitmap is not None:
            return self.bitmap[codes, items]
        keys = codes.astype(np.int64) * self.n_cand + items
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return self.keys[pos] == keys

    def user_items(self, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row number, item) of every seen pair of the given codes, concatenated."""
        lo = np.searchsorted(self.keys, code * self.n_cand)
        hi = np.searchsorted(self.keys, code * self.n_cand + self.n_cand)
        rows = np.repeat(np.arange(len(code)), hi - lo)
        return rows, self.keys[_ranks(hi - lo) + np.repeat(lo, hi - lo)] % self.n_cand

    def n_seen(self, code: np.ndarray) -> np.ndarray:
        lo = np.searchsorted(self.keys, code * self.n_cand)
        return np.searchsorted(self.keys, code * self.n_cand + self.n_cand) - lo


def _fill_by_rejection(neg, filled, rows, codes, seen: _SeenSet, n_cand, need, rng) -> np.ndarray:
    """Fill ``rows`` by drawing candidates, rejecting seen items and repeats; returns rows still unfilled.

    Each round works on a (pending rows, width) matrix: the items a row already holds come first, then fresh
    draws (seen ones marked -1); the first occurrence of each item in that order is kept, so earlier picks
    stay and new picks are uniform among the row's unseen, unpicked candidates.
    """
    width_cap = 4 * neg.shape[1] + 8
    pending = rows[filled[rows] < need[rows]]
    for _ in range(_MAX_ROUNDS):
        if len(pending) == 0:
            break
        missing = need[pending] - filled[pending]
        frac_free = np.maximum((n_cand - seen.n_seen(codes[pending]) - filled[pending]) / n_cand, 1e-3)
        # wide enough for 90% of the rows at once; the rest get another round
        width = int(min(np.ceil(np.quantile(missing / frac_free, 0.9) * 1.25) + 8, width_cap))
        draws = rng.integers(0, n_cand, (len(pending), width), dtype=neg.dtype)
        draws[seen.contains(codes[pending][:, None], draws)] = -1
        held = int(filled[pending].max())
        cand = np.concatenate([neg[pending, :held], draws], axis=1) if held else draws  # held items first
        w = cand.shape[1]
        key_dtype: type[np.signedinteger] = np.int32 if (n_cand + 1) * w < 2**31 else np.int64
        # sort (item, column) keys per row: equal items become adjacent, earliest column first
        srt = np.sort(cand.astype(key_dtype) * key_dtype(w) + np.arange(w, dtype=key_dtype), axis=1)
        item_sorted, col_sorted = np.divmod(srt, key_dtype(w))  # floor division keeps -1 items negative
        first_sorted = np.empty(srt.shape, dtype=bool)
        first_sorted[:, 0] = True
        np.not_equal(item_sorted[:, 1:], item_sorted[:, :-1], out=first_sorted[:, 1:])
        first_sorted &= item_sorted >= 0
        first = np.empty(cand.shape, dtype=bool)
        np.put_along_axis(first, col_sorted, first_sorted, axis=1)
        slot = np.cumsum(first, axis=1, dtype=np.int32) - 1
        take = first & (slot < need[pending][:, None])
        # taken items go to their slot; the rest to a spare last column that is dropped
        fresh = np.full((len(pending), neg.shape[1] + 1), -1, dtype=neg.dtype)
        np.put_along_axis(fresh, np.where(take, slot, neg.shape[1]), cand, axis=1)
        neg[pending] = fresh[:, :-1]
        filled[pending] = take.sum(axis=1)
        pending = pending[filled[pending] < need[pending]]
    return pending


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def _fill_dense(neg, filled, rows, codes, seen: _SeenSet, n_cand, need, rng) -> None:
    """Exact sampling without replacement among each row's unseen candidates, in memory-bounded blocks."""
    block = max(1, _DENSE_BLOCK_CELLS // n_cand)
    for b0 in range(0, len(rows), block):
        rb = rows[b0 : b0 + block]
        keys = rng.random((len(rb), n_cand))
        # mark seen candidates, and those already chosen for the row, as unavailable
        r, idx = seen.user_items(codes[rb])
        keys[r, idx] = np.inf
        have_r = np.repeat(np.arange(len(rb)), filled[rb])
        if len(have_r):
            keys[have_r, neg[rb[have_r], _ranks(filled[rb])]] = np.inf
        width = min(neg.shape[1], n_cand)
        take = np.argsort(keys, axis=1)[:, :width]
        slot = filled[rb][:, None] + np.arange(width)[None, :]
        want = slot < need[rb][:, None]
        rr = np.broadcast_to(rb[:, None], take.shape)
        neg[rr[want], slot[want]] = take[want]
        filled[rb] = np.maximum(filled[rb], need[rb])


# ---------------------------------------------------------------------- matching negatives to test pairs
def match_test_pairs(neg: SampledNegatives, test: Interactions) -> SampledNegatives:
    """The negatives of every (user, item) pair of ``test``, looked up in ``neg`` by user and held-out item.

    The rows of the result are the test pairs, in the test's order; each takes the negatives of the first
    row of ``neg`` with the same user and positive item (rows of ``neg`` for other users are not used). A
    test pair with no such row is a :class:`DataError` that names the first mismatches: a user missing
    from ``neg``, or a user whose held-out item there is another one.
    """
    t_users, t_items = test.user_map.to_raw(test.users), test.item_map.to_raw(test.items)
    user_codes, _ = _joint_codes(np.asarray(neg.users), t_users)
    item_codes, n_items = _joint_codes(np.asarray(neg.positives), t_items)
    keys = user_codes * max(n_items, 1) + item_codes
    neg_keys, test_keys = keys[: len(neg)], keys[len(neg) :]
    order = np.argsort(neg_keys, kind="stable")  # first occurrence of a key comes first
    sorted_keys = neg_keys[order]
    pos = np.minimum(np.searchsorted(sorted_keys, test_keys), max(len(sorted_keys) - 1, 0))
    found = sorted_keys[pos] == test_keys if len(sorted_keys) else np.zeros(len(test_keys), dtype=bool)
    if not found.all():
        _raise_mismatch(neg, test, ~found, user_codes[: len(neg)], user_codes[len(neg) :])
    rows = order[pos]
    return SampledNegatives(users=t_users, positives=t_items, negatives=neg.negatives[rows], mask=neg.mask[rows], name=neg.name)


def _joint_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer codes of the values of ``a`` then ``b`` in one vocabulary (compared as strings if kinds differ)."""
    if a.dtype.kind != b.dtype.kind:
        a, b = a.astype(str), b.astype(str)
    codes, uniques = pd.factorize(np.concatenate([a, b]))
    return codes.astype(np.int64), len(uniques)


def _raise_mismatch(neg: SampledNegatives, test: Interactions, missing: np.ndarray, neg_users, test_users) -> None:
    first_row = np.full(int(max(neg_users.max(initial=-1), test_users.max(initial=-1))) + 1, -1, dtype=np.int64)
    uniq, first = np.unique(neg_users, return_index=True)
    first_row[uniq] = first  # first row of each user in neg, -1 for users it lacks
    rows = np.flatnonzero(missing)
    absent = first_row[test_users[rows]] < 0
    examples = []
    for r in rows[:3]:
        user, item = test.user_map.to_raw(test.users[r : r + 1])[0], test.item_map.to_raw(test.items[r : r + 1])[0]
        at = first_row[test_users[r]]
        where = "not in it" if at < 0 else f"its held-out item there is {_plain(neg.positives[at])!r}"
        examples.append(f"user {_plain(user)!r} with test item {_plain(item)!r}: {where}")
    raise DataError(
        f"{'negatives file ' + neg.name if neg.name else 'the negatives table'} does not match the test pairs of "
        f"{test.name or 'the test data'}: {len(rows):,} of {len(test):,} test pairs have no row "
        f"({int(len(np.unique(test_users[rows][absent]))):,} users missing, {int((~absent).sum()):,} pairs whose user "
        f"has another held-out item there); first: {'; '.join(examples)}. Use the negatives made for this test split (or sample them)"
    )


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------- NCF files
def read_ncf_negatives(path: str | Path) -> SampledNegatives:
    """Read an NCF ``.test.negative`` file: per line ``(user,item)`` then tab-separated negative item ids.

    Rows may hold different numbers of negatives; they are padded to the longest row (``mask`` marks real
    entries, padding is -1 for integer ids and "" for string ids). Ids stay raw (NCF ids are 0-based ints) and
    follow the id policy (:mod:`cofirec.data.idmap`): a column is integer only when every id in it is.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{path}: no rows")
    heads: list[str] = []
    counts = np.empty(len(lines), dtype=np.int64)
    tokens: list[str] = []
    for lineno, line in enumerate(lines, start=1):  # one pass per test row, not per negative
        head, _, rest = line.strip().partition("\t")
        if not (head.startswith("(") and head.endswith(")") and "," in head):
            raise DataError(f"{path}, line {lineno}: expected '(user,item)' at the start, got {head[:40]!r}")
        heads.append(head[1:-1])
        parts = rest.split()
        counts[lineno - 1] = len(parts)
        tokens.extend(parts)
    pairs = [h.split(",", 1) for h in heads]
    users = parse_ids(np.asarray([p[0] for p in pairs], dtype=object), what="user", source=str(path))
    positives = parse_ids(np.asarray([p[1] for p in pairs], dtype=object), what="item", source=str(path))
    flat = parse_ids(np.asarray(tokens, dtype=object), what="negative item", source=str(path)) if tokens else np.empty(0, dtype=np.int64)
    width = int(counts.max())
    mask = np.arange(width)[None, :] < counts[:, None]
    pad = -1 if flat.dtype.kind == "i" else ""
    negatives = np.full((len(lines), width), pad, dtype=flat.dtype)
    negatives[mask] = flat
    return SampledNegatives(users=users, positives=positives, negatives=negatives, mask=mask, name=str(path))
