"""The ``Recommender`` base class every cofirec model implements.

A model writes ``_fit`` and ``_score`` (and, when it can do better than gathering from ``_score``,
``_predict_pairs`` and ``_item_vectors``). The base class owns everything else: raw id <-> index mapping,
remembering what each user has seen, unknown-user fallbacks, batch-first ``recommend``, ``similar_items``,
scikit-learn style parameters, epoch bookkeeping and ``save``.

Orientation is users x items everywhere. Scores are "higher is better"; for explicit-rating models
``predict`` returns ratings on the training scale.
"""

from __future__ import annotations

import inspect
import time
import typing
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError, DataError, NotFittedError
from cofirec.kernels.topk import topk_rows, topk_rows_masked
from cofirec.models._history import NewUsers
from cofirec.models.recommendations import Recommendations, check_top_n, ranked_lists, raw_id_array  # noqa: F401  (public here too)

EpochCallback = Callable[["Recommender", dict], None]
"""Called after each epoch with the model and that epoch's record; may raise to stop training."""

_FALLBACK_DAMPING = 5.0

EPOCH_PARAMS: tuple[str, ...] = ("epochs",)
"""Names under which iterative models take their number of passes (what :meth:`Recommender.refit` sets)."""


class Recommender(NewUsers):
    """Base class: ``fit(data) -> self``, ``predict``, ``recommend``, ``similar_items``, ``save``.

    Subclasses declare hyperparameters as keyword arguments of ``__init__`` with type hints and defaults,
    store them verbatim, and validate them in ``_check_params`` (called by ``fit``). Fitted state lives in
    public attributes whose names end with ``_``; :meth:`save` stores exactly those.
    """

    name: ClassVar[str] = ""
    """Registry name (``cofirec train NAME``)."""
    supported_kinds: ClassVar[frozenset[str]] = frozenset({"explicit", "implicit", "binary"})
    """Feedback kinds (``Interactions.kind``) this model can be fitted on."""
    predicts_ratings: ClassVar[bool] = True
    """Whether ``predict`` returns values on the rating scale for explicit data (then they are clipped)."""
    renamed_params: ClassVar[dict[str, str]] = {}
    """Old parameter name -> current name, so artifacts saved under the old name still load (see
    :meth:`upgrade_params`); ``--param OLD=...`` is refused with a message naming the new name."""
    regresses_labels: ClassVar[bool] = False
    """Whether the model fits binary (0/1 label) data by regression: ``predict`` then clips to the label range,
    so the binary protocol can read the predictions as like probabilities."""

    # ------------------------------------------------------------------ parameters (scikit-learn habits)
    @classmethod
    def param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind in kinds]

    @classmethod
    def param_types(cls) -> dict[str, Any]:
        hints = typing.get_type_hints(cls.__init__)
        return {n: hints.get(n, Any) for n in cls.param_names()}

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        sig = inspect.signature(cls.__init__)
        return {n: sig.parameters[n].default for n in cls.param_names()}

    @classmethod
    def upgrade_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with renamed parameters (``renamed_params``, e.g. ``iterations`` -> ``epochs``) under their current names."""
        return {cls.renamed_params.get(k, k): v for k, v in params.items()}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.param_names()}

    def set_params(self, **params: Any) -> "Recommender":
        from cofirec.models.params import unknown_parameter

        known = set(self.param_names())
        for k, v in params.items():
            if k not in known:
                raise unknown_parameter(type(self), k)
            setattr(self, k, v)
        return self

    def clone(self) -> "Recommender":
        """An unfitted copy with the same parameters."""
        return type(self)(**self.get_params())

    def refit(self, data: Interactions, **fit_kwargs: Any) -> "Recommender":
        """A new model fitted on ``data`` (typically the training data with the validation part put back) for
        the epoch count this fitted model's early stopping chose (``best_epoch_``: epochs count from 1 for every
        model), with no held-out slice and no early stopping.

        Needs a model trained with validation data (``fit(..., validation=...)`` or a ``holdout``); raises
        ConfigError otherwise. ``fit_kwargs`` go to ``fit`` (``also_seen``, ``progress``, ...).
        """
        params = self.get_params()
        key = next((k for k in EPOCH_PARAMS if k in params), None)
        best = getattr(self, "best_epoch_", None)
        validated = any(k.startswith("val_") for record in getattr(self, "history_", None) or [] for k in record)
        if key is None or not best or not validated:
            raise ConfigError(
                f"{self.name}: refit needs a model whose epoch count was chosen by early stopping on validation data "
                "(fit with validation data, or a model with a holdout)"
            )
        changes: dict[str, Any] = {key: int(best)}
        changes.update({k: v for k, v in (("holdout", 0.0), ("patience", 0)) if k in params})
        return self.clone().set_params(**changes).fit(data, **fit_kwargs)

    @classmethod
    def from_params(cls, params: dict[str, Any] | None = None) -> "Recommender":
        """Build from a mapping of parameter names to values or strings (CLI / config), validating names and types."""
        from cofirec.models.params import coerce_params

        return cls(**coerce_params(cls, params or {}))

    def __repr__(self) -> str:
        defaults = self.param_defaults()
        changed = {k: v for k, v in self.get_params().items() if defaults.get(k, inspect.Parameter.empty) != v}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    def _check_params(self) -> None:
        """Validate hyperparameters (types are checked by the base class); raise ConfigError naming the parameter."""

    def _validate_params(self) -> None:
        from cofirec.models.params import check_param_types

        check_param_types(self)
        self._check_params()

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        data: Interactions,
        *,
        validation: Interactions | None = None,
        callbacks: Sequence[EpochCallback] = (),
        progress: bool = False,
        also_seen: Interactions | None = None,
    ) -> "Recommender":
        """Fit on ``data`` (users and items without interactions are dropped first).

        ``validation`` (same raw id space) is used by iterative models for early stopping and the loss history;
        ``callbacks`` are called after each epoch; ``progress`` shows a progress bar. ``also_seen``: more
        interactions the users already had that are not training signal (ratings below an implicit threshold,
        a carved-out validation part): never recommended back with ``exclude_seen``; pairs of users or items
        unknown to ``data`` are ignored. Validation rankings during training still rank the validation pairs.
        """
        self._validate_params()
        if not isinstance(data, Interactions):
            raise DataError(f"fit expects an Interactions container, got {type(data).__name__}")
        if data.kind not in self.supported_kinds:
            raise DataError(f"{self.name}: cannot fit {data.kind} feedback (supports: {', '.join(sorted(self.supported_kinds))})")
        data = data.compact()
        if len(data) == 0:
            raise DataError(f"{self.name}: no training interactions")
        self._callbacks = list(callbacks)
        self._progress = progress
        self._remember_training_data(data)
        if also_seen is not None:
            self._add_seen(also_seen)
        self.history_: list[dict] = []
        start = time.perf_counter()
        self._fit(data, validation)
        self.fit_seconds_ = float(time.perf_counter() - start)
        self._callbacks = []
        return self

    def _remember_training_data(self, data: Interactions) -> None:
        self.user_map_ = data.user_map
        self.item_map_ = data.item_map
        self.kind_ = data.kind
        self.data_name_ = data.name
        self.binary_threshold_ = data.meta.get("binary_threshold")
        self.implicit_min_rating_ = data.meta.get("implicit_min_rating")
        self.seen_ = data.to_csr("binary", dtype=np.float32)
        counts = data.item_counts().astype(np.float32)
        self.item_popularity_ = counts
        self.global_mean_ = float(data.global_mean)
        self.rating_min_ = float(data.ratings.min())
        self.rating_max_ = float(data.ratings.max())
        sums = np.bincount(data.items, weights=data.ratings, minlength=data.n_items)
        self.item_fallback_ = ((sums + _FALLBACK_DAMPING * self.global_mean_) / (counts + _FALLBACK_DAMPING)).astype(np.float32)
        if data.kind != "implicit":  # the values behind explain() for known users
            self.train_ratings_ = data.to_csr("rating", dtype=np.float32)
        else:
            self.__dict__.pop("train_ratings_", None)
        titles = data.item_titles()
        self.item_titles_ = titles if titles is not None else None

    def _add_seen(self, other: Interactions) -> None:
        """Union ``other``'s known (user, item) pairs into ``seen_`` (raw ids mapped to this model's indices)."""
        if not isinstance(other, Interactions):
            raise DataError(f"also_seen expects an Interactions container, got {type(other).__name__}")
        u = self.user_map_.lookup(other.user_map.to_raw(other.users))
        i = self.item_map_.lookup(other.item_map.to_raw(other.items))
        ok = (u >= 0) & (i >= 0)
        extra = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (u[ok], i[ok])), shape=self.seen_.shape)
        merged = (self.seen_ + extra).tocsr()
        merged.data[:] = 1.0
        self.seen_ = merged

    def _fit(self, data: Interactions, validation: Interactions | None) -> None:
        raise NotImplementedError

    def _report_epoch(self, record: dict) -> None:
        """Append one epoch's record (``epoch``, ``loss``, validation numbers...) to ``history_`` and run callbacks."""
        record = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in record.items()}
        self.history_.append(record)
        for cb in getattr(self, "_callbacks", []):
            cb(self, record)

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_map_"):
            raise NotFittedError(f"{self.name or type(self).__name__} is not fitted yet: call fit(data) or cofirec.load(path)")

    @property
    def n_users(self) -> int:
        self._check_fitted()
        return len(self.user_map_)

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_map_)

    # ------------------------------------------------------------------ scoring hooks
    def _score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for known user indices: float array (len(users), n_items)."""
        raise NotImplementedError

    def _predict_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Scores for (user index, item index) pairs, shape (n,). Default: gather from ``_score`` by user."""
        out = np.empty(len(users), dtype=np.float32)
        order = np.argsort(users, kind="stable")
        su, si = users[order], items[order]
        starts = np.flatnonzero(np.r_[True, su[1:] != su[:-1]]) if len(su) else np.empty(0, dtype=np.int64)
        uniq = su[starts]
        bounds = np.append(starts, len(su))
        block = self._batch_users()
        for b0 in range(0, len(uniq), block):
            ub = uniq[b0 : b0 + block]
            scores = self._score(ub)
            lo, hi = bounds[b0], bounds[min(b0 + block, len(uniq))]
            rows = np.repeat(np.arange(len(ub)), np.diff(bounds[b0 : min(b0 + block, len(uniq)) + 1]))
            out[order[lo:hi]] = scores[rows, si[lo:hi]]
        return out

    def _item_vectors(self) -> np.ndarray | None:
        """Item embedding matrix (n_items, d) for ``similar_items`` by cosine, or None to use co-occurrence."""
        return None

    def _unknown_user_scores(self) -> np.ndarray:
        """Fallback scores for a user not seen in training, shape (n_items,): damped item means for explicit and
        binary data, item popularity for implicit data."""
        return self.item_fallback_ if self.kind_ != "implicit" else self.item_popularity_

    def _batch_users(self) -> int:
        """Users per scoring block, so that a block of scores stays around 64 MB."""
        return int(max(1, min(4096, 16_000_000 // max(self.n_items, 1))))

    def _top_block_users(self) -> int:
        """Users per :meth:`_top_block` call in :meth:`recommend`: a dense block of scores (``_batch_users``)
        unless the model selects without one (then larger calls keep its threads busy)."""
        return self._batch_users()

    def _dense_top_blocks(
        self, uidx: np.ndarray, n: int, seen: sp.csr_matrix | None, seen_rows: np.ndarray | None, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The dense :meth:`Recommender._top_block` over sub-blocks of ``_batch_users`` users, for a model's own
        ``_top_block`` that was handed a larger block than a dense score block may be (e.g. unknown users)."""
        step = self._batch_users()
        if len(uidx) <= step:
            return Recommender._top_block(self, uidx, n, seen, seen_rows, allowed)
        parts = []
        for b0 in range(0, len(uidx), step):
            sub_seen, sub_rows = seen, None if seen_rows is None else seen_rows[b0 : b0 + step]
            if seen is not None and seen_rows is None:  # row r of seen belongs to user r of the block
                sub_seen = seen[b0 : b0 + step]
            parts.append(Recommender._top_block(self, uidx[b0 : b0 + step], n, sub_seen, sub_rows, allowed))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    # ------------------------------------------------------------------ public API
    def predict(self, users: Iterable | np.ndarray, items: Iterable | np.ndarray, *, return_known: bool = False):
        """Predicted rating (explicit data) or score for each (user, item) pair of raw ids.

        Unknown users get the item's damped mean rating (explicit/binary) or popularity (implicit); unknown items
        get the global mean (or 0). With ``return_known=True`` also returns a bool array: pair fully known.
        Ratings are clipped to the training range.
        """
        self._check_fitted()
        u = self.user_map_.lookup(raw_id_array(users, "predict: users"))
        i = self.item_map_.lookup(raw_id_array(items, "predict: items"))
        if len(u) != len(i):
            raise DataError(f"predict: {len(u)} users but {len(i)} items (one item per user, pairwise)")
        known = (u >= 0) & (i >= 0)
        out = np.full(len(u), self.global_mean_ if self.kind_ != "implicit" else 0.0, dtype=np.float32)
        cold_user = (u < 0) & (i >= 0)
        out[cold_user] = self._unknown_user_scores()[i[cold_user]]
        if known.any():
            out[known] = self._predict_pairs(u[known], i[known])
        if (self.predicts_ratings and self.kind_ == "explicit") or (self.regresses_labels and self.kind_ == "binary"):
            np.clip(out, self.rating_min_, self.rating_max_, out=out)
        return (out, known) if return_known else out

    def recommend(
        self,
        users: Any,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        candidates: Iterable | np.ndarray | None = None,
        exclude: Iterable | np.ndarray | None = None,
    ) -> Recommendations:
        """Top-``n`` items for each user (raw ids), best first.

        ``exclude_seen`` drops the user's training items; ``candidates`` (raw item ids) restricts the ranking to
        those items; ``exclude`` (raw item ids) leaves those out for every user of the call (unknown ids are
        ignored in both). Lists are shorter than ``n`` when fewer items qualify; they are
        never filled up with seen or non-candidate items (see :class:`Recommendations` for batches). Unknown
        users get the fallback ranking (``known`` is False for them). A scalar user gives 1-d arrays.
        With an ANN index attached (:meth:`attach_index`) and no ``candidates``, large catalogues are ranked in two
        stages (approximate candidates, re-ranked with the model's scores).
        """
        n = check_top_n(n)
        self._check_fitted()
        index = self.__dict__.get("_ann_index")
        if index is not None and candidates is None and index.applies(self):
            return index.recommend(self, users, n, exclude_seen=exclude_seen, exclude=exclude)
        single = np.ndim(users) == 0
        raw_users = raw_id_array(users, "recommend: users")
        uidx = self.user_map_.lookup(raw_users)
        allowed = self._allowed_items(candidates, exclude, "recommend")
        n_eff = int(min(n, self.n_items))
        all_items = np.empty((len(uidx), n_eff), dtype=np.int64)
        all_scores = np.empty((len(uidx), n_eff), dtype=np.float32)
        block = self._top_block_users()
        for b0 in range(0, len(uidx), block):
            ub = uidx[b0 : b0 + block]
            seen, seen_rows = (self.seen_, ub) if exclude_seen else (None, None)
            idx, vals = self._top_block(ub, n_eff, seen, seen_rows, allowed)
            all_items[b0 : b0 + block] = idx
            all_scores[b0 : b0 + block] = vals
        return ranked_lists(self.item_map_, all_items, all_scores, raw_users, uidx >= 0, single=single)

    def _top_block(
        self, uidx: np.ndarray, n: int, seen: sp.csr_matrix | None, seen_rows: np.ndarray | None, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` item indices and float32 scores of one block of user indices (-1: unknown user), the
        ``seen`` rows ``seen_rows`` and non-``allowed`` items excluded (as ``topk_rows_masked``). Models whose
        top-k needs no dense block of scores override this."""
        scores = self._scores_with_fallback(uidx)
        # seen items and non-allowed columns are masked inside the parallel top-k kernel (no masked copy)
        return topk_rows_masked(scores, n, exclude=seen, exclude_rows=seen_rows, allowed=allowed)

    def attach_index(self, index: Any, *, min_items: int | None = None) -> "Recommender":
        """Let :meth:`recommend` retrieve candidates from ``index`` (a :class:`cofirec.retrieval.AnnIndex` built
        from this model) and re-rank them, for catalogues of at least ``min_items`` items (default: the index's);
        ``None`` detaches. Not saved by :meth:`save` (``cofirec.retrieval.save_index`` adds it to the folder)."""
        if index is not None:
            index.check_model(self)
            if min_items is not None:
                index.min_items = int(min_items)
        self._ann_index = index
        return self

    def _allowed_items(self, candidates: Any, exclude: Any, what: str) -> np.ndarray | None:
        """Bool mask (n_items,) of items a call may return (``candidates`` only, minus ``exclude``), or None: all."""
        if candidates is None and exclude is None:
            return None
        allowed = np.ones(self.n_items, dtype=bool)
        if candidates is not None:
            cidx = self.item_map_.lookup(raw_id_array(candidates, f"{what}: candidates"))
            allowed[:] = False
            allowed[cidx[cidx >= 0]] = True
        if exclude is not None:
            eidx = self.item_map_.lookup(raw_id_array(exclude, f"{what}: exclude"))
            allowed[eidx[eidx >= 0]] = False
        return allowed

    def score_users(self, users: Iterable | np.ndarray) -> np.ndarray:
        """Dense scores of every item (model's item order, see ``item_map_``) for raw user ids: (len(users), n_items)."""
        self._check_fitted()
        return self._scores_with_fallback(self.user_map_.lookup(users))

    def seen_interactions(self) -> Interactions:
        """The (user, item) pairs this fitted model treats as seen (training data and ``also_seen``), as implicit
        interactions of value 1 in the model's id space (e.g. to sample negatives that avoid them)."""
        self._check_fitted()
        coo = self.seen_.tocoo()
        return Interactions(
            users=coo.row.astype(np.int32),
            items=coo.col.astype(np.int32),
            ratings=np.ones(len(coo.row), dtype=np.float32),
            user_map=self.user_map_,
            item_map=self.item_map_,
            kind="implicit",
            name="train",
        )

    def _scores_with_fallback(self, uidx: np.ndarray) -> np.ndarray:
        known = uidx >= 0
        if known.all() and len(uidx):  # the usual block: the model's own score array, no copy
            return np.asarray(self._score(uidx), dtype=np.float32)
        scores = np.empty((len(uidx), self.n_items), dtype=np.float32)
        if known.any():
            scores[known] = self._score(uidx[known])
        if (~known).any():
            scores[~known] = self._unknown_user_scores()[None, :]
        return scores

    def similar_items(self, items: Any, n: int = 10) -> Recommendations:
        """The ``n`` items most similar to each given item (raw ids), the item itself excluded.

        Cosine similarity of the model's item vectors when it has them, else of the items' training
        interaction columns (co-occurrence). Result ``users`` holds the query items.
        """
        n = check_top_n(n, "similar_items")
        self._check_fitted()
        single = np.ndim(items) == 0
        raw = np.atleast_1d(np.asarray(items))
        iidx = self.item_map_.index(raw, kind="item")
        sims = self._item_similarities(iidx)
        sims[np.arange(len(iidx)), iidx] = -np.inf
        idx, vals = topk_rows(sims, min(n, self.n_items - 1))
        return ranked_lists(self.item_map_, idx, vals, raw, np.ones(len(raw), dtype=bool), single=single)

    def _item_similarities(self, iidx: np.ndarray) -> np.ndarray:
        """Similarity of the query items to every item, float32 (len(iidx), n_items)."""
        vecs = self._item_vectors()
        if vecs is not None:
            norms = np.linalg.norm(vecs, axis=1)
            norms[norms == 0] = 1.0
            unit = vecs / norms[:, None]
            return (unit[iidx] @ unit.T).astype(np.float32)
        cols = self.seen_.tocsc()
        norms = np.sqrt(np.asarray(cols.multiply(cols).sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        q = cols[:, iidx]
        co = (q.T @ cols).toarray()
        return (co / norms[iidx][:, None] / norms[None, :]).astype(np.float32)

    def titles(self, items: Iterable | np.ndarray) -> list[str] | None:
        """Titles of raw item ids (None when the training data had no titles; '' for unknown items)."""
        self._check_fitted()
        titles = getattr(self, "item_titles_", None)
        if titles is None:
            return None
        idx = self.item_map_.lookup(items)
        return [str(titles[i]) if i >= 0 else "" for i in idx]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Save as a versioned artifact folder (JSON manifest + ``.npz`` arrays + checksums); see ``cofirec.load``.

        The folder is written whole and swapped in: an interrupted save leaves the previous model; other plain
        files in the folder are kept. A path that is a file raises ArtifactError."""
        from cofirec.models.artifact import save_model

        self._check_fitted()
        return save_model(self, Path(path))

    def _module_from_state(self, attr: str, state: dict[str, np.ndarray]) -> Any:
        """Rebuild a torch module attribute from its saved ``state_dict`` (neural models override)."""
        raise NotImplementedError(f"{type(self).__name__} cannot restore module attribute {attr!r}")
