"""The served-list log off the request path: queued, written in batches, flushed on shutdown; ratings stay synchronous."""

from __future__ import annotations

import signal
import threading
import time

import sqlalchemy as sa

from cofirec.serve.served_log import ServedLog
from cofirec.serve.store import FeedbackStore, served_items_table, served_table

from .conftest import running, sqlite_url


class SlowStore:
    """Records the batches written; each write can be held back until ``gate`` is set."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.gate = threading.Event()
        self.gate.set()

    def log_served_many(self, rows):
        self.gate.wait(10)
        self.batches.append(list(rows))
        return list(range(len(rows)))

    @property
    def rows(self) -> int:
        return sum(len(b) for b in self.batches)


def test_lists_are_written_in_batches_by_the_thread():
    store = SlowStore()
    served = ServedLog(store, interval=0.3, batch=100)
    for k in range(50):
        served.log(f"u{k}", ["1", "2"], "v1")
    assert store.rows == 0  # nothing written on the caller's thread
    deadline = time.monotonic() + 5
    while store.rows < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.rows == 50 and len(store.batches) <= 2  # one transaction for (nearly) all of them
    assert [row[0] for b in store.batches for row in b] == [f"u{k}" for k in range(50)]
    served.close()


def test_flush_cuts_the_thread_batch_short_and_close_writes_the_rest():
    store = SlowStore()
    served = ServedLog(store, interval=60, batch=1000)
    for k in range(3):
        served.log(f"u{k}", ["1"], "v1")
    time.sleep(0.1)  # the thread holds them in the batch it collects (waiting up to 60 s for more)
    assert store.rows == 0
    start = time.monotonic()
    served.flush()
    assert time.monotonic() - start < 5 and store.rows == 3
    served.log("u3", ["1"], "v1")
    served.close()
    assert [row[0] for b in store.batches for row in b] == ["u0", "u1", "u2", "u3"]
    assert served.written == 4 and served.failed == 0
    served.log("late", ["1"], "v1")  # after close: written synchronously
    assert store.batches[-1][0][0] == "late"


def test_a_full_queue_writes_on_the_request_thread_and_drops_nothing():
    store = SlowStore()
    store.gate.clear()  # the database stalls
    served = ServedLog(store, interval=0.01, batch=1, capacity=3)
    served.log("u0", ["1"], "v1")
    time.sleep(0.1)  # the thread took u0 and waits in its write
    for k in range(1, 4):
        served.log(f"u{k}", ["1"], "v1")  # fills the queue
    threading.Timer(0.3, store.gate.set).start()
    served.log("u4", ["1"], "v1")  # the queue is full: written here, once the database answers
    assert served.sync_writes == 1
    served.close()
    assert sorted(row[0] for b in store.batches for row in b) == [f"u{k}" for k in range(5)]


def _count(url: str) -> tuple[int, int, int]:
    store = FeedbackStore(url)
    try:
        with store.engine.connect() as conn:
            lists = conn.execute(sa.select(sa.func.count()).select_from(served_table)).scalar_one()
            items = conn.execute(sa.select(sa.func.count()).select_from(served_items_table)).scalar_one()
        return int(lists), int(items), store.count_ratings()
    finally:
        store.close()


def test_shutdown_flushes_the_served_lists_and_ratings_are_durable_at_once(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COFIREC_SERVE_LOG_INTERVAL", "120")  # lists wait in the queue until shutdown
    url = sqlite_url(tmp_path)
    with running(model_dir, url, tmp_path / "server.log") as srv:
        for user in range(1, 8):
            assert srv.client.get(f"/users/{user}/recommendations", params={"n": 4}).status_code == 200
        assert srv.client.post("/users/3/ratings", json={"ratings": [{"item": 5, "rating": 4}]}).json()["stored"] == 1
        lists, _, ratings = _count(url)
        assert ratings == 1  # the rating is in the database when the request answers
        assert lists == 0  # the served lists are still queued (off the request path)
    assert _count(url) == (7, 28, 1)  # a clean shutdown (SIGINT) wrote every one


def test_a_crash_loses_only_the_queued_lists(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("COFIREC_SERVE_LOG_INTERVAL", "120")
    url = sqlite_url(tmp_path)
    with running(model_dir, url, tmp_path / "server.log") as srv:
        srv.client.get("/users/1/recommendations")
        srv.client.post("/users/1/ratings", json={"ratings": [{"item": 5, "rating": 4}]})
        srv.client.get("/metrics")  # a hit-rate read flushes the queue: this list is written
        srv.client.get("/users/2/recommendations")
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
    assert _count(url) == (1, 10, 1)  # the list served after the last flush is lost; the rating is not
