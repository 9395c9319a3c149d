"""Presets: registered recipes that work wherever a model name works and build the real model class."""

from __future__ import annotations

import json

import pytest

import cofirec
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError
from cofirec.models.registry import DEFAULTS_SOURCE, MODELS, PRESETS, Preset, create_model, default_source, get_model_class


@pytest.fixture(scope="module")
def ratings():
    return make_synthetic(n_users=40, n_items=30, density=0.25, seed=3)


def test_every_preset_is_registered_and_names_a_real_model():
    assert {"svdpp", "next-item", "deepfm-ordinal"} <= set(PRESETS)
    for name, preset in PRESETS.items():
        assert MODELS[name] is preset and get_model_class(name) is preset
        assert not isinstance(MODELS[preset.model], Preset), f"{name}: a preset of a preset"
        base = get_model_class(preset.model)
        assert set(preset.params) <= set(base.param_names()), f"{name}: overrides a parameter {preset.model} does not take"
        assert preset.kind in base.supported_kinds and preset.supported_kinds == {preset.kind}
        assert preset.why and default_source(name) == preset.why


def test_every_model_says_where_its_defaults_come_from():
    bases = [n for n, entry in MODELS.items() if not isinstance(entry, Preset)]
    assert sorted(DEFAULTS_SOURCE) == sorted(bases)


def test_create_model_from_a_preset_builds_the_real_class_with_overrides_on_top():
    model = cofirec.create_model("svdpp", {"epochs": "3"})
    assert type(model) is get_model_class("mf")
    params = model.get_params()
    assert params["implicit_feedback"] is True and params["epochs"] == 3
    assert params["reg_implicit"] == PRESETS["svdpp"].params["reg_implicit"]
    defaults = get_model_class("next-item").param_defaults()
    assert defaults["loss"] == "full_softmax" and defaults["recency"] == 10.0 and defaults["factors"] == 128


def test_preset_rejects_a_parameter_its_model_does_not_take():
    with pytest.raises(ConfigError, match="unknown parameter 'nope'"):
        create_model("svdpp", {"nope": 1})


def test_saved_preset_model_loads_as_its_real_class_with_its_params(ratings, tmp_path):
    model = create_model("svdpp", {"epochs": 2, "factors": 4}).fit(ratings)
    model.save(tmp_path / "m")
    again = cofirec.load(tmp_path / "m")
    assert type(again) is type(model) and again.name == "mf"
    assert again.get_params() == model.get_params()
    users, items = ratings.user_map.ids[:5], ratings.item_map.ids[:5]
    assert again.predict(users, items).tolist() == pytest.approx(model.predict(users, items).tolist())


def test_preset_through_the_cli_train_and_models(cli, ratings, tmp_path):
    path = tmp_path / "r.tsv"
    ratings.to_frame().to_csv(path, sep="\t", index=False)
    res = cli("train", "svdpp", "--train", path, "-p", "epochs=2", "--out", tmp_path / "m", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["model"] == "svdpp" and res.json()["params"]["implicit_feedback"] is True
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["model"] == "mf"
    listed = {row["name"]: row for row in cli("models", "--json").json()}
    assert listed["next-item"]["preset_of"] == "embedding-dot" and listed["next-item"]["kinds"] == ["implicit"]
    assert listed["next-item"]["params"]["loss"] == "full_softmax" and "--refit" in listed["next-item"]["usage"]
    assert "RMSE" in listed["mf"]["default_source"] and listed["mf"]["params"]["implicit_feedback"] is True
    table = " ".join(cli("models").stdout.split())
    assert "why:" in table and "= deepfm with loss='ordinal'" in table


def test_preset_in_compare_and_config(ratings, tmp_path):
    from cofirec.data.splits import random_split
    from cofirec.experiments.compare import compare
    from cofirec.experiments.config import load_config

    split = random_split(ratings, 0.2, seed=0)
    res = compare(
        [("svdpp", {"epochs": 2, "factors": 4}), ("mf", {"epochs": 2, "factors": 4, "implicit_feedback": False})],
        split.train,
        split.test,
        protocol="rating",
        seed=0,
    )
    assert [r["model"] for r in res.rows] == ["svdpp", "mf"] and not any(r["error"] for r in res.rows)
    assert res.rows[0]["rmse"] != res.rows[1]["rmse"]
    cfg = tmp_path / "c.toml"
    cfg.write_text('dataset = "x.tsv"\n[[models]]\nname = "svdpp"\nparams = { epochs = 3 }\n')
    spec = load_config(cfg).models[0]
    assert spec.name == "svdpp" and spec.params == {"epochs": 3}
    assert spec.build().get_params()["implicit_feedback"] is True


def test_preset_of_an_unavailable_model_is_not_available(monkeypatch):
    import sys

    from cofirec.models import registry

    # a model whose optional dependency is missing: PyTorch made unimportable for this test
    for name in [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "cofirec.models.neural"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(registry.MODELS, "ghost-recipe", Preset("ghost-recipe", "embedding-dot", {}, kind="explicit", why="none"))
    names = registry.available_models()
    assert "embedding-dot" not in names and "ghost-recipe" not in names and "svdpp" in names
