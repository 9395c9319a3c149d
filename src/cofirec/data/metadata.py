"""Checks that side information (titles, user/item features) belongs to the interactions it is attached to.

Metadata from another dataset attaches without complaint when ids overlap by chance (ml-latest-small
titles on ML-100K item ids), and every title shown next to a recommendation is then wrong. The checks:

* the metadata must describe at least ``min_coverage`` (90%) of the data's users / items;
* where the data has titles of its own, the metadata's titles must agree with them (at most
  ``max_title_mismatch``, 10%, of the titles both have may differ).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cofirec.data.dataset import Interactions
from cofirec.errors import DataError

__all__ = ["MAX_TITLE_MISMATCH", "MIN_COVERAGE", "check_metadata"]

MIN_COVERAGE = 0.9
MAX_TITLE_MISMATCH = 0.1


def check_metadata(
    data: Interactions,
    user_features: pd.DataFrame | None,
    item_features: pd.DataFrame | None,
    *,
    source: str = "metadata",
    min_coverage: float = MIN_COVERAGE,
    max_title_mismatch: float = MAX_TITLE_MISMATCH,
) -> None:
    """Raise :class:`DataError` when the features (indexed by raw id) do not fit ``data`` (module docstring)."""
    if item_features is not None:
        items = data.item_map.to_raw(np.flatnonzero(data.item_counts() > 0))
        _check_coverage(items, item_features.index, "items", source, min_coverage)
        own = data.item_features
        if own is not None and "title" in own.columns and "title" in item_features.columns:
            _check_titles(own["title"], item_features["title"], source, max_title_mismatch)
    if user_features is not None:
        users = data.user_map.to_raw(np.flatnonzero(data.user_counts() > 0))
        _check_coverage(users, user_features.index, "users", source, min_coverage)


def _same_kind(ids: np.ndarray, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    keys = np.asarray(index)
    if np.asarray(ids).dtype.kind != keys.dtype.kind:
        return np.asarray(ids).astype(str), keys.astype(str)
    return np.asarray(ids), keys


def _check_coverage(ids: np.ndarray, index: pd.Index, what: str, source: str, min_coverage: float) -> None:
    if len(ids) == 0:
        return
    values, keys = _same_kind(ids, index)
    covered = np.isin(values, keys)
    share = float(covered.mean())
    if share >= min_coverage:
        return
    missing = values[~covered][:5].tolist()
    raise DataError(
        f"{source}: describes only {int(covered.sum()):,} of the data's {len(ids):,} {what} ({share:.0%}; at least "
        f"{min_coverage:.0%} needed), e.g. no {what[:-1]} {', '.join(map(str, missing))}: is it the metadata of another dataset?"
    )


def _check_titles(own: pd.Series, theirs: pd.Series, source: str, max_mismatch: float) -> None:
    own = own[own.fillna("").astype(str).str.strip() != ""]
    own_ids, their_ids = _same_kind(own.index.to_numpy(), theirs.index)
    mine = pd.Series(own.to_numpy(), index=own_ids)
    other = pd.Series(theirs.to_numpy(), index=their_ids)
    mine, other = mine[~mine.index.duplicated()], other[~other.index.duplicated()]
    common = mine.index.intersection(other.index)
    if len(common) == 0:
        return
    a = mine.loc[common].astype(str).str.strip().str.casefold().to_numpy()
    b = other.loc[common].fillna("").astype(str).str.strip().str.casefold().to_numpy()
    differ = a != b
    if differ.mean() <= max_mismatch:
        return
    first = np.flatnonzero(differ)[:3]
    examples = "; ".join(f"item {common[i]}: {mine.loc[common[i]]!r} vs {other.loc[common[i]]!r}" for i in first)
    raise DataError(
        f"{source}: titles disagree with the data's own for {int(differ.sum()):,} of {len(common):,} items "
        f"({differ.mean():.0%}), e.g. {examples}: is it the metadata of another dataset?"
    )
