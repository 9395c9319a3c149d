"""Vocabulary mapping raw user/item ids to dense 0-based indices and back."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from cofirec.errors import UnknownIdError


class IdMap:
    """Bidirectional raw id <-> index map.

    Raw ids are stored as a 1-d array (``int64`` when every id is an integer, else ``str``);
    index ``k`` corresponds to ``ids[k]``. Look-ups are vectorised through a pandas ``Index``.
    """

    def __init__(self, ids: Iterable | np.ndarray) -> None:
        arr = np.asarray(ids)
        if arr.dtype == object:
            arr = arr.astype(str)
        if arr.dtype.kind == "u" or arr.dtype.kind == "i":
            arr = arr.astype(np.int64)
        self.ids: np.ndarray = arr
        self._index = pd.Index(arr)
        if not self._index.is_unique:
            raise ValueError("IdMap ids must be unique")

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and self.ids.dtype.kind == other.ids.dtype.kind and np.array_equal(self.ids, other.ids)

    def __repr__(self) -> str:
        return f"IdMap(n={len(self)}, dtype={self.ids.dtype})"

    @property
    def is_integer(self) -> bool:
        return self.ids.dtype.kind == "i"

    def coerce(self, raw: Iterable | np.ndarray) -> np.ndarray:
        """Convert raw ids (e.g. strings typed on a command line) to this map's dtype where possible."""
        arr = np.atleast_1d(np.asarray(raw))
        if self.is_integer and arr.dtype.kind not in "iu":
            try:
                if arr.dtype.kind == "f":
                    if np.all(np.mod(arr, 1) == 0):
                        return arr.astype(np.int64)
                    return arr
                return arr.astype(str).astype(np.int64)
            except (ValueError, TypeError):
                return arr.astype(str)  # will simply not be found
        if not self.is_integer and arr.dtype.kind != "U":
            return arr.astype(str)
        return arr

    def lookup(self, raw: Iterable | np.ndarray) -> np.ndarray:
        """Indices of ``raw`` ids; ``-1`` for ids not in the vocabulary. Returns int64 array."""
        arr = self.coerce(raw)
        if len(arr) == 0:
            return np.empty(0, dtype=np.int64)
        if self.is_integer and arr.dtype.kind not in "iu":
            return np.full(len(arr), -1, dtype=np.int64)
        return self._index.get_indexer(arr).astype(np.int64)

    def index(self, raw: Iterable | np.ndarray, kind: str = "id") -> np.ndarray:
        """Indices of ``raw`` ids, raising :class:`UnknownIdError` naming the first unknown id."""
        idx = self.lookup(raw)
        missing = idx < 0
        if missing.any():
            bad = np.atleast_1d(np.asarray(raw))[missing]
            more = f" (and {missing.sum() - 1} more)" if missing.sum() > 1 else ""
            first = bad[0].item() if isinstance(bad[0], np.generic) else bad[0]
            raise UnknownIdError(f"unknown {kind} {first!r}{more}")
        return idx

    def to_raw(self, index: np.ndarray) -> np.ndarray:
        """Raw ids at the given indices."""
        return self.ids[np.asarray(index, dtype=np.int64)]

    def to_list(self, index: np.ndarray) -> list:
        """Raw ids at the given indices as plain Python values (JSON-ready)."""
        return self.to_raw(index).tolist()
