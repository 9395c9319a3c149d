"""``cofirec recommend DIR --all-users``: every training user's top-N, written block by block as it is scored.

Memory stays constant in the number of users: one block of ``--batch-size`` users is scored, written and
dropped before the next. Formats: ``jsonl`` (one record per user, the fields of ``--user``), ``json`` (the
same records as one array), ``csv`` and ``parquet`` (long form, one row per list entry: ``user``, ``rank``
(1-based), ``item``, ``score``). Parquet goes to ``--out FILE`` with one row group per block; a file
(``--out``) is written atomically (temporary sibling, renamed when complete). A progress bar goes to stderr
when it is a terminal.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np

from cofirec.errors import ConfigError

FORMATS = ("jsonl", "json", "csv", "parquet")


def check_all_users_output(fmt: str, out: Path | None) -> None:
    """ConfigError for a format ``--all-users`` cannot write, or parquet without ``--out``."""
    if fmt not in FORMATS:
        raise ConfigError(f"--all-users writes {', '.join(FORMATS)}, not {fmt!r} (use --format jsonl)")
    if fmt == "parquet" and out is None:
        raise ConfigError("--format parquet writes a file: add --out FILE")


class _Block:
    """One scored block: raw user ids, (users, n) raw item ids and rounded scores, a mask of real entries."""

    def __init__(self, model: Any, users: np.ndarray, n: int, exclude_seen: bool, title_of: np.ndarray | None) -> None:
        recs = model.recommend(users, n=n, exclude_seen=exclude_seen)
        self.users = users
        self.items = recs.items
        self.scores = np.round(recs.scores.astype(np.float64), 6)
        self.ok = np.isfinite(self.scores)
        self.titles = None if title_of is None else title_of[model.item_map_.lookup(recs.items.ravel())].reshape(recs.items.shape)

    def records(self) -> Iterator[str]:
        """The ``--user`` record of each user as one compact JSON text."""
        items, scores, ok = self.items.tolist(), self.scores.tolist(), self.ok
        titles = self.titles.tolist() if self.titles is not None else None
        for row, user in enumerate(self.users.tolist()):
            keep = ok[row]
            its, scs = items[row], scores[row]
            tts = titles[row] if titles is not None else None
            if not keep.all():
                its = [x for x, k in zip(its, keep) if k]
                scs = [x for x, k in zip(scs, keep) if k]
                tts = [x for x, k in zip(tts, keep) if k] if tts is not None else None
            rec: dict[str, Any] = {"user": user, "items": its, "scores": scs, "known": True}
            if tts is not None:
                rec["titles"] = [str(t) for t in tts]
            yield json.dumps(rec, separators=(",", ":"))

    def columns(self) -> dict[str, np.ndarray]:
        """Long form: user, rank (1-based), item, score for each real entry, users in block order."""
        rows, cols = np.nonzero(self.ok)
        return {"user": self.users[rows], "rank": (cols + 1).astype(np.int32), "item": self.items[rows, cols], "score": self.scores[rows, cols]}


class _Writer:
    """Base writer: ``write(block)`` per block, ``close()`` at the end."""

    def __init__(self, stream: IO[str] | None, path: Path | None, ids: np.ndarray) -> None:
        self.stream = stream
        self.path = path
        self.ids = ids

    def write(self, block: _Block) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (closing bracket, Parquet footer)."""


class JsonlWriter(_Writer):
    def write(self, block: _Block) -> None:
        assert self.stream is not None
        self.stream.write("".join(line + "\n" for line in block.records()))


class JsonWriter(_Writer):
    first = True

    def write(self, block: _Block) -> None:
        assert self.stream is not None
        text = ",\n".join(block.records())
        if text:
            self.stream.write(("[" if self.first else ",\n") + text)
            self.first = False

    def close(self) -> None:
        assert self.stream is not None
        self.stream.write(("[" if self.first else "") + "]\n")


class CsvWriter(_Writer):
    header = True

    def write(self, block: _Block) -> None:
        import pandas as pd

        assert self.stream is not None
        pd.DataFrame(block.columns()).to_csv(self.stream, index=False, header=self.header, lineterminator="\n")
        self.header = False


class ParquetWriter(_Writer):
    """One row group per block, through pyarrow's ParquetWriter on the temporary file."""

    writer: Any = None

    def write(self, block: _Block) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = block.columns()
        table = pa.table({"user": cols["user"], "rank": cols["rank"], "item": cols["item"], "score": cols["score"].astype(np.float32)})
        if self.writer is None:
            assert self.path is not None
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        else:  # no users: still a valid file with the columns
            _empty_parquet(self.path, self.ids)


WRITERS: dict[str, type[_Writer]] = {"jsonl": JsonlWriter, "json": JsonWriter, "csv": CsvWriter, "parquet": ParquetWriter}


def recommend_all(model: Any, n: int, *, exclude_seen: bool, batch_size: int, fmt: str, out: Path | None, progress: bool = True) -> int:
    """Write every training user's top-``n`` in ``fmt`` to ``out`` (atomically) or stdout; return the user count."""
    if batch_size <= 0:
        raise ConfigError(f"--batch-size {batch_size}: expected a positive number")
    check_all_users_output(fmt, out)
    ids = model.user_map_.ids
    title_of = getattr(model, "item_titles_", None)
    title_of = None if title_of is None else np.asarray(title_of, dtype=object)
    with _target(out, fmt) as (stream, path), _progress(progress, len(ids)) as advance:
        writer = WRITERS[fmt](stream, path, ids)
        for b0 in range(0, len(ids), batch_size):
            block = _Block(model, ids[b0 : b0 + batch_size], n, exclude_seen, title_of)
            writer.write(block)
            advance(len(block.users))
        writer.close()
    return len(ids)


def _empty_parquet(path: Path | None, ids: np.ndarray) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = pa.int64() if ids.dtype.kind in "iu" else pa.string()
    schema = pa.schema([("user", kind), ("rank", pa.int32()), ("item", kind), ("score", pa.float32())])
    pq.write_table(schema.empty_table(), path)


@contextlib.contextmanager
def _target(out: Path | None, fmt: str) -> Iterator[tuple[IO[str] | None, Path | None]]:
    """(text stream, None) for stdout or a text file; (None, temporary path) for parquet. Files are atomic."""
    if out is None:
        yield sys.stdout, None
        return
    from cofirec._atomic import atomic_file

    with atomic_file(out) as tmp:
        if fmt == "parquet":
            yield None, tmp
        else:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                yield f, None


@contextlib.contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    """A rich progress bar over users on stderr (nothing when stderr is not a terminal); yields ``advance(k)``."""
    from rich.console import Console

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield lambda k: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("users"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("users", total=total)
        yield lambda k: bar.update(task, advance=k)
