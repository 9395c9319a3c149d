"""Scaling study, Spark part: cofirec's single-machine ``ials``/``als`` versus the Spark engine (``local[2]``).

For each size, a seeded power-law log (:func:`cofirec.data.make_power_law`, explicit 1-5 ratings) is written as
Parquet once (cached under ``bench/results/tmp/scale``). Each (engine, model, size) then runs in its own
subprocess: read the Parquet file and fit at the same factors and iterations, with the model configured as Spark
fits it (:func:`cofirec.engines.spark.spark_model`: ``als`` without biases and with count-weighted
regularisation, ``ials`` with exact solves), so both engines solve the same problem. The parent measures the
wall time and the peak resident memory of the whole process tree (the Python worker plus Spark's JVM), sampling
``/proc`` every 0.1 s. Writes ``bench/results/scale_spark.json`` and ``scale_spark.png`` (time and memory
against size) and prints a Markdown table with a linear fit of memory against size (where one machine stops
fitting in 24 GiB).

    python bench/scale_spark.py                       # 1M, 10M, 50M
    python bench/scale_spark.py --sizes 1e6,1e7 --factors 32 --iterations 5 --driver-memory 4g
    python bench/bench_scale.py --spark --sizes 1M 5M # the same section after bench_scale's single-machine runs
                                                      # (its implicit logs; flags --spark-factors, --spark-models, ...)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "results" / "tmp" / "scale"
OUT_JSON = HERE / "results" / "scale_spark.json"
OUT_PNG = HERE / "results" / "scale_spark.png"
RUNS = (("local", "ials"), ("local", "als"), ("spark", "ials"), ("spark", "als"))
LIMIT_GIB = 24.0


def shape_for(n: int) -> tuple[int, int]:
    """(users, items) of an ``n``-interaction log: 40 interactions per user, 200 per item on average."""
    return max(1000, n // 40), max(500, n // 200)


def parquet_for(n: int, seed: int = 0) -> Path:
    """The cached Parquet log of ``n`` interactions (written on first use)."""
    from cofirec.data.power_law import make_power_law, write_power_law_parquet

    n_users, n_items = shape_for(n)
    path = DATA_DIR / f"power_law_{n}_{n_users}x{n_items}_s{seed}.parquet"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        data = make_power_law(n_users, n_items, n, seed=seed, implicit=False)
        write_power_law_parquet(data, path)
        print(f"wrote {path.name} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
    return path


# ---------------------------------------------------------------------- one measured run (child process)
def run_one(engine: str, model_name: str, path: Path, factors: int, iterations: int, master: str, driver_memory: str) -> dict:
    """Read ``path`` and fit ``model_name`` on ``engine``; returns the phases' seconds (runs in the child)."""
    from cofirec.engines.spark import spark_model

    params = {"factors": factors, "epochs": iterations, "reg": 0.05}
    start = time.perf_counter()
    if engine == "local":
        from cofirec.data.readers import read_ratings_file

        data = read_ratings_file(path)
        loaded = time.perf_counter()
        model = spark_model(model_name, params)  # the same configuration Spark fits
        model.fit(data)
        return {"load_s": loaded - start, "fit_s": time.perf_counter() - loaded, "n": len(data)}
    from cofirec.engines import spark_session, train_spark_als

    spark = spark_session(master, driver_memory=driver_memory)
    ready = time.perf_counter()
    model = train_spark_als(model_name, path, params, spark=spark)
    done = time.perf_counter()
    spark.stop()
    return {"load_s": ready - start, "fit_s": done - ready, "n": int(model.item_popularity_.sum())}


# ---------------------------------------------------------------------- measuring (parent process)
def _tree_sample(root: int) -> tuple[int, dict[int, float]]:
    """Resident bytes of ``root`` and all its descendants, and each one's CPU seconds so far (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as fh:
                rss[int(entry)] = int(fh.read().split()[1]) * page
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack, tree_cpu = 0, [root], {}
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        tree_cpu[pid] = cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total, tree_cpu


def measure(engine: str, model_name: str, path: Path, args: argparse.Namespace) -> dict:
    """Run one fit in a subprocess; wall seconds and peak process-tree RSS, plus the child's phase times."""
    cmd = [sys.executable, __file__, "--one", engine, model_name, str(path), "--factors", str(args.factors), "--iterations", str(args.iterations)]
    cmd += ["--master", args.master, "--driver-memory", args.driver_memory]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, cpu_seen, load_start = 0, {}, os.getloadavg()[0]
    while proc.poll() is None:
        rss, cpu = _tree_sample(proc.pid)
        peak = max(peak, rss)
        cpu_seen.update(cpu)  # last value seen per process (CPU seconds only grow)
        if time.perf_counter() - start > args.timeout:
            proc.kill()
            break
        time.sleep(0.1)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    result = {"engine": engine, "model": model_name, "wall_s": round(wall, 2), "peak_rss_gib": round(peak / 2**30, 3)}
    result |= {"cpu_s": round(sum(cpu_seen.values()), 1), "load_avg": round((load_start + os.getloadavg()[0]) / 2, 1)}
    if proc.returncode != 0:
        result["error"] = (err.strip().splitlines() or ["killed (timeout)"])[-1][:300]
        return result
    result.update(json.loads(out.strip().splitlines()[-1]))
    return result


