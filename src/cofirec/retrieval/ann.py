"""Approximate nearest-neighbour retrieval over a model's item vectors (faiss, inner product).

For catalogues of millions of items, scoring every item for every request is the bottleneck. An
:class:`AnnIndex` over :meth:`~cofirec.models.base.Recommender.item_vectors` finds, for a user vector, the items
with the largest inner products approximately; :meth:`AnnIndex.recommend` then re-ranks those candidates with
the full model's scores (``_predict_pairs``: the exact score, biases included) and drops seen and excluded items
(two-stage recommend). Attached to a model (``model.attach_index(index)``), ``model.recommend`` uses it for
catalogues of at least ``min_items`` items; smaller ones keep the exact search.

Index kinds (``kind="auto"`` picks by catalogue size, see :func:`choose_kind`):

- ``hnsw``: a graph (faiss ``IndexHNSWFlat``); parameters ``m`` (links per node), ``ef_construction``,
  ``ef_search``. Best latency and recall, slowest to build.
- ``ivf``: inverted lists over k-means cells (faiss ``IndexIVFFlat``); ``nlist`` cells, ``nprobe`` searched.
  Builds in seconds even for millions of items.

Saved with the model artifact by :func:`cofirec.retrieval.store.save_index` (faiss' own format, ``ann.faiss``,
listed with its checksum in the manifest) and loaded without pickle.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cofirec._extras import require
from cofirec.errors import ConfigError, DataError

KINDS = ("auto", "hnsw", "ivf")
DEFAULT_MIN_ITEMS = 100_000
"""Catalogues smaller than this keep the exact search even with an index attached."""
DEFAULT_CANDIDATES = 10
"""Candidates retrieved per requested item (``n=10`` -> 100 candidates re-ranked), plus the user's seen items."""
HNSW_MAX_ITEMS = 2_000_000
"""``kind="auto"``: HNSW up to this many items (1M x 64 builds in about 3.5 min on 2 busy cores), IVF above."""


def faiss_module() -> Any:
    """The faiss module, or MissingDependencyError naming the ``serve`` extra."""
    return require("faiss", "the approximate-nearest-neighbour index")


def choose_kind(n_items: int) -> str:
    """``hnsw`` up to :data:`HNSW_MAX_ITEMS` items, else ``ivf``."""
    return "hnsw" if n_items <= HNSW_MAX_ITEMS else "ivf"


