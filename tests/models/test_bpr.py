"""BPR: contract on implicit data, beats popularity on synthetic data, sampling/determinism, ML-100K."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.splits import user_ratio_split
from cofirec.data.synthetic import make_planted_implicit, make_synthetic
from cofirec.errors import ConfigError
from cofirec.evaluate import evaluate
from cofirec.models.baselines import Popularity
from cofirec.models.bpr import BPR
from cofirec.testing import check_recommender


@pytest.fixture(scope="module")
def implicit():
    return make_planted_implicit()


@pytest.mark.parametrize("kw", [{}, {"biases": False, "lr_decay": 0.9}])
def test_contract(implicit, kw):
    check_recommender(lambda: BPR(factors=8, epochs=5, **kw), implicit)


def test_contract_on_synthetic_as_implicit():
    check_recommender(lambda: BPR(factors=8, epochs=5), make_synthetic(n_users=60, n_items=40, seed=1).as_implicit())


def test_beats_popularity_and_learns(implicit):
    train, test = user_ratio_split(implicit, 0.2, seed=0)
    model = BPR(factors=16, epochs=60, lr=0.05, reg=0.01).fit(train)
    pop = Popularity().fit(train)
    ours = evaluate(model, test, protocol="ranking", k=10)["ndcg@10"]
    assert ours > evaluate(pop, test, protocol="ranking", k=10)["ndcg@10"] + 0.02
    auc = [h["train_auc"] for h in model.history_]
    assert auc[-1] > auc[0] and auc[-1] > 0.85


def test_early_stopping_keeps_best(implicit):
    train, test = user_ratio_split(implicit, 0.2, seed=0)
    model = BPR(factors=16, epochs=100, lr=0.05, patience=1).fit(train, validation=test)
    curve = [h["val_ndcg@10"] for h in model.history_]
    assert model.best_epoch_ == 1 + int(np.argmax(curve))
    assert len(curve) < 100


def test_bad_params(implicit):
    with pytest.raises(ConfigError, match="lr"):
        BPR(lr=0.0).fit(implicit)


@pytest.mark.realdata
def test_ml100k_per_user_holdout(real_data):
    path = real_data("ml-100k/u.data")
    frame = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"])
    data = Interactions.from_frame(frame, name="ml-100k").as_implicit()
    train, test = user_ratio_split(data, 0.2, seed=0)
    ours = evaluate(BPR().fit(train), test, protocol="ranking", k=10)["ndcg@10"]
    pop = evaluate(Popularity().fit(train), test, protocol="ranking", k=10)["ndcg@10"]
    assert ours > pop + 0.05
