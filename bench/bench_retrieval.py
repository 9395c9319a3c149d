"""Retrieval benchmark: ANN index (faiss) against exact top-10 on a synthetic 1M-item catalogue.

Usage::

    .venv/bin/python bench/bench_retrieval.py [--items 1000000] [--users 100000] [--dim 64] [--kinds ivf,hnsw]
        [--nprobe 16,32,64] [--ef-search 64,96,128] [--latency-threads 1] [--write-results]

A synthetic iALS model (``cofirec.retrieval.synthetic``: generated user and item vectors, 5 seen items per user)
stands for a trained one. For each index kind: build time, index size and process memory growth; for each search
setting: recall@10 of the two-stage ``model.recommend`` (ANN candidates re-ranked by the model, seen items
dropped) against the exact ``recommend`` on ``--recall-users`` users, single-user latency p50/p99 of
``model.recommend(user, 10)`` (exact vs ANN) and batch throughput (users/s, batches of 1000). Single-user calls run
with ``--latency-threads`` numba and faiss threads (default 1, as ``cofirec serve`` runs each request; 0: the
libraries' defaults), batches with the defaults.
Goals: recall@10 >= 0.95, ANN p99 <= 5 ms. The machine is shared: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from cofirec.retrieval import build_index  # noqa: E402
from cofirec.retrieval.synthetic import factor_model, generate_vectors  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def latencies_ms(model, users, n: int = 10, threads: int = 1) -> np.ndarray:
    """Single-user ``recommend`` times (ms), with ``threads`` numba and faiss threads (0: their defaults)."""
    import faiss
    import numba

    before = numba.get_num_threads(), faiss.omp_get_max_threads()
    if threads:
        numba.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)
    out = []
    try:
        for u in users:
            start = time.perf_counter()
            model.recommend(u, n)
            out.append((time.perf_counter() - start) * 1000)
    finally:
        numba.set_num_threads(before[0])
        faiss.omp_set_num_threads(before[1])
    return np.asarray(out)


def recall(exact, approx) -> float:
    return float(np.mean([len(set(e) & set(a)) / max(len(e), 1) for e, a in zip(exact, approx)]))


def throughput(model, users, batch: int = 1000) -> float:
    start = time.perf_counter()
    for b0 in range(0, len(users), batch):
        model.recommend(users[b0 : b0 + batch], 10)
    return len(users) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--kinds", default="ivf,hnsw")
    ap.add_argument("--nprobe", default="16,32,64")
    ap.add_argument("--nlist", type=int, default=None)
    ap.add_argument("--ef-search", default="64,96,128")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--latency-threads", type=int, default=1, help="numba/faiss threads of single-user calls (0: library defaults)")
    ap.add_argument("--recall-users", type=int, default=300)
    ap.add_argument("--latency-users", type=int, default=300)
    ap.add_argument("--batch-users", type=int, default=10_000)
    ap.add_argument("--hnsw-max-build-s", type=float, default=400.0, help="skip HNSW when the IVF numbers suggest a longer build")
    ap.add_argument("--write-results", action="store_true", help="print the markdown block for bench/RESULTS.md")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    load0 = os.getloadavg()
    rng = np.random.default_rng(0)
    print(f"generating {args.items:,} items x {args.dim} dims, {args.users:,} users ...", flush=True)
    model = factor_model(*generate_vectors(args.users, args.items, args.dim, seed=0), seen_per_user=5, seed=0)
    users = model.user_map_.ids
    sample = users[rng.choice(len(users), max(args.recall_users, args.latency_users), replace=False)]
    t = time.perf_counter()
    exact = model.recommend(sample[: args.recall_users], 10).items.tolist()
    exact_batch_s = time.perf_counter() - t
    exact_lat = latencies_ms(model, sample[: min(args.latency_users, 100)], threads=args.latency_threads)
    rows = [("exact", "-", "-", "-", 1.0, *np.percentile(exact_lat, [50, 99]), args.recall_users / exact_batch_s)]
    print(f"exact: p50 {rows[0][5]:.1f} ms p99 {rows[0][6]:.1f} ms, {rows[0][7]:.0f} users/s", flush=True)
    for kind in args.kinds.split(","):
        before = rss_mb()
        if kind == "hnsw" and time.perf_counter() - started > args.hnsw_max_build_s:
            print(f"hnsw skipped: {time.perf_counter() - started:.0f} s already spent (--hnsw-max-build-s)", flush=True)
            continue
        params = {"m": args.m, "ef_construction": args.ef_construction} if kind == "hnsw" else {"nlist": args.nlist}
        print(f"building {kind} {params} ...", flush=True)
        index = build_index(model, kind=kind, min_items=0, **params)
        build = f"{index.build_seconds:.0f} s, {index.memory_bytes() / 2**20:.0f} MB (+{rss_mb() - before:.0f} MB RSS)"
        print(f"{kind}: {index.params} built in {build}", flush=True)
        model.attach_index(index)
        for value in (args.ef_search if kind == "hnsw" else args.nprobe).split(","):
            index.set_search(**({"ef_search": int(value)} if kind == "hnsw" else {"nprobe": int(value)}))
            rec = recall(exact, model.recommend(sample[: args.recall_users], 10).items.tolist())
            lat = latencies_ms(model, sample[: args.latency_users], threads=args.latency_threads)
            tput = throughput(model, users[: args.batch_users])
            setting = f"ef_search={value}" if kind == "hnsw" else f"nprobe={value}/{index.params['nlist']}"
            rows.append((kind, setting, build, index.candidates * 10, rec, *np.percentile(lat, [50, 99]), tput))
            print(f"  {setting}: recall@10 {rec:.3f}, p50 {rows[-1][5]:.2f} ms, p99 {rows[-1][6]:.2f} ms, {tput:.0f} users/s", flush=True)
        model.attach_index(None)
        del index
    load1 = os.getloadavg()
    header = "| search | setting | build (time, index size, RSS growth) | candidates | recall@10 | p50 ms | p99 ms | batch users/s |"
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.3f} | {r[5]:.2f} | {r[6]:.2f} | {r[7]:.0f} |" for r in rows]
    print()
    print(
        f"{args.items:,} items x {args.dim} dims, {args.users:,} users; single-user calls on {args.latency_threads or 'default'} thread(s); load average {load0[0]:.1f} at start, {load1[0]:.1f} at end "
        f"({os.cpu_count()} cores); total {time.perf_counter() - started:.0f} s"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
