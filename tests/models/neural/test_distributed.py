"""Data-parallel training under torchrun (``cofirec train MODEL --distributed``): sharding, gradient averaging,
rank-0 decisions and artifacts, against single-process training.

The 2-process runs start ``python -m torch.distributed.run --standalone --nproc_per_node=2`` (gloo on the CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import cofirec
from cofirec.errors import ConfigError
from cofirec.models.neural import distributed
from cofirec.models.neural.batching import batch_indices
from cofirec.models.neural.embedding_dot import EmbeddingDot

WORKER = Path(__file__).with_name("dist_worker.py")
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def _torchrun(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``torchrun ARGS`` with this checkout's cofirec importable; fail with both ranks' output."""
    env = dict(os.environ)
    src = str(Path(cofirec.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = "1"
    for name in distributed.ENV_VARS:
        env.pop(name, None)
    proc = subprocess.run([*TORCHRUN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"torchrun failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


# ---------------------------------------------------------------------- without processes
@pytest.mark.parametrize("n, batch, world", [(101, 10, 2), (99, 7, 2), (50, 64, 3), (3, 4, 4), (1000, 128, 5)])
def test_local_parts_are_disjoint_cover_every_row_and_give_every_rank_the_same_step_count(n, batch, world):
    batches = list(batch_indices(n, batch, torch.Generator().manual_seed(0)))
    shards = [distributed.shard_rows(batches, distributed.DistContext(r, world, r, "gloo")) for r in range(world)]
    assert {len(s) for s in shards} == {len(batches)}  # same number of optimiser steps on every rank
    rows = np.concatenate([torch.cat(s).numpy() for s in shards])
    assert len(rows) == n and np.array_equal(np.sort(rows), np.arange(n))
    for step, whole in enumerate(batches):  # each global batch is exactly the union of the ranks' parts
        parts = [shards[r][step] for r in range(world)]
        assert torch.equal(torch.cat(parts), whole)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_torchrun_env_missing_or_bad_is_a_clear_error():
    with pytest.raises(ConfigError, match="launch the command with torchrun.*--nproc_per_node"):
        distributed.torchrun_env({})
    base = {"MASTER_ADDR": "localhost", "MASTER_PORT": "29500", "LOCAL_RANK": "0"}
    with pytest.raises(ConfigError, match="must be integers"):
        distributed.torchrun_env({**base, "RANK": "zero", "WORLD_SIZE": "2"})
    with pytest.raises(ConfigError, match="RANK=2 is not in"):
        distributed.torchrun_env({**base, "RANK": "2", "WORLD_SIZE": "2"})
    assert distributed.torchrun_env({**base, "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}) == (1, 2, 1)
    assert distributed.current() is None  # nothing joined in this process


def test_cli_distributed_without_torchrun_or_on_the_wrong_model_says_what_to_do(cli, tmp_path, monkeypatch):
    for name in distributed.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    ratings = tmp_path / "r.csv"
    pd.DataFrame({"user": [1, 1, 2, 2], "item": [1, 2, 1, 3], "rating": [4, 3, 5, 2]}).to_csv(ratings, index=False)
    res = cli("train", "embedding-dot", "--train", ratings, "--distributed", "--out", tmp_path / "m")
    assert res.code == 2 and "RANK, WORLD_SIZE, LOCAL_RANK" in res.stderr and "torchrun --standalone" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "m").exists()
    res = cli("train", "als", "--train", ratings, "--distributed", "--out", tmp_path / "m")
    assert res.code == 2 and "trains the neural models" in res.stderr
    res = cli("train", "als", "--engine", "spark", "--train", ratings, "--distributed", "--out", tmp_path / "m")
    assert res.code == 2 and "--distributed" in res.stderr


def test_train_help_documents_the_torchrun_line(cli):
    res = cli("train", "--help")
    assert res.code == 0
    text = " ".join(res.stdout.split())
    assert "torchrun --standalone --nproc_per_node=2 -m cofirec train embedding-dot" in text and "--distributed" in text


# ---------------------------------------------------------------------- two gloo processes
@pytest.mark.distributed
def test_two_ranks_train_disjoint_shards_and_end_with_the_single_process_weights(tmp_path):
    sys.path.insert(0, str(WORKER.parent))
    try:
        import dist_worker as worker
    finally:
        sys.path.remove(str(WORKER.parent))
    _torchrun([str(WORKER), str(tmp_path)], cwd=tmp_path)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    data = worker.synthetic()
    # shards: every training row once, on exactly one rank
    seen = [set(map(tuple, r["seen"].tolist())) for r in ranks]
    assert all(len(s) == len(r["seen"]) for s, r in zip(seen, ranks))  # no row twice on a rank
    assert not seen[0] & seen[1]
    assert seen[0] | seen[1] == set(zip(data.users.tolist(), data.items.tolist()))
    assert abs(len(ranks[0]["seen"]) - len(ranks[1]["seen"])) <= len(list(batch_indices(len(data), worker.odd_batch_size(len(data)))))
    # averaged gradients: both ranks hold the same weights, and they are the single-process model's
    single = {
        "shard": EmbeddingDot(batch_size=worker.odd_batch_size(len(data)), **worker.SHARD_PARAMS).fit(data),
        "early": EmbeddingDot(**worker.EARLY_PARAMS).fit(data),
    }
    for prefix, model in single.items():
        for key, value in model.module_.state_dict().items():
            a, b = ranks[0][f"{prefix}/{key}"], ranks[1][f"{prefix}/{key}"]
            np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(a, value.numpy(), atol=1e-5, err_msg=f"{prefix}/{key}")
    # early stopping: rank 0's decision everywhere, the same as in one process
    assert single["early"].stopped_early_ and int(ranks[0]["best_epoch"]) == int(ranks[1]["best_epoch"]) == single["early"].best_epoch_
    assert int(ranks[0]["epochs_run"]) == int(ranks[1]["epochs_run"]) == single["early"].epochs_run_


@pytest.mark.distributed
def test_torchrun_cli_saves_one_normal_artifact_that_loads_and_predicts(tmp_path, cli):
    from cofirec.data.synthetic import make_synthetic

    data = make_synthetic(n_users=60, n_items=40, seed=5)
    ratings = tmp_path / "ratings.csv"
    frame = pd.DataFrame({"user": data.user_map.to_raw(data.users), "item": data.item_map.to_raw(data.items), "rating": data.ratings})
    frame.to_csv(ratings, index=False)
    common = ["embedding-dot", "--train", str(ratings), "--epochs", "3", "--device", "cpu", "--json", "-p", "factors=8"]
    proc = _torchrun(["-m", "cofirec", "train", *common, "--distributed", "--out", str(tmp_path / "dist")], cwd=tmp_path)
    report = json.loads(proc.stdout)  # one JSON document: rank 0 alone reports (and saves)
    assert report["out"] == str(tmp_path / "dist") and report["epochs_run"] == 3
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == sorted(p.name for p in _single_fit(cli, common, tmp_path / "one").iterdir())
    dist_model, one_model = cofirec.load(tmp_path / "dist"), cofirec.load(tmp_path / "one")
    assert type(dist_model) is EmbeddingDot and dist_model.get_params() == one_model.get_params()
    users, items = frame["user"].to_numpy()[:50], frame["item"].to_numpy()[:50]
    np.testing.assert_allclose(dist_model.predict(users, items), one_model.predict(users, items), atol=1e-4)
    recs = dist_model.recommend(users[:3], n=5)
    assert np.asarray(recs.items).shape == (3, 5)


def _single_fit(cli, common: list[str], out: Path) -> Path:
    res = cli("train", *common, "--out", out)
    assert res.code == 0, res.stderr
    return out


@pytest.mark.distributed
@pytest.mark.realdata
def test_two_process_embedding_dot_matches_single_process_rmse_on_ml100k_u1(real_data, cli, tmp_path):
    base, test = real_data("ml-100k/u1.base"), real_data("ml-100k/u1.test")
    common = ["embedding-dot", "--train", str(base), "--epochs", "8", "--device", "cpu", "--json"]
    _torchrun(["-m", "cofirec", "train", *common, "--distributed", "--out", str(tmp_path / "dist")], cwd=tmp_path)
    _single_fit(cli, common, tmp_path / "one")
    rmse = {}
    for name in ("dist", "one"):
        res = cli("evaluate", tmp_path / name, "--test", test, "--protocol", "rating", "--json")
        assert res.code == 0, res.stderr
        rmse[name] = float(res.json()["rmse"])
    assert rmse["one"] < 1.0  # a trained model, not a constant
    assert abs(rmse["dist"] - rmse["one"]) < 0.01, rmse
