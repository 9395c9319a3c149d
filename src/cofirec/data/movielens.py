"""MovieLens loaders: ML-100K, ML-1M (and its ``ml-1m-half`` prefix) and the "latest" CSV releases.

Each loader returns :class:`Interactions` with side features indexed by raw id:

* ``user_features``: ``age`` (int), ``gender`` ("M"/"F"), ``occupation`` (str), ``zip`` (str);
* ``item_features``: ``title`` (str), ``year`` (nullable Int64), ``genres`` (``|``-joined str, "" when none).

Ratings go through the fast :func:`~cofirec.data.readers.read_ratings_file`; the small metadata files are
parsed with pandas' C engine (the ``::`` files after swapping ``::`` for a one-byte separator). ML-100K and
ML-1M metadata are Latin-1.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from cofirec.data.dataset import Interactions
from cofirec.data.idmap import parse_ids
from cofirec.data.readers import read_ratings_file
from cofirec.errors import DataError

__all__ = [
    "GENRES_100K",
    "OCCUPATIONS_1M",
    "detect_layout",
    "load_metadata",
    "load_movielens",
    "load_movielens_100k",
    "load_movielens_1m",
    "load_movielens_latest",
]

Layout = Literal["ml-100k", "ml-1m", "ml-latest"]

GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
"""The 19 genre flags of ``u.item``, in file order (as in ``u.genre``)."""

OCCUPATIONS_1M = [
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student", "customer service",
    "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student", "lawyer", "programmer",
    "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer", "tradesman/craftsman",
    "unemployed", "writer",
]  # fmt: skip
"""ML-1M occupation codes 0..20 (from its README)."""

_YEAR_IN_TITLE = r"\((\d{4})\)\s*$"
_USER_COLUMNS = ["age", "gender", "occupation", "zip"]
_ITEM_COLUMNS = ["title", "year", "genres"]


def detect_layout(folder: str | Path) -> Layout | None:
    """Which MovieLens layout a folder holds: ``u.data`` -> ml-100k, ``ratings.dat`` -> ml-1m,
    ``ratings.csv`` + ``movies.csv`` -> ml-latest; ``None`` otherwise."""
    folder = Path(folder)
    if (folder / "u.data").is_file():
        return "ml-100k"
    if (folder / "ratings.dat").is_file():
        return "ml-1m"
    if (folder / "ratings.csv").is_file() and (folder / "movies.csv").is_file():
        return "ml-latest"
    return None


def load_movielens(folder: str | Path, *, on_bad_lines: Literal["error", "skip"] = "error") -> Interactions:
    """Load a MovieLens folder of any of the three layouts (see :func:`detect_layout`)."""
    folder = Path(folder)
    layout = detect_layout(folder)
    if layout is None:
        raise DataError(f"{folder}: not a MovieLens folder (expected u.data for ML-100K, ratings.dat for ML-1M, or ratings.csv and movies.csv for ml-latest)")
    loader = {"ml-100k": load_movielens_100k, "ml-1m": load_movielens_1m, "ml-latest": load_movielens_latest}[layout]
    return loader(folder, on_bad_lines=on_bad_lines)


# ---------------------------------------------------------------------- ML-100K
def load_movielens_100k(folder: str | Path, *, ratings_file: str = "u.data", on_bad_lines: Literal["error", "skip"] = "error") -> Interactions:
    """ML-100K: ``u.data`` (or a split such as ``u1.base``) with ``u.item`` and ``u.user`` features.

    Returns 100,000 explicit 1-5 ratings from 943 users on 1,682 items for the full ``u.data``.
    """
    folder = Path(folder)
    data = _read_ratings(folder, ratings_file, ["user", "item", "rating", "timestamp"], "\t", "ml-100k", on_bad_lines)
    users, items = _metadata_100k(folder)
    return data.with_features(users, items)


def _metadata_100k(folder: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    users = items = None
    if (folder / "u.user").is_file():
        raw = _read_table(folder / "u.user", "|", ["user", "age", "gender", "occupation", "zip"], "latin-1")
        users = _user_frame(raw["user"], raw["age"], raw["gender"], raw["occupation"], raw["zip"], folder / "u.user")
    if (folder / "u.item").is_file():
        genres = _genres_100k(folder)
        names = ["item", "title", "release_date", "video_release_date", "url", *genres]
        raw = _read_table(folder / "u.item", "|", names, "latin-1")
        dates = pd.to_datetime(raw["release_date"], format="%d-%b-%Y", errors="coerce")
        year = pd.Series(dates.dt.year, dtype="Int64").fillna(_year_from_title(raw["title"]))
        flags = raw[genres].apply(pd.to_numeric, errors="coerce").fillna(0).astype(np.int64)
        items = _item_frame(raw["item"], raw["title"], year, _join_flags(flags, genres), folder / "u.item")
    return users, items


def _genres_100k(folder: Path) -> list[str]:
    path = folder / "u.genre"
    if not path.is_file():
        return list(GENRES_100K)
    names = [line.split("|")[0] for line in path.read_text(encoding="latin-1").splitlines() if line.strip()]
    return names if len(names) == len(GENRES_100K) else list(GENRES_100K)


def _join_flags(flags: pd.DataFrame, names: list[str]) -> pd.Series:
    """0/1 flag columns -> ``|``-joined names of the set flags, shape (n,)."""
    marked = np.where(flags.to_numpy() > 0, np.array([n + "|" for n in names], dtype=object), "")
    return pd.Series(marked.sum(axis=1), index=flags.index).astype(str).str.rstrip("|")


# ---------------------------------------------------------------------- ML-1M
def load_movielens_1m(folder: str | Path, *, ratings_file: str = "ratings.dat", on_bad_lines: Literal["error", "skip"] = "error") -> Interactions:
    """ML-1M (or the ``ml-1m-half`` prefix): ``ratings.dat`` with ``users.dat`` and ``movies.dat`` features.

    ``::``-separated, Latin-1. Occupation codes become names (:data:`OCCUPATIONS_1M`); the year comes from the
    title, e.g. ``"Toy Story (1995)"``.
    """
    folder = Path(folder)
    data = _read_ratings(folder, ratings_file, ["user", "item", "rating", "timestamp"], "::", "ml-1m", on_bad_lines)
    users, items = _metadata_1m(folder)
    return data.with_features(users, items)


def _metadata_1m(folder: Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    users = items = None
    if (folder / "users.dat").is_file():
        raw = _read_table(folder / "users.dat", "::", ["user", "gender", "age", "occupation", "zip"], "latin-1")
        code = pd.to_numeric(raw["occupation"], errors="coerce")
        names = np.array(OCCUPATIONS_1M, dtype=object)
        known = code.between(0, len(names) - 1).fillna(False).to_numpy(dtype=bool)
        occupation = raw["occupation"].astype(str).to_numpy(dtype=object)
        occupation[known] = names[code[known].astype(int).to_numpy()]
        users = _user_frame(raw["user"], raw["age"], raw["gender"], pd.Series(occupation), raw["zip"], folder / "users.dat")
    if (folder / "movies.dat").is_file():
        raw = _read_table(folder / "movies.dat", "::", ["item", "title", "genres"], "latin-1")
        items = _item_frame(raw["item"], raw["title"], _year_from_title(raw["title"]), raw["genres"], folder / "movies.dat")
    return users, items


# ---------------------------------------------------------------------- ml-latest
def load_movielens_latest(folder: str | Path, *, ratings_file: str = "ratings.csv", on_bad_lines: Literal["error", "skip"] = "error") -> Interactions:
    """ml-latest / ml-latest-small: ``ratings.csv`` (half stars, CRLF) with ``movies.csv`` titles and genres.

    These releases have no user demographics, so ``user_features`` is ``None``.
    """
    folder = Path(folder)
    data = _read_ratings(folder, ratings_file, None, ",", "ml-latest", on_bad_lines)
    _, items = _metadata_latest(folder)
    return data.with_features(None, items)


def _metadata_latest(folder: Path) -> tuple[None, pd.DataFrame | None]:
    path = folder / "movies.csv"
    if not path.is_file():
        return None, None
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8", engine="c")
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: cannot read ({_first_line(exc)})") from None
    missing = {"movieId", "title", "genres"} - set(raw.columns)
    if missing:
        raise DataError(f"{path}, line 1: missing column(s) {sorted(missing)} (have {list(raw.columns)})")
    title = raw["title"].str.strip()
    genres = raw["genres"].where(raw["genres"] != "(no genres listed)", "")
    return None, _item_frame(raw["movieId"], title, _year_from_title(title), genres, path)


# ---------------------------------------------------------------------- metadata only
def load_metadata(folder: str | Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """User and item side features of a MovieLens folder of any layout (for ``--metadata DIR``).

    Returns ``(user_features, item_features)``, each ``None`` when the folder lacks that file. Raises
    :class:`DataError` when the folder holds none of ``u.item``/``u.user``, ``movies.dat``/``users.dat``
    or ``movies.csv``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: metadata folder not found")
    if (folder / "u.item").is_file() or (folder / "u.user").is_file():
        return _metadata_100k(folder)
    if (folder / "movies.dat").is_file() or (folder / "users.dat").is_file():
        return _metadata_1m(folder)
    if (folder / "movies.csv").is_file():
        return _metadata_latest(folder)
    raise DataError(f"{folder}: no MovieLens metadata (u.item/u.user, movies.dat/users.dat or movies.csv)")


