"""Experiment config files: valid TOML/YAML/JSON, and one clear line for every kind of mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cofirec.errors import ConfigError
from cofirec.experiments.config import ExperimentConfig, config_from_dict, load_config

GOOD_TOML = """
dataset = "ml-100k"
data_dir = "data"
protocol = "ranking"
k = [20, 10]
seed = 7

[split]
method = "random"
test_ratio = 0.25

[[models]]
name = "popularity"
params = { by = "rating", damping = 3 }

[[models]]
name = "mean"
label = "global mean"

[tune]
metric = "ndcg@10"
trials = 5
[tune.space.popularity]
damping = { type = "float", low = 0.0, high = 10.0 }
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message, f"error must be one line: {message!r}"
    assert message.startswith(f"{path.name}: "), message
    return message


def test_valid_toml_is_parsed_typed_and_paths_resolved(tmp_path):
    (tmp_path / "data").mkdir()
    cfg = load_config(write(tmp_path, "exp.toml", GOOD_TOML))
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.dataset == "ml-100k"  # a name: not a path next to the file, kept as is
    assert cfg.data_dir == str((tmp_path / "data").resolve())
    assert cfg.k == [10, 20] and cfg.seed == 7 and cfg.split_seed == 7
    assert cfg.split.test_ratio == 0.25
    assert [m.display for m in cfg.models] == ["popularity", "global mean"]
    assert cfg.models[0].params == {"by": "rating", "damping": 3.0}
    assert cfg.tune.trials == 5 and cfg.tune.space["popularity"]["damping"]["high"] == 10.0
    assert cfg.models[0].build().get_params() == {"by": "rating", "damping": 3.0}


def test_yaml_and_json_give_the_same_config(tmp_path):
    yaml_text = """
train: train.tsv
test: test.tsv
protocol: rating
models:
  - name: popularity
    params: {by: count}
  - mean
"""
    (tmp_path / "train.tsv").write_text("1\t1\t5\n")
    (tmp_path / "test.tsv").write_text("1\t2\t4\n")
    cfg = load_config(write(tmp_path, "exp.yaml", yaml_text))
    assert cfg.train == str((tmp_path / "train.tsv").resolve())
    assert [m.name for m in cfg.models] == ["popularity", "mean"]
    again = load_config(write(tmp_path, "exp.json", json.dumps(cfg.to_dict())))
    assert again.to_dict() == cfg.to_dict()


def test_wrong_type_names_file_model_index_and_parameter(tmp_path):
    text = 'dataset = "ml-100k"\n[[models]]\nname = "mean"\n[[models]]\nname = "popularity"\nparams = { damping = "abc" }\n'
    msg = error_of(write(tmp_path, "config.toml", text))
    assert msg == "config.toml: models[1].params.damping: expected float, got 'abc'"


def test_wrong_literal_value_lists_the_choices(tmp_path):
    text = 'dataset = "ml-100k"\n[[models]]\nname = "popularity"\nparams = { by = "votes" }\n'
    msg = error_of(write(tmp_path, "config.toml", text))
    assert msg == "config.toml: models[0].params.by: expected one of 'count', 'rating', got 'votes'"


def test_unknown_model_is_named_with_a_suggestion(tmp_path):
    text = 'dataset = "ml-100k"\n[[models]]\nname = "populrity"\n'
    msg = error_of(write(tmp_path, "config.toml", text))
    assert msg.startswith("config.toml: models[0].name: unknown model 'populrity' (did you mean 'popularity'?)")


def test_unknown_parameter_is_named_with_the_known_ones(tmp_path):
    text = 'dataset = "ml-100k"\n[[models]]\nname = "popularity"\nparams = { dampening = 2 }\n'
    msg = error_of(write(tmp_path, "config.toml", text))
    assert msg.startswith("config.toml: models[0].params.dampening: unknown parameter (did you mean 'damping'?) for model 'popularity'")
    assert "known: by, damping" in msg


def test_missing_dataset_is_one_clear_line(tmp_path):
    msg = error_of(write(tmp_path, "config.toml", '[[models]]\nname = "mean"\n'))
    assert msg.startswith("config.toml: dataset: missing;")
    assert "'train' and 'test'" in msg


