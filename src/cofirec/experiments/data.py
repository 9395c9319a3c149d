"""Turn an :class:`ExperimentConfig`'s data settings into train and test interactions.

Data loading and splitting belong to ``cofirec.data`` (imported lazily here); this module only wires the
config fields to those calls, applies the target (implicit / binary) and records which files were read, so
reports can fingerprint them.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.data.targets import apply_target, read_preferring_ratings
from cofirec.errors import ConfigError, DataError
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
    cold : Interactions or None
        Temporal split with ``cold="separate"``: test rows whose user or item first appears at/after the
        cut-off (``test`` then holds only warm rows), to evaluate apart; None otherwise.
    split_info : dict
        ``Split.info`` of the split made (temporal: cut-off, cold policy and counts); empty for file pairs.
    """

    train: Interactions
    test: Interactions
    name: str = ""
    files: list[Path] = field(default_factory=list)
    negatives: Any = None
    cold: Interactions | None = None
    split_info: dict[str, Any] = field(default_factory=dict)


def prepare_data(cfg: ExperimentConfig, data: Interactions | None = None) -> PreparedData:
    """Load (and split) the data described by ``cfg``.

    With ``train``/``test`` files they are read into one id space with
    ``cofirec.data.splits.train_test_from_files``; with a ``dataset`` it is loaded with
    ``cofirec.data.resolve.load_dataset`` and split with ``cofirec.data.splits.split_data`` using
    ``cfg.split``. ``metadata`` (a MovieLens folder) attaches titles. For the ``sampled`` protocol the
    negatives come from ``cfg.negatives`` (NCF ``.negative`` file) or are sampled (99 per test pair).
    ``data``: the already loaded ``cfg.dataset`` (multi-seed runs load it once and split it per seed).
    """
    if cfg.train is not None and cfg.test is not None:
        from cofirec.data.splits import train_test_from_files

        kwargs: dict[str, Any] = {"columns": _columns(cfg.columns)} if cfg.columns is not None else {}
        kwargs.update(_reader_options(cfg))
        split = train_test_from_files(cfg.train, cfg.test, **kwargs)
        files = [Path(cfg.train), Path(cfg.test)]
        name = f"{Path(cfg.train).name} / {Path(cfg.test).name}"
        train, test, cold = split.train, split.test, None
    elif cfg.dataset is not None:
        data = data if data is not None else load_config_dataset(cfg)
        split = split_config_data(data, cfg)
        files = dataset_files(cfg)
        name = f"{data.name or cfg.dataset}, {split.name}"
        train, test, cold = split.train, split.test, split.cold
    else:
        raise ConfigError("no data: give a dataset (name, folder or file) or train and test files")
    if cfg.metadata is not None:
        train, test = attach_metadata(train, cfg.metadata), attach_metadata(test, cfg.metadata, check=False)
        cold = None if cold is None else attach_metadata(cold, cfg.metadata, check=False)
    target = cfg.parsed_target()
    train, test = apply_target(train, target), apply_target(test, target)
    cold = None if cold is None else _cold_target(cold, target)
    negatives = None
    if cfg.protocol == "sampled":
        negatives = load_negatives(cfg, train, test)
        if cfg.negatives:
            files.append(Path(cfg.negatives))
    return PreparedData(train, test, name=name, files=files, negatives=negatives, cold=cold, split_info=dict(split.info))


def load_negatives(cfg: ExperimentConfig, train: Interactions, test: Interactions) -> Any:
    """Negatives for the sampled protocol: read from ``cfg.negatives`` or sampled (99 per test pair, ``cfg.seed``)."""
    from cofirec.data import negatives as neg

    if cfg.negatives:  # the test pairs stay those of test; a file that does not cover them is an error here
        return neg.match_test_pairs(neg.read_ncf_negatives(cfg.negatives), test)
    return neg.sample_negatives(train, test, n=99, seed=cfg.seed)


def attach_metadata(data: Interactions, folder: str | Path, check: bool = True) -> Interactions:
    """Titles and side features from a MovieLens folder attached to ``data``.

    ``check``: refused (DataError) when the folder describes under 90% of the data's users or items, or its
    titles disagree with the data's own (:func:`cofirec.data.metadata.check_metadata`); a test part sharing
    the checked train part's ids skips it. A folder without MovieLens metadata is an error.
    """
    from cofirec.data.metadata import check_metadata
    from cofirec.data.movielens import load_metadata

    if not Path(folder).exists():
        raise FileNotFoundError(2, "no such metadata folder", str(folder))
    user_features, item_features = load_metadata(Path(folder))
    if user_features is None and item_features is None:
        raise DataError(f"{folder}: no MovieLens metadata found (expected u.item/u.user, movies.dat/users.dat or movies.csv)")
    if check:
        check_metadata(data, user_features, item_features, source=f"metadata {folder}")
    return data.with_features(user_features=user_features, item_features=item_features)


