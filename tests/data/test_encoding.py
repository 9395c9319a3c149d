import json

import numpy as np
import pandas as pd
import pytest

from cofirec.data.encoding import FeatureEncoder, encode_entities
from cofirec.data.idmap import IdMap
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import DataError, NotFittedError


@pytest.fixture()
def users() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "gender": ["M", "F", "M", None],
            "age": [25, 35, 25, 18],
            "occupation": ["student", "writer", "student", "other"],
            "zip": ["55455", "94043", "55105", "10001"],
        },
        index=pd.Index([10, 20, 30, 40], name="user"),
    )


@pytest.fixture()
def items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": ["Toy Story (1995)", "Heat (1995)", "Toy Soldiers (1991)"],
            "year": [1995, 1997, 1991],
            "genres": ["Animation|Children's|Comedy", "Action|Crime", ""],
        },
        index=pd.Index([1, 2, 3], name="item"),
    )


def _field(enc: FeatureEncoder, name: str):
    return next(f for f in enc.fields if f.name == name)


def test_categorical_fields_and_unknown_values(users):
    enc = FeatureEncoder().fit(users)
    assert [f.name for f in enc.fields] == ["gender", "age", "occupation", "zip"]
    out = enc.transform(users)
    gender = _field(enc, "gender")
    # most frequent first: M -> 1, F -> 2; missing -> 0
    assert gender.vocab == ["M", "F"]
    assert out.single[:, 0].tolist() == [1, 2, 1, 0]
    assert out.single[0, 1] == out.single[2, 1] != out.single[1, 1]  # same age, same index
    assert out.single_cards[0] == 3
    new = enc.encode_records([{"gender": "X", "age": 99, "occupation": "pilot", "zip": "99999"}, {"gender": "F"}])
    assert new.single[0].tolist() == [0, 0, 0, 0]  # all unseen -> 0
    assert new.single[1].tolist() == [2, 0, 0, 0]  # missing columns -> 0


def test_zip_prefix_and_year_buckets(users, items):
    enc = FeatureEncoder(zip_digits=2, year_width=5).fit(users)
    z = _field(enc, "zip")
    assert sorted(z.vocab) == ["10", "55", "94"]
    out = enc.transform(users)
    zi = out.names.index("zip")
    assert out.single[0, zi] == out.single[2, zi]  # 55455 and 55105 share the prefix "55"
    ienc = FeatureEncoder().fit(items)
    y = _field(ienc, "year")
    assert sorted(y.vocab) == ["1990", "1995"]
    yi = ienc.transform(items)
    col = yi.names.index("year")
    assert yi.single[0, col] == yi.single[1, col] != yi.single[2, col]  # 1995, 1997 -> 1995 bucket; 1991 -> 1990


def test_multi_hot_genres(items):
    enc = FeatureEncoder().fit(items)
    assert "title" not in [f.name for f in enc.fields]  # free text skipped by default
    g = _field(enc, "genres")
    assert g.kind == "multi" and g.max_len == 3
    out = enc.transform(items)
    assert out.multi.shape == (3, 3)
    vocab = ["?", *g.vocab]
    assert [vocab[k] for k in out.multi[0] if k] == ["Animation", "Children's", "Comedy"]
    assert [vocab[k] for k in out.multi[1] if k] == ["Action", "Crime"]
    assert out.multi[1, 2] == 0 and out.multi[2].tolist() == [0, 0, 0]  # padding / empty list
    new = enc.encode_records({"genres": "Crime|Western|Comedy"})  # unknown genre dropped, order kept
    assert [vocab[k] for k in new.multi[0] if k] == ["Crime", "Comedy"]


