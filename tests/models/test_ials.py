"""ImplicitALS: contract on implicit data, beats popularity on synthetic data, CG vs exact, ML-100K NDCG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.data.splits import user_ratio_split
from cofirec.data.synthetic import make_planted_implicit, make_synthetic
from cofirec.errors import ConfigError
from cofirec.evaluate import evaluate
from cofirec.models.baselines import Popularity
from cofirec.models.ials import ImplicitALS
from cofirec.testing import check_recommender


@pytest.fixture(scope="module")
def implicit():
    return make_planted_implicit()


@pytest.mark.parametrize("kw", [{}, {"solver": "cholesky", "confidence": "log"}])
def test_contract(implicit, kw):
    check_recommender(lambda: ImplicitALS(factors=8, epochs=4, **kw), implicit)


def test_contract_on_synthetic_as_implicit():
    check_recommender(lambda: ImplicitALS(factors=8, epochs=4), make_synthetic(n_users=60, n_items=40, seed=1).as_implicit())


def test_beats_popularity_and_loss_decreases(implicit):
    train, test = user_ratio_split(implicit, 0.2, seed=0)
    model = ImplicitALS(factors=8, epochs=10, reg=1.0, alpha=5.0, track_loss=True).fit(train, validation=test)
    pop = Popularity().fit(train)
    ours = evaluate(model, test, protocol="ranking", k=10)["ndcg@10"]
    assert ours > evaluate(pop, test, protocol="ranking", k=10)["ndcg@10"] + 0.02
    losses = np.array([h["loss"] for h in model.history_])
    assert losses[-1] < losses[0] and "val_ndcg@10" in model.history_[0]


def test_cg_approaches_exact_solver(implicit):
    exact = ImplicitALS(factors=6, epochs=3, solver="cholesky").fit(implicit)
    cg = ImplicitALS(factors=6, epochs=3, solver="cg", cg_steps=12).fit(implicit)
    users = implicit.user_map.ids[:50]
    np.testing.assert_allclose(cg.score_users(users), exact.score_users(users), atol=2e-3)


def test_confidence_scaling():
    m = ImplicitALS(alpha=2.0)
    np.testing.assert_allclose(m.confidences(np.array([0.0, 1.0, 3.0])), [1.0, 3.0, 7.0])
    m = ImplicitALS(alpha=2.0, confidence="log", epsilon=0.5)
    np.testing.assert_allclose(m.confidences(np.array([1.0])), [1.0 + 2.0 * np.log(3.0)], rtol=1e-6)


def test_bad_params(implicit):
    with pytest.raises(ConfigError, match="alpha"):
        ImplicitALS(alpha=-1.0).fit(implicit)


@pytest.mark.realdata
def test_ml100k_per_user_holdout_ndcg(real_data):
    path = real_data("ml-100k/u.data")
    frame = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"])
    data = Interactions.from_frame(frame, name="ml-100k").as_implicit()
    train, test = user_ratio_split(data, 0.2, seed=0)
    model = ImplicitALS().fit(train)
    assert evaluate(model, test, protocol="ranking", k=10)["ndcg@10"] >= 0.40


def test_track_loss_off_gives_same_factors(implicit):
    with_loss = ImplicitALS(factors=6, epochs=3, track_loss=True).fit(implicit)
    without = ImplicitALS(factors=6, epochs=3, track_loss=False).fit(implicit)
    assert "loss" in with_loss.history_[0] and "loss" not in without.history_[0]
    np.testing.assert_array_equal(with_loss.item_factors_, without.item_factors_)


def _reference_confidences(model, data):
    ref = sp.csr_matrix((model.confidences(data.ratings), (data.users, data.items)), shape=(data.n_users, data.n_items))
    ref.sort_indices()
    return ref


@pytest.mark.parametrize("case", ["implicit", "varied ratings, shuffled rows", "also_seen"])
def test_confidence_matrix_matches_a_fresh_build(case):
    """The confidence matrix shares ``seen_``'s index arrays when it can; values must still sit on their own pairs."""
    data = make_synthetic(n_users=40, n_items=30, seed=3)
    if case == "implicit":
        data = data.as_implicit()
    else:
        data = data.subset(np.random.default_rng(0).permutation(len(data)))  # rows out of (user, item) order
    model = ImplicitALS(factors=3, epochs=1, alpha=2.0)
    half = data.subset(np.arange(len(data)) % 2 == 0).compact()
    fit_on = half if case == "also_seen" else data
    model.fit(fit_on, also_seen=data if case == "also_seen" else None)
    cu = model._confidence_matrix(fit_on)
    ref = _reference_confidences(model, fit_on)
    assert (cu != ref).nnz == 0 and np.array_equal(cu.indptr, ref.indptr) and np.array_equal(cu.indices, ref.indices)
    shares = np.shares_memory(cu.indices, model.seen_.indices)
    assert shares == (case != "also_seen")
