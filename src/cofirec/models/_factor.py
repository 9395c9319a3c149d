"""Pieces shared by the factor models (biased MF, explicit ALS, implicit ALS, BPR).

Dot-product scoring from ``user_factors_``/``item_factors_``, mapping a validation set onto a model's indices,
early stopping, a progress bar over epochs (on stderr, so ``--json`` output stays clean) and parameter checks.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Literal

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError
from cofirec.kernels.mf import predict_pairs
from cofirec.models.base import Recommender


class FactorScoring:
    """Mixin: scores ``offset_[u] + user_bias_[u] + item_bias_[i] + user_factors_[u] . item_factors_[i]``.

    A model sets ``user_factors_`` (n_users, k), ``item_factors_`` (n_items, k), ``user_bias_`` (n_users,),
    ``item_bias_`` (n_items,) and ``user_offset_`` (n_users,) (fixed mean normalisation; zeros when none).
    """

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    user_bias_: np.ndarray
    item_bias_: np.ndarray
    user_offset_: np.ndarray

    def _score(self, users: np.ndarray) -> np.ndarray:
        """Dense scores (len(users), n_items): one matmul of the users' factors against all items."""
        scores = self.user_factors_[users] @ self.item_factors_.T
        scores += self.item_bias_[None, :]
        scores += (self.user_offset_[users] + self.user_bias_[users])[:, None]
        return scores.astype(np.float32, copy=False)

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Row-wise dot products plus biases for index pairs, float32 (n,)."""
        out = predict_pairs(self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_, users, items)
        return out + self.user_offset_[users]

    def _item_vectors(self) -> np.ndarray:
        return self.item_factors_


def validation_pairs(model: Recommender, validation: Interactions | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Validation interactions as model indices ``(users, items, ratings)``, pairs with unknown ids dropped.

    Returns None when there is no validation data or none of it is known to the model.
    """
    if validation is None or len(validation) == 0:
        return None
    u = model.user_map_.lookup(validation.user_map.to_raw(validation.users))
    i = model.item_map_.lookup(validation.item_map.to_raw(validation.items))
    keep = (u >= 0) & (i >= 0)
    if not keep.any():
        return None
    return u[keep], i[keep], validation.ratings[keep].astype(np.float32)


def validation_csr(model: Recommender, validation: Interactions | None):
    """Validation positives as a CSR matrix (n_users, n_items) in the model's indices, or None."""
    import scipy.sparse as sp

    pairs = validation_pairs(model, validation)
    if pairs is None:
        return None
    u, i, _ = pairs
    m = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=(model.n_users, model.n_items))
    m.sum_duplicates()
    return m


def ranking_ndcg(model: Recommender, truth, k: int = 10, max_users: int = 2000, seed: int = 0) -> float:
    """Mean NDCG@k over (up to ``max_users`` sampled) users with validation positives, seen items excluded.

    ``truth`` is a CSR (n_users, n_items) of held-out positives in model indices. A small self-contained
    metric for early stopping only (the evaluation package owns the reported numbers).
    """
    from cofirec.kernels.topk import topk_rows

    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    total = 0.0
    block = model._batch_users()
    for b0 in range(0, len(users), block):
        ub = users[b0 : b0 + block]
        scores = model._score(ub)
        model._mask_seen(scores, ub)
        idx, _ = topk_rows(scores, k)
        hits = np.take_along_axis(truth[ub].toarray(), idx, axis=1) > 0
        dcg = (hits * discounts).sum(axis=1)
        n_rel = np.minimum(np.diff(truth.indptr)[ub], k)
        idcg = np.cumsum(discounts)[n_rel - 1]
        total += float((dcg / idcg).sum())
    return total / len(users)


class EarlyStopping:
    """Tracks a validation number (lower is better when ``mode="min"``) and keeps the best state's copies."""

    def __init__(self, patience: int, mode: Literal["min", "max"] = "min") -> None:
        self.patience = patience
        self.sign = 1.0 if mode == "min" else -1.0
        self.best = np.inf
        self.best_epoch = -1
        self.best_state: dict[str, np.ndarray] | None = None
        self.bad = 0

    def update(self, epoch: int, value: float, state: dict[str, np.ndarray]) -> bool:
        """Record ``value`` for ``epoch``; returns True when training should stop."""
        v = self.sign * value
        if v < self.best - 1e-7:
            self.best = v
            self.best_epoch = epoch
            self.best_state = {k: a.copy() for k, a in state.items()}
            self.bad = 0
            return False
        self.bad += 1
        return self.bad > self.patience


@contextlib.contextmanager
def epoch_progress(enabled: bool, total: int, description: str) -> Iterator:
    """A rich progress bar over epochs on stderr (a no-op when disabled or stderr is not a terminal, so piped
    output gets no blank lines); yields ``advance(**fields)``."""
    from rich.console import Console

    console = Console(stderr=True) if enabled else None
    if console is None or not console.is_terminal:
        yield lambda **fields: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[info]}"), transient=True, console=console) as bar:
        task = bar.add_task(description, total=total, info="")

        def advance(**fields: float) -> None:
            info = " ".join(f"{k}={v:.4f}" for k, v in fields.items())
            bar.update(task, advance=1, info=info)

        yield advance


def check_positive(model: Recommender, **values: float) -> None:
    """ConfigError naming the first parameter that is not > 0."""
    for key, value in values.items():
        if not value > 0:
            raise ConfigError(f"{model.name}: {key} must be > 0, got {value}")


def check_non_negative(model: Recommender, **values: float) -> None:
    """ConfigError naming the first parameter that is negative."""
    for key, value in values.items():
        if value < 0:
            raise ConfigError(f"{model.name}: {key} must be >= 0, got {value}")


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred.astype(np.float64) - truth) ** 2)))
