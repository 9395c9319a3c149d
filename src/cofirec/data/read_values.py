"""Columns of a ratings file to values: pyarrow reads, id columns as int64 or text, timestamps, and the checks that
find unusable values (empty ids, non-numeric or absurd ratings, bad timestamps) row by row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cofirec.data.read_detect import _Layout

MAX_ABS_RATING = 1e7
"""Ratings with a larger magnitude are refused as absurd (typically a timestamp read as a rating)."""

_MAX_TIMESTAMP = float(2**63 - 1024)  # largest magnitude that survives float64 -> int64 without wrapping


def _note_ignored(frame: pd.DataFrame, layout: _Layout) -> pd.DataFrame:
    if layout.ignored:
        frame.attrs["ignored_columns"] = list(layout.ignored)
    return frame


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
        convert_options=pacsv.ConvertOptions(column_types=types, include_columns=include, strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


def _clean_typed_read(data: bytes | Path, layout: _Layout, read_as: _Layout | None = None) -> pd.DataFrame | None:
    """pyarrow's typed read of the whole text (fields as ``read_as``, default ``layout``); ``None`` when it does not
    parse or any value is unusable, so that the careful parser can name the line."""
    try:
        table = _arrow_read(data, read_as or layout, typed=True, skip_header=layout.header)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError):
        return None
    frame, bad, _ = _check_values(_typed_frame(table), layout)
    return None if bad.any() else _note_ignored(frame, layout)


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
