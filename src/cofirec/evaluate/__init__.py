"""Evaluation: metric functions, the ``evaluate`` / ``evaluate_detailed`` runner, bootstrap intervals and paired
tests, beyond-accuracy measures and user-group breakdowns (splits live in ``cofirec.data.splits``).

Protocol and metric names (:mod:`cofirec.evaluate.protocols`) are imported eagerly; the metrics and the runner
(numpy, scipy, the data layer) lazily, so that the command line can use the names and still start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cofirec.evaluate.protocols import PROTOCOLS, is_lower_better, is_quality_metric, protocol_for_metric, protocol_metric_names

_METRICS = (
    "accuracy",
    "auc",
    "coverage",
    "hr_at_k",
    "log_loss",
    "mae",
    "map_at_k",
    "metric_interval",
    "metric_intervals",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "paired_metric_test",
    "paired_metric_tests",
    "paired_test",
    "precision_at_k",
    "recall_at_k",
    "rmse",
)
_LAZY = {
    **dict.fromkeys(_METRICS, "cofirec.evaluate.metrics"),
    "evaluate": "cofirec.evaluate.runner",
    "evaluate_detailed": "cofirec.evaluate.runner",
    "EvaluationResult": "cofirec.evaluate.result",
    **dict.fromkeys(
        ("beyond_accuracy", "diversity_basis", "gini_exposure", "intra_list_diversity", "item_genre_matrix", "popularity_percentile"),
        "cofirec.evaluate.beyond",
    ),
    **dict.fromkeys(("activity_groups", "feature_groups", "group_breakdown"), "cofirec.evaluate.groups"),
    **dict.fromkeys(
        ("bootstrap_ci", "holm", "metric_interval", "metric_intervals", "paired_metric_test", "paired_metric_tests", "paired_test"), "cofirec.evaluate.stats"
    ),
    "default_protocol": "cofirec.evaluate.runner",
    **dict.fromkeys(("UnknownIdsWarning", "UnknownReport", "check_unknown", "unknown_report"), "cofirec.evaluate.unknown"),
}

if TYPE_CHECKING:  # pragma: no cover
    from cofirec.evaluate.beyond import beyond_accuracy, diversity_basis, gini_exposure, intra_list_diversity, item_genre_matrix, popularity_percentile
    from cofirec.evaluate.groups import activity_groups, feature_groups, group_breakdown
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
    from cofirec.evaluate.result import EvaluationResult
    from cofirec.evaluate.runner import default_protocol, evaluate, evaluate_detailed
    from cofirec.evaluate.stats import bootstrap_ci, holm, metric_interval, metric_intervals, paired_metric_test, paired_metric_tests, paired_test
    from cofirec.evaluate.unknown import UnknownIdsWarning, UnknownReport, check_unknown, unknown_report


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cofirec.evaluate' has no attribute {name!r}")


__all__ = [
    "EvaluationResult",
    "PROTOCOLS",
    "UnknownIdsWarning",
    "UnknownReport",
    "accuracy",
    "activity_groups",
    "auc",
    "beyond_accuracy",
    "bootstrap_ci",
    "check_unknown",
    "coverage",
    "default_protocol",
    "diversity_basis",
    "evaluate",
    "evaluate_detailed",
    "feature_groups",
    "gini_exposure",
    "group_breakdown",
    "holm",
    "hr_at_k",
    "intra_list_diversity",
    "is_lower_better",
    "is_quality_metric",
    "item_genre_matrix",
    "log_loss",
    "mae",
    "map_at_k",
    "metric_interval",
    "metric_intervals",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "paired_metric_test",
    "paired_metric_tests",
    "paired_test",
    "popularity_percentile",
    "precision_at_k",
    "protocol_for_metric",
    "protocol_metric_names",
    "recall_at_k",
    "rmse",
    "unknown_report",
]
