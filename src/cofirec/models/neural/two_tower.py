"""``TwoTower``: user and item towers (id + side features -> MLP) trained with in-batch softmax, for retrieval.

Cold start
----------
A fitted model scores users it never saw in two ways, both returning :class:`Recommendations` with
``known=False``:

* :meth:`TwoTower.recommend_for_features` -- from side features only (``{"gender": "F", "age": 25, ...}``):
  the user tower runs with the ``id`` field set to unknown (trained for this with ``id_dropout``);
* :meth:`TwoTower.recommend_from_items` -- from a few items the user liked: the mean of their item vectors.

Item vectors are precomputed by the item tower (``_item_vectors()``), and ``score = user vector . item vector``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Literal, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from cofirec.data.dataset import Interactions
from cofirec.data.encoding import SideFeatures
from cofirec.errors import ConfigError, DataError
from cofirec.kernels.topk import topk_rows
from cofirec.models.base import Recommendations, check_top_n, ranked_lists
from cofirec.models.neural.base import NeuralRecommender
from cofirec.models.neural.batching import NegativeSampler, PairTensors
from cofirec.models.neural.init import init_tensor_
from cofirec.models.neural.losses import weighted_mean
from cofirec.models.neural.modules.two_tower import TwoTowerNet
from cofirec.models.neural.trainer import Trainer, ValidationSet

TWO_TOWER_FOLD_STEPS = 20
"""Adam steps refining a new user's vector (0: the mean of the history's item vectors). On ML-100K u1.base
(implicit, 10 epochs, 40 training users' own histories) 0 / 20 / 50 / 100 steps gave overlap@10 0.37 / 0.48 / 0.46 / 0.46."""


class TwoTower(SideFeatures, NeuralRecommender):
    """Two-tower retrieval model with in-batch softmax (Yi et al. 2019, with optional logQ correction).

    Every training interaction (explicit data: rating >= ``positive_threshold`` when set; binary data: likes)
    is a positive; the other positives' items of the mini-batch are its negatives (same item masked out).
    With ``logq`` each logit is corrected by ``-log q(item)`` (q = the item's share of training positives),
    which removes the popularity bias of in-batch negatives. ``negatives > 0`` adds that many uniformly
    sampled items per positive as extra negatives (mixed negative sampling; corrected by ``-log(k / n_items)``).

    Parameters
    ----------
    factors : int
        Field embedding size inside each tower.
    hidden : tuple of int
        Hidden widths of each tower's MLP.
    out_dim : int
        Size of user and item vectors.
    dropout : float
        Dropout after hidden layers.
    normalize : bool
        Unit-length tower outputs (scores are cosines, divided by ``temperature`` in the loss).
    temperature : float
        Softmax temperature.
    logq : bool
        Apply the logQ correction.
    id_dropout : float
        Training-time probability of hiding the id field, so towers also work from features alone.
    positive_threshold : float or None
        Explicit data: ratings >= this are positives (None: every rated item).
    features : {"both", "user", "item", "none"}
        Side features to use.
    title_tokens : bool
        Add item title words as a multi-valued field.
    **common
        Training parameters of :class:`~cofirec.models.neural.base.NeuralRecommender`. Defaults changed here:
        ``batch_size=512`` (= in-batch negatives + 1), ``lr=0.003``, ``negatives=0``, ``holdout=0.1`` and
        ``patience=2`` (epochs chosen by validation NDCG@10 against 99 sampled items). ``loss`` must stay "auto".
    """

    name = "two-tower"
    predicts_ratings = False

    def __init__(
        self,
        factors: int = 32,
        hidden: tuple[int, ...] = (128,),
        out_dim: int = 64,
        dropout: float = 0.0,
        normalize: bool = True,
        temperature: float = 0.1,
        logq: bool = True,
        id_dropout: float = 0.1,
        positive_threshold: float | None = None,
        features: Literal["both", "user", "item", "none"] = "both",
        title_tokens: bool = False,
        epochs: int = 20,
        batch_size: int = 512,
        lr: float = 0.003,
        init: str = "normal(0.1)",
        negatives: int = 0,
        holdout: float = 0.1,
        patience: int = 2,
        **common: Any,
    ) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, lr=lr, init=init, negatives=negatives, holdout=holdout, patience=patience, **common)
        self.factors = factors
        self.hidden = hidden
        self.out_dim = out_dim
        self.dropout = dropout
        self.normalize = normalize  # type: ignore[assignment]  # two-tower: L2-normalised towers, not the rating normalisation of the base
        self.temperature = temperature
        self.logq = logq
        self.id_dropout = id_dropout
        self.positive_threshold = positive_threshold
        self.features = features
        self.title_tokens = title_tokens

    def _check_params(self) -> None:
        super()._check_params()
        for key in ("factors", "out_dim"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{self.name}: {key} must be >= 1, got {getattr(self, key)}")
        if any(int(h) < 1 for h in self.hidden):
            raise ConfigError(f"{self.name}: hidden widths must be >= 1, got {self.hidden!r}")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.id_dropout < 1.0:
            raise ConfigError(f"{self.name}: dropout and id_dropout must be in [0, 1)")
        if not self.temperature > 0:
            raise ConfigError(f"{self.name}: temperature must be > 0, got {self.temperature}")
        if self.loss not in ("auto", "softmax"):
            raise ConfigError(f"{self.name}: is trained with in-batch softmax; loss must be 'auto', got {self.loss!r}")
        if self.batch_size < 2:
            raise ConfigError(f"{self.name}: batch_size must be >= 2 (the batch supplies the negatives)")

    # ------------------------------------------------------------------ fitting
    def _positives(self, data: Interactions) -> Interactions:
        """Positive interactions as implicit feedback (vocabularies kept)."""
        if data.kind == "binary":
            out = data.as_implicit(min_rating=0.5)
        elif data.kind == "explicit":
            out = data.as_implicit(self.positive_threshold)
        else:
            out = data
        return replace(out, kind="implicit")

    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        positives = self._positives(data)
        if len(positives) == 0:
            raise DataError(f"{self.name}: no positive interactions to train on (positive_threshold={self.positive_threshold})")
        self.kind_ = "implicit"  # scores are retrieval scores, not ratings
        super()._fit(positives, None if validation is None else self._positives(validation))

    def _resolved_loss(self, kind: str) -> str:
        return "softmax"

    def _build_module(self) -> nn.Module:
        module = TwoTowerNet(
            self.user_spec_,
            self.item_spec_,
            self.n_users_,
            self.n_items_,
            self.factors,
            tuple(self.hidden),
            self.out_dim,
            self.dropout,
            self.normalize,  # type: ignore[arg-type]  # two-tower's own bool normalize (see __init__)
            self.id_dropout,
        )
        self._fill_tables(module)
        return module

    def _init_module(self, module: nn.Module, generator: torch.Generator) -> None:
        """Embeddings from ``init``; dense layers Glorot-uniform with zero biases."""
        for sub in module.modules():
            if isinstance(sub, nn.Embedding):
                init_tensor_(sub.weight, self.init, generator)
            elif isinstance(sub, nn.Linear):
                init_tensor_(sub.weight, "glorot_uniform", generator)
                nn.init.zeros_(sub.bias)

    def _train_module(self, module: nn.Module, train: PairTensors, validation: ValidationSet | None, sampler: NegativeSampler | None) -> nn.Module:
        counts = torch.bincount(train.items, minlength=self.n_items_).clamp(min=1).float()
        log_q = torch.log(counts / counts.sum()) if self.logq else torch.zeros(self.n_items_)
        trainer = InBatchTrainer(
            self._training_hooks(),
            module,
            self._train_config(),
            self._generator,
            sampler,
            progress=getattr(self, "_progress", False),
            log_q=log_q.to(self.device_),
            temperature=self.temperature,
            extra_negatives=self.negatives > 0,
        )
        trainer.fit(train, validation)
        self.best_epoch_ = int(trainer.best_epoch)
        self.epochs_run_ = int(len(self.history_))
        self.stopped_early_ = bool(trainer.stopped_early)
        return module

    # ------------------------------------------------------------------ cold start
    @torch.no_grad()
    def user_vectors_from_features(self, features: dict | Sequence[dict] | pd.DataFrame) -> np.ndarray:
        """User-tower vectors (k, out_dim) of new users described by side features (id unknown)."""
        self._check_fitted()
        enc = self.encode_user_features(features)
        return self.module_.user_vectors_from_features(torch.as_tensor(enc.single), torch.as_tensor(enc.multi)).numpy()

    def recommend_for_features(
        self, features: dict | Sequence[dict] | pd.DataFrame, n: int = 10, *, candidates: Iterable | np.ndarray | None = None
    ) -> Recommendations:
        """Top-``n`` items for new users given only their side features (a dict for one user, or a list/frame).

        ``users`` of the result are row positions 0..k-1 of the input; ``known`` is False. A dict gives 1-d arrays.
        """
        vecs = self.user_vectors_from_features(features)
        allowed = np.ones((len(vecs), self.n_items), dtype=bool)
        return self._recommend_vectors(vecs, n, allowed, candidates, np.arange(len(vecs)), single=isinstance(features, dict))

    def recommend_from_items(
        self, items: Iterable | np.ndarray, n: int = 10, *, exclude_seen: bool = True, candidates: Iterable | np.ndarray | None = None
    ) -> Recommendations:
        """Top-``n`` items for a new user who liked ``items`` (raw ids): the mean of their item vectors.

        Unknown item ids are ignored (:class:`DataError` when none is known); with ``exclude_seen`` the given items
        are not recommended. The result is 1-d, ``users`` is -1 and ``known`` is False.
        """
        self._check_fitted()
        idx = self.item_map_.lookup(list(np.atleast_1d(np.asarray(items))))
        idx = idx[idx >= 0]
        if len(idx) == 0:
            raise DataError(f"{self.name}: none of the given items is known to the model")
        item_vecs = self._item_vectors()
        assert item_vecs is not None  # the item tower always has vectors
        vec = item_vecs[idx].mean(axis=0, keepdims=True)
        allowed = np.ones((1, self.n_items), dtype=bool)
        if exclude_seen:
            allowed[0, idx] = False
        return self._recommend_vectors(vec, n, allowed, candidates, np.array([-1]), single=True)

    @torch.no_grad()
    def _scoring_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """User-tower and item-tower outputs: the score is their inner product."""
        users = self.module_.user_vectors(torch.arange(self.n_users_)).numpy()
        items = self._item_vectors()
        assert items is not None  # the item tower always has vectors
        return users, items

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """A new user's vector starts as the mean of the item vectors of the history's positives (binary data:
        likes; explicit data with ``positive_threshold``: ratings at or above it; every item when none qualifies),
        as :meth:`recommend_from_items`, then takes ``TWO_TOWER_FOLD_STEPS`` gradient steps on the training loss
        (item tower frozen); side features are not used here (see :meth:`recommend_for_features`)."""
        keep = values > 0 if self.kind_ == "binary" else np.ones(len(idx), dtype=bool)
        if self.kind_ == "explicit" and self.positive_threshold is not None:
            keep = values >= self.positive_threshold
        chosen = idx[keep] if keep.any() else idx
        item_vecs = self._item_vectors()
        assert item_vecs is not None  # the item tower always has vectors
        start = item_vecs[chosen].mean(axis=0)
        if TWO_TOWER_FOLD_STEPS:
            start = self._softmax_fold_in(torch.as_tensor(item_vecs), torch.as_tensor(chosen), torch.as_tensor(start))
        return (item_vecs @ start).astype(np.float32)

    def _softmax_fold_in(self, items: torch.Tensor, positives: torch.Tensor, start: torch.Tensor) -> np.ndarray:
        """A free user vector from the item mean, refined by Adam steps on the training loss over the whole
        catalogue (softmax of ``u . v / temperature``, logQ-corrected like training)."""
        u = start.clone().requires_grad_(True)
        opt = torch.optim.Adam([u], lr=0.05)
        log_q = torch.zeros(len(items))
        if self.logq:
            counts = torch.as_tensor(self.item_popularity_, dtype=torch.float32).clamp(min=1)
            log_q = torch.log(counts / counts.sum())
        for _ in range(TWO_TOWER_FOLD_STEPS):
            opt.zero_grad()
            vec = F.normalize(u, dim=0) if self.normalize else u
            logits = items @ vec / self.temperature - log_q
            loss = -torch.log_softmax(logits, dim=0)[positives].mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return (F.normalize(u, dim=0) if self.normalize else u).numpy()

    def _recommend_vectors(self, vecs: np.ndarray, n: int, allowed: np.ndarray, candidates, users: np.ndarray, single: bool) -> Recommendations:
        """Top-``n`` of ``vecs @ item vectors.T`` among ``allowed`` (k, n_items) items (and ``candidates``)."""
        items = self._item_vectors()
        assert items is not None  # the item tower always has vectors
        scores = (vecs @ items.T).astype(np.float32)
        if candidates is not None:
            cidx = self.item_map_.lookup(candidates)
            mask = np.zeros(self.n_items, dtype=bool)
            mask[cidx[cidx >= 0]] = True
            allowed = allowed & mask[None, :]
        scores[~allowed] = -np.inf
        idx, vals = topk_rows(scores, int(min(check_top_n(n), self.n_items)))
        return ranked_lists(self.item_map_, idx, vals, users, np.zeros(len(vecs), dtype=bool), single=single)


class InBatchTrainer(Trainer):
    """The shared :class:`Trainer` with an in-batch softmax step (the loop, validation, early stopping and
    progress are inherited). Each positive's negatives are the batch's other items (plus, with
    ``extra_negatives``, the trainer's uniformly sampled ones).

    Extra parameters: ``log_q`` (n_items,) log sampling probability of each item (zeros for no correction),
    ``temperature``, ``extra_negatives``.
    """

    def __init__(self, *args: Any, log_q: torch.Tensor, temperature: float, extra_negatives: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log_q = log_q
        self.temperature = temperature
        self.extra_negatives = extra_negatives

    def _pairwise_step(self, batch: PairTensors, negatives: torch.Tensor) -> tuple[float, int]:
        dev = self.config.device
        users, items = batch.users.to(dev), batch.items.to(dev)
        module = self.module
        u = module.user_vectors(users)  # (B, d)
        v = module.item_vectors(items)  # (B, d)
        logits = (u @ v.T) / self.temperature - self.log_q[items][None, :]
        dup = items[None, :] == items[:, None]
        dup.fill_diagonal_(False)
        logits = logits.masked_fill(dup, float("-inf"))
        if self.extra_negatives:
            b, k = negatives.shape
            neg = negatives.to(dev)
            vn = module.item_vectors(neg.reshape(-1)).view(b, k, -1)
            extra = torch.einsum("bd,bkd->bk", u, vn) / self.temperature - float(np.log(k / module.items.single.shape[0]))
            extra = extra.masked_fill(neg == items[:, None], float("-inf"))
            logits = torch.cat([logits, extra], dim=1)
        per_row = F.cross_entropy(logits, torch.arange(len(users), device=dev), reduction="none")
        loss = weighted_mean(per_row, None if batch.weights is None else batch.weights.to(dev))
        return self._step(loss, users, items), len(users)
