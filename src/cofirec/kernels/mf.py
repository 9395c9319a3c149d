"""SGD kernels for biased matrix factorisation (Funk SVD) and its SVD++ variant.

Prediction of the biased model for the pair (u, i)::

    r_hat = offset_ui + b_u + b_i + p_u . q_i                       (BiasedMF)
    r_hat = offset_ui + b_u + b_i + (p_u + |N(u)|^-1/2 sum_j y_j) . q_i   (SVD++)

where ``offset_ui`` is the fixed mean normalisation (0, the global mean or the user mean). The loss is the
squared error on observed ratings plus L2 penalties on factors (``reg``) and biases (``reg_bias``).
All arrays are float32 except index arrays (int32/int64).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=True)
def sgd_epoch(
    users: np.ndarray,
    items: np.ndarray,
    targets: np.ndarray,
    order: np.ndarray,
    P: np.ndarray,
    Q: np.ndarray,
    bu: np.ndarray,
    bi: np.ndarray,
    lr: float,
    lr_bias: float,
    reg: float,
    reg_bias: float,
    use_bias: bool,
) -> float:
    """One SGD pass over the ratings in ``order``; updates ``P, Q, bu, bi`` in place.

    Parameters
    ----------
    users, items : int arrays (n,)
        Indices of each rating.
    targets : float32 (n,)
        Ratings minus their fixed offset (mean normalisation).
    order : int64 (n,)
        Visiting order (a permutation of ``arange(n)``).
    P : float32 (n_users, k); Q : float32 (n_items, k); bu : (n_users,); bi : (n_items,)
    lr, lr_bias : learning rates of factors and biases; reg, reg_bias : L2 weights.
    use_bias : whether biases are learned (else they stay as they are).

    Returns
    -------
    float : sum of squared errors seen during the pass (before each update).
    """
    k = P.shape[1]
    sse = 0.0
    for t in range(order.shape[0]):
        idx = order[t]
        u = users[idx]
        i = items[idx]
        pred = bu[u] + bi[i]
        for f in range(k):
            pred += P[u, f] * Q[i, f]
        err = targets[idx] - pred
        sse += err * err
        if use_bias:
            bu[u] += lr_bias * (err - reg_bias * bu[u])
            bi[i] += lr_bias * (err - reg_bias * bi[i])
        for f in range(k):
            puf = P[u, f]
            qif = Q[i, f]
            P[u, f] += lr * (err * qif - reg * puf)
            Q[i, f] += lr * (err * puf - reg * qif)
    return sse


@njit(cache=True, fastmath=True)
def svdpp_epoch(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    user_order: np.ndarray,
    rng_seed: int,
    P: np.ndarray,
    Q: np.ndarray,
    Y: np.ndarray,
    bu: np.ndarray,
    bi: np.ndarray,
    lr: float,
    lr_bias: float,
    reg: float,
    reg_bias: float,
    reg_y: float,
    use_bias: bool,
) -> float:
    """One SGD pass of SVD++ visiting users in ``user_order`` and each user's ratings in random order.

    The implicit term ``z_u = |N(u)|^-1/2 sum_{j in N(u)} y_j`` is computed once per user; its gradient is
    accumulated over the user's ratings and applied to the ``y_j`` at the end of the user (the usual fast
    approximation of per-rating updates).

    Parameters
    ----------
    indptr, indices : CSR structure of the user x item training matrix (n_users + 1,), (nnz,)
    targets : float32 (nnz,) CSR-ordered ratings minus offsets.
    user_order : int64 (n_users,) visiting order of users.
    rng_seed : seed of the within-user shuffles.
    P : (n_users, k); Q, Y : (n_items, k); bu, bi : biases.

    Returns
    -------
    float : sum of squared errors during the pass.
    """
    np.random.seed(rng_seed)
    k = P.shape[1]
    z = np.zeros(k, dtype=np.float32)
    gz = np.zeros(k, dtype=np.float32)
    sse = 0.0
    for t in range(user_order.shape[0]):
        u = user_order[t]
        start = indptr[u]
        end = indptr[u + 1]
        n_u = end - start
        if n_u == 0:
            continue
        norm = 1.0 / np.sqrt(n_u)
        z[:] = 0.0
        for jj in range(start, end):
            j = indices[jj]
            for f in range(k):
                z[f] += Y[j, f]
        for f in range(k):
            z[f] *= norm
        gz[:] = 0.0
        perm = np.random.permutation(n_u)
        for tt in range(n_u):
            pos = start + perm[tt]
            i = indices[pos]
            pred = bu[u] + bi[i]
            for f in range(k):
                pred += (P[u, f] + z[f]) * Q[i, f]
            err = targets[pos] - pred
            sse += err * err
            if use_bias:
                bu[u] += lr_bias * (err - reg_bias * bu[u])
                bi[i] += lr_bias * (err - reg_bias * bi[i])
            for f in range(k):
                puf = P[u, f]
                qif = Q[i, f]
                P[u, f] += lr * (err * qif - reg * puf)
                Q[i, f] += lr * (err * (puf + z[f]) - reg * qif)
                gz[f] += err * qif
        # apply the accumulated implicit-feedback gradient to every y_j of the user
        for jj in range(start, end):
            j = indices[jj]
            for f in range(k):
                Y[j, f] += lr * (gz[f] * norm - reg_y * Y[j, f])
    return sse


@njit(cache=True)
def implicit_user_term(indptr: np.ndarray, indices: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``Z[u] = |N(u)|^-1/2 sum_{j in N(u)} Y[j]``: float32 (n_users, k) from the CSR structure of N."""
    n_users = indptr.shape[0] - 1
    k = Y.shape[1]
    Z = np.zeros((n_users, k), dtype=np.float32)
    for u in range(n_users):
        n_u = indptr[u + 1] - indptr[u]
        if n_u == 0:
            continue
        for jj in range(indptr[u], indptr[u + 1]):
            j = indices[jj]
            for f in range(k):
                Z[u, f] += Y[j, f]
        s = 1.0 / np.sqrt(n_u)
        for f in range(k):
            Z[u, f] *= s
    return Z


def predict_pairs(P: np.ndarray, Q: np.ndarray, bu: np.ndarray, bi: np.ndarray, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Row-wise ``bu[u] + bi[i] + P[u] . Q[i]`` for index arrays of shape (n,); float32 (n,)."""
    out = np.einsum("ij,ij->i", P[users], Q[items]) + bu[users] + bi[items]
    return out.astype(np.float32, copy=False)
