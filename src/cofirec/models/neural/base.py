"""``NeuralRecommender``: the Recommender wrapper every PyTorch model builds on.

Three parts per model (STYLE idea 9): an ``nn.Module`` in ``neural/modules/``, a wrapper subclassing
:class:`NeuralRecommender`, and the shared :class:`~cofirec.models.neural.trainer.Trainer`.

Extension API (what a subclass writes)
--------------------------------------
``__init__(self, <own params>, **common)``
    Declare the model's own typed hyperparameters, store them verbatim and pass ``**common`` on to
    ``super().__init__``. The common training parameters (epochs, batch_size, lr, ...) are merged into
    ``param_names``/``param_types``/``param_defaults`` automatically; to change a common default, list that
    parameter in the subclass signature with the new default and pass it on.
``_build_module(self) -> nn.Module``  (required)
    Build the module from hyperparameters and fitted shapes (``self.n_users_``, ``self.n_items_``, and any
    fitted attribute set in ``_prepare``). Called by ``fit`` and again by ``cofirec.load`` to rebuild the
    module from its saved ``state_dict``, so it must only read saved state.
The module's forward contract: ``module(users, items) -> scores`` with int64 index tensors (n,) and a float
tensor (n,) out (a logit for BCE, a rating in training units for MSE). Optional module methods the wrapper
uses when present: ``score_all(users) -> (b, n_items)`` (fast full scoring), ``item_vectors() -> (n_items, d)``
(``similar_items``), ``penalty(users, items) -> scalar`` (the ``reg`` L2 term on the batch's embeddings).
Optional wrapper hooks:
``_prepare(self, data)``: set extra fitted attributes (e.g. feature arrays) before the module is built;
``_forward(self, module, users, items)``: override to feed extra inputs (features looked up by index);
``_init_module(self, module, generator)``: custom initialisation after the named ``init`` scheme;
``_train_module(self, module, train, validation, sampler)``: replace the training (e.g. NeuMF pre-training).

Fitted attributes: ``n_users_``, ``n_items_``, ``module_`` (on the CPU, eval mode), ``loss_`` (resolved loss),
``target_offset_`` (n_users,) and ``target_scale_`` (targets were ``(r - offset[u]) / scale``),
``output_range_`` ([lo, hi] of training targets), ``best_epoch_``, ``epochs_run_``, ``stopped_early_``,
``device_`` and the base class's ``history_``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError
from cofirec.models.base import Recommender
from cofirec.models.neural.batching import NegativeSampler, PairTensors
from cofirec.models.neural.distributed import local_device
from cofirec.models.neural.init import init_module_, parse_init
from cofirec.models.neural.losses import LISTWISE, PAIRWISE, RANKING
from cofirec.models.neural.optim import OPTIMIZERS
from cofirec.models.neural.runtime import _resolve_device, _threads, _torch_context
from cofirec.models.neural.trainer import TrainConfig, Trainer, TrainingHooks, ValidationSet

SCORE_BLOCK = 1_048_576
"""(user, item) pairs per forward pass when scoring without ``score_all``."""
VALIDATION_CANDIDATES = 99
"""Sampled non-interacted items ranked against each validation user's held-out item."""


