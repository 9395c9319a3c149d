"""Baselines: global mean, popularity, and the regularised user/item bias model."""

from __future__ import annotations

from typing import Literal

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError
from cofirec.models.base import Recommender


class GlobalMean(Recommender):
    """Predicts the training mean for every pair; ranks items by popularity (so top-N is still meaningful)."""

    name = "mean"

    def __init__(self) -> None:
        pass

    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        self.mean_ = float(data.global_mean)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_popularity_, (len(users), self.n_items)).astype(np.float32)

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.mean_, dtype=np.float32)


class Popularity(Recommender):
    """Most popular items first: by interaction count, or by damped mean rating.

    ``by="count"`` scores item i by its number of training interactions. ``by="rating"`` scores it by
    (sum of ratings + damping * global mean) / (count + damping), the damped mean that keeps items with a
    single 5-star rating from topping the list.
    """

    name = "popularity"
    predicts_ratings = False

    def __init__(self, by: Literal["count", "rating"] = "count", damping: float = 5.0) -> None:
        self.by = by
        self.damping = damping

    def _check_params(self) -> None:
        if self.damping < 0:
            raise ConfigError(f"popularity: damping must be >= 0, got {self.damping}")

    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        counts = data.item_counts().astype(np.float64)
        if self.by == "count":
            scores = counts
        else:
            sums = np.bincount(data.items, weights=data.ratings, minlength=data.n_items)
            scores = (sums + self.damping * data.global_mean) / (counts + self.damping)
        self.item_scores_ = scores.astype(np.float32)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (len(users), self.n_items)).astype(np.float32)

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.item_scores_[items]

    def _unknown_user_scores(self) -> np.ndarray:
        return self.item_scores_
