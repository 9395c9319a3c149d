import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import DataError


def frame():
    return pd.DataFrame({"user": [1, 1, 2, 3, 3, 3], "item": [10, 20, 10, 10, 20, 30], "rating": [5, 3, 4, 1, 2, 5], "timestamp": [1, 2, 3, 4, 5, 6]})


def test_counts_and_csr():
    d = Interactions.from_frame(frame())
    assert (d.n_users, d.n_items, len(d)) == (3, 3, 6)
    m = d.to_csr()
    assert m.shape == (3, 3)
    assert m[d.user_map.lookup([3])[0], d.item_map.lookup([30])[0]] == 5
    assert d.sparsity == pytest.approx(1 - 6 / 9)
    assert d.user_counts().tolist() == [2, 1, 3]


def test_means_and_centering():
    d = Interactions.from_frame(frame())
    assert d.global_mean == pytest.approx(20 / 6)
    assert d.user_means().tolist() == pytest.approx([4.0, 4.0, 8 / 3])
    assert d.item_means().tolist() == pytest.approx([10 / 3, 2.5, 5.0])
    c = d.centered_ratings("user")
    assert c[:2].tolist() == pytest.approx([1.0, -1.0])
    assert d.centered_ratings("global").sum() == pytest.approx(0, abs=1e-5)


def test_binarize_and_implicit():
    d = Interactions.from_frame(frame())
    b = d.binarize(4)
    assert b.kind == "binary" and b.ratings.tolist() == [1, 0, 1, 0, 0, 1]
    assert b.meta["binary_threshold"] == 4
    assert b.raw_ratings.tolist() == d.ratings.tolist() and d.raw_ratings is None
    assert b.subset(np.array([1, 3])).raw_ratings.tolist() == d.ratings[[1, 3]].tolist()
    assert b.as_implicit().raw_ratings is None
    imp = d.as_implicit(min_rating=4)
    assert imp.kind == "implicit" and len(imp) == 3 and set(imp.ratings.tolist()) == {1.0}
    with pytest.raises(DataError):
        imp.binarize(4)


def test_duplicates_keep_latest_with_warning():
    df = pd.DataFrame({"user": [1, 1, 1], "item": [5, 5, 6], "rating": [1, 4, 2], "timestamp": [10, 5, 1]})
    with pytest.warns(UserWarning, match="1 duplicate"):
        d = Interactions.from_frame(df)
    assert len(d) == 2
    assert d.to_frame().set_index("item").loc[5, "rating"] == 1  # timestamp 10 is the latest
    with pytest.raises(DataError, match="duplicate"):
        Interactions.from_frame(df, duplicates="error")


def test_missing_column_and_bad_rating_are_named():
    with pytest.raises(DataError, match="missing column 'item'"):
        Interactions.from_frame(pd.DataFrame({"user": [1], "movie": [2]}))
    with pytest.raises(DataError, match="non-numeric rating 'x' at row 2"):
        Interactions.from_frame(pd.DataFrame({"user": [1, 2], "item": [2, 3], "rating": ["4", "x"]}))


def test_subset_keeps_vocab_and_compact_drops():
    d = Interactions.from_frame(frame())
    s = d.subset(d.users == d.user_map.lookup([3])[0])
    assert s.n_users == 3 and len(s) == 3
    c = s.compact()
    assert c.n_users == 1 and c.user_map.ids.tolist() == [3]
    assert c.to_frame().equals(s.to_frame())


def test_string_ids_and_round_trip():
    df = pd.DataFrame({"user": ["a", "b", "a"], "item": ["x", "x", "y"]})
    d = Interactions.from_frame(df)
    assert d.kind == "implicit"
    back = d.to_frame()
    assert sorted(zip(back.user, back.item)) == sorted(zip(df.user, df.item))


def test_synthetic_has_structure_and_features():
    d = make_synthetic(n_users=100, n_items=80, seed=3)
    assert d.user_features is not None and d.item_features is not None
    assert d.item_titles() is not None and len(d.item_titles()) == d.n_items
    assert d.user_counts().min() >= 1 and d.item_counts().min() >= 1
    again = make_synthetic(n_users=100, n_items=80, seed=3)
    assert np.array_equal(d.ratings, again.ratings)
    stats = d.stats()
    assert stats["users"] == 100 and sum(stats["rating_histogram"].values()) == len(d)


def test_as_implicit_records_its_minimum_rating_for_the_model():
    from cofirec.data.synthetic import make_synthetic

    data = make_synthetic(n_users=20, n_items=15, density=0.4, seed=2)
    pos = data.as_implicit(min_rating=4)
    assert pos.meta["implicit_min_rating"] == 4.0 and len(pos) == int((data.ratings >= 4).sum())
    assert "implicit_min_rating" not in data.as_implicit().meta


def test_recency_rank_counts_back_from_each_users_latest():
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [1, 2, 3, 1, 2], "rating": [5, 4, 3, 2, 1], "timestamp": [30, 10, 20, 5, 5]})
    data = Interactions.from_frame(df)
    assert data.recency_rank().tolist() == [0, 2, 1, 1, 0]  # user 2's tie: the later row is the more recent
    no_time = Interactions.from_frame(df.drop(columns="timestamp"), timestamp_col=None)
    assert no_time.recency_rank().tolist() == [2, 1, 0, 1, 0]
