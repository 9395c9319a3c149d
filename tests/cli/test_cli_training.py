"""`cofirec train` and the shared training loop: `--validation` on implicit data, `--refit` epoch counts,
non-finite parameters and diverging fits (exit 2, nothing saved)."""

from __future__ import annotations

import pytest

from cofirec.data.dataset import Interactions


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["ials", "bpr"])
def test_validation_on_implicit_ml100k_keeps_a_useful_model(cli, real_data, tmp_path, name):
    """The validation pairs are part of the user's history (seen) but the validation ranking must find them:
    it used to score NDCG 0.0 every epoch, keep epoch 0 and give test NDCG@10 0.07 instead of 0.45."""
    folder = real_data("ml-100k")
    common = ["--dataset", folder, "--split", "user", "--implicit", "--seed", "0", "--json"]
    plain = cli("train", name, *common, "--out", tmp_path / "plain")
    assert plain.code == 0, plain.stderr
    res = cli("train", name, *common, "--validation", "0.1", "--out", tmp_path / "val")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["last_epoch"]["val_ndcg@10"] > 0.1
    scores = {}
    for run in ("plain", "val"):
        out = cli("evaluate", tmp_path / run, "--test", tmp_path / run / "test.tsv", "--json")
        assert out.code == 0, out.stderr
        scores[run] = out.json()["ndcg@10"]
    assert scores["val"] >= scores["plain"] - 0.03 and scores["val"] > 0.3


@pytest.fixture(autouse=True)
def _one_torch_thread(monkeypatch):
    monkeypatch.setenv("COFIREC_THREADS", "1")  # tiny torch models: extra threads only wait on each other


@pytest.mark.parametrize(
    "name, extra",
    [
        ("mf", []),
        ("als", []),
        ("bpr", ["--implicit"]),
        ("baseline", ["--param", "method=sgd"]),
        ("embedding-dot", ["--param", "device=cpu", "--param", "batch_size=256"]),
    ],
)
def test_refit_runs_exactly_the_chosen_epoch_count(cli, synth_file, tmp_path, name, extra):
    res = cli("train", name, "--train", synth_file, *extra, "--param", "epochs=6", "--validation", "0.2", "--refit", "--out", tmp_path / "m", "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    chosen = report["refit"]["epochs"]
    assert chosen >= 1 and report["epochs_run"] == chosen and report["last_epoch"]["epoch"] == chosen


@pytest.mark.parametrize(
    "name, param",
    [("mf", "reg=nan"), ("mf", "lr=inf"), ("mf", "init_std=nan"), ("bpr", "lr=-inf"), ("embedding-dot", "lr=nan"), ("ials", "alpha=nan"), ("ease", "reg=inf")],
)
def test_non_finite_parameters_are_refused_before_anything_is_written(cli, synth_file, tmp_path, name, param):
    res = cli("train", name, "--train", synth_file, "--param", param, "--out", tmp_path / "m")
    assert res.code == 2 and "must be a finite number" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "m").exists()


def test_diverging_fit_exits_2_and_saves_nothing(cli, synth, tmp_path):
    frame = synth.to_frame()
    frame["rating"] = frame["rating"] * 2_000_000.0  # ratings up to about 9,999,999
    path = tmp_path / "huge.tsv"
    Interactions.from_frame(frame).to_frame().to_csv(path, sep="\t", index=False)
    res = cli("train", "mf", "--train", path, "--out", tmp_path / "m")
    assert res.code == 2, res.stderr
    assert "training diverged" in res.stderr and "learning rate" in res.stderr and "ratings range" in res.stderr
    assert not (tmp_path / "m").exists()
    res = cli("train", "mf", "--train", path, "--param", "lr=1e6", "--out", tmp_path / "m2")
    assert res.code == 2 and not (tmp_path / "m2").exists()


def test_renamed_parameter_names_the_new_name(cli, synth_file, tmp_path):
    res = cli("train", "als", "--train", synth_file, "--param", "iterations=3", "--out", tmp_path / "m")
    assert res.code == 2 and "'iterations' was renamed to 'epochs'" in res.stderr
