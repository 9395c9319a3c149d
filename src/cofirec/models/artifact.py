"""Saving and loading models as versioned artifact folders.

Layout of a folder written by :func:`save_model`::

    manifest.json   format, format_version, cofirec version, model name, params, JSON state, file checksums
    arrays.npz      every array of the fitted state (no pickle: loaded with allow_pickle=False)

Fitted attributes (public, ending in ``_``) are stored by type: numpy arrays, scipy sparse matrices,
``IdMap`` vocabularies and torch modules (their ``state_dict``) go to ``arrays.npz``; JSON-able values
(numbers, strings, lists, dicts, None) go to the manifest. Anything else is refused at save time.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cofirec.data.idmap import IdMap
from cofirec.errors import ArtifactError

FORMAT = "cofirec.model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
                json.dumps(value)
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


def save_model(model: Any, path: Path) -> Path:
    """Write ``model`` to the folder ``path`` (created; existing artifact files are replaced)."""
    from cofirec import __version__

    path.mkdir(parents=True, exist_ok=True)
    arrays, values, types = _split_state(model)
    tmp = path / (ARRAYS + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path / ARRAYS)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cofirec_version": __version__,
        "model": model.name,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "params": model.get_params(),
        "state": values,
        "types": types,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {ARRAYS: _sha256(path / ARRAYS)},
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_json_default))
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_manifest(path: str | Path) -> dict:
    """The manifest of an artifact folder, checked for format and version."""
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: model folder does not exist")
    if path.is_file():
        raise ArtifactError(f"{path}: a model is a folder written by 'cofirec train --out' or model.save(), not a file")
    mpath = path / MANIFEST
    if not mpath.exists():
        raise ArtifactError(f"{path}: not a cofirec model folder (no {MANIFEST})")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{mpath}: damaged manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path}: not a cofirec model artifact (format {manifest.get('format') if isinstance(manifest, dict) else None!r})")
    if int(manifest.get("format_version", -1)) > FORMAT_VERSION:
        raise ArtifactError(f"{path}: artifact format version {manifest['format_version']} is newer than this cofirec supports ({FORMAT_VERSION})")
    return manifest


def load_model(path: str | Path) -> Any:
    """Load a model saved by :func:`save_model`, verifying checksums."""
    from cofirec.models.registry import get_model_class

    path = Path(path)
    manifest = read_manifest(path)
    for fname, digest in manifest.get("files", {}).items():
        fpath = path / fname
        if not fpath.exists():
            raise ArtifactError(f"{path}: missing file {fname}")
        if _sha256(fpath) != digest:
            raise ArtifactError(f"{fpath}: checksum mismatch, the file is damaged or was changed after saving")
    cls = get_model_class(manifest["model"])
    params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cls.upgrade_params(manifest["params"]).items()}
    model = cls(**{k: v for k, v in params.items() if k in cls.param_names()})
    try:
        with np.load(path / ARRAYS, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as exc:
        raise ArtifactError(f"{path / ARRAYS}: cannot read arrays ({exc})") from exc
    _restore_state(model, manifest, arrays)
    return model


def _restore_state(model: Any, manifest: dict, arrays: dict[str, np.ndarray]) -> None:
    state = manifest.get("state", {})
    types = manifest.get("types", {})
    modules = []
    for key, kind in types.items():
        if kind == "json":
            setattr(model, key, state[key])
        elif kind == "idmap":
            setattr(model, key, IdMap(arrays[f"{key}/ids"]))
        elif kind == "csr":
            shape = tuple(int(x) for x in arrays[f"{key}/shape"])
            setattr(model, key, sp.csr_matrix((arrays[f"{key}/data"], arrays[f"{key}/indices"], arrays[f"{key}/indptr"]), shape=shape))
        elif kind == "ndarray":
            setattr(model, key, arrays[key])
        elif kind == "torch_module":
            modules.append(key)
        else:
            raise ArtifactError(f"unknown stored type {kind!r} for {key}")
    for key in modules:  # after plain state: modules are rebuilt from it
        prefix = f"{key}/"
        sd = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        setattr(model, key, model._module_from_state(key, sd))
