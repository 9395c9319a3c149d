"""ExplicitALS: contract, learning on synthetic data, monotone loss, ML-100K u1 accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cofirec.data.synthetic import make_synthetic
from cofirec.models.als import ExplicitALS
from cofirec.testing import check_recommender

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


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


@pytest.fixture(scope="module")
def synth():
    return make_synthetic(n_users=200, n_items=120, density=0.12, seed=3)


@pytest.mark.parametrize("kw", [{}, {"weighted_reg": False, "reg": 1.0, "biases": False, "center": "none"}])
def test_contract(synth, kw):
    check_recommender(lambda: ExplicitALS(factors=6, iterations=4, **kw), synth)


def test_beats_bias_baseline_and_loss_decreases(synth):
    train, test = _split(synth)
    model = ExplicitALS(factors=8, iterations=10, reg=0.1).fit(train, validation=test)
    assert _rmse(model, test) < _bias_rmse(train, test) - 0.02
    losses = np.array([h["loss"] for h in model.history_])
    assert np.all(np.diff(losses) <= 1e-3 * losses[:-1])  # exact block minimisation never increases the objective


def test_factors_zero_bias_only_equals_closed_form(synth):
    """With biases only (factor reg huge), the user step is the closed-form regularised mean residual."""
    model = ExplicitALS(factors=2, iterations=1, reg=1e6, reg_bias=0.5, weighted_reg=False, init_std=0.0).fit(synth)
    mu = synth.global_mean
    resid = synth.ratings - mu  # item biases are 0 during the first user step
    bu = np.bincount(synth.users, resid, synth.n_users) / (np.bincount(synth.users, minlength=synth.n_users) + 0.5)
    bi = np.bincount(synth.items, resid - bu[synth.users], synth.n_items) / (np.bincount(synth.items, minlength=synth.n_items) + 0.5)
    np.testing.assert_allclose(model.user_bias_, bu, atol=1e-4)
    np.testing.assert_allclose(model.item_bias_, bi, atol=1e-4)


@pytest.mark.realdata
def test_ml100k_u1_rmse():
    base, test = DATA / "ml-100k" / "u1.base", DATA / "ml-100k" / "u1.test"
    if not base.exists():
        pytest.skip(f"MovieLens ML-100K not found at {base.parent} (shared data folder absent)")
    from cofirec.data.splits import train_test_from_files

    train, test = train_test_from_files(base, test)
    model = ExplicitALS().fit(train)
    assert _rmse(model, test) <= 0.93
