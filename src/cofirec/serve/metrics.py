"""Request metrics: Prometheus counters and histograms (``GET /metrics``) and recent latency windows (``/status``).

Each app has its own registry, so several apps in one process (tests) never share counts.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
WINDOW = 2000
"""Requests per route kept for /status percentiles and rates."""


class Metrics:
    """Counters, latency histograms and model gauges of one app."""

    def __init__(self, online: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cofirec_requests_total", "HTTP requests by route, method and status code", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram("cofirec_request_seconds", "Request latency by route", ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.model_info = Gauge("cofirec_model_info", "The model being served (value 1)", ["version", "model"], registry=self.registry)
        self.reloads = Counter("cofirec_model_reloads_total", "Model reloads by outcome", ["outcome"], registry=self.registry)
        self.registry.register(_OnlineCollector(online))
        self._recent: dict[str, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)
        with self._lock:
            self._recent.setdefault(f"{method} {route}", deque(maxlen=WINDOW)).append((time.time(), seconds))

    def set_model(self, version: str, model: str) -> None:
        self.model_info.clear()
        self.model_info.labels(version=version, model=model).set(1)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def route_summary(self) -> list[dict[str, Any]]:
        """Per route: requests in the window, requests/s over the last minute, p50/p99 latency (ms)."""
        now = time.time()
        with self._lock:
            recent = {k: list(v) for k, v in self._recent.items()}
        out = []
        for route, rows in sorted(recent.items()):
            stamps = np.array([r[0] for r in rows])
            ms = np.array([r[1] for r in rows]) * 1000
            out.append(
                {
                    "route": route,
                    "requests": len(rows),
                    "per_second": float((stamps >= now - 60).sum() / 60.0),
                    "p50_ms": float(np.percentile(ms, 50)),
                    "p99_ms": float(np.percentile(ms, 99)),
                }
            )
        return out


class _OnlineCollector:
    """Gauges read at scrape time: catalogue and user counts, stored feedback, online hit rate per model version."""

    def __init__(self, online: Callable[[], dict[str, Any]]) -> None:
        self.online = online

    def describe(self) -> list:
        return []

    def collect(self):  # noqa: ANN201
        try:
            info = self.online()
        except Exception:  # a scrape must not fail because the model or database is not there yet
            return
        for key, help_text in (
            ("items", "Items in the served model's catalogue"),
            ("users", "Users the served model was trained on"),
            ("feedback_ratings", "Ratings stored in the feedback database"),
            ("feedback_users", "Users with stored feedback"),
        ):
            if info.get(key) is not None:
                yield GaugeMetricFamily(f"cofirec_{key}", help_text, value=info[key])
        lists = GaugeMetricFamily("cofirec_online_served_lists", "Served lists counted for the online hit rate (last N per model version)", labels=["version"])
        hits = GaugeMetricFamily("cofirec_online_hits", "Of those, lists with later feedback on a served item", labels=["version"])
        rate = GaugeMetricFamily("cofirec_online_hit_rate", "Online hit rate of the last N served lists", labels=["version"])
        for row in info.get("online", []):
            lists.add_metric([row["model_version"]], row["lists"])
            hits.add_metric([row["model_version"]], row["hits"])
            rate.add_metric([row["model_version"]], row["hit_rate"])
        yield lists
        yield hits
        yield rate
