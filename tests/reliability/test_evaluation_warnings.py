"""Loud when the evaluation is not what the user thinks (issue 10): unknown test ids, negatives that do not
match the test file, the rating protocol on implicit models, metadata of another dataset, a tuning study
resumed on other data. Each test reproduces a case that used to give exit 0 and plausible, wrong numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.negatives import read_ncf_negatives, sample_negatives
from cofirec.data.readers import write_ratings_file
from cofirec.data.splits import leave_last_out, random_split
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError, UnknownIdError
from cofirec.evaluate import evaluate
from cofirec.models.baselines import Popularity


@pytest.fixture(scope="module")
def split():
    return random_split(make_synthetic(n_users=100, n_items=60, density=0.15, seed=4), test_ratio=0.2, seed=0)


def renamed_users(test: Interactions, fraction: float, prefix: int = 100_000) -> Interactions:
    """``test`` with the first ``fraction`` of its distinct users given ids no model has seen."""
    frame = test.to_frame()
    users = np.sort(frame["user"].unique())
    moved = set(users[: int(round(fraction * len(users)))].tolist())
    frame["user"] = [u + prefix if u in moved else u for u in frame["user"]]
    return Interactions.from_frame(frame, name="test")


# ---------------------------------------------------------------------- unknown test users / items
def test_many_unknown_test_users_warn_with_the_counts(split):
    model = Popularity().fit(split.train)
    test = renamed_users(split.test, 0.3)
    with pytest.warns(UserWarning, match=r"of \d+ test users \(30%\).*unknown to the model"):
        out = evaluate(model, test, protocol="ranking")
    n_users = len(np.unique(test.users))
    assert (out["test_users_unknown"], out["test_users"]) == (round(0.3 * n_users), n_users)
    assert out["test_items"] == len(np.unique(test.items)) and out["test_items_unknown"] == 0


def test_a_few_unknown_test_users_are_quiet(split):
    model = Popularity().fit(split.train)
    test = renamed_users(split.test, 0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = evaluate(model, test, protocol="ranking")
    assert out["test_users_unknown"] == round(0.05 * out["test_users"])


def test_many_unknown_items_warn_too(split):
    model = Popularity().fit(split.train)
    frame = split.test.to_frame()
    frame["item"] = frame["item"] + np.where(frame["item"] % 4 == 0, 10_000, 0)  # a quarter of the items renamed
    with pytest.warns(UserWarning, match="test items .* unknown"):
        out = evaluate(model, Interactions.from_frame(frame), protocol="ranking")
    assert out["test_items_unknown"] > 0.1 * out["test_items"]


def test_strict_turns_the_warning_into_an_error(split):
    model = Popularity().fit(split.train)
    with pytest.raises(UnknownIdError, match="--strict"):
        evaluate(model, renamed_users(split.test, 0.3), protocol="ranking", strict=True)


def test_all_test_users_unknown_is_an_error_unless_allowed(split):
    model = Popularity().fit(split.train)
    frame = split.test.to_frame()
    frame["user"] = "u" + frame["user"].astype(str)  # another id space: every user unknown
    test = Interactions.from_frame(frame)
    with pytest.raises(UnknownIdError, match="allow-unknown"):
        evaluate(model, test, protocol="ranking")
    with pytest.warns(UserWarning, match="unknown"):
        out = evaluate(model, test, protocol="ranking", allow_unknown=True)
    assert out["ndcg@10"] == 0.0 and out["test_users_unknown"] == out["test_users"]


def test_cli_evaluate_warns_once_and_reports_counts_in_json(cli, split, tmp_path):
    model_dir = tmp_path / "pop"
    write_ratings_file(split.train, tmp_path / "train.tsv", header=True)
    write_ratings_file(renamed_users(split.test, 0.3), tmp_path / "test.tsv", header=True)
    assert cli("train", "popularity", "--train", tmp_path / "train.tsv", "--out", model_dir).code == 0
    res = cli("evaluate", model_dir, "--test", tmp_path / "test.tsv", "--protocol", "ranking", "--json")
    assert res.code == 0, res.stderr
    assert [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")] == [ln for ln in res.stderr.splitlines() if "unknown" in ln]
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]) == 1
    unknown = res.json()["unknown"]
    assert unknown["users"] == round(0.3 * unknown["of_users"]) and unknown["items"] == 0 and unknown["of_items"] > 0
    strict = cli("evaluate", model_dir, "--test", tmp_path / "test.tsv", "--protocol", "ranking", "--strict")
    assert strict.code == 2 and strict.stderr.startswith("error:") and "unknown" in strict.stderr


def test_cli_evaluate_all_users_unknown(cli, split, tmp_path):
    write_ratings_file(split.train, tmp_path / "train.tsv", header=True)
    frame = split.test.to_frame()
    frame["user"] = "x" + frame["user"].astype(str)  # another id space: no user matches
    frame.to_csv(tmp_path / "test.tsv", sep="\t", index=False)
    assert cli("train", "popularity", "--train", tmp_path / "train.tsv", "--out", tmp_path / "m").code == 0
    res = cli("evaluate", tmp_path / "m", "--test", tmp_path / "test.tsv")
    assert res.code == 2 and "--allow-unknown" in res.stderr and res.stdout == ""
    ok = cli("evaluate", tmp_path / "m", "--test", tmp_path / "test.tsv", "--allow-unknown", "--json")
    assert ok.code == 0 and ok.json()["unknown"]["users"] == ok.json()["unknown"]["of_users"]


def test_cli_compare_checks_once_before_fitting(cli, split, tmp_path):
    write_ratings_file(split.train, tmp_path / "train.tsv", header=True)
    write_ratings_file(renamed_users(split.test, 0.3), tmp_path / "test.tsv", header=True)
    files = ("--train", tmp_path / "train.tsv", "--test", tmp_path / "test.tsv")
    res = cli("compare", *files, "--models", "popularity,item-knn,mean", "--protocol", "ranking", "--json")
    assert res.code == 0, res.stderr
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]) == 1  # not once per model
    assert res.json()["data"]["unknown"]["users"] == round(0.3 * res.json()["data"]["unknown"]["of_users"])
    strict = cli("compare", *files, "--models", "popularity", "--protocol", "ranking", "--strict")
    assert strict.code == 2 and "fitted" not in strict.stderr  # refused before any model ran


def test_compare_api_refuses_a_test_set_of_another_id_space(split):
    from cofirec.experiments.compare import compare

    frame = split.test.to_frame()
    frame["item"] = frame["item"] + 10_000
    with pytest.raises(UnknownIdError, match="items"):
        compare(["popularity"], split.train, Interactions.from_frame(frame), protocol="ranking", measure_size=False)


# ---------------------------------------------------------------------- sampled protocol: test pairs vs negatives
def write_ncf(path, neg) -> None:
    with open(path, "w") as f:
        for u, p, row, m in zip(neg.users, neg.positives, neg.negatives, neg.mask):
            f.write(f"({u},{p})\t" + "\t".join(str(x) for x in row[m]) + "\n")


@pytest.fixture(scope="module")
def loo():
    return leave_last_out(make_synthetic(n_users=80, n_items=60, density=0.2, seed=7))


def test_sampled_uses_the_test_pairs_not_the_negatives_rows(loo):
    model = Popularity().fit(loo.train)
    neg = sample_negatives(loo.train, loo.test, n=20, seed=0)
    half = loo.test.subset(np.arange(len(loo.test)) < len(loo.test) // 2)
    out = evaluate(model, half, protocol="sampled", negatives=neg, k=10)
    assert out["users_evaluated"] == len(half)  # used to be every row of the negatives
    same = evaluate(model, half, protocol="sampled", negatives=sample_negatives(loo.train, half, n=20, seed=0), k=10)
    rows = np.arange(len(loo.test)) < len(loo.test) // 2
    by_hand = evaluate(model, None, protocol="sampled", k=10, negatives=type(neg)(neg.users[rows], neg.positives[rows], neg.negatives[rows], neg.mask[rows]))
    assert out["hr@10"] == pytest.approx(by_hand["hr@10"]) and same["users_evaluated"] == len(half)


def test_negatives_for_another_held_out_item_are_an_error(loo):
    model = Popularity().fit(loo.train)
    neg = sample_negatives(loo.train, loo.test, n=20, seed=0)
    frame = loo.test.to_frame()
    frame.loc[0, "item"] = next(i for i in frame["item"].unique() if i != frame.loc[0, "item"])
    with pytest.raises(DataError, match=r"1 of \d+ test pairs .*another held-out item.*user"):
        evaluate(model, Interactions.from_frame(frame), protocol="sampled", negatives=neg)


def test_negatives_missing_test_users_are_an_error(loo):
    model = Popularity().fit(loo.train)
    neg = sample_negatives(loo.train, loo.test, n=20, seed=0)
    frame = loo.test.to_frame()
    frame.loc[:2, "user"] = frame.loc[:2, "user"] + 5000
    with pytest.raises(DataError, match=r"3 of \d+ test pairs have no row \(3 users missing.*not in it"):
        evaluate(model, Interactions.from_frame(frame), protocol="sampled", negatives=neg, allow_unknown=True)


def test_cli_negatives_file_must_match_the_test_file(cli, loo, tmp_path):
    write_ratings_file(loo.train, tmp_path / "train.tsv", header=True)
    write_ratings_file(loo.test, tmp_path / "test.tsv", header=True)
    write_ncf(tmp_path / "test.negative", sample_negatives(loo.train, loo.test, n=20, seed=0))
    other = loo.test.to_frame()
    other["item"] = np.roll(other["item"].to_numpy(), 1)  # every user holds out another item
    other.to_csv(tmp_path / "other.tsv", sep="\t", index=False)
    assert cli("train", "popularity", "--train", tmp_path / "train.tsv", "--implicit", "--out", tmp_path / "m").code == 0
    good = cli("evaluate", tmp_path / "m", "--test", tmp_path / "test.tsv", "--negatives", tmp_path / "test.negative", "--json")
    assert good.code == 0, good.stderr
    assert good.json()["users_evaluated"] == len(loo.test)
    bad = cli("evaluate", tmp_path / "m", "--test", tmp_path / "other.tsv", "--negatives", tmp_path / "test.negative", "--json")
    assert bad.code == 2 and "does not match the test pairs" in bad.stderr and "test.negative" in bad.stderr


@pytest.mark.realdata
def test_ncf_half_negatives_with_part_of_the_test_file(real_data, tmp_path):
    folder = real_data("ncf-ml-1m-half")
    neg = read_ncf_negatives(folder / "ml-1m-half.test.negative")
    frame = pd.read_csv(folder / "ml-1m-half.test.rating", sep="\t", header=None, names=["user", "item", "rating", "timestamp"])
    train = pd.read_csv(folder / "ml-1m-half.train.rating", sep="\t", header=None, names=["user", "item", "rating", "timestamp"])
    model = Popularity().fit(Interactions.from_frame(train).as_implicit())
    part = Interactions.from_frame(frame.iloc[:1000]).as_implicit()
    out = evaluate(model, part, protocol="sampled", negatives=neg)
    assert out["users_evaluated"] == 1000
    shifted = frame.assign(item=(frame["item"] + 1) % 3000)
    with pytest.raises(DataError, match="user 0 with test item 26: its held-out item there is 25"):
        evaluate(model, Interactions.from_frame(shifted).as_implicit(), protocol="sampled", negatives=neg)


# ---------------------------------------------------------------------- rating protocol on non-rating models
def test_rating_protocol_refuses_implicit_models(split):
    model = Popularity().fit(split.train.as_implicit())
    with pytest.raises(ConfigError, match="fitted on implicit data.*not ratings"):
        evaluate(model, split.test, protocol="rating")  # used to print an RMSE far outside the rating scale


def test_rating_protocol_refuses_rankers_fitted_on_ratings(split):
    with pytest.raises(ConfigError, match="does not predict ratings"):
        evaluate(Popularity().fit(split.train), split.test, protocol="rating")


def test_cli_rating_protocol_on_an_implicit_model(cli, split, tmp_path):
    write_ratings_file(split.train, tmp_path / "train.tsv", header=True)
    write_ratings_file(split.test, tmp_path / "test.tsv", header=True)
    assert cli("train", "popularity", "--train", tmp_path / "train.tsv", "--implicit", "--out", tmp_path / "m").code == 0
    res = cli("evaluate", tmp_path / "m", "--test", tmp_path / "test.tsv", "--protocol", "rating")
    assert res.code == 2 and "implicit" in res.stderr and "--protocol ranking" in res.stderr and res.stdout == ""


# ---------------------------------------------------------------------- metadata of another dataset
@pytest.mark.realdata
def test_latest_small_metadata_on_ml100k_is_refused(cli, real_data, tmp_path):
    res = cli("train", "popularity", "--train", real_data("ml-100k") / "u1.base", "--metadata", real_data("ml-latest-small"), "--out", tmp_path / "m")
    assert res.code == 2 and "another dataset" in res.stderr and "of the data's 1,650 items" in res.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.realdata
def test_metadata_titles_must_agree_with_the_data(cli, real_data, tmp_path):
    res = cli("train", "popularity", "--dataset", real_data("ml-100k"), "--metadata", real_data("ml-1m-half"), "--out", tmp_path / "m")
    assert res.code == 2 and "titles disagree" in res.stderr and "GoldenEye (1995)" in res.stderr
    same = cli("train", "popularity", "--train", real_data("ml-100k") / "u1.base", "--metadata", real_data("ml-100k"), "--out", tmp_path / "ok")
    assert same.code == 0, same.stderr
    rec = cli("recommend", tmp_path / "ok", "--user", "1", "--json")
    assert rec.json()[0]["titles"][0]


def test_check_metadata_on_synthetic_frames():
    from cofirec.data.metadata import check_metadata

    data = Interactions.from_frame(pd.DataFrame({"user": [1, 2, 3], "item": np.arange(3) + 1, "rating": 1.0}))
    titles = pd.DataFrame({"title": ["a", "b", "c", "d"]}, index=pd.Index([1, 2, 3, 4], name="item"))
    check_metadata(data, None, titles)  # covers every item
    with pytest.raises(DataError, match=r"only 2 of the data's 3 items"):
        check_metadata(data, None, titles.iloc[[0, 1]])
    own = data.with_features(item_features=titles.iloc[:3])
    check_metadata(own, None, titles)
    with pytest.raises(DataError, match="titles disagree .* 3 of 3 items"):
        check_metadata(own, None, titles.assign(title=["x", "y", "z", "w"]))
    users = pd.DataFrame({"age": [20]}, index=pd.Index([1], name="user"))
    with pytest.raises(DataError, match="only 1 of the data's 3 users"):
        check_metadata(data, users, None)


# ---------------------------------------------------------------------- tune: a stored study on other data
def test_tune_refuses_to_resume_a_study_on_other_data(tmp_path):
    from cofirec.experiments.tune import tune

    storage = tmp_path / "study.db"
    first = make_synthetic(n_users=60, n_items=40, density=0.2, seed=1)
    other = make_synthetic(n_users=60, n_items=40, density=0.2, seed=2)
    tune("popularity", first, metric="ndcg@10", trials=2, storage=storage, refit=False)
    with pytest.raises(ConfigError, match="other data.*another --report folder"):
        tune("popularity", other, metric="ndcg@10", trials=3, storage=storage, refit=False)
    with pytest.raises(ConfigError, match="other data"):  # same data, other validation split
        tune("popularity", first, metric="ndcg@10", trials=3, storage=storage, refit=False, seed=5)
    again = tune("popularity", first, metric="ndcg@10", trials=3, storage=storage, refit=False)
    assert (again.n_finished, again.n_run) == (3, 1)


def test_cli_tune_on_another_dataset_in_the_same_report(cli, tmp_path):
    for name, seed in (("a.tsv", 1), ("b.tsv", 2)):
        data = make_synthetic(n_users=60, n_items=40, density=0.2, seed=seed)
        write_ratings_file(data, tmp_path / name, header=True)
    base = ("tune", "popularity", "--trials", "1", "--report", tmp_path / "rep")
    assert cli(*base, "--dataset", tmp_path / "a.tsv").code == 0
    res = cli(*base, "--dataset", tmp_path / "b.tsv")
    assert res.code == 2 and "another --report folder" in res.stderr


def test_tune_refuses_a_stored_study_without_a_fingerprint(tmp_path):
    import optuna

    from cofirec.experiments.tune import tune

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    old = optuna.create_study(storage=storage, study_name="cofirec:popularity:ndcg@10", direction="maximize")
    old.optimize(lambda trial: 0.5, n_trials=1)  # a study written before fingerprints were recorded
    with pytest.raises(ConfigError, match="no data fingerprint"):
        tune("popularity", make_synthetic(n_users=60, n_items=40, density=0.2, seed=1), trials=2, storage=storage, refit=False)


def test_cli_compare_with_a_negatives_file_of_another_split(cli, loo, tmp_path):
    write_ratings_file(loo.train, tmp_path / "train.tsv", header=True)
    write_ratings_file(loo.test, tmp_path / "test.tsv", header=True)
    shifted = loo.test.to_frame()
    shifted["item"] = np.roll(shifted["item"].to_numpy(), 1)
    write_ncf(tmp_path / "test.negative", sample_negatives(loo.train, Interactions.from_frame(shifted), n=10, seed=0, allow_fewer=True))
    res = cli(
        "compare",
        "--train",
        tmp_path / "train.tsv",
        "--test",
        tmp_path / "test.tsv",
        "--negatives",
        tmp_path / "test.negative",
        "--protocol",
        "sampled",
        "--models",
        "popularity",
        "--implicit",
    )
    assert res.code == 2 and "does not match the test pairs" in res.stderr and "fitted" not in res.stderr
