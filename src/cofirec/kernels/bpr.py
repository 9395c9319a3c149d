"""SGD kernel for Bayesian Personalised Ranking (Rendle et al. 2009) with item biases.

For a user ``u``, an observed item ``i`` and a sampled unobserved item ``j``::

    x_uij = (b_i - b_j) + p_u . (q_i - q_j),     loss = -log sigmoid(x_uij) + L2 penalties
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _contains(indices: np.ndarray, start: int, end: int, item: int) -> bool:
    """Binary search of ``item`` in the sorted slice ``indices[start:end]``."""
    lo = start
    hi = end
    while lo < hi:
        mid = (lo + hi) // 2
        v = indices[mid]
        if v == item:
            return True
        if v < item:
            lo = mid + 1
        else:
            hi = mid
    return False


@njit(cache=True, fastmath=True)
def bpr_epoch(
    indptr: np.ndarray,
    indices: np.ndarray,
    users_of: np.ndarray,
    n_samples: int,
    seed: int,
    P: np.ndarray,
    Q: np.ndarray,
    b: np.ndarray,
    lr: float,
    reg: float,
    reg_bias: float,
    use_bias: bool,
) -> tuple[float, float]:
    """``n_samples`` SGD steps on uniformly sampled (u, i, j) triples; updates ``P, Q, b`` in place.

    Parameters
    ----------
    indptr, indices : CSR structure of the user x item matrix (sorted column indices per row).
    users_of : int32 (nnz,)
        Row index of every stored entry (so a uniform entry gives a uniform positive pair).
    n_samples : number of triples; seed : random seed of this epoch.
    P : float32 (n_users, k); Q : float32 (n_items, k); b : float32 (n_items,) item biases.
    lr, reg, reg_bias : learning rate and L2 weights; use_bias : learn ``b``.

    Returns
    -------
    (mean BPR loss ``-log sigmoid(x_uij)``, fraction of triples ranked correctly) over the epoch.
    """
    np.random.seed(seed)
    nnz = indices.shape[0]
    n_items = Q.shape[0]
    k = P.shape[1]
    loss = 0.0
    correct = 0
    done = 0
    for _ in range(n_samples):
        e = np.random.randint(0, nnz)
        u = users_of[e]
        i = indices[e]
        start = indptr[u]
        end = indptr[u + 1]
        if end - start >= n_items:
            continue  # the user has seen everything: no negative exists
        j = np.random.randint(0, n_items)
        while _contains(indices, start, end, j):
            j = np.random.randint(0, n_items)
        x = b[i] - b[j]
        for f in range(k):
            x += P[u, f] * (Q[i, f] - Q[j, f])
        if x > 0:
            correct += 1
        # d/dx of -log sigmoid(x) is -sigmoid(-x)
        if x > 30.0:
            z = np.exp(-x)
            loss += z
        elif x < -30.0:
            z = 1.0
            loss += -x
        else:
            z = 1.0 / (1.0 + np.exp(x))
            loss += np.log1p(np.exp(-x))
        if use_bias:
            b[i] += lr * (z - reg_bias * b[i])
            b[j] += lr * (-z - reg_bias * b[j])
        for f in range(k):
            puf = P[u, f]
            qif = Q[i, f]
            qjf = Q[j, f]
            P[u, f] += lr * (z * (qif - qjf) - reg * puf)
            Q[i, f] += lr * (z * puf - reg * qif)
            Q[j, f] += lr * (-z * puf - reg * qjf)
        done += 1
    if done == 0:
        return 0.0, 0.0
    return loss / done, correct / done
