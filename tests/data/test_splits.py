"""Splits: property tests on random data, hand-made edge cases, and the MovieLens 100K predefined split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofirec.data.dataset import Interactions
from cofirec.data.splits import (
    Split,
    kfold,
    leave_last_out,
    random_split,
    split_data,
    split_report,
    train_test_from_files,
    user_ratio_split,
    validation_split,
)
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError


# ---------------------------------------------------------------------- helpers
@st.composite
def interactions(draw, with_timestamps: bool = True) -> Interactions:
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(1, 12))
    cells = draw(st.sets(st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)), min_size=1, max_size=60))
    cells = sorted(cells)
    order = draw(st.permutations(range(len(cells))))
    frame = pd.DataFrame([cells[i] for i in order], columns=["user", "item"])
    frame["rating"] = draw(st.lists(st.integers(1, 5), min_size=len(frame), max_size=len(frame)))
    if with_timestamps:  # few distinct values: plenty of ties
        frame["timestamp"] = draw(st.lists(st.integers(0, 3), min_size=len(frame), max_size=len(frame)))
    return Interactions.from_frame(frame)


def keys(data: Interactions) -> np.ndarray:
    return data.users.astype(np.int64) * data.n_items + data.items


def assert_partition(data: Interactions, split: Split) -> None:
    """Train and test share the vocabularies and together hold every row exactly once."""
    assert split.train.user_map is data.user_map and split.test.item_map is data.item_map
    both = np.concatenate([keys(split.train), keys(split.test)])
    assert len(both) == len(data)
    assert np.array_equal(np.sort(both), np.sort(keys(data)))
    assert not np.intersect1d(keys(split.train), keys(split.test)).size


def same_split(a: Split, b: Split) -> bool:
    return np.array_equal(keys(a.train), keys(b.train)) and np.array_equal(keys(a.test), keys(b.test))


# ---------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(data=interactions(), seed=st.integers(0, 2**16), ratio=st.sampled_from([0.1, 0.2, 0.5, 0.9]))
def test_random_split_partitions_and_is_deterministic(data, seed, ratio):
    split = random_split(data, test_ratio=ratio, seed=seed)
    assert_partition(data, split)
    if len(data) > 1:
        assert len(split.test) == min(max(round(ratio * len(data)), 1), len(data) - 1)
    assert same_split(split, random_split(data, test_ratio=ratio, seed=seed))


@settings(max_examples=40, deadline=None)
@given(data=interactions(), seed=st.integers(0, 2**16), ratio=st.sampled_from([0.2, 0.5, 0.9]))
def test_user_split_keeps_a_train_row_per_user(data, seed, ratio):
    split = user_ratio_split(data, test_ratio=ratio, seed=seed)
    assert_partition(data, split)
    counts = data.user_counts()
    train_counts = split.train.user_counts()
    test_counts = split.test.user_counts()
    assert np.all(train_counts[counts > 0] >= 1)
    assert np.all(test_counts[counts == 1] == 0)
    expected = np.minimum(np.floor(ratio * counts + 0.5), np.maximum(counts - 1, 0))
    assert np.array_equal(test_counts, expected)
    assert same_split(split, user_ratio_split(data, test_ratio=ratio, seed=seed))


@settings(max_examples=40, deadline=None)
@given(data=interactions(), n=st.integers(1, 3))
def test_leave_last_out_holds_out_the_latest(data, n):
    split = leave_last_out(data, n=n)
    assert_partition(data, split)
    frame = data.to_frame()
    frame["pos"] = np.arange(len(frame))
    frame["test"] = np.isin(keys(data), keys(split.test))
    for _, g in frame.groupby("user"):
        if len(g) <= n:
            assert not g["test"].any()
            continue
        latest = g.sort_values(["timestamp", "pos"]).tail(n)  # ties: later position is later
        assert set(latest.index) == set(g.index[g["test"]])
    assert same_split(split, leave_last_out(data, n=n))


@settings(max_examples=30, deadline=None)
@given(data=interactions(), seed=st.integers(0, 2**16), k=st.integers(2, 5))
def test_kfold_test_parts_partition_the_data(data, seed, k):
    if k > len(data):
        with pytest.raises(ConfigError, match="k="):
            kfold(data, k=k, seed=seed)
        return
    folds = kfold(data, k=k, seed=seed)
    assert len(folds) == k
    for f in folds:
        assert_partition(data, f)
    tests = np.concatenate([keys(f.test) for f in folds])
    assert np.array_equal(np.sort(tests), np.sort(keys(data)))  # every row in exactly one test fold
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for f, fold in enumerate(folds):
        assert same_split(fold, split_data(data, "kfold", k=k, fold=f, seed=seed))


@settings(max_examples=25, deadline=None)
@given(data=interactions(), seed=st.integers(0, 2**16))
def test_validation_split_carves_from_train_only(data, seed):
    outer = user_ratio_split(data, test_ratio=0.3, seed=seed)
    inner = validation_split(outer.train, ratio=0.3, seed=seed)
    assert_partition(outer.train, inner)
    assert not np.intersect1d(keys(inner.test), keys(outer.test)).size
    has_train = outer.train.user_counts() > 0
    assert np.all(inner.train.user_counts()[has_train] >= 1)


# ---------------------------------------------------------------------- examples
@pytest.fixture(scope="module")
def synth() -> Interactions:
    return make_synthetic(n_users=80, n_items=60, seed=3)


def test_seeds_change_the_split(synth):
    assert not same_split(random_split(synth, seed=0), random_split(synth, seed=1))
    assert not same_split(user_ratio_split(synth, seed=0), user_ratio_split(synth, seed=1))


def test_split_data_names_and_aliases(synth):
    assert same_split(split_data(synth, "random", seed=4), random_split(synth, seed=4))
    assert same_split(split_data(synth, "user", test_ratio=0.3), user_ratio_split(synth, test_ratio=0.3))
    assert same_split(split_data(synth, "leave-last-out"), leave_last_out(synth))
    assert same_split(split_data(synth, "LOO"), leave_last_out(synth))
    assert same_split(split_data(synth, "kfold", k=4, fold=3, seed=2), kfold(synth, k=4, seed=2)[3])
    with pytest.raises(ConfigError, match="unknown split method 'chronological'"):
        split_data(synth, "chronological")
    with pytest.raises(ConfigError, match="fold"):
        split_data(synth, "kfold", k=3, fold=3)


def test_bad_parameters_are_named(synth):
    with pytest.raises(ConfigError, match="test_ratio"):
        random_split(synth, test_ratio=1.5)
    with pytest.raises(ConfigError, match="ratio"):
        validation_split(synth, ratio=0)
    with pytest.raises(ConfigError, match="n must be"):
        leave_last_out(synth, n=0)
    with pytest.raises(ConfigError, match="k must be"):
        kfold(synth, k=1)


def test_leave_last_out_needs_timestamps():
    data = Interactions.from_frame(pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 1], "rating": [3, 4, 5]}), name="nots")
    with pytest.raises(DataError, match="needs timestamps; nots"):
        leave_last_out(data)


def test_leave_last_out_breaks_ties_by_position():
    frame = pd.DataFrame({"user": [1, 1, 1, 2], "item": [5, 6, 7, 5], "rating": 1.0, "timestamp": [9, 3, 9, 1]})
    split = leave_last_out(Interactions.from_frame(frame))
    assert split.test.to_frame()[["user", "item"]].values.tolist() == [[1, 7]]  # tie at 9: later row wins
    assert len(split.train) == 3  # user 2 has one interaction: stays in train


def test_split_report_counts_unseen_ids():
    frame = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": [10, 11, 10, 12, 13], "rating": 1.0})
    data = Interactions.from_frame(frame)
    split = Split(train=data.subset(np.array([0, 1, 2])), test=data.subset(np.array([3, 4])), name="hand")
    rep = split_report(split.train, split.test)
    assert rep["train_interactions"] == 3 and rep["test_interactions"] == 2
    assert rep["train_users"] == 2 and rep["train_items"] == 2
    assert rep["test_users"] == 2 and rep["test_items"] == 2
    assert rep["test_users_unseen"] == 1  # user 3
    assert rep["test_items_unseen"] == 2  # items 12, 13
    assert rep["test_interactions_unseen_user"] == 1
    assert rep["test_interactions_unseen_item"] == 2
    assert rep["overlap_pairs"] == 0
    assert rep["test_fraction"] == pytest.approx(0.4)
    rep2 = split_report(data, split.test)  # train that contains the test rows
    assert rep2["overlap_pairs"] == 2 and rep2["test_users_unseen"] == 0


def test_split_unpacks(synth):
    train, test = random_split(synth)
    assert len(train) + len(test) == len(synth)


# ---------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_movielens_100k_u1_files(real_data):
    base = real_data("ml-100k/u1.base")
    test_file = base.with_name("u1.test")
    pytest.importorskip("cofirec.data.readers", reason="cofirec.data.readers (read_ratings_file) not available yet")
    split = train_test_from_files(base, test_file)
    assert len(split.train) == 80_000 and len(split.test) == 20_000
    assert split.train.user_map == split.test.user_map and split.train.item_map == split.test.item_map
    rep = split_report(split.train, split.test)
    assert rep["overlap_pairs"] == 0
    cols = ["user", "item", "rating", "timestamp"]
    raw_train = pd.read_csv(base, sep="\t", names=cols)
    raw_test = pd.read_csv(test_file, sep="\t", names=cols)
    assert rep["test_users_unseen"] == len(set(raw_test["user"]) - set(raw_train["user"]))
    assert rep["test_items_unseen"] == len(set(raw_test["item"]) - set(raw_train["item"]))
    assert split.test.ratings.sum() == raw_test["rating"].sum()


@pytest.mark.realdata
def test_movielens_100k_leave_last_out(real_data):
    path = real_data("ml-100k/u.data")
    frame = pd.read_csv(path, sep="\t", names=["user", "item", "rating", "timestamp"])
    data = Interactions.from_frame(frame, name="ml-100k")
    split = leave_last_out(data)
    assert len(split.test) == 943  # every ML-100K user has at least 20 ratings
    test = split.test.to_frame().set_index("user")["timestamp"]
    latest = frame.groupby("user")["timestamp"].max()
    assert (test.reindex(latest.index) == latest).all()
    user = user_ratio_split(data, test_ratio=0.2, seed=0)
    assert abs(len(user.test) - 20_000) < 500
    assert np.all(user.train.user_counts() >= 1)
