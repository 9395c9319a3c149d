"""Bias kernels against the exact ridge solution and a per-rating reference loop."""

from __future__ import annotations

import numpy as np

from cofirec.kernels.bias import als_bias_step, als_biases, bias_objective, sgd_bias_epoch


def _tiny(seed: int = 0, n_users: int = 7, n_items: int = 6, n: int = 25):
    rng = np.random.default_rng(seed)
    key = rng.choice(n_users * n_items, n, replace=False)
    users, items = key // n_items, key % n_items
    ratings = rng.integers(1, 6, n).astype(np.float64)
    return users, items, ratings, n_users, n_items


def _ridge_solution(users, items, ratings, n_users, n_items, mu, reg_u, reg_i):
    """Exact minimiser of the regularised objective via the normal equations."""
    design = np.zeros((len(ratings), n_users + n_items))
    design[np.arange(len(ratings)), users] = 1.0
    design[np.arange(len(ratings)), n_users + items] = 1.0
    penalty = np.diag(np.r_[np.full(n_users, reg_u), np.full(n_items, reg_i)])
    theta = np.linalg.solve(design.T @ design + penalty, design.T @ (ratings - mu))
    return theta[:n_users], theta[n_users:]


def test_als_step_matches_loop():
    users, items, ratings, n_users, n_items = _tiny()
    other = np.random.default_rng(1).normal(size=n_items)
    got = als_bias_step(users, items, ratings - 3.0, other, n_users, 2.5)
    for u in range(n_users):
        sel = users == u
        want = (ratings[sel] - 3.0 - other[items[sel]]).sum() / (2.5 + sel.sum())
        assert np.isclose(got[u], want)


def test_als_converges_to_ridge_optimum():
    users, items, ratings, n_users, n_items = _tiny(2)
    mu = ratings.mean()
    bu, bi = als_biases(users, items, ratings, n_users, n_items, mu, 3.0, 2.0, epochs=300)
    want_u, want_i = _ridge_solution(users, items, ratings, n_users, n_items, mu, 3.0, 2.0)
    np.testing.assert_allclose(bu, want_u, atol=1e-6)
    np.testing.assert_allclose(bi, want_i, atol=1e-6)


def test_sgd_reaches_the_same_objective():
    users, items, ratings, n_users, n_items = _tiny(3, n=30)
    mu = ratings.mean()
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    dec_u = 3.0 / np.maximum(np.bincount(users, minlength=n_users), 1)
    dec_i = 2.0 / np.maximum(np.bincount(items, minlength=n_items), 1)
    rng = np.random.default_rng(0)
    start = bias_objective(users, items, ratings, mu, bu, bi, 3.0, 2.0)
    for _ in range(400):
        sgd_bias_epoch(users, items, ratings, rng.permutation(len(ratings)), mu, bu, bi, 0.01, dec_u, dec_i)
    want_u, want_i = _ridge_solution(users, items, ratings, n_users, n_items, mu, 3.0, 2.0)
    best = bias_objective(users, items, ratings, mu, want_u, want_i, 3.0, 2.0)
    got = bias_objective(users, items, ratings, mu, bu, bi, 3.0, 2.0)
    assert got < start and (got - best) / best < 0.01
    np.testing.assert_allclose(bu, want_u, atol=0.05)


def test_sgd_epoch_matches_reference_loop():
    users, items, ratings, n_users, n_items = _tiny(4)
    order = np.random.default_rng(5).permutation(len(ratings))
    dec_u, dec_i = np.full(n_users, 0.3), np.full(n_items, 0.2)
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    sse = sgd_bias_epoch(users, items, ratings, order, 3.0, bu, bi, 0.05, dec_u, dec_i)
    ru, ri, rsse = np.zeros(n_users), np.zeros(n_items), 0.0
    for k in order:
        u, i = users[k], items[k]
        e = ratings[k] - 3.0 - ru[u] - ri[i]
        rsse += e * e
        ru[u], ri[i] = ru[u] + 0.05 * (e - 0.3 * ru[u]), ri[i] + 0.05 * (e - 0.2 * ri[i])
    np.testing.assert_allclose(bu, ru)
    np.testing.assert_allclose(bi, ri)
    assert np.isclose(sse, rsse)
