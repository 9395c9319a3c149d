"""Scaling benchmark on one machine: cofirec against implicit on seeded power-law logs of growing size.

One command (from the repository root)::

    PYTHONPATH=src .venv/bin/python bench/bench_scale.py [--sizes 1M 5M 20M] [--threads N]
        [--models ials bpr item-knn ease] [--topk-users 250000] [--out bench/results/scale] [--spark]

For each size it draws a log with :func:`cofirec.data.make_power_law` (implicit feedback, seed 0; users =
size / 23 and items = size / 115 as in issue 15's 4.6M-interaction log of 200K users and 40K items, or
explicit as ``4.6M:200000x40000``), writes it once (``.npz`` of the pairs; ``--parquet`` also as Parquet),
and measures each model in its own subprocess: fit seconds, all-users top-10 seconds (seen items excluded;
the first ``--topk-users`` users when there are more) and memory. cofirec's ``ials``, ``bpr``, ``item-knn``
and ``ease`` (only when its dense n_items^2 matrices fit ``--ease-max-gib``) run here; implicit's ALS, BPR and
CosineRecommender run in ``bench/.venv-peers`` (created from ``bench/peers_requirements.txt`` as by
``bench_classic.py``; that mode imports only numpy/scipy/implicit, never cofirec) at the same factors,
iterations, CG steps, regularisation, confidence and threads.

Memory, read from ``/proc/self/status`` in the worker: the peak is reset (``clear_refs``) after the data is
loaded; ``fit extra`` is the fit's peak RSS above the RSS before it, ``budget`` is 2x the CSR interaction
matrix (values + indices) plus the fitted model's own arrays (for cofirec every array attribute, the seen-items
matrix it keeps for ``exclude_seen`` included; issue 15's goal: extra <= budget), ``peak`` the
process's total peak RSS (interpreter, libraries, data and model included).

Prints a markdown table (and the cofirec / implicit ratios), writes ``scale.json`` and ``scale.png`` (time
and memory against size) under ``--out``. Numbers are wall seconds of one run: on a shared machine, say so.

Spark hook (issue 13): with ``--spark``, when ``bench/scale_spark.py`` exists, its
``run_spark_section(logs, out_dir, args) -> str`` is called after the single-machine runs with one dict per
size (``size``, ``n_users``, ``n_items``, ``n_interactions``, ``parquet``: path of the log as Parquet) and
its markdown is printed after the tables; its ``add_arguments(parser)``, when defined, adds its flags.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
USERS_PER_INTERACTION = 200_000 / 4_600_000
ITEMS_PER_INTERACTION = 40_000 / 4_600_000
ALS = {"factors": 32, "iterations": 15, "cg_steps": 3, "reg": 0.1, "alpha": 3.0}
BPR = {"factors": 32, "iterations": 20, "lr": 0.05, "reg": 0.01}
KNN = {"k": 100}
EASE_REG = 500.0
PAIRS = {"ials": "ALS", "bpr": "BPR", "item-knn": "CosineRecommender"}
"""cofirec model -> the implicit model it is compared with."""


# ---------------------------------------------------------------------- memory (worker side)
def _status_kib(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def reset_peak() -> int:
    """Reset the process's peak RSS (Linux ``clear_refs``) after a collection; returns the RSS now (KiB)."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # the peak then includes what came before (reported as such)
    return _status_kib("VmRSS")


def array_bytes(*objects: Any) -> int:
    """Bytes of numpy arrays and scipy sparse matrices among ``objects``."""
    total = 0
    for obj in objects:
        if isinstance(obj, np.ndarray):
            total += obj.nbytes
        elif hasattr(obj, "indptr") and hasattr(obj, "data"):
            total += obj.data.nbytes + obj.indices.nbytes + obj.indptr.nbytes
    return total


_PEAK_KIB = [0]
"""The process's peak RSS over every :func:`timed` call (each call resets the kernel's counter first)."""


def timed(fn) -> tuple[float, Any, int]:
    """(wall seconds, result, peak RSS during ``fn`` above the RSS at its start, in KiB)."""
    base = reset_peak()
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    peak = _status_kib("VmHWM")
    _PEAK_KIB[0] = max(_PEAK_KIB[0], peak)
    return secs, out, max(peak - base, 0)


def load_pairs(path: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    with np.load(path) as f:
        return f["users"], f["items"], int(f["n_users"]), int(f["n_items"])


def csr_of(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int):
    import scipy.sparse as sp

    m = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=(n_users, n_items))
    m.sort_indices()
    return m


