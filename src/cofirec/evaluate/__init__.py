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
from cofirec.evaluate.runner import PROTOCOLS, default_protocol, evaluate
from cofirec.evaluate.unknown import UnknownIdsWarning, UnknownReport, check_unknown, unknown_report

__all__ = [
    "PROTOCOLS",
    "UnknownIdsWarning",
    "UnknownReport",
    "accuracy",
    "auc",
    "check_unknown",
    "coverage",
    "default_protocol",
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
    "unknown_report",
]
