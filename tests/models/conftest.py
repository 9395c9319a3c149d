"""Shared helpers of the classic-model tests: the small synthetic rating set and held-out RMSE."""

from __future__ import annotations

import pytest

from cofirec.data.splits import random_split
from cofirec.data.synthetic import make_synthetic
from cofirec.evaluate import evaluate
from cofirec.models.baselines import BiasBaseline


@pytest.fixture(scope="session")
def synth():
    """200 users x 120 items, about 12% dense, planted rank-4 ratings (seed 3)."""
    return make_synthetic(n_users=200, n_items=120, density=0.12, seed=3)


@pytest.fixture(scope="session")
def synth_split(synth):
    """(train, test): a seeded random 80/20 split of ``synth``."""
    return random_split(synth, 0.2, seed=0)


def held_out_rmse(model, test) -> float:
    """RMSE of ``model`` on ``test`` (predictions clipped to the training range, as the rating protocol does)."""
    return evaluate(model, test, protocol="rating")["rmse"]


@pytest.fixture(scope="session")
def bias_rmse(synth_split) -> float:
    """Held-out RMSE of the damped user/item bias baseline on ``synth_split``: what 'learns something' must beat."""
    train, test = synth_split
    return held_out_rmse(BiasBaseline().fit(train), test)


@pytest.fixture(scope="session")
def rmse():
    """The :func:`held_out_rmse` function (conftest modules are not importable under importlib mode)."""
    return held_out_rmse