# ---------------------------------------------------------------------- workers (one measurement per process)
def cofirec_worker(spec: dict) -> dict:
    from cofirec.data import make_power_law
    from cofirec.data.dataset import Interactions
    from cofirec.data.idmap import IdMap
    from cofirec.models.registry import get_model_class

    cls = get_model_class(spec["model"])
    params = spec["params"]
    cls(**params).fit(make_power_law(300, 200, 4_000, seed=1)).recommend(np.arange(50), 10)  # numba compile / cache load
    users, items, n_users, n_items = load_pairs(spec["data"])
    data = Interactions(
        users=users,
        items=items,
        ratings=np.ones(len(users), dtype=np.float32),
        user_map=IdMap(np.arange(n_users, dtype=np.int64)),
        item_map=IdMap(np.arange(n_items, dtype=np.int64)),
        kind="implicit",
    )
    model = cls(**params)
    fit_s, _, fit_kib = timed(lambda: model.fit(data))
    model_arrays = array_bytes(*[v for k, v in vars(model).items() if k.endswith("_")])  # seen_ (kept for exclude_seen) included
    ranked = np.arange(min(spec["topk_users"], n_users))
    topk_s, recs, topk_kib = timed(lambda: model.recommend(ranked, 10))
    assert len(recs.items) == len(ranked)
    return {"fit_s": fit_s, "topk_s": topk_s, "fit_extra_kib": fit_kib, "topk_extra_kib": topk_kib, "model_bytes": model_arrays}


def implicit_worker(spec: dict) -> dict:
    from threadpoolctl import threadpool_limits

    users, items, n_users, n_items = load_pairs(spec["data"])
    ui = csr_of(users, items, n_users, n_items)
    del users, items
    model = _implicit_model(spec["model"], spec["params"], spec["threads"])
    with threadpool_limits(1, "blas"):  # implicit asks for single-threaded BLAS (its own threads do the work)
        fit_s, _, fit_kib = timed(lambda: model.fit(ui, show_progress=False))
        ranked = np.arange(min(spec["topk_users"], n_users))
        topk_s, (ids, _), topk_kib = timed(lambda: model.recommend(ranked, ui[ranked], N=10, filter_already_liked_items=True))
    assert ids.shape == (len(ranked), 10)
    arrays = [getattr(model, a, None) for a in ("user_factors", "item_factors", "similarity")]
    return {"fit_s": fit_s, "topk_s": topk_s, "fit_extra_kib": fit_kib, "topk_extra_kib": topk_kib, "model_bytes": array_bytes(*arrays)}


def _implicit_model(name: str, p: dict, threads: int):
    if name == "ALS":
        from implicit.cpu.als import AlternatingLeastSquares

        # implicit's confidence is alpha * r, cofirec's 1 + alpha * r: equal for binary data with alpha + 1
        model = AlternatingLeastSquares(
            factors=p["factors"], regularization=p["reg"], alpha=1.0 + p["alpha"], iterations=p["iterations"], num_threads=threads, random_state=0
        )
        model.cg_steps = p["cg_steps"]
        return model
    if name == "BPR":
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=p["factors"], learning_rate=p["lr"], regularization=p["reg"], iterations=p["iterations"], num_threads=threads, random_state=0
        )
    from implicit.nearest_neighbours import CosineRecommender

    return CosineRecommender(K=p["k"], num_threads=threads)


def worker_main(spec_json: str) -> int:
    spec = json.loads(spec_json)
    out = cofirec_worker(spec) if spec["lib"] == "cofirec" else implicit_worker(spec)
    out["peak_kib"] = max(_PEAK_KIB[0], _status_kib("VmHWM"))
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# ---------------------------------------------------------------------- driver
def parse_size(text: str) -> dict:
    """``5M``, ``500K``, ``1200000`` or ``4.6M:200000x40000`` -> the log's shape."""
    m = re.fullmatch(r"([0-9.]+)([kKmM]?)(?::(\d+)x(\d+))?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected e.g. 5M, 500K or 4.6M:200000x40000")
    n = int(round(float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()]))
    users = int(m.group(3)) if m.group(3) else max(1, round(n * USERS_PER_INTERACTION))
    items = int(m.group(4)) if m.group(4) else max(1, round(n * ITEMS_PER_INTERACTION))
    return {"label": text, "n_interactions": n, "n_users": users, "n_items": items}


