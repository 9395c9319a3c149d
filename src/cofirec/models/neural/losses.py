"""Training losses, as pure functions of score tensors.

Pointwise losses compare scores with targets; pairwise losses compare each positive's score with the scores
of its sampled negatives; the listwise full softmax compares it with the scores of every item. Every loss is
a mean over rows, weighted by ``weights`` (n,) when given (e.g. recency weights; ``None`` = equal weights).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

LossName = Literal["mse", "bce", "ordinal", "bpr", "softmax", "full_softmax"]
POINTWISE: frozenset[str] = frozenset({"mse", "bce", "ordinal"})
PAIRWISE: frozenset[str] = frozenset({"bpr", "softmax"})
LISTWISE: frozenset[str] = frozenset({"full_softmax"})
RANKING: frozenset[str] = PAIRWISE | LISTWISE
"""Losses trained on positives only (negatives come from sampling or from the whole catalogue)."""


def weighted_mean(per_row: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``per_row`` (n,), or its ``weights``-weighted mean."""
    if weights is None:
        return per_row.mean()
    return (per_row * weights).sum() / weights.sum().clamp(min=1e-12)


def mse_loss(scores: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error. scores, targets: (n,) float."""
    return weighted_mean((scores - targets).pow(2), weights)


def bce_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy on logits (sigmoid applied inside). logits, labels: (n,) float, labels in [0, 1]."""
    return weighted_mean(F.binary_cross_entropy_with_logits(logits, labels, reduction="none"), weights)


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Bayesian personalised ranking: mean of -log sigmoid(pos - neg). pos: (b,), neg: (b, k)."""
    return weighted_mean(-F.logsigmoid(pos[:, None] - neg).mean(dim=1), weights)


def softmax_loss(pos: torch.Tensor, neg: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Sampled softmax: cross-entropy of the positive against its k negatives. pos: (b,), neg: (b, k)."""
    logits = torch.cat([pos[:, None], neg], dim=1)
    return weighted_mean(-F.log_softmax(logits, dim=1)[:, 0], weights)


def ordinal_loss(logits: torch.Tensor, ratings: torch.Tensor, levels: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """All-threshold cumulative-logit loss: ``P(rating >= level_k) = sigmoid(logit + offset_k)``, the mean over
    pairs and levels of the binary cross-entropy of each cut. logits, ratings: (n,); levels, offsets: (m,)."""
    z = logits[:, None] + offsets[None, :]
    per_cut = F.binary_cross_entropy_with_logits(z, (ratings[:, None] >= levels[None, :]).to(z.dtype), reduction="none")
    return weighted_mean(per_cut.mean(dim=1), weights)


def full_softmax_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax over the whole catalogue: cross-entropy of each row's target item. logits: (b, n_items), targets: (b,) int64."""
    return weighted_mean(F.cross_entropy(logits, targets, reduction="none"), weights)


def pointwise_loss(
    name: str, scores: torch.Tensor, targets: torch.Tensor, ordinal: tuple[torch.Tensor, torch.Tensor] | None = None, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """``"mse"``, ``"bce"`` or ``"ordinal"`` (with ``ordinal`` = (levels, offsets)) of scores (n,) against targets (n,)."""
    if name == "ordinal":
        if ordinal is None:
            raise ValueError("the ordinal loss needs (levels, offsets)")
        return ordinal_loss(scores, targets, *ordinal, weights=weights)
    if name == "mse":
        return mse_loss(scores, targets, weights)
    if name == "bce":
        return bce_loss(scores, targets, weights)
    raise ValueError(f"{name!r} is not a pointwise loss (use one of {sorted(POINTWISE)})")


def pairwise_loss(name: str, pos: torch.Tensor, neg: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """``"bpr"`` or ``"softmax"`` of positive scores (b,) against negative scores (b, k)."""
    if name == "bpr":
        return bpr_loss(pos, neg, weights)
    if name == "softmax":
        return softmax_loss(pos, neg, weights)
    raise ValueError(f"{name!r} is not a pairwise loss (use one of {sorted(PAIRWISE)})")
