"""EASE: embarrassingly shallow autoencoder (Steck 2019), a closed-form item-item linear model."""

from __future__ import annotations

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError, DataError
from cofirec.models.base import Recommender


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """Closed-form EASE item-item weights from the Gram matrix.

    Parameters
    ----------
    gram : float array, shape (n_items, n_items)
        ``X^T X`` of the binary user x item matrix.
    l2 : float
        Ridge penalty added to the diagonal.

    Returns
    -------
    float64 array (n_items, n_items): ``B = I - P / diag(P)`` (column j divided by ``P_jj``) with
    ``P = (X^T X + l2 I)^-1``; ``diag(B) = 0``.
    """
    g = np.array(gram, dtype=np.float64, copy=True)
    g[np.diag_indices_from(g)] += l2
    p = _inverse(g)
    b = -p / np.diag(p)[None, :]
    b[np.diag_indices_from(b)] = 0.0
    return b


def _inverse(g: np.ndarray) -> np.ndarray:
    """Inverse of the regularised Gram matrix (LAPACK LU via numpy: faster here than Cholesky + dpotri)."""
    try:
        return np.linalg.inv(g)
    except np.linalg.LinAlgError as exc:
        raise DataError(f"ease: cannot invert the regularised Gram matrix ({exc}); raise reg") from exc


class EASE(Recommender):
    """EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019).

    Learns a dense item x item weight matrix ``B`` (``weights_``, float32 (n_items, n_items)) with zero
    diagonal minimising ``|X - X B|^2 + reg |B|^2`` in closed form; a user's scores are ``X_u B``. ``X`` is the
    binary interaction matrix (explicit ratings count as interactions), so scores rank items and are not
    ratings. Fitting inverts an n_items x n_items matrix: O(n_items^3) time and 8 n_items^2 bytes; more than
    ``max_items`` items is refused.

    ``reg`` is Steck's lambda (called ``l2`` before; saved models with that name still load).

    Defaults: ``reg`` checked on ml-100k ``u1.base`` as implicit data with a per-user 80/20 holdout carved
    from it (``u1.test`` never used), validation NDCG@10 over unseen items for reg = 50/100/200/300/500/1000/
    2000: 0.288/0.305/0.311/0.315/0.313/0.306/0.296 (popularity 0.164). 300 and 500 are within noise; 500
    (Steck's choice for larger data, where the optimum grows with the number of users) is kept.
    """

    name = "ease"
    renamed_params = {"l2": "reg"}
    predicts_ratings = False
    state_axes = {"weights_": ("items", "items")}  # checked when a saved model is loaded

    def __init__(self, reg: float = 500.0, max_items: int = 20_000) -> None:
        self.reg = reg
        self.max_items = max_items

    def _check_params(self) -> None:
        if self.reg <= 0:
            raise ConfigError(f"ease: reg must be > 0, got {self.reg}")
        if self.max_items < 1:
            raise ConfigError(f"ease: max_items must be >= 1, got {self.max_items}")

    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        if data.n_items > self.max_items:
            raise DataError(
                f"ease: {data.n_items} items is more than max_items={self.max_items} (a dense item x item matrix of "
                f"{8 * data.n_items**2 / 1e9:.1f} GB); filter rare items or raise max_items"
            )
        x = self.seen_.astype(np.float64)
        gram = (x.T @ x).toarray()
        self.weights_ = ease_weights(gram, self.reg).astype(np.float32)

    def _score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.seen_[users] @ self.weights_, dtype=np.float32)

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Per pair ``X_u . B[:, i]``: a gather over the user's history, no dense (n_pairs, n_items) block.

        With many pairs per user, whole score rows (``_score``) are cheaper.
        """
        if len(users) >= 8 * len(np.unique(users)):
            return super()._predict_pairs(users, items)
        seen = self.seen_[users]
        rows = np.repeat(np.arange(len(users)), np.diff(seen.indptr))
        contrib = self.weights_[seen.indices, items[rows]]
        return np.bincount(rows, weights=contrib, minlength=len(users)).astype(np.float32)

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``x B`` for the new user's binary row ``x`` (EASE's X is binary: any value counts as 1)."""
        return self.weights_[idx].sum(axis=0, dtype=np.float64).astype(np.float32)

    def _contributions(self, idx: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Exactly the score's terms: ``B[h, t]`` for each history item h (its X entry is 1)."""
        return self.weights_[np.ix_(idx, targets)].T.astype(np.float64)

    def _item_similarities(self, iidx: np.ndarray) -> np.ndarray:
        return self.weights_[iidx].astype(np.float32, copy=True)
