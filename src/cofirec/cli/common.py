"""Shared pieces of the command line: option types, data loading and transforms, output helpers.

Everything heavy (pandas, the data readers, models) is imported inside functions so that ``cofirec --help``
stays fast and a missing library piece only breaks the command that needs it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterable, Literal, Sequence

import typer

from cofirec._json import jsonable

from cofirec.errors import ConfigError, DataError

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.table import Table

    from cofirec.data.dataset import Interactions

# ---------------------------------------------------------------------- option types (shared by commands)
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="COFIREC_DATA", help="Folder holding named datasets (env COFIREC_DATA).", show_default=False),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option("--columns", help="Column order of a plain ratings file, e.g. user,item,rating,timestamp.", show_default=False),
]
SepOpt = Annotated[
    str | None,
    typer.Option("--sep", help="Field separator of a ratings file: a character or string, or tab, comma, space, pipe, semicolon (default: detected).", show_default=False),
]
EncodingOpt = Annotated[
    str | None,
    typer.Option("--encoding", help="Text encoding of a ratings file that is not UTF-8, e.g. latin-1.", show_default=False),
]
OnBadLinesOpt = Annotated[
    str,
    typer.Option("--on-bad-lines", help="Malformed lines: 'error' (default, names file and line) or 'skip' (counted)."),
]
DownloadOpt = Annotated[
    bool,
    typer.Option("--download/--no-download", help="Download a named dataset that is not present locally."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
MetadataOpt = Annotated[
    Path | None,
    typer.Option("--metadata", help="MovieLens folder with titles and side features for the ids of a plain file.", show_default=False),
]
ImplicitOpt = Annotated[bool, typer.Option("--implicit", help="Treat every interaction as a positive (ratings dropped).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="More than 10% of test users or items unknown to the model is an error, not a warning.")]
AllowUnknownOpt = Annotated[bool, typer.Option("--allow-unknown", help="Evaluate even when every test user (or item) is unknown to the model (a warning).")]
TargetOpt = Annotated[
    str | None,
    typer.Option("--target", help="explicit | implicit[:MIN] | binary:T (rating >= T is a like; bare 'binary' only for 0/1 label data).", show_default=False),
]

_TARGET_RE = re.compile(r"^(explicit|rating|implicit|binary)(?::(-?\d+(?:\.\d+)?))?$")


# ---------------------------------------------------------------------- output
def stdout_console() -> "Console":
    """A Rich console on the current ``sys.stdout`` (works under test runners that swap streams)."""
    from rich.console import Console

    # Piped or redirected output has no terminal width: Rich would fall back to 80 columns and truncate wide tables.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(file=sys.stdout, highlight=False, soft_wrap=False, width=width)


def titled_table(title: str, caption: str | None = None, **kwargs: Any) -> "Table":
    """A Rich table at least as wide as its title and caption, so narrow tables do not wrap them."""
    from rich.table import Table
    from rich.text import Text

    widest = max(Text.from_markup(title).cell_len, len(caption or ""))
    return Table(title=title, caption=caption, min_width=min(widest + 2, 100), **kwargs)


def stderr_console() -> "Console":
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def note(message: str) -> None:
    """A one-line notice on stderr (never mixed into JSON on stdout)."""
    sys.stderr.write(f"note: {message}\n")


to_jsonable = jsonable  # kept name: plain JSON values for --json / jsonl output


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def emit_jsonl(records: Iterable[dict]) -> None:
    """Print one compact JSON object per line on stdout."""
    write = sys.stdout.write
    for rec in records:
        write(json.dumps(rec, separators=(",", ":")) + "\n")


def fmt_number(value: Any) -> str:
    """Compact human formatting: ints with thousands separators, floats with 4 significant decimals."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) >= 1e-3 else f"{value:.3g}"
    return str(value)


# ---------------------------------------------------------------------- parsing small values
def parse_columns(text: str | None) -> list[str] | None:
    """``"user,item,rating"`` -> ``["user", "item", "rating"]``."""
    if text is None:
        return None
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise ConfigError(f"--columns {text!r}: expected comma-separated names such as user,item,rating,timestamp")
    return cols


_SEP_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "space": " ", "pipe": "|", "semicolon": ";"}


def parse_sep(text: str | None) -> str | None:
    """``--sep``: a literal separator, or a name (tab, comma, space, pipe, semicolon; ``\\t`` for tab)."""
    if text is None:
        return None
    sep = _SEP_NAMES.get(text.strip().lower(), text)
    if sep == "":
        raise ConfigError("--sep '': give a separator such as tab, comma or '::'")
    return sep


def parse_encoding(text: str | None) -> str | None:
    """``--encoding``: a codec name Python knows (checked here, so a typo is a clear error)."""
    if text is None:
        return None
    import codecs

    try:
        return codecs.lookup(text.strip()).name
    except LookupError:
        raise ConfigError(f"--encoding {text!r}: unknown text encoding (e.g. utf-8, latin-1, cp1252)") from None


