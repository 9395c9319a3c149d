"""ExplicitALS: contract, learning on synthetic data, monotone loss, ML-100K u1 accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from cofirec.models.als import ExplicitALS
from cofirec.testing import check_recommender


@pytest.mark.parametrize("kw", [{}, {"weighted_reg": False, "reg": 1.0, "biases": False, "center": "none"}])
def test_contract(synth, kw):
    check_recommender(lambda: ExplicitALS(factors=6, epochs=4, **kw), synth)


def test_beats_bias_baseline_and_loss_decreases(synth_split, rmse, bias_rmse):
    train, test = synth_split
    model = ExplicitALS(factors=8, epochs=10, reg=0.1).fit(train, validation=test)
    assert rmse(model, test) < bias_rmse - 0.02
    losses = np.array([h["loss"] for h in model.history_])
    assert np.all(np.diff(losses) <= 1e-3 * losses[:-1])  # exact block minimisation never increases the objective


def test_factors_zero_bias_only_equals_closed_form(synth):
    """With biases only (factor reg huge), the user step is the closed-form regularised mean residual."""
    model = ExplicitALS(factors=2, epochs=1, reg=1e6, reg_bias=0.5, weighted_reg=False, init_std=0.0).fit(synth)
    mu = synth.global_mean
    resid = synth.ratings - mu  # item biases are 0 during the first user step
    bu = np.bincount(synth.users, resid, synth.n_users) / (np.bincount(synth.users, minlength=synth.n_users) + 0.5)
    bi = np.bincount(synth.items, resid - bu[synth.users], synth.n_items) / (np.bincount(synth.items, minlength=synth.n_items) + 0.5)
    np.testing.assert_allclose(model.user_bias_, bu, atol=1e-4)
    np.testing.assert_allclose(model.item_bias_, bi, atol=1e-4)


@pytest.mark.realdata
def test_ml100k_u1_rmse(real_data, rmse):
    from cofirec.data.splits import train_test_from_files

    base, test = real_data("ml-100k/u1.base"), real_data("ml-100k/u1.test")
    train, test = train_test_from_files(base, test)
    model = ExplicitALS().fit(train)
    assert rmse(model, test) <= 0.93
