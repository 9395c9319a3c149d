"""A compiled (numba) single-pass parser for large all-numeric delimited files, the reader's fastest path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cofirec.data.read_detect import _Layout

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
