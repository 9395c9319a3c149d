"""``cofirec recommend DIR --all-users --engine spark --out recs.parquet``: Spark batch top-N from the command line."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

import cofirec
from cofirec.data.synthetic import make_synthetic


@pytest.fixture(scope="module")
def als_dir(tmp_path_factory):
    data = make_synthetic(n_users=40, n_items=30, density=0.2, seed=5)
    model = cofirec.create_model("als", {"factors": 4, "epochs": 3}).fit(data)
    return model.save(tmp_path_factory.mktemp("spark_cli") / "als")


@pytest.mark.spark
def test_spark_batch_recommendations_read_back(cli, spark, als_dir, tmp_path):
    out = tmp_path / "recs.parquet"
    res = cli("recommend", als_dir, "--all-users", "--engine", "spark", "--out", out, "--master", spark.sparkContext.master, "-n", "5", "--json")
    assert res.code == 0, res.stderr
    summary = res.json()
    assert summary["out"] == str(out) and summary["users"] == 40 and summary["n"] == 5
    assert "scoring 40 users" in res.stderr  # progress lines on stderr
    recs = pd.read_parquet(out).sort_values(["user", "rank"])
    assert list(recs.columns) == ["user", "rank", "item", "score"]
    model = cofirec.load(als_dir)
    local = model.recommend(model.user_map_.ids, n=5)
    got = recs.groupby("user")["item"].apply(list)
    assert sorted(got.index.tolist()) == sorted(model.user_map_.ids.tolist())
    for user, items in zip(model.user_map_.ids.tolist(), local.items.tolist()):
        assert got[user] == items
    again = cli("recommend", als_dir, "--all-users", "--engine", "spark", "--out", out)
    assert again.code == 2 and "already exists" in again.stderr
    assert cli("recommend", als_dir, "--all-users", "--engine", "spark", "--out", out, "--overwrite").code == 0


def test_without_pyspark_one_line_error(cli, als_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark -> ModuleNotFoundError
    res = cli("recommend", als_dir, "--all-users", "--engine", "spark", "--out", tmp_path / "r.parquet")
    assert res.code == 2
    assert res.stderr.count("\n") == 1 and "pip install 'cofirec[spark]'" in res.stderr
    assert not (tmp_path / "r.parquet").exists()


def test_without_java_one_line_error(cli, als_dir, tmp_path, monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    res = cli("recommend", als_dir, "--all-users", "--engine", "spark", "--out", tmp_path / "r.parquet")
    assert res.code == 2
    assert res.stderr.count("\n") == 1 and "needs Java 17" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--all-users", "--engine", "spark"), "needs --out"),
        (("--user", "1", "--engine", "spark", "--out", "x.parquet"), "use it with --all-users"),
        (("--user", "1", "--out", "x.parquet"), "add --all-users"),
        (("--all-users", "--master", "local[2]"), "--engine spark only"),
        (("--all-users", "--engine", "flink"), "use local or spark"),
        (("--all-users", "--engine", "spark", "--out", "x.parquet", "--why"), "--why is not available"),
    ],
)
def test_engine_option_errors(cli, als_dir, args, message):
    res = cli("recommend", als_dir, *args)
    assert res.code == 2 and message in res.stderr and res.stderr.count("\n") == 1


def test_non_factor_model_is_a_clear_error(cli, tmp_path):
    pytest.importorskip("pyspark")
    from cofirec.engines.session import check_java

    try:
        check_java()
    except Exception as exc:
        pytest.skip(str(exc))
    data = make_synthetic(n_users=20, n_items=15, density=0.3, seed=1)
    path = cofirec.create_model("popularity").fit(data).save(tmp_path / "pop")
    res = cli("recommend", path, "--all-users", "--engine", "spark", "--out", tmp_path / "r.parquet")
    assert res.code == 2 and "needs a factor model" in res.stderr
