"""Split folders on disk: ``train.tsv``, ``test.tsv`` (+ ``cold.tsv`` for temporal splits that keep their cold
rows) and ``split.json``, written whole or not at all.

``split.json`` records how the split was made (method, seed, ratio, folds) and the sha256 of both files. A
model trained from a split (``cofirec train --split``) or from a file records the same checksums in its
manifest, so :func:`check_test_file` can tell a test file of *its* split from one of another split of the
same data, whose rows the model may have trained on.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from cofirec._atomic import atomic_file, atomic_folder, file_sha256
from cofirec.data.dataset import Interactions
from cofirec.errors import DataError

SPLIT_FORMAT = "cofirec.split"
SPLIT_MANIFEST = "split.json"
TRAIN_FILE = "train.tsv"
TEST_FILE = "test.tsv"
COLD_FILE = "cold.tsv"
SPLIT_FILES = (TRAIN_FILE, TEST_FILE, COLD_FILE, SPLIT_MANIFEST)


def write_interactions_file(data: Interactions, path: str | Path) -> Path:
    """Write ``user  item  rating  timestamp`` (tab-separated, with header) atomically; reads back with
    ``read_ratings_file``. Integral ratings are written as integers."""
    path = Path(path)
    frame = data.to_frame()
    ratings = frame["rating"].to_numpy()
    if len(ratings) and np.all(np.mod(ratings, 1) == 0):
        frame["rating"] = ratings.astype(np.int64)
    with atomic_file(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, lineterminator="\n")
    return path


def write_split_files(folder: Path, train: Interactions, test: Interactions, params: dict[str, Any], cold: Interactions | None = None) -> dict[str, Any]:
    """Write train/test (and cold) files and ``split.json`` into ``folder`` (a folder being filled); returns the
    record. ``cold``: the cold rows of a temporal split, written to ``cold.tsv`` and listed in ``files``."""
    from cofirec import __version__

    write_interactions_file(train, folder / TRAIN_FILE)
    write_interactions_file(test, folder / TEST_FILE)
    names = [TRAIN_FILE, TEST_FILE]
    if cold is not None:
        write_interactions_file(cold, folder / COLD_FILE)
        names.append(COLD_FILE)
    record = {
        "format": SPLIT_FORMAT,
        "format_version": 1,
        "cofirec_version": __version__,
        **params,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": {name: file_sha256(folder / name) for name in names},
    }
    with atomic_file(folder / SPLIT_MANIFEST) as tmp:
        tmp.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return record


def save_split(out: str | Path, train: Interactions, test: Interactions, params: dict[str, Any], cold: Interactions | None = None) -> dict[str, Any]:
    """Write a split folder whole (old files, a stale ``cold.tsv`` included, stay until the new ones are
    complete); returns the split record."""
    with atomic_folder(Path(out), SPLIT_FILES) as tmp:
        record = write_split_files(tmp, train, test, params, cold)
    return record


def read_split_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The ``split.json`` of ``folder``, or None when there is none; DataError when it is damaged."""
    path = Path(folder) / SPLIT_MANIFEST
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: damaged split manifest ({exc}); write the split again with 'cofirec split'") from exc
    files = record.get("files") if isinstance(record, dict) else None
    if (
        not isinstance(record, dict)
        or record.get("format") != SPLIT_FORMAT
        or not isinstance(files, dict)
        or not all(isinstance(files.get(n), str) for n in (TRAIN_FILE, TEST_FILE))
    ):
        raise DataError(f"{path}: not a cofirec split manifest (or damaged); write the split again with 'cofirec split'")
    return record


def training_record(source: str | Path | None, split: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a model was fitted on, for its manifest: the source, the sha256 of the training file when it was
    one file (or the split's train file), and the split record."""
    sha = None
    if split is not None:
        sha = split["files"][TRAIN_FILE]
    elif source is not None and Path(source).is_file():
        sha = file_sha256(source)
        check_split_member(Path(source), sha)
    return {"source": None if source is None else str(source), "train_sha256": sha, "split": split}


def check_split_member(path: Path, sha: str) -> None:
    """A file that its folder's split.json lists must still have the checksum recorded there."""
    split = read_split_manifest(path.parent)
    if split is not None and path.name in split["files"] and split["files"][path.name] != sha:
        raise DataError(
            f"{path}: does not match {path.parent / SPLIT_MANIFEST} (the file changed after the split was "
            f"written, or a write was interrupted); write the split again with 'cofirec split'"
        )


def describe_split(record: dict[str, Any]) -> str:
    """``random split, seed 1, test ratio 0.2`` from a split record."""
    parts = [f"{record.get('method', '?')} split"]
    fields = (("seed", "seed"), ("test_ratio", "test ratio"), ("k", "folds"), ("fold", "fold"), ("cutoff", "cut-off"), ("cold_policy", "cold"))
    for key, label in fields:
        if record.get(key) is not None:
            parts.append(f"{label} {record[key]}")
    return ", ".join(parts)


def check_test_file(model_dir: str | Path, training: dict[str, Any] | None, test_path: str | Path) -> None:
    """Refuse a test file that belongs to a different split than the one the model was trained on.

    ``training`` is the model manifest's training record (None for models saved without one: nothing to check).
    A test file is judged by its checksum: the test file of the model's own split passes; a file listed in a
    ``split.json`` must still match it, and that split's train file must be the model's training data; a test
    file inside the model's folder must be the model's split. Files outside split folders (``u1.test``) pass.
    """
    test_path = Path(test_path)
    if not test_path.is_file():
        return
    sha = file_sha256(test_path)
    training = training or {}
    own = training.get("split")
    own = own if isinstance(own, dict) and isinstance(own.get("files"), dict) else None
    if own is not None and sha == own["files"].get(TEST_FILE):
        return
    if training.get("train_sha256") is not None and sha == training["train_sha256"]:
        return  # the training data itself: a fit check, not a leak from another split
    folder = test_path.parent
    split = read_split_manifest(folder)
    if split is not None and test_path.name in split["files"]:
        check_split_member(test_path, sha)
        if training and training.get("train_sha256") != split["files"][TRAIN_FILE]:
            raise DataError(
                f"{test_path}: is from a different split ({describe_split(split)}) than the data {model_dir} was "
                f"trained on ({_describe_training(training)}): the model may have trained on these test rows; "
                f"evaluate on the test file of the model's own split, or train again on {folder / TRAIN_FILE}"
            )
        return
    if own is not None and _same_folder(folder, Path(model_dir)):
        raise DataError(
            f"{test_path}: is not the test file of the split {model_dir} was trained on ({describe_split(own)}); "
            "it changed after training: train again with --split"
        )


def _describe_training(training: dict[str, Any]) -> str:
    if training.get("split"):
        return describe_split(training["split"])
    source = training.get("source")
    return f"{source}" if source else "unknown data"


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
