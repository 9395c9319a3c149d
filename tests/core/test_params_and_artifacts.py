import json
from typing import Literal

import numpy as np
import pytest

import cofirec
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ArtifactError, ConfigError, NotFittedError
from cofirec.models.base import Recommender
from cofirec.models.params import coerce_params, parse_assignments
from cofirec.models.registry import create_model, get_model_class


class Toy(Recommender):
    name = "toy"

    def __init__(self, factors: int = 8, reg: float = 0.1, mode: Literal["a", "b"] = "a", layers: tuple[int, ...] = (8, 4), seed: int | None = None):
        self.factors = factors
        self.reg = reg
        self.mode = mode
        self.layers = layers
        self.seed = seed


def test_param_coercion_from_strings():
    got = coerce_params(Toy, parse_assignments(["factors=16", "reg=1e-3", "mode=b", "layers=32,16", "seed=none"]))
    assert got == {"factors": 16, "reg": 1e-3, "mode": "b", "layers": (32, 16), "seed": None}
    assert coerce_params(Toy, {"seed": "3"}) == {"seed": 3}
    assert coerce_params(Toy, {"reg": 1}) == {"reg": 1}


@pytest.mark.parametrize(
    "params, message",
    [({"factorz": "3"}, "unknown parameter 'factorz'"), ({"factors": "abc"}, "toy.factors='abc' should be int"), ({"mode": "c"}, "one of 'a', 'b'")],
)
def test_param_errors_name_the_problem(params, message):
    with pytest.raises(ConfigError, match=message):
        coerce_params(Toy, params)


def test_bad_assignment_syntax():
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_assignments(["factors"])


def test_get_set_clone():
    t = Toy(factors=3)
    assert t.get_params()["factors"] == 3
    assert t.clone().get_params() == t.get_params()
    with pytest.raises(ConfigError):
        t.set_params(nope=1)
    assert "factors=3" in repr(t)


def test_registry_unknown_model():
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        get_model_class("nope")


def test_not_fitted_and_wrong_type_at_fit():
    m = create_model("popularity")
    with pytest.raises(NotFittedError):
        m.predict([1], [1])
    m.damping = "lots"
    with pytest.raises(ConfigError, match="damping"):
        m.fit(make_synthetic(n_users=20, n_items=10))


def test_artifact_refuses_foreign_and_newer_and_missing(tmp_path):
    data = make_synthetic(n_users=30, n_items=20)
    m = create_model("popularity").fit(data)
    with pytest.raises(ArtifactError, match="no manifest.json"):
        cofirec.load(tmp_path)
    (tmp_path / "file.bin").write_bytes(b"xx")
    with pytest.raises(ArtifactError, match="folder"):
        cofirec.load(tmp_path / "file.bin")
    out = m.save(tmp_path / "m")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "popularity" and manifest["format"] == "cofirec.model"
    manifest["format_version"] = 99
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="newer"):
        cofirec.load(out)
    manifest["format"] = "something-else"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="not a cofirec model"):
        cofirec.load(out)
    (out / "manifest.json").write_text("{broken")
    with pytest.raises(ArtifactError, match="damaged"):
        cofirec.load(out)


def test_string_ids_and_titles_survive_save(tmp_path):
    import pandas as pd

    from cofirec.data.dataset import Interactions

    df = pd.DataFrame({"user": ["a", "a", "b", "c"], "item": ["x", "y", "x", "z"], "rating": [5, 3, 4, 2]})
    feats = pd.DataFrame({"title": ["Ex", "Why", "Zed"]}, index=["x", "y", "z"])
    d = Interactions.from_frame(df, item_features=feats)
    m = create_model("popularity").fit(d)
    again = cofirec.load(m.save(tmp_path / "m"))
    assert again.titles(["z", "nope"]) == ["Zed", ""]
    rec = again.recommend("b", n=2)
    assert rec.items.tolist() == m.recommend("b", n=2).items.tolist()
    assert "x" not in rec.items.tolist()


def test_recommend_candidates_and_include_seen():
    data = make_synthetic(n_users=30, n_items=20)
    m = create_model("popularity").fit(data)
    user = data.user_map.ids[0]
    cands = data.item_map.ids[:5]
    rec = m.recommend(user, n=10, candidates=cands)
    finite = rec.items[np.isfinite(rec.scores)]
    assert set(finite.tolist()) <= set(cands.tolist())
    full = m.recommend(user, n=data.n_items, exclude_seen=False)
    assert np.isfinite(full.scores).all()
