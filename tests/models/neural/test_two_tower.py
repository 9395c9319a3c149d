import tempfile
from pathlib import Path

import numpy as np
import pytest

import cofirec
from cofirec.data.splits import random_split
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError
from cofirec.models.neural.two_tower import TwoTower
from cofirec.testing import check_recommender


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("COFIREC_THREADS", "1")


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=60, n_items=40, seed=1)


@pytest.fixture(scope="module")
def fitted():
    """A model fitted on likes of planted-structure data, and its test split."""
    data = make_synthetic(n_users=300, n_items=100, density=0.15, seed=5)
    train, test = random_split(data, 0.2, seed=0)
    model = TwoTower(factors=8, hidden=(16,), out_dim=16, epochs=8, batch_size=128, lr=0.01, holdout=0.0, positive_threshold=4.0)
    return model.fit(train), train, test


def _small(**kw) -> TwoTower:
    return TwoTower(factors=4, hidden=(8,), out_dim=8, epochs=2, batch_size=64, **kw)


def test_contract_explicit(data):
    model = check_recommender(lambda: _small(), data)
    assert model.kind_ == "implicit" and model.loss_ == "softmax"
    vecs = model._item_vectors()
    assert vecs.shape == (data.n_items, 8) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    users = data.user_map.ids[:4]
    uvec = model.module_.user_vectors(__import__("torch").as_tensor(model.user_map_.lookup(users))).detach().numpy()
    assert np.allclose(model.score_users(users), uvec @ vecs.T, atol=1e-5), "score = user vectors @ item vectors"


def test_contract_binary_with_extra_negatives(data):
    check_recommender(lambda: _small(negatives=2, logq=False, features="item"), data.binarize(4.0))


def test_ranks_held_out_likes_high(fitted):
    """Held-out liked items outrank most of the catalogue (0.5 = random; measured ~0.69, popularity ~0.70)."""
    model, train, test = fitted
    liked = test.subset(test.ratings >= 4.0)
    raw_u = liked.user_map.to_raw(liked.users)
    raw_i = liked.item_map.to_raw(liked.items)
    scores = model.score_users(raw_u)
    own = scores[np.arange(len(raw_u)), model.item_map_.lookup(raw_i)]
    below = (scores < own[:, None]).mean(axis=1)
    assert below.mean() > 0.62, below.mean()
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]


def test_cold_start_from_features(fitted):
    model, train, _ = fitted
    one = model.recommend_for_features({"gender": "F", "age": 25, "occupation": "writer", "zip": "55455"}, n=5)
    assert one.items.shape == (5,) and not one.known and np.all(np.diff(one.scores) <= 1e-6)
    many = model.recommend_for_features([{"gender": "F", "age": 25}, {"gender": "M", "age": 56}, {"gender": "?"}], n=5)
    assert many.items.shape == (3, 5) and not many.known.any()
    assert not np.array_equal(many.items[0], many.items[1]), "different demographics, different lists"
    # features alone carry signal: users' own likes score above the catalogue average from demographics only
    frame = train.user_features.loc[train.user_map.ids]
    vecs = model.user_vectors_from_features(frame)
    scores = vecs @ model._item_vectors().T
    liked = train.subset(train.ratings >= 4.0)
    lift = scores[liked.users, liked.items].mean() - scores.mean()
    assert lift > 0.0
    cands = train.item_map.ids[:10]
    restricted = model.recommend_for_features({"gender": "F"}, n=3, candidates=cands)
    assert set(restricted.items.tolist()) <= set(cands.tolist())


def test_cold_start_from_items(fitted):
    model, train, _ = fitted
    liked = train.item_map.ids[:3]
    rec = model.recommend_from_items(liked, n=10)
    assert not rec.known and rec.items.shape == (10,)
    assert not set(rec.items.tolist()) & set(liked.tolist())
    vec = model._item_vectors()[model.item_map_.lookup(liked)].mean(0)
    expected = np.argsort(-(model._item_vectors() @ vec))
    expected = [i for i in model.item_map_.to_raw(expected) if i not in set(liked.tolist())][:10]
    assert rec.items.tolist() == expected
    with pytest.raises(DataError, match="none of the given items"):
        model.recommend_from_items([10**9])


def test_cold_start_survives_save_load(fitted):
    model, _, _ = fitted
    feats = [{"gender": "F", "age": 35, "occupation": "doctor"}, {"gender": "M"}]
    with tempfile.TemporaryDirectory() as tmp:
        again = cofirec.load(model.save(Path(tmp) / "tt"))
    assert np.allclose(again.user_vectors_from_features(feats), model.user_vectors_from_features(feats), atol=1e-6)
    assert again.recommend_from_items([1, 2]).items.tolist() == model.recommend_from_items([1, 2]).items.tolist()


def test_bad_params(data):
    with pytest.raises(ConfigError, match="in-batch softmax"):
        TwoTower(loss="mse").fit(data)
    with pytest.raises(ConfigError, match="temperature"):
        TwoTower(temperature=0.0).fit(data)
    with pytest.raises(DataError, match="no positive"):
        TwoTower(positive_threshold=9.0, epochs=1).fit(data)
