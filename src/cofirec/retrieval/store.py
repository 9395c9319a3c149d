"""The ANN index inside a model artifact folder: ``ann.faiss`` (faiss' own format), listed in the manifest.

:func:`save_index` adds the index to a saved model folder: the file goes in with its sha256 under the manifest's
``files`` and the index settings under ``ann`` (the manifest's own checksum covers both), written in one folder
swap. :func:`~cofirec.models.artifact.load_model` verifies the file's checksum with the others and calls
:func:`attach_saved_index`, which reads the verified bytes with ``faiss.deserialize_index`` (no pickle) and
attaches the index to the model. Saving the model again into the folder drops a stale index.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cofirec._atomic import atomic_folder
from cofirec.errors import ArtifactError, MissingDependencyError
from cofirec.models.artifact import ANN_INDEX, CHECKSUM_KEY, MANIFEST, damaged, manifest_checksum, read_manifest
from cofirec.retrieval.ann import AnnIndex, faiss_module

ANN_KEY = "ann"
_SETTINGS = {"kind": str, "n_items": int, "dim": int, "fingerprint": str, "candidates": int, "min_items": int}


def save_index(index: AnnIndex, path: str | Path) -> Path:
    """Add ``index`` to the model folder ``path`` (saved before from the model the index was built from)."""
    faiss = faiss_module()
    path = Path(path)
    from cofirec.models.artifact_checks import check_files

    check_files(path, read_manifest(path))  # a sound model folder (checksums verified) ...
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))  # ... rewritten as stored (non-finite floats encoded)
    data = faiss.serialize_index(index.index).tobytes()
    manifest["files"][ANN_INDEX] = hashlib.sha256(data).hexdigest()
    manifest[ANN_KEY] = {
        "kind": index.kind,
        "n_items": index.n_items,
        "dim": index.dim,
        "fingerprint": index.fingerprint,
        "candidates": index.candidates,
        "min_items": index.min_items,
    }
    manifest[CHECKSUM_KEY] = manifest_checksum(manifest)
    with atomic_folder(path, {ANN_INDEX, MANIFEST}) as tmp:
        (tmp / ANN_INDEX).write_bytes(data)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def load_index(path: str | Path, manifest: dict | None = None) -> AnnIndex:
    """The index saved in the model folder ``path``: checksum verified on the bytes faiss reads, settings checked
    (one "damaged artifact" ArtifactError otherwise). ArtifactError when the folder has no index."""
    faiss = faiss_module()
    path = Path(path)
    manifest = read_manifest(path) if manifest is None else manifest
    files = manifest.get("files") or {}
    if ANN_INDEX not in files:
        raise ArtifactError(f"{path}: the model folder has no ANN index (build one with cofirec.retrieval.build_index and save_index)")
    settings = manifest.get(ANN_KEY)
    if (
        not isinstance(settings, dict)
        or set(settings) != set(_SETTINGS)
        or any(not isinstance(settings[k], t) or isinstance(settings[k], bool) for k, t in _SETTINGS.items())
    ):
        raise damaged(path, f"manifest field {ANN_KEY!r} must hold {', '.join(_SETTINGS)}")
    try:
        data = (path / ANN_INDEX).read_bytes()
    except OSError as exc:
        raise damaged(path, f"cannot read {ANN_INDEX} ({exc.strerror or exc})") from exc
    if hashlib.sha256(data).hexdigest() != files[ANN_INDEX]:
        raise damaged(path, f"{ANN_INDEX} checksum mismatch (the file is damaged or was changed after saving)")
    try:
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
    except RuntimeError as exc:
        raise damaged(path, f"{ANN_INDEX} is not a faiss index ({' '.join(str(exc).split())[:200]})") from exc
    if (
        settings["kind"] not in ("hnsw", "ivf")
        or index.ntotal != settings["n_items"]
        or index.d != settings["dim"]
        or index.metric_type != faiss.METRIC_INNER_PRODUCT
    ):
        raise damaged(path, f"{ANN_INDEX} does not match its manifest settings")
    return AnnIndex(
        index=index,
        kind=settings["kind"],
        n_items=settings["n_items"],
        dim=settings["dim"],
        fingerprint=settings["fingerprint"],
        candidates=settings["candidates"],
        min_items=settings["min_items"],
    )


def attach_saved_index(path: Path, manifest: dict, model: Any) -> None:
    """Attach the folder's index to ``model`` (called by ``load_model`` when the manifest lists one). Without
    faiss installed the model loads without it (exact search) and a warning says so."""
    try:
        index = load_index(path, manifest)
    except MissingDependencyError as exc:
        warnings.warn(f"{path}: the saved ANN index is not used ({exc}); recommend searches exactly", stacklevel=3)
        return
    try:
        model.attach_index(index)
    except Exception as exc:  # built from other vectors: the folder is inconsistent
        raise damaged(path, f"{ANN_INDEX}: {exc}") from exc
