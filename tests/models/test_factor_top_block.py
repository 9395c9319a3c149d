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
