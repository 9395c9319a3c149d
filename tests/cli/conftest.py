"""Helpers for the command-line tests: synthetic ratings files and an in-process ``cofirec`` runner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from cofirec.data.synthetic import make_synthetic

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def shared_dataset(name: str) -> Path:
    """Path of a MovieLens copy in ../shared/data, or skip the test when it is absent."""
    path = (SHARED_DATA / name).resolve()
    if not path.exists():
        pytest.skip(f"real data {name} not found at {path} (expected ../shared/data next to the repo)")
    return path


@pytest.fixture(scope="session")
def real_data():
    """``real_data("ml-100k")`` -> path of that ../shared/data copy (skips the test when absent)."""
    return shared_dataset


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``cofirec ARGS`` in-process through the console-script entry point ``main``; returns a CliResult."""
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