def _columns(columns: str | list[str] | None) -> list[str] | None:
    if columns is None or isinstance(columns, list):
        return columns
    return [c.strip() for c in columns.split(",") if c.strip()]


def load_config_dataset(cfg: ExperimentConfig, *, on_bad_lines: Literal["error", "skip"] = "error", download: bool = True) -> Interactions:
    """The full dataset of ``cfg`` (a name, folder or file) through :func:`load_source`."""
    assert cfg.dataset is not None
    return load_source(
        cfg.dataset,
        data_dir=cfg.data_dir,
        columns=_columns(cfg.columns),
        on_bad_lines=on_bad_lines,
        download=download,
        prefer_ratings=_prefers_ratings(cfg),
        **_reader_options(cfg),
    )


def load_training_data(cfg: ExperimentConfig, *, on_bad_lines: Literal["error", "skip"] = "error", download: bool = True) -> Interactions:
    """The data one model is fitted on: ``cfg.train`` or the whole ``cfg.dataset`` (splitting is the caller's),
    with ``cfg.metadata`` attached."""
    if cfg.train is not None:
        data = read_ratings(cfg.train, columns=_columns(cfg.columns), on_bad_lines=on_bad_lines, prefer_ratings=_prefers_ratings(cfg), **_reader_options(cfg))
    elif cfg.dataset is not None:
        data = load_config_dataset(cfg, on_bad_lines=on_bad_lines, download=download)
    else:
        raise ConfigError("no data; give a dataset (name, folder or file) or a train file")
    return attach_metadata(data, cfg.metadata) if cfg.metadata is not None else data


def _prefers_ratings(cfg: ExperimentConfig) -> bool:
    """A ``binary:T`` target derives its labels from the ratings: a file that also has a label column is read
    with its ratings (see :func:`cofirec.data.targets.read_preferring_ratings`)."""
    target = cfg.parsed_target()
    return target.kind == "binary" and target.value is not None


def load_source(
    source: str | Path,
    *,
    data_dir: str | Path | None = None,
    columns: list[str] | None = None,
    on_bad_lines: Literal["error", "skip"] = "error",
    download: bool = True,
    sep: str | None = None,
    encoding: str | None = None,
    prefer_ratings: bool = False,
) -> Interactions:
    """A dataset name, MovieLens-layout folder or ratings file (``cofirec.data.resolve.load_dataset``);
    ``prefer_ratings`` see :func:`cofirec.data.targets.read_preferring_ratings`."""
    from cofirec.data.resolve import load_dataset

    def read(cols: list[str] | None) -> Interactions:
        return load_dataset(str(source), data_dir=data_dir, columns=cols, on_bad_lines=on_bad_lines, download=download, sep=sep, encoding=encoding)

    return read_preferring_ratings(read, columns, prefer_ratings)


def read_ratings(
    path: str | Path,
    *,
    columns: list[str] | None = None,
    on_bad_lines: Literal["error", "skip"] = "error",
    sep: str | None = None,
    encoding: str | None = None,
    prefer_ratings: bool = False,
) -> Interactions:
    """A plain ratings file (train/test files written by ``cofirec split``, or any ratings file)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "no such file", str(path))
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a ratings file")
    from cofirec.data.readers import read_ratings_file

    def read(cols: list[str] | None) -> Interactions:
        return read_ratings_file(path, columns=cols, on_bad_lines=on_bad_lines, sep=sep, encoding=encoding)

    return read_preferring_ratings(read, columns, prefer_ratings)


def _reader_options(cfg: ExperimentConfig) -> dict[str, str]:
    """``sep`` / ``encoding`` of the config (only those set), for the ratings-file reader."""
    return {key: value for key, value in (("sep", cfg.sep), ("encoding", cfg.encoding)) if value is not None}


def _cold_target(cold: Interactions, target) -> Interactions:
    """The target applied to the cold rows; a threshold that keeps none of them leaves them empty (no error)."""
    try:
        return apply_target(cold, target)
    except DataError:
        return apply_target(cold.subset(np.zeros(len(cold), dtype=bool)), target)


def split_config_data(data: Interactions, cfg: ExperimentConfig):
    """``split_data(data, cfg.split.method, test_ratio=..., seed=...)`` (plus k / fold / cutoff / cold when set)."""
    from cofirec.data.splits import split_data

    params = inspect.signature(split_data).parameters
    kwargs: dict[str, Any] = {"test_ratio": cfg.split.test_ratio, "seed": cfg.split_seed}
    for name in ("k", "fold", "cutoff", "cold"):
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
