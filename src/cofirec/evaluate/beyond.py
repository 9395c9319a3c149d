"""Beyond accuracy: how diverse each list is, how popular the recommended items are, how exposure is spread.

All measures take the ranking protocol's recommended lists (``EvaluationResult.recommended``: item indices of the
model's ``item_map_``, shape (n_users, K), negative entries are empty slots):

* :func:`intra_list_diversity`: mean pairwise distance of the items within a list, averaged over lists. With a
  genre matrix the distance is the **Jaccard distance** of the two items' genre sets (``1 - |A & B| / |A | B|``;
  two items without genres are at distance 0); otherwise ``1 - cosine`` of item vectors (a zero vector is at
  distance 1 from everything);
* :func:`popularity_percentile`: mean popularity percentile of the recommended items (0 = the least, 100 = the most
  popular item of the catalogue; ties share their average rank);
* :func:`gini_exposure`: Gini coefficient of how often each catalogue item is recommended (items never recommended
  count with exposure 0): 0 when every item is shown equally often, ``(n - 1) / n`` when one item takes it all.

:func:`beyond_accuracy` computes them for a fitted model and an evaluation result; coverage and novelty are already
among the ranking metrics.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

from cofirec.errors import ConfigError, DataError
from cofirec.evaluate.result import EvaluationResult

__all__ = ["beyond_accuracy", "diversity_basis", "gini_exposure", "intra_list_diversity", "item_genre_matrix", "popularity_percentile"]

_CHUNK_ENTRIES = 4_000_000
_NO_GENRE = {"", "(no genres listed)"}


def _lists(recommended: Any, n_items: int | None, what: str) -> np.ndarray:
    rec = np.asarray(recommended)
    if rec.ndim == 1:
        rec = rec[None, :]
    if rec.ndim != 2 or (rec.size and rec.dtype.kind not in "iu"):
        raise DataError(f"{what}: recommended must be a 2-d (n_users, K) array of item indices, got shape {rec.shape} ({rec.dtype})")
    if n_items is not None and rec.size and rec.max() >= n_items:
        raise DataError(f"{what}: item index {int(rec.max())} out of range for {n_items} items")
    return rec.astype(np.int64, copy=False)


# ---------------------------------------------------------------------- diversity
def intra_list_diversity(recommended: Any, *, item_genres: Any = None, item_vectors: Any = None, per_user: bool = False) -> float | np.ndarray:
    """Mean pairwise distance between the items of each list, averaged over lists with at least two items.

    Parameters
    ----------
    recommended : int array (n_users, K)
        Item indices; negative entries are empty slots.
    item_genres : array or sparse matrix (n_items, n_genres), optional
        0/1 genre membership (any value > 0 counts as a member): Jaccard distance of genre sets.
    item_vectors : array (n_items, d), optional
        Used when ``item_genres`` is None: ``1 - cosine similarity``.
    per_user : bool
        Return each list's mean distance (NaN for lists with fewer than two items) instead of the mean.

    Returns NaN when no list has two items.
    """
    if item_genres is not None:
        features = item_genres.toarray() if sp.issparse(item_genres) else np.asarray(item_genres)
        features = (features > 0).astype(np.float64)
        kind: Literal["jaccard", "cosine"] = "jaccard"
    elif item_vectors is not None:
        features = np.asarray(item_vectors, dtype=np.float64)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        features = np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)
        kind = "cosine"
    else:
        raise ConfigError("intra_list_diversity needs item_genres or item_vectors")
    if features.ndim != 2:
        raise DataError(f"intra_list_diversity: item features must be a 2-d (n_items, d) array, got shape {features.shape}")
    rec = _lists(recommended, len(features), "intra_list_diversity")
    n, k = rec.shape
    per_list = np.full(n, np.nan)
    rows = max(1, _CHUNK_ENTRIES // max(1, k * max(k, features.shape[1])))
    upper = np.triu(np.ones((k, k), dtype=bool), 1)
    for r0 in range(0, n, rows):
        block = rec[r0 : r0 + rows]
        valid = block >= 0
        f = features[np.where(valid, block, 0)]  # (b, K, d)
        dist = _distances(f, kind)
        pairs = valid[:, :, None] & valid[:, None, :] & upper
        n_pairs = pairs.sum(axis=(1, 2))
        total = np.where(pairs, dist, 0.0).sum(axis=(1, 2))
        per_list[r0 : r0 + rows] = np.divide(total, n_pairs, out=np.full(len(block), np.nan), where=n_pairs > 0)
    if per_user:
        return per_list
    ok = ~np.isnan(per_list)
    return float(per_list[ok].mean()) if ok.any() else float("nan")


def _distances(f: np.ndarray, kind: str) -> np.ndarray:
    """Pairwise distances within each list of ``f`` (b, K, d) -> (b, K, K)."""
    dot = f @ f.transpose(0, 2, 1)
    if kind == "cosine":
        return 1.0 - dot
    size = f.sum(axis=2)
    union = size[:, :, None] + size[:, None, :] - dot
    return 1.0 - np.divide(dot, union, out=np.ones_like(dot), where=union > 0)


# ---------------------------------------------------------------------- popularity
def popularity_percentile(recommended: Any, item_popularity: Any) -> float:
    """Mean popularity percentile (0..100) of the recommended items.

    Item ``i``'s percentile is ``100 (r_i - 1) / (n_items - 1)`` with ``r_i`` its rank by ``item_popularity``
    (1 = least popular; tied items share their average rank; a one-item catalogue is at 50). The mean is over all
    non-empty slots; NaN when there are none. A model recommending only blockbusters scores near 100.
    """
    pop = np.asarray(item_popularity, dtype=np.float64).ravel()
    if len(pop) == 0:
        raise DataError("popularity_percentile: empty item_popularity")
    rec = _lists(recommended, len(pop), "popularity_percentile")
    rec = rec[rec >= 0]
    if len(rec) == 0:
        return float("nan")
    pct = 100.0 * (rankdata(pop, method="average") - 1.0) / (len(pop) - 1) if len(pop) > 1 else np.array([50.0])
    return float(pct[rec].mean())


def gini_exposure(recommended: Any, n_items: int) -> float:
    """Gini coefficient of item exposure over the whole catalogue.

    Exposure ``x_i`` is how many lists show item ``i`` (0 for items never recommended). With ``x`` sorted
    ascending, ``G = sum_i (2 i - n - 1) x_(i) / (n sum x)`` (``i`` = 1..n): 0 for equal exposure,
    ``(n - 1) / n`` when a single item gets all of it. NaN when no item is recommended.
    """
    if isinstance(n_items, bool) or int(n_items) != n_items or n_items < 1:
        raise DataError(f"gini_exposure: n_items must be a positive integer, got {n_items!r}")
    n = int(n_items)
    rec = _lists(recommended, n, "gini_exposure")
    counts = np.sort(np.bincount(rec[rec >= 0], minlength=n).astype(np.float64))
    total = counts.sum()
    if total == 0:
        return float("nan")
    return float(((2.0 * np.arange(1, n + 1) - n - 1.0) * counts).sum() / (n * total))


# ---------------------------------------------------------------------- a model and its evaluation
def item_genre_matrix(model: Any, item_features: Any) -> np.ndarray | None:
    """0/1 genre matrix (n_items, n_genres) float32 aligned with ``model.item_map_`` (row ``i`` = item index ``i``).

    ``item_features``: a frame indexed by raw item id with a ``"genres"`` column of ``|``-joined genres (as the
    MovieLens loaders give in ``Interactions.item_features``), or an Interactions holding one. Items missing from
    the frame, and ``"(no genres listed)"``, get an empty row. None when there are no genres.
    """
    frame = getattr(item_features, "item_features", item_features)
    if frame is None or not isinstance(frame, pd.DataFrame) or "genres" not in frame.columns:
        return None
    genres = frame["genres"].reindex(model.item_map_.ids).fillna("").astype(str)
    dummies = genres.str.get_dummies(sep="|")
    dummies = dummies.drop(columns=[c for c in dummies.columns if c.strip() in _NO_GENRE])
    if dummies.shape[1] == 0:
        return None
    return dummies.to_numpy(dtype=np.float32)


def _item_vectors(model: Any) -> np.ndarray | None:
    get = getattr(model, "item_vectors", None)
    if not callable(get):
        return None
    vectors = get()
    return None if vectors is None else np.asarray(vectors)


def diversity_basis(model: Any, item_genres: Any = None) -> str | None:
    """What :func:`beyond_accuracy` measures diversity with: ``"genres"``, ``"item vectors"`` or None (neither)."""
    if item_genres is not None:
        return "genres"
    return "item vectors" if _item_vectors(model) is not None else None


def beyond_accuracy(model: Any, result: EvaluationResult, *, item_genres: Any = None, k: int | Sequence[int] | None = None) -> dict[str, float]:
    """Diversity, popularity bias and exposure concentration of a model's ranking-protocol lists.

    Parameters
    ----------
    model : Recommender
        The fitted model ``result`` evaluated (its ``item_popularity_``, ``n_items`` and, without genres,
        ``item_vectors()``).
    result : EvaluationResult
        A ranking-protocol result (:func:`cofirec.evaluate.evaluate_detailed`), whose ``recommended`` lists are used.
    item_genres : array (n_items, n_genres), optional
        Genre matrix aligned with the model's items (:func:`item_genre_matrix`); without it diversity uses the
        model's item vectors, and is left out for models without them (kNN, EASE, baselines).
    k : int or sequence of int, optional
        List lengths (default: the full length of ``result.recommended``).

    Returns ``{"diversity@K", "popularity_pct@K", "gini@K"}`` per K (see the module docstring).
    """
    if result.recommended is None:
        raise ConfigError(f"beyond-accuracy measures need recommended lists: evaluate with the ranking protocol (got {result.protocol or 'another'} protocol)")
    width = result.recommended.shape[1]
    ks = [width] if k is None else [int(v) for v in np.atleast_1d(np.asarray(k))]
    bad = [v for v in ks if not 1 <= v <= width]
    if bad:
        raise ConfigError(f"beyond_accuracy: k={bad[0]} outside the evaluated list length 1..{width}")
    vectors = None if item_genres is not None else _item_vectors(model)
    if item_genres is not None and np.shape(item_genres)[0] != model.n_items:
        raise DataError(f"beyond_accuracy: item_genres has {np.shape(item_genres)[0]} rows but the model has {model.n_items} items")
    out: dict[str, float] = {}
    for kk in ks:
        rec = result.recommended[:, :kk]
        if item_genres is not None or vectors is not None:
            out[f"diversity@{kk}"] = float(intra_list_diversity(rec, item_genres=item_genres, item_vectors=vectors))
        out[f"popularity_pct@{kk}"] = popularity_percentile(rec, model.item_popularity_)
        out[f"gini@{kk}"] = gini_exposure(rec, model.n_items)
    return out
