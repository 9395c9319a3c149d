"""Kernel benchmark: the parallel top-k and item-kNN kernels against the versions they replaced, same process.

Usage::

    PYTHONPATH=src .venv/bin/python bench/bench_kernels.py [--users 200000] [--items 40000]
        [--interactions 4500000] [--topk-users 50000] [--neighbours 100] [--repeat 3] [--skip-knn]

On a synthetic power-law implicit log (seeded), it times, interleaved (old and new alternate first, so a
busy shared machine slows both alike):

* top-10 for ``--topk-users`` users from random 32-d factors, in the blocks ``Recommender.recommend`` uses
  (scores of a block, seen items set to ``-inf``, top-k): the old ``topk_rows`` after masking the block, the
  new ``topk_rows`` after the same masking, and the fused ``topk_rows_masked`` (no masking pass). Only the
  masking and selection are timed; scoring (the matrix product, the same for all) is off the clock.
* item-item cosine kNN fit, ``k=--neighbours``: ``knn_similarity`` on the item x user matrix.

With ``--all-users`` it times instead, through the public API, next to implicit (run in ``bench/.venv-peers``,
created as ``bench/bench_classic.py`` does; implicit is never a cofirec dependency):

* ``ImplicitALS.recommend`` top-10 for every user (32 factors; the model is fitted one round, the factors
  are what matters), before (one score block per 16M entries, parallel top-k) and now (threaded chunks with
  single-threaded BLAS, fused top-k), and implicit's batch ``AlternatingLeastSquares.recommend`` on the same
  factors (the share of equal list slots is printed; ties may differ);
* ``ItemKNN(k=100, weighting="none")`` fit and recommend for ``--knn-users`` users, before (scipy product +
  dense block) and now (top-k straight from the sparse product), and implicit's ``CosineRecommender(K=100)``.
  The two kNN scores differ by design: cofirec sums a target item's neighbours that the user has (Sarwar),
  implicit sums the neighbour lists of the user's items, far fewer products on power-law data.

The old kernels are read from git at BASELINE (the commit before they were replaced), so git must be
available. Each result is checked to be identical to the old one. Prints a table of wall seconds (median and
min over the repeats) and process CPU seconds (all threads; less sensitive to other load than wall time).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
BASELINE = "62ba94bc370e1deffff820ded9e13a554f046271"
"""Commit with the single-threaded argpartition top-k and the dense-block similarity."""


def old_module(path: str) -> types.ModuleType:
    """The module at ``path`` (repo-relative) as it was at BASELINE."""
    try:
        source = subprocess.run(["git", "-C", str(REPO), "show", f"{BASELINE}:{path}"], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"error: cannot read {path} at {BASELINE} from git ({exc}); run inside the cofirec repository")
    module = types.ModuleType(f"baseline_{Path(path).stem}")
    exec(compile(source, f"{BASELINE}:{path}", "exec"), module.__dict__)
    return module


def power_law_log(n_users: int, n_items: int, n_interactions: int, skew: float = 1.0, seed: int = 0) -> sp.csr_matrix:
    """Binary user x item CSR: Zipf-like item popularity (exponent ``skew``), log-normal user activity.

    About ``n_interactions`` distinct pairs: duplicate draws merge, so the draw is scaled up until it is close.
    """
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1) ** skew
    item_p = rng.permutation(item_p / item_p.sum())  # popular items spread over the index range
    activity = rng.lognormal(0.0, 1.0, n_users)
    scale = 1.0
    for _ in range(4):
        draw = np.random.default_rng(seed + 1)
        per_user = np.maximum(1, np.round(activity / activity.sum() * n_interactions * scale)).astype(np.int64)
        per_user = np.minimum(per_user, n_items // 2)
        users = np.repeat(np.arange(n_users), per_user)
        items = draw.choice(n_items, size=len(users), p=item_p)
        m = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=(n_users, n_items))
        if abs(m.nnz - n_interactions) <= 0.01 * n_interactions:
            break
        scale *= n_interactions / max(m.nnz, 1)
    m.data[:] = 1.0  # duplicates were summed: back to binary
    m.sort_indices()
    return m


Clock = tuple[float, float]
"""(wall seconds, process CPU seconds of all threads)."""


def clock() -> Clock:
    return time.perf_counter(), time.process_time()


def since(start: Clock) -> Clock:
    now = clock()
    return now[0] - start[0], now[1] - start[1]


def interleaved(fns: dict[str, Callable[[], Clock]], repeat: int) -> dict[str, list[Clock]]:
    """What each function reports it spent, over ``repeat`` rounds, the order rotated every round."""
    names = list(fns)
    times: dict[str, list[Clock]] = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(fns[name]())
    return times


# ---------------------------------------------------------------------- top-k
def topk_tasks(seen: sp.csr_matrix, n_users: int, k: int, seed: int) -> tuple[dict[str, Callable[[], object]], Callable]:
    """Top-k runs (old, new, fused) over blocks of scores; the score blocks are computed once and kept."""
    from cofirec.kernels.topk import topk_rows, topk_rows_masked

    old = old_module("src/cofirec/kernels/topk.py")
    rng = np.random.default_rng(seed)
    n_items = seen.shape[1]
    U = rng.standard_normal((seen.shape[0], 32)).astype(np.float32)
    V = rng.standard_normal((n_items, 32)).astype(np.float32)
    users = np.sort(rng.choice(seen.shape[0], size=min(n_users, seen.shape[0]), replace=False))
    block = int(max(1, min(4096, 16_000_000 // n_items)))  # as Recommender._batch_users
    blocks = [users[b0 : b0 + block] for b0 in range(0, len(users), block)]

    def scores(ub: np.ndarray) -> np.ndarray:
        return U[ub] @ V.T

    def masked(s: np.ndarray, ub: np.ndarray) -> np.ndarray:  # as Recommender._mask_seen
        sub = seen[ub]
        s[np.repeat(np.arange(len(ub)), np.diff(sub.indptr)), sub.indices] = -np.inf
        return s

    def run(select: Callable[[np.ndarray, np.ndarray], tuple]) -> Callable[[], Clock]:
        """Score every block (off the clock), then time the masking and selection only."""

        def go() -> Clock:
            wall = cpu = 0.0
            for ub in blocks:
                s = scores(ub)
                start = clock()
                select(s, ub)
                dw, dc = since(start)
                wall, cpu = wall + dw, cpu + dc
            return wall, cpu

        return go

    tasks = {
        "old: mask + topk_rows": run(lambda s, ub: old.topk_rows(masked(s, ub), k)),
        "new: mask + topk_rows": run(lambda s, ub: topk_rows(masked(s, ub), k)),
        "new: topk_rows_masked (fused)": run(lambda s, ub: topk_rows_masked(s, k, exclude=seen, exclude_rows=ub)),
    }

    def check() -> bool:
        for ub in blocks[:20]:
            want = old.topk_rows(masked(scores(ub), ub), k)
            for got in (topk_rows(masked(scores(ub), ub), k), topk_rows_masked(scores(ub), k, exclude=seen, exclude_rows=ub)):
                if not (np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])):
                    return False
        return True

    return tasks, check


# ---------------------------------------------------------------------- item-kNN
def knn_tasks(seen: sp.csr_matrix, k: int) -> tuple[dict[str, Callable[[], object]], Callable]:
    from cofirec.kernels.similarity import knn_similarity

    old = old_module("src/cofirec/kernels/similarity.py")
    items = seen.T.tocsr().astype(np.float64)
    results: dict[str, sp.csr_matrix] = {}

    def run(name: str, fn) -> Callable[[], Clock]:
        def go() -> Clock:
            start = clock()
            results[name] = fn(items, "cosine", k=k)
            return since(start)

        return go

    tasks = {"old: knn_similarity": run("old", old.knn_similarity), "new: knn_similarity": run("new", knn_similarity)}

    def check() -> bool:
        a, b = results["old"], results["new"]
        return bool(np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))

    return tasks, check


# ---------------------------------------------------------------------- all-users top-k, cofirec vs implicit
PEERS_PYTHON = REPO / "bench" / ".venv-peers" / "bin" / "python"
_IMPLICIT_SCRIPT = """
import json, sys, time
import numpy as np, scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking  # noqa: F401  (import cost outside the clock)
from implicit.nearest_neighbours import CosineRecommender
d = np.load(sys.argv[1])
seen = sp.csr_matrix((d["data"], d["indices"], d["indptr"]), shape=tuple(d["shape"]))
users = np.arange(seen.shape[0])
out = {}
m = AlternatingLeastSquares(factors=d["U"].shape[1])
m.user_factors, m.item_factors = d["U"], d["V"]
m.recommend(users[:1000], seen[:1000], N=10)  # warm up
times = []
for _ in range(int(sys.argv[2])):
    t, c = time.perf_counter(), time.process_time(); ids, _s = m.recommend(users, seen, N=10, filter_already_liked_items=True); times.append((time.perf_counter() - t, time.process_time() - c))
