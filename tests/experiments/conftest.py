"""Shared fixtures of the experiment tests: tiny synthetic splits and ratings files (the CLI runner lives in tests/conftest.py)."""

from __future__ import annotations

import pytest

from cofirec.data.synthetic import make_synthetic


@pytest.fixture(scope="session")
def tiny_split():
    """Train/test of a 120 x 80 synthetic dataset (explicit 1-5 ratings), random 80/20 split."""
    from cofirec.data.splits import split_data

    data = make_synthetic(n_users=120, n_items=80, density=0.1, seed=3)
    return split_data(data, "random", test_ratio=0.2, seed=0)


@pytest.fixture
def split_files(tmp_path, tiny_split):
    """The tiny split written as tab-separated train/test files (with header)."""
    from cofirec.data.readers import write_ratings_file

    train = write_ratings_file(tiny_split.train, tmp_path / "train.tsv", header=True)
    test = write_ratings_file(tiny_split.test, tmp_path / "test.tsv", header=True)
    return train, test