# ---------------------------------------------------------------------- helpers
def _read_ratings(folder: Path, file: str, columns, sep: str, kind: str, on_bad_lines) -> Interactions:
    path = folder / file
    if not path.is_file():
        raise DataError(f"{folder}: no {file} here; is this a {kind} folder?")
    label = folder.name if file in ("u.data", "ratings.dat", "ratings.csv") else f"{folder.name}/{file}"
    return read_ratings_file(path, columns=columns, sep=sep, header=None if columns is None else False, on_bad_lines=on_bad_lines, name=label)


def _read_table(path: Path, sep: str, names: list[str], encoding: str) -> pd.DataFrame:
    """A headerless metadata table as strings; a line with the wrong field count is a DataError with its line."""
    raw = path.read_bytes()
    if sep == "::":
        raw, sep = raw.replace(b"::", b"\x1f"), "\x1f"
    text = raw.decode(encoding)
    lines = pd.Series(text.split("\n"))
    lines = lines.str.rstrip("\r")
    filled = lines.str.len() > 0
    fields = lines.str.count(re.escape(sep)) + 1
    wrong = filled & (fields != len(names))
    if wrong.any():
        k = int(np.flatnonzero(wrong.to_numpy())[0])
        raise DataError(f"{path}, line {k + 1}: expected {len(names)} fields, got {fields[k]}")
    if not filled.any():
        raise DataError(f"{path}: file is empty")
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, names=names, dtype=str, keep_default_na=False,
            quoting=csv.QUOTE_NONE, engine="c", on_bad_lines="error", index_col=False,
        )  # fmt: skip
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: {_first_line(exc)}") from None
    return frame


