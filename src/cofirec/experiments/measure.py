"""What a fitted model costs: recommendation time, number of learned values, saved artifact size."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.errors import CofirecError

_BOOKKEEPING = {"seen_", "train_ratings_", "item_popularity_", "item_fallback_", "item_titles_", "user_map_", "item_map_"}


def time_recommend(model: Any, test: Interactions, n: int) -> float:
    """Seconds to compute top-``n`` lists for every test user (batch call)."""
    users = test.user_map.ids[np.unique(test.users)]
    start = time.perf_counter()
    model.recommend(users, n=n)
    return time.perf_counter() - start


def count_parameters(model: Any) -> int:
    """Number of learned values: elements of fitted arrays (sparse: stored entries; torch modules: parameters).

    Bookkeeping the base class keeps for every model (seen items, popularity, id maps, titles) is not counted.
    """
    total = 0
    for key, value in vars(model).items():
        if not key.endswith("_") or key.startswith("_") or key in _BOOKKEEPING:
            continue
        if sp.issparse(value):
            total += int(value.nnz)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
            total += int(value.size)
        elif hasattr(value, "parameters") and callable(value.parameters):
            try:
                total += int(sum(p.numel() for p in value.parameters()))
            except TypeError:
                continue
    return total


def artifact_bytes(model: Any) -> int | None:
    """Size in bytes of the model's saved artifact folder (None when it cannot be saved)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = model.save(Path(tmp) / "model")
        except CofirecError:
            return None
        return int(sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()))
