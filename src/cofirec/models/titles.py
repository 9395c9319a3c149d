"""Find items by id or title in a fitted model (``item_map_`` and the title index ``item_titles_``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cofirec.errors import UnknownIdError


def resolve_item(model: Any, text: str) -> Any:
    """The raw item id of a fitted model that ``text`` names: an item id, else a title (case-insensitive; an
    exact title wins over substrings). No match or several matches raise UnknownIdError (listing up to ten)."""
    idx = int(model.item_map_.lookup([text])[0])
    if idx >= 0:
        return model.item_map_.ids[idx].item()
    titles = getattr(model, "item_titles_", None)
    if titles is None:
        raise UnknownIdError(f"unknown item {text!r}: not an item id of this model (it has no titles to search)")
    hits = title_matches(titles, text)
    if len(hits) == 0:
        raise UnknownIdError(f"unknown item {text!r}: no item id or title matches")
    if len(hits) > 1:
        shown = "; ".join(f"{model.item_map_.ids[i]}: {titles[i]}" for i in hits[:10])
        more = f" (and {len(hits) - 10} more)" if len(hits) > 10 else ""
        raise UnknownIdError(f"item {text!r} is ambiguous, {len(hits)} titles match: {shown}{more}; give the id or more of the title")
    return model.item_map_.ids[hits[0]].item()


def title_matches(titles: Any, text: str) -> np.ndarray:
    """Indices of the titles equal to ``text`` (case-insensitive), or when none is, of those containing it."""
    needle = text.strip().lower()
    lowered = np.char.lower(np.asarray(titles, dtype=str))
    exact = np.flatnonzero(lowered == needle)
    return exact if len(exact) else np.flatnonzero(np.char.find(lowered, needle) >= 0)
