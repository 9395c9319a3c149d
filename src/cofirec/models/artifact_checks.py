"""Checks that a saved model folder is exactly what a fitted model of its class would write.

Used by :func:`cofirec.models.artifact.load_model`. Every check raises the same one-line "damaged artifact"
:class:`~cofirec.errors.ArtifactError`; no raw internal error (KeyError, shape or scipy errors) escapes.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from cofirec._atomic import file_sha256
from cofirec.data.idmap import IdMap
from cofirec.errors import ArtifactError, CofirecError

KINDS = ("explicit", "implicit", "binary")
STORED_TYPES = ("json", "idmap", "csr", "ndarray", "torch_module")
_ATTR = re.compile(r"^[a-z][a-z0-9_]*_$")
_ERRORS = (KeyError, ValueError, TypeError, IndexError, AttributeError, RuntimeError, AssertionError, OverflowError)


def _damaged(path: Path, detail: str) -> ArtifactError:
    from cofirec.models.artifact import damaged

    return damaged(path, detail)


# ---------------------------------------------------------------------- files and manifest fields
def check_files(path: Path, manifest: dict) -> None:
    """The manifest lists exactly the files the loader reads, each present with its checksum."""
    from cofirec.models.artifact import ANN_INDEX, ARRAYS

    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) - {ANN_INDEX} != {ARRAYS}:  # the ANN index is optional
        listed = sorted(files) if isinstance(files, dict) else files
        raise _damaged(path, f"the manifest must list the checksum of {ARRAYS} (files: {listed!r})")
    for name in sorted(files):
        fpath = path / name
        if not fpath.is_file():
            raise _damaged(path, f"missing file {name}")
        if file_sha256(fpath) != files[name]:
            raise _damaged(path, f"{name} checksum mismatch (the file is damaged or was changed after saving)")
    for key, kind in (("params", dict), ("state", dict), ("types", dict), ("model", str)):
        if not isinstance(manifest.get(key), kind):
            raise _damaged(path, f"manifest field {key!r} is missing or not a {kind.__name__}")
    training = manifest.get("training")
    if training is not None and not isinstance(training, dict):
        raise _damaged(path, "manifest field 'training' is not an object")


def build_model(path: Path, manifest: dict) -> Any:
    """The unfitted model: registry class of ``model`` (matching ``class``), params typed and range-checked."""
    from cofirec.errors import ConfigError
    from cofirec.models.params import coerce_value
    from cofirec.models.registry import get_model_class

    name = manifest["model"]
    try:
        cls = get_model_class(name)
    except ConfigError as exc:
        raise _damaged(path, f"model {name!r} is not a registered model") from exc
    stored_class = manifest.get("class")
    if not isinstance(stored_class, str) or stored_class.rsplit(".", 1)[-1] != cls.__qualname__:
        raise _damaged(path, f"model {name!r} is {cls.__qualname__}, but the manifest names class {stored_class!r}")
    hints = cls.param_types()
    stored = cls.upgrade_params(manifest["params"])  # older names (``iterations``) under their current ones
    missing = sorted(set(hints) - set(stored))
    if missing and manifest["format_version"] >= 2:  # older formats may predate a parameter: its default applies
        raise _damaged(path, f"parameters missing from the manifest: {', '.join(missing)}")
    params = {}
    for key, value in stored.items():
        if key not in hints:
            raise _damaged(path, f"{name} has no parameter {key!r}")
        try:
            params[key] = coerce_value(f"{name}.{key}", hints[key], value)
        except ConfigError as exc:
            raise _damaged(path, f"parameter {exc}") from exc
        if not _all_finite(params[key]):
            raise _damaged(path, f"parameter {name}.{key}={value!r} is not finite")
    try:
        model = cls(**params)
        _validate_params_anywhere(model)
    except CofirecError as exc:
        raise _damaged(path, f"parameters: {exc}") from exc
    except _ERRORS as exc:
        raise _damaged(path, f"parameters: {type(exc).__name__}: {exc}") from exc
    return model


def _validate_params_anywhere(model: Any) -> None:
    """The model's own parameter checks, except that a GPU the loading machine lacks is not damage."""
    device = getattr(model, "device", None)
    if not (isinstance(device, str) and device.startswith("cuda")):
        model._validate_params()
        return
    model.device = "cpu"
    try:
        model._validate_params()
    finally:
        model.device = device


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_all_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    return True


