"""Shared fixtures of the experiment tests: tiny synthetic splits, ratings files, an in-process CLI runner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from cofirec.data.synthetic import make_synthetic

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def shared_path(rel: str) -> Path:
    """A file or folder under ../shared/data (next to the repo), or skip the test when it is absent."""
    path = (SHARED_DATA / rel).resolve()
    if not path.exists():
        pytest.skip(f"MovieLens copy not available: {path} (expected ../shared/data next to the repo)")
    return path


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


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``cofirec ARGS`` in-process through the console-script entry point; returns a CliResult."""
    from cofirec.cli.main import main

    monkeypatch.delenv("COFIREC_DEBUG", raising=False)
    monkeypatch.delenv("COFIREC_DATA", raising=False)

    def run(*args) -> CliResult:
        capsys.readouterr()
        code = 0
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def real_data():
    """``real_data("ml-100k")`` -> path under ../shared/data (skips the test when absent)."""
    return shared_path
