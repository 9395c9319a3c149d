"""Alternating least squares kernels (numba, parallel over rows).

* :func:`explicit_half_step` solves, for every row ``u`` of a CSR matrix at once (in parallel), the
  regularised least squares problem of explicit ALS with biases::

      min_{x_u, b_u}  sum_{i in I(u)} (t_ui - b_u - x_u . y_i)^2 + lam_u |x_u|^2 + reg_bias b_u^2

  where ``t_ui`` is the rating minus its fixed offset and the other side's bias. ``lam_u`` is ``reg`` or,
  with weighted-lambda regularisation (Zhou et al. 2008), ``reg * |I(u)|``.
* :func:`implicit_cg_half_step` / :func:`implicit_direct_half_step` solve the weighted problem of implicit
  ALS (Hu, Koren & Volinsky 2008)::

      (Y^T C_u Y + reg I) x_u = Y^T C_u p_u,    C_u = diag(c_ui),  p_ui = 1 for observed items

  without forming ``Y^T C_u Y``: ``Y^T Y + reg I`` is precomputed once and only the observed items add
  ``(c_ui - 1) y_i y_i^T``. The CG variant runs a few warm-started conjugate-gradient steps per row (as
  ``implicit``'s ``use_cg``); the direct variant builds the matrix and solves it exactly.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np
from numba import njit, prange


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while numba ``prange`` kernels that call BLAS/LAPACK per row run.

    Without it each of numba's threads starts its own BLAS threads (oversubscription, ~20x slower on a
    small machine). scipy's BLAS/LAPACK (which numba calls) is imported first so that threadpoolctl sees it.
    """
    import scipy.linalg.cython_blas  # noqa: F401
    import scipy.linalg.cython_lapack  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@njit(cache=True, parallel=True)
def explicit_half_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    other: np.ndarray,
    other_bias: np.ndarray,
    X: np.ndarray,
    bias: np.ndarray,
    reg: float,
    reg_bias: float,
    weighted: bool,
    fit_bias: bool,
) -> None:
    """Update every row's factors ``X`` (and ``bias``) in place by exact regularised least squares.

    Parameters
    ----------
    indptr, indices : CSR structure (n_rows + 1,), (nnz,) of the rows being solved.
    targets : float32 (nnz,)
        Rating minus fixed offset, per stored entry.
    other : float32 (n_cols, k)
        The other side's factors (fixed). ``other_bias`` : float32 (n_cols,), subtracted from targets.
    X : float32 (n_rows, k); bias : float32 (n_rows,)
        Output, overwritten for rows that have entries (rows without entries are set to zero).
    reg, reg_bias : L2 weights of factors and bias; weighted : multiply ``reg`` by the row's count.
    fit_bias : whether to solve for the row bias too (else it is left at zero).
    """
    n_rows = indptr.shape[0] - 1
    k = other.shape[1]
    d = k + 1 if fit_bias else k
    for u in prange(n_rows):
        start = indptr[u]
        end = indptr[u + 1]
        n_u = end - start
        if n_u == 0:
            for f in range(k):
                X[u, f] = 0.0
            bias[u] = 0.0
            continue
        F = np.empty((n_u, d), dtype=np.float64)
        t = np.empty(n_u, dtype=np.float64)
        for jj in range(n_u):
            j = indices[start + jj]
            for f in range(k):
                F[jj, f] = other[j, f]
            if fit_bias:
                F[jj, k] = 1.0
            t[jj] = targets[start + jj] - other_bias[j]
        A = F.T @ F
        b = F.T @ t
        lam = reg * n_u if weighted else reg
        for f in range(k):
            A[f, f] += lam
        if fit_bias:
            A[k, k] += reg_bias * n_u if weighted else reg_bias
        x = np.linalg.solve(A, b)
        for f in range(k):
            X[u, f] = x[f]
        bias[u] = x[k] if fit_bias else 0.0


