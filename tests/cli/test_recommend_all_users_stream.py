"""``cofirec recommend DIR --all-users``: csv / jsonl / json / parquet outputs equal the per-user lists, files
are written atomically, and output is written block by block (memory does not grow with the users)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

import cofirec
from cofirec.cli import recommend_all as ra


@pytest.fixture(scope="module")
def knn_run(synth_file, tmp_path_factory):
    """A small implicit item-kNN model trained through the CLI (ties in its scores)."""
    from cofirec.cli.main import main

    out = tmp_path_factory.mktemp("runs") / "knn"
    with pytest.raises(SystemExit) as exc:
        main(["train", "item-knn", "--train", str(synth_file), "--implicit", "--param", "k=5", "--out", str(out), "--json"])
    assert exc.value.code in (0, None)
    return out


def _expected_long(model, n: int) -> pd.DataFrame:
    """Per-user ``recommend`` lists, one row per entry: user, rank, item, score (rounded as the CLI does)."""
    rows = []
    for user in model.user_map_.ids.tolist():
        rec = model.recommend(user, n=n)
        for rank, (item, score) in enumerate(zip(rec.items.tolist(), rec.scores.tolist()), start=1):
            rows.append((user, rank, item, round(float(score), 6)))
    return pd.DataFrame(rows, columns=["user", "rank", "item", "score"])


def test_parquet_equals_per_user_lists(cli, knn_run, tmp_path):
    out = tmp_path / "recs.parquet"
    res = cli("recommend", knn_run, "--all-users", "-n", "4", "--batch-size", "7", "--out", out)
    assert res.code == 0, res.stderr
    got = pd.read_parquet(out)
    assert list(got.columns) == ["user", "rank", "item", "score"] and got["score"].dtype == np.float32
    want = _expected_long(cofirec.load(knn_run), 4)
    assert got[["user", "rank", "item"]].equals(want[["user", "rank", "item"]].astype(got[["user", "rank", "item"]].dtypes))
    assert np.allclose(got["score"], want["score"], atol=1e-6)
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == -(-cofirec.load(knn_run).n_users // 7), "one row group per block"
    assert not [p for p in tmp_path.iterdir() if p.name != "recs.parquet"], "no temporary file left"


def test_csv_equals_per_user_lists(cli, knn_run, tmp_path):
    res = cli("recommend", knn_run, "--all-users", "-n", "3", "--format", "csv", "--batch-size", "5")
    assert res.code == 0, res.stderr
    got = pd.read_csv(io.StringIO(res.stdout))
    want = _expected_long(cofirec.load(knn_run), 3)
    assert got[["user", "rank", "item"]].equals(want[["user", "rank", "item"]])
    assert np.allclose(got["score"], want["score"], atol=1e-6)
    # the same bytes to a file with --out (format from the suffix)
    assert cli("recommend", knn_run, "--all-users", "-n", "3", "--batch-size", "5", "--out", tmp_path / "r.csv").code == 0
    assert (tmp_path / "r.csv").read_text() == res.stdout


def test_jsonl_equals_user_records(cli, knn_run):
    res = cli("recommend", knn_run, "--all-users", "-n", "3", "--batch-size", "4")
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    some = [str(u) for u in [lines[0]["user"], lines[5]["user"]]]
    ones = cli("recommend", knn_run, "--user", some[0], "--user", some[1], "-n", "3", "--json").json()
    assert [lines[0], lines[5]] == ones
    whole = cli("recommend", knn_run, "--all-users", "-n", "3", "--json").json()
    assert whole == lines


def test_written_block_by_block(knn_run, monkeypatch, capsys):
    """Each block is written before the next is scored, and no call sees more than a block of users."""
    model = cofirec.load(knn_run)
    events: list[tuple[str, int]] = []
    real_recommend = model.recommend

    def recommend(users, **kw):
        events.append(("score", len(users)))
        return real_recommend(users, **kw)

    real_write = ra.CsvWriter.write

    def write(self, block):
        events.append(("write", len(block.users)))
        real_write(self, block)

    monkeypatch.setattr(model, "recommend", recommend)
    monkeypatch.setattr(ra.CsvWriter, "write", write)
    n_users = ra.recommend_all(model, 3, exclude_seen=True, batch_size=6, fmt="csv", out=None, progress=False)
    monkeypatch.setattr(model, "recommend", real_recommend)
    blocks = -(-n_users // 6)
    assert [e[0] for e in events] == ["score", "write"] * blocks
    assert max(e[1] for e in events) <= 6
    assert capsys.readouterr().out.count("\n") == 1 + len(_expected_long(model, 3))


def test_interrupted_write_leaves_no_file(knn_run, tmp_path, monkeypatch):
    model = cofirec.load(knn_run)
    calls = []

    def failing(self, block):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(ra.ParquetWriter, "write", failing)
    with pytest.raises(KeyboardInterrupt):
        ra.recommend_all(model, 3, exclude_seen=True, batch_size=4, fmt="parquet", out=tmp_path / "r.parquet", progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--all-users", "--format", "parquet"), "add --out FILE"),
        (("--all-users", "--format", "table"), "--all-users writes jsonl, json, csv, parquet"),
        (("--user", "1", "--format", "csv"), "csv and parquet with --all-users"),
    ],
)
def test_output_option_errors(cli, knn_run, args, message):
    res = cli("recommend", knn_run, *args)
    assert res.code == 2 and message in res.stderr and res.stderr.count("\n") == 1
