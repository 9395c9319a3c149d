"""Synthetic interactions with planted structure, for fast tests and the offline demo.

Users and items get latent factors (low rank); item popularity and user activity follow Zipf-like skews;
items belong to genres that align with the latent factors; users have demographics that shift their
preferences. Ratings are the latent affinity mapped to 1..5 with noise, so models that learn structure beat
baselines, as on MovieLens.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cofirec.data.dataset import Interactions
from cofirec.data.power_law import make_power_law, write_power_law_parquet

__all__ = ["make_planted_implicit", "make_power_law", "make_synthetic", "write_power_law_parquet"]

GENRES = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "Animation", "Documentary"]
OCCUPATIONS = ["student", "engineer", "artist", "doctor", "writer", "other"]


def make_synthetic(
    n_users: int = 300,
    n_items: int = 200,
    density: float = 0.08,
    rank: int = 4,
    noise: float = 0.4,
    seed: int = 0,
    name: str = "synthetic",
) -> Interactions:
    """Explicit 1-5 ratings from a planted rank-``rank`` model, with user/item side features and timestamps.

    Roughly ``density * n_users * n_items`` interactions; popular items and active users get more of them.
    Every user and item has at least one rating.
    """
    rng = np.random.default_rng(seed)
    n_genres = min(len(GENRES), max(rank, 2))
    item_genre = rng.integers(0, n_genres, n_items)
    genre_factors = rng.normal(0, 1, (n_genres, rank))
    item_f = genre_factors[item_genre] + rng.normal(0, 0.5, (n_items, rank))
    gender = rng.choice(np.array(["M", "F"]), n_users)
    age = rng.choice(np.array([18, 25, 35, 45, 56]), n_users)
    occupation = rng.choice(np.array(OCCUPATIONS), n_users)
    user_f = rng.normal(0, 1, (n_users, rank))
    user_f[:, 0] += np.where(gender == "F", 0.7, -0.7)
    user_f[:, 1 % rank] += (age - 35) / 20.0
    user_bias = rng.normal(0, 0.3, n_users)
    item_bias = rng.normal(0, 0.4, n_items)

    item_pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    item_pop = item_pop[rng.permutation(n_items)]
    item_pop /= item_pop.sum()
    user_act = 1.0 / np.arange(1, n_users + 1) ** 0.5
    user_act = user_act[rng.permutation(n_users)]
    user_act /= user_act.sum()

    n_target = int(density * n_users * n_items)
    users = rng.choice(n_users, n_target, p=user_act)
    items = rng.choice(n_items, n_target, p=item_pop)
    # everyone rates something, every item is rated at least once
    users = np.concatenate([users, np.arange(n_users), rng.integers(0, n_users, n_items)])
    items = np.concatenate([items, rng.choice(n_items, n_users, p=item_pop), np.arange(n_items)])
    key = np.unique(users.astype(np.int64) * n_items + items)
    users, items = (key // n_items).astype(np.int64), (key % n_items).astype(np.int64)

    affinity = (user_f[users] * item_f[items]).sum(axis=1) / np.sqrt(rank)
    raw = 3.4 + user_bias[users] + item_bias[items] + 0.9 * affinity + rng.normal(0, noise, len(users))
    ratings = np.clip(np.rint(raw), 1, 5).astype(np.float32)
    timestamps = 1_000_000_000 + rng.integers(0, 10_000_000, len(users))

    frame = pd.DataFrame({"user": users + 1, "item": items + 1, "rating": ratings, "timestamp": timestamps})
    user_features = pd.DataFrame(
        {"gender": gender, "age": age, "occupation": occupation, "zip": [f"{z:05d}" for z in rng.integers(0, 99999, n_users)]},
        index=pd.Index(np.arange(1, n_users + 1), name="user"),
    )
    years = rng.integers(1950, 2020, n_items)
    item_features = pd.DataFrame(
        {
            "title": [f"Item {i + 1} ({y})" for i, y in enumerate(years)],
            "year": years,
            "genres": [GENRES[g] for g in item_genre],
        },
        index=pd.Index(np.arange(1, n_items + 1), name="item"),
    )
    return Interactions.from_frame(frame, user_features=user_features, item_features=item_features, name=name)


def make_planted_implicit(n_users: int = 300, n_items: int = 120, per_user: int = 20, rank: int = 3, seed: int = 0, name: str = "planted") -> Interactions:
    """Implicit feedback driven by personal taste alone (no popularity skew): each user picks ``per_user``
    distinct items by Gumbel-top-k sampling from ``softmax(3 * u . v / sqrt(rank))`` of planted rank-``rank``
    user and item factors. Popularity is nearly uninformative here, so only models that learn taste beat it.
    """
    rng = np.random.default_rng(seed)
    user_f = rng.normal(size=(n_users, rank))
    item_f = rng.normal(size=(n_items, rank))
    logits = 3.0 * (user_f @ item_f.T) / np.sqrt(rank) + rng.gumbel(size=(n_users, n_items))
    items = np.argsort(-logits, axis=1)[:, :per_user]
    frame = pd.DataFrame({"user": np.repeat(np.arange(n_users), per_user), "item": items.ravel()})
    return Interactions.from_frame(frame, rating_col=None, timestamp_col=None, name=name)
