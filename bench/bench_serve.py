"""Serving load test: ``cofirec serve`` on 127.0.0.1 driven by a bounded async httpx client.

Usage::

    .venv/bin/python bench/bench_serve.py [--data ../shared/data/ml-1m-half] [--seconds 10] [--max-requests 3000]
        [--rates 300,30] [--ratings 1000] [--catalogue 1000000 [--catalogue-users 20000] [--index-kind hnsw]]

Trains an iALS model on ``ml-1m-half`` (cached under ``bench/results/tmp/``; ``--retrain`` to redo), starts
``cofirec serve`` on a free port of 127.0.0.1 with a fresh SQLite feedback database, then measures, for
``GET /users/{id}/recommendations`` (known users) and ``POST /recommendations`` (a new visitor with 5 rated items):

- closed loop: 16 and 64 clients, each sending its next request when the previous one answered (max throughput);
- open loop: requests started at fixed offered rates (``--rates``, default 300/s and 30/s), latency counted from each
  request's *scheduled* start (no coordinated omission), at most ``--max-inflight`` in flight; requests still
  unanswered ``--seconds`` after the last scheduled start are cancelled and counted as such (a server that cannot keep up).

Every phase is bounded by ``--max-requests`` and ``--seconds``. Then ``--ratings`` single ratings are posted from
16 concurrent clients and the feedback table's rows counted: the goal is 0 errors and 0 lost writes. Traffic goes
to 127.0.0.1 only. Client and server share this machine's cores (the load average is printed with the table).
Goals (offered 300 req/s): p99 <= 20 ms known user, <= 40 ms new visitor.

``--catalogue N`` serves a synthetic factor model instead (``cofirec.retrieval.synthetic``: N items x 64 dims,
``--catalogue-users`` users with 5 seen items each) with an ANN index saved in its artifact (``--index-kind``, default
HNSW; built once and cached under ``bench/results/tmp/``), so known users and new visitors (fold-in, then ANN search
of the folded-in vector, re-scored exactly) both go through the index.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
HOST = "127.0.0.1"


@dataclass
class Phase:
    name: str
    mode: str
    latencies: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    cancelled: int = 0
    seconds: float = 0.0
    server_cpu_s: float = float("nan")

    def row(self) -> str:
        lat = np.asarray(self.latencies) * 1000
        p50, p99 = np.percentile(lat, [50, 99]) if len(lat) else (float("nan"), float("nan"))
        rps = len(lat) / self.seconds if self.seconds else 0.0
        errors = ", ".join(f"{n} {kind}" for kind, n in self.failures.most_common()) or "0"
        total = len(lat) + sum(self.failures.values()) + self.cancelled
        cpu_ms = 1000 * self.server_cpu_s / len(lat) if len(lat) else float("nan")
        return f"| {self.name} | {self.mode} | {total} | {len(lat)} | {errors} | {self.cancelled} | {p50:.1f} | {p99:.1f} | {rps:.0f} | {cpu_ms:.2f} |"


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc), to tell server cost from client cost."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- model and server
def trained_model(data: Path, out: Path, retrain: bool) -> Path:
    """An iALS model trained on ``data`` (implicit: every rating a positive), saved to ``out`` once."""
    from cofirec.models.artifact import MANIFEST

    if (out / MANIFEST).exists() and not retrain:
        return out
    from cofirec.data.resolve import load_dataset
    from cofirec.models.ials import ImplicitALS

    print(f"training ials on {data} ...", flush=True)
    interactions = load_dataset(str(data)).as_implicit()
    ImplicitALS(factors=64, epochs=10).fit(interactions).save(out)
    return out


def synthetic_model(n_items: int, n_users: int, kind: str, out: Path, rebuild: bool) -> Path:
    """A synthetic iALS model over ``n_items`` items with an ANN index in its artifact, saved to ``out`` once."""
    from cofirec.models.artifact import MANIFEST

    if (out / MANIFEST).exists() and not rebuild:
        return out
    from cofirec.retrieval import build_index, save_index
    from cofirec.retrieval.synthetic import factor_model, generate_vectors

    print(f"building a synthetic model: {n_items:,} items x 64 dims, {n_users:,} users, {kind} index ...", flush=True)
    model = factor_model(*generate_vectors(n_users, n_items, 64, seed=0), seen_per_user=5, seed=0)
    index = build_index(model, kind=kind, min_items=min(100_000, n_items))
    print(f"index {index.params} built in {index.build_seconds:.0f} s ({index.memory_bytes() / 2**20:.0f} MB)", flush=True)
    model.save(out)
    save_index(index, out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(model_dir: Path, db_url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-c", "from cofirec.cli.main import main; main()", "serve", str(model_dir), "--host", HOST, "--port", str(port), "--db", db_url]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


async def wait_ready(client, proc: subprocess.Popen, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            r = await client.get("/ready")
            if r.status_code == 200:
                return r.json()
        except Exception:  # not listening yet
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("server not ready in time")


# ---------------------------------------------------------------------- requests
class Traffic:
    """Request makers: a random known user's list, or a new visitor's 5-item history."""

    def __init__(self, model_dir: Path, seed: int = 0, synthetic: tuple[int, int] | None = None) -> None:
        self.rng = random.Random(seed)
        if synthetic is not None:  # (items, users) of bench's synthetic model: ids known without loading it
            n_items, n_users = synthetic
            self.users = [f"u{u}" for u in range(n_users)]
            self.items = self.rng.sample(range(n_items), 500)
            return
        from cofirec.models.artifact import load_model

        model = load_model(model_dir)
        self.users = [str(u) for u in model.user_map_.ids.tolist()]
        popular = np.argsort(-np.asarray(model.item_popularity_))[:500]
        self.items = [int(i) if isinstance(i, (int, np.integer)) else str(i) for i in model.item_map_.to_list(popular)]

    def known(self, client):
        return client.get(f"/users/{self.rng.choice(self.users)}/recommendations", params={"n": 10})

    def visitor(self, client):
        history = [{"item": i, "rating": 1.0} for i in self.rng.sample(self.items, 5)]
        return client.post("/recommendations", json={"history": history, "n": 10})


async def timed(phase: Phase, make, client, start: float | None = None) -> None:
    start = time.perf_counter() if start is None else start
    try:
        r = await make(client)
        failure = None if r.status_code == 200 else f"HTTP {r.status_code}"
    except Exception as exc:  # connection-level: named by type
        failure = type(exc).__name__
    if failure is None:
        phase.latencies.append(time.perf_counter() - start)
    else:
        phase.failures[failure] += 1


async def closed_loop(client, phase: Phase, make, clients: int, max_requests: int, seconds: float) -> Phase:
    budget = iter(range(max_requests))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline and next(budget, None) is not None:
            await timed(phase, make, client)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds = time.perf_counter() - t0
    return phase


async def open_loop(client, phase: Phase, make, rate: float, max_requests: int, seconds: float, max_inflight: int) -> Phase:
    total = int(min(max_requests, rate * seconds))
    slots = asyncio.Semaphore(max_inflight)
    tasks = []
    t0 = time.perf_counter()

    async def one(scheduled: float) -> None:
        async with slots:
            await timed(phase, make, client, start=scheduled)

    for k in range(total):
        scheduled = t0 + k / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    _, late = await asyncio.wait(tasks, timeout=seconds)  # bounded: what is still pending then counts as an error
    for task in late:
        task.cancel()
    phase.cancelled += len(late)
    phase.seconds = time.perf_counter() - t0
    return phase


async def post_ratings(client, traffic: Traffic, n: int, clients: int) -> tuple[int, int]:
    """``n`` single ratings of distinct (new user, item) pairs from ``clients`` workers: (stored ok, errors)."""
    jobs = iter(range(n))
    ok, failures = 0, Counter()

    async def worker() -> None:
        nonlocal ok
        for k in jobs:
            body = {"ratings": [{"item": traffic.items[k % len(traffic.items)], "rating": 1.0}]}
            try:
                r = await client.post(f"/users/bench-writer-{k}/ratings", json=body)
                good = r.status_code == 200 and r.json().get("stored") == 1
                failures.update([] if good else [f"HTTP {r.status_code}"])
            except Exception as exc:
                good = False
                failures.update([type(exc).__name__])
            ok += good

    await asyncio.gather(*(worker() for _ in range(clients)))
    return ok, failures


def count_rows(db_url: str) -> int:
    from cofirec.serve.store import FeedbackStore

    store = FeedbackStore(db_url)
    try:
        return store.count_ratings()
    finally:
        store.close()


# ---------------------------------------------------------------------- main
async def run(args: argparse.Namespace, model_dir: Path, db_url: str) -> list[str]:
    import httpx

    traffic = Traffic(model_dir, synthetic=(args.catalogue, args.catalogue_users) if args.catalogue else None)
    port = free_port()
    proc = start_server(model_dir, db_url, port)
    limits = httpx.Limits(max_connections=max(64, args.max_inflight), max_keepalive_connections=max(64, args.max_inflight))
    rows = []
    try:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits, timeout=30.0) as client:
            ready = await wait_ready(client, proc)
            print(f"server ready on {HOST}:{port}: {ready}", flush=True)
            for make in (traffic.known, traffic.visitor):
                await closed_loop(client, Phase("warm-up", ""), make, 4, 100, 5)
            for name, make in (("GET /users/{id}/recommendations", traffic.known), ("POST /recommendations (new visitor)", traffic.visitor)):
                for clients in (16, 64):
                    cpu0 = process_cpu_seconds(proc.pid)
                    phase = await closed_loop(client, Phase(name, f"closed, {clients} clients"), make, clients, args.max_requests, args.seconds)
                    phase.server_cpu_s = process_cpu_seconds(proc.pid) - cpu0
                    rows.append(phase.row())
                    print(rows[-1], flush=True)
                for rate in (float(r) for r in args.rates.split(",")):
                    cpu0 = process_cpu_seconds(proc.pid)
                    phase = await open_loop(
                        client, Phase(name, f"open, {rate:g} req/s offered"), make, rate, args.max_requests, args.seconds, args.max_inflight
                    )
                    phase.server_cpu_s = process_cpu_seconds(proc.pid) - cpu0
                    rows.append(phase.row())
                    print(rows[-1], flush=True)
            before = count_rows(db_url)
            t0 = time.perf_counter()
            ok, write_failures = await post_ratings(client, traffic, args.ratings, 16)
            write_s = time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    rows_added = count_rows(db_url) - before
    lost = ok - rows_added
    errors = ", ".join(f"{n} {kind}" for kind, n in write_failures.most_common()) or "0"
    rows.append(f"| POST /users/{{id}}/ratings | closed, 16 clients | {args.ratings} | {ok} | {errors} | 0 | - | - | {args.ratings / write_s:.0f} | - |")
    rows.append(f"\nwrites: {args.ratings} posted, {ok} acknowledged, errors: {errors}, {rows_added} rows added to the feedback table, {lost} lost writes")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "ml-1m-half")
    ap.add_argument("--model-dir", type=Path, default=REPO / "bench" / "results" / "tmp" / "serve-ials-ml-1m-half")
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--seconds", type=float, default=10.0, help="time bound of each phase")
    ap.add_argument("--max-requests", type=int, default=3000, help="request bound of each phase")
    ap.add_argument("--rates", default="300,30", help="offered rates of the open-loop phases (req/s, comma-separated)")
    ap.add_argument("--max-inflight", type=int, default=256, help="open loop: most requests in flight")
    ap.add_argument("--ratings", type=int, default=1000, help="ratings posted in the write phase")
    ap.add_argument("--catalogue", type=int, default=0, help="serve a synthetic model of this many items through an ANN index (0: ials on --data)")
    ap.add_argument("--catalogue-users", type=int, default=20_000, help="users of the synthetic model")
    ap.add_argument("--index-kind", default="hnsw", help="ANN index of the synthetic model: hnsw | ivf")
    args = ap.parse_args(argv)
    if args.catalogue:
        folder = REPO / "bench" / "results" / "tmp" / f"serve-synthetic-{args.catalogue}-{args.catalogue_users}-{args.index_kind}"
        model_dir = synthetic_model(args.catalogue, args.catalogue_users, args.index_kind, folder, args.retrain)
        label = f"synthetic ials, {args.catalogue:,} items x 64 dims, {args.catalogue_users:,} users, {args.index_kind} index"
    else:
        model_dir = trained_model(args.data.resolve(), args.model_dir, args.retrain)
        label = f"ials on {args.data.name}"
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cofirec-bench-serve-") as tmp:
        rows = asyncio.run(run(args, model_dir, f"sqlite:///{tmp}/feedback.sqlite"))
    load1 = os.getloadavg()
    print()
    print(
        f"{label}, 1 server process, SQLite feedback database; load average {load0[0]:.1f} at start, {load1[0]:.1f} at end "
        f"({os.cpu_count()} cores); total {time.perf_counter() - t0:.0f} s"
    )
    print("| endpoint | load | requests | ok | errors | cancelled at the time bound | p50 ms | p99 ms | ok req/s | server CPU ms/req |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
