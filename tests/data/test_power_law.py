"""The seeded power-law log generator: exact shape and count, distinct pairs, seeding, skew, Parquet round trip."""

from __future__ import annotations

import numpy as np
import pytest

from cofirec.data import make_power_law, read_ratings_file, write_power_law_parquet
from cofirec.data.power_law import power_law_pairs
from cofirec.errors import ConfigError, DataError


def top_share(counts: np.ndarray, fraction: float = 0.01) -> float:
    """Share of all interactions held by the top ``fraction`` of ids."""
    top = max(1, int(len(counts) * fraction))
    return float(np.sort(counts)[::-1][:top].sum() / counts.sum())


@pytest.mark.parametrize(("n_users", "n_items", "n"), [(2_000, 500, 30_000), (300, 3_000, 20_000), (50, 40, 1_800)])
def test_exact_shape_count_and_coverage(n_users, n_items, n):
    data = make_power_law(n_users, n_items, n, seed=3)
    assert (data.n_users, data.n_items, len(data)) == (n_users, n_items, n)
    assert data.user_counts().min() >= 1 and data.item_counts().min() >= 1
    assert data.users.dtype == np.int32 and data.items.dtype == np.int32
    keys = data.users.astype(np.int64) * n_items + data.items
    assert len(np.unique(keys)) == n  # no duplicate pairs
    assert np.all(np.diff(keys) > 0)  # sorted by (user, item)
    assert data.kind == "implicit" and np.all(data.ratings == 1.0) and data.timestamps is None


def test_same_seed_same_log_other_seed_other_log():
    a = make_power_law(1_000, 400, 20_000, seed=7)
    b = make_power_law(1_000, 400, 20_000, seed=7)
    c = make_power_law(1_000, 400, 20_000, seed=8)
    assert np.array_equal(a.users, b.users) and np.array_equal(a.items, b.items)
    assert not (np.array_equal(a.users, c.users) and np.array_equal(a.items, c.items))


def test_top_items_share_grows_with_item_skew():
    shares = [top_share(make_power_law(2_000, 2_000, 60_000, item_skew=s, seed=0).item_counts()) for s in (0.0, 0.5, 1.0, 1.5)]
    assert shares[0] < 0.03  # uniform: about 1% (+ noise)
    assert all(lo < hi for lo, hi in zip(shares, shares[1:])), shares
    assert shares[-1] > 0.4


def test_top_users_share_grows_with_user_skew():
    shares = [top_share(make_power_law(3_000, 1_000, 60_000, user_skew=s, seed=0).user_counts()) for s in (0.0, 0.6, 1.0)]
    assert all(lo < hi for lo, hi in zip(shares, shares[1:])), shares


def test_explicit_ratings_and_timestamps():
    data = make_power_law(500, 300, 8_000, implicit=False, timestamps=True, seed=1)
    assert data.kind == "explicit"
    assert set(np.unique(data.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert data.timestamps is not None and data.timestamps.dtype == np.int64 and len(data.timestamps) == 8_000


def test_parquet_round_trip(tmp_path):
    data = make_power_law(400, 250, 6_000, implicit=False, timestamps=True, seed=2)
    path = write_power_law_parquet(data, tmp_path / "log.parquet")
    back = read_ratings_file(path)
    assert (back.n_users, back.n_items, len(back)) == (400, 250, 6_000)
    order = np.lexsort((back.items, back.users))
    assert np.array_equal(back.user_map.to_raw(back.users[order]), data.users)
    assert np.array_equal(back.item_map.to_raw(back.items[order]), data.items)
    assert np.array_equal(back.ratings[order], data.ratings)
    assert np.array_equal(back.timestamps[order], data.timestamps)


def test_dense_request_fills_every_cell():
    users, items = power_law_pairs(30, 20, 600, item_skew=0.3, seed=0)
    assert len(np.unique(users.astype(np.int64) * 20 + items)) == 600


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_users": 0, "n_items": 10, "n_interactions": 10}, "n_users=0"),
        ({"n_users": 10, "n_items": 10, "n_interactions": 101}, "exceeds"),
        ({"n_users": 10, "n_items": 100, "n_interactions": 50}, "below max"),
        ({"n_users": 10, "n_items": 10, "n_interactions": 50, "item_skew": -1.0}, "item_skew"),
        ({"n_users": 10, "n_items": 10, "n_interactions": 50, "user_skew": float("nan")}, "user_skew"),
        ({"n_users": 10, "n_items": 10, "n_interactions": 50, "seed": -1}, "seed"),
    ],
)
def test_bad_parameters_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_power_law(**kwargs)


def test_too_few_to_cover_everyone():
    with pytest.raises(ConfigError, match="too few"):
        make_power_law(100, 100, 100, item_skew=1.5, seed=0)


def test_saturated_dense_request_fills_from_free_cells():
    users, items = power_law_pairs(3, 1_000, 2_500, item_skew=6.0, seed=0)
    assert len(np.unique(users.astype(np.int64) * 1_000 + items)) == 2_500


def test_saturated_sparse_request_is_a_data_error():
    with pytest.raises(DataError, match="saturate"):
        make_power_law(10, 10_000, 11_000, item_skew=6.0, seed=0)
