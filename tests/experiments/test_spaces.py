"""Search spaces (issue 11): every registered model has one that builds models, and a wrong name is an error."""

from __future__ import annotations

import optuna
import pytest

from cofirec.errors import ConfigError
from cofirec.experiments import spaces
from cofirec.experiments.spaces import PER_MODEL, resolve_space, suggest_params
from cofirec.models.registry import MODELS, create_model, get_model_class


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_has_a_space_whose_points_build_the_model(name):
    cls = get_model_class(name)
    space = resolve_space(name)
    assert bool(space) == bool(cls.param_names()), f"{name}: parameters {cls.param_names()} but search space {space}"
    assert set(space) <= set(cls.param_names())
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):
        trial = study.ask()
        params = suggest_params(trial, name)
        assert set(params) == set(space)
        model = create_model(name, params)
        assert all(getattr(model, p) == v for p, v in params.items())
        study.tell(trial, 0.0)


def test_every_refinement_names_a_parameter_of_its_model():
    for name, refined in PER_MODEL.items():
        assert set(refined) <= set(get_model_class(name).param_names()), name


def test_a_wrong_name_in_a_model_space_is_an_error(monkeypatch):
    monkeypatch.setitem(spaces.PER_MODEL, "ease", {"epochs": {"type": "int", "low": 1, "high": 5}})
    with pytest.raises(ConfigError) as err:
        resolve_space("ease")
    text = str(err.value)
    assert "'ease'" in text and "'epochs'" in text and "reg" in text  # the model, the wrong name, its parameters


def test_a_wrong_name_in_a_config_override_is_an_error():
    with pytest.raises(ConfigError, match=r"tune.space.ease.epochs: unknown parameter for model 'ease'"):
        resolve_space("ease", {"epochs": 3})
