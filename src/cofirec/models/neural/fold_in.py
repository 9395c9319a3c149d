"""Fold-in for neural models: a few gradient steps on a fresh user's parameters, everything else frozen.

A module takes part when it has ``user_tables()`` (the per-user embedding tables: all a user is to it) and
``score_rows(rows) -> (b, n_items)`` (scores for users given by their rows). The new user's rows start at the
mean of the known users' rows and take ``FOLD_IN_STEPS`` Adam steps on the model's own loss over the history
(with its ``reg`` penalty on the rows and a pull toward the mean row, ``FOLD_IN_PRIOR``); the module itself is never modified, so concurrent calls are safe.

Loss by training loss: ``mse`` on the history's ratings in training units (explicit data); ``bce``/``ordinal``
on the history's labels (1 for implicit data), plus, where the model trained with sampled negatives, every
other item as a negative weighted like ``negatives`` samples per positive; ``softmax``/``full_softmax``: the
softmax of each positive over the whole catalogue; ``bpr``: each positive against every other item.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

FOLD_IN_STEPS = 100
"""Adam steps on a new user's rows."""
FOLD_IN_LR = 0.05
"""Their learning rate."""
FOLD_IN_PRIOR = 0.1
"""Weight of an L2 pull of the new rows toward the mean user row (on top of the model's ``reg``): the known
users' rows were kept small by early stopping and small learning rates, which a free fit does not reproduce.
Chosen on ML-100K ``u1.base`` (own-history overlap@10 of 40 training users, 10-epoch models): prior 0 / 0.03 /
0.1 / 0.3 gave 0.22 / 0.52 / 0.68 / 0.65 for embedding-dot (explicit) and 0.61 / 0.87 / 0.90 / 0.82 for gmf
(implicit)."""


def can_fold_in(module: Any) -> bool:
    """Whether ``module`` exposes its per-user tables and scoring from rows."""
    return hasattr(module, "user_tables") and hasattr(module, "score_rows")


def fold_in_rows(model: Any, idx: np.ndarray, values: np.ndarray) -> tuple[tuple[torch.Tensor, ...], float]:
    """The new user's rows (one per table of ``module_.user_tables()``) and target offset (explicit data)."""
    module = model.module_
    tables = [t.weight.detach() for t in module.user_tables()]
    means = [t.mean(dim=0, keepdim=True) for t in tables]
    rows = tuple(m.clone().requires_grad_(True) for m in means)
    offset = new_user_offset(model, values)
    items = torch.as_tensor(idx, dtype=torch.long)
    loss_of = _loss_function(model, items, values, offset)
    opt = torch.optim.Adam(rows, lr=FOLD_IN_LR)
    reg = float(model.reg)
    for _ in range(FOLD_IN_STEPS):
        opt.zero_grad()
        loss = loss_of(module.score_rows(rows)[0])
        if reg > 0:
            loss = loss + reg * sum(r.pow(2).sum() for r in rows)
        if FOLD_IN_PRIOR > 0:
            loss = loss + FOLD_IN_PRIOR * sum((r - m).pow(2).sum() for r, m in zip(rows, means))
        loss.backward()
        opt.step()
    return tuple(r.detach() for r in rows), offset


def new_user_offset(model: Any, values: np.ndarray) -> float:
    """The target offset of a new user: their own mean (``user_center``), the fitted one otherwise."""
    if model.kind_ != "explicit":
        return 0.0
    if model.normalize == "user_center":
        return float(values.mean())
    return float(model.target_offset_[0]) if len(model.target_offset_) else 0.0


def _loss_function(model: Any, items: torch.Tensor, values: np.ndarray, offset: float):
    """The fold-in loss of raw scores (n_items,) for the new user's history."""
    loss = model.loss_
    if model.kind_ == "explicit":
        target = torch.as_tensor((values - offset) / model.target_scale_, dtype=torch.float32)
        return lambda raw: F.mse_loss(raw[items], target)
    labels = torch.as_tensor(values if model.kind_ == "binary" else np.ones(len(values)), dtype=torch.float32).clamp(0, 1)
    positives = items[labels > 0]
    others = torch.ones(model.n_items_, dtype=torch.bool)
    others[items] = False
    if loss in ("softmax", "full_softmax") and len(positives):
        return lambda raw: -torch.log_softmax(raw, dim=0)[positives].mean()
    if loss == "bpr" and len(positives):
        return lambda raw: F.softplus(-(raw[positives][:, None] - raw[others][None, :])).mean()
    weight = float(model.negatives) if model.kind_ == "implicit" or model.negatives > 0 else 0.0

    def bce(raw: torch.Tensor) -> torch.Tensor:
        out = F.binary_cross_entropy_with_logits(raw[items], labels)
        if weight > 0 and others.any():
            out = out + weight * F.binary_cross_entropy_with_logits(raw[others], torch.zeros(int(others.sum())))
        return out

    return bce
