"""Fingerprints for reproducibility: input files, in-memory data, package versions, the machine."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from cofirec._atomic import file_sha256
from cofirec.data.dataset import Interactions

PACKAGES = ("cofirec", "numpy", "scipy", "pandas", "pyarrow", "numba", "torch", "optuna", "matplotlib", "typer", "rich")


def files_fingerprint(paths: Iterable[str | Path]) -> dict[str, dict]:
    """``{path: {"sha256", "bytes"}}`` for every existing file in ``paths`` (folders: their files, sorted)."""
    out: dict[str, dict] = {}
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        elif p.is_file():
            files = [p]
        else:
            continue
        for f in files:
            out[str(f)] = {"sha256": file_sha256(f), "bytes": f.stat().st_size}
    return out


def data_sha256(data: Interactions) -> str:
    """sha256 of the interactions as raw (user, item, rating) triples, independent of row order."""
    frame = data.to_frame()[["user", "item", "rating"]]
    frame = frame.sort_values(["user", "item"], kind="stable")
    h = hashlib.sha256()
    for col in ("user", "item"):
        h.update(np.asarray(frame[col].astype(str).to_numpy(), dtype="U").tobytes())
    h.update(np.ascontiguousarray(frame["rating"].to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


def split_sha256(*parts: Interactions) -> str:
    """sha256 over the :func:`data_sha256` of each part, in order (e.g. a train/validation split)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(data_sha256(part).encode("ascii"))
    return h.hexdigest()


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of cofirec and its main dependencies (``"not installed"`` when missing)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info() -> dict[str, str | int | None]:
    """Host description: OS, CPU architecture and count, processor, torch device availability."""
    info: dict[str, str | int | None] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "hostname": platform.node(),
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that started this process, shell-quoted (``cofirec ...`` when run through the entry point)."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("cofirec", "__main__.py"):
        argv[0] = "cofirec"
    return " ".join(shlex.quote(a) for a in argv)
