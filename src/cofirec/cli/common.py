"""Data loading for the commands: options to library calls, reader warnings and skipped lines as notes.

Heavy imports (pandas, the data readers) happen inside functions so that ``cofirec --help`` stays fast.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from cofirec.cli.options import parse_columns, parse_encoding, parse_on_bad_lines, parse_sep
from cofirec.cli.output import note

if TYPE_CHECKING:  # pragma: no cover
    from cofirec.data.dataset import Interactions


# ---------------------------------------------------------------------- data loading
@contextmanager
def warnings_as_notes() -> Iterator[list[str]]:
    """Library warnings (user and runtime) raised inside the block become ``note:`` lines on stderr; yields the
    messages (all categories) so callers can tell what was already said."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    for w in caught:
        messages.append(str(w.message))
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            note(str(w.message))


def reading(load: Callable[[], "Interactions"]) -> "Interactions":
    """``load()`` with its warnings as notes and a note on skipped malformed lines."""
    with warnings_as_notes() as messages:
        data = load()
    report_skipped(data, caught_messages=messages)
    return data


def load_source(
    source: str | Path,
    *,
    data_dir: Path | None = None,
    columns: str | None = None,
    on_bad_lines: str = "error",
    download: bool = True,
    sep: str | None = None,
    encoding: str | None = None,
    ignore_label: bool = False,
) -> "Interactions":
    """Load a dataset name, MovieLens-layout folder or plain ratings file (``experiments.data.load_source``).

    ``ignore_label``: a file with both a rating and a 0/1 label column is read with its ratings (for
    ``--target binary:T``, which derives the labels), with a note, instead of being refused.
    """
    from cofirec.experiments.data import load_source as load

    mode, cols, sep, encoding = parse_on_bad_lines(on_bad_lines), parse_columns(columns), parse_sep(sep), parse_encoding(encoding)
    return reading(
        lambda: load(source, data_dir=data_dir, columns=cols, on_bad_lines=mode, download=download, sep=sep, encoding=encoding, prefer_ratings=ignore_label)
    )


def read_file(
    path: str | Path,
    *,
    columns: str | None = None,
    on_bad_lines: str = "error",
    sep: str | None = None,
    encoding: str | None = None,
    ignore_label: bool = False,
) -> "Interactions":
    """Read a plain ratings file (train/test files written by ``cofirec split``/``train``, or any ratings file)."""
    from cofirec.experiments.data import read_ratings

    mode, cols, sep, encoding = parse_on_bad_lines(on_bad_lines), parse_columns(columns), parse_sep(sep), parse_encoding(encoding)
    return reading(lambda: read_ratings(path, columns=cols, on_bad_lines=mode, sep=sep, encoding=encoding, prefer_ratings=ignore_label))


def skipped_lines(data: "Interactions") -> int:
    """How many malformed lines the reader skipped (its ``meta["skipped_lines"]``; 0 when none)."""
    return int(data.meta.get("skipped_lines", 0))


def report_skipped(data: "Interactions", caught_messages: Sequence[str] = ()) -> None:
    """A note with the number of skipped lines, unless the reader's own warning already said so."""
    n = skipped_lines(data)
    if n and not any("skip" in m.lower() for m in caught_messages):
        note(f"{data.name or 'data'}: skipped {n} malformed line{'s' if n != 1 else ''}")


def attach_metadata(data: "Interactions", folder: Path | None) -> "Interactions":
    """Attach titles and side features from a MovieLens folder (``--metadata``), checked against the data
    (``experiments.data.attach_metadata``)."""
    if folder is None:
        return data
    from cofirec.experiments.data import attach_metadata as attach

    return attach(data, folder)


def write_interactions(data: "Interactions", path: Path) -> Path:
    """Write ``user  item  rating  timestamp`` (tab-separated, with header) readable by ``read_ratings_file``,
    atomically (an interrupted write leaves the old file)."""
    from cofirec.data.split_folder import write_interactions_file

    return write_interactions_file(data, path)
