"""Download MovieLens archives from GroupLens into a local cache, verified and safely unzipped.

Verification: the archive's MD5 (pinned where GroupLens' published value is known, else read from the
``.md5`` file GroupLens publishes beside the zip), then the expected files and their line counts after
extraction. Extraction refuses members with absolute paths, drive letters, ``..`` components or symlinks.
Nothing is left half-written: the zip is fetched to a ``.part`` file and extracted into a temporary folder
that is renamed into place only when every check passed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Callable

from cofirec.errors import DataError, DatasetNotFoundError

__all__ = ["KNOWN_DATASETS", "DatasetInfo", "default_cache_dir", "download_dataset", "safe_extract", "verify_folder"]

Opener = Callable[[str], IO[bytes]]
"""Opens a URL for reading bytes (``urllib.request.urlopen`` by default; tests pass their own)."""

_BASE_URL = "https://files.grouplens.org/datasets/movielens"


@dataclass(frozen=True)
class DatasetInfo:
    """A downloadable dataset: where it lives, what it must contain, what it must hold.

    Attributes
    ----------
    name : str
        Dataset name (``cofirec train --data NAME``) and the folder name in the cache.
    url : str
        Zip archive URL.
    files : tuple of str
        Files that must exist in the extracted folder (the ratings file first).
    line_counts : dict
        Exact line count per file (header included), checked after extraction.
    md5 : str or None
        Published MD5 of the archive; ``None`` to read it from ``url + ".md5"`` when available.
    users, items, ratings : int
        Expected counts of the loaded interactions.
    """

    name: str
    url: str
    files: tuple[str, ...]
    line_counts: dict[str, int] = field(default_factory=dict)
    md5: str | None = None
    users: int = 0
    items: int = 0
    ratings: int = 0


KNOWN_DATASETS: dict[str, DatasetInfo] = {
    "ml-100k": DatasetInfo(
        name="ml-100k",
        url=f"{_BASE_URL}/ml-100k.zip",
        files=("u.data", "u.item", "u.user", "u.genre"),
        line_counts={"u.data": 100_000, "u.item": 1_682, "u.user": 943},
        md5="0e33842e24a9c977be4e0107933c0723",
        users=943,
        items=1_682,
        ratings=100_000,
    ),
    "ml-1m": DatasetInfo(
        name="ml-1m",
        url=f"{_BASE_URL}/ml-1m.zip",
        files=("ratings.dat", "movies.dat", "users.dat"),
        line_counts={"ratings.dat": 1_000_209, "movies.dat": 3_883, "users.dat": 6_040},
        md5="c4d9eecfca2ab87c1945afe126590906",
        users=6_040,
        items=3_706,
        ratings=1_000_209,
    ),
    "ml-latest-small": DatasetInfo(
        name="ml-latest-small",
        url=f"{_BASE_URL}/ml-latest-small.zip",
        files=("ratings.csv", "movies.csv"),
        line_counts={"ratings.csv": 100_837, "movies.csv": 9_743},
        md5=None,  # GroupLens re-issues this zip; the published .md5 beside it is used
        users=610,
        items=9_724,
        ratings=100_836,
    ),
}
"""Datasets that ``load_dataset(name)`` can fetch, by name."""


def default_cache_dir() -> Path:
    """Where downloads go: ``$COFIREC_CACHE_DIR`` if set, else platformdirs' ``user_cache_dir("cofirec")``."""
    env = os.environ.get("COFIREC_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("cofirec"))


def download_dataset(
    name: str,
    dest_dir: str | Path | None = None,
    *,
    info: DatasetInfo | None = None,
    opener: Opener | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and unzip dataset ``name`` into ``dest_dir/name``; returns that folder.

    Parameters
    ----------
    name : str
        A key of :data:`KNOWN_DATASETS` (or any name when ``info`` is given).
    dest_dir : path, optional
        Parent folder (default :func:`default_cache_dir`).
    info : DatasetInfo, optional
        Overrides the known entry (URL, checksum, expected files).
    opener : callable, optional
        ``opener(url)`` returning a readable binary response; default ``urllib.request.urlopen``.
    progress : bool
        Show a rich progress bar on stderr.

    Raises
    ------
    DatasetNotFoundError
        The archive could not be fetched (no network, HTTP error); the message says where to put the files.
    DataError
        Checksum mismatch, a damaged zip, an unsafe member path, or missing files / wrong line counts.
    """
    if info is None:
        if name not in KNOWN_DATASETS:
            raise DatasetNotFoundError(f"unknown dataset {name!r} (known: {', '.join(KNOWN_DATASETS)})")
        info = KNOWN_DATASETS[name]
    dest_dir = Path(dest_dir) if dest_dir is not None else default_cache_dir()
    target = dest_dir / info.name
    if target.is_dir() and all((target / f).is_file() for f in info.files):
        return target
    if opener is None:
        opener = lambda url: urllib.request.urlopen(url, timeout=timeout)  # noqa: E731
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = dest_dir / f".{info.name}.zip.part"
    try:
        digest = _fetch(info, opener, part, progress, target)
        expected = info.md5 or _published_md5(info, opener)
        if expected is not None and digest != expected.lower():
            raise DataError(
                f"{info.url}: checksum mismatch (md5 {digest}, expected {expected}); the download is damaged or the archive changed upstream, so it was deleted"
            )
        with tempfile.TemporaryDirectory(dir=dest_dir, prefix=f".{info.name}-") as tmp:
            safe_extract(part, Path(tmp), source=info.url)
            folder = _find_folder(Path(tmp), info)
            verify_folder(folder, info)
            if target.exists():
                shutil.rmtree(target)
            folder.rename(target)
    finally:
        part.unlink(missing_ok=True)
    return target


def _fetch(info: DatasetInfo, opener: Opener, part: Path, progress: bool, target: Path) -> str:
    """Stream ``info.url`` into ``part``; returns the MD5 hex digest."""
    md5 = hashlib.md5()
    try:
        response = opener(info.url)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DatasetNotFoundError(
            f"dataset {info.name!r} is not available locally and could not be downloaded from {info.url} ({reason}). "
            f"Download the zip yourself and unzip it so that {target / info.files[0]} exists, "
            f"or put the {info.name} folder in --data-dir or $COFIREC_DATA"
        ) from None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    total = _content_length(response)
    columns = (TextColumn(f"downloading {info.name}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with response, open(part, "wb") as out, Progress(*columns, console=Console(stderr=True), transient=True, disable=not progress) as bar:
        task = bar.add_task("download", total=total)
        try:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                md5.update(chunk)
                bar.advance(task, len(chunk))
        except (urllib.error.URLError, OSError) as exc:
            raise DatasetNotFoundError(f"download of {info.url} broke off ({exc}); try again, or place the files in {target}") from None
    return md5.hexdigest()


def _content_length(response) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _published_md5(info: DatasetInfo, opener: Opener) -> str | None:
    """The MD5 GroupLens publishes as ``<zip>.md5`` ("MD5 (x.zip) = <hex>"), or None when unavailable."""
    try:
        with opener(info.url + ".md5") as resp:
            text = resp.read(4096).decode("ascii", errors="replace").strip()
    except (urllib.error.URLError, OSError, ValueError):
        return None
    word = text.split()[-1].lower() if text else ""
    return word if len(word) == 32 and all(c in "0123456789abcdef" for c in word) else None


def safe_extract(zip_path: str | Path, dest: str | Path, *, source: str | None = None) -> list[Path]:
    """Extract every member of ``zip_path`` under ``dest``, refusing unsafe member names.

    Refused (:class:`DataError`, nothing extracted): absolute paths, Windows drive letters, ``..``
    components, symlinks. Returns the extracted file paths.
    """
    zip_path, dest = Path(zip_path), Path(dest)
    label = source or str(zip_path)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{label}: not a valid zip archive ({exc})") from None
    with archive:
        members = archive.infolist()
        for m in members:
            _check_member(m, label)
        root = dest.resolve()
        out = []
        for m in members:
            target = (dest / m.filename).resolve()
            if target != root and root not in target.parents:  # belt and braces after _check_member
                raise DataError(f"{label}: unsafe member path {m.filename!r} (escapes the destination)")
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(m) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(f"{label}: damaged member {m.filename!r} ({exc})") from None
            out.append(target)
    return out


def _check_member(member: zipfile.ZipInfo, label: str) -> None:
    name = member.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
        raise DataError(f"{label}: unsafe member path {member.filename!r} (absolute or containing '..'); refused")
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DataError(f"{label}: member {member.filename!r} is a symbolic link; refused")


def _find_folder(root: Path, info: DatasetInfo) -> Path:
    """The extracted folder holding ``info.files`` (the zip's top folder, or the root itself)."""
    first = info.files[0]
    if (root / first).is_file():
        return root
    hits = sorted(p.parent for p in root.rglob(first))
    if not hits:
        raise DataError(f"{info.url}: archive has no {first}; is this the {info.name} zip?")
    return hits[0]


def verify_folder(folder: str | Path, info: DatasetInfo) -> None:
    """Check that ``folder`` has every file of ``info`` with the expected line counts (DataError if not)."""
    folder = Path(folder)
    missing = [f for f in info.files if not (folder / f).is_file()]
    if missing:
        raise DataError(f"{folder}: {info.name} is incomplete, missing {', '.join(missing)}")
    for file, expected in info.line_counts.items():
        data = (folder / file).read_bytes()
        lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
        if lines != expected:
            raise DataError(f"{folder / file}: {lines} lines, expected {expected} for {info.name}")
