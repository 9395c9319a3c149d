"""Neural collaborative filtering (He et al. 2017): ``GMF``, ``MLP`` and ``NeuMF`` wrappers.

NCF's defaults: Adam, lr 0.001, batch 256, 4 sampled negatives per positive with BCE on implicit data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from cofirec.errors import ConfigError
from cofirec.models.neural.base import NeuralRecommender
from cofirec.models.neural.batching import NegativeSampler, PairTensors
from cofirec.models.neural.modules.ncf import GMFModule, MLPModule, NeuMFModule
from cofirec.models.neural.trainer import ValidationSet


def _check_layers(name: str, layers: tuple[int, ...], dropout: float) -> None:
    if len(layers) < 1 or any(w < 1 for w in layers):
        raise ConfigError(f"{name}: layers must be positive widths, e.g. 64,32,16,8 (got {layers!r})")
    if layers[0] < 2:
        raise ConfigError(f"{name}: layers[0] is the concatenated embedding width and must be >= 2 (got {layers[0]})")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"{name}: dropout must be in [0, 1), got {dropout}")


class GMF(NeuralRecommender):
    """Generalised matrix factorisation: a learned weighting of the element-wise product of embeddings.

    Parameters
    ----------
    factors : int
        Embedding width.
    **common
        Training parameters of :class:`~cofirec.models.neural.base.NeuralRecommender`.
    """

    name = "gmf"

    def __init__(self, factors: int = 32, **common: Any) -> None:
        super().__init__(**common)
        self.factors = factors

    def _check_params(self) -> None:
        super()._check_params()
        if self.factors < 1:
            raise ConfigError(f"{self.name}: factors must be >= 1, got {self.factors}")

    def _build_module(self) -> nn.Module:
        return GMFModule(self.n_users_, self.n_items_, self.factors)

    def _scoring_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """``(p_u * h) . q_i`` is the raw score up to the shared output bias."""
        m = self.module_
        h = m.out.weight[0].detach().numpy()
        return m.user_emb.weight.detach().numpy() * h[None, :], m.item_emb.weight.detach().numpy()


class MLP(NeuralRecommender):
    """Concatenated user/item embeddings through dense ReLU layers.

    Parameters
    ----------
    layers : tuple of int
        ``layers[0]`` is the concatenated embedding width (each embedding ``layers[0] // 2``), then the hidden
        widths, e.g. (64, 32, 16, 8).
    dropout : float
        Dropout after each hidden activation.
    **common
        Training parameters of :class:`~cofirec.models.neural.base.NeuralRecommender`.
    """

    name = "mlp"

    def __init__(self, layers: tuple[int, ...] = (64, 32, 16, 8), dropout: float = 0.0, **common: Any) -> None:
        super().__init__(**common)
        self.layers = layers
        self.dropout = dropout

    def _check_params(self) -> None:
        super()._check_params()
        _check_layers(self.name, tuple(self.layers), self.dropout)

    def _build_module(self) -> nn.Module:
        return MLPModule(self.n_users_, self.n_items_, tuple(self.layers), self.dropout)


class NeuMF(NeuralRecommender):
    """GMF and MLP branches fused by a final linear layer, optionally initialised from a trained GMF and MLP.

    Parameters
    ----------
    factors : int
        GMF embedding width.
    layers : tuple of int
        MLP layer widths (see :class:`MLP`).
    dropout : float
        MLP dropout.
    pretrain : bool
        First fit a GMF and an MLP with the same training parameters, then start NeuMF from their weights with
        output weights ``[alpha * h_gmf, (1 - alpha) * h_mlp]`` (He et al. 2017, section 3.4.1). Their
        histories are kept in ``pretrain_history_``.
    alpha : float
        Trade-off between the pre-trained branches.
    **common
        Training parameters of :class:`~cofirec.models.neural.base.NeuralRecommender`.
    """

    name = "neumf"

    def __init__(
        self,
        factors: int = 16,
        layers: tuple[int, ...] = (64, 32, 16, 8),
        dropout: float = 0.0,
        pretrain: bool = False,
        alpha: float = 0.5,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.factors = factors
        self.layers = layers
        self.dropout = dropout
        self.pretrain = pretrain
        self.alpha = alpha

    def _check_params(self) -> None:
        super()._check_params()
        if self.factors < 1:
            raise ConfigError(f"{self.name}: factors must be >= 1, got {self.factors}")
        _check_layers(self.name, tuple(self.layers), self.dropout)
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"{self.name}: alpha must be in [0, 1], got {self.alpha}")

    def _build_module(self) -> nn.Module:
        return NeuMFModule(self.n_users_, self.n_items_, self.factors, tuple(self.layers), self.dropout)

    def _train_module(self, module: nn.Module, train: PairTensors, validation: ValidationSet | None, sampler: NegativeSampler | None) -> nn.Module:
        if not self.pretrain:
            return super()._train_module(module, train, validation, sampler)
        assert isinstance(module, NeuMFModule)
        parts = {"gmf": module.gmf, "mlp": module.mlp}
        pre_history: dict[str, list] = {}
        main_history = self.history_
        for key, branch in parts.items():
            self.history_ = []
            if self.loss_ == "mse":
                branch.reset_output(self._mean_target_)  # type: ignore[attr-defined]  # pre-training branches are GMF/MLP modules
            super()._train_module(branch, train, validation, sampler)
            pre_history[key] = self.history_
        with torch.no_grad():
            module.load_pretrained(module.gmf, module.mlp, self.alpha)
        self.history_ = main_history
        super()._train_module(module, train, validation, sampler)
        self.pretrain_history_ = pre_history
        return module
