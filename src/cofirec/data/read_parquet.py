"""Parquet ratings files: columns by name (or ``columns=``), timestamps as seconds, the same value checks as text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cofirec.data.read_detect import _COLUMNS_HINT, _names_from_columns, normalize_column_name
from cofirec.data.read_values import _check_values, _parse_timestamps
from cofirec.errors import DataError


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