def _user_frame(user, age, gender, occupation, zip_code, source: Path) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "age": pd.to_numeric(pd.Series(age).reset_index(drop=True), errors="coerce").astype("Int64"),
            "gender": pd.Series(gender).reset_index(drop=True).astype(str),
            "occupation": pd.Series(occupation).reset_index(drop=True).astype(str),
            "zip": pd.Series(zip_code).reset_index(drop=True).astype(str),
        }
    )
    frame.index = _id_index(user, "user", source)
    return frame[_USER_COLUMNS]


def _item_frame(item, title, year, genres, source: Path) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "title": pd.Series(title).reset_index(drop=True).astype(str),
            "year": pd.Series(year).reset_index(drop=True).astype("Int64"),
            "genres": pd.Series(genres).reset_index(drop=True).fillna("").astype(str),
        }
    )
    frame.index = _id_index(item, "item", source)
    return frame[_ITEM_COLUMNS]


def _id_index(ids, name: str, source: Path) -> pd.Index:
    """Metadata ids under the id policy (:func:`~cofirec.data.idmap.parse_ids`): ``007`` stays apart from ``7``."""
    return pd.Index(parse_ids(pd.Series(ids).to_numpy(dtype=object), what=name, source=str(source)), name=name)


def _year_from_title(title: pd.Series) -> pd.Series:
    return pd.to_numeric(pd.Series(title).str.extract(_YEAR_IN_TITLE, expand=False), errors="coerce").astype("Int64")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
