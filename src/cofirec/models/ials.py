"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) with a warm-started conjugate-gradient solver.

Every interaction value ``r`` (1 for implicit data, the rating or a count otherwise) becomes a preference
``p = 1`` with confidence ``c = 1 + alpha * r`` (``confidence="linear"``) or ``c = 1 + alpha * log(1 + r /
epsilon)`` (``"log"``); every unobserved pair has ``p = 0, c = 1``. Each half step precomputes
``Y^T Y + reg I`` once and runs a few CG steps per row in parallel (numba ``prange``), as ``implicit``'s
``use_cg``; ``solver="cholesky"`` solves each row exactly instead.

Defaults were chosen on a per-user 75/25 validation split carved from the training part of ML-100K's
per-user 80/20 holdout (test part never used), and the same way on ML-1M-half: with a plain ``reg`` the best
was 16 factors, reg 3, alpha 3 (ML-100K validation NDCG@10 0.289, ML-1M-half 0.271); frequency-scaled
regularisation (``reg_exponent=1``) with 32 factors and reg 0.3 is close to the best on both (0.288 / 0.282;
best found 0.290 with 16 factors, reg 0.1 on ML-100K and 0.289 with 64 factors, reg 0.3 on ML-1M-half), so
it is the default. See ``bench/RESULTS.md``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Literal

import numpy as np
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.kernels.als import gram_plus_reg, implicit_cg_half_step, implicit_direct_half_step, implicit_loss, single_threaded_blas
from cofirec.models._factor import FactorScoring, FoldIn, check_non_negative, check_positive, ranking_ndcg, ranking_validation
from cofirec.models._history import RidgeSystem
from cofirec.models._iterative import IterativeModel
from cofirec.models.base import Recommender