def test_train_without_test_is_refused(tmp_path):
    msg = error_of(write(tmp_path, "config.yaml", "train: a.tsv\n"))
    assert msg.startswith("config.yaml: test: missing")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('dataset = "x"\nmodles = []\n', "config.toml: modles: unknown field (did you mean 'models'?)"),
        ('dataset = "x"\nprotocol = "top-n"\n', "config.toml: protocol: expected one of rating, ranking, sampled, binary, got 'top-n'"),
        ('dataset = "x"\nk = [10, 0]\n', "config.toml: k[1]: expected a positive int, got 0"),
        ('dataset = "x"\nseed = "one"\n', "config.toml: seed: expected int, got 'one'"),
        ('dataset = "x"\n[split]\ntest_ratio = 1.5\n', "config.toml: split.test_ratio: expected a fraction between 0 and 1, got 1.5"),
        ('dataset = "x"\n[split]\nratio = 0.1\n', "config.toml: split.ratio: unknown field"),
        ('dataset = "x"\ntarget = "like:4"\n', "config.toml: target: expected 'explicit', 'implicit[:MIN]' or 'binary:THRESHOLD'"),
        ('dataset = "x"\n[tune.space.mf]\nfactors = { type = "int", low = 64, high = 8 }\n', "config.toml: tune.space.mf.factors: low (64) is above high (8)"),
        (
            'dataset = "x"\n[tune.space.mf]\nreg = { type = "float", low = 0, high = 1, log = true }\n',
            "config.toml: tune.space.mf.reg: a log scale needs low > 0",
        ),
        ('dataset = "x"\n[tune]\ntrials = 0\n', "config.toml: tune.trials: expected a positive int, got 0"),
        ('dataset = "x"\n[tune.space.mff]\nfactors = 8\n', "config.toml: tune.space.mff: unknown model (did you mean 'mf'?)"),
        ("dataset = [\n", "config.toml: invalid TOML:"),
    ],
)
def test_each_mistake_is_one_line_naming_the_field(tmp_path, text, expected):
    msg = error_of(write(tmp_path, "config.toml", text))
    assert msg.startswith(expected), msg


def test_unsupported_extension_and_missing_file(tmp_path):
    assert "unsupported config format '.ini'" in error_of(write(tmp_path, "exp.ini", "x"))
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_invalid_yaml_names_the_line(tmp_path):
    msg = error_of(write(tmp_path, "bad.yaml", "dataset: ml-100k\nmodels: [mean\n"))
    assert msg.startswith("bad.yaml: invalid YAML at line")


def test_config_from_dict_shorthands():
    cfg = config_from_dict({"dataset": "ml-100k", "k": "5,10", "models": ["mean", {"name": "popularity", "params": {"by": "rating"}}]})
    assert cfg.k == [5, 10]
    assert cfg.models[1].params == {"by": "rating"}
    assert cfg.target_spec() == ("explicit", None)
    assert config_from_dict({"dataset": "x", "target": "binary:3.5"}).target_spec() == ("binary", 3.5)
    assert config_from_dict({"dataset": "x", "implicit": True}).target_spec() == ("implicit", None)


def test_models_as_a_table_of_name_to_params(tmp_path):
    """``[models.NAME]`` tables (the natural TOML form, as ``[tune.space.NAME]``) are accepted, and checked."""
    text = 'dataset = "ml-100k"\n[models.popularity]\nby = "rating"\n[models.mean]\n'
    cfg = load_config(write(tmp_path, "config.toml", text))
    assert [(m.name, m.params) for m in cfg.models] == [("popularity", {"by": "rating"}), ("mean", {})]
    msg = error_of(write(tmp_path, "bad.toml", 'dataset = "ml-100k"\n[models.popularity]\ndamping = "abc"\n'))
    assert msg == "bad.toml: models.popularity.damping: expected float, got 'abc'"
    msg = error_of(write(tmp_path, "bad2.toml", 'dataset = "ml-100k"\n[models.populrity]\n'))
    assert msg.startswith("bad2.toml: models.populrity: unknown model 'populrity'")


def test_unknown_parameter_in_tune_space_is_refused_when_the_file_is_read(tmp_path):
    text = 'dataset = "ml-100k"\n[tune.space.ease]\nl3 = { type = "float", low = 1, high = 10 }\n'
    msg = error_of(write(tmp_path, "t.toml", text))
    assert msg.startswith("t.toml: tune.space.ease.l3: unknown parameter for model 'ease' (known: max_items, reg")
