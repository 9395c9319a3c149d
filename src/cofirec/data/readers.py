"""Plain ratings-file reader: delimited text (tab, comma, ``::``, ``|``, ``;``, space) and Parquet.

The fast path hands the whole file to ``pyarrow.csv`` with explicit column types; only when that fails (or
yields values that cannot be ratings) does the reader look at individual lines, vectorised over the raw bytes,
to name the exact file and 1-based line of the first problem. ``on_bad_lines="skip"`` drops such lines instead,
with a warning and ``interactions.meta["skipped_lines"]``.

Bad input policy
----------------
* a line with the wrong number of fields, an empty or non-numeric rating, NaN/inf, a rating whose magnitude is
  above ``MAX_ABS_RATING`` (usually a timestamp in the rating column), an empty id or a timestamp that is not a
  number or a date: :class:`~cofirec.errors.DataError` naming the file and line, or skipped with
  ``on_bad_lines="skip"``;
* negative ratings are allowed (e.g. Jester's -10..10 scale);
* blank lines are ignored; a UTF-8 byte-order mark is dropped; CRLF line endings are fine;
* an empty file, a file with only a header, a binary file, text that is not UTF-8 (unless ``encoding`` is
  given), an undetectable separator, unknown or missing columns: :class:`DataError`;
* duplicate (user, item) pairs: the latest is kept and a warning gives the count
  (:meth:`Interactions.from_frame`);
* ids follow the id policy of :mod:`cofirec.data.idmap` on every path (fast, careful, Parquet): a column is
  int64 only when every id is a plain decimal integer that fits (``007`` keeps the column as strings, so it
  stays apart from ``7``); ``196.0`` is read as 196 with a warning; a column of numbers with fractions is an
  error.
"""

from __future__ import annotations

import csv
import gzip
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cofirec.data.dataset import Interactions
from cofirec.errors import DataError

__all__ = ["CANONICAL_COLUMNS", "MAX_ABS_RATING", "normalize_column_name", "read_ratings_file", "write_ratings_file"]

CANONICAL_COLUMNS = ("user", "item", "rating", "timestamp")
"""Default column order of a headerless ratings file."""

MAX_ABS_RATING = 1e7
"""Ratings with a larger magnitude are refused as absurd (typically a timestamp read as a rating)."""

_ALIASES: dict[str, str] = {
    **dict.fromkeys(["user", "userid", "uid", "u", "users", "customerid", "customer", "reviewerid", "visitorid"], "user"),
    **dict.fromkeys(["item", "itemid", "iid", "i", "items", "movie", "movieid", "mid", "productid", "product", "asin", "bookid", "isbn", "trackid"], "item"),
    **dict.fromkeys(["rating", "ratings", "score", "stars", "value", "preference", "label", "bookrating"], "rating"),
    **dict.fromkeys(["timestamp", "time", "ts", "date", "datetime", "unixtime", "unixtimestamp", "unixreviewtime"], "timestamp"),
}
_SKIP_NAMES = {"-", "_", "", "skip", "ignore"}
_SEPARATORS = ("::", "\t", ",", "|", ";", " ")
_SEP_NAMES = {"::": "'::'", "\t": "tab", ",": "comma", "|": "'|'", ";": "';'", " ": "space"}
_SUBST = b"\x1f"  # single byte standing in for '::' so pyarrow can parse it
_HEAD_BYTES = 1 << 16  # bytes read to detect separator, header and id types
_MAX_TIMESTAMP = float(2**63 - 1024)  # largest magnitude that survives float64 -> int64 without wrapping
_COLUMNS_HINT = "give the column order with --columns user,item,rating,timestamp (Python: columns=[...]; '-' skips a field)"
_LABEL_NAMES = frozenset({"label"})  # header names of a 0/1 like column (read as the rating when alone)


