"""Turn an :class:`ExperimentConfig`'s data settings into train and test interactions.

Data loading and splitting belong to ``cofirec.data`` (imported lazily here); this module only wires the
config fields to those calls, applies the target (implicit / binary) and records which files were read, so
reports can fingerprint them.
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError
from cofirec.experiments.config import ExperimentConfig


@dataclass
class PreparedData:
    """Train/test interactions of one experiment.

    Attributes
    ----------
    train, test : Interactions
        Training and test interactions (same raw id space; test may hold unknown users/items).
    name : str
        Data description for tables and reports (dataset and split).
    files : list of Path
        Input files or folders that were read (for the data fingerprint); empty for in-memory data.
    negatives : Any
        What the evaluator needs for the ``sampled`` protocol (a file path), or None.
    """

    train: Interactions
    test: Interactions
    name: str = ""
    files: list[Path] = field(default_factory=list)
    negatives: Any = None


def apply_target(data: Interactions, cfg: ExperimentConfig) -> Interactions:
    """Apply ``cfg.implicit`` / ``cfg.target`` (``binary:T`` -> like/dislike, ``implicit[:MIN]`` -> positives)."""
    kind, value = cfg.target_spec()
    if kind == "explicit" or (data.kind == kind and value is None):
        return data
    if kind == "binary":
        if data.kind != "explicit":
            raise ConfigError(f"target {cfg.target!r}: needs explicit ratings, {data.name or 'data'} is {data.kind}")
        if value is None:
            if not np.isin(data.ratings, (0.0, 1.0)).all():
                raise ConfigError(f"target 'binary': {data.name or 'the data'} holds ratings ({_rating_range(data)}), not 0/1 labels; "
                                  "give the like threshold, e.g. 'binary:4' (--target binary:4: rating >= 4 is a like)")
            value = 1.0
        out = data.binarize(float(value))
        positives = int(out.ratings.sum())
        if len(out) and positives in (0, len(out)):
            warnings.warn(f"{data.name or 'data'}: target {cfg.target!r} gives every interaction the label {int(positives > 0)} "
                          f"({_rating_range(data)})", UserWarning, stacklevel=2)
        return out
    if data.kind == "binary":
        return data.subset(data.ratings > 0).as_implicit()
    out = data.as_implicit(value)
    if len(data) and not len(out):
        raise ConfigError(f"{data.name or 'data'}: target {cfg.target!r} keeps no interaction ({_rating_range(data)})")
    return out


def _rating_range(data: Interactions) -> str:
    return f"ratings are {float(data.ratings.min()):g} to {float(data.ratings.max()):g}"


def prepare_data(cfg: ExperimentConfig) -> PreparedData:
    """Load (and split) the data described by ``cfg``.

    With ``train``/``test`` files they are read into one id space with
    ``cofirec.data.splits.train_test_from_files``; with a ``dataset`` it is loaded with
    ``cofirec.data.resolve.load_dataset`` and split with ``cofirec.data.splits.split_data`` using
    ``cfg.split``. ``metadata`` (a MovieLens folder) attaches titles. For the ``sampled`` protocol the
    negatives come from ``cfg.negatives`` (NCF ``.negative`` file) or are sampled (99 per test pair).
    """
    if cfg.train is not None and cfg.test is not None:
        from cofirec.data.splits import train_test_from_files

        kwargs = {"columns": _columns(cfg.columns)} if cfg.columns is not None else {}
        kwargs.update(_reader_options(cfg))
        split = train_test_from_files(cfg.train, cfg.test, **kwargs)
        files = [Path(cfg.train), Path(cfg.test)]
        name = f"{Path(cfg.train).name} / {Path(cfg.test).name}"
        train, test = split.train, split.test
    elif cfg.dataset is not None:
        data = load_config_dataset(cfg)
        split = split_config_data(data, cfg)
        files = dataset_files(cfg)
        name = f"{data.name or cfg.dataset}, {split.name}"
        train, test = split.train, split.test
    else:
        raise ConfigError("no data: give a dataset (name, folder or file) or train and test files")
    if cfg.metadata is not None:
        train, test = _attach_metadata(train, cfg.metadata, check=True), _attach_metadata(test, cfg.metadata)
    train, test = apply_target(train, cfg), apply_target(test, cfg)
    negatives = None
    if cfg.protocol == "sampled":
        negatives = load_negatives(cfg, train, test)
        if cfg.negatives:
            files.append(Path(cfg.negatives))
    return PreparedData(train, test, name=name, files=files, negatives=negatives)


def load_negatives(cfg: ExperimentConfig, train: Interactions, test: Interactions) -> Any:
    """Negatives for the sampled protocol: read from ``cfg.negatives`` or sampled (99 per test pair, ``cfg.seed``)."""
    from cofirec.data import negatives as neg

    if cfg.negatives:  # the test pairs stay those of test; a file that does not cover them is an error here
        return neg.match_test_pairs(neg.read_ncf_negatives(cfg.negatives), test)
    return neg.sample_negatives(train, test, n=99, seed=cfg.seed)


def _attach_metadata(data: Interactions, folder: str, check: bool = False) -> Interactions:
    from cofirec.data.metadata import check_metadata
    from cofirec.data.movielens import load_metadata

    user_features, item_features = load_metadata(Path(folder))
    if check:  # metadata of another dataset: an error (the test part shares the train's ids)
        check_metadata(data, user_features, item_features, source=f"metadata {folder}")
    return data.with_features(user_features=user_features, item_features=item_features)


def _columns(columns: str | list[str] | None) -> list[str] | None:
    if columns is None or isinstance(columns, list):
        return columns
    return [c.strip() for c in columns.split(",") if c.strip()]


def load_config_dataset(cfg: ExperimentConfig) -> Interactions:
    """The full dataset of ``cfg`` through ``cofirec.data.resolve.load_dataset``."""
    from cofirec.data.resolve import load_dataset

    kwargs: dict[str, Any] = {}
    if cfg.data_dir is not None:
        kwargs["data_dir"] = cfg.data_dir
    if cfg.columns is not None:
        kwargs["columns"] = _columns(cfg.columns)
    return load_dataset(cfg.dataset, **kwargs, **_reader_options(cfg))


def _reader_options(cfg: ExperimentConfig) -> dict[str, str]:
    """``sep`` / ``encoding`` of the config (only those set), for the ratings-file reader."""
    return {key: value for key, value in (("sep", cfg.sep), ("encoding", cfg.encoding)) if value is not None}


def split_config_data(data: Interactions, cfg: ExperimentConfig):
    """``split_data(data, cfg.split.method, test_ratio=..., seed=...)`` (plus k / fold when the split takes them)."""
    from cofirec.data.splits import split_data

    params = inspect.signature(split_data).parameters
    kwargs: dict[str, Any] = {"test_ratio": cfg.split.test_ratio, "seed": cfg.split_seed}
    for name in ("k", "fold"):
        value = getattr(cfg.split, name)
        if value is not None:
            if name not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
                raise ConfigError(f"split.{name}: the split function takes no {name!r} option")
            kwargs[name] = value
    return split_data(data, cfg.split.method, **kwargs)


def dataset_files(cfg: ExperimentConfig) -> list[Path]:
    """Files behind ``cfg.dataset`` for fingerprinting: the file, the folder, or ``data_dir/NAME`` when it exists."""
    assert cfg.dataset is not None
    candidates = [Path(cfg.dataset).expanduser()]
    if cfg.data_dir is not None:
        candidates.append(Path(cfg.data_dir) / cfg.dataset)
    return [p for p in candidates if p.exists()][:1]
