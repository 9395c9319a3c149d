"""Sampled negatives: validity, determinism, crowded users, and reading NCF files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofirec.data.dataset import Interactions
from cofirec.data.negatives import SampledNegatives, read_ncf_negatives, sample_negatives
from cofirec.data.splits import leave_last_out, random_split
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError


def user_items(data: Interactions) -> dict:
    frame = data.to_frame()
    return frame.groupby("user")["item"].apply(set).to_dict()


def check_valid(train: Interactions, test: Interactions, neg: SampledNegatives, n: int) -> None:
    seen_train, seen_test = user_items(train), user_items(test)
    candidates = set(train.item_map.to_raw(np.flatnonzero(train.item_counts() > 0)).tolist())
    width = min(n, len(candidates))  # allow_fewer: never wider than the catalogue
    assert neg.negatives.shape == (len(test), width) and neg.mask.shape == (len(test), width)
    test_frame = test.to_frame()
    assert np.array_equal(neg.users, test_frame["user"].to_numpy())
    assert np.array_equal(neg.positives, test_frame["item"].to_numpy())
    for u, row, m in zip(neg.users, neg.negatives, neg.mask):
        items = row[m].tolist()
        assert len(items) == len(set(items)), "no repeated negative in a row"
        assert set(items) <= candidates
        forbidden = seen_train.get(u, set()) | seen_test.get(u, set())
        assert not set(items) & forbidden
        assert len(items) == min(n, len(candidates - forbidden)), "as many negatives as the user can have"


@pytest.fixture(scope="module")
def split():
    return random_split(make_synthetic(n_users=120, n_items=300, seed=2), test_ratio=0.2, seed=0)


def test_sampled_negatives_are_valid_and_deterministic(split):
    neg = sample_negatives(split.train, split.test, n=20, seed=5)
    check_valid(split.train, split.test, neg, 20)
    assert neg.mask.all()
    again = sample_negatives(split.train, split.test, n=20, seed=5)
    assert np.array_equal(again.negatives, neg.negatives)
    other = sample_negatives(split.train, split.test, n=20, seed=6)
    assert not np.array_equal(other.negatives, neg.negatives)


def test_negatives_are_spread_over_candidates(split):
    neg = sample_negatives(split.train, split.test, n=50, seed=0)
    counts = pd.Series(neg.negatives[neg.mask]).value_counts()
    n_cand = int((split.train.item_counts() > 0).sum())
    assert len(counts) > 0.9 * n_cand  # uniform sampling touches nearly every candidate
    assert counts.max() < 5 * counts.mean()


def test_crowded_users_get_every_remaining_item():
    # 8 items; user 1 has seen 6 of them (train + test), user 2 one; ask for 5 negatives
    frame = pd.DataFrame(
        {
            "user": [1, 1, 1, 1, 1, 1, 2, 2, 3, 3],
            "item": [1, 2, 3, 4, 5, 6, 1, 7, 7, 8],
            "rating": 1.0,
            "timestamp": [1, 2, 3, 4, 5, 6, 1, 2, 1, 2],
        }
    )
    data = Interactions.from_frame(frame)
    s = leave_last_out(data)  # test: (1, 6), (2, 7), (3, 8)
    neg = sample_negatives(s.train, s.test, n=5, seed=0, allow_fewer=True)
    check_valid(s.train, s.test, neg, 5)
    rows = dict(zip(neg.users.tolist(), range(len(neg))))
    # candidates are the train items 1-5 and 7 (6 and 8 occur only in test)
    assert neg.negatives[rows[1]][neg.mask[rows[1]]].tolist() == [7]
    assert sorted(neg.negatives[rows[2]][neg.mask[rows[2]]].tolist()) == [2, 3, 4, 5]
    assert neg.counts.tolist() == [1, 4, 5]
    assert (neg.negatives[~neg.mask] == -1).all()  # padding


def test_large_request_uses_the_exact_path(split):
    neg = sample_negatives(split.train, split.test, n=280, seed=1, allow_fewer=True)  # most users cannot have 280
    check_valid(split.train, split.test, neg, 280)
    assert not neg.mask.all()


@settings(max_examples=30, deadline=None)
@given(
    cells=st.sets(st.tuples(st.integers(0, 9), st.integers(0, 14)), min_size=2, max_size=80),
    n=st.integers(1, 12),
    seed=st.integers(0, 1000),
)
def test_negatives_property(cells, n, seed):
    frame = pd.DataFrame(sorted(cells), columns=["user", "item"]).assign(rating=1.0)
    data = Interactions.from_frame(frame)
    s = random_split(data, test_ratio=0.3, seed=seed)
    neg = sample_negatives(s.train, s.test, n=n, seed=seed, allow_fewer=True)
    check_valid(s.train, s.test, neg, n)
    assert np.array_equal(neg.negatives, sample_negatives(s.train, s.test, n=n, seed=seed, allow_fewer=True).negatives)


def test_bad_arguments(split):
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        sample_negatives(split.train, split.test, n=0)
    with pytest.raises(DataError, match="test set is empty"):
        sample_negatives(split.train, split.test.subset(np.zeros(len(split.test), dtype=bool)))


def test_read_ragged_ncf_file(tmp_path):
    path = tmp_path / "x.test.negative"
    path.write_text("(0,5)\t1\t2\t3\n(1,7)\t4\n\n(2,9)\t8\t6\n")
    neg = read_ncf_negatives(path)
    assert neg.users.tolist() == [0, 1, 2] and neg.positives.tolist() == [5, 7, 9]
    assert neg.mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    assert neg.negatives[neg.mask].tolist() == [1, 2, 3, 4, 8, 6]
    assert neg.counts.tolist() == [3, 1, 2]


def test_read_ncf_errors(tmp_path):
    bad = tmp_path / "bad.negative"
    bad.write_text("(0,5)\t1\n0,6\t2\n")
    with pytest.raises(DataError, match=r"bad.negative, line 2: expected '\(user,item\)'"):
        read_ncf_negatives(bad)
    with pytest.raises(DataError, match="no such file"):
        read_ncf_negatives(tmp_path / "missing")


@pytest.mark.realdata
def test_read_ncf_ml_1m_half(real_data):
    path = real_data("ncf-ml-1m-half/ml-1m-half.test.negative")
    neg = read_ncf_negatives(path)
    assert len(neg) == 2999 and neg.negatives.shape == (2999, 99)
    assert neg.users.tolist() == list(range(2999))
    assert (neg.users[0], neg.positives[0]) == (0, 25)
    assert neg.negatives[0, :3].tolist() == [1064, 174, 2791]
    assert int(neg.mask.sum()) == 2999 * 99 - 7726  # README: 7,726 negatives dropped from the full file
    assert int(neg.negatives[neg.mask].max()) < 3615
    rating = pd.read_csv(path.with_name("ml-1m-half.test.rating"), sep="\t", names=["u", "i", "r", "t"])
    assert np.array_equal(neg.positives, rating["i"].to_numpy())