def normalize_column_name(name: str) -> str | None:
    """Canonical column (user/item/rating/timestamp) for a header or ``columns=`` name; ``None`` when unknown.

    Case, spaces, ``_`` and ``-`` are ignored, so ``userId``, ``user_id`` and ``User ID`` all give ``"user"``.
    """
    key = re.sub(r"[\s_\-\.]", "", str(name).strip().strip('"').lower())
    return _ALIASES.get(key)


# ---------------------------------------------------------------------- public API
def read_ratings_file(
    path: str | Path,
    *,
    columns: list[str] | None = None,
    sep: str | None = None,
    header: bool | None = None,
    on_bad_lines: Literal["error", "skip"] = "error",
    name: str | None = None,
    encoding: str | None = None,
) -> Interactions:
    """Read a ratings file into :class:`Interactions`.

    Parameters
    ----------
    path : str or Path
        Delimited text (optionally ``.gz``) or ``.parquet``/``.pq``.
    columns : list of str, optional
        Column names in file order: ``user``, ``item``, ``rating``, ``timestamp`` (or aliases like ``userId``),
        ``"-"`` to skip a field. Default: from the header, else ``user, item[, rating[, timestamp]]`` by the
        number of fields (2-4). Fields after the listed ones are ignored.
    sep : str, optional
        Field separator; detected from the first lines when omitted.
    header : bool, optional
        Whether the first line holds column names; detected when omitted.
    on_bad_lines : "error" or "skip"
        Raise :class:`DataError` at the first bad line (naming file and line) or skip bad lines, warning
        with their count (also in ``meta["skipped_lines"]``).
    name : str, optional
        Name of the returned data (default: the file name).
    encoding : str, optional
        Text encoding when the file is not UTF-8 (e.g. ``"latin-1"``); without it non-UTF-8 text is an error.

    Returns
    -------
    Interactions
        ``kind="explicit"`` when there is a rating column, else ``"implicit"``.
    """
    path = Path(path)
    if on_bad_lines not in ("error", "skip"):
        raise DataError(f"on_bad_lines must be 'error' or 'skip', got {on_bad_lines!r}")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a ratings file")
    if not path.is_file():  # a device (/dev/zero), FIFO or socket: reading it may never end
        raise DataError(f"{path}: not a regular file (a device, pipe or socket); save the ratings to a file first")
    label = name or path.name
    if path.suffix.lower() in (".parquet", ".pq"):
        frame, skipped, first_bad = _read_parquet(path, columns, on_bad_lines)
    else:
        frame, skipped, first_bad = _read_text(path, columns, sep, header, on_bad_lines, encoding)
    return _to_interactions(frame, path, label, skipped, first_bad)


def write_ratings_file(data: Interactions | pd.DataFrame, path: str | Path, *, sep: str = "\t", header: bool = False) -> Path:
    """Write interactions as ``user, item, rating[, timestamp]`` (delimited text, or Parquet by extension).

    The output reads back with :func:`read_ratings_file` to the same interactions.
    """
    path = Path(path)
    frame = data.to_frame() if isinstance(data, Interactions) else data
    cols = [c for c in CANONICAL_COLUMNS if c in frame.columns]
    frame = frame[cols]
    from cofirec._atomic import atomic_file  # an interrupted write leaves the old file, never a truncated one

    with atomic_file(path) as tmp:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, sep=sep, header=header, index=False, lineterminator="\n")
    return path


# ---------------------------------------------------------------------- text files
@dataclass
class _Layout:
    sep: str  # separator as written in the file
    header: bool
    names: list[str | None]  # canonical name or None (skipped) per field, in file order
    n_fields: int
    int_ids: dict[str, bool]  # per id column: plain integers in the sampled lines (numba fast path gate)?
    ignored: list[str]


def _read_text(path: Path, columns, sep, header, on_bad_lines, encoding) -> tuple[pd.DataFrame, int, str]:
    fast = _fast_from_path(path, columns, sep, header, encoding)
    if fast is not None:
        return fast, 0, ""
    return _read_text_carefully(path, columns, sep, header, on_bad_lines, encoding)


