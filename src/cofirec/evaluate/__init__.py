"""Evaluation: metrics as pure functions and the ``evaluate`` runner (splits live in ``cofirec.data.splits``)."""

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
from cofirec.evaluate.runner import PROTOCOLS, evaluate

__all__ = [
    "PROTOCOLS",
    "accuracy",
    "auc",
    "coverage",
    "evaluate",
    "hr_at_k",
    "log_loss",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]
