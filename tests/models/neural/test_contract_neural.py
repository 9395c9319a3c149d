"""Every neural model passes the shared Recommender contract on tiny synthetic data (explicit and implicit)."""

import pytest

from cofirec.data.synthetic import make_synthetic
from cofirec.models.neural.embedding_dot import EmbeddingDot
from cofirec.models.neural.ncf import GMF, MLP, NeuMF
from cofirec.models.registry import get_model_class
from cofirec.testing import check_recommender

FAST = {"epochs": 2, "batch_size": 256}


@pytest.fixture(scope="module")
def explicit():
    return make_synthetic(n_users=50, n_items=30, seed=1)


@pytest.fixture(scope="module")
def implicit(explicit):
    return explicit.as_implicit()


EXPLICIT_FACTORIES = {
    "embedding-dot": lambda: EmbeddingDot(factors=8, normalize="user_center", **FAST),
    "embedding-dot-sigmoid": lambda: EmbeddingDot(factors=8, sigmoid_range=True, **FAST),
    "gmf": lambda: GMF(factors=8, normalize="minmax", **FAST),
    "mlp": lambda: MLP(layers=(16, 8), dropout=0.1, **FAST),
    "neumf-pretrain": lambda: NeuMF(factors=4, layers=(8, 4), pretrain=True, **FAST),
}
IMPLICIT_FACTORIES = {
    "embedding-dot-bce": lambda: EmbeddingDot(factors=8, holdout=0.2, **FAST),
    "gmf-bpr": lambda: GMF(factors=8, loss="bpr", **FAST),
    "mlp-softmax": lambda: MLP(layers=(16, 8), loss="softmax", negatives=3, **FAST),
    "embedding-dot-full-softmax": lambda: EmbeddingDot(factors=8, loss="full_softmax", **FAST),
    "neumf-full-softmax": lambda: NeuMF(factors=4, layers=(8, 4), loss="full_softmax", **FAST),
    "neumf-bce": lambda: NeuMF(factors=4, layers=(8, 4), optimizer="adamw", weight_decay=1e-4, reg=1e-4, **FAST),
}


@pytest.mark.parametrize("key", list(EXPLICIT_FACTORIES))
def test_contract_explicit(key, explicit):
    model = check_recommender(EXPLICIT_FACTORIES[key], explicit)
    assert len(model.history_) == FAST["epochs"]


@pytest.mark.parametrize("key", list(IMPLICIT_FACTORIES))
def test_contract_implicit(key, implicit):
    model = check_recommender(IMPLICIT_FACTORIES[key], implicit)
    assert model.loss_ in {"bce", "bpr", "softmax", "full_softmax"}


@pytest.mark.parametrize("name,cls", [("embedding-dot", EmbeddingDot), ("gmf", GMF), ("mlp", MLP), ("neumf", NeuMF)])
def test_registry_resolves(name, cls):
    assert get_model_class(name) is cls
    assert cls.name == name
