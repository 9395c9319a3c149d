"""Factor models' all-users top-N (threaded chunks, single-threaded BLAS, no score block): the same lists and
scores as the dense block path it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from cofirec.data.synthetic import make_synthetic
from cofirec.models import _factor
from cofirec.models.als import ExplicitALS
from cofirec.models.base import Recommender
from cofirec.models.bpr import BPR
from cofirec.models.ials import ImplicitALS
from cofirec.models.knn import ItemKNN
from cofirec.models.mf_sgd import BiasedMF


def _dense(model, *args):
    return Recommender._top_block(model, *args)


@pytest.mark.parametrize(
    "make, implicit",
    [
        (lambda: ImplicitALS(factors=8, epochs=2), True),
        (lambda: BPR(factors=8, epochs=2), True),
        (lambda: BiasedMF(factors=6, epochs=2), False),
        (lambda: ExplicitALS(factors=6, epochs=2), False),
    ],
)
def test_threaded_chunks_equal_dense_block(make, implicit, monkeypatch):
    monkeypatch.setattr(_factor, "_CHUNK_ROWS", 7)  # many chunks, a short last one
    data = make_synthetic(n_users=80, n_items=50, seed=3)
    if implicit:
        data = data.as_implicit()
    model = make().fit(data)
    rng = np.random.default_rng(0)
    uidx = rng.permutation(model.n_users)
    for n in (1, 10, model.n_items):
        for seen, rows in ((model.seen_, uidx), (None, None)):
            for allowed in (None, rng.random(model.n_items) < 0.5):
                got = model._top_block(uidx, n, seen, rows, allowed)
                want = _dense(model, uidx, n, seen, rows, allowed)
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_recommend_with_unknown_users_uses_the_dense_path_and_agrees(monkeypatch):
    model = ImplicitALS(factors=8, epochs=2).fit(make_synthetic(n_users=40, n_items=30, seed=1))
    users = list(model.user_map_.ids[:5]) + ["nobody"] if model.user_map_.ids.dtype.kind not in "iu" else list(model.user_map_.ids[:5]) + [10**9]
    got = model.recommend(users, n=5)
    monkeypatch.setattr(_factor.FactorScoring, "_top_block", _dense)
    want = model.recommend(users, n=5)
    assert np.array_equal(got.items, want.items) and np.array_equal(got.scores, want.scores)


@pytest.mark.parametrize(
    "make, implicit",
    [
        (lambda: ImplicitALS(factors=8, epochs=2), True),
        (lambda: BiasedMF(factors=6, epochs=2), False),  # item biases and a per-user shift
    ],
)
@pytest.mark.parametrize("chunk, tile_bytes", [(7, 64), (128, 1 << 19)])
def test_fused_tiles_equal_dense_block(make, implicit, chunk, tile_bytes, monkeypatch):
    # chunk 7 users and 64-byte tiles (16 items: 4 tiles, a short last one) exercise every boundary:
    # a heap carried across tiles, exclusions falling on tile edges, a short last chunk
    from cofirec.kernels import factor_topk

    monkeypatch.setattr(_factor, "_FUSED_CHUNK", chunk)
    monkeypatch.setattr(factor_topk, "_TILE_BYTES", tile_bytes)
    monkeypatch.setattr(factor_topk, "_MIN_WIDTH", 16)
    data = make_synthetic(n_users=80, n_items=50, seed=5)
    if implicit:
        data = data.as_implicit()
    model = make().fit(data)
    rng = np.random.default_rng(1)
    uidx = rng.permutation(model.n_users)
    for n in (1, 10, model.n_items):
        for seen, rows in ((model.seen_, uidx), (model.seen_[uidx], None), (None, None)):
            for allowed in (None, rng.random(model.n_items) < 0.5):
                got = _factor._fused_top_block(model, uidx, n, seen, rows, allowed)
                want = _dense(model, uidx, n, seen, rows, allowed)
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    model.item_factors_ *= -1  # factors changed in place (as during training): the next ranking follows them
    got = _factor._fused_top_block(model, uidx, 5, None, None, None)
    assert np.array_equal(got[0], _dense(model, uidx, 5, None, None, None)[0])


@pytest.mark.parametrize("make", [lambda: ImplicitALS(factors=8, epochs=2), lambda: ItemKNN(k=10)])
@pytest.mark.parametrize("exclude_seen", [True, False])
def test_large_recommend_blocks_with_unknown_users_fall_back_in_dense_sub_blocks(make, exclude_seen, monkeypatch):
    # factor and implicit kNN models take big blocks of users per _top_block call (no dense score block);
    # a block holding unknown users goes through the dense path in sub-blocks of _batch_users (here 7)
    model = make().fit(make_synthetic(n_users=60, n_items=40, seed=2).as_implicit())
    ids = list(model.user_map_.ids)
    users = ids[:25] + [10**9] + ids[25:]
    one_by_one = [model.recommend([u], n=6, exclude_seen=exclude_seen) for u in users]
    monkeypatch.setattr(type(model), "_batch_users", lambda self: 7)
    assert model._top_block_users() > 7
    got = model.recommend(users, n=6, exclude_seen=exclude_seen)
    assert not got.known[25] and got.known[:25].all()
    for row, want in enumerate(one_by_one):
        assert np.array_equal(got.items[row], want.items[0]) and np.allclose(got.scores[row], want.scores[0], atol=1e-6)