def parse_on_bad_lines(value: str) -> Literal["error", "skip"]:
    value = value.strip().lower()
    if value not in ("error", "skip"):
        raise ConfigError(f"--on-bad-lines {value!r}: use 'error' or 'skip'")
    return value  # type: ignore[return-value]


def parse_int_list(text: str, option: str) -> tuple[int, ...]:
    """``"10,20"`` -> ``(10, 20)``; every value a positive integer."""
    try:
        values = tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected comma-separated positive integers, e.g. 10,20") from None
    if not values or any(v <= 0 for v in values):
        raise ConfigError(f"{option} {text!r}: expected comma-separated positive integers, e.g. 10,20")
    return values


@dataclass(frozen=True)
class Target:
    """What the model learns from: ``kind`` explicit/implicit/binary and its threshold (binary) or minimum (implicit)."""

    kind: Literal["explicit", "implicit", "binary"] = "explicit"
    value: float | None = None


def parse_target(text: str | None, implicit: bool = False) -> Target:
    """``--target`` and ``--implicit`` -> :class:`Target`.

    ``binary`` without a threshold keeps value None: it applies to data that already holds 0/1 labels;
    :func:`apply_target` refuses it for explicit ratings (which need ``binary:T``).
    """
    if text is None or not text.strip():
        return Target("implicit") if implicit else Target()
    m = _TARGET_RE.match(text.strip().lower())
    if m is None:
        raise ConfigError(f"--target {text!r}: expected explicit, implicit[:MIN] or binary:THRESHOLD (e.g. binary:4)")
    kind = "explicit" if m.group(1) == "rating" else m.group(1)
    value = float(m.group(2)) if m.group(2) is not None else None
    if implicit and kind != "implicit":
        raise ConfigError(f"--implicit contradicts --target {text}")
    if kind == "explicit" and value is not None:
        raise ConfigError(f"--target {text!r}: explicit takes no threshold")
    return Target(kind, value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- data loading
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
    """Load a dataset name, MovieLens-layout folder or plain ratings file; report skipped lines and warnings.

    ``ignore_label``: a file with both a rating and a 0/1 label column is read with its ratings (for
    ``--target binary:T``, which derives the labels), with a note, instead of being refused.
    """
    mode = parse_on_bad_lines(on_bad_lines)
    cols = parse_columns(columns)
    reader = {"sep": parse_sep(sep), "encoding": parse_encoding(encoding)}
    try:
        from cofirec.data.resolve import load_dataset
    except ModuleNotFoundError as exc:  # resolver not installed: plain files still work
        if exc.name != "cofirec.data.resolve":
            raise
        if Path(source).is_file():
            return read_file(source, columns=columns, on_bad_lines=mode, sep=sep, encoding=encoding, ignore_label=ignore_label)
        raise DataError(f"{source}: not a file, and dataset names/folders need cofirec.data.resolve (not available)") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = _with_label_choice(
            lambda c: load_dataset(str(source), data_dir=data_dir, columns=c, on_bad_lines=mode, download=download, **reader), cols, ignore_label
        )
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            note(str(w.message))
    report_skipped(data, caught_messages=[str(w.message) for w in caught])
    return data


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
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "no such file", str(path))
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a ratings file")
    from cofirec.data.readers import read_ratings_file

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mode, reader = parse_on_bad_lines(on_bad_lines), {"sep": parse_sep(sep), "encoding": parse_encoding(encoding)}
        data = _with_label_choice(lambda c: read_ratings_file(path, columns=c, on_bad_lines=mode, **reader), parse_columns(columns), ignore_label)
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            note(str(w.message))
    report_skipped(data, caught_messages=[str(w.message) for w in caught])
    return data


def _with_label_choice(read, columns: list[str] | None, ignore_label: bool) -> "Interactions":
    """``read(columns)``; a rating + label header clash is resolved to the ratings (with a note) when
    ``ignore_label`` is set and no ``--columns`` was given, else the reader's error (naming the flags) stands."""
    from cofirec.data.readers import DuplicateColumnError

    try:
        return read(columns)
    except DuplicateColumnError as exc:
        if not ignore_label or columns is not None or exc.rating_columns is None:
            raise
        note("the file has both rating and label columns: --target binary derives likes from the ratings, the label column is ignored")
        return read(exc.rating_columns)


def skipped_lines(data: "Interactions") -> int:
    """How many malformed lines the reader skipped (0 when it did not say)."""
    for key in ("skipped_lines", "bad_lines_skipped", "lines_skipped", "skipped", "n_skipped"):
        value = data.meta.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, (list, tuple)):
            return len(value)
    return 0


