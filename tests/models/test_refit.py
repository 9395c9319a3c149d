"""Recommender.refit: fit again on all the data for the epoch count early stopping chose."""

from __future__ import annotations

import pytest

from cofirec.data.splits import random_split
from cofirec.errors import ConfigError
from cofirec.models.knn import ItemKNN
from cofirec.models.mf_sgd import BiasedMF
from cofirec.models.neural.embedding_dot import EmbeddingDot


def test_classic_model_refits_on_train_plus_validation(synth_split):
    train, _ = synth_split
    fit, val = random_split(train, 0.2, seed=1)
    # a tiny reg overfits: validation RMSE turns up and patience stops training early
    stage1 = BiasedMF(factors=32, epochs=60, lr=0.02, reg=0.0, lr_decay=1.0, patience=2, random_state=0).fit(fit, validation=val)
    assert stage1.best_epoch_ < len(stage1.history_) < 60
    again = stage1.refit(train)
    assert again is not stage1 and again.epochs == stage1.best_epoch_ and again.patience == 0
    assert len(again.history_) == stage1.best_epoch_ and again.seen_.nnz == len(train)
    assert stage1.epochs == 60  # the stage-1 model is left as it was


def test_neural_model_refits_without_its_holdout(synth_split, monkeypatch):
    monkeypatch.setenv("COFIREC_THREADS", "1")
    train, _ = synth_split
    stage1 = EmbeddingDot(factors=8, epochs=15, patience=1, holdout=0.2, batch_size=256, lr=0.01).fit(train)
    again = stage1.refit(train)
    assert again.holdout == 0.0 and again.epochs == stage1.best_epoch_ and len(again.history_) == stage1.best_epoch_
    assert "val_loss" in stage1.history_[0] and "val_loss" not in again.history_[0]


def test_refit_needs_early_stopping_on_validation(synth_split):
    train, _ = synth_split
    with pytest.raises(ConfigError, match="refit needs"):
        BiasedMF(epochs=3).fit(train).refit(train)
    with pytest.raises(ConfigError, match="refit needs"):
        ItemKNN().fit(train).refit(train)
