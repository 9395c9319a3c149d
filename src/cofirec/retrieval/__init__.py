"""Retrieval over large catalogues: an approximate-nearest-neighbour index (faiss) over a model's item vectors,
two-stage recommend (ANN candidates re-ranked by the model), stored inside the model artifact.

Typical use::

    from cofirec.retrieval import build_index, save_index
    index = build_index(model, kind="auto", candidates=10, min_items=100_000)
    model.attach_index(index)        # model.recommend now retrieves, then re-ranks (catalogues >= min_items)
    model.save(folder); save_index(index, folder)   # cofirec.load(folder) attaches it again
"""

from cofirec.retrieval.ann import DEFAULT_CANDIDATES, DEFAULT_MIN_ITEMS, AnnIndex, build_index, choose_kind
from cofirec.retrieval.store import load_index, save_index

__all__ = ["AnnIndex", "DEFAULT_CANDIDATES", "DEFAULT_MIN_ITEMS", "build_index", "choose_kind", "load_index", "save_index"]
