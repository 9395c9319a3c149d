"""The careful text reader: the whole file in memory, encoding checks, and the exact file and line of every bad
row (or the bad rows skipped), computed with numpy over the raw bytes."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cofirec.data.read_detect import _detect_layout, _Layout, _sample_lines
from cofirec.data.read_values import _arrow_read, _check_values, _clean_typed_read, _note_ignored, _strings_to_values
from cofirec.errors import DataError

_SUBST = b"\x1f"  # single byte standing in for '::' so pyarrow can parse it


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


def _double_colon_fast(data: bytes | Path, layout: _Layout) -> pd.DataFrame | None:
    """``a::b::c`` parsed as ``a:<empty>:b:<empty>:c`` with ``:`` as the delimiter (no copy of the file).

    Returns ``None`` when that does not parse cleanly (a ``:`` inside a field, bad values): the caller then
    takes the exact slow path.
    """
    names: list[str | None] = []
    for k, n in enumerate(layout.names):
        names.extend([n] if k == 0 else [None, n])
    colon = _Layout(sep=":", header=layout.header, names=names, n_fields=len(names), ignored=[])
    return _clean_typed_read(data, layout, read_as=colon)


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
            f"{path}, line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); if the file is Latin-1 pass --encoding latin-1 / encoding='latin-1'"
        ) from None
    return raw


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


def _parse_rows(path: Path, data: bytes, layout: _Layout, lines: _LineTable, on_bad_lines) -> tuple[pd.DataFrame, int, str]:
    frame = _clean_typed_read(data, layout)  # typed columns straight from pyarrow when every value is fine
    if frame is not None:
        return frame, 0, ""
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
