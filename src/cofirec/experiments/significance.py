"""Uncertainty of a comparison: per-metric bootstrap intervals, paired tests against the best model (Holm-corrected),
beyond-accuracy numbers and breakdowns by user group, all from the per-user values of
:func:`cofirec.evaluate.evaluate_detailed` (the statistics live in :mod:`cofirec.evaluate.stats`,
:mod:`cofirec.evaluate.beyond` and :mod:`cofirec.evaluate.groups`; this module applies them to comparison rows).

Rows gain ``intervals`` {metric: [lo, hi]}, ``p_values`` / ``p_holm`` {metric: p} (None for the best model),
``significant`` {metric: bool | None}, ``groups`` {grouping: [{"group", "n_users", metric: mean}]}.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from cofirec.data.dataset import Interactions
from cofirec.evaluate.protocols import is_lower_better

GROUP_FEATURES = ("gender", "age")


def per_user_metrics(detail: Any, metrics: Sequence[str]) -> list[str]:
    """The metrics of ``metrics`` that ``detail`` has per-user values for (rmse/mae via their per-user mse/ae)."""
    return [m for m in metrics if detail.has_values(m)]


def annotate_significance(
    rows: Sequence[dict[str, Any]],
    details: Mapping[str, Any],
    metrics: Sequence[str],
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    method: Literal["bootstrap", "wilcoxon"] = "bootstrap",
) -> dict[str, Any]:
    """Add intervals and tests vs the best model to ``rows`` (in place); returns the settings used.

    For each metric with per-user values: the best row (highest, lowest for error metrics) gets p = None;
    every other row gets a paired test against it (``method``: "bootstrap" or "wilcoxon"), and the p-values
    of one metric are Holm-adjusted together; ``significant`` is ``p_holm < 1 - level``.
    """
    from cofirec.evaluate.stats import holm, metric_intervals, paired_metric_tests

    alpha = round(1.0 - level, 10)
    have = [r for r in rows if not r.get("error") and r["model"] in details]
    tested = [m for m in metrics if have and all(m in per_user_metrics(details[r["model"]], [m]) for r in have)]
    for r in have:
        detail = details[r["model"]]
        intervals = metric_intervals(detail, tested, n_resamples=n_resamples, level=level, seed=seed)
        r["intervals"] = {m: [float(lo), float(hi)] for m, (lo, hi) in intervals.items()}
        r["p_values"], r["p_holm"], r["significant"] = {}, {}, {}
    contenders: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}  # metric -> (best row, the others)
    for m in tested:
        finite = [r for r in have if np.isfinite(float(r.get(m, np.nan)))]
        if finite:
            best = (min if is_lower_better(m) else max)(finite, key=lambda r: float(r[m]))
            contenders[m] = (best, [r for r in finite if r is not best])
    pairs: dict[tuple[str, str], list[str]] = {}  # (best, other) -> metrics: one draw of paired resamples per pair
    for m, (best, others) in contenders.items():
        for r in others:
            pairs.setdefault((best["model"], r["model"]), []).append(m)
    raw: dict[tuple[str, str], float] = {}
    for (b, o), names in pairs.items():
        for m, pv in paired_metric_tests(details[b], details[o], names, method=method, n_resamples=n_resamples, seed=seed).items():
            raw[(o, m)] = float(pv)
    for m, (best, others) in contenders.items():
        values = [raw[(r["model"], m)] for r in others]
        adjusted = holm(np.asarray(values, dtype=np.float64)) if values else np.array([])
        best["p_values"][m] = best["p_holm"][m] = best["significant"][m] = None
        for r, pv, q in zip(others, values, adjusted):
            r["p_values"][m], r["p_holm"][m] = pv, float(q)
            r["significant"][m] = bool(q < alpha)
    n_users = max((len(details[r["model"]].users) for r in have), default=0)
    return {"n_resamples": int(n_resamples), "level": float(level), "seed": int(seed), "method": method, "alpha": alpha, "n_users": n_users, "metrics": tested}


def group_labels(train: Interactions, users: np.ndarray) -> dict[str, np.ndarray]:
    """Labels per evaluated user for each grouping: ``activity`` (train-activity quartiles) and, when the data has
    user features, ``gender`` and ``age``."""
    from cofirec.evaluate.groups import activity_groups, feature_groups

    out = {"activity": np.asarray(activity_groups(train, users))}
    features = train.user_features
    if isinstance(features, pd.DataFrame):
        for column in GROUP_FEATURES:
            if column in features.columns:
                out[column] = np.asarray(feature_groups(features, users, column))
    return out


def annotate_groups(rows: Sequence[dict[str, Any]], details: Mapping[str, Any], train: Interactions, metrics: Sequence[str]) -> list[str]:
    """Add ``groups`` {grouping: breakdown rows} to every row with per-user values; returns the groupings."""
    from cofirec.evaluate.groups import group_breakdown

    cache: dict[bytes, dict[str, np.ndarray]] = {}
    groupings: list[str] = []
    for r in rows:
        detail = details.get(r["model"])
        if r.get("error") or detail is None:
            continue
        users = np.asarray(detail.users)
        key = users.tobytes() if users.dtype.kind != "O" else str(users.tolist()).encode()
        labels = cache.setdefault(key, group_labels(train, users))
        wanted = per_user_metrics(detail, metrics)
        r["groups"] = {name: group_breakdown(detail, lab, metrics=wanted) for name, lab in labels.items()}
        groupings = list(dict.fromkeys([*groupings, *labels]))
    return groupings


def beyond_row(model: Any, detail: Any, train: Interactions, k: Sequence[int]) -> tuple[dict[str, float], str | None]:
    """Beyond-accuracy numbers of one fitted model at each cut-off, and what diversity was measured with
    (``"genres"`` when the items have a genres feature, ``"item vectors"``, or None: then no diversity)."""
    from cofirec.evaluate.beyond import beyond_accuracy, diversity_basis, item_genre_matrix

    genres = item_genre_matrix(model, train.item_features)
    values = beyond_accuracy(model, detail, item_genres=genres, k=[x for x in k if x <= detail.recommended.shape[1]])
    return {name: float(v) for name, v in values.items()}, diversity_basis(model, genres)
