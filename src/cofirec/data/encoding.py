"""Encode user/item side features into integer field indices for embedding-based models (DeepFM, two-tower).

A :class:`FeatureEncoder` is fitted on a side-feature frame (indexed by raw id, as in
``Interactions.user_features`` / ``item_features``) and turns every column into one *field*:

* categorical (strings, booleans, integers with few distinct values): one vocabulary per field;
* zip codes (column named ``zip``, ``zipcode``, ``postcode``...): the first ``zip_digits`` characters;
* years (column named ``year`` or ``*_year``): ``year_width``-year buckets (1995 -> "1995", 1997 -> "1995");
* other numbers: quantile buckets (``n_buckets``);
* multi-valued strings (``"Action|Comedy"``): a padded list of vocabulary indices per row;
* ``title``: skipped, or word tokens as a multi-valued field with ``title_tokens=True``.

Index 0 of every field means unknown / missing (a value not seen at fit time, a missing row, NaN); in a
multi-valued field 0 is also the padding. The fitted encoder is plain JSON (:meth:`FeatureEncoder.to_state`),
so a saved model can encode the features of new users without the training data.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from cofirec.data.idmap import IdMap
from cofirec.errors import DataError

FieldKind = Literal["categorical", "numeric", "multi"]
Transform = Literal["none", "zip", "year", "tokens"]

_ZIP_NAMES = {"zip", "zipcode", "zip_code", "postcode", "postal_code", "zip-code"}
_MULTI_NAMES = {"genres", "genre", "tags", "categories"}
_TOKEN = re.compile(r"[a-z0-9']+")


@dataclass
class Field:
    """One encoded field: where it comes from and its fitted vocabulary or bucket edges.

    Local index 0 is unknown/missing; ``vocab[k]`` has index ``k + 1``; for numeric fields the index is
    ``1 + searchsorted(edges, value, "right")``.
    """

    name: str
    column: str
    kind: FieldKind
    transform: Transform = "none"
    vocab: list[str] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    max_len: int = 1

    @property
    def cardinality(self) -> int:
        """Number of local indices, unknown (0) included."""
        if self.kind == "numeric":
            return len(self.edges) + 2
        return len(self.vocab) + 1


@dataclass
class EncodedFeatures:
    """Field indices for a batch of rows (users or items).

    Attributes
    ----------
    single : int64 array (n, n_single)
        Local index of each single-valued field (0 = unknown).
    multi : int64 array (n, sum(multi_lens))
        Multi-valued fields side by side, each padded with 0 to its ``multi_lens`` entry.
    single_cards, multi_cards : list of int
        Cardinality of each single / multi-valued field (index 0 included).
    multi_lens : list of int
        Padded width of each multi-valued field.
    names : list of str
        Field names, single fields first, then multi-valued ones.
    """

    single: np.ndarray
    multi: np.ndarray
    single_cards: list[int]
    multi_cards: list[int]
    multi_lens: list[int]
    names: list[str]

    def __len__(self) -> int:
        return len(self.single)

    @property
    def n_fields(self) -> int:
        return len(self.single_cards) + len(self.multi_cards)

    def spec(self) -> dict:
        """Shapes of the fields as JSON (enough to rebuild an embedding module)."""
        return {"single_cards": self.single_cards, "multi_cards": self.multi_cards, "multi_lens": self.multi_lens, "names": self.names}

    def with_id(self, ids: np.ndarray, n_ids: int) -> "EncodedFeatures":
        """Prepend an ``id`` field: ``ids`` are 0-based indices (-1 = unknown), stored as ``ids + 1``."""
        col = (np.asarray(ids, dtype=np.int64) + 1).clip(min=0)[:, None]
        return EncodedFeatures(
            single=np.hstack([col, self.single]),
            multi=self.multi,
            single_cards=[int(n_ids) + 1, *self.single_cards],
            multi_cards=list(self.multi_cards),
            multi_lens=list(self.multi_lens),
            names=["id", *self.names],
        )


def id_only(ids: np.ndarray, n_ids: int) -> EncodedFeatures:
    """Encoding with just the ``id`` field (models trained without side features)."""
    empty = EncodedFeatures(np.zeros((len(ids), 0), dtype=np.int64), np.zeros((len(ids), 0), dtype=np.int64), [], [], [], [])
    return empty.with_id(ids, n_ids)


class FeatureEncoder:
    """Fit field vocabularies on a side-feature frame and encode rows as integer indices.

    Parameters
    ----------
    columns : sequence of str or None
        Columns to encode (default: every column; ``title`` only with ``title_tokens``).
    n_buckets : int
        Quantile buckets for numeric columns with many distinct values.
    max_categories : int
        Most frequent values kept per categorical field (the rest map to 0).
    min_count : int
        Values seen fewer times map to 0.
    small_numeric : int
        Numeric columns with at most this many distinct values are categorical (ML-1M age codes, occupations).
    zip_digits : int
        Leading characters of a zip code kept.
    year_width : int
        Width of year buckets.
    max_values : int
        Longest list kept for a multi-valued field (extra values are dropped).
    title_tokens : bool
        Encode the ``title`` column as a bag of lower-cased word tokens (min 2 occurrences).
    """

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        *,
        n_buckets: int = 8,
        max_categories: int = 500,
        min_count: int = 1,
        small_numeric: int = 30,
        zip_digits: int = 2,
        year_width: int = 5,
        max_values: int = 8,
        title_tokens: bool = False,
    ) -> None:
        self.columns = None if columns is None else list(columns)
        self.n_buckets = n_buckets
        self.max_categories = max_categories
        self.min_count = min_count
        self.small_numeric = small_numeric
        self.zip_digits = zip_digits
        self.year_width = year_width
        self.max_values = max_values
        self.title_tokens = title_tokens
        self.fields: list[Field] = []
        self.fitted = False

    # ------------------------------------------------------------------ fitting
    def fit(self, frame: pd.DataFrame) -> "FeatureEncoder":
        """Infer one field per usable column and fit its vocabulary / bucket edges."""
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"side features must be a DataFrame indexed by raw id, got {type(frame).__name__}")
        cols = list(frame.columns) if self.columns is None else self.columns
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataError(f"side features: missing column(s) {missing} (have {list(frame.columns)})")
        self.fields = [f for f in (self._fit_column(str(c), frame[c]) for c in cols) if f is not None]
        self.fitted = True
        return self

    def _fit_column(self, name: str, col: pd.Series) -> Field | None:
        low = name.lower()
        if low == "title":
            if not self.title_tokens:
                return None
            tokens = _tokens(col)
            return Field(
                name,
                name,
                "multi",
                "tokens",
                _vocab(tokens.explode(), self.max_categories * 4, max(2, self.min_count)),
                max_len=_max_len(tokens, self.max_values),
            )
        if low in _ZIP_NAMES:
            values = _zip(col, self.zip_digits)
            return Field(name, name, "categorical", "zip", _vocab(values, self.max_categories, self.min_count))
        if low == "year" or low.endswith("_year"):
            values = _year(col, self.year_width)
            return Field(name, name, "categorical", "year", _vocab(values, self.max_categories, self.min_count))
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            num = pd.to_numeric(col, errors="coerce")
            if num.nunique() > self.small_numeric:
                finite = num[np.isfinite(num)].to_numpy(dtype=np.float64)
                if len(finite) == 0:
                    return None
                qs = np.quantile(finite, np.linspace(0, 1, self.n_buckets + 1)[1:-1])
                return Field(name, name, "numeric", edges=[float(x) for x in np.unique(qs)])
        strings = _as_str(col)
        if low in _MULTI_NAMES or strings.str.contains("|", regex=False).any():
            lists = _split(strings)
            return Field(name, name, "multi", vocab=_vocab(lists.explode(), self.max_categories, self.min_count), max_len=_max_len(lists, self.max_values))
        present = strings.dropna()
        if len(present) > 50 and present.nunique() > self.max_categories and present.nunique() > 0.5 * len(present):
            return None  # identifier-like free text: nothing to learn per value
        return Field(name, name, "categorical", vocab=_vocab(strings, self.max_categories, self.min_count))

    # ------------------------------------------------------------------ encoding
    def transform(self, frame: pd.DataFrame | None, ids: np.ndarray | None = None) -> EncodedFeatures:
        """Encode rows of ``frame``; with ``ids`` (raw ids) the rows are ``frame.loc[ids]`` and missing ids get 0s.

        Returns :class:`EncodedFeatures` with ``n = len(ids)`` (or ``len(frame)``) rows.
        """
        self._check_fitted()
        if frame is None:
            frame = pd.DataFrame(index=pd.Index([] if ids is None else ids))
        if ids is not None:
            frame = frame.reindex(pd.Index(np.asarray(ids)))
        n = len(frame)
        singles, multis, lens = [], [], []
        for f in self.fields:
            col = frame[f.column] if f.column in frame.columns else pd.Series([np.nan] * n, index=frame.index, dtype=object)
            if f.kind == "multi":
                multis.append(self._encode_multi(f, col))
                lens.append(f.max_len)
            else:
                singles.append(self._encode_single(f, col))
        single_fields = [f for f in self.fields if f.kind != "multi"]
        multi_fields = [f for f in self.fields if f.kind == "multi"]
        return EncodedFeatures(
            single=np.stack(singles, axis=1) if singles else np.zeros((n, 0), dtype=np.int64),
            multi=np.hstack(multis) if multis else np.zeros((n, 0), dtype=np.int64),
            single_cards=[f.cardinality for f in single_fields],
            multi_cards=[f.cardinality for f in multi_fields],
            multi_lens=lens,
            names=[f.name for f in single_fields] + [f.name for f in multi_fields],
        )

    def encode_records(self, records: dict | Sequence[dict] | pd.DataFrame) -> EncodedFeatures:
        """Encode feature rows given as a dict (one row), a list of dicts or a frame (cold-start users/items)."""
        if isinstance(records, dict):
            records = [records]
        frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
        return self.transform(frame.reset_index(drop=True))

    def _encode_single(self, f: Field, col: pd.Series) -> np.ndarray:
        if f.kind == "numeric":
            num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
            out = 1 + np.searchsorted(np.asarray(f.edges, dtype=np.float64), num, side="right")
            out[~np.isfinite(num)] = 0
            return out.astype(np.int64)
        if f.transform == "zip":
            values = _zip(col, self.zip_digits)
        elif f.transform == "year":
            values = _year(col, self.year_width)
        else:
            values = _as_str(col)
        return _lookup(f.vocab, values)

    def _encode_multi(self, f: Field, col: pd.Series) -> np.ndarray:
        lists = _tokens(col) if f.transform == "tokens" else _split(_as_str(col))
        exploded = lists.explode()
        row = np.repeat(np.arange(len(lists)), lists.str.len().fillna(0).astype(int).clip(lower=1).to_numpy())
        idx = _lookup(f.vocab, exploded)
        keep = idx > 0
        row, idx = row[keep], idx[keep]
        pos = pd.Series(row).groupby(row).cumcount().to_numpy()
        ok = pos < f.max_len
        out = np.zeros((len(lists), f.max_len), dtype=np.int64)
        out[row[ok], pos[ok]] = idx[ok]
        return out

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict:
        """The fitted encoder as plain JSON (parameters and fields)."""
        self._check_fitted()
        params = {
            k: getattr(self, k)
            for k in ("columns", "n_buckets", "max_categories", "min_count", "small_numeric", "zip_digits", "year_width", "max_values", "title_tokens")
        }
        return {"params": params, "fields": [asdict(f) for f in self.fields]}

    @classmethod
    def from_state(cls, state: dict) -> "FeatureEncoder":
        """Rebuild a fitted encoder from :meth:`to_state` output."""
        enc = cls(**state["params"])
        enc.fields = [Field(**f) for f in state["fields"]]
        enc.fitted = True
        return enc

    def _check_fitted(self) -> None:
        if not self.fitted:
            from cofirec.errors import NotFittedError

            raise NotFittedError("FeatureEncoder is not fitted: call fit(frame) first")

    def __repr__(self) -> str:
        desc = ", ".join(f"{f.name}:{f.kind}[{f.cardinality}]" for f in self.fields) if self.fitted else "unfitted"
        return f"FeatureEncoder({desc})"


def encode_entities(frame: pd.DataFrame | None, id_map: IdMap, encoder: FeatureEncoder | None) -> EncodedFeatures:
    """Field table of every user (or item) of ``id_map``: the ``id`` field followed by the encoded features.

    Rows are in index order (row k is the entity with index k); shape ``(len(id_map), n_single)``.
    """
    ids = np.arange(len(id_map))
    if encoder is None:
        return id_only(ids, len(id_map))
    return encoder.transform(frame, id_map.ids).with_id(ids, len(id_map))


# ---------------------------------------------------------------------- helpers
def _as_str(col: pd.Series) -> pd.Series:
    """Values as stripped strings (integral floats without ``.0``); missing values become NaN."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        num = pd.to_numeric(col, errors="coerce")
        integral = np.isfinite(num) & (np.mod(num.fillna(0), 1) == 0)
        out = num.astype(object).astype(str)
        out[integral] = num[integral].astype(np.int64).astype(str)
        return out.where(np.isfinite(num))
    out = col.astype(object).where(col.notna())
    out = out.map(lambda v: v if isinstance(v, str) else str(v), na_action="ignore").astype(object).str.strip()
    return out.where(~out.isin(["", "nan", "None", "NaN"]))


