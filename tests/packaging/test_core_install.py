"""``pip install cofirec`` without extras: the data layer, classic models, evaluation and the CLI work without
PyTorch, Optuna or matplotlib, and asking for what needs them names the extra to install.

The first test builds a real fresh virtual environment from this checkout (no extras) and drives the installed
``cofirec`` script; it needs the package registry (or pip's cache), as ``make test`` does anyway.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _write_ratings(path: Path) -> None:
    rng = np.random.default_rng(0)
    users = rng.integers(1, 120, 3000)
    items = rng.zipf(1.6, 3000) % 200 + 1
    ratings = rng.integers(1, 6, 3000)
    lines = ["user\titem\trating"] + [f"{u}\t{i}\t{r}" for u, i, r in zip(users, items, ratings, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_core_install_without_extras_trains_evaluates_and_recommends(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = _run([str(python), "-m", "pip", "install", "-q", str(REPO)], env, tmp_path)
    assert install.returncode == 0, install.stderr[-3000:]
    for package in ("torch", "optuna", "matplotlib", "pyspark", "fastapi", "faiss"):
        probe = _run([str(python), "-c", f"import {package}"], env, tmp_path)
        assert probe.returncode != 0, f"{package} was installed by 'pip install cofirec' without extras"

    cofirec = str(env_dir / "bin" / "cofirec")
    ratings = tmp_path / "ratings.tsv"
    _write_ratings(ratings)
    steps = [
        [cofirec, "split", str(ratings), "--method", "user", "--test-ratio", "0.2", "--out", "split"],
        [cofirec, "train", "ials", "--train", "split/train.tsv", "--implicit", "--out", "ials"],
        [cofirec, "evaluate", "ials", "--test", "split/test.tsv", "--json"],
        [cofirec, "recommend", "ials", "--user", "5", "-n", "3", "--json"],
        [cofirec, "train", "item-knn", "--train", "split/train.tsv", "--out", "iknn"],
        [cofirec, "evaluate", "iknn", "--test", "split/test.tsv", "--json"],
        [cofirec, "recommend", "iknn", "--user", "5", "-n", "3", "--json"],
    ]
    for step in steps:
        done = _run(step, env, tmp_path)
        assert done.returncode == 0, f"{' '.join(step[1:])}: {done.stderr[-2000:]}"
    assert "ndcg@10" in _run(steps[2], env, tmp_path).stdout
    assert "rmse" in _run(steps[5], env, tmp_path).stdout

    neural = _run([cofirec, "train", "neumf", "--train", "split/train.tsv", "--out", "nm"], env, tmp_path)
    assert neural.returncode == 2
    assert "pip install 'cofirec[neural]'" in neural.stderr
    assert "Traceback" not in neural.stderr
    listing = _run([cofirec, "models", "--json"], env, tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert '"available": false' in listing.stdout


def test_missing_optional_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from cofirec._extras import missing_dependency, require
    from cofirec.errors import ConfigError, MissingDependencyError

    monkeypatch.setitem(sys.modules, "optuna", None)  # an import of optuna now fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"tune needs optuna.*pip install 'cofirec\[experiments\]'"):
        require("optuna", "tune")
    assert issubclass(MissingDependencyError, ConfigError)
    assert missing_dependency(ModuleNotFoundError("No module named 'foo'", name="foo")) is None
    error = missing_dependency(ModuleNotFoundError("No module named 'torch.nn'", name="torch.nn"))
    assert error is not None and "cofirec[neural]" in str(error)


def test_registry_names_the_neural_extra_when_torch_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from cofirec.errors import MissingDependencyError
    from cofirec.models import registry

    for name in [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "cofirec.models.neural"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"model 'neumf' needs torch.*cofirec\[neural\]"):
        registry.get_model_class("neumf")
    assert registry.get_model_class("ials").name == "ials"
    assert "neumf" not in registry.available_models()