@njit(cache=True, parallel=True, fastmath=True)
def implicit_cg_half_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    confidence: np.ndarray,
    Y: np.ndarray,
    YtY_reg: np.ndarray,
    X: np.ndarray,
    cg_steps: int,
    row_reg: np.ndarray,
) -> None:
    """Warm-started conjugate-gradient update of every row of ``X`` in place.

    Parameters
    ----------
    indptr, indices : CSR structure (n_rows + 1,), (nnz,)
    confidence : float32 (nnz,)
        ``c_ui`` of each observed entry (>= 1).
    Y : float32 (n_cols, k)
        Fixed factors of the other side.
    YtY_reg : float32 (k, k)
        ``Y^T Y + reg I``.
    X : float32 (n_rows, k)
        Current factors, used as the starting point and overwritten.
    cg_steps : number of CG iterations per row.
    row_reg : float32 (n_rows,)
        Extra per-row L2 weight added to the diagonal (frequency-scaled regularisation); zeros for none.

    All arithmetic is float32 (as the factors; no conversions in the inner loops). The row's ``y_i`` are
    gathered once into a contiguous block (with ``c_ui - 1``) while the residual is formed, so the CG steps
    stream through it instead of gathering rows of ``Y`` again at every step.
    """
    n_rows = indptr.shape[0] - 1
    k = Y.shape[1]
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for u in prange(n_rows):
        start = indptr[u]
        n_u = indptr[u + 1] - start
        # one scratch block per row (rows x, r, p, Ap) and the gathered y_i; matrix-vector products as plain loops
        buf = np.empty((4, k), dtype=np.float32)
        x = buf[0]
        r = buf[1]
        p = buf[2]
        Ap = buf[3]
        G = np.empty((n_u, k), dtype=np.float32)
        cm1 = np.empty(n_u, dtype=np.float32)
        extra = row_reg[u]
        for f in range(k):
            x[f] = X[u, f]
        # residual r = Y^T C_u p_u - (Y^T C_u Y + reg I) x
        for f in range(k):
            acc = -extra * x[f]
            for g in range(k):
                acc -= YtY_reg[f, g] * x[g]
            r[f] = acc
        for jj in range(n_u):
            i = indices[start + jj]
            c = confidence[start + jj]
            cm1[jj] = c - one
            yx = zero
            for f in range(k):
                v = Y[i, f]
                G[jj, f] = v
                yx += v * x[f]
            w = c - (c - one) * yx
            for f in range(k):
                r[f] += w * G[jj, f]
        rsold = zero
        for f in range(k):
            p[f] = r[f]
            rsold += r[f] * r[f]
        if rsold < 1e-20:
            continue
        for _ in range(cg_steps):
            for f in range(k):
                acc = extra * p[f]
                for g in range(k):
                    acc += YtY_reg[f, g] * p[g]
                Ap[f] = acc
            for jj in range(n_u):
                yp = zero
                for f in range(k):
                    yp += G[jj, f] * p[f]
                w = cm1[jj] * yp
                for f in range(k):
                    Ap[f] += w * G[jj, f]
            pAp = zero
            for f in range(k):
                pAp += p[f] * Ap[f]
            if pAp <= 0.0:
                break
            alpha = rsold / pAp
            rsnew = zero
            for f in range(k):
                x[f] += alpha * p[f]
                r[f] -= alpha * Ap[f]
                rsnew += r[f] * r[f]
            if rsnew < 1e-20:
                break
            beta = rsnew / rsold
            for f in range(k):
                p[f] = r[f] + beta * p[f]
            rsold = rsnew
        for f in range(k):
            X[u, f] = x[f]


def gram_plus_reg(Y: np.ndarray, reg: float, block_rows: int = 8192) -> np.ndarray:
    """``Y^T Y + reg I`` as float32, accumulated in float64 over blocks of rows (no float64 copy of ``Y``)."""
    k = Y.shape[1]
    gram = np.zeros((k, k), dtype=np.float64)
    for b0 in range(0, Y.shape[0], block_rows):
        block = Y[b0 : b0 + block_rows].astype(np.float64)
        gram += block.T @ block
    gram[np.diag_indices(k)] += reg
    return gram.astype(np.float32)


@njit(cache=True, parallel=True)
def implicit_direct_half_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    confidence: np.ndarray,
    Y: np.ndarray,
    YtY_reg: np.ndarray,
    X: np.ndarray,
    row_reg: np.ndarray,
) -> None:
    """Exact solve of every row of the implicit ALS problem (same arguments as the CG step); rows in place."""
    n_rows = indptr.shape[0] - 1
    k = Y.shape[1]
    for u in prange(n_rows):
        A = YtY_reg.astype(np.float64)
        for f in range(k):
            A[f, f] += row_reg[u]
        b = np.zeros(k, dtype=np.float64)
        for jj in range(indptr[u], indptr[u + 1]):
            i = indices[jj]
            c = confidence[jj]
            for f in range(k):
                b[f] += c * Y[i, f]
                for g in range(k):
                    A[f, g] += (c - 1.0) * Y[i, f] * Y[i, g]
        x = np.linalg.solve(A, b)
        for f in range(k):
            X[u, f] = x[f]


@njit(cache=True, parallel=True, fastmath=True)
def _observed_loss_terms(indptr: np.ndarray, indices: np.ndarray, confidence: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """``sum_observed c (1 - x.y)^2 - (x.y)^2`` over the stored entries of a CSR matrix."""
    n_rows = indptr.shape[0] - 1
    k = X.shape[1]
    total = 0.0
    for u in prange(n_rows):
        acc = 0.0
        for jj in range(indptr[u], indptr[u + 1]):
            i = indices[jj]
            s = 0.0
            for f in range(k):
                s += X[u, f] * Y[i, f]
            acc += confidence[jj] * (1.0 - s) ** 2 - s * s
        total += acc
    return total


def implicit_loss(csr_conf, X: np.ndarray, Y: np.ndarray, reg: float) -> float:
    """Weighted implicit ALS loss ``sum_ui c_ui (p_ui - x_u.y_i)^2 + reg (|X|^2 + |Y|^2)`` without densifying.

    ``csr_conf`` is the (n_users, n_items) CSR matrix of confidences of observed entries. Uses
    ``sum over all pairs of (x.y)^2 = sum((X^T X) * (Y^T Y))`` plus corrections on the observed entries.
    """
    X64 = X.astype(np.float64)
    Y64 = Y.astype(np.float64)
    all_sq = float(np.sum((X64.T @ X64) * (Y64.T @ Y64)))  # sum over every (u, i) of (x_u . y_i)^2
    observed = float(_observed_loss_terms(csr_conf.indptr, csr_conf.indices, csr_conf.data, X, Y))
    penalty = reg * (float(np.sum(X64**2)) + float(np.sum(Y64**2)))
    return all_sq + observed + penalty
