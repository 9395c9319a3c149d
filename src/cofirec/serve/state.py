"""The model a server answers with: loaded once, swapped whole on reload.

:class:`ModelState` bundles a loaded model with everything the endpoints derive from it (version, rating scale,
title search index). Requests read ``holder.current`` once and use that state to the end, so a reload that
assigns a new state never changes a model under a running request (assigning an attribute is atomic in Python).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cofirec.errors import DataError, UnknownIdError


@dataclass(frozen=True)
class RatingScale:
    """Which feedback values the model accepts: explicit ratings on the training range, implicit strengths > 0,
    binary labels 0/1 (or any value >= 0 when the model knows the threshold that made its labels)."""

    kind: str
    low: float
    high: float
    threshold: float | None = None

    def check(self, value: float) -> None:
        if not np.isfinite(value) or not (self.low <= value <= self.high) or (self.kind == "implicit" and value <= 0):
            raise DataError(f"rating {value:g} is outside the model's scale ({self.describe()})")

    def describe(self) -> str:
        if self.kind == "implicit":
            return f"implicit feedback: a value > 0 and <= {self.high:g}"
        return f"{self.kind} ratings from {self.low:g} to {self.high:g}"

    def like_value(self) -> float:
        """The rating that means "I like it": the top of an explicit scale, else the threshold (or 1)."""
        if self.kind == "explicit":
            return self.high
        return self.threshold if self.threshold is not None else 1.0

    def model_value(self, value: float) -> float | None:
        """The value the model's fold-in takes for a stored rating; None when it carries no signal for the
        model (an implicit model trained on ratings >= threshold, given a lower rating)."""
        if self.kind == "explicit":
            return float(value)
        if self.kind == "binary":
            return float(value >= self.threshold) if self.threshold is not None else float(value >= 0.5)
        if self.threshold is not None and value < self.threshold:
            return None
        return 1.0


def rating_scale(model: Any) -> RatingScale:
    kind = str(model.kind_)
    low, high = float(model.rating_min_), float(model.rating_max_)
    if kind == "explicit":
        return RatingScale(kind, low, high)
    threshold = model.binary_threshold_ if kind == "binary" else model.implicit_min_rating_
    if threshold is not None:  # labels made from ratings: accept ratings on the original (unknown) scale
        return RatingScale(kind, 0.0, max(10.0, 2 * float(threshold)), float(threshold))
    return RatingScale(kind, 0.0, 1.0 if kind == "binary" else max(high, 1.0))


@dataclass
class ModelState:
    """A loaded model and what the endpoints derive from it."""

    model: Any
    version: str
    model_dir: Path
    loaded_at: float
    scale: RatingScale
    titles: np.ndarray | None
    _folded_titles: pd.Series | None = field(default=None, repr=False)
    _positions: dict[str, pd.Index] = field(default_factory=dict, repr=False)

    @property
    def n_users(self) -> int:
        return int(self.model.n_users)

    @property
    def n_items(self) -> int:
        return int(self.model.n_items)

    # ------------------------------------------------------------------ ids
    def _index_of(self, kind: str, text: Any) -> int:
        """Index of one id as given (URL text or JSON value) in the user or item map, -1 if unknown. Ids written
        as the map writes them (``7``, ``"7"`` for integer ids; the exact text for text ids) take a hash look-up;
        any other spelling goes through the map's id policy (``IdMap.lookup``, about 1000x slower)."""
        idmap = self.model.user_map_ if kind == "user" else self.model.item_map_
        key: Any = str(text)
        if idmap.is_integer:
            try:
                key = int(key)
            except ValueError:
                key = None
            canonical = key is not None and str(key) == str(text)
        else:
            canonical = True
        if canonical:
            pos = self._positions_of(kind).get_indexer([key])[0]
            if pos >= 0 or idmap.is_integer:
                return int(pos)
        return int(idmap.lookup(np.asarray([str(text)]))[0])

    def _positions_of(self, kind: str) -> pd.Index:
        index = self._positions.get(kind)
        if index is None:
            idmap = self.model.user_map_ if kind == "user" else self.model.item_map_
            index = self._positions[kind] = pd.Index(idmap.ids)
        return index

    def item_raw(self, text: Any) -> Any:
        """The model's raw id for an item id as given (URL text or JSON value); UnknownIdError if not in the catalogue."""
        pos = self._index_of("item", text)
        if pos < 0:
            raise UnknownIdError(f"unknown item {text!r}: not in the model's catalogue")
        return self.model.item_map_.ids[pos].item()

    def user_raw(self, text: str) -> Any | None:
        """The model's raw id for a user id as given, or None for a user the model was not trained on."""
        pos = self._index_of("user", text)
        return self.model.user_map_.ids[pos].item() if pos >= 0 else None

    def title(self, items: list) -> list[str | None]:
        """Titles of raw item ids (as the model returns them); None where there is none."""
        if self.titles is None or not items:
            return [None] * len(items)
        idx = self._positions_of("item").get_indexer(np.asarray(items))
        missing = idx < 0
        if missing.any():  # ids not written as the map writes them
            idx[missing] = self.model.item_map_.lookup(np.asarray([str(i) for i in np.asarray(items, dtype=object)[missing]]))
        return [str(self.titles[i]) or None if i >= 0 else None for i in idx]

    # ------------------------------------------------------------------ history
    def training_history(self, user: Any) -> tuple[list[tuple[Any, float | None]], bool]:
        """A known user's training items with the value fold-in should give each, and whether those values are
        the stored training ratings. Values: the artifact's training ratings (``train_ratings_``, explicit and
        binary models; ``None`` for an item seen but not rated, e.g. below an implicit threshold), else the
        model's own predictions (older artifacts), 1 for implicit models."""
        uidx = self.model.user_map_.lookup(np.asarray([str(user)]))[0]
        seen = self.model.seen_[uidx].indices
        items = self.model.item_map_.to_raw(seen)
        ratings = getattr(self.model, "train_ratings_", None)
        if ratings is not None:
            row = ratings[uidx]
            given = dict(zip(row.indices.tolist(), row.data.astype(float).tolist()))
            return list(zip(items.tolist(), [given.get(i) for i in seen.tolist()])), True
        if self.scale.kind == "implicit":
            return [(item, 1.0) for item in items.tolist()], False
        values = np.asarray(self.model.predict(np.repeat(np.asarray([user]), len(items)), items), dtype=float)
        if self.scale.kind == "binary":
            values = (values >= 0.5).astype(float)
        return list(zip(items.tolist(), values.tolist())), False

    # ------------------------------------------------------------------ search
    def search(self, query: str, limit: int) -> list[Any]:
        """Items whose title (or id, without titles) contains ``query`` case-insensitively: titles starting with
        it first, then by popularity."""
        folded = self._folded_titles
        if folded is None:
            labels = self.titles if self.titles is not None else self.model.item_map_.ids.astype(str)
            folded = pd.Series(labels).astype(str).str.casefold()
            self._folded_titles = folded
        q = query.strip().casefold()
        if not q:
            hits = np.arange(len(folded))
            starts = np.zeros(len(hits), dtype=bool)
        else:
            hits = np.flatnonzero(folded.str.contains(q, regex=False).to_numpy())
            starts = folded.iloc[hits].str.startswith(q).to_numpy()
        popularity = np.asarray(self.model.item_popularity_)[hits]
        order = np.lexsort((-popularity, ~starts))[:limit]
        return self.model.item_map_.to_list(hits[order])