def report_skipped(data: "Interactions", caught_messages: Sequence[str] = ()) -> None:
    """A note with the number of skipped lines, unless the reader's own warning already said so."""
    n = skipped_lines(data)
    if n and not any("skip" in m.lower() for m in caught_messages):
        note(f"{data.name or 'data'}: skipped {n} malformed line{'s' if n != 1 else ''}")


def attach_metadata(data: "Interactions", folder: Path | None) -> "Interactions":
    """Attach titles and side features from a MovieLens folder (``--metadata``).

    Refused (error) when the folder describes under 90% of the data's users or items, or when its titles
    disagree with the data's own: metadata of another dataset (:func:`cofirec.data.metadata.check_metadata`).
    """
    if folder is None:
        return data
    if not Path(folder).exists():
        raise FileNotFoundError(2, "no such metadata folder", str(folder))
    from cofirec.data.metadata import check_metadata
    from cofirec.data.movielens import load_metadata

    user_features, item_features = load_metadata(Path(folder))
    if user_features is None and item_features is None:
        raise DataError(f"{folder}: no MovieLens metadata found (expected u.item/u.user, movies.dat/users.dat or movies.csv)")
    check_metadata(data, user_features, item_features, source=f"--metadata {folder}")
    return data.with_features(user_features=user_features, item_features=item_features)


def apply_target(data: "Interactions", target: Target) -> "Interactions":
    """``--implicit`` / ``--target``: as_implicit(min) or binarize(threshold); explicit leaves the data as is.

    A threshold outside the ratings is explained: ``implicit:MIN`` keeping nothing is an error, ``binary:T``
    giving a single label is a warning.
    """
    if target.kind == "implicit":
        if data.kind == "implicit" and target.value is None:
            return data
        if data.kind == "binary":
            return data.subset(data.ratings > 0).as_implicit()
        out = data.as_implicit(min_rating=target.value)
        if len(data) and not len(out):
            raise DataError(f"{data.name or 'data'}: --target implicit:{target.value:g} keeps no interaction ({_rating_range(data)})")
        return out
    if target.kind == "binary":
        import numpy as np

        if data.kind == "binary":
            return data
        if data.kind != "explicit":
            raise DataError(f"{data.name or 'data'}: --target binary needs explicit ratings, data is {data.kind}")
        if target.value is None and np.isin(data.ratings, (0.0, 1.0)).all():
            target = Target("binary", 1.0)  # a 0/1 label column read as ratings: 1 is a like
        if target.value is None:
            raise ConfigError(f"--target binary: {data.name or 'the data'} holds ratings ({_rating_range(data)}), not 0/1 labels; "
                              "give the like threshold, e.g. --target binary:4 (rating >= 4 is a like)")
        threshold = float(target.value)
        out = data.binarize(threshold)
        positives = int(out.ratings.sum()) if len(out) else 0
        if len(out) and positives in (0, len(out)):
            which = f"no rating is >= {threshold:g}: every label is 0" if positives == 0 else f"every rating is >= {threshold:g}: every label is 1"
            warnings.warn(f"--target binary:{threshold:g}: {which} ({_rating_range(data)})", UserWarning, stacklevel=2)
        return out
    return data


def _rating_range(data: "Interactions") -> str:
    return f"ratings are {float(data.ratings.min()):g} to {float(data.ratings.max()):g}"


def model_target(model: Any) -> Target:
    """The transform a fitted model was trained with (``kind_``, ``binary_threshold_``, ``implicit_min_rating_``)."""
    kind = getattr(model, "kind_", "explicit")
    if kind == "binary":
        thr = getattr(model, "binary_threshold_", None)
        return Target("binary", float(thr) if thr is not None else None)
    if kind == "implicit":
        low = getattr(model, "implicit_min_rating_", None)
        return Target("implicit", float(low) if low is not None else None)
    return Target()


def align_to_model(test: "Interactions", model: Any) -> "Interactions":
    """Apply to ``test`` the transform the model was fitted with (implicit, or binary with its threshold)."""
    import numpy as np

    target = model_target(model)
    if target.kind == "implicit":
        return test if test.kind == "implicit" else apply_target(test, target)
    if target.kind == "binary" and test.kind == "explicit":
        values = np.unique(test.ratings)
        if target.value is None or (np.isin(values, (0.0, 1.0)).all() and target.value > 1.0):
            note(f"{test.name or 'test'}: ratings are 0/1, read as like/dislike labels")
            from dataclasses import replace

            return replace(test, kind="binary", meta={**test.meta, "binary_threshold": target.value})
        return test.binarize(target.value)
    return test


def write_interactions(data: "Interactions", path: Path) -> Path:
    """Write ``user  item  rating  timestamp`` (tab-separated, with header) readable by ``read_ratings_file``,
    atomically (an interrupted write leaves the old file)."""
    from cofirec.data.split_folder import write_interactions_file

    return write_interactions_file(data, path)
