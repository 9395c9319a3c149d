"""Saving and loading models as versioned artifact folders.

Layout of a folder written by :func:`save_model`::

    manifest.json   format, format_version, cofirec version, model name, params, JSON state, file checksums,
                    what the model was trained on, and the checksum of the manifest itself
    arrays.npz      every array of the fitted state (no pickle: loaded with allow_pickle=False)

Fitted attributes (public, ending in ``_``) are stored by type: numpy arrays, scipy sparse matrices,
``IdMap`` vocabularies and torch modules (their ``state_dict``) go to ``arrays.npz``; JSON-able values
(numbers, strings, lists, dicts, None) go to the manifest (non-finite floats encoded explicitly, never as bare
``NaN`` tokens). Anything else is refused at save time.

A folder is written whole into a temporary sibling and swapped in (:mod:`cofirec._atomic`), so an interrupted
save leaves the previous model or the new one. Loading checks everything before trusting it (see
:mod:`cofirec.models.artifact_checks`): any edit or damage is one :class:`~cofirec.errors.ArtifactError`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cofirec._atomic import atomic_file, atomic_folder, file_sha256
from cofirec._json import decode_nonfinite, dumps_strict
from cofirec.data.idmap import IdMap
from cofirec.errors import ArtifactError

FORMAT = "cofirec.model"
FORMAT_VERSION = 2
"""2: the manifest carries its own checksum and the training record; 1 (read only): neither."""
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
MODEL_FILES = (MANIFEST, ARRAYS)
ANN_INDEX = "ann.faiss"
"""Optional: the approximate-nearest-neighbour index (:mod:`cofirec.retrieval`), listed in ``files`` when present."""
CHECKSUM_KEY = "checksum"


def _fitted_attributes(model: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}


def _split_state(model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, str]]:
    """Fitted state -> (arrays for npz, JSON values, {attribute: stored type})."""
    arrays: dict[str, np.ndarray] = {}
    values: dict[str, Any] = {}
    types: dict[str, str] = {}
    for key, value in _fitted_attributes(model).items():
        if isinstance(value, IdMap):
            arrays[f"{key}/ids"] = value.ids
            types[key] = "idmap"
        elif sp.issparse(value):
            csr = sp.csr_matrix(value)
            arrays[f"{key}/data"] = csr.data
            arrays[f"{key}/indices"] = csr.indices
            arrays[f"{key}/indptr"] = csr.indptr
            arrays[f"{key}/shape"] = np.asarray(csr.shape, dtype=np.int64)
            types[key] = "csr"
        elif isinstance(value, np.ndarray):
            if value.dtype == object:
                raise ArtifactError(f"cannot save {key}: object arrays are not allowed (no pickle)")
            arrays[key] = value
            types[key] = "ndarray"
        elif _is_torch_module(value):
            for name, tensor in value.state_dict().items():
                arrays[f"{key}/{name}"] = tensor.detach().cpu().numpy()
            types[key] = "torch_module"
        elif isinstance(value, (np.generic,)):
            values[key] = value.item()
            types[key] = "json"
        else:
            try:
                dumps_strict(value)
            except (TypeError, ValueError) as exc:
                raise ArtifactError(f"cannot save fitted attribute {key} of type {type(value).__name__}") from exc
            values[key] = value
            types[key] = "json"
    return arrays, values, types


def _is_torch_module(value: Any) -> bool:
    mod = type(value).__module__
    if not mod.startswith("torch") and "torch" not in {c.__module__.split(".")[0] for c in type(value).__mro__}:
        return False
    try:
        import torch

        return isinstance(value, torch.nn.Module)
    except ImportError:  # pragma: no cover
        return False


def save_model(model: Any, path: str | Path, *, training: dict[str, Any] | None = None, split: tuple[Any, ...] | None = None) -> Path:
    """Write ``model`` as the folder ``path``, whole: other files already there are kept, the previous model
    stays until the new one is complete.

    ``training``: what the model was fitted on (see :func:`cofirec.data.split_folder.training_record`).
    ``split``: ``(train, test, params[, cold])`` to write as the folder's split files in the same swap; the manifest
    then records that split.
    """
    from cofirec.data.split_folder import SPLIT_FILES, training_record, write_split_files

    path = Path(path)
    owned = set(MODEL_FILES) | {ANN_INDEX} | (set(SPLIT_FILES) if split is not None else set())
    with atomic_folder(path, owned) as tmp:
        if split is not None:
            record = write_split_files(tmp, *split)
            training = training_record((training or {}).get("source"), split=record)
        write_model_files(model, tmp, training=training)
    return path


def write_model_files(model: Any, folder: Path, *, training: dict[str, Any] | None = None) -> None:
    """Write ``arrays.npz`` and ``manifest.json`` of ``model`` into ``folder`` (each file atomically)."""
    from cofirec import __version__

    arrays, values, types = _split_state(model)
    with atomic_file(folder / ARRAYS) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwargs as allow_pickle
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cofirec_version": __version__,
        "model": model.name,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "params": model.get_params(),
        "state": values,
        "types": types,
        "training": training,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {ARRAYS: file_sha256(folder / ARRAYS)},
    }
    try:
        manifest = json.loads(dumps_strict(manifest))  # plain JSON values (tuples -> lists, numpy -> python)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"cannot save {model.name}: a parameter or state value is not JSON ({exc})") from exc
    manifest[CHECKSUM_KEY] = manifest_checksum(manifest)
    with atomic_file(folder / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def manifest_checksum(manifest: dict) -> str:
    """sha256 of the manifest's canonical JSON without its own checksum field."""
    body = {k: v for k, v in manifest.items() if k != CHECKSUM_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def damaged(path: Path, detail: str) -> ArtifactError:
    """The one error every inconsistent artifact gives."""
    return ArtifactError(f"{path}: damaged artifact: {detail}; train or save the model again")


def read_manifest(path: str | Path) -> dict:
    """The manifest of an artifact folder, checked for format, version and its own checksum."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: does not exist (expected a model folder written by 'cofirec train --out' or model.save())")
    if path.is_file():
        raise ArtifactError(f"{path}: a model is a folder written by 'cofirec train --out' or model.save(), not a file")
    mpath = path / MANIFEST
    if not mpath.exists():
        raise ArtifactError(f"{path}: not a cofirec model folder (no {MANIFEST})")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise damaged(path, f"{MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path}: not a cofirec model artifact (format {manifest.get('format') if isinstance(manifest, dict) else None!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise damaged(path, f"format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ArtifactError(f"{path}: artifact format version {version} is newer than this cofirec supports ({FORMAT_VERSION})")
    if version >= 2:
        if manifest.get(CHECKSUM_KEY) != manifest_checksum(manifest):
            raise damaged(path, f"{MANIFEST} checksum mismatch (the manifest was edited or damaged after saving)")
    return decode_nonfinite(manifest)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"bare {name} token (not JSON)")


def load_model(path: str | Path) -> Any:
    """Load a model saved by :func:`save_model`, verifying checksums and every field against the class."""
    from cofirec.models.artifact_checks import build_model, check_files, check_state, probe_scoring, read_arrays, restore_state

    path = Path(path)
    manifest = read_manifest(path)
    check_files(path, manifest)
    model = build_model(path, manifest)
    arrays = read_arrays(path / ARRAYS)
    restore_state(path, model, manifest, arrays)
    check_state(path, model)
    probe_scoring(path, model)
    if ANN_INDEX in manifest["files"]:  # checksum verified by check_files; attached for two-stage recommend
        from cofirec.retrieval.store import attach_saved_index

        attach_saved_index(path, manifest, model)
    return model


def training_of(path: str | Path) -> dict[str, Any] | None:
    """The training record of a saved model (None for models saved without one)."""
    record = read_manifest(path).get("training")
    return record if isinstance(record, dict) else None