def _zip(col: pd.Series, digits: int) -> pd.Series:
    return _as_str(col).str.slice(0, digits)


def _year(col: pd.Series, width: int) -> pd.Series:
    num = pd.to_numeric(col, errors="coerce")
    bucket = (np.floor(num / width) * width).where(np.isfinite(num))
    return _as_str(bucket)


def _split(strings: pd.Series) -> pd.Series:
    """``"a|b"`` -> ``["a", "b"]``; missing -> ``[]``."""
    return strings.fillna("").str.split("|").map(lambda xs: [x.strip() for x in xs if x.strip()])


def _tokens(col: pd.Series) -> pd.Series:
    return _as_str(col).fillna("").str.lower().map(_TOKEN.findall)


def _vocab(values: pd.Series, max_size: int, min_count: int) -> list[str]:
    """Most frequent values first (ties by value), at most ``max_size``, each seen ``min_count`` times."""
    counts = values.dropna().astype(str).value_counts()
    counts = counts[counts >= min_count]
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_size]
    return [k for k, _ in order]


def _max_len(lists: pd.Series, cap: int) -> int:
    longest = int(lists.str.len().max()) if len(lists) else 1
    return int(max(1, min(cap, longest)))


def _lookup(vocab: list[str], values: pd.Series) -> np.ndarray:
    """Local indices (vocab position + 1, 0 for unknown or missing), int64 (n,)."""
    if not vocab:
        return np.zeros(len(values), dtype=np.int64)
    index = pd.Index(vocab)
    vals = values.to_numpy(dtype=object)
    present = pd.notna(vals)
    out = np.zeros(len(vals), dtype=np.int64)
    if present.any():
        out[present] = index.get_indexer(vals[present].astype(str)) + 1
    return out


