"""Who does a model serve badly? Labels of user groups and the metrics per group.

* :func:`activity_groups`: quantile groups of training activity (``"q1 (1-24 ratings)"`` ... ``"q4 (..)"``);
* :func:`feature_groups`: a demographic column (gender; age as buckets ``"under 18"``, ``"18-24"``, ..., ``"56+"``,
  which are MovieLens 1M's age codes, so ML-1M codes and real ages give the same labels);
* :func:`group_breakdown`: each group's size and (weighted) mean of every per-user metric of an
  :class:`~cofirec.evaluate.result.EvaluationResult`.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from cofirec.errors import ConfigError, DataError
from cofirec.evaluate.result import EvaluationResult

__all__ = ["AGE_BUCKETS", "activity_groups", "feature_groups", "group_breakdown"]

AGE_BUCKETS = {1: "under 18", 18: "18-24", 25: "25-34", 35: "35-44", 45: "45-49", 50: "50-55", 56: "56+"}
"""MovieLens 1M age codes (the lower bound of each bucket) and their labels; real ages are bucketed the same way."""
UNKNOWN = "unknown"


# ---------------------------------------------------------------------- activity
def activity_groups(train: Any, users: Any, n_groups: int = 4) -> np.ndarray:
    """Label each user (raw ids) by the quantile group of their number of training interactions.

    Users are ranked by activity (users absent from ``train`` have 0) and split into ``n_groups`` groups of about
    equal size; users with the same activity always share a group, so with many ties there can be fewer, uneven
    groups (numbered without gaps). Labels: ``"q1 (1-24 ratings)"`` (``interactions`` for implicit data),
    ``"q2 (25 ratings)"`` when a group holds one activity level; q1 is the least active.
    """
    if isinstance(n_groups, bool) or int(n_groups) != n_groups or n_groups < 1:
        raise ConfigError(f"activity_groups: n_groups must be a positive integer, got {n_groups!r}")
    raw = np.asarray(users)
    if len(raw) == 0:
        return np.empty(0, dtype=object)
    idx = train.user_map.lookup(raw)
    counts = train.user_counts()
    activity = np.where(idx >= 0, counts[np.maximum(idx, 0)], 0)
    # average ranks keep ties together; group g holds ranks in ((g-1) n / G, g n / G]
    ranks = rankdata(activity, method="average")
    group = np.minimum(np.ceil(ranks * n_groups / len(raw)).astype(np.int64) - 1, n_groups - 1)
    _, dense = np.unique(group, return_inverse=True)
    dense = dense.ravel()
    unit = "ratings" if getattr(train, "is_explicit", False) else "interactions"
    labels = np.empty(dense.max() + 1, dtype=object)
    for g in range(len(labels)):
        lo, hi = int(activity[dense == g].min()), int(activity[dense == g].max())
        labels[g] = f"q{g + 1} ({lo} {unit[:-1] if lo == 1 else unit})" if lo == hi else f"q{g + 1} ({lo}-{hi} {unit})"
    return labels[dense]


# ---------------------------------------------------------------------- demographics
def feature_groups(user_features: pd.DataFrame | None, users: Any, column: str) -> np.ndarray:
    """Label each user (raw ids) by a user-feature column; ``"unknown"`` where the user or the value is missing.

    ``user_features`` is indexed by raw user id (``Interactions.user_features``). A numeric ``age`` column becomes
    age buckets (:data:`AGE_BUCKETS`): ML-1M's codes (1, 18, 25, ...) map to their labels, real ages (ML-100K) to
    the bucket they fall in. Any other column is used as it is (``"F"``, ``"M"``, occupations ...).
    """
    if user_features is None:
        raise DataError(f"feature_groups: the data has no user features (no {column!r} column)")
    if column not in user_features.columns:
        raise DataError(f"feature_groups: no user feature column {column!r} (have {', '.join(map(str, user_features.columns))})")
    values = user_features[column].reindex(np.asarray(users))
    if column.lower() == "age" and pd.api.types.is_numeric_dtype(values.dtype):
        return _age_buckets(values)
    text = values.astype("string").str.strip()
    return text.where(text.notna() & (text != ""), UNKNOWN).astype(object).to_numpy()


def _age_buckets(values: pd.Series) -> np.ndarray:
    ages = values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    bounds = np.array(sorted(AGE_BUCKETS), dtype=np.float64)
    names = np.array([AGE_BUCKETS[int(b)] for b in bounds] + [UNKNOWN], dtype=object)
    # real ages: the last bucket whose lower bound is <= age (ages below 18 -> "under 18"); ML-1M codes are bounds
    pos = np.maximum(np.searchsorted(bounds, ages, side="right") - 1, 0)
    pos[np.isnan(ages) | (ages < 0)] = len(bounds)
    return names[pos]


# ---------------------------------------------------------------------- breakdown
def group_breakdown(result: EvaluationResult, labels: Any, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per group: ``{"group", "n_users", metric: value, ...}``, one row per distinct label in natural order
    (``q2`` before ``q10``, ``"unknown"`` last).

    ``labels`` is aligned with ``result.users``. Each metric is computed on the group's users as on all users:
    the (weighted) mean of the per-user values, ``rmse`` as the square root of the weighted mean per-user mse.
    Default metrics: every metric with per-user values.
    """
    lab = np.asarray(labels, dtype=object)
    if len(lab) != result.n_users:
        raise DataError(f"group_breakdown: {len(lab)} labels for {result.n_users} users")
    names = result.metric_names() if metrics is None else list(metrics)
    groups = sorted({str(x) for x in lab}, key=_natural_key)
    code = pd.Index(groups).get_indexer(lab.astype(str))
    n_users = np.bincount(code, minlength=len(groups))
    table: dict[str, np.ndarray] = {}
    for name in names:
        mv = result.values_for(name)
        w = np.ones(result.n_users) if mv.weights is None else mv.weights
        den = np.bincount(code, weights=w, minlength=len(groups))
        mean = np.divide(np.bincount(code, weights=w * mv.values, minlength=len(groups)), den, out=np.full(len(groups), np.nan), where=den > 0)
        table[name] = np.sqrt(np.maximum(mean, 0.0)) if mv.statistic == "rmse" else mean
    return [{"group": g, "n_users": int(n_users[i]), **{m: float(table[m][i]) for m in names}} for i, g in enumerate(groups)]


def _natural_key(label: str) -> tuple:
    """Sort key: ``"unknown"`` last, numbers inside labels compared as numbers (``q2`` < ``q10``, ``"under 18"`` first)."""
    if label == UNKNOWN:
        return (2,)
    if label.startswith("under"):
        return (0, ())
    return (1, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", label) if p))