def read_arrays(fpath: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(fpath, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, KeyError, RuntimeError, zipfile.BadZipFile) as exc:
        raise _damaged(fpath.parent, f"cannot read {fpath.name} ({_one_line(exc)})") from exc


# ---------------------------------------------------------------------- fitted state
def restore_state(path: Path, model: Any, manifest: dict, arrays: dict[str, np.ndarray]) -> None:
    """Set the fitted attributes from the manifest and arrays, refusing unknown kinds and stray entries."""
    state, types = manifest["state"], manifest["types"]
    used: set[str] = set()
    modules = []
    for key, kind in types.items():
        if not isinstance(key, str) or not _ATTR.match(key) or kind not in STORED_TYPES:
            raise _damaged(path, f"stored attribute {key!r} of type {kind!r}")
        try:
            if kind == "json":
                setattr(model, key, state[key])
            elif kind == "idmap":
                used.add(f"{key}/ids")
                setattr(model, key, _idmap(arrays[f"{key}/ids"]))
            elif kind == "csr":
                names = [f"{key}/{part}" for part in ("data", "indices", "indptr", "shape")]
                used.update(names)
                setattr(model, key, _csr(*(arrays[n] for n in names)))
            elif kind == "ndarray":
                used.add(key)
                setattr(model, key, arrays[key])
            else:
                modules.append(key)
        except KeyError as exc:
            raise _damaged(path, f"{key}: stored value {exc} is missing") from exc
        except _ERRORS as exc:
            raise _damaged(path, f"{key}: {_one_line(exc)}") from exc
    extra_state = set(state) - {k for k, v in types.items() if v == "json"}
    if extra_state:
        raise _damaged(path, f"state values with no stored type: {', '.join(sorted(extra_state))}")
    for key in modules:  # after plain state: modules are rebuilt from it
        prefix = f"{key}/"
        sd = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        used.update(prefix + k for k in sd)
        _check_finite_arrays(path, key, sd)
        try:
            setattr(model, key, model._module_from_state(key, sd))
        except CofirecError as exc:
            raise _damaged(path, f"{key}: {exc}") from exc
        except (*_ERRORS, NotImplementedError) as exc:
            raise _damaged(path, f"{key}: {_one_line(exc)}") from exc
    stray = set(arrays) - used
    if stray:
        raise _damaged(path, f"arrays with no stored attribute: {', '.join(sorted(stray)[:5])}")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _idmap(ids: np.ndarray) -> IdMap:
    if ids.ndim != 1 or ids.dtype.kind not in "iuU":
        raise ValueError(f"vocabulary must be a 1-d array of integer or string ids, got {ids.dtype} {ids.shape}")
    return IdMap(ids)


def _csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: np.ndarray) -> sp.csr_matrix:
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or (shape < 0).any():
        raise ValueError(f"sparse shape {shape.tolist()!r}")
    n_rows, n_cols = (int(x) for x in shape)
    if indptr.ndim != 1 or len(indptr) != n_rows + 1 or indices.ndim != 1 or data.shape != indices.shape:
        raise ValueError("sparse arrays disagree with the shape")
    if len(indptr) and (indptr[0] != 0 or indptr[-1] != len(indices) or (np.diff(indptr) < 0).any()):
        raise ValueError("sparse row pointers are not a valid index")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError("sparse column indices out of range")
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise ValueError("sparse values are not finite")
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))