def write_log(size: dict, folder: Path, parquet: bool) -> dict:
    """Draw the log of ``size``, save it as ``.npz`` (and Parquet); returns ``size`` with paths and timings."""
    from cofirec.data import make_power_law, write_power_law_parquet

    t0 = time.perf_counter()
    data = make_power_law(size["n_users"], size["n_items"], size["n_interactions"], seed=0)
    out = {**size, "generate_s": time.perf_counter() - t0, "matrix_bytes": 8 * len(data) + 4 * (size["n_users"] + 1)}
    out["data"] = str(folder / f"log_{size['n_interactions']}.npz")
    np.savez(out["data"], users=data.users, items=data.items, n_users=data.n_users, n_items=data.n_items)
    if parquet:
        out["parquet"] = str(write_power_law_parquet(data, folder / f"log_{size['n_interactions']}.parquet"))
    return out


def jobs_for(log: dict, models: list[str], args: argparse.Namespace) -> list[tuple[str, str, dict]]:
    """(library, model, params) of every measurement on ``log``; EASE only when its matrices fit."""
    als = {"factors": ALS["factors"], "epochs": ALS["iterations"], "cg_steps": ALS["cg_steps"], "reg": ALS["reg"], "alpha": ALS["alpha"], "reg_exponent": 0.0}
    bpr = {"factors": BPR["factors"], "epochs": BPR["iterations"], "lr": BPR["lr"], "reg": BPR["reg"]}
    ours = {
        "ials": als,
        "bpr": bpr,
        "item-knn": {"k": KNN["k"], "similarity": "cosine", "shrinkage": 0.0, "weighting": "none"},
        "ease": {"reg": EASE_REG, "max_items": log["n_items"]},
    }
    theirs = {"ials": ("ALS", ALS), "bpr": ("BPR", BPR), "item-knn": ("CosineRecommender", KNN)}
    jobs = []
    for name in models:
        if name == "ease" and ease_gib(log["n_items"]) > args.ease_max_gib:
            continue
        jobs.append(("cofirec", name, ours[name]))
        if name in theirs and not args.no_peers:
            jobs.append(("implicit", *theirs[name]))
    return jobs


def ease_gib(n_items: int) -> float:
    """EASE's working set: one dense float64 n_items x n_items matrix during the fit (the float32 weights
    take its first half), with a margin for scoring."""
    return 1.5 * 8 * n_items**2 / 2**30


