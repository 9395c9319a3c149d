"""Raw user/item ids: the one id policy of cofirec, and the vocabulary mapping ids to dense indices.

Id policy
---------
Every id column (ratings files, frames, test files, negatives files, metadata) and every id look-up
(``--user``, ``--item``, test ids mapped onto a model) follows the same rules:

* a value is a **whole number** when it is a plain decimal integer (optional ``-``, no ``+``, no leading zeros
  except ``0`` itself) that fits int64, or the same written as a float (``196.0``, as pandas writes ids that
  passed through a float column). ``196`` and ``196.0`` are the same id; a column that held such floats is read
  with a one-line warning saying so;
* a column is **integer** (int64) when every value is a whole number; otherwise it is a **string** column and
  every value is its text (stripped; whole numbers in their plain form, so ``1.0`` is ``"1"``). ``007``,
  ``07`` and ``7`` are therefore three different ids (in a string column), and integers beyond int64 are
  kept exactly, as strings;
* missing ids (None, NaN, empty text) are an error, and so is a column of numbers where some have a
  fraction (``4.5``: usually a rating or timestamp in the id position);
* look-ups convert each queried value to the vocabulary's kind on its own: against an integer vocabulary
  ``"196"`` and ``196.0`` find 196 and ``"bob"`` is unknown alone; against a string vocabulary 196 finds
  ``"196"``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from cofirec.errors import DataError, UnknownIdError

__all__ = ["IdMap", "parse_ids"]

_PLAIN_INT = r"0|-?[1-9][0-9]*"
_WHOLE_FLOAT = r"(?:0|-?[1-9][0-9]*)\.0+"
_DECIMAL = r"-?[0-9]+(?:\.[0-9]+)?"
_FRACTIONAL = r"-?[0-9]+\.[0-9]*[1-9][0-9]*"
_INT64_MAX_DIGITS = "9223372036854775807"
_INT64_MIN_DIGITS = "9223372036854775808"
_TWO_63 = float(2**63)


@dataclass
class _Canonical:
    """Values in their canonical id form (see the module docstring), one entry per value."""

    ints: np.ndarray  # int64, meaningful where ``is_int``
    is_int: np.ndarray  # a whole number that fits int64
    missing: np.ndarray  # None, NaN, inf or empty text
    numeric: np.ndarray  # a decimal number of any size, whole or not
    fractional: np.ndarray  # a number with a non-zero fraction
    from_float: np.ndarray  # a whole number written as a float
    text: np.ndarray | None  # canonical text where not ``is_int``; None when every value is_int
    text_everywhere: bool = False  # ``text`` holds the canonical text of every value (str array)

    def texts(self) -> np.ndarray:
        """Canonical text of every value (whole numbers in plain decimal), str array."""
        if self.text is None:
            return self.ints.astype(str)
        if self.text_everywhere:
            return self.text
        out = self.text.astype(object)
        out[self.is_int] = self.ints[self.is_int].astype(str)
        return out.astype(str) if len(out) else np.empty(0, dtype=str)

    def take(self, codes: np.ndarray) -> "_Canonical":
        pick = {k: getattr(self, k)[codes] for k in ("ints", "is_int", "missing", "numeric", "fractional", "from_float")}
        return _Canonical(**pick, text=None if self.text is None else self.text[codes], text_everywhere=self.text_everywhere)


def _of_ints(ints: np.ndarray) -> _Canonical:
    none = np.zeros(len(ints), dtype=bool)
    return _Canonical(ints, ~none, none, ~none, none, none, None)


def _of_floats(f: np.ndarray) -> _Canonical:
    finite = np.isfinite(f)
    with np.errstate(invalid="ignore"):
        whole = finite & (np.mod(np.where(finite, f, 0.0), 1) == 0)
        fits = whole & (f >= -_TWO_63) & (f < _TWO_63)
    ints = np.where(fits, f, 0.0).astype(np.int64)
    text = None
    if not fits.all():
        text = np.full(len(f), "", dtype=object)
        big = np.flatnonzero(whole & ~fits)
        text[big] = [str(int(v)) for v in f[big]]  # rare: whole numbers beyond int64, kept exact as text
        frac = np.flatnonzero(finite & ~whole)
        text[frac] = [repr(float(v)) for v in f[frac]]
    return _Canonical(ints, fits, ~finite, finite, finite & ~whole, whole, text)


def _of_text(values: np.ndarray, missing: np.ndarray | None = None) -> _Canonical:
    """Canonical forms of text values, computed once per distinct value."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), sort=False, use_na_sentinel=False)
    u = pd.Series(np.asarray(uniq, dtype=object), dtype=object).fillna("").astype(str).str.strip()
    plain = u.str.fullmatch(_PLAIN_INT)
    whole_float = ~plain & u.str.fullmatch(_WHOLE_FLOAT)
    whole = u.where(~whole_float, u.str.replace(r"\.0+$", "", regex=True))
    digits = whole.str.len() - whole.str.startswith("-")
    bound = np.where(whole.str.startswith("-"), _INT64_MIN_DIGITS, _INT64_MAX_DIGITS)
    fits = (plain | whole_float) & ((digits <= 18) | ((digits == 19) & (whole.str.lstrip("-") <= pd.Series(bound))))
    ints = np.zeros(len(u), dtype=np.int64)
    ints[fits.to_numpy()] = whole[fits].to_numpy(dtype=str).astype(np.int64)
    canon = _Canonical(
        ints=ints,
        is_int=fits.to_numpy(dtype=bool),
        missing=(u == "").to_numpy(dtype=bool),
        numeric=u.str.fullmatch(_DECIMAL).to_numpy(dtype=bool),
        fractional=u.str.fullmatch(_FRACTIONAL).to_numpy(dtype=bool),
        from_float=whole_float.to_numpy(dtype=bool),
        text=whole.to_numpy(dtype=str) if len(whole) else np.empty(0, dtype=str),
        text_everywhere=True,
    ).take(codes)
    if missing is not None and missing.any():
        canon.missing |= missing
        canon.is_int &= ~missing
    return canon


