"""Synthetic factor models for retrieval tests and benchmarks: an iALS model with given user and item vectors.

Generated vectors have a few dominant directions (a low-rank "taste" part plus noise) and item norms that vary
like popularity, as trained factors do, so that an ANN index faces a realistic, not a uniform, catalogue.
"""

from __future__ import annotations

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.data.idmap import IdMap
from cofirec.models.ials import ImplicitALS


def generate_vectors(n_users: int, n_items: int, dim: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(user vectors, item vectors) float32: Gaussian with a shared low-rank part and log-normal item norms."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((8, dim)).astype(np.float32)
    users = (rng.standard_normal((n_users, 8)).astype(np.float32) @ basis) * 0.5 + rng.standard_normal((n_users, dim), dtype=np.float32)
    items = (rng.standard_normal((n_items, 8)).astype(np.float32) @ basis) * 0.5 + rng.standard_normal((n_items, dim), dtype=np.float32)
    items *= rng.lognormal(0.0, 0.25, n_items).astype(np.float32)[:, None]
    return users.astype(np.float32) / np.sqrt(dim), items.astype(np.float32) / np.sqrt(dim)


def factor_model(user_vectors: np.ndarray, item_vectors: np.ndarray, *, seen_per_user: int = 5, seed: int = 0) -> ImplicitALS:
    """A fitted :class:`~cofirec.models.ials.ImplicitALS` whose factors are the given vectors (no bias), with
    ``seen_per_user`` random seen items per user and every item seen at least once (ids: users ``u0..``, items
    0..n_items-1)."""
    n_users, n_items = len(user_vectors), len(item_vectors)
    rng = np.random.default_rng(seed)
    users = np.concatenate([np.repeat(np.arange(n_users), seen_per_user), rng.integers(0, n_users, n_items)])
    items = np.concatenate([rng.integers(0, n_items, n_users * seen_per_user), np.arange(n_items)])
    keys = np.unique(users.astype(np.int64) * n_items + items)
    users, items = (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32)
    data = Interactions(
        users=users,
        items=items,
        ratings=np.ones(len(keys), dtype=np.float32),
        user_map=IdMap(np.array([f"u{u}" for u in range(n_users)])),
        item_map=IdMap(np.arange(n_items, dtype=np.int64)),
        kind="implicit",
        name="synthetic",
    )
    model = ImplicitALS(factors=user_vectors.shape[1])
    model._remember_training_data(data)
    model.user_factors_ = np.ascontiguousarray(user_vectors, dtype=np.float32)
    model.item_factors_ = np.ascontiguousarray(item_vectors, dtype=np.float32)
    model.user_bias_ = np.zeros(n_users, dtype=np.float32)
    model.item_bias_ = np.zeros(n_items, dtype=np.float32)
    model.user_offset_ = np.zeros(n_users, dtype=np.float32)
    model.history_ = []
    return model