def memory_fit(rows: list[dict], engine: str, model_name: str) -> tuple[float, float] | None:
    """(intercept GiB, GiB per million interactions) of peak memory, least squares over the measured sizes."""
    pts = [(r["size"], r["peak_rss_gib"]) for r in rows if r["engine"] == engine and r["model"] == model_name and "error" not in r]
    if len(pts) < 2:
        return None
    x, y = np.array([p[0] for p in pts], float) / 1e6, np.array([p[1] for p in pts], float)
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for engine, model_name in RUNS:
        pts = sorted((r["size"], r["wall_s"], r["peak_rss_gib"]) for r in rows if r["engine"] == engine and r["model"] == model_name and "error" not in r)
        if not pts:
            continue
        x = [p[0] for p in pts]
        style = "-o" if engine == "local" else "--s"
        label = f"{model_name} ({'one machine' if engine == 'local' else 'Spark local[2]'})"
        ax_t.plot(x, [p[1] for p in pts], style, label=label)
        ax_m.plot(x, [p[2] for p in pts], style, label=label)
    for ax, title in ((ax_t, "wall time (s): read + fit"), (ax_m, "peak RSS of process tree (GiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("interactions")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    ax_m.axhline(LIMIT_GIB, color="grey", lw=0.8)
    ax_m.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def table(rows: list[dict]) -> str:
    lines = ["| interactions | engine | model | wall s | read s | fit s | CPU s | peak RSS GiB | load avg |", "|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: (r["size"], r["engine"], r["model"])):
        if "error" in r:
            lines.append(f"| {r['size']:,} | {r['engine']} | {r['model']} | {r['wall_s']} | - | - | - | failed: {r['error']} | - |")
            continue
        cpu, load = r.get("cpu_s", "-"), r.get("load_avg", "-")
        row = f"| {r['size']:,} | {r['engine']} | {r['model']} | {r['wall_s']:.1f} | {r['load_s']:.1f} | {r['fit_s']:.1f} | {cpu} | {r['peak_rss_gib']:.2f} | {load} |"
        lines.append(row)
    for engine, model_name in RUNS:
        if engine == "spark":  # the JVM heap is capped (--driver-memory): Spark spills to disk instead of growing
            continue
        fit = memory_fit(rows, engine, model_name)
        if fit is not None:
            a, b = fit
            limit = (LIMIT_GIB - a) / b if b > 0 else float("inf")
            lines.append(f"\n{engine} {model_name}: peak GiB ~ {a:.2f} + {b:.3f} per M interactions -> {LIMIT_GIB:.0f} GiB at ~{limit:,.0f}M interactions")
    return "\n".join(lines)


# ---------------------------------------------------------------------- hook of bench/bench_scale.py --spark
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The Spark section's flags on ``bench_scale.py`` (prefixed, so they never clash with its own)."""
    parser.add_argument("--spark-factors", type=int, default=32)
    parser.add_argument("--spark-iterations", type=int, default=5)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--spark-driver-memory", default="4g")
    parser.add_argument("--spark-models", default="ials,als", help="comma-separated: ials, als")
    parser.add_argument("--spark-engines", default="local,spark", help="comma-separated: local (one machine), spark")


def run_spark_section(logs: list[dict], out_dir: Path, args: argparse.Namespace) -> str:
    """``bench_scale.py --spark``: measure every (engine, model) on each log's Parquet file; writes
    ``scale_spark.json`` and ``scale_spark.png`` under ``out_dir`` and returns the Markdown section."""
    own = argparse.Namespace(
        factors=args.spark_factors,
        iterations=args.spark_iterations,
        master=args.spark_master,
        driver_memory=args.spark_driver_memory,
        timeout=float(getattr(args, "timeout", 1800)),
    )
    engines, models = args.spark_engines.split(","), args.spark_models.split(",")
    rows = []
    for log in logs:
        for engine, model_name in RUNS:
            if engine in engines and model_name in models:
                result = {"size": int(log["n_interactions"]), "factors": own.factors, "iterations": own.iterations}
                rows.append(result | measure(engine, model_name, Path(log["parquet"]), own))
                print(f"  spark section {engine} {model_name}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    out_dir = Path(out_dir)
    (out_dir / "scale_spark.json").write_text(json.dumps({"settings": vars(own), "runs": rows}, indent=1))
    plot(rows, out_dir / "scale_spark.png")
    return "### Spark (local) vs one machine, same factors and iterations\n\n" + table(rows)


def parse_sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e6,1e7,5e7", help="interaction counts, comma-separated")
    ap.add_argument("--factors", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="4g", help="Spark driver (= executor in local mode) heap")
    ap.add_argument("--engines", default="local,spark")
    ap.add_argument("--models", default="ials,als")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run before it is killed")
    ap.add_argument("--out", type=Path, default=OUT_JSON)
    ap.add_argument("--one", nargs=3, metavar=("ENGINE", "MODEL", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        engine, model_name, path = args.one
        print(json.dumps(run_one(engine, model_name, Path(path), args.factors, args.iterations, args.master, args.driver_memory)))
        return 0
    engines, models = args.engines.split(","), args.models.split(",")
    rows: list[dict] = json.loads(args.out.read_text())["runs"] if args.out.exists() else []
    for size in parse_sizes(args.sizes):
        path = parquet_for(size)
        for engine, model_name in RUNS:
            if engine not in engines or model_name not in models:
                continue
            result = {"size": size, "factors": args.factors, "iterations": args.iterations, **measure(engine, model_name, path, args)}
            if engine == "spark":
                result["driver_memory"] = args.driver_memory  # runs may differ (the settings record the last one)
            rows = [r for r in rows if (r["size"], r["engine"], r["model"]) != (size, engine, model_name)] + [result]
            print(json.dumps(result), file=sys.stderr, flush=True)
            settings = {"factors": args.factors, "iterations": args.iterations, "master": args.master, "driver_memory": args.driver_memory}
            args.out.write_text(json.dumps({"settings": settings, "runs": rows}, indent=1))
    plot(rows, OUT_PNG)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
