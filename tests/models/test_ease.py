"""EASE: closed form against per-column ridge regressions, contract, ML-100K ranking accuracy."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError
from cofirec.models import ease as ease_module
from cofirec.models.baselines import Popularity
from cofirec.models.ease import EASE, _mirror_lower_to_upper, ease_weights, gram_matrix
from cofirec.testing import check_recommender


@pytest.fixture(scope="module")
def data() -> Interactions:
    return make_synthetic(n_users=60, n_items=40, seed=1)


@pytest.mark.parametrize("variant", ["explicit", "implicit"])
def test_contract(variant, data):
    check_recommender(lambda: EASE(reg=50.0), data if variant == "explicit" else data.as_implicit())


def test_weights_match_per_column_ridge():
    """Column j of B is the ridge regression of item j on the other items (the zero-diagonal constraint)."""
    rng = np.random.default_rng(0)
    x = (rng.random((30, 8)) < 0.4).astype(float)
    gram, l2 = x.T @ x, 3.0
    got = ease_weights(gram, l2)
    for j in range(8):
        others = np.delete(np.arange(8), j)
        xo = x[:, others]
        want = np.linalg.solve(xo.T @ xo + l2 * np.eye(7), xo.T @ x[:, j])
        np.testing.assert_allclose(got[others, j], want, atol=1e-10)
        assert got[j, j] == 0.0


def test_scores_are_history_times_weights(data):
    model = EASE(reg=20.0).fit(data.as_implicit())
    users = np.arange(10)
    want = data.to_csr("binary").toarray()[users] @ model.weights_
    np.testing.assert_allclose(model._score(users), want, rtol=1e-5, atol=1e-6)
    items = np.arange(10) * 3
    np.testing.assert_allclose(model._predict_pairs(users, items), want[np.arange(10), items], rtol=1e-5, atol=1e-6)


def test_stronger_reg_shrinks_weights(data):
    weak = EASE(reg=1.0).fit(data)
    strong = EASE(reg=1000.0).fit(data)
    assert np.abs(strong.weights_).sum() < 0.2 * np.abs(weak.weights_).sum()


def test_too_many_items_is_refused(data):
    with pytest.raises(DataError, match="max_items"):
        EASE(max_items=10).fit(data)
    with pytest.raises(ConfigError, match="reg"):
        EASE(reg=0.0).fit(data)


@pytest.mark.realdata
def test_ml100k_ndcg_beats_popularity(real_data):
    from cofirec.data.splits import user_ratio_split

    path = real_data("ml-100k/u.data")
    frame = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"])
    train, test = user_ratio_split(Interactions.from_frame(frame).as_implicit(), test_ratio=0.2, seed=42)
    truth = test.to_frame().groupby("user")["item"].apply(set)
    disc = 1.0 / np.log2(np.arange(2, 12))

    def ndcg(model) -> float:
        recs = model.recommend(truth.index.to_numpy(), n=10)
        gains = [
            (np.fromiter((i in rel for i in items), float, len(items)) * disc).sum() / disc[: min(len(rel), 10)].sum() for rel, items in zip(truth, recs.items)
        ]
        return float(np.mean(gains))

    pop, ease = ndcg(Popularity().fit(train)), ndcg(EASE().fit(train))
    assert ease > pop + 0.15, f"EASE NDCG@10 {ease:.4f} vs popularity {pop:.4f}"  # measured 0.44 vs 0.22


def _reference_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """The formula as first written (numpy LU inverse, out of place): ``B = I - P / diag(P)``."""
    p = np.linalg.inv(gram + l2 * np.eye(len(gram)))
    b = -p / np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


@pytest.mark.parametrize(("n_users", "n_items", "l2"), [(50, 1, 2.0), (80, 37, 5.0), (300, 130, 50.0)])
def test_in_place_weights_match_reference_formula(n_users, n_items, l2):
    rng = np.random.default_rng(n_items)
    x = (rng.random((n_users, n_items)) < 0.2).astype(float)
    gram = x.T @ x
    want = _reference_weights(gram, l2)
    kept = gram.copy()
    np.testing.assert_allclose(ease_weights(gram, l2), want, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(gram, kept)  # not overwritten by default
    got = ease_weights(gram, l2, overwrite=True)
    assert np.shares_memory(got, gram)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_mirror_fills_upper_triangle_across_blocks():
    g = np.tril(np.arange(49.0).reshape(7, 7))
    _mirror_lower_to_upper(g, block=3)
    np.testing.assert_array_equal(g, np.tril(g) + np.tril(g, -1).T)


def test_gram_matrix_in_blocks_equals_sparse_product(monkeypatch):
    rng = np.random.default_rng(3)
    x = sp.csr_matrix((rng.random((40, 23)) < 0.3).astype(np.float32))
    monkeypatch.setattr(ease_module, "_GRAM_BLOCK_CELLS", 50)  # 2 item rows per block
    np.testing.assert_array_equal(gram_matrix(x), (x.T @ x).toarray().astype(np.float64))


def test_fit_matches_reference_formula(data):
    model = EASE(reg=20.0).fit(data.as_implicit())
    x = model.seen_.toarray().astype(np.float64)
    want = _reference_weights(x.T @ x, 20.0).astype(np.float32)
    np.testing.assert_allclose(model.weights_, want, rtol=1e-5, atol=1e-7)


def test_fit_holds_one_dense_float64_matrix_at_a_time(monkeypatch):
    """Traced peak while fitting: the one float64 working matrix plus the small sparse X (1.27x here; casting with
    astype made it 1.56x, the original closed form 5.3x)."""
    n_items = 400
    monkeypatch.setattr(ease_module, "_GRAM_BLOCK_CELLS", 20 * n_items)  # blocks small next to n_items^2, as at scale
    monkeypatch.setattr(ease_module, "_MIRROR_BLOCK", 40)
    train = make_synthetic(n_users=200, n_items=n_items, seed=4).as_implicit()
    EASE(reg=10.0).fit(train)  # warm-up (imports, caches)
    model = EASE(reg=10.0)
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        model.fit(train)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (peak - start) < 1.4 * 8 * n_items**2, (peak - start) / (8 * n_items**2)


@pytest.mark.parametrize("shape", [(7, 7), (301, 301), (5, 3)])
def test_float32_in_place_equals_astype(shape):
    a = np.random.default_rng(0).standard_normal(shape)
    want = a.astype(np.float32)
    got = ease_module._to_float32_in_place(a, chunk=16)
    assert got.dtype == np.float32 and got.shape == shape
    np.testing.assert_array_equal(got, want)


def test_float32_in_place_copies_arrays_it_does_not_own():
    base = np.arange(12.0).reshape(3, 4)
    got = ease_module._to_float32_in_place(base[:, :2])
    np.testing.assert_array_equal(got, base[:, :2].astype(np.float32))
    np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4))
