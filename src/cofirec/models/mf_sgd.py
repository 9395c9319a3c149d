"""Biased matrix factorisation trained by SGD (Funk SVD), with an optional SVD++ implicit-feedback term.

The pieces shared with the other factor models live in :mod:`cofirec.models._factor`.

How the defaults were chosen: on ML-100K ``u1.base`` only, a random 10% of the training ratings was held out
(seed 0) and a small grid (factors 100/300, reg 0.05/0.08/0.12, lr 0.005/0.01, lr_decay 0.98, early stopping)
was scored on that held-out part (best: 100 factors, reg 0.08, lr 0.01, best epoch 53 -> 60 epochs, validation
RMSE 0.911). The SVD++ settings used by the benchmark (lr 0.007, reg 0.08, reg_implicit 0.2, 26 epochs; validation
RMSE 0.903) came from the same held-out part. ``u1.test`` was never used for choosing. The defaults are now an
SVD++ setting (lr 0.01, reg_implicit 0.5, 20 epochs) that is at least as good as both of those on validation
parts of ML-100K u1.base, ml-latest-small and ml-1m-half (``bench/bench_defaults.py``). See ``bench/RESULTS.md``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Literal

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.kernels.mf import implicit_user_term, sgd_epoch, svdpp_epoch
from cofirec.models._factor import FactorScoring, FoldIn, check_non_negative, check_positive, ridge_fold_in, validation_pairs, validation_rmse
from cofirec.models._iterative import IterativeModel
from cofirec.models.base import Recommender


# ---------------------------------------------------------------------- the model
class BiasedMF(IterativeModel, FactorScoring, Recommender):
    """Biased matrix factorisation (Funk SVD) trained by SGD over shuffled ratings (numba).

    ``r_hat(u, i) = offset_u + b_u + b_i + p_u . q_i`` minimising the squared error on observed ratings plus
    ``reg * (|p_u|^2 + |q_i|^2) + reg_bias * (b_u^2 + b_i^2)``. With ``implicit_feedback=True`` the user vector
    becomes ``p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j`` (SVD++, Koren 2008); with it, fewer epochs
    work best; it is on by default (validated settings in ``bench/RESULTS.md``, section Defaults).

    Parameters
    ----------
    factors : latent dimension k.
    epochs : maximum passes over the ratings.
    lr, lr_bias : SGD learning rates of factors and biases (``lr_bias=None`` uses ``lr``).
    lr_decay : learning rates are multiplied by this after every epoch.
    reg, reg_bias : L2 weights of factors and biases; ``reg_implicit`` for the ``y_j`` (None: ``reg``).
    init_std : standard deviation of the normal initialisation of factors.
    center : fixed mean normalisation subtracted before learning: ``none``, ``global`` mean or ``user`` mean.
    biases : learn user and item biases.
    implicit_feedback : add the SVD++ implicit term.
    patience : epochs without validation RMSE improvement before stopping (only with ``validation``); the best
        epoch's parameters are kept (``best_epoch_``, counted from 1).
    random_state : seed of initialisation and shuffling.
    """

    name = "mf"
    supported_kinds = frozenset({"explicit", "binary"})
    regresses_labels = True  # squared loss on 0/1 labels: predictions clipped to [0, 1] are like probabilities

    def __init__(
        self,
        factors: int = 100,
        epochs: int = 20,
        lr: float = 0.01,
        lr_bias: float | None = None,
        lr_decay: float = 0.98,
        reg: float = 0.08,
        reg_bias: float = 0.01,
        reg_implicit: float | None = 0.5,
        init_std: float = 0.05,
        center: Literal["none", "global", "user"] = "global",
        biases: bool = True,
        implicit_feedback: bool = True,
        patience: int = 3,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.lr_bias = lr_bias
        self.lr_decay = lr_decay
        self.reg = reg
        self.reg_bias = reg_bias
        self.reg_implicit = reg_implicit
        self.init_std = init_std
        self.center = center
        self.biases = biases
        self.implicit_feedback = implicit_feedback
        self.patience = patience
        self.random_state = random_state

    def _check_params(self) -> None:
        check_positive(self, factors=self.factors, epochs=self.epochs, lr=self.lr, lr_decay=self.lr_decay)
        check_non_negative(self, reg=self.reg, reg_bias=self.reg_bias, init_std=self.init_std, patience=self.patience)
        if self.lr_bias is not None:
            check_positive(self, lr_bias=self.lr_bias)
        if self.reg_implicit is not None:
            check_non_negative(self, reg_implicit=self.reg_implicit)

    def _offsets(self, data: Interactions) -> np.ndarray:
        if self.center == "global":
            return np.full(data.n_users, data.global_mean, dtype=np.float32)
        if self.center == "user":
            return data.user_means()
        return np.zeros(data.n_users, dtype=np.float32)

    # ------------------------------------------------------------------ the epoch hooks of IterativeModel
    def _init_training(self, data: Interactions, validation: Interactions | None) -> bool:
        rng = np.random.default_rng(self.random_state)
        k = self.factors
        P = rng.normal(0.0, self.init_std, (data.n_users, k)).astype(np.float32)
        Q = rng.normal(0.0, self.init_std, (data.n_items, k)).astype(np.float32)
        self.user_offset_ = self._offsets(data)
        users = data.users.astype(np.int32)
        items = data.items.astype(np.int32)
        targets = (data.ratings - self.user_offset_[users]).astype(np.float32)
        csr = None
        if self.implicit_feedback:
            import scipy.sparse as sp

            csr = sp.csr_matrix((targets, (users, items)), shape=(data.n_users, data.n_items))
            csr.sort_indices()
        self._run = SimpleNamespace(
            rng=rng,
            users=users,
            items=items,
            targets=targets,
            csr=csr,
            n_users=data.n_users,
            lr=float(self.lr),
            lr_bias=float(self.lr_bias if self.lr_bias is not None else self.lr),
            reg_y=float(self.reg if self.reg_implicit is None else self.reg_implicit),
            val=validation_pairs(self, validation),
            state={
                "P": P,
                "Q": Q,
                "bu": np.zeros(data.n_users, dtype=np.float32),
                "bi": np.zeros(data.n_items, dtype=np.float32),
                **({"Y": np.zeros((data.n_items, k), dtype=np.float32)} if self.implicit_feedback else {}),
            },
        )
        return self._run.val is not None

    def _train_epoch(self, epoch: int) -> dict:
        run, s = self._run, self._run.state
        if run.csr is None:
            order = run.rng.permutation(len(run.users)).astype(np.int64)
            sse = sgd_epoch(
                run.users, run.items, run.targets, order, s["P"], s["Q"], s["bu"], s["bi"], run.lr, run.lr_bias, self.reg, self.reg_bias, self.biases
            )
        else:
            uorder = run.rng.permutation(run.n_users).astype(np.int64)
            sse = svdpp_epoch(
                run.csr.indptr,
                run.csr.indices,
                run.csr.data,
                uorder,
                int(run.rng.integers(2**31 - 1)),
                s["P"],
                s["Q"],
                s["Y"],
                s["bu"],
                s["bi"],
                run.lr,
                run.lr_bias,
                self.reg,
                self.reg_bias,
                run.reg_y,
                self.biases,
            )
        self._set_state(s)
        record = {"loss": self._loss(sse, s), "train_rmse": float(np.sqrt(sse / len(run.users))), "lr": run.lr}
        run.lr *= self.lr_decay
        run.lr_bias *= self.lr_decay
        return record

    def _validate(self) -> dict[str, float]:
        return {"val_rmse": validation_rmse(self, self._run.val)}

    def _get_state(self) -> dict[str, np.ndarray]:
        return self._run.state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        """Fitted factors from the working arrays (SVD++: the user vectors include the implicit term)."""
        Y = state.get("Y")
        P = state["P"] if Y is None else state["P"] + implicit_user_term(self._run.csr.indptr, self._run.csr.indices, Y)
        if Y is not None:
            self.implicit_factors_ = np.array(Y, copy=True)
        else:
            self.__dict__.pop("implicit_factors_", None)
        self.user_factors_ = np.array(P, copy=True)
        self.item_factors_ = np.array(state["Q"], copy=True)
        self.user_bias_ = np.array(state["bu"], copy=True)
        self.item_bias_ = np.array(state["bi"], copy=True)

    def _fold_in_system(self, idx: np.ndarray, values: np.ndarray) -> FoldIn:
        """A new user's ridge problem against the fixed item factors. SGD applies ``reg`` once per rating, so
        the penalty a user's factors (and bias) get is ``reg * n`` (``reg_bias * n``); SVD++: the implicit term
        ``n^-1/2 sum y_j`` of the history is added to the solved ``p``."""
        n = len(idx)
        offset = {"global": self.global_mean_, "user": float(values.mean()), "none": 0.0}[self.center]
        Y = getattr(self, "implicit_factors_", None)
        shift_parts = None if Y is None else Y[idx].astype(np.float64) / np.sqrt(n)
        return ridge_fold_in(self, idx, values, self.reg * n, self.reg_bias * n, self.biases, offset, shift_parts)

    def _loss(self, sse: float, state: dict[str, np.ndarray]) -> float:
        """Objective after the epoch: squared error (accumulated during the pass) plus penalties."""

        def sq(a: np.ndarray) -> float:
            return float(np.sum(a.astype(np.float64) ** 2))

        pen = self.reg * (sq(state["P"]) + sq(state["Q"])) + self.reg_bias * (sq(state["bu"]) + sq(state["bi"]))
        if "Y" in state:
            pen += self._run.reg_y * sq(state["Y"])
        return float(sse) + pen