def _read_text_carefully(path: Path, columns, sep, header, on_bad_lines, encoding) -> tuple[pd.DataFrame, int, str]:
    # careful path: whole file in memory, encoding checks, exact line numbers for every problem
    data = _load_bytes(path, encoding)
    sample_lines = _sample_lines(data)
    if not sample_lines:
        raise DataError(f"{path}: file is empty (no lines with data)")
    layout = _detect_layout(path, sample_lines, columns, sep, header)
    if layout.sep == "::":
        fast = _double_colon_fast(data, layout)
        if fast is not None:
            return fast, 0, ""
        data = data.replace(b"::", _SUBST)  # slow path: one-byte separator, exact line diagnostics
    if layout.header and len(sample_lines) == 1 and len(data) < (1 << 16):
        raise DataError(f"{path}, line {sample_lines[0][0]}: a header but no data lines after it")
    lines = _LineTable(data, layout)  # lazily computed line offsets (only on the slow path)
    return _parse_rows(path, data, layout, lines, on_bad_lines)


def _fast_from_path(path: Path, columns, sep, header, encoding) -> pd.DataFrame | None:
    """Plain ASCII-headed text parsed by pyarrow straight from the file; ``None`` when anything looks off.

    Layout errors found in the head are raised here exactly as the careful path would raise them.
    """
    if encoding is not None or path.suffix.lower() == ".gz":
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            whole = not fh.read(1)
    except OSError:
        return None
    if not head or not head.isascii() or b"\x00" in head or head[:4] in (b"PAR1", b"PK\x03\x04"):
        return None  # empty, non-ASCII (encoding checks), binary, gzip/zip/parquet magic: careful path
    sample = _sample_lines(head, whole=whole)
    if not sample:
        return None
    layout = _detect_layout(path, sample, columns, sep, header)
    if layout.header and len(sample) == 1:
        return None
    if layout.sep == "::":
        return _double_colon_fast(path, layout)
    if path.stat().st_size >= _NUMBA_MIN_BYTES:
        frame = _numeric_fast(path, layout)
        if frame is not None:
            frame, bad, _ = _check_values(frame, layout)
            if not bad.any():
                return _note_ignored(frame, layout)
    try:
        table = _arrow_read(path, layout, typed=True, skip_header=layout.header)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError):
        return None
    frame, bad, _ = _check_values(_typed_frame(table), layout)
    return None if bad.any() else _note_ignored(frame, layout)


def _note_ignored(frame: pd.DataFrame, layout: _Layout) -> pd.DataFrame:
    if layout.ignored:
        frame.attrs["ignored_columns"] = list(layout.ignored)
    return frame


_NUMBA_MIN_BYTES = 32 << 20  # below this pyarrow alone is fast enough (and no compile on first use)
_P10 = np.array([10.0**k for k in range(23)])
_numeric_kernel = None


def _numeric_fast(path: Path, layout: _Layout) -> pd.DataFrame | None:
    """Large all-numeric files (ids, rating, timestamp) parsed by a compiled single-pass kernel.

    About 2.5x less CPU than pyarrow's general CSV reader for this shape of file. ``None`` (caller falls back
    to pyarrow) for anything outside plain ``[-]digits[.digits]`` fields: quotes, spaces, exponents, ...
    """
    global _numeric_kernel
    if len(layout.sep) != 1 or layout.sep == '"' or not all(layout.int_ids.values()):
        return None
    kinds = {None: 0, "rating": 2, "user": 3, "item": 3}
    codes = np.array([kinds.get(n, 1) for n in layout.names], dtype=np.int64)
    if _numeric_kernel is None:
        import numba

        _numeric_kernel = numba.njit(cache=True, nogil=True)(_parse_numeric)
    data = path.read_bytes()
    buf = np.frombuffer(data, dtype=np.uint8)  # no copy
    start = data.find(b"\n") + 1 if layout.header else 0
    if layout.header and start == 0:
        return None
    n_max = data.count(b"\n") + 1
    n_int, n_float = int(((codes == 1) | (codes == 3)).sum()), int((codes == 2).sum())
    ints, floats, n_rows, bad_at = _numeric_kernel(buf, start, ord(layout.sep), codes, n_int, n_float, n_max, _P10)
    if bad_at >= 0 or n_rows == 0:
        return None
    cols, ii, fi = {}, 0, 0
    for name, code in zip(layout.names, codes):
        if code == 1 or code == 3:
            cols[name] = ints[ii, :n_rows]
            ii += 1
        elif code == 2:
            cols[name] = floats[fi, :n_rows]
            fi += 1
    return pd.DataFrame(cols, copy=False)


