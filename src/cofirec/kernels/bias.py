"""User/item bias kernels: r_ui ~ mu + b_u + b_i, regularised least squares.

Both solvers minimise the same objective

    sum_(u,i) (r_ui - mu - b_u - b_i)^2 + reg_user * sum_u b_u^2 + reg_item * sum_i b_i^2

ALS alternates the closed-form updates (vectorised with ``bincount``); SGD walks the ratings in a shuffled
order (numba), spreading each bias's regulariser over that user's / item's ratings so that both solvers
share the optimum.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

_SGD_JIT: Callable | None = None


def als_bias_step(
    users: np.ndarray,
    items: np.ndarray,
    residual: np.ndarray,
    other_bias: np.ndarray,
    n_groups: int,
    reg: float,
) -> np.ndarray:
    """One closed-form bias update for the grouping given by ``users`` (or items).

    Parameters
    ----------
    users : int array, shape (n,)
        Group index of each rating (the side being updated).
    items : int array, shape (n,)
        Index of each rating on the other side (indexes ``other_bias``).
    residual : float array, shape (n,)
        ``r_ui - mu`` per rating.
    other_bias : float array, shape (n_other,)
        Current biases of the other side.
    n_groups : int
        Number of groups (length of the result).
    reg : float
        Ridge penalty of this side's biases.

    Returns
    -------
    float64 array, shape (n_groups,): ``sum(residual - other_bias) / (reg + count)`` per group.
    """
    sums = np.bincount(users, weights=residual - other_bias[items], minlength=n_groups)
    counts = np.bincount(users, minlength=n_groups)
    return sums / (reg + counts)


def als_biases(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    n_users: int,
    n_items: int,
    mu: float,
    reg_user: float,
    reg_item: float,
    epochs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Alternating closed-form bias updates (item biases first, as Surprise's baseline ALS).

    Returns
    -------
    user_bias : float64 (n_users,), item_bias : float64 (n_items,)
    """
    residual = np.asarray(ratings, dtype=np.float64) - mu
    bu = np.zeros(n_users)
    bi = np.zeros(n_items)
    for _ in range(epochs):
        bi = als_bias_step(items, users, residual, bu, n_items, reg_item)
        bu = als_bias_step(users, items, residual, bi, n_users, reg_user)
    return bu, bi


def sgd_bias_epoch(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    order: np.ndarray,
    mu: float,
    user_bias: np.ndarray,
    item_bias: np.ndarray,
    lr: float,
    user_decay: np.ndarray,
    item_decay: np.ndarray,
) -> float:
    """One SGD pass over the ratings in ``order``, updating the biases in place (numba, compiled on first use).

    Parameters
    ----------
    users, items : int64 arrays, shape (n,)
    ratings : float64 array, shape (n,)
    order : int64 array, shape (m,)
        Rating positions in visiting order.
    mu : float
        Global mean.
    user_bias, item_bias : float64 arrays, shape (n_users,), (n_items,)
        Updated in place.
    lr : float
        Learning rate.
    user_decay, item_decay : float64 arrays
        ``reg_user / count_u`` and ``reg_item / count_i``: the regulariser's share for one rating.

    Returns
    -------
    float: sum of squared errors seen during the pass.
    """
    global _SGD_JIT
    if _SGD_JIT is None:  # numba is imported only when SGD is used
        import numba

        _SGD_JIT = numba.njit(cache=True)(_sgd_bias_epoch)
    return _SGD_JIT(users, items, ratings, order, mu, user_bias, item_bias, lr, user_decay, item_decay)


def _sgd_bias_epoch(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    order: np.ndarray,
    mu: float,
    user_bias: np.ndarray,
    item_bias: np.ndarray,
    lr: float,
    user_decay: np.ndarray,
    item_decay: np.ndarray,
) -> float:
    """Plain-Python body of :func:`sgd_bias_epoch` (compiled by numba)."""
    sse = 0.0
    for t in range(order.shape[0]):
        k = order[t]
        u = users[k]
        i = items[k]
        err = ratings[k] - mu - user_bias[u] - item_bias[i]
        sse += err * err
        bu = user_bias[u]
        user_bias[u] += lr * (err - user_decay[u] * bu)
        item_bias[i] += lr * (err - item_decay[i] * item_bias[i])
    return sse


def bias_objective(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    mu: float,
    user_bias: np.ndarray,
    item_bias: np.ndarray,
    reg_user: float,
    reg_item: float,
) -> float:
    """Value of the regularised squared-error objective (see module docstring)."""
    err = np.asarray(ratings, dtype=np.float64) - mu - user_bias[users] - item_bias[items]
    return float(err @ err + reg_user * user_bias @ user_bias + reg_item * item_bias @ item_bias)
