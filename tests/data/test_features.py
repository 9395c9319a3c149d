"""Side features as sparse matrices aligned with the index space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.features import categorical_matrix, genre_matrix, user_feature_matrix
from cofirec.data.idmap import IdMap
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import DataError


def _tiny() -> Interactions:
    frame = pd.DataFrame({"user": [1, 1, 2, 3], "item": [10, 11, 10, 12], "rating": [4.0, 3.0, 5.0, 1.0]})
    items = pd.DataFrame({"title": ["A", "B"], "year": [1995, 1996], "genres": ["Comedy|Drama", ""]}, index=[10, 11])
    users = pd.DataFrame({"age": [24, 53], "gender": ["M", "F"], "occupation": ["writer", "writer"], "zip": ["1", "2"]}, index=[1, 3])
    return Interactions.from_frame(frame, item_features=items, user_features=users)


def test_genre_matrix_rows_follow_item_index():
    data = _tiny()
    m, names = genre_matrix(data)
    assert names == ["Comedy", "Drama"] and m.shape == (3, 2)
    assert m.toarray().tolist() == [[1, 1], [0, 0], [0, 0]]  # item 12 has no features


def test_user_feature_matrix_one_hot():
    data = _tiny()
    m, names = user_feature_matrix(data, columns=["gender", "occupation"])
    assert names == ["gender=F", "gender=M", "occupation=writer"]
    assert m.toarray().tolist() == [[0, 1, 1], [0, 0, 0], [1, 0, 1]]  # user 2 has no features


def test_synthetic_genres_match_their_strings():
    data = make_synthetic(n_users=30, n_items=25, seed=1)
    m, names = genre_matrix(data)
    assert m.shape[0] == data.n_items and np.all(m.sum(axis=1) == 1)
    first = data.item_features.loc[data.item_map.ids[0], "genres"]
    assert names[int(m[0].indices[0])] == first


def test_missing_features_are_clear_errors():
    frame = pd.DataFrame({"user": [1], "item": [2], "rating": [3.0]})
    data = Interactions.from_frame(frame)
    with pytest.raises(DataError, match="no item genres"):
        genre_matrix(data)
    with pytest.raises(DataError, match="no user features"):
        user_feature_matrix(data)
    with pytest.raises(DataError, match=r"no feature column\(s\) \['shoe'\]"):
        categorical_matrix(pd.DataFrame({"a": [1]}, index=[1]), IdMap([1]), ["shoe"])
