"""Bayesian Personalised Ranking (Rendle et al. 2009): pairwise SGD with uniformly sampled negatives.

Each epoch draws ``nnz`` triples: a training interaction (u, i) uniformly, then an item j the user has not
interacted with, uniformly; the numba kernel takes one SGD step on ``-log sigmoid(x_uij)`` per triple.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.kernels.bpr import bpr_epoch
from cofirec.models._factor import FactorScoring, check_non_negative, check_positive, ranking_ndcg, ranking_validation
from cofirec.models._iterative import IterativeModel
from cofirec.models.base import Recommender

_FOLD_IN_PAIRS = 100_000
"""Most (history item, other item) pairs a fold-in optimises over (other items are sampled beyond this)."""


class BPR(IterativeModel, FactorScoring, Recommender):
    """Matrix factorisation with item biases fitted by BPR-Opt; scores ``b_i + p_u . q_i``.

    Parameters
    ----------
    factors : latent dimension k.
    epochs : maximum passes (``nnz`` sampled triples each).
    lr : SGD learning rate; lr_decay : multiplied into ``lr`` after every epoch.
    reg : L2 weight of the factors; reg_bias : L2 weight of the item biases.
    biases : learn item biases.
    init_std : standard deviation of the normal initialisation.
    patience : epochs without validation NDCG@10 improvement before stopping (only with ``validation``).
    random_state : seed of initialisation and sampling.
    """

    name = "bpr"
    predicts_ratings = False
    monitor = ("val_ndcg@10", "max")

    def __init__(
        self,
        factors: int = 64,
        epochs: int = 40,
        lr: float = 0.05,
        lr_decay: float = 1.0,
        reg: float = 0.005,
        reg_bias: float = 0.001,
        biases: bool = True,
        init_std: float = 0.1,
        patience: int = 3,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.lr = lr
        self.lr_decay = lr_decay
        self.reg = reg
        self.reg_bias = reg_bias
        self.biases = biases
        self.init_std = init_std
        self.patience = patience
        self.random_state = random_state

    def _check_params(self) -> None:
        check_positive(self, factors=self.factors, epochs=self.epochs, lr=self.lr, lr_decay=self.lr_decay)
        check_non_negative(self, reg=self.reg, reg_bias=self.reg_bias, init_std=self.init_std, patience=self.patience)

    # ------------------------------------------------------------------ the epoch hooks of IterativeModel
    def _init_training(self, data: Interactions, validation: Interactions | None) -> bool:
        rng = np.random.default_rng(self.random_state)
        k = self.factors
        # seen_ is the binary matrix of the training pairs unless also_seen added more: reuse it (no second copy)
        csr = self.seen_ if self.seen_.nnz == len(data) and self.seen_.shape == (data.n_users, data.n_items) else data.to_csr("binary")
        users_of = np.repeat(np.arange(data.n_users, dtype=np.int32), np.diff(csr.indptr))
        P = rng.normal(0.0, self.init_std, (data.n_users, k)).astype(np.float32)
        Q = rng.normal(0.0, self.init_std, (data.n_items, k)).astype(np.float32)
        self.user_bias_ = np.zeros(data.n_users, dtype=np.float32)
        self.user_offset_ = np.zeros(data.n_users, dtype=np.float32)
        self._run = SimpleNamespace(
            rng=rng,
            csr=csr,
            users_of=users_of,
            lr=float(self.lr),
            state={"P": P, "Q": Q, "b": np.zeros(data.n_items, dtype=np.float32)},
            ranking=ranking_validation(self, csr, validation),
        )
        return self._run.ranking is not None

    def _train_epoch(self, epoch: int) -> dict:
        run, s = self._run, self._run.state
        seed = int(run.rng.integers(2**31 - 1))
        loss, acc = bpr_epoch(
            run.csr.indptr, run.csr.indices, run.users_of, run.csr.nnz, seed, s["P"], s["Q"], s["b"], run.lr, self.reg, self.reg_bias, self.biases
        )
        self._set_state(s)
        record = {"loss": float(loss), "train_auc": float(acc), "lr": run.lr}
        run.lr *= self.lr_decay
        return record

    def _validate(self) -> dict[str, float]:
        return {"val_ndcg@10": ranking_ndcg(self, *self._run.ranking, 10)}  # type: ignore[call-arg]  # ranking is (truth, exclude)

    def _get_state(self) -> dict[str, np.ndarray]:
        return self._run.state

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Scores of a new user: BPR-Opt on the user vector alone (item factors and biases fixed), i.e. the mean
        over (history item, other item) pairs of ``-log sigmoid(x_ui - x_uj)`` plus ``reg / 2 |p|^2`` (what the
        per-triple SGD updates minimise), by L-BFGS. Other items: all of them, or a seeded sample of large catalogues."""
        from scipy.optimize import minimize

        q, b = self.item_factors_.astype(np.float64), self.item_bias_.astype(np.float64)
        others = np.setdiff1d(np.arange(self.n_items), idx)
        limit = max(100, _FOLD_IN_PAIRS // max(len(idx), 1))
        if len(others) > limit:
            others = np.sort(np.random.default_rng(0).choice(others, limit, replace=False))
        qh, qo = q[idx], q[others]
        bd = b[idx][:, None] - b[others][None, :]
        reg = float(self.reg)

        def objective(p: np.ndarray) -> tuple[float, np.ndarray]:
            d = (qh @ p)[:, None] - (qo @ p)[None, :] + bd  # (history, others)
            loss = np.logaddexp(0.0, -d).mean() + 0.5 * reg * p @ p
            s = 0.5 * (1.0 - np.tanh(0.5 * d)) / d.size  # sigmoid(-d), scaled for the mean
            g = -(qh.T @ s.sum(axis=1) - qo.T @ s.sum(axis=0)) + reg * p
            return float(loss), g

        p = minimize(objective, np.zeros(q.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 100}).x
        return (q @ p + b).astype(np.float32)

    def _contributions(self, idx: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """BPR has no closed-form fold-in: a history item's contribution is ``q_t . q_h`` times its value."""
        q = self.item_factors_.astype(np.float64)
        return (q[targets] @ q[idx].T) * values[None, :]

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.user_factors_ = np.array(state["P"], copy=True)
        self.item_factors_ = np.array(state["Q"], copy=True)
        self.item_bias_ = np.array(state["b"], copy=True)
