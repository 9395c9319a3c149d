"""EASE: embarrassingly shallow autoencoder (Steck 2019), a closed-form item-item linear model."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError, DataError
from cofirec.models.base import Recommender

_GRAM_BLOCK_CELLS = 4_000_000
"""Item x item cells per block of the sparse Gram product (rows of ``X^T X`` made at a time, about 48 MB)."""

_MIRROR_BLOCK = 256
"""Rows per block when the inverse's lower triangle is copied onto its upper one."""


def ease_weights(gram: np.ndarray, l2: float, *, overwrite: bool = False) -> np.ndarray:
    """Closed-form EASE item-item weights from the Gram matrix.

    Parameters
    ----------
    gram : float array, shape (n_items, n_items)
        ``X^T X`` of the binary user x item matrix.
    l2 : float
        Ridge penalty added to the diagonal.
    overwrite : bool
        Reuse ``gram``'s memory for the result when it is a C-contiguous float64 array (it is then
        overwritten): one dense n_items^2 float64 matrix in all instead of a copy.

    Returns
    -------
    float64 array (n_items, n_items): ``B = I - P / diag(P)`` (column j divided by ``P_jj``) with
    ``P = (X^T X + l2 I)^-1``; ``diag(B) = 0``.
    """
    in_place = overwrite and gram.dtype == np.float64 and gram.flags.c_contiguous and gram.flags.writeable
    g = gram if in_place else np.array(gram, dtype=np.float64, order="C", copy=True)
    g[np.diag_indices_from(g)] += l2
    _invert_spd_in_place(g)
    d = -np.diag(g)  # B = -P / diag(P) off the diagonal, column-wise, in place
    np.divide(g, d[None, :], out=g)
    g[np.diag_indices_from(g)] = 0.0
    return g


def _invert_spd_in_place(g: np.ndarray) -> None:
    """Replace the symmetric positive definite C-contiguous ``g`` by its inverse, in its own memory.

    LAPACK Cholesky (``potrf``) and inverse from the factor (``potri``) on ``g.T`` (the same symmetric
    matrix, Fortran-ordered: no copy), then the triangle LAPACK left stale is mirrored block by block.
    """
    n = g.shape[0]
    if n == 0:
        return
    a = g.T  # Fortran-contiguous view; LAPACK's upper triangle is g's lower triangle
    factor, info = lapack.dpotrf(a, lower=0, overwrite_a=1, clean=0)
    if info == 0:
        factor, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise DataError(f"ease: cannot invert the regularised Gram matrix (LAPACK info {info}); raise reg")
    if not np.shares_memory(factor, g):  # LAPACK wrapper copied after all: keep the result
        g[...] = factor.T
    _mirror_lower_to_upper(g)


def _mirror_lower_to_upper(g: np.ndarray, block: int | None = None) -> None:
    """Copy ``g``'s lower triangle onto its upper triangle in place (temporaries of ``block`` rows)."""
    n = g.shape[0]
    step = block or _MIRROR_BLOCK
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        diag = g[i0:i1, i0:i1]
        diag[...] = np.tril(diag) + np.tril(diag, -1).T
        g[i0:i1, i1:] = g[i1:, i0:i1].T


def _to_float32_in_place(a: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """``a`` as float32, written over the first half of its own float64 buffer, which is then shrunk to it.

    Peak memory stays at the float64 matrix (``astype`` would add a float32 copy, half as large again).
    ``a`` must own its C-contiguous buffer and have no other views; it is unusable afterwards. Other arrays
    get a plain ``astype`` copy.
    """
    if a.dtype != np.float64 or not a.flags.owndata or not a.flags.c_contiguous or a.size == 0:
        return a.astype(np.float32)
    shape, n = a.shape, a.size
    src = a.reshape(-1)
    dst = src.view(np.float32)
    for i0 in range(0, n, chunk):  # dst[i0:i1] ends at byte 4 i1 <= 8 i0 (for i0 >= chunk): unread values are never hit
        i1 = min(i0 + chunk, n)
        dst[i0:i1] = src[i0:i1]  # numpy buffers the first chunk, where the two overlap
    del src, dst
    a.resize(((n + 1) // 2,), refcheck=False)  # realloc to the float32 half: the rest goes back to the system
    return a.view(np.float32)[:n].reshape(shape)


def gram_matrix(x: sp.csr_matrix) -> np.ndarray:
    """Dense float64 ``X^T X`` of a binary user x item CSR, built row block by row block.

    Only one dense (n_items, n_items) array is allocated; the sparse product runs on blocks of item rows
    so no full sparse Gram matrix (possibly almost dense) exists next to it.
    """
    xt = sp.csr_matrix(x.T, dtype=np.float64)  # items x users
    n = x.shape[1]
    gram = np.empty((n, n), dtype=np.float64)
    step = max(1, _GRAM_BLOCK_CELLS // max(n, 1))
    for i0 in range(0, n, step):
        i1 = min(i0 + step, n)
        gram[i0:i1] = (xt[i0:i1] @ x).toarray()
    return gram


class EASE(Recommender):
    """EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019).

    Learns a dense item x item weight matrix ``B`` (``weights_``, float32 (n_items, n_items)) with zero
    diagonal minimising ``|X - X B|^2 + reg |B|^2`` in closed form; a user's scores are ``X_u B``. ``X`` is the
    binary interaction matrix (explicit ratings count as interactions), so scores rank items and are not
    ratings. Fitting inverts an n_items x n_items matrix in place: O(n_items^3) time and one float64 matrix
    (8 n_items^2 bytes; the float32 weights end up in its first half); more than ``max_items`` items is refused.

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
        weights = ease_weights(gram_matrix(self.seen_.astype(np.float64)), self.reg, overwrite=True)
        self.weights_ = _to_float32_in_place(weights)

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
