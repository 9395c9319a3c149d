"""Metrics against hand-computed values and naive references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cofirec.errors import DataError
from cofirec.evaluate.metrics import (
    accuracy,
    auc,
    coverage,
    hr_at_k,
    log_loss,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)

L3 = 1.0 / math.log2(3)  # discount at rank 1 (0-based)

# three users, lists of 4; user 1 has no hit, user 2 has fewer relevant items (1) than K
HITS = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=bool)
N_REL = np.array([3, 2, 1])


def test_rmse_mae():
    assert rmse([1, 2, 3], [2, 2, 5]) == pytest.approx(math.sqrt(5 / 3))
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    with pytest.raises(DataError, match="3 true values but 2 predictions"):
        rmse([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="no values"):
        mae([], [])


def test_auc_counts_ties_half():
    # pairs (pos, neg): (.8,.8) tie -> 1/2, (.8,.1) -> 1, (.3,.8) -> 0, (.3,.1) -> 1  => 2.5 / 4
    assert auc([1, 0, 1, 0], [0.8, 0.8, 0.3, 0.1]) == pytest.approx(0.625)
    assert auc([1, 1, 0], [0.9, 0.7, 0.1]) == pytest.approx(1.0)
    assert auc([1, 1, 0], [0.1, 0.2, 0.3]) == pytest.approx(0.0)
    assert auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert math.isnan(auc([1, 1], [0.1, 0.2]))


def test_auc_matches_pairwise_reference():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.integers(0, 6, 200).astype(float)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    ref = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    assert auc(y, s) == pytest.approx(ref)


def test_log_loss_and_clipping():
    assert log_loss([1, 0], [0.9, 0.2]) == pytest.approx(-(math.log(0.9) + math.log(0.8)) / 2)
    assert log_loss([0, 1], [1.0, 0.0]) == pytest.approx(-math.log(1e-7), rel=1e-6)


def test_accuracy_threshold_inclusive():
    assert accuracy([1, 0, 1, 0], [0.6, 0.4, 0.5, 0.7]) == pytest.approx(0.75)
    assert accuracy([1, 0], [3.0, 1.0], threshold=2.0) == pytest.approx(1.0)


def test_precision_recall_hr():
    assert precision_at_k(HITS, N_REL) == pytest.approx((2 / 4 + 0 + 1 / 4) / 3)
    assert recall_at_k(HITS, N_REL) == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert hr_at_k(HITS, N_REL) == pytest.approx(2 / 3)
    np.testing.assert_allclose(precision_at_k(HITS, N_REL, per_user=True), [0.5, 0.0, 0.25])
    # cut at k=2
    assert precision_at_k(HITS, N_REL, k=2) == pytest.approx((1 / 2 + 0 + 1 / 2) / 3)
    assert recall_at_k(HITS, N_REL, k=2) == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert hr_at_k(HITS, N_REL, k=1) == pytest.approx(1 / 3)


def test_ndcg_uses_idcg_over_min_rel_k():
    u0 = (1 + 0.5) / (1 + L3 + 0.5)  # hits at ranks 0 and 2; IDCG over min(3, 4) = 3
    u2 = L3 / 1.0  # hit at rank 1; IDCG over min(1, 4) = 1
    assert ndcg_at_k(HITS, N_REL) == pytest.approx((u0 + 0 + u2) / 3)
    u0_k2 = 1 / (1 + L3)  # IDCG over min(3, 2) = 2
    assert ndcg_at_k(HITS, N_REL, k=2) == pytest.approx((u0_k2 + 0 + L3) / 3)
    perfect = np.array([[1, 1, 0]], dtype=bool)
    assert ndcg_at_k(perfect, [2]) == pytest.approx(1.0)


def test_map_denominator_min_rel_k():
    u0 = (1 / 1 + 2 / 3) / 3  # P@1 and P@3 at the hits, over min(3, 4)
    u2 = (1 / 2) / 1
    assert map_at_k(HITS, N_REL) == pytest.approx((u0 + 0 + u2) / 3)
    assert map_at_k(HITS, N_REL, k=2) == pytest.approx((1 / 2 + 0 + 1 / 2) / 3)  # u0: 1 / min(3, 2)


def test_mrr():
    assert mrr_at_k(HITS, N_REL) == pytest.approx((1 + 0 + 1 / 2) / 3)
    assert mrr_at_k(HITS, N_REL, k=1) == pytest.approx(1 / 3)


def test_short_lists_pad_with_misses_and_empty_relevance_scores_zero():
    h = np.array([[1, 0]], dtype=bool)
    assert precision_at_k(h, [1], k=4) == pytest.approx(1 / 4)
    assert ndcg_at_k(h, [1], k=4) == pytest.approx(1.0)
    none = np.zeros((1, 3), dtype=bool)
    for f in (recall_at_k, ndcg_at_k, map_at_k, mrr_at_k, hr_at_k):
        assert f(none, [0]) == 0.0
    with pytest.raises(DataError, match="2 rows but n_relevant has 1"):
        recall_at_k(np.zeros((2, 3), dtype=bool), [1])


def test_ranking_metrics_match_naive_loops():
    rng = np.random.default_rng(1)
    hits = rng.random((50, 7)) < 0.3
    n_rel = hits.sum(axis=1) + rng.integers(0, 4, 50)
    for k in (1, 3, 7):
        ndcg, ap, rr = [], [], []
        for h, r in zip(hits[:, :k], n_rel):
            dcg = sum(1 / math.log2(i + 2) for i in range(k) if h[i])
            idcg = sum(1 / math.log2(i + 2) for i in range(min(r, k)))
            ndcg.append(dcg / idcg if idcg else 0.0)
            precs = [h[: i + 1].mean() for i in range(k) if h[i]]
            ap.append(sum(precs) / min(r, k) if min(r, k) else 0.0)
            first = [i for i in range(k) if h[i]]
            rr.append(1 / (first[0] + 1) if first else 0.0)
        assert ndcg_at_k(hits, n_rel, k=k) == pytest.approx(np.mean(ndcg))
        assert map_at_k(hits, n_rel, k=k) == pytest.approx(np.mean(ap))
        assert mrr_at_k(hits, n_rel, k=k) == pytest.approx(np.mean(rr))


def test_coverage():
    assert coverage(np.array([[0, 1], [1, -1]]), 4) == pytest.approx(0.5)
    assert coverage(np.array([[-1, -1]]), 4) == 0.0
    with pytest.raises(DataError, match="out of range"):
        coverage(np.array([[5]]), 4)


def test_novelty_self_information():
    pop = np.array([10, 5, 1, 0])
    rec = np.array([[0, 1], [2, 3]])
    # fraction of users: p = 1, 0.5, 0.1, 0.1 (a zero count is raised to one)
    expected = (0 + 1 + 2 * math.log2(10)) / 4
    assert novelty(rec, pop, n_users=10) == pytest.approx(expected)
    # share of interactions: p = count / 16
    expected2 = (-math.log2(10 / 16) - math.log2(5 / 16) - 2 * math.log2(1 / 16)) / 4
    assert novelty(rec, pop) == pytest.approx(expected2)
    assert novelty(np.array([[-1]]), pop) == 0.0
