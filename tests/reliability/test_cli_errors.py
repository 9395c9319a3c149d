"""Issue 10: consistent exits, errors a CLI user can act on, top-N lists never padded with items the user may
not get. Every test here reproduces a case that misbehaved before (exit 1 with a raw numpy error, a hint naming
a Python keyword the CLI does not have, two JSON shapes, a blank line on a piped stderr, ...)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cofirec
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError

SRC = Path(__file__).resolve().parents[2] / "src"
BAD = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def synth():
    return make_synthetic(n_users=60, n_items=40, density=0.15, seed=3)


@pytest.fixture(scope="module")
def ratings(synth, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rel") / "ratings.tsv"
    synth.to_frame().to_csv(path, sep="\t", index=False)
    return path


@pytest.fixture(scope="module")
def hash_sep(synth, tmp_path_factory) -> Path:
    """The same ratings with '#' between fields: no separator the reader detects on its own."""
    path = tmp_path_factory.mktemp("rel") / "ratings.txt"
    synth.to_frame()[["user", "item", "rating"]].to_csv(path, sep="#", index=False, header=False)
    return path


@pytest.fixture
def pop_model(cli, ratings, tmp_path) -> Path:
    out = tmp_path / "pop"
    res = cli("train", "popularity", "--train", ratings, "--out", out)
    assert res.code == 0, res.stderr
    return out


def one_error_line(res, *needles: str, code: int = 2) -> str:
    assert res.code == code, (res.code, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# ---------------------------------------------------------------------- exit codes
def test_negative_random_state_is_a_user_error(cli, ratings, tmp_path, synth):
    """Was exit 1: 'ValueError: expected non-negative integer' from numpy deep inside fit."""
    res = cli("train", "mf", "--train", ratings, "--param", "random_state=-1", "--out", tmp_path / "m")
    one_error_line(res, "random_state=-1", "non-negative")
    with pytest.raises(ConfigError, match="random_state"):
        cofirec.create_model("mf", {"random_state": -1}).fit(synth)


@pytest.mark.parametrize(
    "args",
    [
        ("split", "{ratings}", "--out", "{tmp}/s", "--seed", "-1"),
        ("train", "mf", "--train", "{ratings}", "--out", "{tmp}/m", "--validation", "0.2", "--seed", "-1"),
        ("compare", "--train", "{ratings}", "--test", "{ratings}", "--models", "mean", "--seed", "-1"),
    ],
)
def test_negative_seed_options_are_user_errors(cli, ratings, tmp_path, args):
    res = cli(*[a.format(ratings=ratings, tmp=tmp_path) for a in args])
    one_error_line(res, "seed=-1", "non-negative")


def test_negative_seed_of_sampled_negatives(cli, pop_model, ratings):
    res = cli("evaluate", pop_model, "--test", ratings, "--protocol", "sampled", "--sample-negatives", "5", "--seed", "-1")
    one_error_line(res, "seed=-1")


@pytest.mark.parametrize("n", [-1, 0, 2.5, True, "5"])
def test_recommend_n_must_be_a_positive_integer(synth, n):
    """Was a raw numpy ValueError (n=-1: 'negative dimensions are not allowed')."""
    model = cofirec.create_model("popularity").fit(synth)
    with pytest.raises(ConfigError, match="positive integer"):
        model.recommend(synth.user_map.ids[0], n=n)
    with pytest.raises(ConfigError, match="positive integer"):
        model.similar_items(synth.item_map.ids[0], n=n)


def test_nested_ids_and_unpaired_predict_are_data_errors(synth):
    model = cofirec.create_model("popularity").fit(synth)
    with pytest.raises(DataError, match="flat list of ids"):
        model.recommend([[1, 2]])
    with pytest.raises(DataError, match="2 users but 1 items"):
        model.predict([1, 2], [1])


def _crash(*args, **kwargs):
    raise ZeroDivisionError("boom")


def test_internal_error_says_so_and_how_to_get_the_traceback(cli, ratings, monkeypatch):
    monkeypatch.setattr("cofirec.data.resolve.load_dataset", _crash)
    res = cli("info", ratings)
    line = one_error_line(res, "internal error", "ZeroDivisionError: boom", "--debug", "COFIREC_DEBUG=1", code=1)
    assert "bug" in line


def test_debug_flag_shows_the_traceback(cli, ratings, monkeypatch):
    monkeypatch.setattr("cofirec.data.resolve.load_dataset", _crash)
    with pytest.raises(ZeroDivisionError):
        cli("--debug", "info", ratings)
    assert cli("info", ratings).code == 1  # the flag does not stick to the next command


def test_out_of_memory_is_not_called_a_bug(cli, ratings, monkeypatch):
    def oom(*args, **kwargs):
        raise MemoryError("Unable to allocate 29.8 GiB")

    monkeypatch.setattr("cofirec.data.resolve.load_dataset", oom)
    line = one_error_line(cli("info", ratings), "out of memory", "29.8 GiB", code=1)
    assert "bug" not in line


# ---------------------------------------------------------------------- --json
def test_json_error_object_on_stdout(cli, tmp_path, ratings):
    res = cli("info", tmp_path / "missing.tsv", "--json")
    line = one_error_line(res, "missing.tsv")
    obj = json.loads(res.stdout)
    assert obj == {"error": line.removeprefix("error: "), "kind": "dataset_not_found", "exit_code": 2}

    res = cli("train", "mf", "--train", ratings, "--param", "factors=-3", "--out", tmp_path / "m", "--json")
    assert res.code == 2 and res.json()["kind"] == "config" and "factors" in res.json()["error"]

    res = cli("info", ratings, "--json", "--no-such-option")
    assert res.code == 2 and res.json()["kind"] == "usage"


def test_no_json_error_object_without_json(cli, tmp_path):
    res = cli("info", tmp_path / "missing.tsv")
    assert res.code == 2 and res.stdout == ""


def test_recommend_json_has_one_shape(cli, pop_model, synth):
    """Was a bare object for one user and a list for several."""
    users = [str(u) for u in synth.user_map.ids[:2]]
    one = cli("recommend", pop_model, "--user", users[0], "-n", "3", "--json").json()
    two = cli("recommend", pop_model, "--user", users[0], "--user", users[1], "-n", "3", "--json").json()
    assert isinstance(one, list) and isinstance(two, list)
    assert len(one) == 1 and len(two) == 2 and one[0] == two[0]


# ---------------------------------------------------------------------- shorter lists, never padding
def test_few_candidates_give_shorter_lists(synth):
    """Was padded up to n with non-candidate items at score -inf."""
    model = cofirec.create_model("popularity").fit(synth)
    user = synth.user_map.ids[0]
    seen = set(synth.item_map.ids[synth.to_csr("binary")[0].indices].tolist())
    candidates = [i for i in synth.item_map.ids.tolist() if i not in seen][:3]
    rec = model.recommend(user, n=10, candidates=candidates)
    assert len(rec.items) == 3 and set(rec.items.tolist()) == set(candidates)
    assert np.isfinite(rec.scores).all()


def test_batch_padding_never_carries_a_real_item(synth):
    model = cofirec.create_model("popularity").fit(synth)
    csr = synth.to_csr("binary")
    users = synth.user_map.ids[:5]
    candidates = synth.item_map.ids[:4]
    rec = model.recommend(users, n=10, candidates=candidates)
    assert rec.items.shape[1] <= 4
    for row in range(len(users)):
        seen = set(synth.item_map.ids[csr[row].indices].tolist())
        allowed = set(candidates.tolist()) - seen
        assert set(rec.items[row].tolist()) & set(synth.item_map.ids.tolist()) <= allowed  # padding is no real id
        assert rec.lengths[row] == len(allowed)
        assert set(rec.to_records()[row]["items"]) == allowed


def test_user_who_has_seen_everything_gets_an_empty_list(tmp_path):
    """Was a full list of seen items at score -inf."""
    from cofirec.data.dataset import Interactions

    frame = __import__("pandas").DataFrame({"user": [1, 1, 1, 2], "item": [10, 11, 12, 10], "rating": [5.0, 4.0, 3.0, 2.0]})
    data = Interactions.from_frame(frame)
    model = cofirec.create_model("popularity").fit(data)
    rec = model.recommend(1, n=5)
    assert len(rec.items) == 0 and len(rec.scores) == 0
    batch = model.recommend([1, 2], n=5)
    assert batch.lengths.tolist() == [0, 2]
    assert not set(batch.items[0].tolist()) & {10, 11, 12}
    assert [r["items"] for r in batch.to_records()] == [[], [11, 12]]


# ---------------------------------------------------------------------- hints name CLI flags; --sep / --encoding
def test_separator_hint_names_the_sep_flag(cli, hash_sep):
    line = one_error_line(cli("info", hash_sep), "--sep")
    assert "pass sep=" not in line


def test_encoding_hint_names_the_encoding_flag(cli):
    line = one_error_line(cli("info", BAD / "latin1_text.csv"), "--encoding latin-1")
    assert "pass encoding=" not in line
    res = cli("info", BAD / "latin1_text.csv", "--encoding", "latin-1", "--json")
    assert res.code == 0, res.stderr


def test_unknown_encoding_is_a_clear_error(cli, ratings):
    one_error_line(cli("info", ratings, "--encoding", "klingon"), "--encoding", "unknown text encoding")


@pytest.mark.parametrize(
    "args",
    [
        ("info", "{f}"),
        ("split", "{f}", "--out", "{tmp}/s"),
        ("train", "popularity", "--train", "{f}", "--out", "{tmp}/m"),
        ("train", "popularity", "--dataset", "{f}", "--split", "random", "--out", "{tmp}/m2"),
        ("compare", "--train", "{f}", "--test", "{f}", "--models", "popularity"),
        ("tune", "popularity", "--train", "{f}", "--test", "{f}", "--trials", "1", "--report", "{tmp}/t"),
    ],
)
def test_every_file_reading_command_takes_sep(cli, hash_sep, tmp_path, args):
    argv = [a.format(f=hash_sep, tmp=tmp_path) for a in args]
    one_error_line(cli(*argv), "--sep")
    res = cli(*argv, "--sep", "#", "--encoding", "utf-8")
    assert res.code == 0, res.stderr


def test_evaluate_takes_sep_for_the_test_file(cli, pop_model, hash_sep):
    one_error_line(cli("evaluate", pop_model, "--test", hash_sep), "--sep")
    res = cli("evaluate", pop_model, "--test", hash_sep, "--sep", "#", "--json")
    assert res.code == 0, res.stderr


def test_compare_reproduce_command_keeps_sep(cli, hash_sep):
    res = cli("compare", "--train", hash_sep, "--test", hash_sep, "--models", "mean", "--sep", "#", "--json")
    assert res.code == 0, res.stderr
    assert "--sep '#'" in res.json()["command"]


# ---------------------------------------------------------------------- rating + label columns
def test_rating_and_label_names_the_way_out(cli):
    """Was 'header has two rating columns' with no flag named."""
    line = one_error_line(cli("info", BAD / "rating_and_label.tsv"), "--columns", "user,item,rating,-,timestamp reads 'rating'", "--target binary:T")
    assert "user,item,-,rating,timestamp reads 'label'" in line
    res = cli("info", BAD / "rating_and_label.tsv", "--columns", "user,item,rating,-,timestamp", "--json")
    assert res.code == 0 and res.json()["rating_max"] == 5


def test_binary_target_ignores_a_label_column_with_a_note(cli, tmp_path):
    out = tmp_path / "b"
    res = cli("train", "baseline", "--train", BAD / "rating_and_label.tsv", "--target", "binary:4", "--out", out, "--json")
    assert res.code == 0, res.stderr
    assert "label column is ignored" in res.stderr
    assert res.json()["kind"] == "binary"
    ev = cli("evaluate", out, "--test", BAD / "rating_and_label.tsv", "--json")
    assert ev.code == 0, ev.stderr
    assert ev.json()["positives"] == 3  # ratings >= 4, from the rating column


# ---------------------------------------------------------------------- --target binary
def test_bare_binary_target_on_ratings_is_an_error(cli, ratings, tmp_path):
    """Was silently binary:4."""
    one_error_line(cli("train", "popularity", "--train", ratings, "--target", "binary", "--out", tmp_path / "m"), "binary:4")
    res = cli("compare", "--train", ratings, "--test", ratings, "--models", "mean", "--target", "binary")
    assert res.code == 2 and "binary:4" in res.stderr


def test_bare_binary_target_on_label_data(cli, tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text("user\titem\tlabel\n1\t10\t1\n1\t11\t0\n2\t10\t0\n2\t12\t1\n3\t11\t1\n")
    res = cli("train", "popularity", "--train", path, "--target", "binary", "--out", tmp_path / "m", "--json")
    assert res.code == 0, res.stderr and res.json()["kind"] == "binary"


@pytest.mark.parametrize("model,epochs", [("mf", "epochs=5"), ("als", "epochs=5")])
def test_regression_models_on_binary_labels_evaluate_by_default(cli, ratings, tmp_path, model, epochs):
    """als fitted with --target binary:4 failed the default (binary) protocol telling the user to fit on binarized
    data, which they had done."""
    out = tmp_path / model
    assert cli("train", model, "--train", ratings, "--target", "binary:4", "--param", epochs, "--out", out).code == 0
    res = cli("evaluate", out, "--test", ratings, "--json")
    assert res.code == 0, res.stderr
    assert 0.0 <= res.json()["auc"] <= 1.0 and np.isfinite(res.json()["logloss"])


def test_binary_protocol_advice_fits_a_model_already_on_labels(synth):
    from cofirec.evaluate import evaluate

    model = cofirec.create_model("popularity").fit(synth.binarize(4.0))  # fitted on labels, scores are counts
    with pytest.raises(DataError) as info:
        evaluate(model, synth.binarize(4.0), protocol="binary")
    assert "binarize" not in str(info.value) and "--protocol ranking" in str(info.value)


# ---------------------------------------------------------------------- small wording
def test_popularity_on_binary_labels_ranks_the_likes_by_default(cli, ratings, tmp_path):
    """Its counts are no probabilities: the default protocol is ranking, and only liked test items are relevant."""
    out = tmp_path / "pop-binary"
    assert cli("train", "popularity", "--train", ratings, "--target", "binary:4", "--out", out).code == 0
    res = cli("evaluate", out, "--test", ratings, "--json")
    assert res.code == 0, res.stderr
    frame = __import__("pandas").read_csv(ratings, sep="\t")
    assert res.json()["relevant_interactions"] == int((frame.rating >= 4).sum())


def test_missing_model_folder_does_not_exist(cli, tmp_path):
    line = one_error_line(cli("recommend", tmp_path / "nope", "--user", "1"), "does not exist")
    assert "manifest" not in line


def test_piped_stderr_has_no_blank_lines(ratings, tmp_path):
    """A progress bar on a piped stderr left an empty line behind."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("COFIREC_DEBUG", None)
    env.pop("TTY_COMPATIBLE", None)
    env.pop("FORCE_COLOR", None)
    cmd = [sys.executable, "-m", "cofirec.cli.main", "train", "mf", "--train", str(ratings), "--epochs", "2", "--out", str(tmp_path / "m")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "" not in proc.stderr.splitlines() and "" not in proc.stdout.splitlines(), (proc.stdout, proc.stderr)


def test_unusable_tune_storage_is_a_user_error(cli, ratings):
    """Was exit 1 with sqlalchemy's NoSuchModuleError."""
    res = cli("tune", "mean", "--train", ratings, "--test", ratings, "--trials", "1", "--storage", "bogus://x")
    one_error_line(res, "--storage", "bogus://x")


def test_cli_user_who_has_seen_everything(cli, tmp_path):
    """Was a list of the user's own items under 'items this user has not rated'."""
    path = tmp_path / "all.tsv"
    path.write_text("user\titem\trating\n1\t10\t5\n1\t11\t3\n2\t10\t4\n")
    assert cli("train", "popularity", "--train", path, "--out", tmp_path / "m").code == 0
    res = cli("recommend", tmp_path / "m", "--user", "1", "--user", "2", "--json")
    assert res.code == 0, res.stderr
    assert [r["items"] for r in res.json()] == [[], [11]]
    assert "fewer than 10 items left" in res.stderr
    lines = cli("recommend", tmp_path / "m", "--all-users", "-n", "5").stdout.splitlines()
    assert [json.loads(line)["items"] for line in lines] == [[], [11]]


def test_compare_json_with_every_model_failing_prints_one_document(cli, ratings):
    """Was the results document followed by the error object: stdout no longer parsed as JSON."""
    res = cli("compare", "--train", ratings, "--test", ratings, "--models", "mf", "--implicit", "--json")
    assert res.code == 2
    assert res.json()["kind"] == "error" and "no model finished" in res.json()["error"]