def model_version(model_dir: Path, model: Any) -> str:
    """``NAME-CHECKSUM12``: the model name and the start of its manifest checksum (changes with every save)."""
    from cofirec.models.artifact import CHECKSUM_KEY, read_manifest

    checksum = str(read_manifest(model_dir).get(CHECKSUM_KEY) or "")[:12] or f"t{int(time.time())}"
    return f"{model.name}-{checksum}"


def load_state(model_dir: str | Path) -> ModelState:
    """Load and check the model folder (ArtifactError when it is not a usable model)."""
    from cofirec.models.artifact import load_model

    path = Path(model_dir)
    model = load_model(path)
    titles = getattr(model, "item_titles_", None)
    return ModelState(
        model=model,
        version=model_version(path, model),
        model_dir=path,
        loaded_at=time.time(),
        scale=rating_scale(model),
        titles=np.asarray(titles) if titles is not None else None,
    )


class ModelHolder:
    """The current :class:`ModelState`; :meth:`reload` loads a new one beside it and swaps it in whole."""

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir)
        self._current: ModelState | None = None
        self._lock = threading.Lock()
        self.load_error: str | None = None

    @property
    def current(self) -> ModelState:
        state = self._current
        if state is None:
            from cofirec.errors import NotFittedError

            raise NotFittedError(f"no model loaded yet from {self.model_dir}" + (f": {self.load_error}" if self.load_error else ""))
        return state

    @property
    def ready(self) -> bool:
        return self._current is not None

    def reload(self) -> tuple[ModelState, ModelState | None]:
        """Load the folder again and swap it in; returns (new, previous). On failure the current model stays."""
        with self._lock:
            previous = self._current
            try:
                state = load_state(self.model_dir)
            except Exception as exc:
                self.load_error = str(exc)
                raise
            self._current = state
            self.load_error = None
            return state, previous
