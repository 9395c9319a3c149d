"""Compiled (numba) CSV parser versus pyarrow's multi-threaded typed reader, on the reader's own code paths.

Usage::

    .venv/bin/python bench/bench_csv_paths.py [--rows 10000000] [--repeat 5] [--file /tmp/big.tsv]

Writes (once) a headerless ``user, item, rating, timestamp`` TSV, then times, interleaved in one process after
a warm-up run of each (numba compile or cache load, page cache), the two ways :func:`read_ratings_file` can
parse it: the numba kernel (``read_numeric``) and pyarrow's typed read with the id policy (ids read as text and
kept as int64 only when every one is a plain integer, ``read_values``). Both include the value checks. The
issue's rule: keep the hand-written parser only while it is more than 2x faster in wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np


def make_tsv(path: Path, rows: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    table = pa.table({"u": rng.integers(1, max(rows // 60, 10), rows), "i": rng.integers(1, max(rows // 160, 10), rows),
                      "r": rng.integers(1, 11, rows) / 2.0, "t": rng.integers(800_000_000, 1_600_000_000, rows)})
    with open(path, "wb") as fh:
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(include_header=False, delimiter="\t"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--file", type=Path, default=Path("/tmp/cofirec-bench-csv-paths.tsv"))
    args = parser.parse_args()
    from cofirec.data.read_detect import _Layout
    from cofirec.data.read_numeric import _numeric_fast
    from cofirec.data.read_values import _arrow_read, _check_values, _typed_frame

    if not args.file.exists():
        make_tsv(args.file, args.rows)
    layout = _Layout(sep="\t", header=False, names=["user", "item", "rating", "timestamp"], n_fields=4,
                     int_ids={"user": True, "item": True}, ignored=[])
    paths = {
        "numba kernel": lambda: _check_values(_numeric_fast(args.file, layout), layout)[0],
        "pyarrow typed + id policy": lambda: _check_values(_typed_frame(_arrow_read(args.file, layout, typed=True, skip_header=False)), layout)[0],
    }
    for fn in paths.values():
        fn()
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    for _ in range(args.repeat):
        for name, fn in paths.items():
            wall, cpu = time.perf_counter(), time.process_time()
            frame = fn()
            runs[name].append((time.perf_counter() - wall, time.process_time() - cpu))
            assert frame["user"].dtype == np.int64, name
    print("| path | wall median s | wall best s | CPU median s |\n|---|---:|---:|---:|")
    for name, r in runs.items():
        print(f"| {name} | {statistics.median(x[0] for x in r):.2f} | {min(x[0] for x in r):.2f} | {statistics.median(x[1] for x in r):.2f} |")
    ratio = statistics.median(x[0] for x in runs["pyarrow typed + id policy"]) / statistics.median(x[0] for x in runs["numba kernel"])
    print(f"\npyarrow / numba, median wall time: {ratio:.2f}x")


if __name__ == "__main__":
    main()
