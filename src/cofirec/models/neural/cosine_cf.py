"""``CosineCF``: like probability = (cosine of user and item embeddings + 1) / 2, trained with log loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError
from cofirec.models.neural.base import NeuralRecommender
from cofirec.models.neural.modules.cosine import CosineNet


class CosineCF(NeuralRecommender):
    """Cosine collaborative filtering for binary like/dislike feedback.

    ``p(like | u, i) = (cos(p_u, q_i) + 1) / 2``, fitted by log loss (the module outputs the matching logit
    ``2 atanh(cos)``, so BCE-with-logits is exactly the log loss on ``p``). ``predict`` returns ``p``.
    Fit binary data (``Interactions.binarize(4)`` for "rating >= 4 is a like"); implicit data works with
    sampled negatives (``negatives > 0``).

    Parameters
    ----------
    factors : int
        Embedding width.
    **common
        Training parameters of :class:`~cofirec.models.neural.base.NeuralRecommender`. Defaults changed here:
        ``negatives=0``, ``holdout=0.1``, ``patience=2``, ``batch_size=2048``, ``lr=0.003``,
        ``init="normal(0.1)"`` (cosines of tiny random vectors are as informative as of large ones).
    """

    name = "cosine-cf"
    supported_kinds = frozenset({"binary", "implicit"})
    predicts_ratings = False

    def __init__(
        self,
        factors: int = 64,
        epochs: int = 20,
        batch_size: int = 2048,
        lr: float = 0.003,
        init: str = "normal(0.1)",
        negatives: int = 0,
        holdout: float = 0.1,
        patience: int = 2,
        **common: Any,
    ) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, init=init, negatives=negatives, holdout=holdout, patience=patience, **common)
        self.factors = factors

    def _check_params(self) -> None:
        super()._check_params()
        if self.factors < 1:
            raise ConfigError(f"{self.name}: factors must be >= 1, got {self.factors}")
        if self.loss not in ("auto", "bce"):
            raise ConfigError(f"{self.name}: is trained with log loss; loss must be 'auto' or 'bce', got {self.loss!r}")

    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        if data.kind == "implicit" and self.negatives < 1:
            raise ConfigError(f"{self.name}: implicit feedback has no dislikes; set negatives >= 1 (sampled items labelled 0)")
        super()._fit(data, validation)

    def _build_module(self) -> nn.Module:
        return CosineNet(self.n_users_, self.n_items_, self.factors)

    def _to_output(self, scores: np.ndarray, users: np.ndarray, clip: bool = False) -> np.ndarray:
        """Module logits -> like probabilities ``(cos + 1) / 2`` (for binary and implicit data alike)."""
        return (1.0 / (1.0 + np.exp(-np.asarray(scores, dtype=np.float64)))).astype(np.float32)

    def _score(self, users: np.ndarray) -> np.ndarray:
        """(cos + 1) / 2 for every item: one matrix product of unit vectors, (len(users), n_items)."""
        u, i = self.module_.unit_vectors()
        with torch.no_grad():
            cos = u[torch.as_tensor(np.asarray(users, dtype=np.int64))] @ i.T
        return ((cos.clamp(-1.0, 1.0) + 1.0) / 2.0).numpy().astype(np.float32)

    def _item_vectors(self) -> np.ndarray:
        return self.module_.item.weight.detach().numpy().copy()

    def _scoring_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit-length user and item embeddings: their inner product is the cosine."""
        u, i = self.module_.unit_vectors()
        return u.numpy(), i.numpy()
