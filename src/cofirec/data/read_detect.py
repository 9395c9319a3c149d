"""Sniffing a delimited ratings file from its first lines: separator, header, column names and id types."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from cofirec.errors import DataError

CANONICAL_COLUMNS = ("user", "item", "rating", "timestamp")
"""Default column order of a headerless ratings file."""

_ALIASES: dict[str, str] = {
    **dict.fromkeys(["user", "userid", "uid", "u", "users", "customerid", "customer", "reviewerid", "visitorid"], "user"),
    **dict.fromkeys(["item", "itemid", "iid", "i", "items", "movie", "movieid", "mid", "productid", "product", "asin", "bookid", "isbn", "trackid"], "item"),
    **dict.fromkeys(["rating", "ratings", "score", "stars", "value", "preference", "label", "bookrating"], "rating"),
    **dict.fromkeys(["timestamp", "time", "ts", "date", "datetime", "unixtime", "unixtimestamp", "unixreviewtime"], "timestamp"),
}
_SKIP_NAMES = {"-", "_", "", "skip", "ignore"}
_SEPARATORS = ("::", "\t", ",", "|", ";", " ")
_SEP_NAMES = {"::": "'::'", "\t": "tab", ",": "comma", "|": "'|'", ";": "';'", " ": "space"}
_HEAD_BYTES = 1 << 16  # bytes read to detect separator, header and id types
_COLUMNS_HINT = "give the column order with --columns user,item,rating,timestamp (Python: columns=[...]; '-' skips a field)"
_LABEL_NAMES = frozenset({"label"})  # header names of a 0/1 like column (read as the rating when alone)


def normalize_column_name(name: str) -> str | None:
    """Canonical column (user/item/rating/timestamp) for a header or ``columns=`` name; ``None`` when unknown.

    Case, spaces, ``_`` and ``-`` are ignored, so ``userId``, ``user_id`` and ``User ID`` all give ``"user"``.
    """
    key = re.sub(r"[\s_\-\.]", "", str(name).strip().strip('"').lower())
    return _ALIASES.get(key)


@dataclass
class _Layout:
    sep: str  # separator as written in the file
    header: bool
    names: list[str | None]  # canonical name or None (skipped) per field, in file order
    n_fields: int
    ignored: list[str]


def _sample_lines(data: bytes, n: int = 50, whole: bool | None = None) -> list[tuple[int, str]]:
    """First non-empty lines as (1-based line number, text); ``whole``: whether ``data`` is the whole file."""
    head = data[:_HEAD_BYTES]
    parts = head.split(b"\n")
    cut = (len(head) < len(data)) if whole is None else not whole
    if cut and len(parts) > 1:
        parts = parts[:-1]  # last one may be cut
    out = []
    for k, part in enumerate(parts):
        text = part.rstrip(b"\r").decode("utf-8", errors="replace")
        if text.strip():
            out.append((k + 1, text))
            if len(out) >= n:
                break
    return out


def _split(line: str, sep: str) -> list[str]:
    """Fields of one line (quote-aware for one-character separators), stripped."""
    if len(sep) == 1 and sep != " " and '"' in line:
        fields = next(csv.reader([line], delimiter=sep, quotechar='"'))
    else:
        fields = line.split(sep)
    return [f.strip().strip('"').strip() for f in fields]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _detect_sep(path: Path, lines: list[tuple[int, str]]) -> str:
    best: tuple[float, int, str] | None = None
    for rank, cand in enumerate(_SEPARATORS):
        counts = np.array([_count_sep(text, cand) for _, text in lines])
        if cand == " " and best is not None:
            break  # space only when nothing else fits
        if counts[0] < 1:
            continue
        mode = np.bincount(counts).argmax()
        if mode < 1:
            continue
        score = float(np.mean(counts == mode))
        if best is None or score > best[0] + 1e-9:
            best = (score, -rank, cand)
    if best is None:
        line_no, text = lines[0]
        raise DataError(
            f"{path}, line {line_no}: cannot detect the field separator in {text[:60]!r} "
            "(expected tab, comma, '::', '|', ';' or space); give it with --sep / sep="
        )
    return best[2]


def _count_sep(text: str, sep: str) -> int:
    if '"' in text:
        text = re.sub(r'"[^"]*"', "", text)
    if sep == " ":
        return len(text.strip().split()) - 1 if text.strip() else 0
    if sep == ":" or sep == "::":
        return text.count("::")
    return text.count(sep)


def _detect_layout(path: Path, lines, columns, sep, header) -> _Layout:
    if sep is None:
        sep = _detect_sep(path, lines)
    elif sep == "":
        raise DataError(f"{path}: sep must not be empty")
    first_no, first = lines[0]
    first_fields = _split(first, sep)
    n_fields = len(first_fields)
    if header is None:
        header = _looks_like_header(first_fields, [_split(t, sep) for _, t in lines[1:6]])
    if n_fields == 1:
        other = [s for s in _SEPARATORS if s != sep and _count_sep(first, s) > 0]
        hint = f"; the file looks {_SEP_NAMES[other[0]]}-separated" if other else ""
        raise DataError(f"{path}, line {first_no}: only one field with separator {_SEP_NAMES.get(sep, repr(sep))}{hint}")
    ignored: list[str] = []
    if columns is not None:
        names = _names_from_columns(path, columns, n_fields, first_no)
    elif header:
        names, ignored = _names_from_header(path, first_fields, first_no)
    else:
        if n_fields > 4:
            raise DataError(f"{path}, line {first_no}: {n_fields} fields but no header; expected user, item[, rating[, timestamp]]; {_COLUMNS_HINT}")
        names = list(CANONICAL_COLUMNS[:n_fields])
    for need in ("user", "item"):
        if need not in names:
            raise DataError(f"{path}: no {need} column (columns are {[n or '-' for n in names]}); {_COLUMNS_HINT}")
    return _Layout(sep=sep, header=bool(header), names=names, n_fields=n_fields, ignored=ignored)


def _looks_like_header(first: list[str], rest: list[list[str]]) -> bool:
    known = [normalize_column_name(f) for f in first]
    if sum(k is not None for k in known) >= 2 and not any(_is_number(f) for f in first):
        return True
    for k, f in enumerate(first):
        if not _is_number(f) and rest and all(len(r) > k and _is_number(r[k]) for r in rest):
            return True
    return False


def _names_from_columns(path: Path, columns: Sequence, n_fields: int, line_no: int) -> list[str | None]:
    names: list[str | None] = []
    for col in columns:
        if col is None or str(col).strip() in _SKIP_NAMES:
            names.append(None)
            continue
        canon = normalize_column_name(col)
        if canon is None:
            raise DataError(f"{path}: unknown column name {col!r} in --columns / columns=; use user, item, rating, timestamp or '-' to skip")
        if canon in names:
            raise DataError(f"{path}: column {canon!r} given twice in --columns {','.join(str(c) for c in columns)}")
        names.append(canon)
    if len(names) > n_fields:
        raise DataError(f"{path}, line {line_no}: --columns / columns= names {len(names)} columns but the line has {n_fields} fields")
    return names + [None] * (n_fields - len(names))


class DuplicateColumnError(DataError):
    """A header with two fields that mean the same column (e.g. ``rating`` and ``label``); names the way out.

    ``choices`` maps each of the clashing header fields to the ``--columns`` list that reads it and skips the
    other; ``rating_columns`` is the list that keeps the ratings and skips a 0/1 label column (None unless the
    clash is a rating and a label).
    """

    def __init__(self, path: Path, line_no: int, fields: list[str], canon: str) -> None:
        canons = [normalize_column_name(f) for f in fields]
        clash = [k for k, c in enumerate(canons) if c == canon]
        self.choices = {fields[k]: [c if (c != canon or j == k) and c is not None else "-" for j, c in enumerate(canons)] for k in clash}
        labels = [k for k in clash if _header_key(fields[k]) in _LABEL_NAMES]
        keep = [k for k in clash if k not in labels]
        self.rating_columns = self.choices[fields[keep[0]]] if canon == "rating" and labels and len(keep) == 1 else None
        options = ", ".join(f"{','.join(cols)} reads {field!r}" for field, cols in self.choices.items())
        extra = "; or give --target binary:T, which derives likes from the ratings and ignores the label" if self.rating_columns is not None else ""
        super().__init__(
            f"{path}, line {line_no}: header has {len(clash)} {canon} columns ({', '.join(repr(fields[k]) for k in clash)}); "
            f"pick one with --columns / columns=: {options}{extra}"
        )


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-\.]", "", str(name).strip().strip('"').lower())


def _names_from_header(path: Path, fields: list[str], line_no: int) -> tuple[list[str | None], list[str]]:
    names: list[str | None] = []
    ignored = []
    for f in fields:
        canon = normalize_column_name(f)
        if canon is not None and canon in names:
            raise DuplicateColumnError(path, line_no, fields, canon)
        names.append(canon)
        if canon is None:
            ignored.append(f)
    if "user" not in names or "item" not in names:
        raise DataError(
            f"{path}, line {line_no}: header {fields} has no recognisable user and item columns "
            "(expected names like userId/user_id/user and movieId/item_id/item); " + _COLUMNS_HINT
        )
    return names, ignored
