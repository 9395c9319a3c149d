"""Helpers for the command-line tests: synthetic ratings files (the runner lives in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cofirec.data.synthetic import make_synthetic


def write_tsv(data, path: Path) -> Path:
    """Write interactions with a ``user item rating timestamp`` header."""
    data.to_frame().to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture(scope="session")
def synth():
    return make_synthetic(n_users=60, n_items=40, density=0.15, seed=3)


@pytest.fixture(scope="session")
def synth_file(synth, tmp_path_factory) -> Path:
    return write_tsv(synth, tmp_path_factory.mktemp("synth") / "ratings.tsv")


@pytest.fixture(scope="session")
def synth_items(synth, tmp_path_factory) -> Path:
    """A MovieLens-latest style metadata folder (movies.csv) for the synthetic items."""
    folder = tmp_path_factory.mktemp("meta")
    feats = synth.item_features
    frame = feats.reset_index().rename(columns={"item": "movieId"})[["movieId", "title", "genres"]]
    frame.to_csv(folder / "movies.csv", index=False)
    return folder
