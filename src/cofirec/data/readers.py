"""Plain ratings-file reader: delimited text (tab, comma, ``::``, ``|``, ``;``, space) and Parquet.

The fast path hands the whole file to ``pyarrow.csv`` with explicit column types; only when that fails (or
yields values that cannot be ratings) does the reader look at individual lines, vectorised over the raw bytes,
to name the exact file and 1-based line of the first problem. ``on_bad_lines="skip"`` drops such lines instead,
with a warning and ``interactions.meta["skipped_lines"]``.

This module holds the public functions and the choice of path; the work is split by job:
:mod:`~cofirec.data.read_detect` (separator, header, column names, id types from the first lines),
:mod:`~cofirec.data.read_values` (pyarrow reads, id/timestamp conversion, value checks),
:mod:`~cofirec.data.read_careful` (line-exact diagnostics, ``::`` files, encodings, gzip) and
:mod:`~cofirec.data.read_parquet`.

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

import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from cofirec.data.dataset import Interactions
from cofirec.data.read_careful import _double_colon_fast, _read_text_carefully
from cofirec.data.read_detect import _HEAD_BYTES, CANONICAL_COLUMNS, DuplicateColumnError, _detect_layout, _sample_lines, normalize_column_name
from cofirec.data.read_parquet import _read_parquet
from cofirec.data.read_values import MAX_ABS_RATING, _clean_typed_read
from cofirec.errors import DataError

__all__ = ["CANONICAL_COLUMNS", "MAX_ABS_RATING", "DuplicateColumnError", "normalize_column_name", "read_ratings_file", "write_ratings_file"]


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


def _read_text(path: Path, columns, sep, header, on_bad_lines, encoding) -> tuple[pd.DataFrame, int, str]:
    fast = _fast_from_path(path, columns, sep, header, encoding)
    if fast is not None:
        return fast, 0, ""
    return _read_text_carefully(path, columns, sep, header, on_bad_lines, encoding)


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
    return _clean_typed_read(path, layout)


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
        text = f"{path}:{text[len(label) + 1 :]}" if text.startswith(f"{label}:") else f"{path}: {text}"
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
