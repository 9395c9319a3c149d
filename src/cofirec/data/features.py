"""Side features as sparse matrices aligned with an :class:`Interactions`' index space (for hybrid and
cold-start models, and for reports)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.data.idmap import IdMap
from cofirec.errors import DataError

__all__ = ["categorical_matrix", "genre_matrix", "user_feature_matrix"]


def genre_matrix(data: Interactions) -> tuple[sp.csr_matrix, list[str]]:
    """Item x genre 0/1 matrix from ``item_features["genres"]`` (``|``-joined).

    Returns
    -------
    matrix : csr_matrix, float32, shape (n_items, n_genres)
        Row ``i`` is item index ``i`` of ``data.item_map``; items without features have an empty row.
    names : list of str
        Genre of each column, sorted.
    """
    frame = data.item_features
    if frame is None or "genres" not in frame.columns:
        raise DataError(f"{data.name or 'data'}: no item genres (item_features['genres'])")
    genres = frame["genres"].reindex(data.item_map.ids).fillna("").astype(str)
    dummies = genres.str.get_dummies(sep="|")
    dummies = dummies.drop(columns=[c for c in dummies.columns if c == ""], errors="ignore")
    return sp.csr_matrix(dummies.to_numpy(dtype=np.float32)), list(dummies.columns)


def categorical_matrix(frame: pd.DataFrame, idmap: IdMap, columns: Sequence[str]) -> tuple[sp.csr_matrix, list[str]]:
    """One-hot encoding of ``columns`` of a frame indexed by raw id, rows in ``idmap`` order.

    Returns a float32 CSR matrix of shape (len(idmap), n_levels) and the ``"column=value"`` name of each column;
    ids missing from ``frame`` (or with a missing value) get no 1 in that column's block.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"no feature column(s) {missing} (have {list(frame.columns)})")
    aligned = frame.reindex(idmap.ids)
    blocks: list[sp.csr_matrix] = []
    names: list[str] = []
    for col in columns:
        values = aligned[col]
        codes, levels = pd.factorize(values.astype("string"), sort=True)
        rows = np.flatnonzero(codes >= 0)
        blocks.append(sp.csr_matrix((np.ones(len(rows), np.float32), (rows, codes[rows])), shape=(len(idmap), len(levels))))
        names.extend(f"{col}={v}" for v in levels)
    if not blocks:
        return sp.csr_matrix((len(idmap), 0), dtype=np.float32), []
    return sp.hstack(blocks, format="csr", dtype=np.float32), names


def user_feature_matrix(data: Interactions, columns: Sequence[str] = ("age", "gender", "occupation")) -> tuple[sp.csr_matrix, list[str]]:
    """One-hot user demographics, shape (n_users, n_levels), rows in ``data.user_map`` order."""
    if data.user_features is None:
        raise DataError(f"{data.name or 'data'}: no user features")
    return categorical_matrix(data.user_features, data.user_map, columns)