def _parse_numeric(buf, start, sep, codes, n_int, n_float, n_max, p10):
    """Parse delimited all-numeric text (compiled with numba on first use; see :func:`_numeric_fast`).

    ``codes`` per field: 0 skip, 1 int64, 2 float64 (``[-]digits[.digits]``, at most 15 digits, so that
    ``mantissa / 10**k`` is exactly what ``strtod`` gives), 3 id: int64 without leading zeros (``007`` and
    ``-0`` send the file to the reader that keeps such ids as strings). Returns ``ints`` (n_int, n_max), ``floats``
    (n_float, n_max), the number of rows, and the byte offset of the first line it cannot parse (-1 if none).
    """
    ints = np.empty((n_int, n_max), dtype=np.int64)
    floats = np.empty((n_float, n_max), dtype=np.float64)
    n_fields = len(codes)
    pos = start
    end = len(buf)
    row = 0
    while pos < end:
        c = buf[pos]
        if c == 10:  # empty line
            pos += 1
            continue
        if c == 13 and pos + 1 < end and buf[pos + 1] == 10:
            pos += 2
            continue
        line_start = pos
        ii = 0
        fi = 0
        for k in range(n_fields):
            code = codes[k]
            if code == 0:
                while pos < end and buf[pos] != sep and buf[pos] != 10 and buf[pos] != 13:
                    pos += 1
            else:
                neg = False
                if pos < end and buf[pos] == 45:
                    neg = True
                    pos += 1
                mant = 0
                nd = 0
                while pos < end and 48 <= buf[pos] <= 57:
                    mant = mant * 10 + (buf[pos] - 48)
                    nd += 1
                    pos += 1
                frac = 0
                if code == 2 and pos < end and buf[pos] == 46:
                    pos += 1
                    while pos < end and 48 <= buf[pos] <= 57:
                        mant = mant * 10 + (buf[pos] - 48)
                        nd += 1
                        frac += 1
                        pos += 1
                if nd == 0 or nd > 15 or (code == 2 and nd - frac == 0):
                    return ints, floats, row, line_start
                if code == 3 and buf[pos - nd] == 48 and (nd > 1 or neg):
                    return ints, floats, row, line_start
                if code != 2:
                    ints[ii, row] = -mant if neg else mant
                    ii += 1
                else:
                    v = mant / p10[frac]
                    floats[fi, row] = -v if neg else v
                    fi += 1
            # after the field: separator (not after the last), or end of line
            if k < n_fields - 1:
                if pos >= end or buf[pos] != sep:
                    return ints, floats, row, line_start
                pos += 1
        if pos < end and buf[pos] == 13:
            pos += 1
        if pos < end:
            if buf[pos] != 10:
                return ints, floats, row, line_start
            pos += 1
        row += 1
    return ints, floats, row, -1


