"""``cofirec train ... --feedback DB_URL``: stored feedback added to the training data (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from cofirec.data.dataset import Interactions
from cofirec.errors import DataError
from cofirec.serve.feedback_data import add_feedback, load_feedback
from cofirec.serve.store import FeedbackStore, feedback_table

from .conftest import sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    base = request.getfixturevalue("postgres_url")
    name = f"cofirec_fb_{tmp_path.name.lower().replace('-', '_')[:40]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def _data(timestamps: bool = True) -> Interactions:
    frame = pd.DataFrame({"user": [1, 1, 2, 2, 3], "item": [10, 11, 10, 12, 11], "rating": [4.0, 2.0, 5.0, 1.0, 3.0]})
    if timestamps:
        frame["timestamp"] = [100, 101, 102, 103, 104]
    return Interactions.from_frame(frame, name="tiny")


def _store(url: str, rows: list[tuple[str, str, float]]) -> None:
    """Store ``rows`` (user, item, rating) one request each, in order (each later than the one before)."""
    store = FeedbackStore(url)
    try:
        for user, item, rating in rows:
            store.add_ratings(user, [(item, rating)])
    finally:
        store.close()


def _rating(data: Interactions, user, item) -> float | None:
    frame = data.to_frame()
    hit = frame[(frame.user == user) & (frame.item == item)]
    return float(hit.rating.iloc[0]) if len(hit) else None


def test_latest_rating_wins_and_ids_are_raw_ids(db_url):
    # user 1 re-rates item 10 twice (the later, 1.0, wins over the earlier and over training's 4.0);
    # user 3 rates a new item; a new visitor rates a known item
    _store(db_url, [("1", "10", 5.0), ("3", "13", 4.0), ("1", "10", 1.0), ("visitor-1", "12", 2.0)])
    feedback = load_feedback(db_url)
    assert feedback[["user", "item", "rating"]].values.tolist() == [["3", "13", 4.0], ["1", "10", 1.0], ["visitor-1", "12", 2.0]]
    merged, stats = add_feedback(_data(), feedback)
    assert (stats.rows, stats.replaced, stats.new_users, stats.new_items) == (3, 1, 1, 1)
    assert len(merged) == 5 + 3 - 1
    assert _rating(merged, "1", 10) == 1.0 and _rating(merged, "1", 11) == 2.0
    assert _rating(merged, "3", 13) == 4.0 and _rating(merged, "visitor-1", 12) == 2.0
    assert merged.user_map.ids.dtype.kind == "U"  # a text id makes every user id text (the id policy of files)
    assert merged.item_map.ids.dtype.kind == "i" and merged.kind == "explicit" and merged.timestamps is not None


def test_integer_ids_stay_integers_and_no_timestamps_is_fine(tmp_path):
    url = sqlite_url(tmp_path)
    _store(url, [("2", "11", 3.5)])
    merged, stats = add_feedback(_data(timestamps=False), load_feedback(url))
    assert merged.user_map.ids.dtype.kind == "i" and merged.timestamps is None
    assert (stats.rows, stats.replaced, stats.new_users, stats.new_items) == (1, 0, 0, 0)
    assert _rating(merged, 2, 11) == 3.5


@pytest.mark.parametrize("bad", [0.5, 6.0])
def test_ratings_off_the_training_scale_are_refused(tmp_path, bad):
    url = sqlite_url(tmp_path)
    _store(url, [("1", "12", 3.0), ("2", "11", bad)])
    with pytest.raises(DataError, match=rf"1 stored rating\(s\) outside the training data's scale \(explicit ratings from 1 to 5\), e.g. {bad:g}"):
        add_feedback(_data(), load_feedback(url))


def test_implicit_data_takes_values_above_zero(tmp_path):
    url = sqlite_url(tmp_path)
    _store(url, [("1", "12", 1.0)])
    merged, _ = add_feedback(_data().as_implicit(), load_feedback(url))
    assert merged.kind == "implicit" and _rating(merged, 1, 12) == 1.0
    _store(url, [("2", "11", 0.0)])
    with pytest.raises(DataError, match="implicit values above 0"):
        add_feedback(_data().as_implicit(), load_feedback(url))


def test_cli_train_with_feedback(cli, db_url, tmp_path):
    rng = np.random.default_rng(0)
    users, items = rng.integers(1, 31, 400), rng.integers(1, 41, 400)
    frame = pd.DataFrame({"user": users, "item": items, "rating": rng.integers(1, 6, 400)}).drop_duplicates(["user", "item"])
    train = tmp_path / "ratings.csv"
    frame.to_csv(train, index=False)
    first = frame.iloc[0]
    _store(db_url, [(str(first.user), str(first["item"]), 5.0 if first.rating != 5 else 1.0), ("newcomer", "3", 4.0), ("newcomer", "99", 2.0)])
    result = cli("train", "mf", "--train", train, "--out", tmp_path / "model", "--feedback", db_url, "-p", "epochs=2")
    assert result.code == 0, result.stderr
    assert "added 3 feedback rows (1 replacing training ratings; 1 new users, 1 new items)" in result.stdout
    assert f"on {len(frame) + 2:,} explicit interactions" in result.stdout
    import cofirec

    model = cofirec.load(tmp_path / "model")
    assert model.user_map_.lookup(["newcomer"])[0] >= 0 and model.item_map_.lookup([99])[0] >= 0
    u, i = model.user_map_.lookup([str(first.user)])[0], model.item_map_.lookup([first["item"]])[0]
    assert model.train_ratings_[u, i] == (5.0 if first.rating != 5 else 1.0)


def test_cli_feedback_errors_are_one_line(cli, tmp_path):
    train = tmp_path / "ratings.csv"
    pd.DataFrame({"user": [1, 2], "item": [1, 2], "rating": [1, 5]}).to_csv(train, index=False)
    url = sqlite_url(tmp_path)
    _store(url, [("1", "2", 9.0)])
    result = cli("train", "mf", "--train", train, "--out", tmp_path / "m", "--feedback", url)
    assert result.code == 2 and "error: --feedback sqlite:///" in result.stderr and "e.g. 9" in result.stderr and "Traceback" not in result.stderr
    result = cli("train", "mf", "--train", train, "--out", tmp_path / "m", "--feedback", "not a url")
    assert result.code == 2 and "is not a database URL" in result.stderr
    store = FeedbackStore(url)
    with store.engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(feedback_table)).scalar_one() == 1
    store.close()