def run_job(lib: str, model: str, params: dict, log: dict, args: argparse.Namespace, peers_python: Path | None) -> dict:
    spec = {"lib": lib, "model": model, "params": params, "data": log["data"], "threads": args.threads, "topk_users": args.topk_users}
    env = dict(os.environ)
    threads = str(args.threads)
    if lib == "cofirec":
        python = sys.executable
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
        env.update(NUMBA_NUM_THREADS=threads, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    else:
        assert peers_python is not None
        python = str(peers_python)
        env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["OPENBLAS_NUM_THREADS"] = "1"
    row = {"size": log["label"], "n_interactions": log["n_interactions"], "n_users": log["n_users"], "n_items": log["n_items"], "library": lib, "model": model}
    row["ranked_users"] = min(args.topk_users, log["n_users"])
    try:
        proc = subprocess.run([python, __file__, "--worker", json.dumps(spec)], env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {**row, "error": f"timed out after {args.timeout} s"}
    result = next((line[7:] for line in proc.stdout.splitlines() if line.startswith("RESULT ")), None)
    if proc.returncode != 0 or result is None:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {**row, "error": f"exit {proc.returncode}: {tail}"}
    out = json.loads(result)
    budget = 2 * log["matrix_bytes"] + out["model_bytes"]
    return {**row, **out, "matrix_bytes": log["matrix_bytes"], "budget_bytes": budget, "fit_extra_over_budget": out["fit_extra_kib"] * 1024 / budget}


def ensure_peers() -> Path:
    sys.path.insert(0, str(BENCH))
    from bench_classic import ensure_peers_venv

    return ensure_peers_venv()


# ---------------------------------------------------------------------- reporting
def _gib(kib_or_bytes: float, *, kib: bool = True) -> str:
    return f"{kib_or_bytes * (1024 if kib else 1) / 2**30:.2f}"


def markdown(rows: list[dict]) -> str:
    head = [
        "| log | users x items | library | model | fit s | top-10 s (users) | fit extra GiB | budget GiB | extra / budget | peak GiB |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines = []
    for r in rows:
        shape = f"{r['n_users']:,} x {r['n_items']:,}"
        if "error" in r:
            lines.append(f"| {r['size']} | {shape} | {r['library']} | {r['model']} | {r['error']} | | | | | |")
            continue
        lines.append(
            f"| {r['size']} | {shape} | {r['library']} | {r['model']} | {r['fit_s']:.1f} | {r['topk_s']:.1f} ({r['ranked_users']:,}) "
            f"| {_gib(r['fit_extra_kib'])} | {_gib(r['budget_bytes'], kib=False)} | {r['fit_extra_over_budget']:.2f} | {_gib(r['peak_kib'])} |"
        )
    return "\n".join(head + lines)


def ratio_table(rows: list[dict]) -> str:
    """cofirec time / implicit time per size and model pair (< 1: cofirec faster)."""
    by = {(r["size"], r["model"]): r for r in rows if "error" not in r}
    lines = ["| log | cofirec vs implicit | fit ratio | top-10 ratio |", "|---|---|---:|---:|"]
    for (size, model), ours in by.items():
        peer = by.get((size, PAIRS.get(model, "")))
        if ours["library"] == "cofirec" and peer is not None:
            lines.append(f"| {size} | {model} / implicit {PAIRS[model]} | {ours['fit_s'] / peer['fit_s']:.2f} | {ours['topk_s'] / peer['topk_s']:.2f} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    series: dict[str, list[dict]] = {}
    for r in rows:
        if "error" not in r:
            series.setdefault(f"{r['library']} {r['model']}", []).append(r)
    for label, rs in series.items():
        rs = sorted(rs, key=lambda r: r["n_interactions"])
        x = [r["n_interactions"] for r in rs]
        style = "-o" if label.startswith("cofirec") else "--s"
        axes[0].plot(x, [r["fit_s"] for r in rs], style, label=label)
        axes[1].plot(x, [r["topk_s"] for r in rs], style, label=label)
        axes[2].plot(x, [r["peak_kib"] / 2**20 for r in rs], style, label=label)
    for ax, title in zip(axes, ("fit (s)", "all-users top-10 (s)", "peak RSS (GiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("interactions")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def spark_module():
    """``bench/scale_spark.py`` imported, or None when it does not exist."""
    if not (BENCH / "scale_spark.py").exists():
        return None
    sys.path.insert(0, str(BENCH))
    return importlib.import_module("scale_spark")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=parse_size, default=[parse_size(s) for s in ("1M", "5M", "20M")], help="e.g. 1M 5M 20M or 4.6M:200000x40000")
    ap.add_argument("--models", nargs="+", default=["ials", "bpr", "item-knn", "ease"], choices=["ials", "bpr", "item-knn", "ease"])
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both libraries (default: all cores)")
    ap.add_argument("--topk-users", type=int, default=250_000, help="rank at most this many users (the first ones) in the top-10 step")
    ap.add_argument("--ease-max-gib", type=float, default=4.0, help="skip EASE when its dense matrices need more")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per measurement")
    ap.add_argument("--no-peers", action="store_true", help="skip implicit")
    ap.add_argument("--parquet", action="store_true", help="also write each log as Parquet (implied by --spark)")
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "scale")
    ap.add_argument("--spark", action="store_true", help="add the Spark section of bench/scale_spark.py (issue 13)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    spark = spark_module()
    if spark is not None and hasattr(spark, "add_arguments"):
        spark.add_arguments(ap)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    if args.spark and spark is None:
        print("error: --spark needs bench/scale_spark.py (the Spark section of issue 13), which is not here", file=sys.stderr)
        return 2
    peers_python = None if args.no_peers else ensure_peers()
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    logs = []
    with tempfile.TemporaryDirectory(prefix="cofirec-scale-") as tmp:
        for size in args.sizes:
            log = write_log(size, Path(tmp), parquet=args.parquet or args.spark)
            logs.append(log)
            print(f"{size['label']}: {log['n_users']:,} users x {log['n_items']:,} items, generated in {log['generate_s']:.1f} s", file=sys.stderr)
            for lib, model, params in jobs_for(log, args.models, args):
                rows.append(run_job(lib, model, params, log, args, peers_python))
                r = rows[-1]
                print(
                    f"  {lib} {model}: "
                    + (r["error"] if "error" in r else f"fit {r['fit_s']:.1f} s, top-10 {r['topk_s']:.1f} s, peak {_gib(r['peak_kib'])} GiB"),
                    file=sys.stderr,
                    flush=True,
                )
        spark_md = spark.run_spark_section(logs, args.out, args) if args.spark and spark is not None else ""
    settings = {"als": ALS, "bpr": BPR, "knn": KNN, "ease_reg": EASE_REG, "threads": args.threads, "topk_users": args.topk_users}
    (args.out / "scale.json").write_text(json.dumps({"settings": settings, "logs": logs, "rows": rows}, indent=1))
    plot(rows, args.out / "scale.png")
    print(markdown(rows))
    print()
    print(ratio_table(rows))
    if spark_md:
        print()
        print(spark_md)
    print(f"\nwrote {args.out / 'scale.json'} and {args.out / 'scale.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
