"""A model remembers which split it was trained on; ``evaluate`` refuses a test file of another split of the same
data (its rows may be in the model's training data), and still takes unrelated external test files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cofirec.cli.common import write_interactions
from cofirec.data.split_folder import read_split_manifest
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import DataError


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_interactions(make_synthetic(n_users=80, n_items=40, seed=5), tmp_path_factory.mktemp("src") / "ratings.tsv")


def one_line_error(res, *needles):
    assert res.code == 2, (res.code, res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_split_writes_a_manifest_describing_its_files(cli, source, tmp_path):
    from cofirec._atomic import file_sha256

    assert cli("split", source, "--out", tmp_path / "s", "--seed", "7", "--test-ratio", "0.25").code == 0
    record = read_split_manifest(tmp_path / "s")
    assert record["method"] == "random" and record["seed"] == 7 and record["test_ratio"] == 0.25
    assert record["files"] == {n: file_sha256(tmp_path / "s" / n) for n in ("train.tsv", "test.tsv")}


def test_own_split_evaluates(cli, source, tmp_path):
    out = tmp_path / "m"
    assert cli("train", "popularity", "--dataset", source, "--split", "random", "--seed", "0", "--out", out).code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training"]["split"]["files"] == read_split_manifest(out)["files"]
    assert cli("evaluate", out, "--test", out / "test.tsv").code == 0


def test_resplit_beside_the_model_is_refused(cli, source, tmp_path):
    """The leaked evaluation of the issue: a seed-1 split written into a seed-0 model's folder."""
    out = tmp_path / "m"
    assert cli("train", "popularity", "--dataset", source, "--split", "random", "--seed", "0", "--out", out).code == 0
    assert cli("split", source, "--seed", "1", "--out", out).code == 0
    assert (out / "manifest.json").exists(), "split must keep the model files of the folder"
    one_line_error(cli("evaluate", out, "--test", out / "test.tsv"), "different split", "seed 1")


def test_test_file_of_another_split_folder_is_refused(cli, source, tmp_path):
    for seed in (0, 1):
        assert cli("split", source, "--seed", seed, "--out", tmp_path / f"s{seed}").code == 0
    model = tmp_path / "m"
    assert cli("train", "popularity", "--train", tmp_path / "s0" / "train.tsv", "--out", model).code == 0
    assert cli("evaluate", model, "--test", tmp_path / "s0" / "test.tsv").code == 0
    one_line_error(cli("evaluate", model, "--test", tmp_path / "s1" / "test.tsv"), "different split")


def test_split_folder_rewritten_after_training_is_refused(cli, source, tmp_path):
    split = tmp_path / "s"
    assert cli("split", source, "--seed", "0", "--out", split).code == 0
    model = tmp_path / "m"
    assert cli("train", "popularity", "--train", split / "train.tsv", "--out", model).code == 0
    assert cli("split", source, "--seed", "1", "--out", split).code == 0
    one_line_error(cli("evaluate", model, "--test", split / "test.tsv"), "different split")


def test_model_of_the_whole_data_on_a_split_of_it_is_refused(cli, source, tmp_path):
    assert cli("split", source, "--seed", "0", "--out", tmp_path / "s").code == 0
    model = tmp_path / "m"
    assert cli("train", "popularity", "--dataset", source, "--out", model).code == 0
    one_line_error(cli("evaluate", model, "--test", tmp_path / "s" / "test.tsv"), "different split")


def test_edited_split_file_is_refused(cli, source, tmp_path):
    out = tmp_path / "m"
    assert cli("train", "popularity", "--dataset", source, "--split", "random", "--out", out).code == 0
    lines = (out / "test.tsv").read_text().splitlines(keepends=True)
    (out / "test.tsv").write_text("".join(lines[: len(lines) // 2]))  # a truncated copy
    one_line_error(cli("evaluate", out, "--test", out / "test.tsv"), "split.json")


def test_truncated_split_train_file_is_refused_before_fitting(cli, source, tmp_path):
    split = tmp_path / "s"
    assert cli("split", source, "--out", split).code == 0
    lines = (split / "train.tsv").read_text().splitlines(keepends=True)
    (split / "train.tsv").write_text("".join(lines[: len(lines) // 3]))  # as an interrupted write of old left it
    one_line_error(cli("train", "popularity", "--train", split / "train.tsv", "--out", tmp_path / "m"), "split.json")
    assert not (tmp_path / "m").exists()


def test_external_test_files_still_evaluate(cli, tmp_path):
    """No split.json: e.g. ML-100K's u1.base / u1.test, written by someone else."""
    data = make_synthetic(n_users=80, n_items=40, seed=6)
    rows = data.to_frame()
    ext = tmp_path / "external"
    ext.mkdir()
    rows.iloc[: len(rows) * 4 // 5].to_csv(ext / "u1.base", sep="\t", index=False, header=False)
    rows.iloc[len(rows) * 4 // 5 :].to_csv(ext / "u1.test", sep="\t", index=False, header=False)
    model = tmp_path / "m"
    assert cli("train", "popularity", "--train", ext / "u1.base", "--out", model).code == 0
    res = cli("evaluate", model, "--test", ext / "u1.test")
    assert res.code == 0, res.stderr


def test_real_ml100k_u1_evaluates(cli, real_data, tmp_path):
    folder = real_data("ml-100k")
    model = tmp_path / "m"
    assert cli("train", "popularity", "--train", folder / "u1.base", "--out", model).code == 0
    assert cli("evaluate", model, "--test", folder / "u1.test").code == 0


def test_models_saved_without_a_training_record_are_not_judged(tmp_path, source):
    from cofirec.data.split_folder import check_test_file

    (tmp_path / "split.json").write_text("{broken")
    (tmp_path / "test.tsv").write_text("user\titem\trating\n1\t1\t5\n")
    with pytest.raises(DataError, match="damaged split manifest"):
        check_test_file(tmp_path, None, tmp_path / "test.tsv")
    check_test_file(tmp_path, None, source)  # no split.json beside it: nothing to check