def _load_bytes(path: Path, encoding: str | None) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        if path.suffix.lower() != ".gz":
            raise DataError(f"{path}: gzip-compressed data; name it *.gz or decompress it first")
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: damaged gzip file ({exc})") from None
    if raw[:4] == b"PAR1":
        raise DataError(f"{path}: looks like a Parquet file; give it a .parquet extension")
    if raw[:4] == b"PK\x03\x04":
        raise DataError(f"{path}: looks like a zip archive; unzip it first (or pass the dataset folder)")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(f"{path}, line 1: UTF-16 text; save the file as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise DataError(f"{path}, line {line}: NUL byte; this looks like a binary file, not a text ratings file")
    if raw.isascii():
        return raw
    if encoding is not None and encoding.replace("-", "").lower() not in ("utf8",):
        try:
            return raw.decode(encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataError(f"{path}: cannot decode as {encoding} ({exc})") from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}, line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "if the file is Latin-1 pass --encoding latin-1 / encoding='latin-1'"
        ) from None
    return raw


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
    body = [(no, _split(t, sep)) for no, t in (lines[1:] if header else lines)]
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
            raise DataError(
                f"{path}, line {first_no}: {n_fields} fields but no header; expected user, item[, rating[, timestamp]]; "
                f"{_COLUMNS_HINT}"
            )
        names = list(CANONICAL_COLUMNS[:n_fields])
    for need in ("user", "item"):
        if need not in names:
            raise DataError(f"{path}: no {need} column (columns are {[n or '-' for n in names]}); {_COLUMNS_HINT}")
    int_ids = {}
    for col in ("user", "item"):
        k = names.index(col)
        vals = [f[k] for _, f in body if len(f) > k]
        int_ids[col] = bool(vals) and all(re.fullmatch(r"0|-?[1-9]\d{0,17}", v) for v in vals)
    return _Layout(sep=sep, header=bool(header), names=names, n_fields=n_fields, int_ids=int_ids, ignored=ignored)


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


