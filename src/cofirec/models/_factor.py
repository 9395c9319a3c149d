"""Pieces shared by the factor models (biased MF, explicit ALS, implicit ALS, BPR).

Dot-product scoring from ``user_factors_``/``item_factors_``, mapping a validation set onto a model's indices,
the validation metrics early stopping follows and parameter checks. The epoch loop itself is
:mod:`cofirec.models._iterative`.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError
from cofirec.kernels.mf import predict_pairs
from cofirec.kernels.rating_error import rmse
from cofirec.kernels.topk import topk_rows_masked
from cofirec.models._history import RidgeSystem
from cofirec.models.base import Recommender


@dataclass
class FoldIn:
    """A new user's fold-in problem: ``system`` gives x = [p (, b_u)]; scores are ``offset + b_i + q_i . (p +
    shift) (+ b_u when biased)``; ``shift_parts`` (n_history, k) split ``shift`` over the history (SVD++)."""

    system: RidgeSystem
    offset: float = 0.0
    biased: bool = False
    shift: np.ndarray | None = None
    shift_parts: np.ndarray | None = None


def ridge_fold_in(
    model: FactorScoring, idx: np.ndarray, targets: np.ndarray, reg: float, reg_bias: float, biased: bool, offset: float, shift_parts: np.ndarray | None = None
) -> FoldIn:
    """Least squares of ``targets - offset - b_i (- q_i . shift)`` on ``[q_i (, 1)]`` over the history with L2
    weights ``reg`` (factors) and ``reg_bias`` (bias)."""
    q = model.item_factors_[idx].astype(np.float64)
    shift = None if shift_parts is None else shift_parts.sum(axis=0)
    t = targets - offset - model.item_bias_[idx]
    if shift is not None:
        t = t - q @ shift
    a = np.hstack([q, np.ones((len(idx), 1))]) if biased else q
    lam = np.r_[np.full(q.shape[1], reg), [reg_bias] if biased else []]
    system = RidgeSystem(a=a, rhs=t, w=np.ones(len(idx)), lam=lam)
    return FoldIn(system=system, offset=offset, biased=biased, shift=shift, shift_parts=shift_parts)


class FactorScoring:
    """Mixin: scores ``offset_[u] + user_bias_[u] + item_bias_[i] + user_factors_[u] . item_factors_[i]``.

    A model sets ``user_factors_`` (n_users, k), ``item_factors_`` (n_items, k), ``user_bias_`` (n_users,),
    ``item_bias_`` (n_items,) and ``user_offset_`` (n_users,) (fixed mean normalisation; zeros when none).
    """

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    user_bias_: np.ndarray
    item_bias_: np.ndarray
    user_offset_: np.ndarray

    def _score(self, users: np.ndarray) -> np.ndarray:
        """Dense scores (len(users), n_items): one matmul of the users' factors against all items."""
        scores = self.user_factors_[users] @ self.item_factors_.T
        if self.item_bias_.any():  # all-zero biases (iALS, BPR): skip two passes over the block
            scores += self.item_bias_[None, :]
        shift = self.user_offset_[users] + self.user_bias_[users]
        if shift.any():
            scores += shift[:, None]
        return scores.astype(np.float32, copy=False)

    def _top_block(
        self, uidx: np.ndarray, n: int, seen: sp.csr_matrix | None, seen_rows: np.ndarray | None, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` of a block of known users: each thread scores small chunks of users (one single-threaded
        BLAS product into its own reused buffer, cache-sized) and selects their top-``n`` straight away, so BLAS
        and the selection never wait for each other and no block-sized score array is allocated."""
        if not len(uidx) or (uidx < 0).any():
            return self._dense_top_blocks(uidx, n, seen, seen_rows, allowed)  # type: ignore[attr-defined]  # Recommender's
        return factor_top_block(self, uidx, n, seen, seen_rows, allowed)

    def _top_block_users(self) -> int:
        """Known users' scores never form a block larger than a thread's chunk: large calls keep threads busy."""
        return _TOP_BLOCK_USERS

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Row-wise dot products plus biases for index pairs, float32 (n,)."""
        out = predict_pairs(self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_, users, items)
        return out + self.user_offset_[users]

    def _item_vectors(self) -> np.ndarray:
        return self.item_factors_

    def _scoring_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """``[p_u, 1, offset_u + b_u] . [q_i, b_i, 1]`` is exactly the score."""
        n_users, n_items = len(self.user_factors_), len(self.item_factors_)
        users = np.hstack([self.user_factors_, np.ones((n_users, 1), np.float32), (self.user_offset_ + self.user_bias_)[:, None]])
        items = np.hstack([self.item_factors_, self.item_bias_[:, None], np.ones((n_items, 1), np.float32)])
        return users.astype(np.float32), items.astype(np.float32)

    # ------------------------------------------------------------------ fold-in (new users)
    def _fold_in_system(self, idx: np.ndarray, values: np.ndarray) -> FoldIn:
        """The model's own least-squares problem for one new user (models without one override ``_fold_in``)."""
        raise NotImplementedError

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Scores of a new user: the user vector (and bias) solved against the fixed item factors."""
        p, const = self._fold_in_solution(idx, values)
        return self._fold_in_scores(p, const, None)

    def _fold_in_solution(self, idx: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, float]:
        """A new user's (p, c): float64 factor vector and constant with ``score_i = q_i . p + b_i + c``; the user
        scoring vector ``[p, 1, c]`` matches :meth:`item_vectors` (two-stage fold-in through an ANN index)."""
        fold = self._fold_in_system(idx, values)
        x = fold.system.solve()
        p = x[: self.item_factors_.shape[1]]
        if fold.shift is not None:
            p = p + fold.shift
        return p, float(fold.offset) + (float(x[-1]) if fold.biased else 0.0)

    def _fold_in_scores(self, p: np.ndarray, const: float, items: np.ndarray | None) -> np.ndarray:
        """float32 scores of the folded-in ``(p, const)`` for item indices ``items`` (None: every item)."""
        q = self.item_factors_ if items is None else self.item_factors_[items]
        bias = self.item_bias_ if items is None else self.item_bias_[items]
        return (q.astype(np.float64) @ p + bias + const).astype(np.float32)

    def _contributions(self, idx: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Exact split of the folded-in user vector's part of each target's score over the history items:
        ``[q_t, 1] . M^-1 a_h r_h`` (plus ``q_t . y_h / sqrt(n)`` for SVD++'s implicit term)."""
        fold = self._fold_in_system(idx, values)
        q = self.item_factors_[targets].astype(np.float64)
        design = np.hstack([q, np.ones((len(targets), 1))]) if fold.biased else q
        out = design @ fold.system.parts().T
        if fold.shift_parts is not None:
            out += q @ fold.shift_parts.T
        return out


_CHUNK_ROWS = 32
"""Users scored at once per thread by :func:`factor_top_block` (32 x 40K float32 scores = 5 MB)."""
_TOP_BLOCK_USERS = 16384
"""Users per ``_top_block`` call of ``recommend`` for factor models (only the (users, n) results are held)."""
_FUSED_CHUNK = 128
"""Users per chunk of the fused path (each tile of item factors is read once per chunk)."""
_buffers = threading.local()
_blas: list = []


def factor_top_block(
    model: FactorScoring, uidx: np.ndarray, n: int, seen: sp.csr_matrix | None, seen_rows: np.ndarray | None, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`FactorScoring._top_block` for known user indices: chunks of users over numba's thread count."""
    import numba

    n_items = model.item_factors_.shape[0]
    idx = np.empty((len(uidx), n), dtype=np.int64)
    vals = np.empty((len(uidx), n), dtype=np.float32)
    item_t = model.item_factors_.T
    item_bias = model.item_bias_ if model.item_bias_.any() else None

    def chunk(lo: int) -> None:
        ub = uidx[lo : lo + _CHUNK_ROWS]
        buf = getattr(_buffers, "scores", None)
        if buf is None or buf.shape != (_CHUNK_ROWS, n_items) or buf.dtype != model.user_factors_.dtype:
            buf = _buffers.scores = np.empty((_CHUNK_ROWS, n_items), dtype=model.user_factors_.dtype)
        scores = np.matmul(model.user_factors_[ub], item_t, out=buf[: len(ub)])
        if item_bias is not None:  # the same arithmetic as FactorScoring._score
            scores += item_bias[None, :]
        shift = model.user_offset_[ub] + model.user_bias_[ub]
        if shift.any():
            scores += shift[:, None]
        rows = None if seen_rows is None else seen_rows[lo : lo + _CHUNK_ROWS]
        i, v = topk_rows_masked(scores.astype(np.float32, copy=False), n, exclude=seen, exclude_rows=rows, allowed=allowed, parallel=False)
        idx[lo : lo + len(ub)] = i
        vals[lo : lo + len(ub)] = v

    starts = range(0, len(uidx), _CHUNK_ROWS)
    threads = min(numba.get_num_threads(), len(starts))
    if threads > 1 and model.user_factors_.dtype == model.item_factors_.dtype == np.float32:
        return _fused_top_block(model, uidx, n, seen, seen_rows, allowed)
    if threads <= 1:  # one chunk (a few users, e.g. a serving request): no pool, BLAS as configured
        for lo in starts:
            chunk(lo)
        return idx, vals
    with _single_threaded_blas(), ThreadPoolExecutor(threads) as pool:
        list(pool.map(chunk, starts))
    return idx, vals


def _fused_top_block(
    model: FactorScoring, uidx: np.ndarray, n: int, seen: sp.csr_matrix | None, seen_rows: np.ndarray | None, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Many users of a float32 factor model: scoring and selection fused tile by tile in numba threads."""
    from cofirec.kernels.factor_topk import factor_topk, item_tiles
    from cofirec.kernels.topk import _allowed, _exclusion

    n_items = model.item_factors_.shape[0]
    # tiles are rebuilt per call (a copy of the item factors, small next to scoring >= 2 chunks of users), so
    # factors updated in place (a callback during training, a user's edit) are never ranked stale
    tiles = item_tiles(model.item_factors_)
    ptr, ind, rows = _exclusion(seen, seen_rows, len(uidx), n_items)
    shift = model.user_offset_[uidx] + model.user_bias_[uidx]
    with _single_threaded_blas():
        return factor_topk(
            model.user_factors_, tiles, n_items, uidx, n,
            item_bias=model.item_bias_ if model.item_bias_.any() else None, shift=shift if shift.any() else None,
            ex_ptr=ptr, ex_ind=ind, ex_rows=rows, allowed=_allowed(allowed, n_items), chunk=_FUSED_CHUNK,
        )  # fmt: skip


def _single_threaded_blas() -> Any:
    """A context limiting BLAS to one thread (a cached threadpoolctl controller: cheap to enter per block)."""
    if not _blas:
        from threadpoolctl import ThreadpoolController

        _blas.append(ThreadpoolController())
    return _blas[0].limit(limits=1, user_api="blas")


def validation_pairs(model: Recommender, validation: Interactions | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Validation interactions as model indices ``(users, items, ratings)``, pairs with unknown ids dropped.

    Returns None when there is no validation data or none of it is known to the model.
    """
    if validation is None or len(validation) == 0:
        return None
    u = model.user_map_.lookup(validation.user_map.to_raw(validation.users))
    i = model.item_map_.lookup(validation.item_map.to_raw(validation.items))
    keep = (u >= 0) & (i >= 0)
    if not keep.any():
        return None
    return u[keep], i[keep], validation.ratings[keep].astype(np.float32)


def validation_rmse(model: Recommender, pairs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """RMSE of the model's current predictions (clipped to the training range, as the rating protocol does) on
    validation pairs from :func:`validation_pairs`."""
    users, items, ratings = pairs
    pred = np.clip(model._predict_pairs(users, items), model.rating_min_, model.rating_max_)
    return rmse(pred, ratings)


def validation_csr(model: Recommender, validation: Interactions | None) -> sp.csr_matrix | None:
    """Validation positives as a CSR matrix (n_users, n_items) in the model's indices, or None."""
    pairs = validation_pairs(model, validation)
    if pairs is None:
        return None
    u, i, _ = pairs
    m = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)), shape=(model.n_users, model.n_items))
    m.sum_duplicates()
    return m


def ranking_validation(model: Recommender, train: sp.csr_matrix, validation: Interactions | None) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
    """``(truth, exclude)`` for early stopping on a ranking metric, or None without validation data.

    ``truth``: the validation positives (n_users, n_items) in model indices, pairs that are also training pairs
    dropped (None when nothing is left). ``exclude``: what validation rankings leave out: the training pairs (``train``, binary CSR) and
    other seen pairs (``also_seen``: ratings below an implicit threshold...), but never a validation positive,
    even when a front end also marked the validation pairs as seen (they are what the ranking must find).
    """
    truth = validation_csr(model, validation)
    if truth is None:
        return None
    truth.data[:] = 1.0
    train = train.astype(np.float32)
    train.data[:] = 1.0
    truth = _drop_pairs(truth, train)
    if truth.nnz == 0:
        return None
    exclude = _drop_pairs(model.seen_.astype(np.float32), truth) + train
    exclude.data[:] = 1.0
    return truth, exclude.tocsr()


def _drop_pairs(matrix: sp.csr_matrix, pairs: sp.csr_matrix) -> sp.csr_matrix:
    """``matrix`` (binary) without the nonzero pairs of ``pairs`` (binary)."""
    out = (matrix - matrix.multiply(pairs)).tocsr()
    out.eliminate_zeros()
    return out


def ranking_ndcg(model: Recommender, truth: sp.csr_matrix, exclude: sp.csr_matrix, k: int = 10, max_users: int = 2000, seed: int = 0) -> float:
    """Mean NDCG@k over (up to ``max_users`` sampled) users with validation positives, ``exclude`` left out.

    ``truth`` and ``exclude`` come from :func:`ranking_validation`. A small self-contained metric for early
    stopping only (the evaluation package owns the reported numbers).
    """
    from cofirec.kernels.topk import topk_rows

    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    if len(users) == 0:
        return 0.0
    if len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    total = 0.0
    block = model._batch_users()
    for b0 in range(0, len(users), block):
        ub = users[b0 : b0 + block]
        scores = model._score(ub)
        sub = exclude[ub]
        scores[np.repeat(np.arange(len(ub)), np.diff(sub.indptr)), sub.indices] = -np.inf
        idx, _ = topk_rows(scores, k)
        hits = np.take_along_axis(truth[ub].toarray(), idx, axis=1) > 0
        dcg = (hits * discounts).sum(axis=1)
        n_rel = np.minimum(np.diff(truth.indptr)[ub], k)
        idcg = np.cumsum(discounts)[n_rel - 1]
        total += float((dcg / idcg).sum())
    return total / len(users)


def check_positive(model: Recommender, **values: float) -> None:
    """ConfigError naming the first parameter that is not > 0."""
    for key, value in values.items():
        if not value > 0:
            raise ConfigError(f"{model.name}: {key} must be > 0, got {value}")


def check_non_negative(model: Recommender, **values: float) -> None:
    """ConfigError naming the first parameter that is negative."""
    for key, value in values.items():
        if value < 0:
            raise ConfigError(f"{model.name}: {key} must be >= 0, got {value}")
