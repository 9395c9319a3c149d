"""train -> evaluate -> recommend -> similar -> plot on small synthetic files, checked against the data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cofirec.data.readers import read_ratings_file


@pytest.fixture(scope="module")
def pop_run(synth_file, tmp_path_factory):
    """popularity trained with a random split through the CLI (module-wide, in-process)."""
    from cofirec.cli.main import main

    out = tmp_path_factory.mktemp("runs") / "pop"
    with pytest.raises(SystemExit) as exc:
        main(["train", "popularity", "--dataset", str(synth_file), "--split", "random", "--test-ratio", "0.2", "--seed", "1", "--out", str(out), "--json"])
    assert exc.value.code in (0, None)
    return out


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def test_train_with_split_writes_model_and_files(pop_run, synth):
    assert (pop_run / "manifest.json").exists() and (pop_run / "arrays.npz").exists()
    train, test = _frame(pop_run / "train.tsv"), _frame(pop_run / "test.tsv")
    assert list(train.columns) == ["user", "item", "rating", "timestamp"]
    assert len(train) + len(test) == len(synth)
    assert abs(len(test) / len(synth) - 0.2) < 0.02
    pairs = set(zip(train.user, train.item))
    assert not any((u, i) in pairs for u, i in zip(test.user, test.item))
    back = read_ratings_file(pop_run / "test.tsv")  # readable back with no flags
    assert len(back) == len(test) and back.kind == "explicit"


def test_train_json_report(cli, synth_file, tmp_path):
    res = cli("train", "popularity", "--train", synth_file, "--param", "by=rating", "--param", "damping=0", "--out", tmp_path / "m", "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["params"] == {"by": "rating", "damping": 0.0}
    assert report["train_interactions"] == len(pd.read_csv(synth_file, sep="\t"))
    assert report["fit_seconds"] >= 0 and report["kind"] == "explicit"
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["params"] == {"by": "rating", "damping": 0.0}


def test_train_human_output(cli, synth_file, tmp_path):
    res = cli("train", "mean", "--train", synth_file, "--out", tmp_path / "m")
    assert res.code == 0, res.stderr
    assert "fitted mean" in res.stdout and "saved model to" in res.stdout


def test_evaluate_rating_protocol_matches_hand_computed_rmse(cli, synth_file, tmp_path):
    out = tmp_path / "mean"
    assert cli("train", "mean", "--dataset", synth_file, "--split", "random", "--seed", "2", "--out", out).code == 0
    res = cli("evaluate", out, "--test", out / "test.tsv", "--json")
    assert res.code == 0, res.stderr
    metrics = res.json()
    train, test = _frame(out / "train.tsv"), _frame(out / "test.tsv")
    known = test.user.isin(train.user) & test.item.isin(train.item)
    assert known.all(), "tiny synthetic split expected to keep every test user/item in train"
    expected = float(np.sqrt(np.mean((test.rating - train.rating.mean()) ** 2)))
    assert metrics["rmse"] == pytest.approx(expected, rel=1e-4)


def test_evaluate_ranking_default_for_popularity(cli, pop_run):
    res = cli("evaluate", pop_run, "--test", pop_run / "test.tsv", "--k", "5,10", "--json")
    assert res.code == 0, res.stderr
    metrics = res.json()
    for key in ("ndcg@5", "ndcg@10", "recall@10", "hr@10"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["hr@10"] > 0  # popularity finds something on planted-popularity data
    assert "rmse" not in metrics


def test_evaluate_sampled_protocol(cli, pop_run):
    res = cli("evaluate", pop_run, "--test", pop_run / "test.tsv", "--sample-negatives", "20", "--k", "5", "--json")
    assert res.code == 0, res.stderr
    metrics = res.json()
    assert 0.0 < metrics["hr@5"] <= 1.0 and "ndcg@5" in metrics


def test_evaluate_table_output(cli, pop_run):
    res = cli("evaluate", pop_run, "--test", pop_run / "test.tsv")
    assert res.code == 0, res.stderr
    assert "ndcg@10" in res.stdout and "ranking" in res.stdout and "popularity" in res.stdout


def test_recommend_one_user_excludes_seen_and_follows_popularity(cli, pop_run):
    train = _frame(pop_run / "train.tsv")
    user = int(train.user.iloc[0])
    res = cli("recommend", pop_run, "--user", user, "-n", "5", "--json")
    assert res.code == 0, res.stderr
    [rec] = res.json()  # always a list of records, one per user
    assert rec["user"] == user and rec["known"] is True and len(rec["items"]) == 5
    seen = set(train.item[train.user == user])
    assert not seen & set(rec["items"])
    counts = train.item.value_counts()
    unseen = counts[~counts.index.isin(seen)]
    assert rec["scores"] == sorted(rec["scores"], reverse=True)
    assert rec["scores"][0] == unseen.iloc[0]  # popularity score = training count
    assert set(rec["items"]) <= set(unseen.index[unseen >= rec["scores"][-1]])


def test_recommend_table_mentions_unseen(cli, pop_run):
    train = _frame(pop_run / "train.tsv")
    res = cli("recommend", pop_run, "--user", int(train.user.iloc[0]), "-n", "3")
    assert res.code == 0, res.stderr
    assert "not rated in training" in res.stdout


def test_recommend_unknown_user_falls_back_with_notice(cli, pop_run):
    res = cli("recommend", pop_run, "--user", "424242", "-n", "4", "--json")
    assert res.code == 0, res.stderr
    [rec] = res.json()
    assert rec["known"] is False and len(rec["items"]) == 4
    assert "424242" in res.stderr and "not in the training data" in res.stderr
    counts = _frame(pop_run / "train.tsv").item.value_counts()
    assert rec["scores"][0] == counts.iloc[0]


def test_recommend_all_users_jsonl(cli, pop_run):
    res = cli("recommend", pop_run, "--all-users", "-n", "3", "--format", "jsonl", "--batch-size", "7")
    assert res.code == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    train = _frame(pop_run / "train.tsv")
    assert [r["user"] for r in lines] == sorted(train.user.unique().tolist())
    assert all(set(r) == {"user", "items", "scores", "known"} and len(r["items"]) == 3 for r in lines)
    one = cli("recommend", pop_run, "--user", lines[10]["user"], "-n", "3", "--json").json()[0]
    assert one == lines[10], "a streamed line carries the same fields and values as --user"


def test_recommend_all_users_lines_carry_titles(cli, synth_file, synth_items, tmp_path):
    out = tmp_path / "pop-titles"
    assert cli("train", "popularity", "--train", synth_file, "--metadata", synth_items, "--out", out).code == 0
    lines = [json.loads(line) for line in cli("recommend", out, "--all-users", "-n", "2").stdout.splitlines()]
    one = cli("recommend", out, "--user", lines[3]["user"], "-n", "2", "--json").json()[0]
    assert lines[3] == one and len(one["titles"]) == 2 and one["titles"][0].startswith("Item ")


def test_recommend_several_users_jsonl(cli, pop_run):
    res = cli("recommend", pop_run, "--user", "1", "--user", "2", "-n", "2", "--format", "jsonl")
    assert res.code == 0, res.stderr
    assert [json.loads(line)["user"] for line in res.stdout.splitlines()] == [1, 2]


def test_similar_by_id(cli, pop_run):
    res = cli("similar", pop_run, "--item", "3", "-n", "4", "--json")
    assert res.code == 0, res.stderr
    out = res.json()
    assert out["item"] == 3 and len(out["items"]) == 4 and 3 not in out["items"]
    assert out["scores"] == sorted(out["scores"], reverse=True)
    # co-occurrence cosine: check the best one by hand
    train = _frame(pop_run / "train.tsv")
    m = pd.crosstab(train.user, train.item).clip(upper=1)
    cols = m.to_numpy(dtype=float)
    norms = np.linalg.norm(cols, axis=0)
    j = list(m.columns).index(3)
    sims = cols[:, j] @ cols / (norms[j] * norms)
    sims[j] = -np.inf
    assert out["scores"][0] == pytest.approx(float(sims.max()), rel=1e-4)


def test_implicit_training_defaults_to_ranking(cli, synth_file, tmp_path):
    out = tmp_path / "imp"
    res = cli("train", "popularity", "--dataset", synth_file, "--split", "user", "--implicit", "--out", out, "--json")
    assert res.code == 0, res.stderr
    assert res.json()["kind"] == "implicit"
    metrics = cli("evaluate", out, "--test", out / "test.tsv", "--json").json()
    assert "ndcg@10" in metrics and "rmse" not in metrics


def test_ordinal_loss_trains_like_dislike_from_the_ratings_file(cli, synth_file, tmp_path):
    """--target binary:4 --param loss=ordinal: the CLI keeps the 1-5 ratings behind the labels (also through
    --validation), and the saved model gives like probabilities to the binary protocol."""
    out = tmp_path / "ord"
    res = cli(
        "train",
        "embedding-dot",
        "--dataset",
        synth_file,
        "--split",
        "random",
        "--target",
        "binary:4",
        "--validation",
        "0.1",
        "--param",
        "loss=ordinal",
        "--param",
        "negatives=0",
        "--epochs",
        "3",
        "--out",
        out,
        "--json",
    )
    assert res.code == 0, res.stderr
    state = json.loads((out / "manifest.json").read_text())["state"]
    assert state["loss_"] == "ordinal" and state["ordinal_levels_"] == [2.0, 3.0, 4.0, 5.0]
    metrics = cli("evaluate", out, "--test", out / "test.tsv", "--json").json()
    assert 0.5 < metrics["auc"] <= 1.0 and 0 < metrics["logloss"] < 1.0


def test_refit_trains_again_on_all_of_train_for_the_chosen_epochs(cli, synth_file, tmp_path):
    """--validation 0.2 --refit: early stopping picks the epoch count, then the saved model is fitted on every
    training row (validation put back) for exactly that many epochs, with no held-out slice."""
    out = tmp_path / "mf"
    res = cli("train", "mf", "--train", synth_file, "--epochs", "40", "--param", "patience=2", "--validation", "0.2", "--refit", "--out", out, "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    n_rows = len(pd.read_csv(synth_file, sep="\t"))
    assert report["train_interactions"] == n_rows and report["validation_interactions"] == 0
    chosen = report["refit"]["epochs"]
    assert 1 <= chosen < 40 and report["epochs_run"] == chosen
    assert all(not k.startswith("val_") for k in report["last_epoch"])
    params = json.loads((out / "manifest.json").read_text())["params"]
    assert params["epochs"] == chosen and params["patience"] == 0


def test_refit_without_early_stopping_is_a_clear_error(cli, synth_file, tmp_path):
    res = cli("train", "mf", "--train", synth_file, "--epochs", "3", "--refit", "--out", tmp_path / "m")
    assert res.code == 2 and "refit needs a model whose epoch count was chosen by early stopping" in res.stderr
    res = cli("train", "item-knn", "--train", synth_file, "--validation", "0.2", "--refit", "--out", tmp_path / "k")
    assert res.code == 2 and "refit needs" in res.stderr


def test_binary_target_defaults_to_binary_protocol(cli, synth_file, tmp_path):
    out = tmp_path / "bin"
    res = cli("train", "baseline", "--dataset", synth_file, "--split", "random", "--target", "binary:4", "--out", out, "--json")
    assert res.code == 0, res.stderr
    assert res.json()["kind"] == "binary"
    assert json.loads((out / "manifest.json").read_text())["state"]["binary_threshold_"] == 4.0
    # test.tsv keeps raw 1-5 ratings; evaluate binarizes them with the model's threshold
    assert _frame(out / "test.tsv").rating.max() > 1
    metrics = cli("evaluate", out, "--test", out / "test.tsv", "--json").json()
    assert 0.5 < metrics["auc"] <= 1.0 and "rmse" not in metrics
    # a test file that already holds 0/1 labels gives the same numbers (labels are not re-thresholded)
    labels = _frame(out / "test.tsv").assign(rating=lambda f: (f.rating >= 4).astype(int))
    labels.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    again = cli("evaluate", out, "--test", tmp_path / "labels.tsv", "--json")
    assert again.code == 0 and "like/dislike labels" in again.stderr
    assert again.json()["auc"] == pytest.approx(metrics["auc"])


def test_config_file(cli, synth_file, tmp_path):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(
        f'dataset = "{synth_file}"\nseed = 5\n[split]\nmethod = "random"\ntest_ratio = 0.25\n[[models]]\nname = "popularity"\nparams = {{ damping = 2.0 }}\n'
    )
    res = cli("train", "--config", cfg, "--out", tmp_path / "m", "--param", "by=rating", "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["params"] == {"by": "rating", "damping": 2.0}
    assert report["split"]["test_fraction"] == pytest.approx(0.25, abs=0.02)
    assert (tmp_path / "m" / "test.tsv").exists()


def test_plot_needs_history(cli, pop_run, tmp_path):
    res = cli("plot", pop_run, "--out", tmp_path / "c.png")
    assert res.code == 2 and "not an iterative model" in res.stderr
    assert not (tmp_path / "c.png").exists()


def test_iterative_model_validation_and_plot(cli, synth_file, pop_run, tmp_path):
    """baseline (SGD over biases) reports one history record per epoch; --validation carves rows out of train."""
    out = tmp_path / "bias"
    res = cli("train", "baseline", "--train", synth_file, "--param", "method=sgd", "--epochs", "3", "--validation", "0.2", "--out", out, "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["epochs_run"] == 3 and report["validation_interactions"] > 0
    assert report["train_interactions"] + report["validation_interactions"] == len(pd.read_csv(synth_file, sep="\t"))
    png = tmp_path / "curves.png"
    res = cli("plot", out, "--out", png)
    assert res.code == 0, res.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = cli("plot", out, pop_run, "--out", tmp_path / "two.png", "--json")  # a non-iterative model is left out
    assert res.code == 0, res.stderr
    assert res.json()["models"] == {"baseline": 3, "popularity": 0}


def test_metadata_titles_and_title_lookup(cli, synth_file, synth_items, tmp_path):
    out = tmp_path / "pop"
    res = cli("train", "popularity", "--train", synth_file, "--metadata", synth_items, "--out", out)
    assert res.code == 0, res.stderr
    rec = cli("recommend", out, "--user", "1", "-n", "3", "--json").json()[0]
    assert len(rec["titles"]) == 3 and all(t.startswith(f"Item {i} (") for i, t in zip(rec["items"], rec["titles"]))
    one = cli("similar", out, "--item", "ITEM 7 (", "-n", "2", "--json")  # case-insensitive substring
    assert one.code == 0, one.stderr
    assert one.json()["item"] == 7 and one.json()["item_title"].startswith("Item 7 (")
    amb = cli("similar", out, "--item", "item 1", "-n", "2")  # Item 1, Item 10..19
    lines = amb.stderr.strip().splitlines()
    assert amb.code == 2 and len(lines) == 1 and "ambiguous" in lines[0]
    assert "1: Item 1 (" in lines[0] and "10: Item 10 (" in lines[0]
    res = cli("recommend", out, "--user", "1", "-n", "3")
    assert "title" in res.stdout and "Item " in res.stdout


def test_config_seed_reaches_model_and_param_overrides(cli, synth_file, tmp_path):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(
        f"train: {synth_file}\ntest: {synth_file}\nseed: 5\nmodels:\n  - name: baseline\n    label: bias-sgd\n    params: {{method: sgd, epochs: 2}}\n"
    )
    res = cli("train", "bias-sgd", "--config", cfg, "--param", "epochs=3", "--out", tmp_path / "m", "--json")
    assert res.code == 0, res.stderr
    params = res.json()["params"]
    assert params["random_state"] == 5 and params["method"] == "sgd" and params["epochs"] == 3
    assert res.json()["epochs_run"] == 3


def test_recommend_all_users_json_array_and_include_seen(cli, pop_run):
    res = cli("recommend", pop_run, "--all-users", "-n", "2", "--json", "--batch-size", "9")
    assert res.code == 0, res.stderr
    rows = res.json()
    train = _frame(pop_run / "train.tsv")
    assert len(rows) == train.user.nunique()
    top = train.item.value_counts()
    user = int(train.user[train.item == top.index[0]].iloc[0])  # a user who rated the most popular item
    best = set(top[top == top.iloc[0]].index.tolist())
    seen = set(train.item[train.user == user].tolist())
    rec = cli("recommend", pop_run, "--user", user, "-n", "1", "--include-seen", "--json").json()[0]
    assert rec["items"][0] in best
    rec = cli("recommend", pop_run, "--user", user, "-n", "1", "--json").json()[0]
    assert rec["items"][0] not in seen


def test_model_progress_bars_never_reach_stdout(cli, synth_file, tmp_path, monkeypatch):
    """Models draw rich bars on rich's global console; under the CLI that console is stderr."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # make rich draw as on a terminal
    res = cli("train", "mf", "--train", synth_file, "--param", "epochs=2", "--out", tmp_path / "mf")
    assert res.code == 0, res.stderr
    assert "━" not in res.stdout and "\x1b[2K" not in res.stdout and "\x1b[?25l" not in res.stdout
    assert "fitted" in res.stdout and "saved model" in res.stdout


