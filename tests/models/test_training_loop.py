"""The training loop every iterative model shares: validation that never hurts, finite models only, one
parameter vocabulary (renamed parameters refused by the CLI path, still loaded from old artifacts)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.splits import user_ratio_split, validation_split
from cofirec.data.synthetic import make_planted_implicit, make_synthetic
from cofirec.errors import ConfigError, DataError
from cofirec.evaluate import evaluate
from cofirec.models.als import ExplicitALS
from cofirec.models.baselines import BiasBaseline
from cofirec.models.bpr import BPR
from cofirec.models.ials import ImplicitALS
from cofirec.models.mf_sgd import BiasedMF
from cofirec.models.registry import MODELS, get_model_class

RANKERS = {
    "ials": lambda: ImplicitALS(factors=8, epochs=15, patience=2),
    "bpr": lambda: BPR(factors=16, epochs=40, patience=3),
}


def _embedding_dot():
    from cofirec.models.neural.embedding_dot import EmbeddingDot

    return EmbeddingDot(factors=16, epochs=12, lr=0.01, batch_size=256, patience=2, device="cpu")


RANKERS["embedding-dot"] = _embedding_dot


@pytest.fixture(autouse=True)
def _one_torch_thread(monkeypatch):
    monkeypatch.setenv("COFIREC_THREADS", "1")  # tiny torch models: extra threads only wait on each other


@pytest.fixture(scope="module")
def planted_split():
    return user_ratio_split(make_planted_implicit(n_users=300, n_items=120, seed=0), 0.2, seed=0)


def _ndcg(model, test) -> float:
    return evaluate(model, test, protocol="ranking", k=10)["ndcg@10"]


@pytest.mark.parametrize("name", list(RANKERS))
def test_validation_never_makes_a_ranking_model_worse(name, planted_split):
    """`train --validation` carves validation pairs out of train and also marks them as seen (they are the user's
    history): the validation ranking must still be able to find them (it used to score 0.0 every epoch)."""
    train, test = planted_split
    fit, val = validation_split(train, 0.1, seed=0)
    plain = RANKERS[name]().fit(train)
    stopped = RANKERS[name]().fit(fit, validation=val, also_seen=train)
    assert stopped.seen_.nnz == len(train)  # validation pairs stay excluded from recommendations
    curve = [r["val_ndcg@10"] for r in stopped.history_]
    assert max(curve) > 0.1 and stopped.best_epoch_ > 1
    assert _ndcg(stopped, test) >= _ndcg(plain, test) - 0.03


def test_validation_ranking_excludes_training_pairs_only(planted_split):
    """What the validation ranking leaves out: training pairs and other seen pairs, never a validation positive."""
    from cofirec.models._factor import ranking_validation

    train, _ = planted_split
    fit, val = validation_split(train, 0.1, seed=0)
    model = BPR(factors=4, epochs=1).fit(fit, also_seen=train)
    truth, exclude = ranking_validation(model, fit.to_csr("binary"), val)
    assert truth.nnz == len(val) and exclude.nnz == len(fit)
    assert truth.multiply(exclude).nnz == 0


def test_validation_made_only_of_training_pairs_is_no_validation(planted_split):
    """Nothing to find: no validation numbers (a constant 0.0 would early-stop at epoch 1)."""
    train, _ = planted_split
    model = BPR(factors=4, epochs=3, patience=0).fit(train, validation=train.subset(np.arange(200)))
    assert model.best_epoch_ == 3 and not any(k.startswith("val_") for r in model.history_ for k in r)


# ---------------------------------------------------------------------- finite models only
FLOAT_PARAMS = [(name, key) for name in MODELS for key, hint in get_model_class(name).param_types().items() if "float" in str(hint)]


@pytest.mark.parametrize("name, key", FLOAT_PARAMS, ids=[f"{n}.{k}" for n, k in FLOAT_PARAMS])
@pytest.mark.parametrize("text", ["nan", "-inf"])
def test_non_finite_float_parameters_are_refused(name, key, text):
    cls = get_model_class(name)
    with pytest.raises(ConfigError, match=f"{key}={text!r} must be a finite number"):
        cls.from_params({key: text})
    with pytest.raises(ConfigError, match="finite"):
        cls(**{key: float(text)})._validate_params()


def test_finite_and_integer_values_still_coerce():
    assert BiasedMF.from_params({"reg": "1e-3", "lr": 1, "lr_bias": "none"}).get_params()["lr"] == 1.0
    with pytest.raises(ConfigError, match="should be"):
        BiasedMF.from_params({"reg": "abc"})


def _huge_ratings() -> Interactions:
    data = make_synthetic(n_users=60, n_items=40, density=0.2, seed=1)
    frame = data.to_frame()
    frame["rating"] = frame["rating"] * 2_000_000.0  # ratings up to 9,999,999-ish: SGD steps explode
    return Interactions.from_frame(frame)


@pytest.mark.parametrize("make", [lambda: BiasedMF(factors=4, epochs=5), lambda: BiasedMF(factors=4, epochs=5, implicit_feedback=True)])
def test_mf_diverging_on_huge_ratings_stops_with_a_clear_error(make):
    with pytest.raises(DataError, match=r"mf: training diverged at epoch \d+ .*lower the learning rate \(lr\).*ratings range from"):
        make().fit(_huge_ratings())


def test_huge_learning_rate_diverges_loudly():
    data = make_synthetic(n_users=60, n_items=40, density=0.2, seed=1)
    with pytest.raises(DataError, match="diverged"):
        BiasedMF(factors=4, epochs=20, lr=50.0, lr_decay=1.0).fit(data)
    with pytest.raises(DataError, match="diverged"):
        BPR(factors=4, epochs=20, lr=1e30, init_std=1e10).fit(data.as_implicit())


def test_neural_trainer_refuses_divergence():
    from cofirec.models.neural.embedding_dot import EmbeddingDot

    data = make_synthetic(n_users=60, n_items=40, density=0.2, seed=1)
    with pytest.raises(DataError, match=r"embedding-dot: training diverged at epoch \d+ .*lower the learning rate \(lr=1e\+30\)"):
        EmbeddingDot(factors=4, epochs=2, lr=1e30, optimizer="sgd", init="normal(100)", device="cpu").fit(data)


# ---------------------------------------------------------------------- one vocabulary
@pytest.mark.parametrize("cls, old, new", [(ExplicitALS, "iterations", "epochs"), (ImplicitALS, "iterations", "epochs"), (BiasBaseline, "learning_rate", "lr")])
def test_renamed_parameters_name_the_new_name(cls, old, new):
    with pytest.raises(ConfigError, match=f"parameter '{old}' was renamed to '{new}'"):
        cls.from_params({old: "3"})
    with pytest.raises(ConfigError, match="renamed"):
        cls().set_params(**{old: 3})


def test_every_iterative_model_calls_its_passes_epochs():
    for name in MODELS:
        names = get_model_class(name).param_names()
        assert "iterations" not in names and "learning_rate" not in names and "l2" not in names, name


def test_artifact_saved_with_an_old_parameter_name_still_loads(tmp_path):
    import cofirec
    from cofirec.models.artifact import CHECKSUM_KEY

    data = make_synthetic(n_users=40, n_items=30, density=0.2, seed=7)
    model = ExplicitALS(factors=4, epochs=3).fit(data)
    path = model.save(tmp_path / "als")
    manifest_path = path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["params"]["iterations"] = manifest["params"].pop("epochs")  # as saved before the rename,
    manifest["format_version"] = 1  # by a cofirec whose manifests carried no checksum of their own
    del manifest[CHECKSUM_KEY]
    manifest_path.write_text(json.dumps(manifest))
    again = cofirec.load(path)
    assert again.epochs == 3
    assert np.allclose(again.predict(data.user_map.ids[:5], data.item_map.ids[:5]), model.predict(data.user_map.ids[:5], data.item_map.ids[:5]))


def test_baseline_als_reports_epochs_from_one():
    data = make_synthetic(n_users=40, n_items=30, density=0.2, seed=7)
    model = BiasBaseline(epochs=4).fit(data)
    assert [r["epoch"] for r in model.history_] == [1, 2, 3, 4] and model.best_epoch_ == 4
    assert all(math.isfinite(r["train_rmse"]) for r in model.history_)
