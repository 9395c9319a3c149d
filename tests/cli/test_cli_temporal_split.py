"""``--split temporal|user-temporal``, ``--cutoff`` and ``--cold`` on split, train, evaluate, compare and tune, and
``split.cutoff`` / ``split.cold`` in config files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cofirec.data.readers import read_ratings_file

# Users 1-3 and items a-c appear before 30; user 4 and item d only from 30 on (as in tests/data/test_temporal_splits.py).
ROWS = [
    (1, "a", 10),
    (1, "b", 20),
    (2, "a", 20),
    (2, "b", 25),
    (2, "c", 25),
    (3, "c", 15),
    (1, "c", 30),
    (3, "a", 30),
    (4, "a", 30),
    (1, "d", 40),
    (4, "d", 40),
    (3, "b", 50),
]


@pytest.fixture
def tiny_file(tmp_path):
    frame = pd.DataFrame(ROWS, columns=["user", "item", "timestamp"])
    frame.insert(2, "rating", [4, 5, 3, 4, 2, 5, 4, 3, 5, 4, 2, 3])
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    return path


def rows_of(path) -> set[tuple]:
    f = read_ratings_file(path).to_frame()
    return set(zip(f["user"].tolist(), f["item"].tolist(), f["timestamp"].tolist(), strict=True))


def one_line_error(res, *parts: str) -> None:
    assert res.code == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for part in parts:
        assert part in lines[0], lines[0]


# ---------------------------------------------------------------------- cofirec split
def test_split_temporal_writes_cold_file_and_records_the_cutoff(cli, tiny_file, tmp_path):
    out = tmp_path / "s"
    res = cli("split", tiny_file, "--split", "temporal", "--cutoff", "30", "--out", out, "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["cutoff"] == "1970-01-01T00:00:30" and report["cold_policy"] == "separate"
    assert (report["n_cold_rows"], report["n_cold_users"], report["n_cold_items"]) == (3, 1, 1)
    assert report["cold_file"] == str(out / "cold.tsv") and report["test_interactions"] == 3
    assert rows_of(out / "train.tsv") == {r for r in ROWS if r[2] < 30}
    assert rows_of(out / "test.tsv") == {(1, "c", 30), (3, "a", 30), (3, "b", 50)}
    assert rows_of(out / "cold.tsv") == {(4, "a", 30), (1, "d", 40), (4, "d", 40)}
    manifest = json.loads((out / "split.json").read_text())
    assert manifest["method"] == "temporal" and manifest["cutoff_unix"] == 30 and manifest["n_cold_rows"] == 3
    assert set(manifest["files"]) == {"train.tsv", "test.tsv", "cold.tsv"} and manifest["seed"] is None


def test_split_temporal_summary_prints_cutoff_and_cold_counts(cli, tiny_file, tmp_path):
    res = cli("split", tiny_file, "--method", "temporal", "--cutoff", "30", "--out", tmp_path / "s")
    assert res.code == 0, res.stderr
    text = " ".join(res.stdout.split())
    assert "temporal cut-off 1970-01-01T00:00:30 UTC" in text
    assert "3 cold test rows (1 new users, 1 new items) written to" in text and "cold.tsv" in text


def test_split_temporal_drop_and_rewrite_removes_stale_cold_file(cli, tiny_file, tmp_path):
    out = tmp_path / "s"
    assert cli("split", tiny_file, "--split", "temporal", "--cutoff", "30", "--out", out).code == 0
    assert (out / "cold.tsv").exists()
    res = cli("split", tiny_file, "--split", "temporal", "--cutoff", "30", "--cold", "drop", "--out", out, "--json")
    assert res.code == 0, res.stderr
    assert res.json()["n_dropped"] == 3 and "cold_file" not in res.json()
    assert not (out / "cold.tsv").exists() and len(read_ratings_file(out / "test.tsv")) == 3
    res = cli("split", tiny_file, "--split", "temporal", "--cutoff", "30", "--cold", "drop", "--out", tmp_path / "t")
    assert "dropped (--cold drop)" in " ".join(res.stdout.split())


def test_split_temporal_quantile_and_user_temporal(cli, tiny_file, tmp_path):
    res = cli("split", tiny_file, "--split", "temporal", "--test-ratio", "0.25", "--out", tmp_path / "q", "--json")
    assert res.code == 0 and res.json()["cutoff"] == "1970-01-01T00:00:40"
    res = cli("split", tiny_file, "--split", "user-temporal", "--test-ratio", "0.5", "--out", tmp_path / "u", "--json")
    assert res.code == 0, res.stderr
    assert rows_of(tmp_path / "u" / "test.tsv") == {(1, "c", 30), (1, "d", 40), (2, "b", 25), (2, "c", 25), (3, "a", 30), (3, "b", 50), (4, "d", 40)}
    assert not (tmp_path / "u" / "cold.tsv").exists() and "cutoff" not in res.json()


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (("--split", "temporal", "--cutoff", "1969-12-31"), ("at or before the first timestamp", "training part would be empty")),
        (("--split", "temporal", "--cutoff", "2001-01-01"), ("after the last timestamp", "test part would be empty")),
        (("--split", "temporal", "--cutoff", "1998-02-30"), ("cutoff '1998-02-30': not a date",)),
        (("--split", "temporal", "--cold", "keep"), ("cold: expected one of separate, drop",)),
        (("--split", "random", "--cutoff", "30"), ("cutoff applies to the temporal split only",)),
    ],
)
def test_split_temporal_errors(cli, tiny_file, tmp_path, args, parts):
    one_line_error(cli("split", tiny_file, *args, "--out", tmp_path / "s"), *parts)
    assert not (tmp_path / "s").exists()


def test_split_temporal_without_timestamps(cli, tmp_path):
    path = tmp_path / "notime.csv"
    pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 1], "rating": [3, 4, 5]}).to_csv(path, index=False)
    one_line_error(cli("split", path, "--split", "temporal", "--out", tmp_path / "s"), "split temporal needs a timestamp column")
    one_line_error(cli("split", path, "--split", "user-temporal", "--out", tmp_path / "s"), "split user-temporal needs a timestamp column")


# ---------------------------------------------------------------------- train + evaluate on the cold rows
def test_train_temporal_split_writes_cold_rows_that_evaluate_accepts(cli, tiny_file, tmp_path):
    out = tmp_path / "m"
    res = cli("train", "popularity", "--dataset", tiny_file, "--split", "temporal", "--cutoff", "30", "--out", out)
    assert res.code == 0, res.stderr
    assert "3 cold test rows" in " ".join(res.stdout.split())
    assert rows_of(out / "cold.tsv") == {(4, "a", 30), (1, "d", 40), (4, "d", 40)}
    res = cli("evaluate", out, "--test", out / "cold.tsv", "--protocol", "ranking", "--allow-unknown", "--json")
    assert res.code == 0, res.stderr  # the model's own split: its cold file is not refused as another split's
    other = tmp_path / "other"
    assert cli("split", tiny_file, "--split", "temporal", "--cutoff", "25", "--out", other).code == 0
    one_line_error(cli("evaluate", out, "--test", other / "cold.tsv", "--allow-unknown"), "is from a different split", "cut-off 1970-01-01T00:00:25")


def test_train_refuses_cutoff_without_temporal_split(cli, tiny_file, tmp_path):
    one_line_error(cli("train", "popularity", "--dataset", tiny_file, "--split", "user", "--cold", "drop", "--out", tmp_path / "m"), "split.cold", "temporal")


# ---------------------------------------------------------------------- compare, tune and config files
def test_compare_temporal_split_reproduces_with_cutoff(cli, tiny_file):
    args = ("compare", "--dataset", tiny_file, "--split", "temporal", "--cutoff", "30", "--cold", "drop", "--models", "popularity", "--json")
    res = cli(*args)
    assert res.code == 0, res.stderr
    out = res.json()
    assert "--split temporal" in out["command"] and "--cutoff 30" in out["command"] and "--cold drop" in out["command"]
    assert "temporal(cutoff=1970-01-01T00:00:30, cold=drop)" in out["data"]["name"] and out["data"]["test"] == 3


def test_compare_and_tune_name_bad_temporal_options(cli, tiny_file, tmp_path):
    res = cli("compare", "--dataset", tiny_file, "--split", "temporal", "--cutoff", "someday", "--models", "popularity")
    one_line_error(res, "split.cutoff", "not a date")
    res = cli("tune", "popularity", "--dataset", tiny_file, "--split", "temporal", "--cold", "maybe", "--report", tmp_path / "r")
    one_line_error(res, "split.cold", "expected one of separate, drop")


def test_config_file_takes_a_toml_date_cutoff(cli, tiny_file, tmp_path):
    from cofirec.experiments.config import load_config
    from cofirec.experiments.data import prepare_data

    config = tmp_path / "exp.toml"
    config.write_text(f'dataset = "{tiny_file}"\n[split]\nmethod = "temporal"\ncutoff = 1970-01-01T00:00:30Z\n[[models]]\nname = "popularity"\n')
    cfg = load_config(config)
    prepared = prepare_data(cfg)
    assert prepared.split_info["cutoff_unix"] == 30 and prepared.cold is not None and len(prepared.cold) == 3
    assert len(prepared.test) == 3 and prepared.test.user_map is prepared.cold.user_map
    config.write_text(f'dataset = "{tiny_file}"\n[split]\nmethod = "random"\ncutoff = 30\n[[models]]\nname = "popularity"\n')
    one_line_error(cli("compare", "--config", config), "split.cutoff", "applies to the temporal split only")