def _check_finite_arrays(path: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    for name, arr in arrays.items():
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            raise _damaged(path, f"{key}/{name} holds NaN or infinite values")


def check_state(path: Path, model: Any) -> None:
    """Vocabularies, the feedback kind, array shapes against the vocabularies, finite numbers."""
    for key in ("user_map_", "item_map_", "seen_", "kind_"):
        if not hasattr(model, key):
            raise _damaged(path, f"fitted attribute {key} is missing")
    if not isinstance(model.user_map_, IdMap) or not isinstance(model.item_map_, IdMap) or not sp.issparse(model.seen_):
        raise _damaged(path, "user_map_, item_map_ or seen_ has the wrong stored type")
    kind = model.kind_
    if kind not in KINDS or kind not in type(model).supported_kinds:
        raise _damaged(path, f"kind_ {kind!r} is not a feedback kind {model.name} supports ({', '.join(sorted(type(model).supported_kinds))})")
    _check_base_values(path, model)
    sizes = {"users": len(model.user_map_), "items": len(model.item_map_)}
    for key, axes in _state_axes(model).items():
        value = getattr(model, key, None)
        if value is None or not hasattr(value, "shape"):
            continue
        want = tuple(sizes[a] if a is not None else None for a in axes)
        got = tuple(value.shape[: len(want)])
        if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
            raise _damaged(path, f"{key} has shape {tuple(value.shape)}, but the vocabularies give {sizes['users']} users and {sizes['items']} items")
    for key, count in (("n_users_", "users"), ("n_items_", "items")):
        value = getattr(model, key, None)
        if value is not None and value != sizes[count]:
            raise _damaged(path, f"{key}={value!r}, but the vocabulary has {sizes[count]} {count}")
    for key, value in vars(model).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "fc" and not np.isfinite(value).all():
            raise _damaged(path, f"{key} holds NaN or infinite values")
        if isinstance(value, float) and not math.isfinite(value):
            raise _damaged(path, f"{key}={value!r} is not finite")


_NUMBER, _OPTIONAL_NUMBER = "a number", "a number or null"
_BASE_VALUES = {
    "global_mean_": _NUMBER,
    "rating_min_": _NUMBER,
    "rating_max_": _NUMBER,
    "binary_threshold_": _OPTIONAL_NUMBER,
    "implicit_min_rating_": _OPTIONAL_NUMBER,
}


def _check_base_values(path: Path, model: Any) -> None:
    """The JSON values every fitted model has (set by ``Recommender.fit``) have their types."""
    for key, what in _BASE_VALUES.items():
        value = getattr(model, key, None)
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (is_number or (value is None and what == _OPTIONAL_NUMBER)):
            raise _damaged(path, f"{key}={value!r} should be {what}")
    history = getattr(model, "history_", [])
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise _damaged(path, "history_ should be a list of per-epoch records")


def _state_axes(model: Any) -> dict[str, tuple[str | None, ...]]:
    """Expected leading axes of array attributes: ``user_*_`` -> users, ``item_*_`` -> items, plus the class's
    own ``state_axes`` (e.g. ``similarity_matrix_``)."""
    axes: dict[str, tuple[str | None, ...]] = {"seen_": ("users", "items")}
    for key, value in vars(model).items():
        if not key.endswith("_") or not hasattr(value, "shape") or key in ("user_map_", "item_map_"):
            continue
        if key.startswith("user_"):
            axes[key] = ("users",)
        elif key.startswith("item_"):
            axes[key] = ("items",)
    axes.update(getattr(type(model), "state_axes", {}) or {})
    return axes


def probe_scoring(path: Path, model: Any) -> None:
    """Score the first and last user and the fallback: the state must work together, giving one score per item."""
    n_users, n_items = len(model.user_map_), len(model.item_map_)
    if n_users == 0 or n_items == 0:
        raise _damaged(path, f"empty vocabulary ({n_users} users, {n_items} items)")
    users = np.unique(np.array([0, n_users - 1], dtype=np.int64))
    try:
        scores = np.asarray(model._score(users))
        fallback = np.asarray(model._unknown_user_scores())
    except CofirecError as exc:
        raise _damaged(path, f"cannot score: {exc}") from exc
    except (*_ERRORS, ArithmeticError) as exc:
        raise _damaged(path, f"cannot score ({_one_line(exc)})") from exc
    if scores.shape != (len(users), n_items) or fallback.shape != (n_items,):
        raise _damaged(path, f"scores have shape {scores.shape} (fallback {fallback.shape}), expected ({len(users)}, {n_items})")
