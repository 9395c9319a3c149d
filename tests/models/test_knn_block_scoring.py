"""kNN scoring as one parallel product per block of users: bitwise the scipy product it replaced, and the same
top-N lists as the scipy-product scoring (``ref_score``) and a naive dense reference, ties included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.kernels.similarity import rows_times_csr
from cofirec.models import knn
from cofirec.models.knn import ItemKNN, UserKNN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dense_b", [False, True])
def test_rows_times_csr_is_bitwise_scipy(dtype, dense_b):
    rng = np.random.default_rng(3)
    a = sp.random(50, 30, density=0.3, format="csr", random_state=1, dtype=dtype)
    a.data = rng.standard_normal(a.nnz).astype(dtype)
    b = sp.random(30, 70, density=0.25, format="csr", random_state=2, dtype=dtype)
    b.data = rng.standard_normal(b.nnz).astype(dtype)
    b = b if not dense_b else b.toarray()
    rows = np.array([4, 0, 49, 4, 17, 3])
    got = rows_times_csr(a, rows, b, dtype=dtype)
    want = np.asarray(a[rows] @ b) if dense_b else (a[rows] @ b).toarray()
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_rows_times_csr_rejects_bad_rows():
    a = sp.identity(3, format="csr")
    with pytest.raises(IndexError):
        rows_times_csr(a, np.array([3]), a)


def _ties_data(kind: str, seed: int = 0) -> Interactions:
    """A small log with many exact score ties: binary rows, few items, duplicated users."""
    rng = np.random.default_rng(seed)
    base = rng.random((25, 18)) < 0.3
    pattern = np.vstack([base, base[:10]])  # users 25-34 copy users 0-9: equal neighbourhoods, tied scores
    u, i = np.nonzero(pattern)
    r = rng.integers(1, 6, len(u)).astype(float) if kind == "explicit" else np.ones(len(u))
    return Interactions.from_frame(pd.DataFrame({"user": u, "item": i, "rating": r}), kind=kind)


def _scipy_product(a, rows, b):  # the scoring before the block kernel
    m = a[rows] @ b
    return m.toarray() if sp.issparse(m) else np.asarray(m)


def _naive_top(model, users: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense reference: score rows from dense matrices, seen items to -inf, top-n by (-score, index)."""
    scores = model._score(users).astype(np.float64)
    scores[model.seen_[users].toarray() > 0] = -np.inf
    idx = np.array([np.lexsort((np.arange(len(s)), -s))[:n] for s in scores])
    return idx, np.take_along_axis(scores, idx, axis=1)


MODELS = {
    "item-implicit": (lambda: ItemKNN(k=5), "implicit"),
    "item-implicit-mink": (lambda: ItemKNN(k=5, min_k=2), "implicit"),
    "item-explicit": (lambda: ItemKNN(k=6, min_k=2), "explicit"),
    "user-implicit": (lambda: UserKNN(k=4), "implicit"),
    "user-explicit": (lambda: UserKNN(k=6, min_k=2), "explicit"),
}


@pytest.mark.parametrize("sparse_sim_t", [False, True])
@pytest.mark.parametrize("name", list(MODELS))
def test_block_scoring_matches_scipy_scoring_and_lists(name, sparse_sim_t, monkeypatch):
    make, kind = MODELS[name]
    if sparse_sim_t:
        monkeypatch.setattr(knn, "_DENSE_ITEMS", 0)
    model = make().fit(_ties_data(kind))
    users = np.arange(model.n_users)
    new_scores = model._score(users)
    new_lists = model.recommend(model.user_map_.ids, n=7)
    model._cache = {}
    with monkeypatch.context() as m:
        m.setattr(knn, "_product", _scipy_product)
        old_scores = model._score(users)
        old_lists = model.recommend(model.user_map_.ids, n=7)
    assert np.array_equal(new_scores, old_scores)
    assert np.array_equal(new_lists.items, old_lists.items) and np.array_equal(new_lists.scores, old_lists.scores)
    # ties exist (copied users), and the lists follow the naive (-score, index) order
    idx, vals = _naive_top(model, users, 7)
    finite = np.isfinite(vals)
    got_idx = model.item_map_.lookup(new_lists.items.ravel()).reshape(new_lists.items.shape)
    assert np.array_equal(np.where(finite, idx, -1)[:, : got_idx.shape[1]], np.where(np.isfinite(new_lists.scores), got_idx, -1))
    if kind == "implicit":  # binary histories: tied scores inside the lists, which the (-score, index) order breaks
        assert (np.diff(np.where(finite, vals, np.nan), axis=1) == 0).any()


def test_blocks_of_users_give_the_same_lists(monkeypatch):
    model = ItemKNN(k=5).fit(_ties_data("implicit", seed=4))
    whole = model.recommend(model.user_map_.ids, n=5)
    monkeypatch.setattr(type(model), "_batch_users", lambda self: 4)
    blocked = model.recommend(model.user_map_.ids, n=5)
    assert np.array_equal(whole.items, blocked.items) and np.array_equal(whole.scores, blocked.scores)


# ---------------------------------------------------------------------- implicit: top-k straight from the sparse product
def _dense_path(model, uidx, n, seen, rows, allowed):
    from cofirec.models.base import Recommender

    return Recommender._top_block(model, uidx, n, seen, rows, allowed)


@pytest.mark.parametrize("make", [lambda: ItemKNN(k=3), lambda: ItemKNN(k=4, min_k=2), lambda: UserKNN(k=3), lambda: UserKNN(k=5, min_k=3)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_top_block_equals_dense_top_block(make, seed):
    """Short lists (few positive scores) fill with score-0 items then excluded ones, by index, as the dense kernel."""
    model = make().fit(_ties_data("implicit", seed=seed))
    rng = np.random.default_rng(seed)
    uidx = rng.permutation(model.n_users)
    for n in (1, 5, 17, model.n_items):
        for exclude_seen in (True, False):
            for allowed in (None, rng.random(model.n_items) < 0.6):
                seen, rows = (model.seen_, uidx) if exclude_seen else (None, None)
                got = model._top_block(uidx, n, seen, rows, allowed)
                want = _dense_path(model, uidx, n, seen, rows, allowed)
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), (n, exclude_seen, allowed is None)


def test_recommend_with_candidates_and_unknown_users_matches_dense(monkeypatch):
    model = ItemKNN(k=3).fit(_ties_data("implicit", seed=5))
    users = list(model.user_map_.ids[:8]) + [10_000]
    kwargs = {"n": 6, "candidates": model.item_map_.ids[::2], "exclude": model.item_map_.ids[:2]}
    got = model.recommend(users, **kwargs)
    monkeypatch.setattr(type(model), "_top_block", _dense_path)
    want = model.recommend(users, **kwargs)
    assert np.array_equal(got.items, want.items) and np.array_equal(got.scores, want.scores)
