"""Names of the evaluation protocols and metrics, and what each metric means: the one copy every front end uses.

Pure Python (no numpy), so the command line can import it while staying fast to start.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["PROTOCOLS", "is_lower_better", "is_quality_metric", "protocol_for_metric", "protocol_metric_names"]

PROTOCOLS = ("rating", "ranking", "sampled", "binary")
"""Evaluation protocols of :func:`cofirec.evaluate.evaluate`."""

_QUALITY = {"rmse", "mae", "mse", "auc", "gauc", "logloss", "log_loss", "accuracy", "precision", "recall", "f1", "brier", "ndcg", "hr", "mrr", "map"}
_LOWER_BETTER = {"rmse", "mae", "mse", "loss", "logloss", "log_loss", "val_loss", "val_rmse", "val_mae"}
_RANKED = {
    "ranking": ("precision", "recall", "ndcg", "hr", "map", "mrr", "coverage", "novelty"),
    "sampled": ("hr", "ndcg", "mrr"),
}
_PLAIN = {"rating": ("rmse", "mae"), "binary": ("auc", "logloss", "accuracy"), "sampled": ("mrr",)}


def is_lower_better(metric: str) -> bool:
    """Whether smaller values of ``metric`` are better (error and loss metrics)."""
    base = metric.split("@")[0].lower()
    return base in _LOWER_BETTER or base.endswith("loss")


def is_quality_metric(name: str) -> bool:
    """Whether an evaluator key is a quality metric (``ndcg@10``, ``rmse``) rather than a count (``users_evaluated``)."""
    return "@" in name or name.lower() in _QUALITY


def protocol_for_metric(metric: str) -> str:
    """Evaluation protocol a metric belongs to: rmse/mae -> rating, auc/logloss/accuracy -> binary, else ranking."""
    base = metric.split("@")[0].lower()
    if base in {"rmse", "mae", "mse"}:
        return "rating"
    if base in {"auc", "logloss", "log_loss", "accuracy", "brier"}:
        return "binary"
    return "ranking"


def protocol_metric_names(protocol: str, ks: Sequence[int]) -> set[str]:
    """Quality metrics :func:`cofirec.evaluate.evaluate` reports for ``protocol`` at cut-offs ``ks``."""
    names = {f"{m}@{k}" for m in _RANKED.get(protocol, ()) for k in ks}
    return names | set(_PLAIN.get(protocol, ()))
