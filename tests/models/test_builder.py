"""The library pieces a front end needs without the CLI: model builder, refit check, seen pairs, item resolver,
default protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cofirec
from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError, UnknownIdError
from cofirec.evaluate import default_protocol
from cofirec.models.builder import apply_param_assignments, build_model, check_refit, seeded_params
from cofirec.models.titles import resolve_item


# ---------------------------------------------------------------------- builder
def test_precedence_config_then_param_then_shortcuts():
    model = build_model("mf", {"epochs": 2, "factors": 8, "lr": 0.5}, ["epochs=4", "factors=16"], epochs=6)
    assert (model.epochs, model.factors, model.lr) == (6, 16, 0.5)
    assert build_model("mf", {"epochs": 2}, ["epochs=4"]).epochs == 4
    assert build_model("mf", {"epochs": 2}).epochs == 2


def test_seed_fills_only_an_unset_seed_parameter():
    assert build_model("mf", seed=7).random_state == 7
    assert build_model("mf", {"random_state": 1}, seed=7).random_state == 1
    assert build_model("mf", None, ["random_state=2"], seed=7).random_state == 2
    assert seeded_params("popularity", {"damping": 2.0}, 7) == {"damping": 2.0}  # no seed parameter: unchanged
    assert seeded_params("mf", {}, None) == {}


def test_shortcut_for_a_parameter_the_model_lacks_is_an_error():
    with pytest.raises(ConfigError, match="popularity: has no 'epochs' parameter, so --epochs does not apply"):
        build_model("popularity", epochs=3)
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("nope")


def test_preset_parameters_sit_under_every_layer():
    from cofirec.models.registry import get_model_class

    preset = get_model_class("svdpp")
    model = build_model("svdpp", None, ["epochs=3"])
    assert model.epochs == 3
    for key, value in preset.params.items():
        if key != "epochs":
            assert getattr(model, key) == value


def test_param_assignments_over_several_models():
    models = [{"name": "mf", "params": {"epochs": 2}}, {"name": "mf", "label": "mf-big", "params": {"factors": 64}}, "popularity"]
    out = apply_param_assignments(models, ["epochs=5", "mf-big.factors=128", "popularity.damping=1"])
    assert out[0]["params"] == {"epochs": "5"} and out[1]["params"] == {"factors": "128", "epochs": "5"}
    assert out[2] == {"name": "popularity", "params": {"damping": "1"}}
    assert models[0]["params"] == {"epochs": 2}  # the given entries are left as they were
    with pytest.raises(ConfigError, match="no model 'ease' in this run"):
        apply_param_assignments(models, ["ease.reg=1"])
    with pytest.raises(ConfigError, match="none of the models takes a parameter 'alpha'"):
        apply_param_assignments(models, ["alpha=1"])


def test_check_refit_before_fitting():
    check_refit(build_model("mf"), validation=True)
    with pytest.raises(ConfigError, match="refit needs a model whose epoch count was chosen by early stopping"):
        check_refit(build_model("mf"), validation=False)
    with pytest.raises(ConfigError, match="refit needs"):
        check_refit(build_model("popularity"), validation=True)


# ---------------------------------------------------------------------- seen pairs, titles, protocol
def test_seen_interactions_are_the_training_pairs_and_also_seen(synth):
    train = synth.subset(synth.ratings >= 3)
    low = synth.subset(synth.ratings < 3)
    model = cofirec.create_model("popularity").fit(train.as_implicit(), also_seen=low)
    seen = model.seen_interactions()
    assert seen.kind == "implicit" and np.all(seen.ratings == 1)
    raw = set(zip(seen.user_map.to_raw(seen.users).tolist(), seen.item_map.to_raw(seen.items).tolist()))
    expected = set(zip(synth.user_map.to_raw(synth.users).tolist(), synth.item_map.to_raw(synth.items).tolist()))
    expected = {(u, i) for u, i in expected if u in set(model.user_map_.ids.tolist()) and i in set(model.item_map_.ids.tolist())}
    assert raw == expected


def test_seen_interactions_needs_a_fitted_model():
    from cofirec.errors import NotFittedError

    with pytest.raises(NotFittedError):
        cofirec.create_model("popularity").seen_interactions()


@pytest.fixture(scope="module")
def titled_model():
    frame = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": [10, 11, 10, 12, 13], "rating": [5.0, 3.0, 4.0, 2.0, 1.0]})
    data = Interactions.from_frame(frame)
    titles = pd.DataFrame({"title": ["Heat (1995)", "Heat Wave (1990)", "Toy Story (1995)", "Up (2009)"]}, index=pd.Index([10, 11, 12, 13], name="item"))
    return cofirec.create_model("popularity").fit(data.with_features(item_features=titles))


def test_resolve_item_by_id_exact_title_or_unique_substring(titled_model):
    assert resolve_item(titled_model, "12") == 12
    assert resolve_item(titled_model, "heat (1995)") == 10  # an exact title wins over the longer one containing it
    assert resolve_item(titled_model, "TOY") == 12
    with pytest.raises(UnknownIdError, match="ambiguous, 2 titles match: 10: Heat \\(1995\\); 11: Heat Wave"):
        resolve_item(titled_model, "heat")
    with pytest.raises(UnknownIdError, match="no item id or title matches"):
        resolve_item(titled_model, "Alien")


def test_resolve_item_without_titles():
    data = Interactions.from_frame(pd.DataFrame({"user": [1, 2], "item": [10, 11], "rating": [5.0, 3.0]}))
    model = cofirec.create_model("popularity").fit(data)
    assert resolve_item(model, "11") == 11
    with pytest.raises(UnknownIdError, match="it has no titles to search"):
        resolve_item(model, "Alien")


def test_default_protocol_follows_the_fitted_target(synth):
    assert default_protocol(cofirec.create_model("mf", {"epochs": 1}).fit(synth)) == "rating"
    assert default_protocol(cofirec.create_model("popularity").fit(synth)) == "ranking"  # ranks, predicts no ratings
    assert default_protocol(cofirec.create_model("mf", {"epochs": 1}).fit(synth.binarize(4.0))) == "binary"
    assert default_protocol(cofirec.create_model("popularity").fit(synth.binarize(4.0))) == "ranking"
    assert default_protocol(cofirec.create_model("popularity").fit(synth.as_implicit())) == "ranking"
    assert default_protocol(None, sampled=True) == "sampled"