class ImplicitALS(IterativeModel, FactorScoring, Recommender):
    """Weighted matrix factorisation of implicit feedback fitted by alternating least squares.

    Minimises ``sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + reg (|X|^2 + |Y|^2)`` over all user-item pairs.
    Scores are ``x_u . y_i`` (higher is better; not ratings).

    Parameters
    ----------
    factors : latent dimension k.
    epochs : maximum number of (user step, item step) rounds.
    reg : L2 weight of the factors.
    alpha : confidence scale.
    confidence : ``linear`` (``1 + alpha r``) or ``log`` (``1 + alpha log(1 + r / epsilon)``).
    epsilon : scale inside the log confidence.
    reg_exponent : frequency-scaled regularisation (after Rendle et al. 2021, "Revisiting iALS"): row ``u`` gets
        ``reg * n_u ** reg_exponent`` where ``n_u`` is its number of interactions (0: plain ``reg``).
    solver : ``cg`` (``cg_steps`` warm-started conjugate-gradient steps per row) or ``cholesky`` (exact).
    cg_steps : CG steps per row and half step.
    init_std : standard deviation of the normal initialisation.
    track_loss : compute the training loss after every round for ``history_`` (an extra pass over the data and
        the factors every round: 15% of the fit time on ML-100K, up to a third on a 4.6M-interaction log; off
        by default, as in ``implicit``). Divergence is still caught without it (non-finite factors stop training).
    patience : rounds without validation NDCG@10 improvement before stopping (only with ``validation``).
    random_state : seed of the initialisation.
    """

    name = "ials"
    predicts_ratings = False
    monitor = ("val_ndcg@10", "max")
    divergence_hint = "lower alpha or reg_exponent, or rescale the interaction values"
    renamed_params = {"iterations": "epochs"}

    def __init__(
        self,
        factors: int = 32,
        epochs: int = 15,
        reg: float = 0.3,
        alpha: float = 3.0,
        confidence: Literal["linear", "log"] = "linear",
        epsilon: float = 1.0,
        reg_exponent: float = 1.0,
        solver: Literal["cg", "cholesky"] = "cg",
        cg_steps: int = 3,
        init_std: float = 0.01,
        track_loss: bool = False,
        patience: int = 2,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.epochs = epochs
        self.reg = reg
        self.alpha = alpha
        self.confidence = confidence
        self.epsilon = epsilon
        self.reg_exponent = reg_exponent
        self.solver = solver
        self.cg_steps = cg_steps
        self.init_std = init_std
        self.track_loss = track_loss
        self.patience = patience
        self.random_state = random_state

    def _check_params(self) -> None:
        check_positive(self, factors=self.factors, epochs=self.epochs, cg_steps=self.cg_steps, epsilon=self.epsilon)
        check_non_negative(self, reg=self.reg, alpha=self.alpha, init_std=self.init_std, patience=self.patience)

    def confidences(self, values: np.ndarray) -> np.ndarray:
        """Confidence ``c`` (float32, same shape) of interaction values ``r``; negative values count as 0."""
        r = np.maximum(values.astype(np.float32), 0.0)
        if self.confidence == "log":
            return (1.0 + self.alpha * np.log1p(r / self.epsilon)).astype(np.float32)
        return (1.0 + self.alpha * r).astype(np.float32)

    # ------------------------------------------------------------------ the epoch hooks of IterativeModel
    def _init_training(self, data: Interactions, validation: Interactions | None) -> bool:
        rng = np.random.default_rng(self.random_state)
        k = self.factors
        cu = self._confidence_matrix(data)
        ci = cu.T.tocsr()
        ci.sort_indices()
        X = rng.normal(0.0, self.init_std, (data.n_users, k)).astype(np.float32)
        Y = rng.normal(0.0, self.init_std, (data.n_items, k)).astype(np.float32)
        self.user_bias_ = np.zeros(data.n_users, dtype=np.float32)
        self.item_bias_ = np.zeros(data.n_items, dtype=np.float32)
        self.user_offset_ = np.zeros(data.n_users, dtype=np.float32)
        self._set_state({"X": X, "Y": Y})
        self._run = SimpleNamespace(
            cu=cu,
            ci=ci,
            reg_u=self._row_reg(cu),
            reg_i=self._row_reg(ci),
            state={"X": X, "Y": Y},
            ranking=ranking_validation(self, cu, validation),  # only the pattern of cu is used (no new CSR)
        )
        return self._run.ranking is not None

    def _training_context(self):
        return single_threaded_blas()

    def _train_epoch(self, epoch: int) -> dict:
        run, X, Y = self._run, self._run.state["X"], self._run.state["Y"]
        self._half_step(run.cu, Y, X, run.reg_u)
        self._half_step(run.ci, X, Y, run.reg_i)
        return {"loss": implicit_loss(run.cu, X, Y, self.reg)} if self.track_loss else {}

    def _validate(self) -> dict[str, float]:
        return {"val_ndcg@10": ranking_ndcg(self, *self._run.ranking, 10)}  # type: ignore[call-arg]  # ranking is (truth, exclude)

    def _get_state(self) -> dict[str, np.ndarray]:
        return self._run.state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        """The working factors are the fitted ones while training; the best epoch's copies replace them at the end."""
        self.user_factors_, self.item_factors_ = state["X"], state["Y"]

    def _fold_in_system(self, idx: np.ndarray, values: np.ndarray) -> FoldIn:
        """A new user's exact iALS solve: ``(Y^T Y + Y_h^T (C_h - 1) Y_h + reg n^e I) x = Y_h^T c_h`` (Cholesky-exact
        rather than the training's CG steps)."""
        Y = self.item_factors_
        gram = self._cached_gram(Y)
        conf = self.confidences(values).astype(np.float64)
        lam = np.full(Y.shape[1], self.reg * max(len(idx), 1) ** self.reg_exponent)
        return FoldIn(system=RidgeSystem(a=Y[idx].astype(np.float64), rhs=conf, w=conf - 1.0, lam=lam, gram=gram))

    def _cached_gram(self, Y: np.ndarray) -> np.ndarray:
        """``Y^T Y`` (float64) of the fitted item factors, kept until the factors change; summed over blocks of
        rows so a large catalogue never needs a float64 copy of all its factors."""
        cache = self.__dict__.get("_gram_cache")
        if cache is None or cache[0] is not self.item_factors_:
            block = 65_536
            gram = np.zeros((Y.shape[1], Y.shape[1]))
            for b0 in range(0, len(Y), block):
                part = Y[b0 : b0 + block].astype(np.float64)
                gram += part.T @ part
            cache = (self.item_factors_, gram)
            self.__dict__["_gram_cache"] = cache
        return cache[1]

    def _confidence_matrix(self, data: Interactions) -> sp.csr_matrix:
        """User x item CSR of confidences. When ``seen_`` holds exactly the training pairs (no ``also_seen``), its
        index arrays are shared and only the values are new (half a matrix instead of a matrix plus the COO copies)."""
        seen = self.seen_
        if seen.nnz != len(data) or seen.shape != (data.n_users, data.n_items):
            cu = sp.csr_matrix((self.confidences(data.ratings), (data.users, data.items)), shape=(data.n_users, data.n_items), dtype=np.float32)
            cu.sort_indices()
            return cu
        values = data.ratings
        if len(values) and values.min() == values.max():  # one value (implicit data): no reordering needed
            conf = np.full(len(values), self.confidences(values[:1])[0], dtype=np.float32)
        else:
            conf = self.confidences(values[np.lexsort((data.items, data.users))])  # the CSR order of the pairs
        return sp.csr_matrix((conf, seen.indices, seen.indptr), shape=seen.shape)

    def _row_reg(self, conf: sp.csr_matrix) -> np.ndarray:
        """Per-row extra L2 weight on top of ``reg``: ``reg * (n_u ** reg_exponent - 1)`` (zeros when 0)."""
        if self.reg_exponent == 0:
            return np.zeros(conf.shape[0], dtype=np.float32)
        counts = np.maximum(np.diff(conf.indptr), 1).astype(np.float64)
        return (self.reg * (counts**self.reg_exponent - 1.0)).astype(np.float32)

    def _half_step(self, conf: sp.csr_matrix, other: np.ndarray, out: np.ndarray, row_reg: np.ndarray) -> None:
        """Solve every row of ``out`` given the fixed factors ``other`` (rows of ``conf`` index ``out``).

        Called inside :func:`single_threaded_blas` (numpy's multi-threaded BLAS is ~100x slower on small
        Gram matrices when the cores are busy)."""
        gram = gram_plus_reg(other, self.reg)
        if self.solver == "cg":
            implicit_cg_half_step(conf.indptr, conf.indices, conf.data, other, gram, out, self.cg_steps, row_reg)
        else:
            implicit_direct_half_step(conf.indptr, conf.indices, conf.data, other, gram, out, row_reg)