def describe(encoded: EncodedFeatures) -> dict[str, Any]:
    """Field names with cardinalities, for logs and reports."""
    cards = encoded.single_cards + encoded.multi_cards
    return dict(zip(encoded.names, cards))


class SideFeatures:
    """Mixin for neural wrappers with ``features`` ("both", "user", "item", "none") and ``title_tokens`` params.

    ``_prepare`` fits one :class:`FeatureEncoder` per side and builds the field tables (``id`` first). Fitted
    state is plain JSON: ``user_encoder_`` / ``item_encoder_`` (encoder states or None) and ``user_spec_`` /
    ``item_spec_`` (field shapes for rebuilding the module); the tables themselves live in the module's buffers.
    """

    features: str
    title_tokens: bool

    def _prepare(self, data) -> None:
        use_u = self.features in ("both", "user") and data.user_features is not None
        use_i = self.features in ("both", "item") and data.item_features is not None
        uenc = FeatureEncoder().fit(data.user_features) if use_u else None
        ienc = FeatureEncoder(title_tokens=self.title_tokens).fit(data.item_features) if use_i else None
        self._user_table = encode_entities(data.user_features, data.user_map, uenc)
        history = int(getattr(self, "history", 0))  # a model parameter of the subclasses that have it
        if history > 0:
            self._user_table = with_history(self._user_table, data, history)
        self._item_table = encode_entities(data.item_features, data.item_map, ienc)
        self.user_encoder_ = uenc.to_state() if uenc is not None else None
        self.item_encoder_ = ienc.to_state() if ienc is not None else None
        self.user_spec_ = self._user_table.spec()
        self.item_spec_ = self._item_table.spec()

    def _fill_tables(self, module) -> None:
        """Copy the tables built by ``_prepare`` into ``module.users`` / ``module.items`` (fit only; load restores them)."""
        if getattr(self, "_user_table", None) is not None:
            module.users.fill(self._user_table.single, self._user_table.multi)
            module.items.fill(self._item_table.single, self._item_table.multi)
            self._user_table = self._item_table = None  # type: ignore[assignment]  # tables are dropped once copied into the module

    def encode_user_features(self, records: dict | Sequence[dict] | pd.DataFrame) -> EncodedFeatures:
        """Field table rows for new users described by side features (``id`` field 0 = unknown; an empty
        ``history`` block when the model has one, so the rows match the fitted user table)."""
        enc = _encode_new(getattr(self, "user_encoder_", None), records)
        spec = getattr(self, "user_spec_", None)
        if spec is not None and spec["names"][-1:] == ["history"] and enc.names[-1:] != ["history"]:
            width = int(spec["multi_lens"][-1])
            enc = EncodedFeatures(
                single=enc.single,
                multi=np.hstack([enc.multi, np.zeros((len(enc.single), width), dtype=np.int64)]),
                single_cards=list(enc.single_cards),
                multi_cards=[*enc.multi_cards, int(spec["multi_cards"][-1])],
                multi_lens=[*enc.multi_lens, width],
                names=[*enc.names, "history"],
            )
        return enc

    def encode_item_features(self, records: dict | Sequence[dict] | pd.DataFrame) -> EncodedFeatures:
        """Field table rows for new items described by side features (``id`` field 0 = unknown)."""
        return _encode_new(getattr(self, "item_encoder_", None), records)


