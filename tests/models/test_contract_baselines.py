import pytest

from cofirec.data.synthetic import make_synthetic
from cofirec.models.baselines import GlobalMean, Popularity
from cofirec.testing import check_recommender


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=60, n_items=40, seed=1)


@pytest.mark.parametrize("factory", [GlobalMean, Popularity, lambda: Popularity(by="rating")])
def test_contract(factory, data):
    check_recommender(factory, data)
