"""The CLI on real MovieLens 100K (../shared/data; skipped when absent): numbers, titles, all-users output."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.realdata


def _run(args: list) -> None:
    from cofirec.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    assert exc.value.code in (0, None)


@pytest.fixture(scope="module")
def runs(real_data, tmp_path_factory):
    """item-knn, mean and popularity trained on the same seeded random 80/20 split of ML-100K."""
    folder = real_data("ml-100k")
    root = tmp_path_factory.mktemp("ml100k")
    for name in ("item-knn", "mean", "popularity"):
        _run(["train", name, "--dataset", folder, "--split", "random", "--seed", "0", "--out", root / name, "--json"])
    return root


def test_split_files_identical_across_models(runs):
    assert (runs / "mean" / "test.tsv").read_bytes() == (runs / "item-knn" / "test.tsv").read_bytes()
    assert len((runs / "mean" / "test.tsv").read_text().splitlines()) == 20_001  # header + 20% of 100,000


def test_item_knn_beats_global_mean_on_rmse(cli, runs):
    knn = cli("evaluate", runs / "item-knn", "--test", runs / "item-knn" / "test.tsv", "--json").json()
    mean = cli("evaluate", runs / "mean", "--test", runs / "mean" / "test.tsv", "--json").json()
    assert 1.0 < mean["rmse"] < 1.25  # the global mean's RMSE on MovieLens is about 1.12
    assert knn["rmse"] < mean["rmse"] - 0.1


def test_popularity_ranking_metrics(cli, runs):
    m = cli("evaluate", runs / "popularity", "--test", runs / "popularity" / "test.tsv", "--k", "10,20", "--json").json()
    assert m["users_evaluated"] == 943
    assert 0.1 < m["ndcg@10"] < 0.5 and m["recall@20"] > m["recall@10"] > 0.05


def test_title_lookup_and_similar(cli, runs):
    res = cli("similar", runs / "item-knn", "--item", "star wars", "-n", "5", "--json")
    assert res.code == 0, res.stderr
    out = res.json()
    assert out["item"] == 50 and out["item_title"] == "Star Wars (1977)"
    assert {172, 181} & set(out["items"][:3])  # The Empire Strikes Back / Return of the Jedi
    res = cli("similar", runs / "item-knn", "--item", "star trek")
    assert res.code == 2 and "ambiguous" in res.stderr and "Star Trek: First Contact (1996)" in res.stderr


def test_recommend_titles_and_all_users(cli, runs):
    res = cli("recommend", runs / "item-knn", "--user", "1", "-n", "5", "--json")
    [rec] = res.json()
    assert rec["known"] and len(rec["titles"]) == 5 and all(rec["titles"])
    seen = {int(line.split("\t")[1]) for line in (runs / "item-knn" / "train.tsv").read_text().splitlines()[1:] if line.startswith("1\t")}
    assert not seen & set(rec["items"])
    res = cli("recommend", runs / "item-knn", "--all-users", "-n", "10")
    lines = res.stdout.splitlines()
    assert res.code == 0 and len(lines) == 943
    first = json.loads(lines[0])
    assert first["user"] == 1 and first["items"][:5] == rec["items"]


def test_metadata_for_plain_file(cli, real_data, tmp_path):
    """--metadata attaches ML-100K titles to a plain file whose item ids are ML-100K ids."""
    folder = real_data("ml-100k")
    plain = tmp_path / "few.tsv"
    plain.write_text("1\t50\t5\n1\t172\t4\n2\t50\t4\n2\t1\t3\n3\t181\t5\n3\t1\t4\n")
    out = tmp_path / "m"
    assert cli("train", "popularity", "--train", plain, "--metadata", folder, "--out", out).code == 0
    res = cli("similar", out, "--item", "empire strikes", "-n", "2", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["item"] == 172 and res.json()["item_title"] == "Empire Strikes Back, The (1980)"


def test_sampled_protocol_with_ncf_negatives(cli, real_data, tmp_path):
    """NCF leave-one-out on ml-1m-half: popularity (ItemPop) HR@10 is near the NCF paper's 0.45."""
    folder = real_data("ncf-ml-1m-half")
    out = tmp_path / "pop"
    res = cli("train", "popularity", "--train", folder / "ml-1m-half.train.rating", "--implicit", "--out", out)
    assert res.code == 0, res.stderr
    res = cli("evaluate", out, "--test", folder / "ml-1m-half.test.rating", "--negatives", folder / "ml-1m-half.test.negative", "--json")
    assert res.code == 0, res.stderr
    m = res.json()
    assert m["users_evaluated"] == 2999
    assert 0.40 < m["hr@10"] < 0.52 and 0.2 < m["ndcg@10"] < m["hr@10"]
