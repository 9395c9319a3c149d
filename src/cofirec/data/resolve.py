"""One entry point for every way the CLI and library name data: :func:`load_dataset`.

``source`` may be

* a path to a MovieLens folder (layout detected: ``u.data`` -> ML-100K, ``ratings.dat`` -> ML-1M,
  ``ratings.csv`` + ``movies.csv`` -> ml-latest) or to a plain ratings file;
* a name or relative path looked up, in order, in ``data_dir``, ``$COFIREC_DATA`` and the download cache
  (so ``--data-dir ../shared/data ml-1m-half`` and ``ml-100k/u1.base`` work);
* a known dataset name (:data:`~cofirec.data.download.KNOWN_DATASETS`) that is downloaded into the cache
  when it is not found locally.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from cofirec.data.dataset import Interactions
from cofirec.data.download import KNOWN_DATASETS, default_cache_dir, download_dataset
from cofirec.data.movielens import detect_layout, load_metadata, load_movielens
from cofirec.data.readers import read_ratings_file
from cofirec.errors import DataError, DatasetNotFoundError

__all__ = ["KNOWN_DATASETS", "dataset_status", "load_dataset", "resolve_source", "search_dirs"]


def search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Folders searched for a dataset name, in order: ``data_dir``, ``$COFIREC_DATA``, the download cache."""
    dirs: list[Path] = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    env = os.environ.get("COFIREC_DATA")
    if env:
        dirs.extend(Path(p).expanduser() for p in env.split(os.pathsep) if p)
    dirs.append(default_cache_dir())
    return dirs


def resolve_source(source: str | Path, *, data_dir: str | Path | None = None, download: bool = True) -> Path:
    """The local file or folder that ``source`` names, downloading a known dataset if needed.

    Raises
    ------
    DatasetNotFoundError
        Nothing matches locally and ``source`` is not a downloadable name (or ``download=False``, or the
        download failed); the message lists every place looked in.
    """
    text = str(source)
    path = Path(text).expanduser()
    if path.exists():
        return path
    dirs = search_dirs(data_dir)
    if not path.is_absolute():
        for base in dirs:
            cand = base / path
            if cand.exists():
                return cand
    looked = ", ".join(str(d / path) for d in dirs) if not path.is_absolute() else str(path)
    if text in KNOWN_DATASETS:
        cache = default_cache_dir()
        if not download:
            raise DatasetNotFoundError(
                f"dataset {text!r} not found (looked in {looked}) and downloading is off; download "
                f"{KNOWN_DATASETS[text].url} and unzip it so that {cache / text / KNOWN_DATASETS[text].files[0]} exists, "
                f"or point --data-dir / $COFIREC_DATA at a folder that holds {text}/"
            )
        return download_dataset(text, cache)
    raise DatasetNotFoundError(f"{text!r}: no such file or folder (looked in {looked}) and not a known dataset name (known: {', '.join(KNOWN_DATASETS)})")


def load_dataset(
    source: str | Path,
    *,
    data_dir: str | Path | None = None,
    columns: list[str] | None = None,
    on_bad_lines: Literal["error", "skip"] = "error",
    download: bool = True,
    sep: str | None = None,
    encoding: str | None = None,
) -> Interactions:
    """Load interactions from a dataset name, a MovieLens folder or a ratings file (see module docs).

    A plain ratings file that sits in a MovieLens folder (e.g. ``ml-100k/u1.base``) gets that folder's user and
    item features. ``columns``, ``sep`` and ``encoding`` apply to plain files only.
    """
    path = resolve_source(source, data_dir=data_dir, download=download)
    if path.is_dir():
        given = [flag for flag, value in (("--columns / columns=", columns), ("--sep / sep=", sep), ("--encoding / encoding=", encoding)) if value is not None]
        if given:
            raise DataError(f"{path}: {given[0]} applies to a ratings file, not to a dataset folder")
        if detect_layout(path) is None:
            raise DataError(
                f"{path}: not a dataset folder (expected u.data for ML-100K, ratings.dat for ML-1M, "
                "or ratings.csv and movies.csv for ml-latest); pass a ratings file instead"
            )
        return load_movielens(path, on_bad_lines=on_bad_lines)
    parent = path.parent
    in_movielens = detect_layout(parent) is not None
    name = f"{parent.name}/{path.name}" if in_movielens else path.name
    data = read_ratings_file(path, columns=columns, on_bad_lines=on_bad_lines, name=name, sep=sep, encoding=encoding)
    if in_movielens:
        users, items = load_metadata(parent)
        data = data.with_features(users, items)
    return data


def dataset_status(data_dir: str | Path | None = None) -> list[dict]:
    """One row per known dataset (and per other MovieLens folder found in the search folders).

    Keys: ``name``, ``present`` (bool), ``path`` (str or None), ``known`` (downloadable name), ``url``,
    ``layout``, ``ratings`` (expected count, 0 when unknown).
    """
    dirs = search_dirs(data_dir)
    rows = []
    for name, info in KNOWN_DATASETS.items():
        found = next((d / name for d in dirs if detect_layout(d / name) is not None), None)
        rows.append(
            {
                "name": name,
                "present": found is not None,
                "path": str(found) if found else None,
                "known": True,
                "url": info.url,
                "layout": detect_layout(found) if found else None,
                "ratings": info.ratings,
            }
        )
    seen = {r["name"] for r in rows}
    for d in dirs:
        if not d.is_dir():
            continue
        for sub in sorted(p for p in d.iterdir() if p.is_dir()):
            layout = detect_layout(sub)
            if layout is None or sub.name in seen:
                continue
            seen.add(sub.name)
            rows.append({"name": sub.name, "present": True, "path": str(sub), "known": False, "url": None, "layout": layout, "ratings": 0})
    return rows
