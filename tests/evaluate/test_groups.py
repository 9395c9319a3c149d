"""User-group labels and per-group metrics by hand on tiny data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError, DataError
from cofirec.evaluate.groups import activity_groups, feature_groups, group_breakdown
from cofirec.evaluate.result import EvaluationResult


def _train(counts: dict[int, int], *, ratings: bool = True) -> Interactions:
    rows = [(u, i, 4.0) for u, n in counts.items() for i in range(n)]
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    return Interactions.from_frame(frame, rating_col="rating" if ratings else None)


def test_activity_groups_by_hand():
    train = _train({1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8})
    labels = activity_groups(train, [1, 2, 3, 4, 5, 6, 7, 8], n_groups=4)
    assert labels.tolist() == ["q1 (1-2 ratings)"] * 2 + ["q2 (3-4 ratings)"] * 2 + ["q3 (5-6 ratings)"] * 2 + ["q4 (7-8 ratings)"] * 2
    # order of the users does not matter; a user without training rows has activity 0
    assert activity_groups(train, [8, 1, 99], n_groups=3).tolist() == ["q3 (8 ratings)", "q2 (1 rating)", "q1 (0 ratings)"]


def test_activity_groups_with_ties_and_tiny_data():
    train = _train({1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 2, 7: 3, 8: 4})
    # average ranks 3 (five tied users), 6, 7, 8 of 8: groups ceil(rank / 2) = 2, 3, 4, 4 -> renumbered without gaps
    labels = activity_groups(train, [1, 2, 3, 4, 5, 6, 7, 8], n_groups=4)
    assert labels.tolist() == ["q1 (1 rating)"] * 5 + ["q2 (2 ratings)", "q3 (3-4 ratings)", "q3 (3-4 ratings)"]
    assert activity_groups(train, [1, 2, 3], n_groups=4).tolist() == ["q1 (1 rating)"] * 3  # all tied: one group
    assert activity_groups(train, [1, 8], n_groups=10).tolist() == ["q1 (1 rating)", "q2 (4 ratings)"]
    assert activity_groups(train, [], n_groups=4).shape == (0,)
    implicit = _train({1: 1, 2: 3}, ratings=False)
    assert activity_groups(implicit, [1, 2], n_groups=2).tolist() == ["q1 (1 interaction)", "q2 (3 interactions)"]
    with pytest.raises(ConfigError, match="n_groups"):
        activity_groups(train, [1], n_groups=0)


def test_feature_groups_gender_and_age():
    features = pd.DataFrame(
        {"gender": ["F", "M", None, "M", "F", "M", "F", "M"], "age": pd.array([7, 17, 18, 24, 25, 56, 70, None], dtype="Int64")},
        index=[1, 2, 3, 4, 5, 6, 7, 8],
    )
    users = [1, 2, 3, 4, 5, 6, 7, 8, 9]  # user 9 has no features
    assert feature_groups(features, users, "gender").tolist() == ["F", "M", "unknown", "M", "F", "M", "F", "M", "unknown"]
    ages = feature_groups(features, users, "age").tolist()
    assert ages == ["under 18", "under 18", "18-24", "18-24", "25-34", "56+", "56+", "unknown", "unknown"]
    codes = pd.DataFrame({"age": [1, 18, 25, 35, 45, 50, 56]}, index=range(7))  # MovieLens 1M age codes
    assert feature_groups(codes, range(7), "age").tolist() == ["under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"]
    with pytest.raises(DataError, match="no user feature column 'zip'"):
        feature_groups(features, users, "zip")
    with pytest.raises(DataError, match="no user features"):
        feature_groups(None, users, "gender")


def test_group_breakdown_by_hand():
    res = EvaluationResult({"ndcg@10": 0.5}, np.array([1, 2, 3, 4]), {"ndcg@10": np.array([1.0, 0.0, 0.5, 0.5])}, protocol="ranking")
    rows = group_breakdown(res, ["b", "a", "b", "a"])
    assert rows == [{"group": "a", "n_users": 2, "ndcg@10": 0.25}, {"group": "b", "n_users": 2, "ndcg@10": 0.75}]
    order = group_breakdown(res, ["unknown", "q10 (9 ratings)", "q2 (3 ratings)", "under 18"])
    assert [r["group"] for r in order] == ["under 18", "q2 (3 ratings)", "q10 (9 ratings)", "unknown"]
    with pytest.raises(DataError, match="3 labels for 4 users"):
        group_breakdown(res, ["a", "b", "c"])
    with pytest.raises(ConfigError, match="no per-user values for metric 'auc'"):
        group_breakdown(res, ["a"] * 4, ["auc"])


def test_group_breakdown_weights_rating_metrics():
    res = EvaluationResult(
        {"rmse": 0.0, "mae": 0.0},
        np.array([1, 2, 3]),
        {"mse": np.array([1.0, 4.0, 9.0]), "ae": np.array([1.0, 2.0, 3.0])},
        np.array([1.0, 3.0, 2.0]),
        None,
        "rating",
    )
    x, y = group_breakdown(res, ["x", "x", "y"])
    assert x == {"group": "x", "n_users": 2, "rmse": pytest.approx(math.sqrt((1 + 12) / 4)), "mae": pytest.approx((1 + 6) / 4)}
    assert y == {"group": "y", "n_users": 1, "rmse": pytest.approx(3.0), "mae": pytest.approx(3.0)}
