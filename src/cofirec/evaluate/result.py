"""What :func:`cofirec.evaluate.evaluate_detailed` returns: the metrics plus the per-user values behind them.

Per-user values make uncertainty (:mod:`cofirec.evaluate.stats`), group breakdowns (:mod:`cofirec.evaluate.groups`)
and beyond-accuracy views (:mod:`cofirec.evaluate.beyond`) possible without evaluating twice.

Every mean-type metric of ``metrics`` is the (weighted) mean of its per-user values:

* ranking and sampled: ``metrics[m] == per_user[m].mean()`` for every top-K metric (``precision@K``,
  ``recall@K``, ``ndcg@K``, ``hr@K``, ``map@K``, ``mrr@K``; sampled also ``mrr``); with ``weights`` (sampled
  data with several rows per user) the weighted mean;
* rating: ``rmse == sqrt(sum(w * per_user["mse"]) / sum(w))`` and ``mae == sum(w * per_user["ae"]) / sum(w)``
  with ``w = weights`` (test rows per user);
* binary: ``logloss`` and ``accuracy`` likewise (weighted means of ``per_user``); ``auc`` is not a mean over
  users and has no per-user values.

``coverage@K`` and ``novelty@K`` are catalogue-level and have none either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from cofirec.errors import ConfigError

__all__ = ["EvaluationResult", "MetricValues"]


@dataclass(frozen=True)
class MetricValues:
    """What a metric is computed from: per-user ``values``, their ``weights`` (None: equal) and the ``statistic``
    (``"mean"``: the weighted mean; ``"rmse"``: the square root of the weighted mean of per-user mse)."""

    values: np.ndarray
    weights: np.ndarray | None
    statistic: Literal["mean", "rmse"]


@dataclass
class EvaluationResult:
    """Metrics of one evaluation and the per-user values they are means of (see the module docstring).

    Attributes
    ----------
    metrics : dict
        Exactly what :func:`cofirec.evaluate.evaluate` returns.
    users : array, shape (n_users,)
        Raw ids of the evaluated users, sorted.
    per_user : dict of str -> float64 array (n_users,)
        Metric -> value per user, aligned with ``users`` (rating: ``"mse"`` and ``"ae"``, each user's mean
        squared and absolute error).
    weights : float64 array (n_users,) or None
        Test rows per user where the metrics weight users by them (rating, binary; sampled with several rows
        per user), else None.
    recommended : int64 array (n_users, max K) or None
        Ranking protocol: each user's recommended list as item indices of the model's ``item_map_``, -1 for
        empty slots (users unknown to the model get an empty row).
    protocol : str
        The protocol evaluated.
    """

    metrics: dict[str, float]
    users: np.ndarray
    per_user: dict[str, np.ndarray] = field(default_factory=dict)
    weights: np.ndarray | None = None
    recommended: np.ndarray | None = None
    protocol: str = ""

    def __post_init__(self) -> None:
        n = len(self.users)
        for name, values in self.per_user.items():
            if len(values) != n:
                raise ValueError(f"EvaluationResult: per_user[{name!r}] has {len(values)} values for {n} users")
        if self.weights is not None and len(self.weights) != n:
            raise ValueError(f"EvaluationResult: {len(self.weights)} weights for {n} users")
        if self.recommended is not None and len(self.recommended) != n:
            raise ValueError(f"EvaluationResult: {len(self.recommended)} recommended lists for {n} users")

    @property
    def n_users(self) -> int:
        return len(self.users)

    def has_values(self, metric: str) -> bool:
        """Whether ``metric`` has per-user values (``rmse``/``mae`` through ``mse``/``ae``)."""
        return _source_name(metric) in self.per_user

    def values_for(self, metric: str) -> MetricValues:
        """The per-user values, weights and statistic that give ``metrics[metric]``.

        ``"rmse"`` is the ``rmse`` statistic of ``per_user["mse"]``, ``"mae"`` the mean of ``per_user["ae"]``;
        every other metric the (weighted) mean of ``per_user[metric]``. ConfigError for a metric without
        per-user values (``auc``, ``coverage@K``, ``novelty@K``, a name not evaluated).
        """
        source = _source_name(metric)
        if source not in self.per_user:
            have = sorted({_reported_name(m) for m in self.per_user})
            raise ConfigError(
                f"no per-user values for metric {metric!r} in this {self.protocol or 'evaluation'} result (per-user metrics: {', '.join(have) or 'none'})"
            )
        statistic: Literal["mean", "rmse"] = "rmse" if metric == "rmse" else "mean"
        return MetricValues(self.per_user[source], self.weights, statistic)

    def metric_names(self) -> list[str]:
        """Names of the reported metrics that have per-user values (``rmse``/``mae`` for ``mse``/``ae``)."""
        return [_reported_name(m) for m in self.per_user]

    def take(self, rows: np.ndarray) -> "EvaluationResult":
        """The result restricted to the users at positions ``rows`` (sorted positions keep ``users`` sorted);
        ``metrics`` is kept as it is (it describes the whole evaluation)."""
        rows = np.asarray(rows)
        return EvaluationResult(
            metrics=dict(self.metrics),
            users=self.users[rows],
            per_user={k: v[rows] for k, v in self.per_user.items()},
            weights=None if self.weights is None else self.weights[rows],
            recommended=None if self.recommended is None else self.recommended[rows],
            protocol=self.protocol,
        )


_SOURCE = {"rmse": "mse", "mae": "ae"}
_REPORTED = {v: k for k, v in _SOURCE.items()}


def _source_name(metric: str) -> str:
    return _SOURCE.get(metric, metric)


def _reported_name(per_user_name: str) -> str:
    return _REPORTED.get(per_user_name, per_user_name)


def sort_by_user(
    users: np.ndarray, per_user: dict[str, np.ndarray], weights: np.ndarray | None, recommended: np.ndarray | None
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
    """Everything reordered so that ``users`` is sorted (a no-op when it already is)."""
    users = np.asarray(users)
    if len(users) < 2 or bool(np.all(users[1:] >= users[:-1])):
        return users, per_user, weights, recommended
    order = np.argsort(users, kind="stable")
    return (
        users[order],
        {k: v[order] for k, v in per_user.items()},
        None if weights is None else weights[order],
        None if recommended is None else recommended[order],
    )


def group_rows_by_user(raw_users: np.ndarray, columns: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Per-row values averaged per user: (sorted distinct users, {name: mean per user}, rows per user float64)."""
    users, inverse = np.unique(np.asarray(raw_users), return_inverse=True)
    inverse = inverse.ravel()
    counts = np.bincount(inverse, minlength=len(users)).astype(np.float64)
    means = {name: np.bincount(inverse, weights=np.asarray(v, dtype=np.float64), minlength=len(users)) / counts for name, v in columns.items()}
    return users, means, counts
