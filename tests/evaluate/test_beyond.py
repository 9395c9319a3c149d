"""Beyond-accuracy measures against hand-computed values on tiny lists."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cofirec.data.dataset import Interactions
from cofirec.data.splits import user_ratio_split
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError
from cofirec.evaluate import evaluate_detailed
from cofirec.evaluate.beyond import beyond_accuracy, diversity_basis, gini_exposure, intra_list_diversity, item_genre_matrix, popularity_percentile
from cofirec.models.als import ExplicitALS
from cofirec.models.baselines import Popularity

pytestmark = pytest.mark.filterwarnings("ignore::cofirec.evaluate.UnknownIdsWarning")

# items 0: {A}, 1: {A, B}, 2: {C}, 3: {}, 4: {}
GENRES = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=np.float32)


def test_diversity_jaccard_by_hand():
    rec = np.array([[0, 1, 2], [0, 1, -1], [2, -1, -1]])
    # d(0,1) = 1 - 1/2, d(0,2) = d(1,2) = 1; the one-item list has no pair and is left out
    per_list = intra_list_diversity(rec, item_genres=GENRES, per_user=True)
    np.testing.assert_allclose(per_list, [(0.5 + 1 + 1) / 3, 0.5, np.nan])
    assert intra_list_diversity(rec, item_genres=GENRES) == pytest.approx(((2.5 / 3) + 0.5) / 2)
    assert intra_list_diversity(rec, item_genres=sp.csr_matrix(GENRES)) == pytest.approx(((2.5 / 3) + 0.5) / 2)
    # an item without genres is at distance 1 from one with genres, 0 from another without
    np.testing.assert_allclose(intra_list_diversity([[3, 0], [3, 4]], item_genres=GENRES, per_user=True), [1.0, 0.0])
    assert math.isnan(intra_list_diversity([[2, -1]], item_genres=GENRES))


def test_diversity_cosine_by_hand():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0], [0.0, 0.0]])
    c = 1 - 1 / math.sqrt(2)  # d(0, 2) = d(1, 2); d(0, 1) = 1
    assert intra_list_diversity([[0, 1, 2]], item_vectors=vectors) == pytest.approx((1 + 2 * c) / 3)
    assert intra_list_diversity([[0, 2]], item_vectors=vectors * 5) == pytest.approx(c)  # scale does not matter
    assert intra_list_diversity([[0, 3]], item_vectors=vectors) == pytest.approx(1.0)  # zero vector
    assert intra_list_diversity([[0, 0]], item_vectors=vectors) == pytest.approx(0.0, abs=1e-12)


def test_diversity_chunks_agree(monkeypatch):
    from cofirec.evaluate import beyond

    rng = np.random.default_rng(0)
    rec = rng.integers(-1, 5, size=(40, 4))
    whole = intra_list_diversity(rec, item_genres=GENRES, per_user=True)
    monkeypatch.setattr(beyond, "_CHUNK_ENTRIES", 20)
    np.testing.assert_array_equal(intra_list_diversity(rec, item_genres=GENRES, per_user=True), whole)


def test_diversity_errors():
    with pytest.raises(ConfigError, match="item_genres or item_vectors"):
        intra_list_diversity([[0, 1]])
    with pytest.raises(DataError, match="item index 7 out of range for 5 items"):
        intra_list_diversity([[0, 7]], item_genres=GENRES)


def test_popularity_percentile_by_hand():
    pop = [5, 1, 3, 3]  # average ranks 4, 1, 2.5, 2.5 -> percentiles 100, 0, 50, 50
    assert popularity_percentile([[0, 1], [2, -1]], pop) == pytest.approx(50.0)
    assert popularity_percentile([[0, 0]], pop) == pytest.approx(100.0)
    assert popularity_percentile([[1]], pop) == pytest.approx(0.0)
    assert popularity_percentile([[3, 2]], pop) == pytest.approx(50.0)
    assert popularity_percentile([[0]], [7]) == pytest.approx(50.0)
    assert math.isnan(popularity_percentile([[-1, -1]], pop))


def test_gini_by_hand():
    assert gini_exposure([[0, 1], [2, 3]], 4) == pytest.approx(0.0)  # equal exposure
    assert gini_exposure([[2], [2], [2]], 4) == pytest.approx(3 / 4)  # all on one item: (n - 1) / n
    # items never recommended count: exposure [1, 1, 0, 0] -> mean |xi - xj| over 16 ordered pairs = 8/16, / (2 * 0.5)
    assert gini_exposure([[0, 1]], 4) == pytest.approx(0.5)
    assert math.isnan(gini_exposure([[-1]], 4))
    with pytest.raises(DataError, match="n_items"):
        gini_exposure([[0]], 0)


@pytest.fixture(scope="module")
def hand():
    rows = [(1, 10, 5), (1, 11, 4), (2, 10, 3), (2, 12, 2), (3, 10, 4), (3, 11, 5), (3, 13, 1), (4, 14, 3), (5, 11, 2)]
    test = [(1, 12, 4), (1, 15, 5), (2, 11, 5), (3, 14, 2), (6, 10, 4)]
    genres = pd.DataFrame({"genres": ["Drama", "Drama|Comedy", "Horror", "(no genres listed)", "Comedy", "Drama"]}, index=[10, 11, 12, 13, 14, 15])
    data = Interactions.from_frame(pd.DataFrame(rows + test, columns=["user", "item", "rating"]), item_features=genres)
    is_test = np.arange(len(rows) + len(test)) >= len(rows)
    return data, data.subset(~is_test), data.subset(is_test)


def test_beyond_accuracy_by_hand(hand):
    data, train, test = hand
    model = Popularity().fit(train)  # training items 10..14 = indices 0..4, popularity 3, 3, 1, 1, 1
    res = evaluate_detailed(model, test, protocol="ranking", k=[2])
    assert res.recommended.tolist() == [[2, 3], [1, 3], [2, 4], [-1, -1]]
    genres = item_genre_matrix(model, data)
    # columns Comedy, Drama, Horror; "(no genres listed)" (item 13) is an empty row
    np.testing.assert_array_equal(genres, [[0, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0]])
    out = beyond_accuracy(model, res, item_genres=genres)
    # lists {12, 13}: 1; {11, 13}: 1; {12, 14}: 1 (disjoint genres)
    assert out["diversity@2"] == pytest.approx(1.0)
    # percentiles 100 (r - 1) / 4 with ranks 4.5, 4.5, 2, 2, 2 -> 87.5, 87.5, 25, 25, 25; slots: 12 13 11 13 12 14
    assert out["popularity_pct@2"] == pytest.approx((5 * 25 + 87.5) / 6)
    # exposure [0, 1, 2, 2, 1] sorted [0, 1, 1, 2, 2]: sum (2i - 6) x = -2 + 0 + 4 + 8 = 10, / (5 * 6)
    assert out["gini@2"] == pytest.approx(1 / 3)
    one = beyond_accuracy(model, res, k=1)  # Popularity has no item vectors: no diversity without genres
    assert set(one) == {"popularity_pct@1", "gini@1"} and diversity_basis(model) is None
    assert one["gini@1"] == pytest.approx(gini_exposure(res.recommended[:, :1], 5))
    with pytest.raises(ConfigError, match="outside the evaluated list length 1..2"):
        beyond_accuracy(model, res, k=3)
    with pytest.raises(ConfigError, match="ranking protocol"):
        beyond_accuracy(model, evaluate_detailed(model, test, protocol="rating"))
    assert item_genre_matrix(model, None) is None
    assert item_genre_matrix(model, pd.DataFrame({"title": ["x"]}, index=[10])) is None


def test_beyond_accuracy_uses_item_vectors():
    train, test = user_ratio_split(make_synthetic(n_users=60, n_items=40, seed=3), test_ratio=0.25, seed=0)
    model = ExplicitALS(factors=4, epochs=3, random_state=0).fit(train)
    res = evaluate_detailed(model, test, protocol="ranking", k=[5])
    out = beyond_accuracy(model, res)
    assert diversity_basis(model) == "item vectors"
    assert out["diversity@5"] == pytest.approx(intra_list_diversity(res.recommended, item_vectors=model.item_vectors()))
    assert 0 < out["diversity@5"] < 2 and 0 <= out["gini@5"] < 1 and 0 <= out["popularity_pct@5"] <= 100
