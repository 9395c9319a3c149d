"""BiasedMF: contract, learning on synthetic data, early stopping, SVD++ option, ML-100K u1 accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError
from cofirec.models.mf_sgd import BiasedMF
from cofirec.testing import check_recommender

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="module")
def synth():
    return make_synthetic(n_users=200, n_items=120, density=0.12, seed=3)


def _split(data, seed=0):
    rng = np.random.default_rng(seed)
    test = rng.random(len(data)) < 0.2
    return data.subset(~test), data.subset(test)


def _rmse(model, test):
    frame = test.to_frame()
    pred = model.predict(frame["user"].to_numpy(), frame["item"].to_numpy())
    return float(np.sqrt(np.mean((pred - frame["rating"].to_numpy()) ** 2)))


def _bias_rmse(train, test):
    """Damped user/item bias baseline computed directly (reference for 'learns something')."""
    mu = train.global_mean
    bi = np.bincount(train.items, train.ratings - mu, train.n_items) / (np.bincount(train.items, minlength=train.n_items) + 5)
    bu = np.bincount(train.users, train.ratings - mu - bi[train.items], train.n_users) / (np.bincount(train.users, minlength=train.n_users) + 5)
    pred = np.clip(mu + bu[test.users] + bi[test.items], 1, 5)
    return float(np.sqrt(np.mean((pred - test.ratings) ** 2)))


@pytest.mark.parametrize("kw", [{}, {"implicit_feedback": True, "epochs": 5}, {"center": "user", "biases": False, "epochs": 5}])
def test_contract(synth, kw):
    check_recommender(lambda: BiasedMF(**{"factors": 8, "epochs": 10, **kw}), synth)


def test_beats_bias_baseline(synth):
    train, test = _split(synth)
    model = BiasedMF(factors=16, epochs=60, lr=0.01, reg=0.05).fit(train)
    assert _rmse(model, test) < _bias_rmse(train, test) - 0.02


def test_svdpp_option_learns(synth):
    train, test = _split(synth)
    model = BiasedMF(factors=16, epochs=40, lr=0.01, reg=0.05, implicit_feedback=True).fit(train)
    assert _rmse(model, test) < _bias_rmse(train, test) - 0.02


def test_history_and_early_stopping(synth):
    train, test = _split(synth)
    # a tiny reg overfits: validation RMSE turns up and patience stops training early
    model = BiasedMF(factors=32, epochs=200, lr=0.02, reg=0.0, lr_decay=1.0, patience=2).fit(train, validation=test)
    losses = [h["loss"] for h in model.history_]
    assert len(model.history_) < 200 and "val_rmse" in model.history_[0]
    assert losses[1] < losses[0]
    best = min(h["val_rmse"] for h in model.history_)
    assert model.best_epoch_ == int(np.argmin([h["val_rmse"] for h in model.history_]))
    assert _rmse(model, test) == pytest.approx(best, abs=2e-3)  # best epoch restored (predict clips like val)


def test_callbacks_and_progress(synth):
    seen = []
    BiasedMF(factors=4, epochs=3).fit(synth, callbacks=[lambda m, rec: seen.append(rec["epoch"])], progress=True)
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("bad", [{"factors": 0}, {"lr": -1.0}, {"reg": -0.1}, {"center": "item"}])
def test_bad_params(synth, bad):
    with pytest.raises(ConfigError):
        BiasedMF(**bad).fit(synth)


@pytest.mark.realdata
def test_ml100k_u1_rmse():
    base, test = DATA / "ml-100k" / "u1.base", DATA / "ml-100k" / "u1.test"
    if not base.exists():
        pytest.skip(f"MovieLens ML-100K not found at {base.parent} (shared data folder absent)")
    from cofirec.data.splits import train_test_from_files

    train, test = train_test_from_files(base, test)
    model = BiasedMF().fit(train)
    assert _rmse(model, test) <= 0.925
