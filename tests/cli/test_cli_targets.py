"""train (flags) and compare/tune (experiment configs) apply a target the same way: one library module."""

from __future__ import annotations


def test_threshold_keeping_nothing_is_the_same_data_error_everywhere(cli, synth_file, tmp_path):
    """Was kind 'data' from train and kind 'config' from compare."""
    train = cli("train", "popularity", "--train", synth_file, "--target", "implicit:9", "--out", tmp_path / "m", "--json")
    compare = cli("compare", "--train", synth_file, "--test", synth_file, "--models", "popularity", "--target", "implicit:9", "--json")
    assert train.code == compare.code == 2
    assert train.json()["kind"] == compare.json()["kind"] == "data"
    assert "keeps no interaction (ratings are 1 to 5)" in train.stderr and "keeps no interaction (ratings are 1 to 5)" in compare.stderr


def test_train_config_goes_through_the_experiment_config(cli, synth_file, tmp_path):
    """train --config: the config's target, metadata-free data and seed go through experiments.config/data;
    flags win over the config."""
    cfg = tmp_path / "exp.toml"
    cfg.write_text(f'train = "{synth_file}"\ntest = "{synth_file}"\ntarget = "implicit:4"\nseed = 3\n[[models]]\nname = "bpr"\n')
    res = cli("train", "--config", cfg, "--epochs", "1", "--out", tmp_path / "m", "--json")
    assert res.code == 0, res.stderr
    report = res.json()
    assert report["kind"] == "implicit" and report["params"]["random_state"] == 3 and report["test_file"] == str(synth_file)
    flag = cli("train", "--config", cfg, "--target", "binary:4", "--epochs", "1", "--out", tmp_path / "b", "--json")
    assert flag.code == 0, flag.stderr
    assert flag.json()["kind"] == "binary"  # the flag's target replaced the config's


def test_binary_target_reads_the_ratings_of_a_rating_and_label_file_everywhere(cli, tmp_path):
    """The reader's error says 'give --target binary:T'; compare refused the file even then (train accepted it)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "bad_inputs" / "rating_and_label.tsv"
    res = cli("compare", "--dataset", path, "--models", "popularity", "--target", "binary:4", "--test-ratio", "0.5", "--json")
    assert res.code == 0, res.stderr
    assert "label column is ignored" in res.stderr
    assert res.json()["rows"][0]["model"] == "popularity"
