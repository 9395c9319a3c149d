"""Data layer: the interaction container, readers, MovieLens loaders, synthetic data and splits.

The names below are the public data API; the submodules hold the details.
"""

from cofirec.data.dataset import Interactions
from cofirec.data.download import KNOWN_DATASETS, DatasetInfo, default_cache_dir, download_dataset
from cofirec.data.features import categorical_matrix, genre_matrix, user_feature_matrix
from cofirec.data.idmap import IdMap
from cofirec.data.movielens import (
    detect_layout,
    load_metadata,
    load_movielens,
    load_movielens_1m,
    load_movielens_100k,
    load_movielens_latest,
)
from cofirec.data.negatives import SampledNegatives, read_ncf_negatives, sample_negatives
from cofirec.data.readers import read_ratings_file, write_ratings_file
from cofirec.data.resolve import dataset_status, load_dataset, resolve_source
from cofirec.data.splits import (
    SPLIT_METHODS,
    Split,
    kfold,
    leave_last_out,
    random_split,
    split_data,
    split_report,
    train_test_from_files,
    user_ratio_split,
    validation_split,
)
from cofirec.data.synthetic import make_synthetic
from cofirec.data.temporal import temporal_split, user_temporal_split

__all__ = [
    "KNOWN_DATASETS",
    "SPLIT_METHODS",
    "DatasetInfo",
    "IdMap",
    "Interactions",
    "SampledNegatives",
    "Split",
    "categorical_matrix",
    "dataset_status",
    "default_cache_dir",
    "detect_layout",
    "download_dataset",
    "genre_matrix",
    "kfold",
    "leave_last_out",
    "load_dataset",
    "load_metadata",
    "load_movielens",
    "load_movielens_100k",
    "load_movielens_1m",
    "load_movielens_latest",
    "make_synthetic",
    "random_split",
    "read_ncf_negatives",
    "read_ratings_file",
    "resolve_source",
    "sample_negatives",
    "split_data",
    "split_report",
    "temporal_split",
    "train_test_from_files",
    "user_ratio_split",
    "user_temporal_split",
    "user_feature_matrix",
    "validation_split",
    "write_ratings_file",
]