class _LineTable:
    """Offsets of the data rows of a text file, computed with numpy on first use (slow path only)."""

    def __init__(self, data: bytes, layout: _Layout) -> None:
        self.data = data
        self.layout = layout
        self._done = False

    def _compute(self) -> None:
        if self._done:
            return
        arr = np.frombuffer(self.data, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        starts = np.concatenate([[0], nl + 1])
        ends = np.concatenate([nl, [len(arr)]])
        if starts[-1] >= len(arr):
            starts, ends = starts[:-1], ends[:-1]
        last = np.maximum(ends - 1, 0)
        cr = (ends > starts) & (arr[last] == 13) if len(arr) else np.zeros(0, bool)
        content_end = ends - cr
        line_no = np.arange(1, len(starts) + 1)
        nonempty = content_end > starts
        sep_byte = _SUBST[0] if self.layout.sep == "::" else ord(self.layout.sep[0])
        sep_pos = np.flatnonzero(arr == sep_byte)
        if self.layout.sep != " ":
            quote_pos = np.flatnonzero(arr == ord('"'))
            if len(quote_pos):  # a separator inside quotes does not count
                sep_pos = sep_pos[np.searchsorted(quote_pos, sep_pos) % 2 == 0]
        fields = np.searchsorted(sep_pos, content_end) - np.searchsorted(sep_pos, starts) + 1
        rows = np.flatnonzero(nonempty)
        self.header_line = int(line_no[rows[0]]) if len(rows) else 0
        if self.layout.header and len(rows):
            rows = rows[1:]
        self.starts = starts[rows]
        self.ends = ends[rows]  # exclusive, before '\n'
        self.content_end = content_end[rows]
        self.line_no = line_no[rows]
        self.fields = fields[rows]
        self._done = True

    def n_rows(self) -> int:
        self._compute()
        return len(self.line_no)

    def text(self, k: int) -> str:
        self._compute()
        raw = self.data[self.starts[k] : self.content_end[k]]
        if self.layout.sep == "::":
            raw = raw.replace(_SUBST, b"::")
        return raw.decode("utf-8", errors="replace")

    def body_bytes(self, keep: np.ndarray) -> bytes:
        """The data rows selected by a boolean mask, one per line (header removed)."""
        self._compute()
        arr = np.frombuffer(self.data, dtype=np.uint8)
        lengths = (self.ends - self.starts)[keep]
        if not len(lengths):
            return b""
        starts = self.starts[keep]
        # gather every kept byte plus one newline per line, without a Python loop per line
        total = int(lengths.sum())
        out_pos = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
        idx = np.repeat(starts - out_pos, lengths + 1) + np.arange(total + len(lengths))
        buf = arr[np.minimum(idx, len(arr) - 1)].copy()
        buf[np.cumsum(lengths + 1) - 1] = 10
        return buf.tobytes()


def _arrow_read(data: bytes | Path, layout: _Layout, typed: bool, skip_header: bool) -> pa.Table:
    include = [n for n in layout.names if n is not None]
    col_names = [n if n is not None else f"_skip{k}" for k, n in enumerate(layout.names)]
    types: dict[str, pa.DataType] = {}
    for col in include:
        if col in ("user", "item"):
            types[col] = pa.string()  # ids as text: pyarrow's int64 would read 007 as 7 (see _plain_int64)
        elif col == "rating":
            types[col] = pa.float64() if typed else pa.string()
        else:
            types[col] = pa.int64() if typed else pa.string()
    sep = "\x1f" if layout.sep == "::" else layout.sep
    return pacsv.read_csv(
        str(data) if isinstance(data, Path) else pa.BufferReader(data),  # zero-copy; parsed without the GIL
        read_options=pacsv.ReadOptions(column_names=col_names, skip_rows=1 if skip_header else 0, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"', ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types, include_columns=include, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


def _double_colon_fast(data: bytes | Path, layout: _Layout) -> pd.DataFrame | None:
    """``a::b::c`` parsed as ``a:<empty>:b:<empty>:c`` with ``:`` as the delimiter (no copy of the file).

    Returns ``None`` when that does not parse cleanly (a ``:`` inside a field, bad values): the caller then
    takes the exact slow path.
    """
    names: list[str | None] = []
    for k, n in enumerate(layout.names):
        names.extend([n] if k == 0 else [None, n])
    colon = _Layout(sep=":", header=layout.header, names=names, n_fields=len(names), int_ids=layout.int_ids, ignored=[])
    try:
        table = _arrow_read(data, colon, typed=True, skip_header=layout.header)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError):
        return None
    frame, bad, _ = _check_values(_typed_frame(table), layout)
    return None if bad.any() else _note_ignored(frame, layout)


def _parse_rows(path: Path, data: bytes, layout: _Layout, lines: _LineTable, on_bad_lines) -> tuple[pd.DataFrame, int, str]:
    skip_header = layout.header
    try:  # fast path: typed columns straight from pyarrow
        table = _arrow_read(data, layout, typed=True, skip_header=skip_header)
        frame, bad, reasons = _check_values(_typed_frame(table), layout)
        if not bad.any():
            return _note_ignored(frame, layout), 0, ""
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    # slow path: find the exact lines
    skipped = 0
    first_problem = ""
    wrong = lines.fields != layout.n_fields if lines.n_rows() else np.zeros(0, bool)
    if wrong.any():
        k = int(np.flatnonzero(wrong)[0])
        msg = f"{path}, line {lines.line_no[k]}: expected {layout.n_fields} fields, got {lines.fields[k]}: {lines.text(k)[:80]!r}"
        if on_bad_lines == "error":
            raise DataError(msg)
        first_problem = msg
        skipped += int(wrong.sum())
    keep = ~wrong
    body = lines.body_bytes(keep) if (wrong.any() or layout.header) else data
    row_lines = np.flatnonzero(keep)
    if not len(row_lines):
        raise DataError(f"{path}: no usable lines ({skipped} bad lines skipped; first: {first_problem})")
    try:
        table = _arrow_read(body, layout, typed=False, skip_header=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"{path}: cannot parse ({str(exc).splitlines()[0]})") from None
    if table.num_rows != len(row_lines):
        raise DataError(f"{path}: parsed {table.num_rows} rows from {len(row_lines)} lines (quoted newlines are not supported)")
    frame, bad, reasons = _check_values(_strings_to_values(table.to_pandas()), layout)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row = row_lines[k]
        msg = f"{path}, line {lines.line_no[row]}: {reasons[k]}: {lines.text(row)[:80]!r}"
        if on_bad_lines == "error":
            raise DataError(msg)
        first_problem = first_problem or msg
        skipped += int(bad.sum())
        frame = frame[~bad].reset_index(drop=True)
        if not len(frame):
            raise DataError(f"{path}: no usable lines ({skipped} bad lines skipped; first: {first_problem})")
    return _note_ignored(frame, layout), skipped, first_problem


def _strings_to_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns read as strings -> stripped ids, numeric ratings (NaN where not a number), int timestamps."""
    out = {}
    for col in frame.columns:
        s = frame[col].astype(str).str.strip()
        if col in ("user", "item"):
            out[col] = s
        elif col == "rating":
            out[col] = pd.to_numeric(s, errors="coerce").astype(np.float64)
        else:
            out[col] = _parse_timestamps(s)
    return pd.DataFrame(out)


def _parse_timestamps(s: pd.Series) -> pd.Series:
    num = pd.to_numeric(s, errors="coerce")
    if num.notna().all() or num.notna().mean() > 0.5:
        return num.astype(np.float64)
    dates = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    secs = (dates - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    return secs.astype(np.float64)


def _as_float(s: pd.Series) -> np.ndarray:
    if s.dtype.kind in "fiu":
        return s.to_numpy(dtype=np.float64)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _plain_int64(col: pa.ChunkedArray) -> np.ndarray | None:
    """A text id column as int64 when every value is a plain decimal integer that fits (no ``+``, spaces or
    leading zeros, which pyarrow's cast would accept: ``007`` -> 7); ``None`` otherwise (the id policy then
    decides, in :meth:`Interactions.from_frame`)."""
    try:
        pc.cast(col.slice(0, 1024), pa.int64())  # a failing cast of a whole text column is slow: try the head first
        ints = pc.cast(col, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    zero_led = pc.or_(pc.and_(pc.starts_with(col, "0"), pc.greater(pc.binary_length(col), 1)), pc.starts_with(col, "-0"))
    if ints.null_count or pc.any(zero_led).as_py():
        return None
    return ints.to_numpy()


def _typed_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow columns -> numpy -> frame, without pandas' block consolidation copies; id columns as int64 when
    they are plain integers, else as text."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        ints = _plain_int64(col) if name in ("user", "item") and pa.types.is_string(col.type) else None
        if ints is not None:
            cols[name] = ints
        elif col.null_count == 0 and pa.types.is_primitive(col.type):
            cols[name] = col.to_numpy()
        else:
            cols[name] = col.to_pandas()
    return pd.DataFrame(cols, copy=False)


def _check_values(frame: pd.DataFrame, layout: _Layout | None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Boolean mask of rows with unusable values and a reason per row (only filled where bad)."""
    n = len(frame)
    bad = np.zeros(n, dtype=bool)
    reasons = np.empty(0, dtype=object)  # filled only when something is wrong

    def mark(mask: np.ndarray, why: str) -> None:
        nonlocal reasons
        if not mask.any():
            return
        if not len(reasons):
            reasons = np.full(n, "", dtype=object)
        new = mask & ~bad
        reasons[new] = why
        bad[:] |= mask

    for col in ("user", "item"):
        s = frame[col]
        if s.dtype.kind in "iu":
            continue  # typed ints from pyarrow have no nulls here
        if s.dtype.kind == "f":
            mark(np.isnan(s.to_numpy()), f"empty {col} id")
        else:
            mark(s.isna().to_numpy() | (s.astype(str).str.strip() == "").to_numpy(), f"empty {col} id")
    if "rating" in frame.columns:
        r = _as_float(frame["rating"])
        with np.errstate(invalid="ignore"):
            fine = bool((np.abs(r) <= MAX_ABS_RATING).all())  # one pass; False for NaN and inf too
    if "rating" in frame.columns and not fine:
        mark(np.isnan(r), "rating is empty or not a number")
        mark(np.isinf(r), "rating is infinite")
        with np.errstate(invalid="ignore"):
            mark(np.abs(r) > MAX_ABS_RATING, f"absurd rating (magnitude above {MAX_ABS_RATING:g}; columns in the wrong order?)")
    if "timestamp" in frame.columns and frame["timestamp"].dtype.kind not in "iu":
        t = _as_float(frame["timestamp"])
        mark(~np.isfinite(t), "timestamp is empty or not a number/date")
        with np.errstate(invalid="ignore"):
            mark(np.isfinite(t) & (np.mod(t, 1) != 0), "timestamp is not a whole number of seconds")
            mark(np.isfinite(t) & (np.abs(t) >= _MAX_TIMESTAMP), "timestamp out of range (does not fit 64-bit seconds)")
    return frame, bad, reasons


# ---------------------------------------------------------------------- parquet
def _read_parquet(path: Path, columns, on_bad_lines) -> tuple[pd.DataFrame, int, str]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot read Parquet ({str(exc).splitlines()[0]})") from None
    if table.num_rows == 0:
        raise DataError(f"{path}: file is empty (no rows)")
    if columns is not None:
        names = _names_from_columns(path, columns, table.num_columns, 1)
    else:
        names = [normalize_column_name(c) for c in table.column_names]
        if "user" not in names or "item" not in names:
            raise DataError(f"{path}: columns {table.column_names} have no recognisable user and item columns; {_COLUMNS_HINT}")
    frame = pd.DataFrame({n: table.column(k).to_pandas() for k, n in enumerate(names) if n is not None})
    for col in ("user", "item"):
        if frame[col].dtype == object:
            frame[col] = frame[col].astype(str).str.strip().where(frame[col].notna(), "")
    if "timestamp" in frame.columns and not pd.api.types.is_numeric_dtype(frame["timestamp"]):
        ts = frame["timestamp"]
        if pd.api.types.is_datetime64_any_dtype(ts):
            secs = (pd.to_datetime(ts, utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
            frame["timestamp"] = secs.astype(np.float64)
        else:
            frame["timestamp"] = _parse_timestamps(ts.astype(str))
    frame, bad, reasons = _check_values(frame, None)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        msg = f"{path}, row {k + 1}: {reasons[k]}"
        if on_bad_lines == "error":
            raise DataError(msg)
        frame = frame[~bad].reset_index(drop=True)
        if not len(frame):
            raise DataError(f"{path}: no usable rows ({int(bad.sum())} bad rows skipped; first: {msg})")
        return frame, int(bad.sum()), msg
    return frame, 0, ""


# ---------------------------------------------------------------------- assembly
def _to_interactions(frame: pd.DataFrame, path: Path, label: str, skipped: int, first_problem: str) -> Interactions:
    if "timestamp" in frame.columns and frame["timestamp"].dtype.kind == "f":
        frame["timestamp"] = frame["timestamp"].astype(np.int64)
    if "rating" in frame.columns and frame["rating"].dtype != np.float32:
        frame["rating"] = frame["rating"].astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data = Interactions.from_frame(frame, name=label)
        except DataError as exc:
            text = str(exc)
            text = text[len(label) + 1 :].lstrip() if text.startswith(f"{label}:") else text
            raise DataError(f"{path}: {text}") from None
    for w in caught:  # re-emit (duplicates) naming the file rather than its label
        text = str(w.message)
        text = f"{path}:{text[len(label) + 1:]}" if text.startswith(f"{label}:") else f"{path}: {text}"
        warnings.warn(text, w.category, stacklevel=3)
    if skipped:
        first = first_problem.replace(f"{path}, ", "", 1)
        warnings.warn(f"{path}: skipped {skipped} bad line(s); first: {first}", UserWarning, stacklevel=3)
    data.meta["skipped_lines"] = int(skipped)
    ignored = frame.attrs.get("ignored_columns")
    if ignored:
        data.meta["ignored_columns"] = list(ignored)
        warnings.warn(f"{path}: ignored column(s) {ignored} (not user, item, rating or timestamp)", UserWarning, stacklevel=3)
    data.meta["source"] = str(path)
    return data
