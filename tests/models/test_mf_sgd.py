"""BiasedMF: contract, learning on synthetic data, early stopping, SVD++ option, ML-100K u1 accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from cofirec.errors import ConfigError
from cofirec.models.mf_sgd import BiasedMF
from cofirec.testing import check_recommender


@pytest.mark.parametrize("kw", [{}, {"implicit_feedback": True, "epochs": 5}, {"center": "user", "biases": False, "epochs": 5}])
def test_contract(synth, kw):
    check_recommender(lambda: BiasedMF(**{"factors": 8, "epochs": 10, **kw}), synth)


def test_beats_bias_baseline(synth_split, rmse, bias_rmse):
    train, test = synth_split
    model = BiasedMF(factors=16, epochs=60, lr=0.01, reg=0.05).fit(train)
    assert rmse(model, test) < bias_rmse - 0.02


def test_svdpp_option_learns(synth_split, rmse, bias_rmse):
    train, test = synth_split
    model = BiasedMF(factors=16, epochs=40, lr=0.01, reg=0.05, implicit_feedback=True).fit(train)
    assert rmse(model, test) < bias_rmse - 0.02


def test_history_and_early_stopping(synth_split, rmse):
    train, test = synth_split
    # a tiny reg overfits: validation RMSE turns up and patience stops training early
    model = BiasedMF(factors=32, epochs=200, lr=0.02, reg=0.0, lr_decay=1.0, patience=2).fit(train, validation=test)
    losses = [h["loss"] for h in model.history_]
    assert len(model.history_) < 200 and "val_rmse" in model.history_[0]
    assert losses[1] < losses[0]
    best = min(h["val_rmse"] for h in model.history_)
    assert model.best_epoch_ == 1 + int(np.argmin([h["val_rmse"] for h in model.history_]))
    assert rmse(model, test) == pytest.approx(best, abs=2e-3)  # best epoch restored (predict clips like val)


def test_callbacks_and_progress(synth):
    seen = []
    BiasedMF(factors=4, epochs=3).fit(synth, callbacks=[lambda m, rec: seen.append(rec["epoch"])], progress=True)
    assert seen == [1, 2, 3]


@pytest.mark.parametrize("bad", [{"factors": 0}, {"lr": -1.0}, {"reg": -0.1}, {"center": "item"}])
def test_bad_params(synth, bad):
    with pytest.raises(ConfigError):
        BiasedMF(**bad).fit(synth)


@pytest.mark.realdata
def test_ml100k_u1_rmse(real_data, rmse):
    from cofirec.data.splits import train_test_from_files

    base, test = real_data("ml-100k/u1.base"), real_data("ml-100k/u1.test")
    train, test = train_test_from_files(base, test)
    model = BiasedMF().fit(train)
    assert rmse(model, test) <= 0.925
