"""The served-list log off the request path: a bounded queue written to the database in batches by one thread.

Logging every served list (online evaluation) as its own write transaction costs a request one commit (an SQLite
fsync, about 6 ms, serialised across the server's threads). :class:`ServedLog` instead takes the list with its
serving time into an in-process queue and returns at once; a background thread writes whatever is queued in one
transaction (:meth:`~cofirec.serve.store.FeedbackStore.log_served_many`), at most ``interval`` seconds after it was
queued (sooner when ``batch`` lists are waiting).

Guarantees:

- Clean shutdown (Ctrl-C / SIGTERM through uvicorn's lifespan, :meth:`close`): every queued list is written
  before the database is closed. A full queue (the database slower than the traffic for a while) makes the
  request write its own list synchronously, as before: nothing is dropped, the request is just slower.
- Readers of the hit rate call :meth:`flush` first, so ``/metrics`` and ``/status`` count every list served before
  the read (hits are counted at read time from the stored serving times, so a late write changes nothing).
- A crash (SIGKILL, power loss, a fatal error in the interpreter) loses the lists still in the queue: normally those
  served in the last ``interval`` seconds (default 0.2 s) plus the batch being written; when the database has
  fallen behind, up to ``capacity`` lists (beyond that requests write their own). Ratings are not affected: they
  are written synchronously before ``POST /users/{id}/ratings`` answers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

log = logging.getLogger("cofirec.serve")

DEFAULT_INTERVAL = 0.2
"""Seconds a queued list waits at most before its batch is written."""
DEFAULT_BATCH = 512
"""Lists written per transaction at most."""
DEFAULT_CAPACITY = 10_000
"""Lists the queue holds; beyond that a request writes its list itself."""

POLL = 0.01
"""Seconds between the thread's checks for a waiting flush while it collects a batch."""

ServedRow = tuple[str, list[str], str, float]
"""(user, items, model version, serving time)."""


class ServedLog:
    """Served lists queued by requests, written in batches by a background thread (module docstring)."""

    def __init__(self, store: Any, *, interval: float = DEFAULT_INTERVAL, batch: int = DEFAULT_BATCH, capacity: int = DEFAULT_CAPACITY) -> None:
        self.store = store
        self.interval = float(interval)
        self.batch = int(batch)
        self._queue: queue.Queue[ServedRow | None] = queue.Queue(maxsize=int(capacity))
        self._write_lock = threading.Lock()  # one writer at a time: the thread, a flush, or a request's own write
        self._progress = threading.Condition()
        self._taken = 0  # lists the thread took from the queue ...
        self._done = 0  # ... and of those, how many it wrote (or failed to write), in the order taken
        self._waiters = 0  # flushes waiting: the thread then writes its batch without waiting for more
        self.written = 0
        self.sync_writes = 0
        self.failed = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cofirec-served-log", daemon=True)
        self._thread.start()

    def log(self, user: str, items: list[str], model_version: str) -> None:
        """Queue one served list (stamped now); with the queue full, write it right here."""
        row = (user, items, model_version, time.time())
        if self._closed:
            self._write([row])
            return
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self.sync_writes += 1
            self._write([row])

    def flush(self, timeout: float = 30.0) -> None:
        """Write every list queued so far, including the batch the thread is collecting (the thread cuts it
        short): called by readers of the hit rate, and on close."""
        with self._progress:
            target = self._taken
            self._waiters += 1
        try:
            self._write(self._drain(None))
            with self._progress:
                self._progress.wait_for(lambda: self._done >= target, timeout=timeout)
        finally:
            with self._progress:
                self._waiters -= 1

    def close(self) -> None:
        """Stop the thread after it wrote everything queued; later lists are written synchronously."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)  # wakes the thread, which drains and exits
        self._thread.join(timeout=60)
        self.flush()  # anything queued after the sentinel

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    # ------------------------------------------------------------------ internals
    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            rows: list[ServedRow] = []
            if first is None:
                stop = True
            else:
                rows.append(first)
                self._took(1)
            deadline = time.monotonic() + self.interval
            while not stop and len(rows) < self.batch and not self._waiters:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    break
                try:
                    row = self._queue.get(timeout=min(wait, POLL))
                except queue.Empty:
                    continue
                if row is None:
                    stop = True
                else:
                    rows.append(row)
                    self._took(1)
            if stop:
                rest = self._drain(None)
                self._took(len(rest))
                rows += rest
            self._write(rows)
            with self._progress:
                self._done += len(rows)
                self._progress.notify_all()

    def _took(self, k: int) -> None:
        with self._progress:
            self._taken += k

    def _drain(self, limit: int | None) -> list[ServedRow]:
        rows: list[ServedRow] = []
        while limit is None or len(rows) < limit:
            try:
                row = self._queue.get_nowait()
            except queue.Empty:
                break
            if row is None:  # the close sentinel, taken by a flush: put it back for the thread
                self._queue.put_nowait(None)
                break
            rows.append(row)
        return rows

    def _write(self, rows: list[ServedRow]) -> None:
        if not rows:
            return
        with self._write_lock:
            try:
                self.store.log_served_many(rows)
                self.written += len(rows)
            except Exception:  # the database is down: say so and keep serving (the lists are lost)
                self.failed += len(rows)
                log.exception("could not log %d served lists", len(rows))