class NeuralRecommender(Recommender):
    """Base wrapper: typed training hyperparameters, data preparation, the call to the trainer, scoring.

    Parameters (common to every neural model)
    ----------
    epochs : int
        Maximum passes over the training data.
    batch_size : int
        Training examples per optimiser step (positives plus their negatives for pointwise losses; positives
        for pairwise losses).
    lr, weight_decay : float
        Optimiser learning rate and its (dense) weight decay.
    reg : float
        L2 penalty on the embeddings used in each batch (frequency-weighted, as in classic MF), added to the loss.
    optimizer : {"adam", "adamw", "sgd", "adagrad"}
    init : str
        Initialiser of the embeddings: he_normal, he_uniform, lecun_uniform, lecun_normal, glorot_uniform,
        glorot_normal, random_uniform[(a)], normal[(std)]; see :mod:`cofirec.models.neural.init`.
    dense_init : str
        Initialiser of dense (``nn.Linear``) layers; NCF's lecun_uniform by default (a fixed small scale such as
        normal(0.01) starves deep towers of gradient).
    loss : {"auto", "mse", "bce", "ordinal", "bpr", "softmax", "full_softmax"}
        "auto" is MSE for explicit ratings and BCE for implicit and binary data. Explicit data needs "mse"
        (use ``data.as_implicit()`` for ranking losses). "ordinal", for binary data made by
        ``Interactions.binarize``, learns from the whole rating scale: a cumulative-logit model
        ``P(rating >= level) = sigmoid(score + offset_level)`` with the offsets fixed by the training ratings'
        marginal frequencies and 0 at the like threshold, so ``sigmoid(score)`` is still the like probability.
        "softmax" ranks each positive against its sampled negatives; "full_softmax" against every item of the
        catalogue (one ``score_all`` per batch: exact, and cheap for catalogues of up to ~100k items; for
        modules whose ``score_all`` trains: embedding-dot, gmf, mlp, neumf).
    negatives : int
        Sampled non-interacted items per positive for implicit/binary data (label 0 for pointwise losses; the
        comparison set for pairwise losses). Ignored for explicit ratings and by "full_softmax".
    normalize : {"none", "user_center", "minmax"}
        Target normalisation for explicit ratings (mapped back at prediction).
    recency : float
        Half-life, in interactions, of recency weights: each user's training interactions, counted back from
        the latest (by timestamp, else row order), weigh ``0.5 ** (age / recency)`` in the loss (normalised to
        mean 1). Favours what users do now, for next-item protocols; 0 weighs every interaction equally.
    holdout : float
        When ``fit`` gets no ``validation``, the fraction of training interactions held out (seeded) for
        validation and early stopping; 0 trains on everything for ``epochs`` epochs.
    patience : int
        Stop after this many epochs without validation improvement (0: never stop early); the best epoch's
        weights are restored either way.
    device : str
        "auto" (CUDA when available), "cpu" or "cuda" (or "cuda:N").
    random_state : int
        Seed of initialisation, batch order, dropout and negative sampling (deterministic on the CPU).
    """

    predicts_ratings = True
    state_axes = {"target_offset_": ("users",)}  # checked when a saved model is loaded

    def __init__(
        self,
        *,
        epochs: int = 20,
        batch_size: int = 1024,
        lr: float = 0.001,
        weight_decay: float = 0.0,
        reg: float = 0.0,
        optimizer: Literal["adam", "adamw", "sgd", "adagrad"] = "adam",
        init: str = "normal(0.01)",
        dense_init: str = "lecun_uniform",
        loss: Literal["auto", "mse", "bce", "ordinal", "bpr", "softmax", "full_softmax"] = "auto",
        negatives: int = 4,
        normalize: Literal["none", "user_center", "minmax"] = "none",
        recency: float = 0.0,
        holdout: float = 0.0,
        patience: int = 3,
        device: str = "auto",
        random_state: int = 0,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.reg = reg
        self.optimizer = optimizer
        self.init = init
        self.dense_init = dense_init
        self.loss = loss
        self.negatives = negatives
        self.normalize = normalize
        self.recency = recency
        self.holdout = holdout
        self.patience = patience
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ parameters: own + common
    @classmethod
    def _signature_params(cls, owner: type) -> list[inspect.Parameter]:
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        sig = inspect.signature(owner.__init__)  # type: ignore[misc]  # the class itself, not an instance
        return [p for p in sig.parameters.values() if p.name != "self" and p.kind in kinds]

    @classmethod
    def _all_params(cls) -> list[tuple[inspect.Parameter, type]]:
        own = [(p, cls) for p in cls._signature_params(cls)]
        names = {p.name for p, _ in own}
        common = [(p, NeuralRecommender) for p in cls._signature_params(NeuralRecommender) if p.name not in names]
        return own + common

    @classmethod
    def param_names(cls) -> list[str]:
        return [p.name for p, _ in cls._all_params()]

    @classmethod
    def param_types(cls) -> dict[str, Any]:
        out = {}
        for p, owner in cls._all_params():
            out[p.name] = typing.get_type_hints(owner.__init__).get(p.name, Any)  # type: ignore[misc]  # the class itself, not an instance
        return out

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        return {p.name: p.default for p, _ in cls._all_params()}

    def _check_params(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size}
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"{self.name}: {key} must be >= 1, got {value}")
        if not self.lr > 0:
            raise ConfigError(f"{self.name}: lr must be > 0, got {self.lr}")
        for key in ("weight_decay", "reg", "negatives", "patience", "recency"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{self.name}: {key} must be >= 0, got {getattr(self, key)}")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"{self.name}: holdout must be in [0, 1), got {self.holdout}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"{self.name}: unknown optimizer {self.optimizer!r} (known: {', '.join(OPTIMIZERS)})")
        parse_init(self.init)
        parse_init(self.dense_init)
        _resolve_device(self.device, self.name)

    # ------------------------------------------------------------------ subclass hooks
    def _build_module(self) -> nn.Module:
        raise NotImplementedError

    def _prepare(self, data: Interactions) -> None:
        """Set extra fitted attributes from the (compacted) training data before the module is built."""

    def _forward(self, module: nn.Module, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Raw scores (n,) for index pairs (n,), on the module's device."""
        return module(users, items)

    def _penalty(self, module: nn.Module, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """L2 term scaled by ``reg``: the module's ``penalty(users, items)``, or 0 when it has none."""
        fn = getattr(module, "penalty", None)
        return fn(users, items) if fn is not None else torch.zeros((), device=users.device)

    def _init_module(self, module: nn.Module, generator: torch.Generator) -> None:
        """Apply ``init`` to embeddings and ``dense_init`` to dense layers (biases and bias tables zeroed); for MSE
        the module's ``reset_output(mean_target)`` then starts the output bias at the mean target."""
        init_module_(module, self.init, generator, dense=self.dense_init)
        reset = getattr(module, "reset_output", None)
        if reset is not None and self.loss_ == "mse":
            reset(self._mean_target_)

    def _train_module(self, module: nn.Module, train: PairTensors, validation: ValidationSet | None, sampler: NegativeSampler | None) -> nn.Module:
        """Run the trainer; returns the trained module (best weights). Override to add stages (pre-training)."""
        trainer = Trainer(self._training_hooks(), module, self._train_config(), self._generator, sampler, progress=getattr(self, "_progress", False))
        trainer.fit(train, validation)
        self.best_epoch_ = int(trainer.best_epoch)
        self.epochs_run_ = int(len(self.history_))
        self.stopped_early_ = bool(trainer.stopped_early)
        return module

    def _training_hooks(self) -> TrainingHooks:
        """The narrow view of this model that the trainer works through."""
        return TrainingHooks(
            name=self.name,
            n_items=self.n_items_,
            forward=self._forward,
            forward_all=self._forward_all,
            penalty=self._penalty,
            to_output=functools.partial(self._to_output, clip=True),
            on_epoch=self._report_epoch,
            rating_range=(self.rating_min_, self.rating_max_) if self.kind_ == "explicit" else None,
        )

    # ------------------------------------------------------------------ fitting
    def _resolved_loss(self, kind: str) -> str:
        loss = self.loss
        if loss == "auto":
            loss = "mse" if kind == "explicit" else "bce"
        if loss == "ordinal" and kind != "binary":
            raise ConfigError(
                f"{self.name}: loss='ordinal' learns like/dislike from ratings; fit binary data made by Interactions.binarize (--target binary:T)"
            )
        if kind == "explicit" and loss != "mse":
            raise ConfigError(
                f"{self.name}: loss={loss!r} ranks implicit feedback; explicit ratings need loss='mse' (or fit implicit data: --implicit / data.as_implicit())"
            )
        return loss

    def _check_listwise(self, module: nn.Module) -> None:
        """A listwise loss needs :meth:`_forward_all`: a module whose ``score_all`` trains (``trains_on_score_all``)
        and the plain ``_forward``."""
        trainable = getattr(module, "trains_on_score_all", False) and type(self)._forward is NeuralRecommender._forward
        if self.loss_ in LISTWISE and not trainable:
            raise ConfigError(
                f"{self.name}: loss={self.loss_!r} needs a model that scores every item at once (embedding-dot, gmf, mlp, neumf); use loss='softmax'"
            )

    def _forward_all(self, module: nn.Module, users: torch.Tensor) -> torch.Tensor:
        """Raw scores of every item (b, n_items) for user indices (b,), with gradients (listwise losses)."""
        return module.score_all(users)

    def _train_config(self) -> TrainConfig:
        kind_neg = 0 if self.kind_ == "explicit" or self.loss_ in LISTWISE else self.negatives
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            reg=self.reg,
            optimizer=self.optimizer,
            loss=self.loss_,
            negatives=kind_neg,
            patience=self.patience,
            device=torch.device(self.device_),
            ordinal=self._ordinal_tensors(),
        )

    def _ordinal_tensors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        if self.loss_ != "ordinal":
            return None
        dev = torch.device(self.device_)
        return torch.tensor(self.ordinal_levels_, device=dev), torch.tensor(self.ordinal_offsets_, device=dev)

    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        self.loss_ = self._resolved_loss(data.kind)
        if self.loss_ == "ordinal" and data.raw_ratings is None:
            raise ConfigError(f"{self.name}: loss='ordinal' needs the ratings behind the labels (binary data from --target binary:T / Interactions.binarize)")
        self.n_users_ = int(data.n_users)
        self.n_items_ = int(data.n_items)
        self.device_ = str(local_device(_resolve_device(self.device, self.name)))  # under torchrun: this rank's GPU
        rng = np.random.default_rng(self.random_state)
        train_rows, val_rows = self._split_holdout(data, validation, rng)
        self._set_targets(data, train_rows)
        with _torch_context(self.random_state, self.device_):
            self._generator = torch.Generator().manual_seed(self.random_state)
            self._prepare(data)
            train = self._train_tensors(data, train_rows)
            sampler = self._make_sampler(data) if self._needs_sampler() else None
            val = self._validation_set(data, validation, val_rows, rng)
            module = self._build_module()
            self._check_listwise(module)
            self._init_module(module, self._generator)
            module = module.to(self.device_)
            module = self._train_module(module, train, val, sampler)
        self.module_ = module.cpu().eval()
        del self._generator

    def _needs_sampler(self) -> bool:
        if self.kind_ == "explicit" or self.loss_ in LISTWISE:
            return False
        return self.negatives > 0 or self.loss_ in PAIRWISE

    def _make_sampler(self, data: Interactions) -> NegativeSampler:
        return NegativeSampler(data.to_csr("binary"), self._generator)

    def _split_holdout(self, data: Interactions, validation: Interactions | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Training and held-out row indices (held-out only when no validation data is given)."""
        rows = np.arange(len(data))
        if validation is not None or self.holdout <= 0:
            return rows, rows[:0]
        held = rng.random(len(data)) < self.holdout
        return rows[~held], rows[held]

    def _set_targets(self, data: Interactions, rows: np.ndarray) -> None:
        """Fit the target normalisation on the training rows (explicit data only)."""
        self.target_offset_ = np.zeros(self.n_users_, dtype=np.float32)
        self.target_scale_ = 1.0
        r = data.ratings[rows].astype(np.float64)
        if self.kind_ == "explicit" and self.normalize == "user_center":
            sums = np.bincount(data.users[rows], weights=r, minlength=self.n_users_)
            counts = np.bincount(data.users[rows], minlength=self.n_users_)
            mean = float(r.mean()) if len(r) else 0.0
            self.target_offset_ = np.where(counts > 0, sums / np.maximum(counts, 1), mean).astype(np.float32)
        elif self.kind_ == "explicit" and self.normalize == "minmax":
            lo, hi = float(r.min()), float(r.max())
            self.target_offset_ = np.full(self.n_users_, lo, dtype=np.float32)
            self.target_scale_ = max(hi - lo, 1e-6)
        if self.loss_ == "ordinal":
            self._set_ordinal_cuts(data.raw_ratings[rows], float(data.meta.get("binary_threshold", 4.0)))  # type: ignore[index]  # the ordinal loss checked raw_ratings in fit
        t = self._targets(data.users[rows], data.ratings[rows]) if self.kind_ == "explicit" else np.ones(1, np.float32)
        if self.kind_ == "binary":
            t = data.ratings[rows]
        self.output_range_ = [float(t.min()), float(t.max())] if len(t) else [0.0, 1.0]
        self._mean_target_ = float(t.mean()) if len(t) else 0.0

    def _set_ordinal_cuts(self, ratings: np.ndarray, threshold: float) -> None:
        """Ordinal levels (every rating value above the lowest) and their logit offsets relative to the like
        threshold: ``logit P(r >= level) - logit P(r >= threshold)`` on the training ratings."""
        values = np.unique(ratings.astype(np.float64))
        levels = values[1:] if len(values) > 1 else values

        def logit(level: float) -> float:
            p = float(np.clip(np.mean(ratings >= level), 1e-4, 1 - 1e-4))
            return float(np.log(p / (1 - p)))

        base = logit(threshold)
        self.ordinal_levels_ = [float(v) for v in levels]
        self.ordinal_offsets_ = [logit(v) - base for v in levels]

    def _targets(self, users: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Ratings in training units, (n,) float32."""
        return ((ratings - self.target_offset_[users]) / self.target_scale_).astype(np.float32)

    def _train_tensors(self, data: Interactions, rows: np.ndarray) -> PairTensors:
        if self.kind_ == "binary" and self.loss_ in RANKING:
            rows = rows[data.ratings[rows] > 0]
        users, items, ratings = data.users[rows], data.items[rows], data.ratings[rows]
        weights = data.subset(rows).recency_weights(self.recency) if self.recency > 0 else None
        if self.kind_ == "explicit":
            return PairTensors.from_arrays(users, items, self._targets(users, ratings), weights)
        targets = ratings if self.kind_ == "binary" else np.ones(len(users), dtype=np.float32)
        if self.loss_ == "ordinal":
            targets = data.raw_ratings[rows]  # type: ignore[index]  # the ordinal loss checked raw_ratings in fit
        return PairTensors.from_arrays(users, items, targets, weights)

    def _validation_set(self, data: Interactions, validation: Interactions | None, val_rows: np.ndarray, rng: np.random.Generator) -> ValidationSet | None:
        """Map validation data (or held-out rows) to indices; unknown users/items are dropped."""
        if validation is not None:
            vu = self.user_map_.lookup(validation.user_map.to_raw(validation.users))
            vi = self.item_map_.lookup(validation.item_map.to_raw(validation.items))
            ok = (vu >= 0) & (vi >= 0)
            vu, vi, vr = vu[ok], vi[ok], validation.ratings[ok]
        elif len(val_rows):
            vu, vi, vr = data.users[val_rows], data.items[val_rows], data.ratings[val_rows]
        else:
            return None
        if len(vu) == 0:
            return None
        if self.kind_ == "explicit":
            pairs = PairTensors.from_arrays(vu, vi, self._targets(vu, vr))
            return ValidationSet(pairs=pairs, ratings=torch.as_tensor(vr.astype(np.float32)))
        if self.kind_ == "binary":
            return ValidationSet(pairs=PairTensors.from_arrays(vu, vi, vr.astype(np.float32)))
        return self._ranking_validation(data, vu, vi, rng)

    def _ranking_validation(self, data: Interactions, vu: np.ndarray, vi: np.ndarray, rng: np.random.Generator) -> ValidationSet:
        """One held-out item per validation user against sampled items the user never interacted with."""
        order = rng.permutation(len(vu))
        uniq, first = np.unique(vu[order], return_index=True)
        pos = vi[order][first]
        import scipy.sparse as sp

        known = data.to_csr("binary") + sp.csr_matrix((np.ones(len(vu), np.float32), (vu, vi)), shape=(self.n_users_, self.n_items_))
        sampler = NegativeSampler(known, torch.Generator().manual_seed(self.random_state + 1))
        users_t = torch.as_tensor(uniq.astype(np.int64))
        free = self.n_items_ - torch.as_tensor(np.diff(sp.csr_matrix(known).indptr))[users_t]
        keep = free > 0
        users_t = users_t[keep]
        negs = sampler.sample(users_t, VALIDATION_CANDIDATES)
        cands = torch.cat([torch.as_tensor(pos.astype(np.int64))[keep][:, None], negs], dim=1)
        return ValidationSet(rank_users=users_t, rank_items=cands)

    # ------------------------------------------------------------------ scoring
    def _to_output(self, scores: np.ndarray, users: np.ndarray, clip: bool = False) -> np.ndarray:
        """Raw module outputs -> predictions: ratings on the training scale (explicit), probabilities (binary
        data with BCE) or the raw score (implicit). ``clip`` limits ratings to the training range."""
        if self.kind_ == "explicit":
            out = scores * self.target_scale_ + self.target_offset_[users]
            if clip:
                out = np.clip(out, self.rating_min_, self.rating_max_)
            return out.astype(np.float32)
        if self.kind_ == "binary" and self.loss_ in ("bce", "ordinal"):
            return (1.0 / (1.0 + np.exp(-scores))).astype(np.float32)
        return np.asarray(scores, dtype=np.float32)

    @torch.no_grad()
    def _module_scores(self, users: np.ndarray) -> np.ndarray:
        """Raw outputs for every item, (len(users), n_items): ``score_all`` or blocks of repeated pairs."""
        module = self.module_
        u = torch.as_tensor(np.asarray(users, dtype=np.int64))
        if hasattr(module, "score_all") and type(self)._forward is NeuralRecommender._forward:
            return module.score_all(u).float().numpy()
        out = np.empty((len(u), self.n_items_), dtype=np.float32)
        items = torch.arange(self.n_items_)
        block = max(1, SCORE_BLOCK // max(self.n_items_, 1))
        for s in range(0, len(u), block):
            ub = u[s : s + block]
            scores = self._forward(module, ub.repeat_interleave(self.n_items_), items.repeat(len(ub)))
            out[s : s + block] = scores.view(len(ub), self.n_items_).float().numpy()
        return out

    def _score(self, users: np.ndarray) -> np.ndarray:
        with _threads():
            raw = self._module_scores(users)
        if self.kind_ == "explicit":
            return (raw * self.target_scale_ + self.target_offset_[users][:, None]).astype(np.float32)
        return self._to_output(raw, users)

    @torch.no_grad()
    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        out = np.empty(len(users), dtype=np.float32)
        with _threads():
            for s in range(0, len(users), SCORE_BLOCK):
                u = torch.as_tensor(users[s : s + SCORE_BLOCK].astype(np.int64))
                i = torch.as_tensor(items[s : s + SCORE_BLOCK].astype(np.int64))
                out[s : s + SCORE_BLOCK] = self._forward(self.module_, u, i).float().numpy()
        return self._to_output(out, users)

    def _item_vectors(self) -> np.ndarray | None:
        fn = getattr(self.module_, "item_vectors", None)
        if fn is None:
            return None
        with torch.no_grad():
            return fn().detach().float().cpu().numpy()

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """A new user: gradient steps on fresh user rows, everything else frozen (:mod:`~cofirec.models.neural.fold_in`)."""
        from cofirec.models.neural.fold_in import can_fold_in, fold_in_rows

        if not can_fold_in(self.module_):
            return super()._fold_in(idx, values)
        with _threads():
            rows, offset = fold_in_rows(self, idx, values)
            with torch.no_grad():
                raw = self.module_.score_rows(rows)[0].float().numpy()
        if self.kind_ == "explicit":
            return (raw * self.target_scale_ + offset).astype(np.float32)
        return self._to_output(raw[None, :], np.zeros(1, dtype=np.int64))[0]

    # ------------------------------------------------------------------ persistence
    def _module_from_state(self, attr: str, state: dict[str, np.ndarray]) -> Any:
        if attr != "module_":
            return super()._module_from_state(attr, state)
        module = self._build_module()
        module.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
        return module.eval()
