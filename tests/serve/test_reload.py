"""POST /admin/reload swaps a retrained model in atomically: no request fails while it happens, and a damaged
folder leaves the running model in place."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from .conftest import running, sqlite_url, train_model


def _hammer(url: str, stop: threading.Event, outcomes: Counter, versions: list, lock: threading.Lock) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        k = 0
        while not stop.is_set():
            k += 1
            try:
                if k % 3:
                    r = client.get(f"/users/{k % 120 + 1}/recommendations", params={"n": 10})
                else:
                    r = client.get(f"/items/{k % 80 + 1}/similar", params={"n": 5})
                status, version = r.status_code, r.json().get("model_version")
            except httpx.HTTPError as exc:
                status, version = type(exc).__name__, None
            with lock:
                outcomes[status] += 1
                versions.append(version)


def _wait_for_requests(outcomes: Counter, lock: threading.Lock, more: int, timeout: float = 120.0) -> None:
    """Block until ``more`` further requests have been answered (however slow the machine), so that every
    phase of the test overlaps live traffic."""
    with lock:
        target = sum(outcomes.values()) + more
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with lock:
            if sum(outcomes.values()) >= target:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {more} requests answered in {timeout:.0f} s")


def test_reload_swaps_the_model_with_no_failed_request(tmp_path):
    folder = train_model(tmp_path / "model", seed=1)
    with running(folder, sqlite_url(tmp_path), tmp_path / "server.log") as srv:
        first = srv.client.get("/ready").json()["model_version"]
        stop, lock, outcomes, versions = threading.Event(), threading.Lock(), Counter(), []
        threads = [threading.Thread(target=_hammer, args=(srv.url, stop, outcomes, versions, lock)) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            seen_versions = [first]
            for seed in (2, 3):
                _wait_for_requests(outcomes, lock, 15)
                train_model(folder, seed=seed)  # the folder is replaced whole while the server reads the old model
                reloaded = srv.client.post("/admin/reload")
                assert reloaded.status_code == 200, reloaded.text
                assert reloaded.json()["previous_version"] == seen_versions[-1]
                seen_versions.append(reloaded.json()["model_version"])
                assert srv.client.get("/ready").json()["model_version"] == seen_versions[-1]
            _wait_for_requests(outcomes, lock, 15)
            (folder / "manifest.json").write_text("{ damaged")
            failed = srv.client.post("/admin/reload")
            assert failed.status_code == 409 and "Traceback" not in failed.text
            assert srv.client.get("/ready").json()["model_version"] == seen_versions[-1]
            _wait_for_requests(outcomes, lock, 15)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert len(set(seen_versions)) == 3
        assert set(outcomes) == {200}, outcomes  # not one failed request across the swaps
        assert sum(outcomes.values()) >= 60  # 15 answered before each reload, the damaged one, and after
        assert set(seen_versions) <= set(versions) and set(versions) <= set(seen_versions)
        metrics = srv.client.get("/metrics").text
        assert 'cofirec_model_reloads_total{outcome="ok"} 2.0' in metrics and 'cofirec_model_reloads_total{outcome="failed"} 1.0' in metrics
        assert f'version="{seen_versions[-1]}"' in metrics


def test_sighup_reloads_the_model_folder(tmp_path):
    import signal

    folder = train_model(tmp_path / "model", seed=1)
    with running(folder, sqlite_url(tmp_path), tmp_path / "server.log") as srv:
        first = srv.client.get("/ready").json()["model_version"]
        train_model(folder, seed=5)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while srv.client.get("/ready").json()["model_version"] == first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert srv.client.get("/ready").json()["model_version"] != first
        assert srv.client.get("/users/3/recommendations").status_code == 200