out["als_recommend_all"] = times
np.save(sys.argv[3], ids)
knn_users = users[: int(sys.argv[4])]
c = CosineRecommender(K=100)
t, c0 = time.perf_counter(), time.process_time(); c.fit(seen, show_progress=False); out["knn_fit"] = (time.perf_counter() - t, time.process_time() - c0)
times = []
for _ in range(int(sys.argv[2])):
    t, c0 = time.perf_counter(), time.process_time(); c.recommend(knn_users, seen[knn_users], N=10, filter_already_liked_items=True); times.append((time.perf_counter() - t, time.process_time() - c0))
out["knn_recommend"] = times
print(json.dumps(out))
"""


def implicit_times(seen: sp.csr_matrix, U: np.ndarray, V: np.ndarray, repeat: int, knn_users: int) -> tuple[dict, np.ndarray] | None:
    """implicit's batch ALS recommend for every user (same factors) and CosineRecommender, in bench/.venv-peers."""
    import tempfile

    if not PEERS_PYTHON.exists():
        print(f"(no {PEERS_PYTHON}: implicit rows skipped; create it as bench/bench_classic.py does)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data, ids = Path(tmp) / "in.npz", Path(tmp) / "ids.npy"
        np.savez(data, data=seen.data, indices=seen.indices, indptr=seen.indptr, shape=np.array(seen.shape), U=U, V=V)
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        cmd = [str(PEERS_PYTHON), "-c", _IMPLICIT_SCRIPT, str(data), str(repeat), str(ids), str(knn_users)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode:
            print(f"(implicit run failed: {res.stderr.strip().splitlines()[-1:]})")
            return None
        import json

        return json.loads(res.stdout.strip().splitlines()[-1]), np.load(ids)


@contextlib.contextmanager
def patched(owner: object, name: str, value: object) -> Iterator[None]:
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def dense_block_path(cls: type) -> contextlib.AbstractContextManager:
    """``cls.recommend`` through the base class's dense block (the path before the fused kernels)."""
    from cofirec.models.base import Recommender

    return patched(cls, "_top_block", Recommender._top_block)


def _scipy_product(a, rows, b):  # kNN scoring before the row-parallel product
    m = a[rows] @ b
    return m.toarray() if sp.issparse(m) else np.asarray(m)


def allusers_rows(seen: sp.csr_matrix, repeat: int, knn_users: int, seed: int) -> list[str]:
    """All-users top-10 from 32-d factors through ``Recommender.recommend`` (an iALS model fitted one round),
    item-kNN fit and recommend for ``knn_users`` users, each next to implicit's equivalent."""
    import pandas as pd

    from cofirec.data.dataset import Interactions
    from cofirec.models import knn as knn_module
    from cofirec.models.ials import ImplicitALS
    from cofirec.models.knn import ItemKNN

    coo = seen.tocoo()
    data = Interactions.from_frame(pd.DataFrame({"user": coo.row, "item": coo.col, "rating": np.ones(coo.nnz)}), kind="implicit")
    model = ImplicitALS(epochs=1, track_loss=False).fit(data)
    ids = model.user_map_.ids
    own = model.seen_
    model.recommend(ids[:1000], n=10)  # warm the JIT caches
    lines, times, before = [], [], []
    for _ in range(repeat):
        start = clock()
        recs = model.recommend(ids, n=10)
        times.append(since(start))
        with dense_block_path(ImplicitALS):
            start = clock()
            old = model.recommend(ids, n=10)
            before.append(since(start))
    same_as_before = "yes" if np.array_equal(old.items, recs.items) and np.array_equal(old.scores, recs.scores) else "NO"
    peer = implicit_times(own, model.user_factors_, model.item_factors_, repeat, knn_users)
    step = f"all-users top-10, {own.shape[0]} users x {own.shape[1]} items, 32 factors (Recommender.recommend)"
    same = ""
    if peer:
        got = model.item_map_.lookup(recs.items.ravel()).reshape(recs.items.shape)
        same = f"; {np.mean(got == peer[1]):.4f} of list slots equal to implicit's"
    lines.append(row(step, "cofirec before (score block + parallel top-k)", before, None, "—"))
    lines.append(row(step, "cofirec", times, median_wall(before), same_as_before + same))
    lines += peer_rows(step, "implicit ALS.recommend (batch)", peer[0]["als_recommend_all"] if peer else None, times)
    knn = ItemKNN(k=100, weighting="none")  # plain cosine, as implicit's CosineRecommender
    start = clock()
    knn.fit(data)
    fit = since(start)
    users = ids[:knn_users]
    knn.recommend(users[:100], n=10)
    ktimes, kbefore = [], []
    for _ in range(repeat):
        start = clock()
        krecs = knn.recommend(users, n=10)
        ktimes.append(since(start))
        with dense_block_path(ItemKNN), patched(knn_module, "_product", _scipy_product):
            knn._cache = {}
            start = clock()
            kold = knn.recommend(users, n=10)
            kbefore.append(since(start))
    ksame = "yes" if np.array_equal(kold.items, krecs.items) and np.array_equal(kold.scores, krecs.scores) else "NO"
    fstep = "item-kNN cosine K=100 fit (ItemKNN.fit / CosineRecommender.fit)"
    lines.append(row(fstep, "cofirec", [fit], None, ""))
    lines += peer_rows(fstep, "implicit", [peer[0]["knn_fit"]] if peer else None, [fit])
    kstep = f"item-kNN recommend top-10, {knn_users} users"
    lines.append(row(kstep, "cofirec before (scipy product + dense block)", kbefore, None, "—"))
    lines.append(row(kstep, "cofirec", ktimes, median_wall(kbefore), ksame))
    lines += peer_rows(kstep, "implicit (different scoring, see above)", peer[0]["knn_recommend"] if peer else None, ktimes)
    return lines


def median_wall(clocks: list[Clock]) -> float:
    return statistics.median(c[0] for c in clocks)


def peer_rows(step: str, variant: str, peer: list | None, ours: list[Clock]) -> list[str]:
    """implicit's row, with cofirec's time as a fraction of implicit's (wall and CPU medians)."""
    if not peer:
        return []
    clocks = [(float(w), float(c)) for w, c in peer]
    wall = median_wall(ours) / median_wall(clocks)
    cpu = statistics.median(c[1] for c in ours) / statistics.median(c[1] for c in clocks)
    return [row(step, variant, clocks, None, f"cofirec / implicit: wall {wall:.2f}, CPU {cpu:.2f}")]


def row(step: str, variant: str, clocks: list[Clock], ref: float | None, same: str) -> str:
    wall = [c[0] for c in clocks]
    med = statistics.median(wall)
    ratio = f"{ref / med:.1f}x" if ref else ""
    cpu = statistics.median(c[1] for c in clocks)
    return f"| {step} | {variant} | {med:.2f} ({min(wall):.2f}) | {cpu:.2f} | {ratio} | {same} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--items", type=int, default=40_000)
    ap.add_argument("--interactions", type=int, default=4_500_000)
    ap.add_argument("--topk-users", type=int, default=50_000)
    ap.add_argument("--k", type=int, default=10, help="items per user in the top-k step")
    ap.add_argument("--neighbours", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-knn", action="store_true")
    ap.add_argument("--skip-topk", action="store_true")
    ap.add_argument("--all-users", action="store_true", help="only the all-users / kNN recommend rows against implicit")
    ap.add_argument("--knn-users", type=int, default=50_000)
    args = ap.parse_args()

    import numba

    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    seen = power_law_log(args.users, args.items, args.interactions, seed=args.seed)
    print(f"log: {seen.shape[0]} users x {seen.shape[1]} items, {seen.nnz} interactions "
          f"(generated in {time.perf_counter() - t0:.1f} s); numba threads: {numba.get_num_threads()}")  # fmt: skip
    lines = [
        "| step | variant | wall s, median (min) | CPU s, median | speed-up (median wall) | identical to old |",
        "|---|---|---:|---:|---:|---|",
    ]
    if args.all_users:
        lines += allusers_rows(seen, args.repeat, args.knn_users, args.seed)
        args.skip_topk = args.skip_knn = True
    if not args.skip_topk:
        tasks, check = topk_tasks(seen, args.topk_users, args.k, args.seed)
        same = "yes" if check() else "NO"  # also warms the JIT caches
        times = interleaved(tasks, args.repeat)
        step = f"top-{args.k} of {seen.shape[1]} for {args.topk_users} users (seen masked; scoring not timed)"
        ref = statistics.median(c[0] for c in times["old: mask + topk_rows"])
        for name, clocks in times.items():
            old = name.startswith("old")
            lines.append(row(step, name, clocks, None if old else ref, "—" if old else same))
    if not args.skip_knn:
        tasks, check = knn_tasks(seen, args.neighbours)
        warm, _ = knn_tasks(seen[:2000, :500], args.neighbours)
        warm["new: knn_similarity"]()  # compile / load the JIT cache outside the clock
        times = interleaved(tasks, args.repeat)
        same = "yes" if check() else "NO"
        step = f"item-kNN cosine fit, K={args.neighbours}"
        ref = statistics.median(c[0] for c in times["old: knn_similarity"])
        lines.append(row(step, "old: knn_similarity", times["old: knn_similarity"], None, "—"))
        lines.append(row(step, "new: knn_similarity", times["new: knn_similarity"], ref, same))
    lines.append(f"load average (1 min) at start / end: {load0:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
