"""Loading benchmark: time and peak memory to load MovieLens copies, a generated 10M-row CSV and a 5M-row CSV and Parquet file.

Usage::

    .venv/bin/python bench/bench_load.py [--data-dir ../shared/data] [--rows 10000000] [--mid-rows 5000000] [--repeat 3] [--write-results]

Each measurement runs in a fresh subprocess (imports done before the clock starts), so peak RSS
(``VmHWM`` from ``/proc/self/status``) belongs to that one load; "peak MB" is the whole process peak,
"+MB" the growth over the process after imports. Times are the best and the median of ``--repeat`` runs;
"CPU s" is the process CPU time of the load (all threads): about what one idle core would take, which
matters when the shared benchmark machine is busy.
Targets: ml-1m-half ratings.dat <= 1 s, 10M-row CSV <= 10 s, 5M-row CSV or Parquet <= 1.5 s (issue 15; the
Parquet file holds the same table as the CSV: int64 ids, float64 ratings, int64 timestamps).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / ".." / "shared" / "data"
TARGETS = {"ml-1m-half ratings.dat": 1.0, "synthetic 10M csv": 10.0, "synthetic 5M csv": 1.5, "synthetic 5M parquet": 1.5}


def _child(kind: str, source: str) -> None:
    """Runs inside the subprocess: load once, print a JSON line with seconds and memory."""
    import warnings

    from cofirec.data.readers import read_ratings_file
    from cofirec.data.resolve import load_dataset

    warnings.simplefilter("ignore")
    before = _peak_kb()
    start, cpu_start = time.perf_counter(), time.process_time()
    data = read_ratings_file(source) if kind == "file" else load_dataset(source)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _peak_kb()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_kb": peak, "base_kb": before, "n": len(data), "users": data.n_users, "items": data.n_items}))


def _peak_kb() -> int:
    """Peak resident memory of this process in KiB: VmHWM (reset by exec, unlike ru_maxrss), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _run(kind: str, source: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--child", kind, str(source)], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"benchmark child failed for {source}:\n{out.stderr.strip()[-2000:]}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    times = [r["seconds"] for r in runs]
    cpus = [r["cpu"] for r in runs]
    last = runs[-1]
    return {
        "best_s": min(times),
        "median_s": statistics.median(times),
        "cpu_s": min(cpus),
        "peak_mb": max(r["peak_kb"] for r in runs) / 1024,
        "delta_mb": max(r["peak_kb"] - r["base_kb"] for r in runs) / 1024,
        "n": last["n"],
        "users": last["users"],
        "items": last["items"],
    }


def make_big_csv(path: Path, rows: int, seed: int = 0) -> Path:
    """A headered ``userId,movieId,rating,timestamp`` CSV like ml-25m's: unique pairs, sorted by user, half stars
    (the same table as Parquet when ``path`` ends in ``.parquet``)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    n_users, n_items = max(rows // 60, 10), max(rows // 160, 10)
    keys = np.unique(rng.integers(0, n_users * n_items, int(rows * 1.01) + 10))
    while len(keys) < rows:  # top up after collisions
        keys = np.unique(np.concatenate([keys, rng.integers(0, n_users * n_items, rows - len(keys) + 10)]))
    if len(keys) > rows:
        keys = keys[np.sort(rng.choice(len(keys), rows, replace=False))]
    table = pa.table(
        {
            "userId": keys // n_items + 1,
            "movieId": keys % n_items + 1,
            "rating": rng.integers(1, 11, len(keys)) / 2.0,
            "timestamp": rng.integers(800_000_000, 1_600_000_000, len(keys)),
        }
    )
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        return path
    with open(path, "wb") as fh:
        fh.write(b"userId,movieId,rating,timestamp\n")
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(include_header=False))
    return path


def _table(rows: list[tuple[str, dict]]) -> str:
    head = "| case | ratings | users | items | best s | median s | CPU s | target s | peak MB | +MB |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        target = TARGETS.get(name)
        mark = "" if target is None else (f"{target:g} ok" if r["best_s"] <= target else f"{target:g} MISSED")
        lines.append(
            f"| {name} | {r['n']:,} | {r['users']:,} | {r['items']:,} | {r['best_s']:.3f} | {r['median_s']:.3f} | {r['cpu_s']:.3f} | "
            f"{mark} | {r['peak_mb']:.0f} | {r['delta_mb']:.0f} |"
        )
    return "\n".join(lines)


def _write_results(table: str, command: str) -> Path:
    path = Path(__file__).resolve().parent / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    section = (
        "## Loading\n\n"
        f"`{command}` on {platform.machine()} with {os.cpu_count()} CPUs (load average {load1:.1f} at the end, "
        f"shared machine), Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n"
        "Each case is a fresh subprocess; time excludes imports; CPU s is the process CPU time (all threads) of the "
        "load, about what one idle core would take when the shared machine is busy; peak MB is the process's max RSS, +MB the growth "
        "during the load. Text files are parsed by pyarrow's multi-threaded CSV reader (the careful line-by-line "
        "parser runs only when that fails).\n\n" + table + "\n\n"
    )
    start = text.find("## Loading")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the generated CSV (0 to skip)")
    parser.add_argument("--mid-rows", type=int, default=5_000_000, help="rows of the generated CSV + Parquet pair (0 to skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-results", action="store_true", help="put the table in bench/RESULTS.md under 'Loading'")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SOURCE"), help=argparse.SUPPRESS)
    parser.add_argument("--make-csv", nargs=2, metavar=("PATH", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return
    if args.make_csv:
        make_big_csv(Path(args.make_csv[0]), int(args.make_csv[1]))
        return
    cases: list[tuple[str, str, Path]] = []
    for name, kind, rel in [
        ("ml-100k (folder + features)", "dataset", "ml-100k"),
        ("ml-latest-small (folder + features)", "dataset", "ml-latest-small"),
        ("ml-1m-half ratings.dat", "file", "ml-1m-half/ratings.dat"),
        ("ml-1m-half (folder + features)", "dataset", "ml-1m-half"),
    ]:
        path = args.data_dir / rel
        if path.exists():
            cases.append((name, kind, path))
        else:
            print(f"skipping {name}: {path} not found", file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory(prefix="cofirec-bench-") as tmp:
        if args.rows > 0:
            t = time.perf_counter()
            big = Path(tmp) / "big.csv"
            # generated in a subprocess so that this parent process stays small
            subprocess.run([sys.executable, __file__, "--make-csv", str(big), str(args.rows)], check=True)
            print(f"generated {big.stat().st_size / 1e6:.0f} MB CSV in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            label = "synthetic 10M csv" if args.rows == 10_000_000 else f"synthetic {args.rows:,} csv"
            cases.append((label, "file", big))
        if args.mid_rows > 0:
            label = "synthetic 5M" if args.mid_rows == 5_000_000 else f"synthetic {args.mid_rows:,}"
            for suffix in ("csv", "parquet"):
                mid = Path(tmp) / f"mid.{suffix}"
                subprocess.run([sys.executable, __file__, "--make-csv", str(mid), str(args.mid_rows)], check=True)
                cases.append((f"{label} {suffix}", "file", mid))
        for name, kind, path in cases:
            print(f"running {name} ...", file=sys.stderr)
            results.append((name, _run(kind, path, args.repeat)))
    table = _table(results)
    print(table)
    if args.write_results:
        cmd = "python bench/bench_load.py " + " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
        print(f"wrote {_write_results(table, cmd.strip())}", file=sys.stderr)


if __name__ == "__main__":
    main()
