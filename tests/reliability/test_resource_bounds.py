"""Bounded resources (issue 10): sampled negatives bounded by the catalogue, no endless reads of devices/FIFOs.

The device and FIFO cases run in a child process under a memory limit and a timeout: before the fix
``info /dev/zero`` read until memory ran out and a FIFO without a writer blocked forever.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.negatives import sample_negatives
from cofirec.data.readers import write_ratings_file
from cofirec.data.splits import leave_last_out
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import DataError

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def loo():
    return leave_last_out(make_synthetic(n_users=50, n_items=40, density=0.2, seed=3))


def test_more_negatives_than_unseen_items_is_an_error_with_the_numbers(loo):
    n_cand = int((loo.train.item_counts() > 0).sum())
    with pytest.raises(DataError, match=rf"100,000 negatives per test row asked, but user .* has only \d+ unseen items \(of {n_cand} items"):
        sample_negatives(loo.train, loo.test, n=100_000)


def test_fewer_negatives_on_request_stay_bounded_by_the_catalogue(loo):
    n_cand = int((loo.train.item_counts() > 0).sum())
    neg = sample_negatives(loo.train, loo.test, n=2_000_000, allow_fewer=True)  # used to allocate rows x 2,000,000
    assert neg.negatives.shape == (len(loo.test), n_cand)
    assert (neg.counts < n_cand).all() and (neg.counts > 0).all()


def test_cli_sample_negatives_beyond_the_catalogue(cli, loo, tmp_path):
    write_ratings_file(loo.train, tmp_path / "train.tsv", header=True)
    write_ratings_file(loo.test, tmp_path / "test.tsv", header=True)
    assert cli("train", "popularity", "--train", tmp_path / "train.tsv", "--implicit", "--out", tmp_path / "m").code == 0
    res = cli("evaluate", tmp_path / "m", "--test", tmp_path / "test.tsv", "--sample-negatives", "100000")
    assert res.code == 2 and "unseen items" in res.stderr and "ask for at most" in res.stderr
    most = int(res.stderr.split("ask for at most ")[1].split()[0].replace(",", ""))
    ok = cli("evaluate", tmp_path / "m", "--test", tmp_path / "test.tsv", "--sample-negatives", str(most), "--json")
    assert ok.code == 0, ok.stderr
    assert ok.json()["negatives_per_row"] == most


def run_limited(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``cofirec ARGS`` in a child process with 2 GB of address space (endless reads fail fast, not the host)."""
    code = "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); from cofirec.cli.main import main; main(sys.argv[1:])"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("COFIREC_DEBUG", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_info_on_a_device_is_refused():
    res = run_limited("info", "/dev/zero")
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == "error: /dev/zero: not a regular file (a device, pipe or socket); save the ratings to a file first"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "ratings.fifo"
    os.mkfifo(fifo)
    res = run_limited("info", str(fifo), timeout=30)  # used to block in open() waiting for a writer
    assert res.returncode == 2 and "not a regular file" in res.stderr


def test_the_reader_api_refuses_devices_but_reads_files(tmp_path):
    from cofirec.data.readers import read_ratings_file

    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    with pytest.raises(DataError, match="/dev/null: not a regular file"):  # used to be "file is empty"
        read_ratings_file("/dev/null")
    path = write_ratings_file(Interactions.from_frame(pd.DataFrame({"user": [1], "item": [2], "rating": [3.0]})), tmp_path / "r.tsv")
    assert len(read_ratings_file(path)) == 1
