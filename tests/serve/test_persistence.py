"""Feedback and served lists survive a server restart, on the SQLite default and on a real PostgreSQL server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .conftest import running, sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    base = request.getfixturevalue("postgres_url")
    name = f"cofirec_{tmp_path.name.lower().replace('-', '_')[:40]}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def test_feedback_and_hits_survive_a_restart(model_dir, db_url, tmp_path):
    log = tmp_path / "server.log"
    with running(model_dir, db_url, log) as srv:
        served = srv.client.get("/users/40/recommendations", params={"n": 3}).json()
        ratings = [{"item": served["items"][0]["item"], "rating": 5}, {"item": 11, "rating": 2}]
        assert srv.client.post("/users/40/ratings", json={"ratings": ratings}).json()["stored"] == 2
        assert srv.client.post("/users/new-person/ratings", json={"ratings": [{"item": 12, "rating": 3}]}).status_code == 200
        before = srv.client.get("/status.json").json()
    with running(model_dir, db_url, log) as srv:
        history = srv.client.get("/users/40/history").json()["items"]
        assert sorted((r["item"], r["rating"]) for r in history if r["source"] == "feedback") == sorted((r["item"], float(r["rating"])) for r in ratings)
        assert srv.client.get("/users/new-person/history").json()["items"][0]["item"] == 12
        after = srv.client.get("/status.json").json()
        assert after["online"] == before["online"] and after["online"][0]["hits"] == 1
        assert after["feedback_ratings"] == 3 and after["feedback_users"] == 2


def test_default_database_is_an_sqlite_file_beside_the_model(model_dir, tmp_path):
    from cofirec.serve.store import FeedbackStore, default_db_url

    url = default_db_url(tmp_path / "some-model")
    assert url == f"sqlite:///{tmp_path / 'some-model.feedback.sqlite'}"
    store = FeedbackStore(url)
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()
    assert (tmp_path / "some-model.feedback.sqlite").exists()


def test_a_database_of_another_schema_version_is_refused(tmp_path):
    from cofirec.errors import ConfigError
    from cofirec.serve.store import FeedbackStore, meta_table

    url = sqlite_url(tmp_path)
    store = FeedbackStore(url)
    with store.engine.begin() as conn:
        conn.execute(meta_table.update().where(meta_table.c.key == "schema_version").values(value="99"))
    store.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        FeedbackStore(url)
