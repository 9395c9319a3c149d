"""Temporal splits: the global cut-off (boundary, ties, quantile, cold rows) and the per-user latest fraction,
on hand-checkable data, random data (properties) and MovieLens 1M (half)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofirec.data import SPLIT_METHODS, temporal_split, user_temporal_split
from cofirec.data.dataset import Interactions
from cofirec.data.readers import read_ratings_file
from cofirec.data.split_folder import COLD_FILE, TEST_FILE, TRAIN_FILE, read_split_manifest, save_split
from cofirec.data.splits import split_data, split_report
from cofirec.data.temporal import parse_cutoff, quantile_cutoff
from cofirec.errors import ConfigError, DataError

# (user, item, timestamp). Users 1-3 and items a-c appear before 30; user 4 and item d only from 30 on.
ROWS = [
    (1, "a", 10),
    (1, "b", 20),
    (2, "a", 20),
    (2, "b", 25),
    (2, "c", 25),
    (3, "c", 15),
    (1, "c", 30),
    (3, "a", 30),
    (4, "a", 30),
    (1, "d", 40),
    (4, "d", 40),
    (3, "b", 50),
]


def frame(rows) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    out["rating"] = np.arange(len(out)) % 5 + 1
    return out


@pytest.fixture
def tiny() -> Interactions:
    return Interactions.from_frame(frame(ROWS), name="tiny")


def triples(data: Interactions | None) -> set[tuple]:
    """(raw user, raw item, timestamp) of every row."""
    if data is None:
        return set()
    f = data.to_frame()
    return set(zip(f["user"].tolist(), f["item"].tolist(), f["timestamp"].tolist(), strict=True))


# ---------------------------------------------------------------------- boundary, ties and cold rows
def test_cutoff_boundary_is_exact_and_cold_rows_are_separate(tiny):
    split = temporal_split(tiny, cutoff=30)
    assert triples(split.train) == {(1, "a", 10), (1, "b", 20), (2, "a", 20), (2, "b", 25), (2, "c", 25), (3, "c", 15)}
    assert triples(split.test) == {(1, "c", 30), (3, "a", 30), (3, "b", 50)}  # user and item seen before 30
    assert triples(split.cold) == {(4, "a", 30), (1, "d", 40), (4, "d", 40)}  # new user 4 and/or new item d
    assert split.info == {
        "cutoff": "1970-01-01T00:00:30",
        "cutoff_unix": 30,
        "cold_policy": "separate",
        "n_train": 6,
        "n_test": 3,
        "n_cold_users": 1,
        "n_cold_items": 1,
        "n_cold_rows": 3,
        "n_dropped": 0,
    }
    assert split.train.user_map is tiny.user_map and split.cold is not None and split.cold.item_map is tiny.item_map
    assert split.cold.name == "tiny:cold" and split.test.name == "tiny:test"


def test_tied_timestamps_never_straddle_the_cutoff(tiny):
    split = temporal_split(tiny, cutoff=25)  # two rows at exactly 25: both test
    assert {(2, "b", 25), (2, "c", 25)} <= triples(split.test)
    assert max(t for *_, t in triples(split.train)) == 20
    assert split.info["n_train"] == 4 and len(split.test) + len(split.cold) == 8
    between = temporal_split(tiny, cutoff=26)  # 25 < 26 <= 30: the same split as at 30
    assert triples(between.train) == triples(temporal_split(tiny, cutoff=30).train)
    assert triples(temporal_split(tiny, cutoff=25.5).train) == triples(between.train)


def test_cold_drop_counts_and_leaves_no_cold_part(tiny):
    split = temporal_split(tiny, cutoff=30, cold="drop")
    assert split.cold is None
    assert triples(split.test) == {(1, "c", 30), (3, "a", 30), (3, "b", 50)}
    assert split.info["n_dropped"] == 3 and split.info["cold_policy"] == "drop"
    assert split.info["n_train"] + split.info["n_test"] + split.info["n_dropped"] == len(tiny)
    assert "cold=drop" in split.name


def test_a_cold_item_makes_a_known_users_row_cold(tiny):
    split = temporal_split(tiny, cutoff=40)  # user 1 is known; item d first appears at 40
    assert (1, "d", 40) in triples(split.cold)
    assert (3, "b", 50) in triples(split.test)
    report = split_report(split.train, split.test)
    assert report["test_users_unseen"] == 0 and report["test_items_unseen"] == 0


# ---------------------------------------------------------------------- the quantile cut-off
@pytest.mark.parametrize(
    ("ratio", "cutoff"),
    [
        (0.25, 40),  # 3 rows wanted: >= 40 has exactly 3
        (0.3, 40),  # round(3.6) = 4: >= 40 (3 rows) is closer than >= 30 (6 rows)
        (0.4, 30),  # round(4.8) = 5: >= 30 (6) is closer than >= 40 (3)
        (0.5, 30),  # 6 wanted
        (7 / 12, 30),  # 7 wanted: >= 25 (8) and >= 30 (6) are equally close; the later cut-off wins
        (0.99, 15),  # all but the first row: 11
        (0.01, 50),  # at least one test row
    ],
)
def test_quantile_cutoff_is_the_closest_tie_respecting_size(tiny, ratio, cutoff):
    assert quantile_cutoff(tiny.timestamps, ratio) == cutoff
    split = temporal_split(tiny, test_ratio=ratio)
    assert split.info["cutoff_unix"] == cutoff
    assert f"test_ratio={ratio:g}" in split.name


# ---------------------------------------------------------------------- cut-off as a date or a number
@pytest.fixture
def dated() -> Interactions:
    days = ["1998-02-27", "1998-02-28", "1998-03-01", "1998-03-01T12:00:00", "1998-03-02"]
    ts = [int(dt.datetime.fromisoformat(d).replace(tzinfo=dt.timezone.utc).timestamp()) for d in days]
    return Interactions.from_frame(frame([(1, "a", ts[0]), (2, "b", ts[1]), (1, "b", ts[2]), (2, "a", ts[3]), (3, "c", ts[4])]))


@pytest.mark.parametrize("cutoff", ["1998-03-01", "1998-03-01T00:00:00", "1998-03-01T01:00:00+01:00", 888710400, 888710400.0, "888710400"])
def test_cutoff_as_date_or_number(dated, cutoff):
    split = temporal_split(dated, cutoff=cutoff)
    assert split.info["cutoff"] == "1998-03-01T00:00:00" and split.info["cutoff_unix"] == 888710400
    assert triples(split.test) == {(1, "b", 888710400), (2, "a", 888753600)}
    assert len(split.train) == 2 and len(split.cold) == 1  # user 3 and item c are new
    assert split.info["n_cold_users"] == 1 and split.info["n_cold_items"] == 1


def test_parse_cutoff():
    assert parse_cutoff("1970-01-02") == 86400.0
    assert parse_cutoff(" 1970-01-01T00:01 ") == 60.0
    assert parse_cutoff(12.5) == 12.5


# ---------------------------------------------------------------------- errors
def test_temporal_splits_need_timestamps():
    data = Interactions.from_frame(pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 1], "rating": [1, 2, 3]}), name="notime")
    with pytest.raises(DataError, match="split temporal needs a timestamp column; notime has none"):
        temporal_split(data)
    with pytest.raises(DataError, match="split user-temporal needs a timestamp column"):
        user_temporal_split(data)
    with pytest.raises(DataError, match="needs a timestamp column"):
        split_data(data, "temporal")


@pytest.mark.parametrize(
    ("cutoff", "message"),
    [
        (10, "at or before the first timestamp.*training part would be empty"),
        (5, "at or before the first timestamp"),
        ("1969-12-31", "at or before the first timestamp"),
        (50.5, "after the last timestamp.*test part would be empty"),
        ("2030-01-01", "after the last timestamp"),
    ],
)
def test_cutoff_outside_the_data_is_an_error(tiny, cutoff, message):
    with pytest.raises(DataError, match=message):
        temporal_split(tiny, cutoff=cutoff)


@pytest.mark.parametrize("cutoff", ["1998-13-45", "yesterday", "", True, [1]])
def test_bad_cutoff_is_a_config_error(tiny, cutoff):
    with pytest.raises(ConfigError, match="cutoff"):
        temporal_split(tiny, cutoff=cutoff)


def test_bad_cold_policy_and_ratio(tiny):
    with pytest.raises(ConfigError, match="cold: expected one of separate, drop, got 'keep'"):
        temporal_split(tiny, cold="keep")
    with pytest.raises(ConfigError, match="test_ratio"):
        temporal_split(tiny, test_ratio=1.5)
    with pytest.raises(ConfigError, match="test_ratio"):
        user_temporal_split(tiny, test_ratio=0)


def test_one_timestamp_cannot_be_cut():
    data = Interactions.from_frame(frame([(1, "a", 5), (2, "b", 5)]))
    with pytest.raises(DataError, match="same timestamp"):
        temporal_split(data)


def test_split_data_routes_temporal_options(tiny):
    assert SPLIT_METHODS["temporal"] == "temporal" and SPLIT_METHODS["user-temporal"] == "user-temporal"
    split = split_data(tiny, "temporal", cutoff=30, cold="drop")
    assert split.cold is None and split.info["n_dropped"] == 3
    assert split_data(tiny, "Temporal", test_ratio=0.25).info["cutoff_unix"] == 40
    assert triples(split_data(tiny, "user-temporal", test_ratio=0.5).test) == triples(user_temporal_split(tiny, 0.5).test)
    with pytest.raises(ConfigError, match="cutoff applies to the temporal split only"):
        split_data(tiny, "random", cutoff=30)
    with pytest.raises(ConfigError, match="cold applies to the temporal split only"):
        split_data(tiny, "user-temporal", cold="drop")
    assert split_data(tiny, "random").cold is None and split_data(tiny, "random").info == {}


# ---------------------------------------------------------------------- user-temporal
def test_user_temporal_holds_out_each_users_latest_fraction(tiny):
    data = Interactions.from_frame(frame([*ROWS, (5, "e", 60)]))  # user 5 has one interaction
    split = user_temporal_split(data, test_ratio=0.5)
    # user 1: 4 rows -> 2 latest (c@30, d@40); user 2: 3 rows -> round(1.5) = 2 (b, c @25);
    # user 3: 3 rows -> 2 (a@30, b@50); user 4: 2 rows -> 1 (d@40); user 5: 1 row -> stays in train
    assert triples(split.test) == {(1, "c", 30), (1, "d", 40), (2, "b", 25), (2, "c", 25), (3, "a", 30), (3, "b", 50), (4, "d", 40)}
    assert (5, "e", 60) in triples(split.train)
    assert split.info == {"test_ratio": 0.5, "n_train": 6, "n_test": 7, "n_test_users": 4}
    assert split.name == "user-temporal(test_ratio=0.5)" and split.cold is None


def test_user_temporal_breaks_ties_by_position():
    rows = [(1, "a", 10), (1, "b", 20), (1, "c", 20), (1, "d", 5)]
    split = user_temporal_split(Interactions.from_frame(frame(rows)), test_ratio=0.25)  # one row: b or c, both @20
    assert triples(split.test) == {(1, "c", 20)}  # the later row of the tie
    swapped = [rows[0], rows[2], rows[1], rows[3]]
    assert triples(user_temporal_split(Interactions.from_frame(frame(swapped)), test_ratio=0.25).test) == {(1, "b", 20)}


# ---------------------------------------------------------------------- properties on random data
@st.composite
def timed_interactions(draw) -> Interactions:
    n_users, n_items = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    cells = sorted(draw(st.sets(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)), min_size=2, max_size=40)))
    f = pd.DataFrame(cells, columns=["user", "item"])
    f["timestamp"] = draw(st.lists(st.integers(0, 4), min_size=len(f), max_size=len(f)))  # plenty of ties
    f["rating"] = 1.0
    return Interactions.from_frame(f)


@settings(max_examples=60, deadline=None)
@given(data=timed_interactions(), ratio=st.sampled_from([0.1, 0.3, 0.5, 0.9]), cold=st.sampled_from(["separate", "drop"]))
def test_temporal_split_properties(data, ratio, cold):
    if len(np.unique(data.timestamps)) < 2:
        with pytest.raises(DataError, match="same timestamp"):
            temporal_split(data, ratio, cold=cold)
        return
    split = temporal_split(data, ratio, cold=cold)
    cutoff = split.info["cutoff_unix"]
    assert np.all(split.train.timestamps < cutoff) and len(split.train) > 0
    later = np.concatenate([split.test.timestamps, split.cold.timestamps if split.cold is not None else []])
    assert np.all(later >= cutoff) and split.info["n_test"] + split.info["n_cold_rows"] == int((data.timestamps >= cutoff).sum())
    assert np.all(np.isin(split.test.users, split.train.users)) and np.all(np.isin(split.test.items, split.train.items))
    if split.cold is not None:
        cold_rows = ~(np.isin(split.cold.users, split.train.users) & np.isin(split.cold.items, split.train.items))
        assert cold_rows.all() and len(split.cold) == split.info["n_cold_rows"]
    assert len(split.train) + len(split.test) + split.info["n_cold_rows"] == len(data)


@settings(max_examples=60, deadline=None)
@given(data=timed_interactions(), ratio=st.sampled_from([0.2, 0.5, 0.9]))
def test_user_temporal_properties(data, ratio):
    split = user_temporal_split(data, ratio)
    counts = data.user_counts()
    expected = np.minimum(np.floor(ratio * counts + 0.5), np.maximum(counts - 1, 0))
    assert np.array_equal(split.test.user_counts(), expected)
    assert len(split.train) + len(split.test) == len(data)
    for u in np.unique(split.test.users):  # nothing a user did in train is later than their test rows
        assert split.train.timestamps[split.train.users == u].max() <= split.test.timestamps[split.test.users == u].min()


# ---------------------------------------------------------------------- split folders
def test_split_folder_writes_cold_rows_that_round_trip(tiny, tmp_path):
    split = temporal_split(tiny, cutoff=30)
    record = save_split(tmp_path / "s", split.train, split.test, {"method": "temporal", **split.info}, split.cold)
    assert set(record["files"]) == {TRAIN_FILE, TEST_FILE, COLD_FILE}
    back = read_ratings_file(tmp_path / "s" / COLD_FILE)
    assert triples(back) == triples(split.cold)
    assert read_split_manifest(tmp_path / "s")["n_cold_rows"] == 3
    other = split_data(tiny, "random")
    save_split(tmp_path / "s", other.train, other.test, {"method": "random"})  # no cold rows: no stale cold.tsv
    assert not (tmp_path / "s" / COLD_FILE).exists()
    assert set(json.loads((tmp_path / "s" / "split.json").read_text())["files"]) == {TRAIN_FILE, TEST_FILE}


# ---------------------------------------------------------------------- real data
def test_temporal_split_on_movielens_1m_half(real_data):
    from cofirec.data import load_dataset

    data = load_dataset(real_data("ml-1m-half"))
    split = temporal_split(data, test_ratio=0.2)
    assert split.train.timestamps.max() < min(split.test.timestamps.min(), split.cold.timestamps.min())
    info = split.info
    assert info["n_train"] + info["n_test"] + info["n_cold_rows"] == len(data)
    assert abs(info["n_test"] + info["n_cold_rows"] - 0.2 * len(data)) <= int((data.timestamps == info["cutoff_unix"]).sum())
    assert info["n_cold_users"] == len(np.setdiff1d(split.cold.users, split.train.users))
    assert info["n_cold_items"] == len(np.setdiff1d(split.cold.items, split.train.items))
    dropped = temporal_split(data, cutoff=info["cutoff"], cold="drop")
    assert dropped.info["n_dropped"] == info["n_cold_rows"] and len(dropped.test) == len(split.test)
    per_user = user_temporal_split(data, 0.2)
    assert len(per_user.test) == int(np.minimum(np.floor(0.2 * data.user_counts() + 0.5), data.user_counts() - 1).sum())
