"""The evaluation runner: exact numbers on hand-made data, agreement with naive loops, real-data sanity."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.negatives import SampledNegatives, read_ncf_negatives, sample_negatives
from cofirec.data.splits import user_ratio_split
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError, NotFittedError
from cofirec.evaluate import evaluate
from cofirec.models.baselines import GlobalMean, Popularity

L3 = 1.0 / math.log2(3)

# train: item popularity 10:3, 11:3, 12:1, 13:1, 14:1 (users 1-5); test adds user 6 and item 15 (both unknown)
ROWS = [
    (1, 10, 5),
    (1, 11, 4),
    (2, 10, 3),
    (2, 12, 2),
    (3, 10, 4),
    (3, 11, 5),
    (3, 13, 1),
    (4, 14, 3),
    (5, 11, 2),
    (1, 12, 4),
    (1, 15, 5),
    (2, 11, 5),
    (3, 14, 2),
    (6, 10, 4),
]
N_TRAIN = 9


@pytest.fixture(scope="module")
def hand():
    frame = pd.DataFrame(ROWS, columns=["user", "item", "rating"])
    data = Interactions.from_frame(frame, name="hand")
    is_test = np.arange(len(ROWS)) >= N_TRAIN
    return data.subset(~is_test), data.subset(is_test)


def test_ranking_exact_numbers(hand):
    train, test = hand
    model = Popularity().fit(train)
    out = evaluate(model, test, protocol="ranking", k=[2])
    # top-2 unseen by count (ties -> smaller id): u1 [12, 13] vs {12, 15}; u2 [11, 13] vs {11};
    # u3 [12, 14] vs {14}; u6 unknown -> no hits
    assert out["precision@2"] == pytest.approx((0.5 + 0.5 + 0.5 + 0) / 4)
    assert out["recall@2"] == pytest.approx((0.5 + 1 + 1 + 0) / 4)
    assert out["hr@2"] == pytest.approx(3 / 4)
    assert out["ndcg@2"] == pytest.approx((1 / (1 + L3) + 1 + L3 + 0) / 4)
    assert out["map@2"] == pytest.approx((0.5 + 1 + 0.5 + 0) / 4)
    assert out["mrr@2"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)
    assert out["coverage@2"] == pytest.approx(4 / 5)  # {11, 12, 13, 14} of 5 training items
    # novelty: p(i) = count / 5 users; five slots at p = 1/5 and one (item 11) at 3/5
    assert out["novelty@2"] == pytest.approx((5 * math.log2(5) + math.log2(5 / 3)) / 6)
    assert out["users_evaluated"] == 4
    assert out["test_users_unknown"] == 1
    assert out["relevant_items_unknown"] == 1  # item 15
    assert out["test_interactions"] == 5


def test_ranking_with_relevance_threshold(hand):
    train, test = hand
    out = evaluate(Popularity().fit(train), test, protocol="ranking", k=2, relevance_threshold=4.0)
    # (3, 14, 2) is not relevant: user 3 drops out; u1, u2 hit at rank 0, u6 unknown
    assert out["users_evaluated"] == 3 and out["test_users_no_relevant"] == 1
    assert out["hr@2"] == pytest.approx(2 / 3)
    assert out["recall@2"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert out["relevant_interactions"] == 4


def test_rating_exact_numbers(hand):
    train, test = hand
    mean = sum(r for _, _, r in ROWS[:N_TRAIN]) / N_TRAIN
    item10 = (5 + 3 + 4 + 5 * mean) / (3 + 5)  # unknown user 6: damped mean of item 10
    pred = np.array([mean, mean, mean, mean, item10])  # item 15 is unknown: global mean
    truth = np.array([4, 5, 5, 2, 4])
    out = evaluate(GlobalMean().fit(train), test, protocol="rating")
    assert out["rmse"] == pytest.approx(np.sqrt(np.mean((truth - pred) ** 2)), rel=1e-6)
    assert out["mae"] == pytest.approx(np.mean(np.abs(truth - pred)), rel=1e-6)
    assert out["predictions_unknown"] == 2 and out["test_users_unknown"] == 1
    assert evaluate(GlobalMean().fit(train), test, protocol="rating", batch_size=2) == out


def test_binary_exact_numbers(hand):
    train, test = hand
    btrain = train.binarize(4.0)
    model = Popularity(by="rating").fit(btrain)  # damped mean of the 0/1 labels: a probability
    mean = 4 / 9
    hi, lo = (2 + 5 * mean) / 8, (0 + 5 * mean) / 6  # items 10, 11 | items 12, 13, 14
    labels = np.array([1, 1, 1, 0, 1])
    probs = np.array([lo, mean, hi, lo, hi])  # item 15 unknown: global mean; user 6: item 10's score
    out = evaluate(model, test.binarize(4.0), protocol="binary")
    assert out["auc"] == pytest.approx((0.5 + 1 + 1 + 1) / 4)  # the negative ties with one positive
    assert out["accuracy"] == pytest.approx(3 / 5)
    ll = -np.mean(labels * np.log(probs) + (1 - labels) * np.log(1 - probs))
    assert out["logloss"] == pytest.approx(ll, rel=1e-5)
    assert out["positives"] == 4
    # explicit test ratings: the threshold passed, or the one the model remembers from binarize
    assert evaluate(model, test, protocol="binary", relevance_threshold=4.0) == out
    assert evaluate(model, test, protocol="binary") == out


def test_binary_needs_probabilities(hand):
    train, test = hand
    model = Popularity().fit(train.binarize(4.0))  # counts, not probabilities
    with pytest.raises(DataError, match=r"needs probabilities.*\[0.444444, 3\]"):
        evaluate(model, test.binarize(4.0), protocol="binary")
    with pytest.raises(DataError, match=r"not 0/1; give the like threshold with --relevance 4 \(Python: relevance_threshold=4.0\)"):
        evaluate(GlobalMean().fit(train), test, protocol="binary")


def test_sampled_exact_numbers(hand):
    train, _ = hand
    model = Popularity().fit(train)  # scores 10:3, 11:3, 12:1, 13:1, 14:1
    neg = SampledNegatives(
        users=np.array([1, 2, 6, 3]),
        positives=np.array([12, 11, 10, 11]),
        negatives=np.array([[13, 14, 10], [10, 14, -1], [11, 12, 13], [12, 13, 11]]),
        mask=np.array([[1, 1, 1], [1, 1, 0], [1, 1, 1], [1, 1, 1]], dtype=bool),
    )
    out = evaluate(model, None, protocol="sampled", negatives=neg, k=(1, 2))
    # pessimistic ranks: row0 3 (two ties + one better), row1 1 (tie), row2 unknown user, row3 0 (11 == positive dropped)
    assert out["hr@1"] == pytest.approx(1 / 4)
    assert out["hr@2"] == pytest.approx(2 / 4)
    assert out["ndcg@2"] == pytest.approx((L3 + 1) / 4)
    assert out["mrr@2"] == pytest.approx((0.5 + 1) / 4)
    assert out["mrr"] == pytest.approx((1 / 4 + 1 / 2 + 0 + 1) / 4)
    assert out["negatives_equal_positive"] == 1
    assert out["negatives_per_row"] == pytest.approx((3 + 2 + 3 + 2) / 4)
    assert out["test_users_unknown"] == 1 and out["users_evaluated"] == 4
    assert evaluate(model, None, protocol="sampled", negatives=neg, k=(1, 2), batch_size=1) == out


@pytest.fixture(scope="module")
def synth_split():
    return user_ratio_split(make_synthetic(n_users=150, n_items=120, seed=4), test_ratio=0.25, seed=1)


def test_ranking_matches_a_naive_loop(synth_split):
    train, test = synth_split
    model = Popularity(by="rating").fit(train)
    out = evaluate(model, test, protocol="ranking", k=(3, 10), batch_size=17)
    truth = test.to_frame().groupby("user")["item"].apply(set)
    prec, rec, ndcg = [], [], []
    for u, rel in truth.items():
        recs = model.recommend(u, n=10).items.tolist()
        h = [i in rel for i in recs]
        prec.append(sum(h) / 10)
        rec.append(sum(h) / len(rel))
        dcg = sum(1 / math.log2(r + 2) for r, x in enumerate(h) if x)
        ndcg.append(dcg / sum(1 / math.log2(r + 2) for r in range(min(len(rel), 10))))
    assert out["precision@10"] == pytest.approx(np.mean(prec))
    assert out["recall@10"] == pytest.approx(np.mean(rec))
    assert out["ndcg@10"] == pytest.approx(np.mean(ndcg))
    assert out == evaluate(model, test, protocol="ranking", k=(3, 10))  # batch size does not matter
    assert out["users_evaluated"] == len(truth)


def test_sampled_protocol_end_to_end(synth_split):
    train, test = synth_split
    neg = sample_negatives(train, test, n=30, seed=0)
    pop = evaluate(Popularity().fit(train), test, protocol="sampled", negatives=neg, k=10)
    assert 0.0 < pop["hr@10"] <= 1.0 and pop["ndcg@10"] <= pop["hr@10"]
    assert pop["users_evaluated"] == len(test)


def test_errors(hand):
    train, test = hand
    model = Popularity().fit(train)
    with pytest.raises(ConfigError, match="unknown evaluation protocol 'top'"):
        evaluate(model, test, protocol="top")
    with pytest.raises(ConfigError, match="needs negatives"):
        evaluate(model, test, protocol="sampled")
    with pytest.raises(ConfigError, match="positive integer"):
        evaluate(model, test, protocol="ranking", k=(0,))
    with pytest.raises(NotFittedError):
        evaluate(Popularity(), test, protocol="ranking")
    with pytest.raises(DataError, match="no test rating >= 9"):
        evaluate(model, test, protocol="ranking", relevance_threshold=9)


# ---------------------------------------------------------------------- real data
def _ml100k_u1(base: Path) -> tuple[Interactions, Interactions]:
    cols = ["user", "item", "rating", "timestamp"]
    frame = pd.concat([pd.read_csv(base, sep="\t", names=cols), pd.read_csv(base.with_name("u1.test"), sep="\t", names=cols)])
    data = Interactions.from_frame(frame, name="ml-100k-u1")
    is_test = np.arange(len(frame)) >= 80_000
    return data.subset(~is_test), data.subset(is_test)


@pytest.mark.realdata
def test_movielens_100k_u1_baselines(real_data):
    train, test = _ml100k_u1(real_data("ml-100k/u1.base"))
    rating = evaluate(GlobalMean().fit(train), test, protocol="rating")
    assert rating["test_interactions"] == 20_000
    assert rating["rmse"] == pytest.approx(1.1537, abs=2e-3)  # predicting the u1.base mean (3.5238)
    ranking = evaluate(Popularity().fit(train), test, protocol="ranking", k=(10,))
    assert ranking["users_evaluated"] == 459 and ranking["test_users_unknown"] == 0
    assert 0.25 < ranking["precision@10"] < 0.35  # measured 0.305: popularity is strong on u1
    assert ranking["ndcg@10"] > 0.25 and ranking["coverage@10"] < 0.05


@pytest.mark.realdata
def test_ncf_ml_1m_half_item_popularity(real_data):
    folder = real_data("ncf-ml-1m-half")
    frame = pd.read_csv(folder / "ml-1m-half.train.rating", sep="\t", names=["user", "item", "rating", "timestamp"])
    model = Popularity().fit(Interactions.from_frame(frame, kind="implicit"))
    neg = read_ncf_negatives(folder / "ml-1m-half.test.negative")
    out = evaluate(model, None, protocol="sampled", negatives=neg, k=(10,))
    # NCF paper, ItemPop on full ML-1M: HR@10 0.454, NDCG@10 0.254; this half has ~96 negatives per user
    assert 0.43 < out["hr@10"] < 0.51
    assert 0.23 < out["ndcg@10"] < 0.30
    assert out["users_evaluated"] == 2999 and out["test_users_unknown"] == 0
