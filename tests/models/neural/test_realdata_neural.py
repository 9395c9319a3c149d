"""Real data (ML-100K, u1 split): every neural model clearly beats popularity after a few epochs.

Reads ../shared/data/ml-100k next to the repository; skipped when it is absent.
"""

import pytest

from cofirec.data.readers import read_ratings_file
from cofirec.evaluate.runner import evaluate
from cofirec.models.baselines import BiasBaseline, Popularity
from cofirec.models.neural.embedding_dot import EmbeddingDot
from cofirec.models.neural.ncf import GMF, MLP, NeuMF

pytestmark = pytest.mark.realdata
COLUMNS = ["user", "item", "rating", "timestamp"]
FAST = {"epochs": 3, "batch_size": 4096, "lr": 0.01, "negatives": 3}


@pytest.fixture(scope="module")
def split(real_data):
    train = read_ratings_file(real_data("ml-100k/u1.base"), columns=COLUMNS)
    test = read_ratings_file(real_data("ml-100k/u1.test"), columns=COLUMNS)
    return train, test


@pytest.fixture(scope="module")
def popularity_ndcg(split):
    train, test = split
    return evaluate(Popularity().fit(train.as_implicit()), test.as_implicit(), protocol="ranking", k=(10,))["ndcg@10"]


@pytest.mark.parametrize(
    "factory",
    [
        lambda: EmbeddingDot(factors=32, **FAST),
        lambda: GMF(factors=32, **FAST),
        lambda: MLP(layers=(64, 32, 16), init="normal(0.05)", **{**FAST, "epochs": 4}),
        lambda: NeuMF(factors=16, layers=(32, 16, 8), **FAST),
    ],
    ids=["embedding-dot", "gmf", "mlp", "neumf"],
)
def test_implicit_ranking_beats_popularity(factory, split, popularity_ndcg):
    train, test = split
    model = factory().fit(train.as_implicit())
    ndcg = evaluate(model, test.as_implicit(), protocol="ranking", k=(10,))["ndcg@10"]
    assert ndcg > 1.15 * popularity_ndcg, f"{model.name}: ndcg@10 {ndcg:.4f} vs popularity {popularity_ndcg:.4f}"


def test_explicit_rmse_beats_bias_baseline(split):
    train, test = split
    base = evaluate(BiasBaseline().fit(train), test, protocol="rating")["rmse"]
    model = EmbeddingDot(factors=32, epochs=6, lr=0.005, batch_size=1024, reg=0.05, normalize="none").fit(train)
    rmse = evaluate(model, test, protocol="rating")["rmse"]
    assert rmse < base - 0.01, f"rmse {rmse:.4f} vs bias baseline {base:.4f}"
