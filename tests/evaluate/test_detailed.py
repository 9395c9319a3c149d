"""evaluate_detailed: per-user values by hand on tiny data, and the metrics they are means of on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.negatives import SampledNegatives, sample_negatives
from cofirec.data.splits import user_ratio_split
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError
from cofirec.evaluate import EvaluationResult, evaluate, evaluate_detailed
from cofirec.models.baselines import GlobalMean, Popularity

L3 = 1.0 / math.log2(3)
pytestmark = pytest.mark.filterwarnings("ignore::cofirec.evaluate.UnknownIdsWarning")

# the runner tests' hand data: train popularity 10:3, 11:3, 12:1, 13:1, 14:1 (users 1-5); test adds user 6, item 15
ROWS = [(1, 10, 5), (1, 11, 4), (2, 10, 3), (2, 12, 2), (3, 10, 4), (3, 11, 5), (3, 13, 1), (4, 14, 3), (5, 11, 2)]
TEST = [(1, 12, 4), (1, 15, 5), (2, 11, 5), (3, 14, 2), (6, 10, 4)]


@pytest.fixture(scope="module")
def hand():
    data = Interactions.from_frame(pd.DataFrame(ROWS + TEST, columns=["user", "item", "rating"]), name="hand")
    is_test = np.arange(len(ROWS) + len(TEST)) >= len(ROWS)
    return data.subset(~is_test), data.subset(is_test)


def test_ranking_per_user_by_hand(hand):
    train, test = hand
    model = Popularity().fit(train)
    res = evaluate_detailed(model, test, protocol="ranking", k=[2])
    assert isinstance(res, EvaluationResult) and res.protocol == "ranking"
    assert res.users.tolist() == [1, 2, 3, 6]
    # u1 [12, 13] vs {12, 15}; u2 [11, 13] vs {11}; u3 [12, 14] vs {14}; u6 unknown to the model
    expected = {
        "precision@2": [0.5, 0.5, 0.5, 0],
        "recall@2": [0.5, 1, 1, 0],
        "hr@2": [1, 1, 1, 0],
        "ndcg@2": [1 / (1 + L3), 1, L3, 0],
        "map@2": [0.5, 1, 0.5, 0],
        "mrr@2": [1, 1, 0.5, 0],
    }
    assert set(res.per_user) == set(expected)
    for name, values in expected.items():
        np.testing.assert_allclose(res.per_user[name], values, err_msg=name)
        assert res.per_user[name].dtype == np.float64
    assert res.weights is None
    # items 10..14 are model indices 0..4; the unknown user gets an empty list
    assert res.recommended.tolist() == [[2, 3], [1, 3], [2, 4], [-1, -1]]
    assert res.metrics == evaluate(model, test, protocol="ranking", k=[2])
    assert not res.has_values("coverage@2") and res.has_values("ndcg@2")
    with pytest.raises(ConfigError, match=r"no per-user values for metric 'coverage@2'.*ndcg@2"):
        res.values_for("coverage@2")


def test_rating_per_user_by_hand(hand):
    train, test = hand
    model = GlobalMean().fit(train)
    res = evaluate_detailed(model, test, protocol="rating")
    mean = sum(r for _, _, r in ROWS) / len(ROWS)
    item10 = (5 + 3 + 4 + 5 * mean) / (3 + 5)  # unknown user 6: damped mean of item 10
    assert res.users.tolist() == [1, 2, 3, 6]
    np.testing.assert_allclose(res.weights, [2, 1, 1, 1])
    mse = [((4 - mean) ** 2 + (5 - mean) ** 2) / 2, (5 - mean) ** 2, (2 - mean) ** 2, (4 - item10) ** 2]
    ae = [(abs(4 - mean) + abs(5 - mean)) / 2, abs(5 - mean), abs(2 - mean), abs(4 - item10)]
    np.testing.assert_allclose(res.per_user["mse"], mse, rtol=1e-6)
    np.testing.assert_allclose(res.per_user["ae"], ae, rtol=1e-6)
    assert res.metrics == evaluate(model, test, protocol="rating")
    assert res.metric_names() == ["rmse", "mae"]
    assert res.values_for("rmse").statistic == "rmse" and res.values_for("mae").statistic == "mean"
    assert res.recommended is None


def test_sampled_several_rows_per_user_are_weighted(hand):
    train, _ = hand
    model = Popularity().fit(train)  # scores 10:3, 11:3, 12:1, 13:1, 14:1
    neg = SampledNegatives(
        users=np.array([3, 1, 6, 1]),
        positives=np.array([11, 12, 10, 11]),
        negatives=np.array([[12, 13, 14], [13, 14, 10], [11, 12, 13], [12, 13, 14]]),
        mask=np.ones((4, 3), dtype=bool),
    )
    res = evaluate_detailed(model, None, protocol="sampled", negatives=neg, k=1)
    # ranks: (3, 11) 0; (1, 12) 3 (two ties, one better); (6, 10) unknown; (1, 11) 0
    assert res.users.tolist() == [1, 3, 6]
    np.testing.assert_allclose(res.weights, [2, 1, 1])
    np.testing.assert_allclose(res.per_user["hr@1"], [0.5, 1, 0])
    np.testing.assert_allclose(res.per_user["mrr"], [(1 / 4 + 1) / 2, 1, 0])
    assert res.metrics["hr@1"] == pytest.approx(np.average(res.per_user["hr@1"], weights=res.weights))


# ---------------------------------------------------------------------- means of per-user values == metrics
@pytest.fixture(scope="module")
def synth():
    return user_ratio_split(make_synthetic(n_users=120, n_items=90, seed=7), test_ratio=0.25, seed=2)


def _assert_means(res: EvaluationResult) -> None:
    assert list(res.users) == sorted(res.users)
    assert res.metric_names(), "no per-user metric"
    for name in res.metric_names():
        mv = res.values_for(name)
        mean = np.average(mv.values, weights=mv.weights)
        value = math.sqrt(mean) if mv.statistic == "rmse" else mean
        assert res.metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name


def test_ranking_means_equal_metrics(synth):
    train, test = synth
    model = Popularity(by="rating").fit(train)
    res = evaluate_detailed(model, test, protocol="ranking", k=(3, 10), batch_size=13)
    assert len(res.per_user) == 12 and res.recommended.shape == (res.metrics["users_evaluated"], 10)
    _assert_means(res)
    assert res.metrics == evaluate(model, test, protocol="ranking", k=(3, 10))


def test_rating_and_binary_means_equal_metrics(synth):
    train, test = synth
    _assert_means(evaluate_detailed(GlobalMean().fit(train), test, protocol="rating"))
    btrain, btest = train.binarize(4.0), test.binarize(4.0)
    res = evaluate_detailed(Popularity(by="rating").fit(btrain), btest, protocol="binary")
    assert sorted(res.per_user) == ["accuracy", "logloss"] and not res.has_values("auc")
    _assert_means(res)


def test_sampled_means_equal_metrics(synth):
    train, test = synth
    neg = sample_negatives(train, test, n=20, seed=0)
    res = evaluate_detailed(Popularity().fit(train), test, protocol="sampled", negatives=neg, k=(5, 10))
    assert sorted(res.per_user) == ["hr@10", "hr@5", "mrr", "mrr@10", "mrr@5", "ndcg@10", "ndcg@5"]
    _assert_means(res)


def test_ranking_with_more_k_than_items(hand):
    train, test = hand
    res = evaluate_detailed(Popularity().fit(train), test, protocol="ranking", k=[7])
    assert res.recommended.shape == (4, 7)  # 5 items in the catalogue: -1 padded
    assert (res.recommended[:, 5:] == -1).all()
    _assert_means(res)
