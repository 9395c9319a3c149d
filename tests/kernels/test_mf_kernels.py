"""Numba kernels of the factor models against naive numpy references."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cofirec.kernels.als import (
    explicit_half_step,
    gram_plus_reg,
    implicit_cg_half_step,
    implicit_direct_half_step,
    implicit_loss,
    single_threaded_blas,
)
from cofirec.kernels.bpr import bpr_epoch
from cofirec.kernels.mf import implicit_user_term, sgd_epoch, svdpp_epoch

RNG = np.random.default_rng(0)


def _f32(*shape):
    return RNG.normal(0, 0.3, shape).astype(np.float32)


def test_sgd_single_step_matches_reference():
    P, Q, bu, bi = _f32(3, 4), _f32(5, 4), _f32(3), _f32(5)
    P0, Q0, bu0, bi0 = P.copy(), Q.copy(), bu.copy(), bi.copy()
    users, items, targets = np.array([2], np.int32), np.array([4], np.int32), np.array([1.5], np.float32)
    lr, lrb, reg, regb = 0.1, 0.05, 0.02, 0.01
    sse = sgd_epoch(users, items, targets, np.array([0], np.int64), P, Q, bu, bi, lr, lrb, reg, regb, True)
    err = 1.5 - (bu0[2] + bi0[4] + P0[2] @ Q0[4])
    assert np.isclose(sse, err**2, rtol=1e-5)
    np.testing.assert_allclose(bu[2], bu0[2] + lrb * (err - regb * bu0[2]), rtol=1e-5)
    np.testing.assert_allclose(bi[4], bi0[4] + lrb * (err - regb * bi0[4]), rtol=1e-5)
    np.testing.assert_allclose(P[2], P0[2] + lr * (err * Q0[4] - reg * P0[2]), rtol=1e-5)
    np.testing.assert_allclose(Q[4], Q0[4] + lr * (err * P0[2] - reg * Q0[4]), rtol=1e-5)
    untouched = np.arange(3) != 2
    np.testing.assert_array_equal(P[untouched], P0[untouched])


def test_sgd_epoch_visits_in_order_and_reduces_error():
    n_users, n_items, k = 20, 15, 3
    users = RNG.integers(0, n_users, 200).astype(np.int32)
    items = RNG.integers(0, n_items, 200).astype(np.int32)
    targets = RNG.normal(0, 1, 200).astype(np.float32)
    P, Q = _f32(n_users, k), _f32(n_items, k)
    bu, bi = np.zeros(n_users, np.float32), np.zeros(n_items, np.float32)
    order = np.arange(200, dtype=np.int64)
    first = sgd_epoch(users, items, targets, order, P, Q, bu, bi, 0.05, 0.05, 0.0, 0.0, True)
    for _ in range(30):
        last = sgd_epoch(users, items, targets, order, P, Q, bu, bi, 0.05, 0.05, 0.0, 0.0, True)
    assert last < 0.5 * first


def test_svdpp_one_rating_matches_reference():
    k = 3
    P, Q, Y, bu, bi = _f32(1, k), _f32(2, k), _f32(2, k), _f32(1), _f32(2)
    P0, Q0, Y0, bu0, bi0 = P.copy(), Q.copy(), Y.copy(), bu.copy(), bi.copy()
    indptr, indices, targets = np.array([0, 1]), np.array([1], np.int32), np.array([2.0], np.float32)
    lr, reg, regb, regy = 0.1, 0.02, 0.01, 0.05
    svdpp_epoch(indptr, indices, targets, np.array([0], np.int64), 0, P, Q, Y, bu, bi, lr, lr, reg, regb, regy, True)
    z = Y0[1]  # |N(u)| = 1
    err = 2.0 - (bu0[0] + bi0[1] + (P0[0] + z) @ Q0[1])
    np.testing.assert_allclose(P[0], P0[0] + lr * (err * Q0[1] - reg * P0[0]), rtol=1e-5)
    np.testing.assert_allclose(Q[1], Q0[1] + lr * (err * (P0[0] + z) - reg * Q0[1]), rtol=1e-5)
    np.testing.assert_allclose(Y[1], Y0[1] + lr * (err * Q0[1] - regy * Y0[1]), rtol=1e-5)
    np.testing.assert_array_equal(Y[0], Y0[0])
    m = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 0], [0, 1, 1]], np.float32))
    Y3 = _f32(3, k)
    expected = np.stack([(Y3[0] + Y3[1]) / np.sqrt(2), np.zeros(k), (Y3[1] + Y3[2]) / np.sqrt(2)])
    np.testing.assert_allclose(implicit_user_term(m.indptr, m.indices, Y3), expected, rtol=1e-5, atol=1e-7)


def _random_csr(n_rows, n_cols, density, seed):
    m = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed, dtype=np.float32)
    m.data[:] = np.random.default_rng(seed).integers(1, 6, m.nnz)
    m.sort_indices()
    return m


def test_explicit_half_step_matches_linalg_solve():
    m = _random_csr(12, 9, 0.4, 1)
    other, other_bias = _f32(9, 4), _f32(9)
    X, bias = np.zeros((12, 4), np.float32), np.zeros(12, np.float32)
    reg, regb = 0.3, 0.1
    with single_threaded_blas():
        explicit_half_step(m.indptr, m.indices, m.data, other, other_bias, X, bias, reg, regb, True, True)
    for u in range(12):
        cols = m.indices[m.indptr[u] : m.indptr[u + 1]]
        if len(cols) == 0:
            assert np.all(X[u] == 0) and bias[u] == 0
            continue
        F = np.hstack([other[cols].astype(np.float64), np.ones((len(cols), 1))])
        t = m.data[m.indptr[u] : m.indptr[u + 1]] - other_bias[cols]
        A = F.T @ F + np.diag([reg * len(cols)] * 4 + [regb * len(cols)])
        x = np.linalg.solve(A, F.T @ t)
        np.testing.assert_allclose(X[u], x[:4], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(bias[u], x[4], rtol=1e-4, atol=1e-5)


def _dense_implicit_solution(conf_csr, Y, reg):
    """Reference: for each row build C_u densely and solve (Y^T C_u Y + reg I) x = Y^T C_u p_u."""
    C = np.ones(conf_csr.shape)
    Pm = np.zeros(conf_csr.shape)
    dense = conf_csr.toarray()
    C[dense > 0] = dense[dense > 0]
    Pm[dense > 0] = 1.0
    Y64 = Y.astype(np.float64)
    out = []
    for u in range(conf_csr.shape[0]):
        A = Y64.T @ (C[u][:, None] * Y64) + reg * np.eye(Y.shape[1])
        out.append(np.linalg.solve(A, Y64.T @ (C[u] * Pm[u])))
    return np.array(out)


def test_implicit_cg_and_direct_match_dense_solve():
    m = _random_csr(15, 20, 0.25, 2)
    m.data[:] = 1.0 + 4.0 * m.data  # confidences
    Y = _f32(20, 5)
    reg = 0.2
    gram = (Y.T.astype(np.float64) @ Y + reg * np.eye(5)).astype(np.float32)
    ref = _dense_implicit_solution(m, Y, reg)
    X_direct = np.zeros((15, 5), np.float32)
    X_cg = _f32(15, 5)
    X_cg3 = X_cg.copy()
    start = X_cg.copy()
    with single_threaded_blas():
        implicit_direct_half_step(m.indptr, m.indices, m.data, Y, gram, X_direct, np.zeros(15, np.float32))
        implicit_cg_half_step(m.indptr, m.indices, m.data, Y, gram, X_cg, 20, np.zeros(15, np.float32))  # k steps suffice in exact arithmetic
        implicit_cg_half_step(m.indptr, m.indices, m.data, Y, gram, X_cg3, 1, np.zeros(15, np.float32))
    np.testing.assert_allclose(X_direct, ref, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(X_cg, ref, rtol=1e-3, atol=1e-3)
    # a single warm-started step moves towards the solution but does not reach it
    assert np.linalg.norm(X_cg3 - ref) < np.linalg.norm(start - ref)
    assert np.linalg.norm(X_cg3 - ref) > 1e-4


def test_implicit_cg_with_row_reg_and_empty_rows_matches_dense_solve():
    """Per-row extra regularisation (frequency-scaled reg) and rows without entries (solution 0) in the CG kernel."""
    m = _random_csr(14, 30, 0.3, 5)
    m.data[:] = 1.0 + 3.0 * m.data
    m = sp.csr_matrix(m.multiply((np.arange(14) % 4 != 0)[:, None]))  # every 4th row empty
    m.sort_indices()
    Y = _f32(30, 6)
    reg = 0.1
    row_reg = (0.05 * np.diff(m.indptr)).astype(np.float32)
    X = _f32(14, 6)
    with single_threaded_blas():
        implicit_cg_half_step(m.indptr, m.indices, m.data, Y, gram_plus_reg(Y, reg), X, 30, row_reg)
    for u in range(14):
        ref = _dense_implicit_solution(m[u], Y, reg + float(row_reg[u]))[0]
        np.testing.assert_allclose(X[u], ref, rtol=2e-3, atol=2e-3)  # empty rows: ref is 0


def test_gram_plus_reg_matches_float64_reference_across_blocks():
    Y = _f32(1000, 7) * 10
    ref = Y.astype(np.float64).T @ Y.astype(np.float64) + 0.5 * np.eye(7)
    for block_rows in (64, 333, 4096):
        got = gram_plus_reg(Y, 0.5, block_rows=block_rows)
        assert got.dtype == np.float32 and got.shape == (7, 7)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-4)


def test_implicit_loss_matches_dense():
    m = _random_csr(10, 8, 0.3, 3)
    m.data[:] = 1.0 + 2.0 * m.data
    X, Y = _f32(10, 3), _f32(8, 3)
    dense = m.toarray()
    C = np.where(dense > 0, dense, 1.0)
    Pm = (dense > 0).astype(float)
    S = X.astype(np.float64) @ Y.T
    ref = np.sum(C * (Pm - S) ** 2) + 0.1 * (np.sum(X.astype(np.float64) ** 2) + np.sum(Y.astype(np.float64) ** 2))
    assert np.isclose(implicit_loss(m, X, Y, 0.1), ref, rtol=1e-5)


def test_bpr_single_forced_triple_matches_reference():
    # one user with one positive (item 0) among two items: the only triple is (0, 0, 1)
    indptr, indices, users_of = np.array([0, 1]), np.array([0], np.int32), np.array([0], np.int32)
    P, Q, b = _f32(1, 3), _f32(2, 3), _f32(2)
    P0, Q0, b0 = P.copy(), Q.copy(), b.copy()
    lr, reg, regb = 0.1, 0.01, 0.02
    loss, acc = bpr_epoch(indptr, indices, users_of, 1, 0, P, Q, b, lr, reg, regb, True)
    x = b0[0] - b0[1] + P0[0] @ (Q0[0] - Q0[1])
    z = 1.0 / (1.0 + np.exp(x))
    assert np.isclose(loss, np.log1p(np.exp(-x)), rtol=1e-5) and acc == float(x > 0)
    np.testing.assert_allclose(P[0], P0[0] + lr * (z * (Q0[0] - Q0[1]) - reg * P0[0]), rtol=1e-5)
    np.testing.assert_allclose(Q[0], Q0[0] + lr * (z * P0[0] - reg * Q0[0]), rtol=1e-5)
    np.testing.assert_allclose(Q[1], Q0[1] + lr * (-z * P0[0] - reg * Q0[1]), rtol=1e-5)
    np.testing.assert_allclose(b, [b0[0] + lr * (z - regb * b0[0]), b0[1] + lr * (-z - regb * b0[1])], rtol=1e-5)


def test_bpr_never_samples_a_positive_as_negative():
    # user 0 has every item but one: every update's negative must be that item, so only it is pushed down
    n_items = 6
    indptr, indices = np.array([0, 5]), np.arange(5, dtype=np.int32)
    users_of = np.zeros(5, np.int32)
    P, Q, b = _f32(1, 2), _f32(n_items, 2), np.zeros(n_items, np.float32)
    bpr_epoch(indptr, indices, users_of, 500, 1, P, Q, b, 0.05, 0.0, 0.0, True)
    assert b[5] < 0 and np.all(b[:5] > 0)