def with_history(table: EncodedFeatures, data, length: int) -> EncodedFeatures:
    """Append a multi-valued ``history`` field: each user's ``length`` most recent training items (index + 1).

    ``data`` is the training :class:`~cofirec.data.dataset.Interactions` (rows ``users``/``items``, optional
    ``timestamps``); ties and data without timestamps keep the row order. Shape of the added block
    (n_users, w) with ``w = min(length, most items of one user)`` (at least 1), so a long ``length`` costs
    nothing on data with short histories.
    """
    rank = data.recency_rank()
    length = max(1, min(int(length), int(rank.max()) + 1 if len(rank) else 1))
    keep = rank < length
    hist = np.zeros((len(table), length), dtype=np.int64)
    hist[data.users[keep], rank[keep]] = data.items[keep].astype(np.int64) + 1
    return EncodedFeatures(
        single=table.single,
        multi=np.hstack([table.multi, hist]),
        single_cards=list(table.single_cards),
        multi_cards=[*table.multi_cards, int(data.n_items) + 1],
        multi_lens=[*table.multi_lens, int(length)],
        names=[*table.names, "history"],
    )


def _encode_new(state: dict | None, records) -> EncodedFeatures:
    n = 1 if isinstance(records, dict) else len(records)
    if state is None:
        return id_only(np.full(n, -1), 0)
    return FeatureEncoder.from_state(state).encode_records(records).with_id(np.full(n, -1), 0)