def test_title_tokens_and_numeric_buckets():
    frame = pd.DataFrame({"title": ["The Big One", "The Small One", "Other"], "score": np.linspace(0, 1, 3)})
    frame = pd.concat([frame] * 20, ignore_index=True)
    frame["score"] = np.linspace(0.0, 100.0, len(frame))
    enc = FeatureEncoder(title_tokens=True, n_buckets=4, small_numeric=10).fit(frame)
    t = _field(enc, "title")
    assert t.kind == "multi" and {"the", "one", "big", "other"} <= set(t.vocab)
    s = _field(enc, "score")
    assert s.kind == "numeric" and len(s.edges) == 3
    out = enc.transform(frame)
    col = out.names.index("score")
    buckets = out.single[:, col]
    assert buckets.min() == 1 and buckets.max() == 4 and np.all(np.diff(buckets) >= 0)
    assert enc.encode_records({"score": float("nan")}).single[0, col] == 0


def test_state_round_trip_is_json(users, items):
    for frame in (users, items):
        enc = FeatureEncoder(title_tokens=True).fit(frame)
        state = json.loads(json.dumps(enc.to_state()))
        again = FeatureEncoder.from_state(state)
        a, b = enc.transform(frame), again.transform(frame)
        assert np.array_equal(a.single, b.single) and np.array_equal(a.multi, b.multi)
        assert a.spec() == b.spec()


def test_encode_entities_follows_id_map_and_missing_rows(users):
    enc = FeatureEncoder().fit(users)
    idmap = IdMap(np.array([20, 40, 99]))  # 99 has no feature row
    table = encode_entities(users, idmap, enc)
    assert table.names[0] == "id" and table.single_cards[0] == 4
    assert table.single[:, 0].tolist() == [1, 2, 3]
    assert table.single[0, 1:].tolist() == enc.transform(users.loc[[20]]).single[0].tolist()
    assert table.single[2, 1:].tolist() == [0, 0, 0, 0]
    ids_only = encode_entities(None, idmap, None)
    assert ids_only.single.shape == (3, 1) and ids_only.multi.shape == (3, 0)


def test_synthetic_features_encode():
    data = make_synthetic(n_users=50, n_items=30, seed=3)
    u = encode_entities(data.user_features, data.user_map, FeatureEncoder().fit(data.user_features))
    i = encode_entities(data.item_features, data.item_map, FeatureEncoder().fit(data.item_features))
    assert u.single.shape == (50, 5) and (u.single[:, 1:] > 0).all()
    assert (i.single > 0).all() or (i.multi > 0).any(axis=1).all()
    assert all(c >= 2 for c in u.single_cards + i.single_cards)


def test_errors():
    with pytest.raises(NotFittedError):
        FeatureEncoder().transform(pd.DataFrame({"a": [1]}))
    with pytest.raises(DataError, match="missing column"):
        FeatureEncoder(columns=["nope"]).fit(pd.DataFrame({"a": [1]}))
    with pytest.raises(DataError, match="DataFrame"):
        FeatureEncoder().fit([1, 2, 3])  # type: ignore[arg-type]


def test_with_history_most_recent_first():
    import pandas as pd

    from cofirec.data.dataset import Interactions
    from cofirec.data.encoding import id_only, with_history

    frame = pd.DataFrame({"user": [1, 1, 1, 2], "item": [10, 20, 30, 20], "rating": [5, 3, 4, 1], "timestamp": [5, 9, 7, 1]})
    data = Interactions.from_frame(frame)
    table = with_history(id_only(np.arange(2), 2), data, length=2)
    assert table.names == ["id", "history"] and table.multi_lens == [2] and table.multi_cards == [4]
    # user 1: most recent item 20 (t=9) then 30 (t=7); 10 dropped; item index + 1
    assert table.multi.tolist() == [[2, 3], [2, 0]]


def test_with_history_width_capped_at_longest_history():
    import pandas as pd

    from cofirec.data.dataset import Interactions
    from cofirec.data.encoding import id_only, with_history

    frame = pd.DataFrame({"user": [1, 1, 1, 2], "item": [10, 20, 30, 20], "rating": [5, 3, 4, 1], "timestamp": [5, 9, 7, 1]})
    data = Interactions.from_frame(frame)
    table = with_history(id_only(np.arange(2), 2), data, length=400)
    assert table.multi_lens == [3] and table.multi.shape == (2, 3)  # user 1 has the longest history: 3 items
    assert table.multi.tolist() == [[2, 3, 1], [2, 0, 0]]
