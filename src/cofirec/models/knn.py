"""Memory-based k-nearest-neighbour models: user-user (:class:`UserKNN`) and item-item (:class:`ItemKNN`).

Fitting computes a sparse top-``k`` similarity matrix with :func:`cofirec.kernels.similarity.knn_similarity`
(blocked sparse products, never a loop over pairs). Scoring is a sparse matrix product:

* explicit (and binary) data, the KNNBaseline idea (Koren 2010; Surprise's ``KNNBaseline``)::

      r_ui = b_ui + sum_n s_n (r_n - b_n) / sum_n s_n

  over the neighbours ``n`` (items the user rated among item i's neighbours, or neighbour users who rated
  i) with ``b_ui = mu + b_u + b_i`` from :class:`~cofirec.models.baselines.BiasBaseline`; with fewer than
  ``min_k`` such neighbours the prediction is the baseline alone.
* implicit data: ``score_ui = sum_n s_n`` over the same neighbours (the user's history for item-item).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError
from cofirec.kernels.similarity import bm25_weight, center_columns, knn_similarity, rows_times_csr, tfidf_weight
from cofirec.kernels.sparse_topk import sparse_product_topk
from cofirec.models.base import Recommender
from cofirec.models.baselines import BiasBaseline

Similarity = Literal["auto", "cosine", "adjusted_cosine", "pearson", "pearson_baseline", "jaccard", "euclidean"]
Weighting = Literal["auto", "none", "bm25", "tfidf"]

_PAIRS_PER_USER_FOR_ROWS = 8
"""With at least this many pairs per distinct user, ``_predict_pairs`` gathers from full score rows."""

_DENSE_ITEMS = 4096
"""ItemKNN scores with a dense transposed neighbour matrix up to this many items (64 MB float32)."""

_SPARSE_TOP_BLOCK_USERS = 16384
"""Users per ``_top_block`` call of ``recommend`` on the sparse path (its scratch is ``8 x n_items x 17`` bytes)."""
_RATING_ONLY = {"adjusted_cosine", "pearson", "pearson_baseline", "euclidean"}
_KERNEL_METRIC = {
    "cosine": "cosine",
    "adjusted_cosine": "cosine",
    "pearson": "pearson",
    "pearson_baseline": "corated_cosine",
    "jaccard": "jaccard",
    "euclidean": "euclidean",
}


class _NeighborhoodModel(Recommender):
    """Shared fitting and scoring; subclasses set ``_rows`` ("item" or "user"): the entities compared."""

    _rows: ClassVar[str] = "item"
    _auto: ClassVar[dict[str, dict[str, Any]]] = {}
    """Per data kind ("explicit" / "implicit"): the similarity, k and shrinkage that ``None`` / "auto" mean."""

    def __init__(
        self,
        k: int | None = None,
        similarity: Similarity = "auto",
        shrinkage: float | None = None,
        min_k: int = 1,
        min_support: int = 1,
        weighting: Weighting = "auto",
        alpha: float = 0.5,
        bm25_k1: float = 100.0,
        bm25_b: float = 0.8,
        bias_reg_user: float = 10.0,
        bias_reg_item: float = 2.0,
    ) -> None:
        self.k = k
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.min_k = min_k
        self.min_support = min_support
        self.weighting = weighting
        self.alpha = alpha
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.bias_reg_user = bias_reg_user
        self.bias_reg_item = bias_reg_item

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        checks = [
            (self.k is None or self.k >= 1, f"k must be >= 1, got {self.k}"),
            (self.shrinkage is None or self.shrinkage >= 0, f"shrinkage must be >= 0, got {self.shrinkage}"),
            (self.min_k >= 0, f"min_k must be >= 0, got {self.min_k}"),
            (self.min_support >= 1, f"min_support must be >= 1, got {self.min_support}"),
            (0.0 <= self.alpha <= 1.0, f"alpha must be in [0, 1], got {self.alpha}"),
            (self.bm25_k1 >= 0 and 0.0 <= self.bm25_b <= 1.0, f"bm25_k1 must be >= 0 and bm25_b in [0, 1], got {self.bm25_k1}, {self.bm25_b}"),
            (self.bias_reg_user >= 0 and self.bias_reg_item >= 0, "bias_reg_user and bias_reg_item must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{self.name}: {message}")

    def _resolve(self, explicit: bool) -> dict[str, Any]:
        """The similarity, weighting, k and shrinkage actually used for this kind of data, validated."""
        auto = self._auto["explicit" if explicit else "implicit"]
        sim = self.similarity if self.similarity != "auto" else auto["similarity"]
        weighting = self.weighting if self.weighting != "auto" else ("bm25" if (not explicit and sim == "cosine") else "none")
        if not explicit and sim in _RATING_ONLY:
            raise ConfigError(f"{self.name}: similarity {sim!r} needs explicit ratings; use cosine or jaccard for implicit data")
        if weighting != "none" and sim != "cosine":
            raise ConfigError(f"{self.name}: weighting={weighting!r} applies to cosine similarity only (similarity={sim!r})")
        return {
            "similarity": sim,
            "weighting": weighting,
            "k": int(self.k if self.k is not None else auto["k"]),
            "shrinkage": float(self.shrinkage if self.shrinkage is not None else auto["shrinkage"]),
        }

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        self._cache: dict[str, Any] = {}
        explicit = data.kind != "implicit"
        used = self._resolve(explicit)
        sim, weighting = used["similarity"], used["weighting"]
        self.settings_used_ = used
        ratings = self._ratings_csr(data)
        if explicit:
            bias = BiasBaseline(reg_user=self.bias_reg_user, reg_item=self.bias_reg_item)
            mu, bu, bi = bias.fit_biases(data)
            residuals = _residuals(ratings.astype(np.float64), mu, bu, bi)
            self.mu_ = float(mu)
            self.user_bias_ = bu.astype(np.float32)
            self.item_bias_ = bi.astype(np.float32)
            self.residuals_ = residuals.astype(np.float32)
        else:  # a refit on implicit data must not keep (and save) an earlier explicit fit's state
            for attr in ("mu_", "user_bias_", "item_bias_", "residuals_"):
                self.__dict__.pop(attr, None)
        values, transpose = self._similarity_input(ratings, sim, weighting, residuals if explicit else None)
        del ratings  # only what the kernel reads stays alive while it runs
        if explicit:
            del residuals
        self.similarity_matrix_ = knn_similarity(
            values,
            _KERNEL_METRIC[sim],  # type: ignore[arg-type]  # values are the kernel's metric names
            k=used["k"],
            shrinkage=used["shrinkage"],
            min_support=self.min_support,
            alpha=self.alpha,
            transpose=transpose,
        )

    def _ratings_csr(self, data: Interactions) -> sp.csr_matrix:
        """User x item CSR of the ratings (float32 as stored, read exactly by the kernel). When ``seen_`` holds
        exactly the training pairs, its index arrays are shared and only the values are new."""
        dtype = np.float32 if data.ratings.dtype == np.float32 else np.float64
        seen = self.seen_
        if seen.nnz != len(data) or seen.shape != (data.n_users, data.n_items) or not seen.has_sorted_indices:
            return data.to_csr("rating", dtype=np.float64)  # duplicate pairs are summed in float64, as before
        values = data.ratings
        if len(values) and values.min() == values.max():  # one value (implicit data): no reordering needed
            vals = np.full(len(values), values[0], dtype=dtype)
        else:
            vals = values[np.lexsort((data.items, data.users))].astype(dtype, copy=False)  # the CSR order of the pairs
        return sp.csr_matrix((vals, seen.indices, seen.indptr), shape=seen.shape)

    def _similarity_input(
        self, ratings: sp.csr_matrix, sim: str, weighting: str, residuals: sp.csr_matrix | None
    ) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
        """The matrix whose rows are compared: (n_items, n_users) for item-item, (n_users, n_items) for user-user;
        and its transpose when that is an existing matrix (item-item on unweighted values), else None."""
        m = residuals if sim == "pearson_baseline" else ratings
        if sim == "jaccard":
            m = self.seen_
        rows_first = m.T.tocsr() if self._rows == "item" else m.tocsr()  # type: ignore[union-attr]  # residuals exist for pearson_baseline
        if sim == "adjusted_cosine":
            rows_first = center_columns(rows_first)
        if weighting == "bm25":
            rows_first = bm25_weight(rows_first, self.bm25_k1, self.bm25_b)
        elif weighting == "tfidf":
            rows_first = tfidf_weight(rows_first)
        unchanged = self._rows == "item" and sim not in ("adjusted_cosine",) and weighting == "none" and m.has_sorted_indices  # type: ignore[union-attr]
        return rows_first, (m if unchanged else None)  # type: ignore[return-value]

    # ------------------------------------------------------------------ scoring
    @property
    def _explicit(self) -> bool:
        return self.kind_ != "implicit"

    def _cached(self, name: str, build) -> Any:
        cache = self.__dict__.setdefault("_cache", {})
        if name not in cache:
            cache[name] = build()
        return cache[name]

    def _pattern(self) -> sp.csr_matrix:
        s = self.similarity_matrix_
        return self._cached("pattern", lambda: sp.csr_matrix((np.ones_like(s.data), s.indices, s.indptr), shape=s.shape))

    @property
    def _needs_counts(self) -> bool:
        """Neighbour counts matter only for min_k > 1 (similarities are positive, so den > 0 means >= 1)."""
        return self.min_k > 1

    def _combine(self, num: np.ndarray, den: np.ndarray, cnt: np.ndarray | None, base: np.ndarray) -> np.ndarray:
        """Baseline plus weighted deviations (explicit) or summed similarities (implicit), where min_k is met."""
        ok = den > 0 if cnt is None else (cnt >= self.min_k) & (den > 0)
        if not self._explicit:
            return np.where(ok, den, 0.0).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.where(ok, num / den, 0.0)
        out = (base + dev).astype(np.float32)
        if self.kind_ == "binary":  # 0/1 labels: keep predictions in the label range
            np.clip(out, self.rating_min_, self.rating_max_, out=out)
        return out

    def _baseline(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        if not self._explicit:
            return np.zeros(1, dtype=np.float32)
        if items is None:
            return self.mu_ + self.user_bias_[users][:, None] + self.item_bias_[None, :]
        return self.mu_ + self.user_bias_[users] + self.item_bias_[items]

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Row-wise sparse products for scattered pairs; whole score rows when users have many pairs each."""
        if len(users) >= _PAIRS_PER_USER_FOR_ROWS * len(np.unique(users)):
            return super()._predict_pairs(users, items)
        return self._pairs_sparse(users, items)

    def _pairs_sparse(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fold_in_rows(self, idx: np.ndarray, values: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix | None, np.ndarray]:
        """The new user's binary row, residual row (explicit data: ``r - mu - b_u - b_i`` with ``b_u`` solved as
        the baseline's ALS step against the fixed item biases; None for implicit) and baseline (1, n_items)."""
        ones = np.zeros(len(idx), dtype=np.int64)
        binary = sp.csr_matrix((np.ones(len(idx)), (ones, idx)), shape=(1, self.n_items))
        if not self._explicit:
            return binary, None, np.zeros((1, 1))
        bu = float(np.sum(values - self.mu_ - self.item_bias_[idx]) / (self.bias_reg_user + len(idx)))
        res = sp.csr_matrix((values - self.mu_ - bu - self.item_bias_[idx], (ones, idx)), shape=(1, self.n_items))
        return binary, res, (self.mu_ + bu + self.item_bias_)[None, :]

    def _top_block(
        self, uidx: np.ndarray, n: int, seen: sp.csr_matrix | None, seen_rows: np.ndarray | None, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Implicit data: the top-``n`` straight from the sparse product (no dense block of scores); the same
        lists and scores as the dense path."""
        factors = self._sparse_factors()
        if self._explicit or factors is None or not len(uidx) or (uidx < 0).any():
            return self._dense_top_blocks(uidx, n, seen, seen_rows, allowed)
        a, b = factors
        return sparse_product_topk(a, uidx, b, n, min_k=self.min_k, exclude=seen, exclude_rows=seen_rows, allowed=allowed)

    def _top_block_users(self) -> int:
        """Implicit data scores through the sparse product (no dense block): large calls keep the threads busy."""
        return _SPARSE_TOP_BLOCK_USERS if not self._explicit and self._sparse_factors() is not None else self._batch_users()

    def _sparse_factors(self) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
        """(A, B) with scores ``A[users] @ B`` as float32 CSR matrices, or None when not float32."""
        raise NotImplementedError

    def _unknown_user_scores(self) -> np.ndarray:
        if not self._explicit:
            return self.item_popularity_
        scores = (self.mu_ + self.item_bias_).astype(np.float32)
        return np.clip(scores, self.rating_min_, self.rating_max_) if self.kind_ == "binary" else scores


class ItemKNN(_NeighborhoodModel):
    """Item-item kNN (Sarwar et al. 2001) with a KNNBaseline prediction for explicit data.

    Parameters
    ----------
    k : int or None
        Neighbours kept per item (largest positive similarities), stored as a sparse (n_items, n_items)
        matrix ``similarity_matrix_`` whose row i lists i's neighbours. None: 400 (explicit) / 200 (implicit).
    similarity : "auto", "cosine", "adjusted_cosine", "pearson", "pearson_baseline", "jaccard", "euclidean"
        "auto": ``adjusted_cosine`` (user-mean centred cosine) for explicit data, ``cosine`` for implicit.
        Rating-based similarities (adjusted_cosine, pearson, pearson_baseline: co-rated cosine of baseline
        residuals as Surprise's KNNBaseline, euclidean) need explicit data.
    shrinkage : float or None
        ``sim * n_common / (n_common + shrinkage)``. None: 100 (explicit) / 0 (implicit).
    min_k : int
        Fewer rated neighbours than this: the baseline prediction (explicit) or score 0 (implicit).
    min_support : int
        Item pairs with fewer common users get similarity 0.
    weighting : "auto", "none", "bm25", "tfidf"
        Re-weighting of the item x user matrix before cosine (as implicit's BM25Recommender / TFIDF);
        "auto" is bm25 for implicit data with cosine, else none. (On 0/1 data the cosine cancels BM25's
        per-item length norm, so bm25 and tfidf then rank alike; they differ on counts.)
    alpha : float
        Asymmetric cosine: ``dot / (|i|^(2 alpha) |j|^(2 (1 - alpha)))``; 0.5 is the plain cosine.
    bm25_k1, bm25_b : float
        BM25 parameters.
    bias_reg_user, bias_reg_item : float
        Regularisation of the baseline biases (explicit data), as in :class:`BiasBaseline`.

    Notes
    -----
    Defaults were chosen on ml-100k ``u1.base`` with a per-user 80/20 holdout carved from it (``u1.test``
    never used). Explicit, validation RMSE (BiasBaseline alone: 0.9392): pearson_baseline k=20/50/100/200
    with shrinkage 100: 0.983/0.948/0.935/0.925 (no shrinkage is much worse: 1.05-1.11), k=400: 0.923,
    k=1000: 0.922; pearson k=200: 0.927; cosine k=200: 0.931; adjusted_cosine k=200: 0.919, k=400: 0.917
    (shrinkage 50-200 and min_k 1-3 within 0.0005), so adjusted_cosine, k=400, shrinkage=100. Neighbour
    lists are global (top-k per item, not per user), so k must be large. Implicit, validation NDCG@10 over
    unseen items (popularity 0.164, EASE 0.313): cosine k=20/50/100/200: 0.264/0.282/0.282/0.289; with
    bm25: 0.278/0.291/0.292/0.297, k=400: 0.295; shrinkage 10: 0.292; alpha 0.3: 0.280; jaccard: 0.274;
    so bm25 cosine, k=200, no shrinkage.
    """

    _auto = {
        "explicit": {"similarity": "adjusted_cosine", "k": 400, "shrinkage": 100.0},
        "implicit": {"similarity": "cosine", "k": 200, "shrinkage": 0.0},
    }
    name = "item-knn"
    state_axes = {"similarity_matrix_": ("items", "items"), "residuals_": ("users", "items")}  # checked at load
    _rows = "item"

    def _right(self, name: str, matrix) -> Any:
        """Transposed neighbour matrix for ``history @ S^T``: dense when small (sparse x dense is faster)."""

        def build():
            t = matrix().T.tocsr()
            return t.toarray() if self.n_items <= _DENSE_ITEMS else t

        return self._cached(name, build)

    def _score(self, users: np.ndarray) -> np.ndarray:
        """The users' history rows times the transposed neighbour matrix, one parallel product per block."""
        sim_t = self._right("sim_t", lambda: self.similarity_matrix_)
        den = _product(self.seen_, users, sim_t)
        cnt = _product(self.seen_, users, self._right("pattern_t", self._pattern)) if self._needs_counts else None
        num = _product(self.residuals_, users, sim_t) if self._explicit else den
        return self._combine(num, den, cnt, self._baseline(users))

    def _sparse_factors(self) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
        sim_t = self._cached("sim_t_csr", lambda: self.similarity_matrix_.T.tocsr())
        return (self.seen_, sim_t) if self.seen_.dtype == sim_t.dtype == np.float32 else None

    def _pairs_sparse(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        seen = self.seen_[users]
        sims = self.similarity_matrix_[items]
        den = np.asarray(seen.multiply(sims).sum(axis=1)).ravel()
        cnt = np.asarray(seen.multiply(self._pattern()[items]).sum(axis=1)).ravel() if self._needs_counts else None
        num = np.asarray(self.residuals_[users].multiply(sims).sum(axis=1)).ravel() if self._explicit else den
        return self._combine(num, den, cnt, self._baseline(users, items))

    def _item_similarities(self, iidx: np.ndarray) -> np.ndarray:
        return self.similarity_matrix_[iidx].toarray().astype(np.float32)

    def _contributions(self, idx: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Exactly the neighbour terms: ``S[t, h]`` times the user's rating (explicit data) or 1 (implicit data,
        which scores the binary history)."""
        sims = self.similarity_matrix_[targets][:, idx].toarray().astype(np.float64)
        return sims * values[None, :] if self._explicit else sims

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Scores straight from the given items, exactly as for a known user with that history (the item
        neighbourhoods do not depend on the user)."""
        binary, res, base = self._fold_in_rows(idx, values)
        sim_t = self._right("sim_t", lambda: self.similarity_matrix_)
        den = _as_dense(binary @ sim_t)
        cnt = _as_dense(binary @ self._right("pattern_t", self._pattern)) if self._needs_counts else None
        num = _as_dense(res @ sim_t) if res is not None else den
        return self._combine(num, den, cnt, base)[0]


class UserKNN(_NeighborhoodModel):
    """User-user kNN (Herlocker et al. 1999) with a KNNBaseline prediction for explicit data.

    Same parameters as :class:`ItemKNN` with users and items swapped: ``similarity_matrix_`` is (n_users,
    n_users), ``adjusted_cosine`` centres each item's ratings by the item mean, ``weighting`` re-weights the
    user x item matrix. "auto" similarity: ``pearson_baseline`` for explicit data, bm25 ``cosine`` for
    implicit; ``k`` None: 400 (explicit) / 100 (implicit); ``shrinkage`` None: 100 / 0. Fitting holds a dense
    block of users x users at a time; the neighbour matrix keeps ``k`` entries per user.

    Notes
    -----
    Defaults were chosen on ml-100k ``u1.base`` with a per-user 80/20 holdout carved from it (``u1.test``
    never used). Explicit, validation RMSE (BiasBaseline alone: 0.9392): pearson_baseline with shrinkage
    100 at k=50/100/200/400/900: 0.962/0.944/0.933/0.929/0.929 (shrinkage 50 or 200 within 0.001);
    pearson k=200: 0.933; cosine k=200: 0.940; adjusted_cosine k=400: 0.936. Implicit, validation NDCG@10
    (popularity 0.164): cosine k=20/50/100/200: 0.270/0.283/0.286/0.281; with bm25:
    0.273/0.289/0.289/0.284, k=400: 0.273; shrinkage 10: 0.286; so bm25 cosine, k=100, no shrinkage.
    """

    _auto = {
        "explicit": {"similarity": "pearson_baseline", "k": 400, "shrinkage": 100.0},
        "implicit": {"similarity": "cosine", "k": 100, "shrinkage": 0.0},
    }
    name = "user-knn"
    state_axes = {"similarity_matrix_": ("users", "users"), "residuals_": ("users", "items")}  # checked at load
    _rows = "user"

    def _score(self, users: np.ndarray) -> np.ndarray:
        """The users' neighbour rows times the training matrix, one parallel product per block."""
        den = _product(self.similarity_matrix_, users, self.seen_)
        cnt = _product(self._pattern(), users, self.seen_) if self._needs_counts else None
        num = _product(self.similarity_matrix_, users, self.residuals_) if self._explicit else den
        return self._combine(num, den, cnt, self._baseline(users))

    def _sparse_factors(self) -> tuple[sp.csr_matrix, sp.csr_matrix] | None:
        s = self.similarity_matrix_
        return (s, self.seen_) if s.dtype == self.seen_.dtype == np.float32 else None

    def _pairs_sparse(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        sims = self.similarity_matrix_[users]
        seen_t = self._cached("seen_t", lambda: self.seen_.T.tocsr())[items]
        den = np.asarray(sims.multiply(seen_t).sum(axis=1)).ravel()
        cnt = np.asarray(self._pattern()[users].multiply(seen_t).sum(axis=1)).ravel() if self._needs_counts else None
        if self._explicit:
            res_t = self._cached("residuals_t", lambda: self.residuals_.T.tocsr())[items]
            num = np.asarray(sims.multiply(res_t).sum(axis=1)).ravel()
        else:
            num = den
        return self._combine(num, den, cnt, self._baseline(users, items))

    def _fold_in(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Neighbours among the known users, then the usual user-kNN sums. The new user's similarity to each
        known user is the cosine of their rows (binary rows for implicit data, baseline residuals for explicit
        data: the fold-in's own stand-in for the fitted similarity, which needs the whole matrix), shrunk as in
        training and cut to the ``k`` most similar."""
        binary, res, base = self._fold_in_rows(idx, values)
        used = getattr(self, "settings_used_", {}) or {}
        rows, row = (self.residuals_, res) if res is not None else (self.seen_, binary)
        dots = _as_dense(rows @ row.T).ravel()
        norms = self._cached("row_norms", lambda: np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel()))
        own = float(np.sqrt(row.multiply(row).sum()))
        with np.errstate(divide="ignore", invalid="ignore"):
            sims = np.where(norms > 0, dots / (norms * max(own, 1e-12)), 0.0)
        shrink = float(used.get("shrinkage", 0.0))
        if shrink > 0:
            common = _as_dense(self.seen_ @ binary.T).ravel()
            sims = sims * common / (common + shrink)
        sims[sims <= 0] = 0.0
        k = int(used.get("k", 100))
        if np.count_nonzero(sims) > k:
            sims[np.argsort(-sims, kind="stable")[k:]] = 0.0
        srow = sp.csr_matrix(sims[None, :])
        den = _as_dense(srow @ self.seen_)
        cnt = _as_dense(sp.csr_matrix((sims[None, :] > 0).astype(np.float64)) @ self.seen_) if self._needs_counts else None
        num = _as_dense(srow @ self.residuals_) if res is not None else den
        return self._combine(num, den, cnt, base)[0]


def _product(a: sp.csr_matrix, rows: np.ndarray, b: Any) -> np.ndarray:
    """Dense ``a[rows] @ b`` with the same values as scipy's product (its dtype and summation order)."""
    return rows_times_csr(a, rows, b, dtype=np.result_type(a.dtype, b.dtype))


def _as_dense(m) -> np.ndarray:
    return m.toarray() if sp.issparse(m) else np.asarray(m)


def _residuals(ratings: sp.csr_matrix, mu: float, user_bias: np.ndarray, item_bias: np.ndarray) -> sp.csr_matrix:
    """``r_ui - mu - b_u - b_i`` on the pattern of ``ratings`` (explicit zeros kept), float64 CSR."""
    rows = np.repeat(np.arange(ratings.shape[0]), np.diff(ratings.indptr))
    data = ratings.data - mu - user_bias[rows] - item_bias[ratings.indices]
    return sp.csr_matrix((data, ratings.indices.copy(), ratings.indptr.copy()), shape=ratings.shape)
