"""``cofirec train als --engine spark`` end to end: Spark reads a TSV, the saved folder evaluates and recommends."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.spark


def _write_log(path, rows) -> None:
    path.write_text("user\titem\trating\n" + "".join(f"{u}\t{i}\t{r}\n" for u, i, r in rows))


@pytest.fixture
def tsv_split(tmp_path):
    """A small explicit log: every user rates 12 of 25 items; the last rating of each user is held out."""
    rng = np.random.default_rng(5)
    train, test = [], []
    for u in range(1, 41):
        items = rng.choice(np.arange(1, 26), size=12, replace=False)
        rows = [(u, int(i), int(rng.integers(1, 6))) for i in items]
        train += rows[:-1]
        test.append(rows[-1])
    _write_log(tmp_path / "train.tsv", train)
    _write_log(tmp_path / "test.tsv", test)
    return tmp_path / "train.tsv", tmp_path / "test.tsv", len(train)


def test_train_als_with_spark_then_evaluate_and_recommend(cli, spark, tsv_split, tmp_path):
    train, test, n_train = tsv_split
    out = tmp_path / "model"
    res = cli("train", "als", "--engine", "spark", "--master", "local[2]", "--train", train, "--out", out, "-p", "factors=4", "--epochs", "3", "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["model"] == "als" and report["params"]["factors"] == 4
    assert report["train_interactions"] == n_train and report["epochs_run"] == 3 and report["users"] == 40
    manifest = json.loads((out / "manifest.json").read_text())
    assert str(train) in json.dumps(manifest)  # the training file is recorded like a local train's

    metrics = cli("evaluate", out, "--test", test, "--k", "5", "--json")
    assert metrics.code == 0, metrics.stderr
    assert np.isfinite(metrics.json()["rmse"])
    rec = cli("recommend", out, "--user", "1", "-n", "3", "--json")
    assert rec.code == 0, rec.stderr
    items = rec.json()[0]["items"]
    seen = {int(line.split("\t")[1]) for line in train.read_text().splitlines()[1:] if line.startswith("1\t")}
    assert len(items) == 3 and not seen & set(items)
