"""Atomic writes: a file or a whole folder appears complete, or not at all.

Every writer of data files and model folders goes through these helpers, so that an interrupted run
(Ctrl-C, ``kill -9``, a full disk) leaves either the complete old output or the complete new one:

* :func:`atomic_file` writes to a hidden temporary sibling, syncs it and renames it over the target.
* :func:`atomic_folder` fills a hidden temporary sibling folder, then swaps it with the target folder in one
  step (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames). Files of the old folder that the writer
  does not own (say a model folder's ``train.tsv``) are carried over into the new folder first.

Temporary siblings are named ``.NAME.cofirec-tmp-PID-TOKEN``; those left by a killed process are removed by
the next write to the same target.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterable, Iterator

from cofirec.errors import ArtifactError

_TAG = ".cofirec-tmp-"


class OutputPathError(ArtifactError):
    """An output path cannot take the write (a file where a folder is expected, a folder holding folders...)."""


def file_sha256(path: str | Path) -> str:
    """sha256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _temp_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}{_TAG}{os.getpid()}-{secrets.token_hex(4)}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(path: Path) -> None:
    """Delete temporary siblings of ``path`` left by processes that no longer run."""
    prefix = f".{path.name}{_TAG}"
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return
    for entry in siblings:
        if not entry.name.startswith(prefix):
            continue
        try:
            pid = int(entry.name[len(prefix) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            _remove(entry)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform/filesystem can sync a folder
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename (else it is removed)."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{path}: is a folder, expected a file name to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = _temp_sibling(path)
    try:
        yield tmp
        if not tmp.exists():
            raise OutputPathError(f"{path}: nothing was written")
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_folder(path: str | Path, owned: Iterable[str]) -> Iterator[Path]:
    """Yield an empty temporary folder to fill; on success it becomes ``path`` in one swap.

    ``owned``: the entry names this writer produces. Any other plain file already in ``path`` is carried
    over into the new folder (hard link, else copy); a sub-folder there is refused up front, since swapping
    would have to move it. On failure or interruption the temporary folder is removed and ``path`` is untouched.
    """
    owned = set(owned)
    foreign = check_folder_target(path, owned)
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = _temp_sibling(path)
    tmp.mkdir()
    try:
        yield tmp
        _carry_over(path, tmp, foreign)
        for entry in tmp.iterdir():
            if entry.is_file() and not entry.is_symlink():
                _fsync_file(entry)
        _fsync_dir(tmp)
        _swap_in(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_dir(path.parent)


def check_folder_target(path: str | Path, owned: Iterable[str]) -> list[str]:
    """Raise OutputPathError when :func:`atomic_folder` could not write ``path`` (call it before long work);
    returns the names in ``path`` that the writer does not own and would carry over."""
    shown = Path(path)
    path = Path(os.path.abspath(path))
    if path == Path(os.getcwd()):
        raise OutputPathError(f"{shown}: is the current folder; the output folder is replaced whole, so give a sub-folder name")
    return _foreign_entries(path, set(owned), shown)


def _foreign_entries(path: Path, owned: set[str], shown: Path) -> list[str]:
    """Names in ``path`` this writer does not own (checked before any work: refuse what cannot be carried)."""
    if not path.exists() and not path.is_symlink():
        return []
    if not path.is_dir():
        raise OutputPathError(f"{shown}: is a file; the output is written as a folder, give a new or existing folder name")
    if path.is_symlink():
        raise OutputPathError(f"{shown}: is a symbolic link; give the real folder (the output folder is replaced whole)")
    names = sorted(e.name for e in path.iterdir() if e.name not in owned)
    dirs = [n for n in names if (path / n).is_dir() and not (path / n).is_symlink()]
    if dirs:
        listed = ", ".join(f"{d}/" for d in dirs[:3]) + (" ..." if len(dirs) > 3 else "")
        raise OutputPathError(f"{shown}: holds other folders ({listed}); the output folder is replaced whole, so give a new or dedicated folder")
    return names


def _carry_over(src: Path, dst: Path, names: list[str]) -> None:
    for name in names:
        source, target = src / name, dst / name
        if target.exists() or target.is_symlink():
            continue
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
            continue
        if not source.exists():  # removed meanwhile
            continue
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def _swap_in(tmp: Path, path: Path) -> None:
    """Put folder ``tmp`` at ``path``; an existing ``path`` is exchanged with it in one step, then removed."""
    if not path.exists():
        os.rename(tmp, path)
        return
    if _exchange(tmp, path):
        _remove(tmp)  # now holds the old folder
        return
    old = path.with_name(f".{path.name}{_TAG}{os.getpid()}-old-{secrets.token_hex(4)}")
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)  # put the old folder back: never leave the target missing
        raise
    _remove(old)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False when not supported here."""
    func = _renameat2()
    if func is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if func(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EXDEV, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


_RENAMEAT2: list = []


def _renameat2():
    if not _RENAMEAT2:
        func = None
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            func = libc.renameat2
            func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            func.restype = ctypes.c_int
        _RENAMEAT2.append(func)
    return _RENAMEAT2[0]