def default_nlist(n_items: int) -> int:
    """IVF cells: about 4 sqrt(n), at least 1, never more than n / 39 (faiss' minimum training points per cell)."""
    return int(max(1, min(4 * math.sqrt(n_items), n_items // 39)))


def vectors_fingerprint(vectors: np.ndarray) -> str:
    """sha256 (first 16 hex digits) of the item vectors: ties an index to the model it was built from."""
    arr = np.ascontiguousarray(vectors, dtype=np.float32)
    digest = hashlib.sha256(str(arr.shape).encode())
    digest.update(arr.data)
    return digest.hexdigest()[:16]


@dataclass
class AnnIndex:
    """A faiss inner-product index over one model's item vectors (row i = item index i of ``item_map_``).

    ``candidates``: items retrieved per requested item; ``min_items``: smallest catalogue for which an attached
    index replaces the exact search. Search parameters (``ef_search`` / ``nprobe``) can be changed with
    :meth:`set_search`.
    """

    index: Any
    kind: str
    n_items: int
    dim: int
    fingerprint: str
    candidates: int = DEFAULT_CANDIDATES
    min_items: int = DEFAULT_MIN_ITEMS
    build_seconds: float = 0.0
    search_threads: int | None = None
    """faiss (OpenMP) threads of a :meth:`search` call, set on the calling thread for that call; None: faiss'
    default. Single queries gain nothing from more (HNSW parallelises over queries), and under concurrent
    requests 1 avoids thread hand-offs; ``cofirec serve`` runs each request thread with 1."""
    _user_vectors: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> dict[str, int | str]:
        """The index's kind and its build and search parameters."""
        faiss = faiss_module()
        if self.kind == "hnsw":
            hnsw = faiss.downcast_index(self.index).hnsw
            return {"kind": "hnsw", "m": int(hnsw.nb_neighbors(1)), "ef_construction": int(hnsw.efConstruction), "ef_search": int(hnsw.efSearch)}
        ivf = faiss.extract_index_ivf(self.index)
        return {"kind": "ivf", "nlist": int(ivf.nlist), "nprobe": int(ivf.nprobe)}

    def set_search(self, *, ef_search: int | None = None, nprobe: int | None = None, threads: int | None = None) -> "AnnIndex":
        """Change the search effort: ``ef_search`` (HNSW) or ``nprobe`` (IVF); more is slower and more exact.
        ``threads``: :attr:`search_threads` (0 resets it to faiss' default)."""
        faiss = faiss_module()
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 0:
                raise ConfigError(f"ANN index: threads={threads!r} should be an integer >= 0 (0: faiss' default)")
            self.search_threads = int(threads) or None
        if ef_search is not None:
            _check_positive("ef_search", ef_search)
            if self.kind != "hnsw":
                raise ConfigError(f"ef_search applies to an HNSW index, this one is {self.kind}")
            faiss.downcast_index(self.index).hnsw.efSearch = int(ef_search)
        if nprobe is not None:
            _check_positive("nprobe", nprobe)
            if self.kind != "ivf":
                raise ConfigError(f"nprobe applies to an IVF index, this one is {self.kind}")
            faiss.extract_index_ivf(self.index).nprobe = int(min(nprobe, faiss.extract_index_ivf(self.index).nlist))
        return self

    def memory_bytes(self) -> int:
        """Size of the index in faiss' serialized form (about its memory footprint)."""
        return int(faiss_module().serialize_index(self.index).nbytes)

    # ------------------------------------------------------------------ search
    def search(self, user_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items of largest inner product for each row of ``user_vectors``: (item indices int64, scores
        float32), each (n_queries, k); an index that finds fewer marks the rest with -1 / -inf."""
        queries = np.ascontiguousarray(np.atleast_2d(user_vectors), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise DataError(f"ANN search: vectors of dimension {queries.shape[1]}, the index has {self.dim}")
        k = int(min(max(k, 1), self.n_items))
        params = None
        if self.kind == "hnsw":  # HNSW returns at most ef_search results: widen this search only (the index is shared)
            faiss = faiss_module()
            ef = faiss.downcast_index(self.index).hnsw.efSearch
            params = faiss.SearchParametersHNSW(efSearch=int(max(ef, k))) if ef < k else None
        if self.search_threads is None:
            scores, ids = self.index.search(queries, k, params=params)
        else:
            faiss = faiss_module()
            previous = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(self.search_threads)
            try:
                scores, ids = self.index.search(queries, k, params=params)
            finally:
                faiss.omp_set_num_threads(previous)
        scores = scores.astype(np.float32, copy=False)
        scores[ids < 0] = -np.inf
        return ids.astype(np.int64, copy=False), scores

    def applies(self, model: Any) -> bool:
        """Whether ``model.recommend`` should use this index (the catalogue has at least ``min_items`` items)."""
        return int(model.n_items) >= self.min_items

    def check_model(self, model: Any) -> None:
        """DataError unless this index was built from ``model``'s item vectors; caches its user vectors."""
        vectors = model.item_vectors()
        if vectors is None:
            raise DataError(f"{model.name}: this model has no item vectors, an ANN index cannot serve it")
        if vectors.shape != (self.n_items, self.dim) or vectors_fingerprint(vectors) != self.fingerprint:
            raise DataError(
                f"the ANN index ({self.n_items} x {self.dim}, vectors {self.fingerprint}) was not built from this "
                f"{model.name} model ({vectors.shape[0]} x {vectors.shape[1]}); build it again"
            )
        self._user_vectors = model.user_vectors()

    def recommend(self, model: Any, users: Any, n: int = 10, *, exclude_seen: bool = True, exclude: Any = None) -> Any:
        """Two-stage top-``n``: ANN candidates, re-ranked by the model's exact scores; same contract as
        ``model.recommend`` (seen and excluded items never returned; unknown users get the fallback ranking)."""
        from cofirec.retrieval.two_stage import two_stage_recommend

        if self._user_vectors is None:
            self.check_model(model)
        return two_stage_recommend(self, model, users, n, exclude_seen=exclude_seen, exclude=exclude)


# ---------------------------------------------------------------------- building
def build_index(
    model: Any,
    *,
    kind: str = "auto",
    m: int = 16,
    ef_construction: int = 64,
    ef_search: int = 128,
    nlist: int | None = None,
    nprobe: int | None = None,
    candidates: int = DEFAULT_CANDIDATES,
    min_items: int = DEFAULT_MIN_ITEMS,
    threads: int | None = None,
    seed: int = 0,
) -> AnnIndex:
    """An ANN index over ``model.item_vectors()`` (inner product).

    ``kind``: ``auto`` (:func:`choose_kind`), ``hnsw`` (``m``, ``ef_construction``, ``ef_search``) or ``ivf``
    (``nlist`` cells, default :func:`default_nlist`; ``nprobe`` searched, default nlist/8). ``candidates`` and
    ``min_items``: see :class:`AnnIndex`. ``threads``: faiss threads while building (default: faiss' own).
    """
    faiss = faiss_module()
    if kind not in KINDS:
        raise ConfigError(f"ANN index kind {kind!r}: expected one of {', '.join(KINDS)}")
    for name, value in (("m", m), ("ef_construction", ef_construction), ("ef_search", ef_search), ("candidates", candidates)):
        _check_positive(name, value)
    if isinstance(min_items, bool) or not isinstance(min_items, (int, np.integer)) or min_items < 0:
        raise ConfigError(f"min_items={min_items!r} should be an integer >= 0")
    vectors = model.item_vectors()
    if vectors is None:
        raise DataError(f"{model.name}: this model has no item vectors (kNN, EASE, baselines, MLP-style models): no ANN index; use the exact recommend")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n_items, dim = vectors.shape
    kind = choose_kind(n_items) if kind == "auto" else kind
    previous_threads = faiss.omp_get_max_threads()
    if threads:
        faiss.omp_set_num_threads(int(threads))
    start = time.perf_counter()
    try:
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, int(m), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(ef_construction)
            index.add(vectors)
            index.hnsw.efSearch = int(ef_search)
        else:
            index = _build_ivf(faiss, vectors, nlist, nprobe, seed)
    finally:
        faiss.omp_set_num_threads(previous_threads)
    ann = AnnIndex(
        index=index,
        kind=kind,
        n_items=n_items,
        dim=dim,
        fingerprint=vectors_fingerprint(vectors),
        candidates=int(candidates),
        min_items=int(min_items),
        build_seconds=time.perf_counter() - start,
    )
    ann._user_vectors = model.user_vectors()
    return ann


def _build_ivf(faiss: Any, vectors: np.ndarray, nlist: int | None, nprobe: int | None, seed: int) -> Any:
    n_items, dim = vectors.shape
    nlist = default_nlist(n_items) if nlist is None else nlist
    _check_positive("nlist", nlist)
    if nlist > n_items:
        raise ConfigError(f"nlist={nlist} is more than the {n_items} items (each cell needs items)")
    index = faiss.index_factory(dim, f"IVF{int(nlist)},Flat", faiss.METRIC_INNER_PRODUCT)
    sample = vectors
    if n_items > 64 * nlist:  # k-means on a sample: 64 points per cell is plenty
        rng = np.random.default_rng(seed)
        sample = vectors[np.sort(rng.choice(n_items, 64 * nlist, replace=False))]
    faiss.extract_index_ivf(index).cp.seed = int(seed)
    index.train(sample)
    index.add(vectors)
    probe = max(1, nlist // 8) if nprobe is None else nprobe
    _check_positive("nprobe", probe)
    faiss.extract_index_ivf(index).nprobe = int(min(probe, nlist))
    return index


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"ANN index: {name}={value!r} should be a positive integer")