def _canonicalize(values: Any) -> _Canonical:
    """Every value of ``values`` (any 1-d array-like or a scalar) in its canonical id form."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    elif hasattr(values, "to_numpy") and hasattr(values, "type"):  # pyarrow arrays
        values = values.to_numpy(zero_copy_only=False)
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1:
        arr = arr.ravel()
    kind = arr.dtype.kind
    if kind == "i":
        return _of_ints(arr.astype(np.int64, copy=False))
    if kind == "u":
        fits = arr <= np.iinfo(np.int64).max
        if fits.all():
            return _of_ints(arr.astype(np.int64))
        return _of_text(arr.astype(str))
    if kind == "f":
        return _of_floats(arr.astype(np.float64, copy=False))
    if kind != "O":
        return _of_text(arr.astype(str))
    missing = np.asarray(pd.isna(arr), dtype=bool)
    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    if inferred == "integer" and not missing.any():
        try:
            return _of_ints(arr.astype(np.int64))
        except OverflowError:
            pass  # beyond int64: exact as text below
    elif inferred in ("floating", "mixed-integer-float"):
        try:
            return _of_floats(np.where(missing, np.nan, arr).astype(np.float64))
        except (OverflowError, TypeError, ValueError):
            pass
    if inferred == "string":
        return _of_text(np.where(missing, "", arr), missing)
    return _of_text(np.array(["" if m else str(v) for v, m in zip(arr.tolist(), missing)], dtype=object), missing)


def parse_ids(values: Any, *, what: str = "", source: str = "data") -> np.ndarray:
    """An id column under the id policy (module docstring): int64 array when every id is a whole number that
    fits int64, else str array of canonical texts.

    Raises :class:`DataError` for missing ids and for numbers with a fraction; warns when ids written as
    floats (``196.0``) were read as whole numbers.
    """
    canon = _canonicalize(values)
    noun = f"{what} id" if what else "id"
    if canon.missing.any():
        row = int(np.flatnonzero(canon.missing)[0])
        raise DataError(f"{source}: missing {noun} at row {row + 1} ({_shown(values, row)}); every row needs a {noun}")
    if canon.fractional.any() and canon.numeric.all():
        row = int(np.flatnonzero(canon.fractional)[0])
        raise DataError(
            f"{source}: {noun} {_shown(values, row)} at row {row + 1} is not a whole number; ids are whole numbers "
            f"or names (is a rating or timestamp in the {what or 'id'} column?)"
        )
    if canon.from_float.any():
        row = int(np.flatnonzero(canon.from_float)[0])
        whole = canon.ints[row] if canon.is_int[row] else canon.text[row]  # type: ignore[index]  # ints is set where is_int
        warnings.warn(
            f"{source}: {noun}s written as floats (e.g. {_shown(values, row)}) were read as whole numbers ({whole})",
            UserWarning,
            stacklevel=2,
        )
    if canon.is_int.all():
        return canon.ints
    return canon.texts()


def _shown(values: Any, row: int) -> str:
    """The value at ``row`` as written, for messages."""
    v = np.atleast_1d(np.asarray(values, dtype=object))[row]
    return repr(v.item() if isinstance(v, np.generic) else v)


class IdMap:
    """Bidirectional raw id <-> index map.

    Raw ids are stored as a 1-d array (``int64`` when every id is an integer, else ``str``); index ``k``
    corresponds to ``ids[k]``. Look-ups follow the id policy (module docstring), each queried value on its
    own, and are vectorised through a pandas ``Index``.
    """

    def __init__(self, ids: Iterable | np.ndarray) -> None:
        arr = np.asarray(ids)
        if arr.dtype == object:
            arr = arr.astype(str)
        if arr.dtype.kind == "f":
            canon = _of_floats(arr.astype(np.float64))
            if not canon.is_int.all():
                raise ValueError("IdMap ids must be integers or strings (got floats that are not whole numbers)")
            arr = canon.ints
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

    def convert(self, raw: Iterable | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw ids converted one by one to this map's kind: (int64 or str array, bool array of the values that
        convert; the others hold 0 or "")."""
        canon = _canonicalize(raw)
        if self.is_integer:
            return canon.ints, canon.is_int.copy()
        return canon.texts(), ~canon.missing

    def coerce(self, raw: Iterable | np.ndarray) -> np.ndarray:
        """Raw ids (e.g. strings typed on a command line) converted one by one to this map's kind where they can
        be: int64 or str array when all convert, else an object array mixing converted and original values."""
        arr = np.atleast_1d(np.asarray(raw))
        canon = _canonicalize(arr)
        if not self.is_integer:
            return canon.texts()
        if canon.is_int.all():
            return canon.ints
        out = np.array([v.strip() if isinstance(v, str) else v for v in arr.tolist()], dtype=object)
        out[canon.is_int] = canon.ints[canon.is_int].tolist()
        return out

    def lookup(self, raw: Iterable | np.ndarray) -> np.ndarray:
        """Indices of ``raw`` ids; ``-1`` for ids not in the vocabulary (each value on its own). int64 array.

        Against a string vocabulary a text found exactly as given wins over its canonical form (so maps built
        directly from arbitrary strings find every one of them)."""
        arr = np.atleast_1d(np.asarray(raw))
        exact = None
        if not self.is_integer and (arr.dtype.kind == "U" or (arr.dtype.kind == "O" and pd.api.types.infer_dtype(arr, skipna=False) == "string")):
            exact = self._index.get_indexer(arr.astype(str)).astype(np.int64)
            if (exact >= 0).all():
                return exact
        keys, ok = self.convert(arr)
        out = np.full(len(keys), -1, dtype=np.int64)
        if len(keys):
            out[ok] = self._index.get_indexer(keys[ok])
        return out if exact is None else np.where(exact >= 0, exact, out)

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
