"""Fixtures shared by every test folder: the ../shared/data MovieLens copies and an in-process ``cofirec`` runner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared_path(rel: str) -> Path:
    """A file or folder under ../shared/data (next to the repo), or skip the test when it is absent."""
    path = (SHARED_DATA / rel).resolve()
    if not path.exists():
        pytest.skip(f"MovieLens copy {rel} not found at {path} (expected ../shared/data next to the repo)")
    return path


@pytest.fixture(scope="session")
def real_data():
    """``real_data("ml-100k")`` -> path under ../shared/data (skips the test when absent)."""
    return shared_path


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