def test_implicit_min_rating_target_is_carried_into_evaluate(cli, synth_file, tmp_path):
    """--target implicit:4 keeps ratings >= 4 as positives in training, and evaluate applies the same cut to the test file."""
    out = tmp_path / "imp4"
    res = cli("train", "popularity", "--dataset", synth_file, "--split", "user", "--target", "implicit:4", "--out", out, "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["kind"] == "implicit"
    assert json.loads((out / "manifest.json").read_text())["state"]["implicit_min_rating_"] == 4.0
    test = _frame(out / "test.tsv")
    assert test.rating.min() < 4  # the saved test file keeps the raw ratings
    metrics = cli("evaluate", out, "--test", out / "test.tsv", "--json").json()
    assert metrics["relevant_interactions"] == int((test.rating >= 4).sum())


def test_narrow_tables_keep_title_and_caption_on_one_line(cli, pop_run, monkeypatch):
    """A model without titles gives a narrow table; its title and caption must not be wrapped."""
    monkeypatch.setenv("COLUMNS", "120")
    train = _frame(pop_run / "train.tsv")
    user = int(train.user.iloc[0])
    res = cli("recommend", pop_run, "--user", user, "-n", "2")
    assert res.code == 0, res.stderr
    assert f"recommendations for user {user}" in res.stdout
    assert "items this user has not rated in training" in res.stdout


def test_target_thresholds_outside_the_ratings_are_explained(cli, synth_file, tmp_path):
    """binary:9 on 1-5 ratings makes every label 0 (warned); implicit:6 keeps nothing (one clear error)."""
    res = cli("train", "baseline", "--train", synth_file, "--target", "binary:9", "--out", tmp_path / "b9")
    assert res.code == 0, res.stderr
    assert "warning: --target binary:9: no rating is >= 9" in res.stderr and "every label is 0" in res.stderr
    res = cli("train", "popularity", "--train", synth_file, "--target", "implicit:6", "--out", tmp_path / "i6")
    assert res.code == 2 and res.stderr.count("\n") == 1
    assert "--target implicit:6 keeps no interaction" in res.stderr and "ratings are 1 to 5" in res.stderr


def test_implicit_target_never_recommends_low_rated_items_back(cli, synth_file, tmp_path):
    """--target implicit:4 trains on ratings >= 4 only, but an item the user rated 1-3 is still seen:
    popularity would otherwise put a popular, disliked item at the top of that user's list."""
    out = tmp_path / "imp4-seen"
    assert cli("train", "popularity", "--train", synth_file, "--target", "implicit:4", "--out", out).code == 0
    ratings = _frame(synth_file)
    low = ratings[ratings.rating < 4]
    user = int(low.user.value_counts().index[0])
    rated = set(ratings[ratings.user == user].item.tolist())
    n_unrated = ratings.item.nunique() - len(rated)
    res = cli("recommend", out, "--user", user, "-n", n_unrated + 5, "--json")
    assert res.code == 0, res.stderr
    items = {int(i) for i in res.json()[0]["items"]}
    assert items and not items & rated
