"""cofirec datasets / info / split on synthetic files, and the acceptance numbers on ../shared/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cofirec.data.readers import read_ratings_file


def test_info_json_matches_data(cli, synth, synth_file):
    res = cli("info", synth_file, "--json")
    assert res.code == 0, res.stderr
    stats = res.json()
    assert (stats["users"], stats["items"], stats["ratings"]) == (synth.n_users, synth.n_items, len(synth))
    assert all(isinstance(stats[k], int) for k in ("users", "items", "ratings"))
    values, counts = np.unique(synth.ratings, return_counts=True)
    assert stats["rating_histogram"] == {str(int(v)): int(c) for v, c in zip(values, counts)}
    assert stats["sparsity"] == pytest.approx(1 - len(synth) / (synth.n_users * synth.n_items))
    assert stats["user_count_quantiles"]["q100"] == synth.user_counts().max()


def test_info_table(cli, synth_file):
    res = cli("info", synth_file)
    assert res.code == 0, res.stderr
    for word in ("users", "items", "ratings", "sparsity", "rating histogram", "per user"):
        assert word in res.stdout


def test_info_columns_option(cli, tmp_path):
    path = tmp_path / "items_first.csv"
    path.write_text("10,1,4\n11,1,5\n10,2,3\n")
    res = cli("info", path, "--columns", "item,user,rating", "--json")
    assert res.code == 0, res.stderr
    stats = res.json()
    assert (stats["users"], stats["items"], stats["ratings"]) == (2, 2, 3)


@pytest.mark.parametrize("method", ["random", "user", "loo", "kfold"])
def test_split_writes_readable_files(cli, synth, synth_file, tmp_path, method):
    out = tmp_path / method
    res = cli("split", synth_file, "--method", method, "--test-ratio", "0.25", "--seed", "4", "--k", "4", "--fold", "1", "--out", out, "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    header = (out / "train.tsv").read_text().splitlines()[0]
    assert header == "user\titem\trating\ttimestamp"
    train, test = read_ratings_file(out / "train.tsv"), read_ratings_file(out / "test.tsv")
    assert len(train) + len(test) == len(synth)
    assert report["train_interactions"] == len(train) and report["test_interactions"] == len(test)
    assert report["overlap_pairs"] == 0
    tr, te = train.to_frame(), test.to_frame()
    both = pd.concat([tr, te]).sort_values(["user", "item"]).reset_index(drop=True)
    orig = synth.to_frame().sort_values(["user", "item"]).reset_index(drop=True)
    assert np.array_equal(both[["user", "item"]].to_numpy(), orig[["user", "item"]].to_numpy())
    assert np.allclose(both["rating"], orig["rating"]) and np.array_equal(both["timestamp"], orig["timestamp"])
    if method == "loo":
        assert te.user.value_counts().max() == 1 and te.user.nunique() == synth.n_users
        latest = orig.groupby("user").timestamp.max()
        assert (te.set_index("user").timestamp == latest.loc[te.user].to_numpy()).all()
    elif method == "kfold":
        assert abs(len(te) / len(synth) - 0.25) < 0.02
    else:
        assert abs(len(te) / len(synth) - 0.25) < 0.05


def test_split_is_seeded(cli, synth_file, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert cli("split", synth_file, "--method", "random", "--seed", seed, "--out", tmp_path / name).code == 0
    a, b, c = ((tmp_path / n / "test.tsv").read_text() for n in "abc")
    assert a == b and a != c


def test_split_table_output(cli, synth_file, tmp_path):
    res = cli("split", synth_file, "--method", "random", "--out", tmp_path / "s")
    assert res.code == 0, res.stderr
    assert "train interactions" in res.stdout and "test fraction" in res.stdout


def test_split_unknown_method(cli, synth_file, tmp_path):
    res = cli("split", synth_file, "--method", "sideways", "--out", tmp_path / "s")
    assert res.code == 2 and res.stderr.startswith("error: ") and "sideways" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_datasets_lists_known_names(cli, tmp_path):
    res = cli("datasets", "--data-dir", tmp_path, "--json")
    assert res.code == 0, res.stderr
    rows = {r["name"]: r for r in res.json()}
    assert {"ml-100k", "ml-1m"} <= set(rows)
    res = cli("datasets", "--data-dir", tmp_path)
    assert res.code == 0 and "ml-100k" in res.stdout


def test_missing_named_dataset_says_where_to_put_it(cli, tmp_path):
    res = cli("info", "ml-1m", "--data-dir", tmp_path, "--no-download")
    assert res.code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "ml-1m" in lines[0]
    assert str(tmp_path) in lines[0] and "ratings.dat" in lines[0]


# ---------------------------------------------------------------------- real MovieLens copies
@pytest.mark.realdata
@pytest.mark.parametrize(
    "folder, expected",
    [("ml-100k", (943, 1682, 100000)), ("ml-latest-small", (610, 9724, 100836)), ("ml-1m-half", (2999, 3615, 487650))],
)
def test_info_acceptance_numbers(cli, real_data, folder, expected):
    path = real_data(folder)
    res = cli("info", path, "--json")
    assert res.code == 0, res.stderr
    stats = res.json()
    assert (stats["users"], stats["items"], stats["ratings"]) == expected


@pytest.mark.realdata
def test_datasets_finds_shared_copies(cli, real_data):
    data_dir = real_data("ml-100k").parent
    rows = {r["name"]: r for r in cli("datasets", "--data-dir", data_dir, "--json").json()}
    assert rows["ml-100k"]["present"] and rows["ml-latest-small"]["present"]
    assert not rows["ml-1m"]["present"] or rows["ml-1m"]["path"]


@pytest.mark.realdata
def test_info_by_name_with_env_data_dir(cli, real_data, monkeypatch):
    monkeypatch.setenv("COFIREC_DATA", str(real_data("ml-100k").parent))
    res = cli("info", "ml-100k", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["ratings"] == 100000


def test_split_and_train_take_folds_like_compare(cli, synth_file, tmp_path):
    """``--folds`` (as in ``cofirec compare``, where ``--k`` means cut-offs) and the older ``--k`` give the same fold."""
    new = cli("split", synth_file, "--method", "kfold", "--folds", "4", "--fold", "1", "--out", tmp_path / "new", "--json")
    old = cli("split", synth_file, "--method", "kfold", "--k", "4", "--fold", "1", "--out", tmp_path / "old", "--json")
    assert new.code == 0 and old.code == 0, new.stderr + old.stderr
    assert (tmp_path / "new" / "test.tsv").read_text() == (tmp_path / "old" / "test.tsv").read_text()
    res = cli("train", "mean", "--dataset", synth_file, "--split", "kfold", "--folds", "4", "--fold", "3", "--out", tmp_path / "m", "--json")
    assert res.code == 0, res.stderr
    res = cli("split", synth_file, "--method", "kfold", "--folds", "4", "--fold", "4", "--out", tmp_path / "bad")
    assert res.code == 2 and "fold must be in 0..3" in res.stderr
