"""Nothing half-written ever loads: ``cofirec split`` and ``cofirec train --split --out`` killed (SIGKILL, SIGINT)
at many moments leave either the complete old folder or the complete new one.

Each kill is timed from the moment the output changes on disk (a temporary sibling appears or a file is
rewritten: the write has started), at increasing delays, plus one kill before any write. The folder is then
checked: both split files whole (their rows add up to the source), split.json written for exactly these files,
and (train) the model loading and recording the same split.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cofirec
from cofirec.cli.common import read_file, write_interactions
from cofirec.data.synthetic import make_synthetic

SRC = Path(__file__).resolve().parents[2] / "src"
DELAYS = (None, 0.0, 0.01, 0.04, 0.15)
"""Seconds after the write starts (None: a fixed early kill, before any write)."""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    data = make_synthetic(n_users=1500, n_items=600, density=0.06, seed=3)
    return write_interactions(data, tmp_path_factory.mktemp("src") / "ratings.tsv")


def command(kind: str, source: Path, out: Path, seed: int) -> list[str]:
    if kind == "split":
        return [sys.executable, "-m", "cofirec", "split", str(source), "--out", str(out), "--seed", str(seed)]
    return [sys.executable, "-m", "cofirec", "train", "popularity", "--dataset", str(source), "--split", "random", "--seed", str(seed), "--out", str(out)]


def run_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("COFIREC_DEBUG", None)
    return env


def complete_run(cli, kind: str, source: Path, out: Path, seed: int) -> None:
    """The same command run to the end (in-process: faster)."""
    assert cli(*command(kind, source, out, seed)[3:]).code == 0


def snapshot(out: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of the output folder's files and of its temporary siblings: changes once writing starts."""
    entries = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    entries += list(out.iterdir()) if out.is_dir() else []
    out_stats = {}
    for p in entries:
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        out_stats[str(p)] = (st.st_size, st.st_mtime_ns)
    return out_stats


def kill_during_write(kind: str, source: Path, out: Path, seed: int, delay: float | None, sig: int) -> str:
    """Start the command, kill it ``delay`` s after it starts writing; returns what happened."""
    before = snapshot(out)
    proc = subprocess.Popen(command(kind, source, out, seed), env=run_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if delay is None:
            time.sleep(0.15)
        else:
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline and snapshot(out) == before:
                time.sleep(0.002)
            time.sleep(delay)
        if proc.poll() is not None:
            return "finished"
        proc.send_signal(sig)
        proc.wait(timeout=60)
        return "killed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def check_folder(kind: str, out: Path, n_rows: int) -> int:
    """The folder holds one complete state (returns its seed): both files whole (they add up to the source and
    match the checksums split.json was written with after them), and the model belongs to them."""
    assert len(read_file(out / "train.tsv")) + len(read_file(out / "test.tsv")) == n_rows, "a split file is truncated"
    current = {name: sha(out / name) for name in ("train.tsv", "test.tsv")}
    record = json.loads((out / "split.json").read_text())
    assert record["files"] == current, "split.json does not describe the files beside it"
    visible = sorted(p.name for p in out.iterdir())
    if kind == "train":
        assert visible == ["arrays.npz", "manifest.json", "split.json", "test.tsv", "train.tsv"]
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["training"]["split"]["files"] == current, "the model does not belong to the split beside it"
        cofirec.load(out)
    else:
        assert visible == ["split.json", "test.tsv", "train.tsv"]
    return int(record["seed"])


@pytest.mark.parametrize("kind", ["split", "train"])
def test_killed_writes_leave_old_or_new_complete(cli, kind, source, tmp_path):
    n_rows = len(read_file(source))
    out = tmp_path / "out"
    complete_run(cli, kind, source, out, 0)
    seed, outcomes = 0, []
    for i, delay in enumerate(DELAYS):
        sig = signal.SIGKILL if i % 2 == 0 else signal.SIGINT
        outcomes.append(kill_during_write(kind, source, out, 1 - seed, delay, sig))
        seed = check_folder(kind, out, n_rows)
    assert "killed" in outcomes, "no run was interrupted: the test did not test anything"
    complete_run(cli, kind, source, out, 1 - seed)
    assert check_folder(kind, out, n_rows) != seed
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert not leftovers, f"temporary folders of killed runs were not cleaned up: {leftovers}"
