"""Classic-model benchmark: cofirec's classic models against Surprise and implicit on the same split files.

One command (from the repository root)::

    .venv/bin/python bench/bench_classic.py --data-dir ../shared/data

It creates ``bench/.venv-peers`` (git-ignored) with the packages of ``bench/peers_requirements.txt`` when
missing, writes every split to a temporary folder as TSV files, fits cofirec's models here and the peers in
the peers venv (this same file run with ``--peer``), scores everything with cofirec's metric code and prints
one table. Splits:

* ml-100k ``u1.base``/``u1.test`` (rating protocol: RMSE, MAE)
* ml-1m-half random 90/10, seed 0 (rating protocol)
* ml-100k and ml-1m-half, all ratings as implicit positives, per-user 80/20 holdout seed 0 (ranking
  protocol, full ranking excluding training items: NDCG@10, Recall@20)

The peer mode imports only numpy/scipy/pandas/surprise/implicit (never cofirec).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
PEERS_VENV = BENCH / ".venv-peers"
PEERS_REQ = BENCH / "peers_requirements.txt"

# hyperparameters of the implicit-feedback comparison (same for cofirec and implicit where they overlap)
IALS = {"factors": 16, "epochs": 12, "reg": 3.0, "alpha": 3.0}  # best plain-reg setting on ML-100K validation
IALS_TIMING = {"factors": 64, "epochs": 15, "reg": 3.0, "alpha": 3.0}
# iALS with frequency-scaled reg, best on each dataset's validation split (carved from the training part)
IALS_TUNED = {
    "ml-100k-implicit": {"factors": 16, "reg": 0.1, "reg_exponent": 1.0, "epochs": 15},
    "ml-1m-half-implicit": {"factors": 64, "reg": 0.3, "reg_exponent": 1.0, "epochs": 15},
}
# SVD++ settings chosen on a 10% validation split of u1.base (see bench/RESULTS.md)
SVDPP = {"implicit_feedback": True, "lr": 0.007, "reg": 0.08, "reg_implicit": 0.2, "epochs": 26}
PLAIN_MF = {"implicit_feedback": False, "lr": 0.01, "reg_implicit": None, "epochs": 60}
"""``mf``'s defaults before issue 11 (plain biased MF); its default is now an SVD++ setting (bench/RESULTS.md, Defaults)."""


# ---------------------------------------------------------------------- peer side (runs in the peers venv)
def _read_tsv(path: Path):
    import pandas as pd

    return pd.read_csv(path, sep="\t", header=None, names=["user", "item", "rating"], dtype={"user": str, "item": str})


def run_peers(split_dir: Path, out_dir: Path) -> None:
    """Fit the peers on every split in ``split_dir`` and write predictions / top-20 lists + timings."""
    import threadpoolctl  # noqa: F401

    manifest = json.loads((split_dir / "splits.json").read_text())
    results = {}
    for name, info in manifest.items():
        train = _read_tsv(split_dir / f"{name}.train.tsv")
        test = _read_tsv(split_dir / f"{name}.test.tsv")
        if info["protocol"] == "rating":
            results.update(_surprise_runs(name, train, test, out_dir, info))
        else:
            results.update(_implicit_runs(name, train, test, out_dir, info))
    (out_dir / "peers.json").write_text(json.dumps(results, indent=1))


def _surprise_runs(name, train, test, out_dir, info) -> dict:
    from surprise import SVD, Dataset, Reader, SVDpp

    reader = Reader(rating_scale=(float(train.rating.min()), float(train.rating.max())))
    trainset = Dataset.load_from_df(train[["user", "item", "rating"]], reader).build_full_trainset()
    algos = {"surprise SVD": lambda: SVD(random_state=0), "surprise SVD 100f/40ep": lambda: SVD(n_factors=100, n_epochs=40, random_state=0)}
    if info.get("svdpp"):
        algos["surprise SVD++"] = lambda: SVDpp(random_state=0, cache_ratings=True)
    out = {}
    for label, make in algos.items():
        algo = make()
        t0 = time.perf_counter()
        algo.fit(trainset)
        secs = time.perf_counter() - t0
        pred = np.array([algo.predict(u, i).est for u, i in zip(test.user, test.item)], dtype=np.float64)
        key = f"{name}|{label}"
        np.save(out_dir / f"{_safe(key)}.npy", pred)
        out[key] = {"seconds": secs, "file": f"{_safe(key)}.npy"}
    return out


def _implicit_runs(name, train, test, out_dir, info) -> dict:
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    users = np.array(sorted(set(train.user)))
    items = np.array(sorted(set(train.item)))
    uix = {u: k for k, u in enumerate(users)}
    iix = {i: k for k, i in enumerate(items)}
    rows = np.array([uix[u] for u in train.user])
    cols = np.array([iix[i] for i in train.item])
    ui = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(items)))
    test_users = np.array(sorted(set(test.user)))
    known = np.array([u in uix for u in test_users])
    q = np.array([uix[u] for u in test_users[known]])
    out = {}

    def als(p):  # implicit's confidence is alpha * r; cofirec's is 1 + alpha * r: match them for binary data
        return AlternatingLeastSquares(
            factors=p["factors"], regularization=p["reg"], alpha=1.0 + p["alpha"], iterations=p["epochs"], random_state=0, calculate_training_loss=False
        )

    runs = {
        "implicit ALS": lambda: als(info["ials"]),
        f"implicit ALS {info['ials_timing']['factors']}f/{info['ials_timing']['epochs']}it (timing)": lambda: als(info["ials_timing"]),
        "implicit BPR": lambda: BayesianPersonalizedRanking(factors=64, random_state=0),
    }
    for label, make in runs.items():
        model = make()
        t0 = time.perf_counter()
        model.fit(ui, show_progress=False)
        secs = time.perf_counter() - t0
        ids, _ = model.recommend(q, ui[q], N=20, filter_already_liked_items=True)
        recs = np.full((len(test_users), 20), "", dtype=object)
        recs[known] = items[ids]
        key = f"{name}|{label}"
        np.save(out_dir / f"{_safe(key)}.npy", recs.astype(str))
        np.save(out_dir / f"{_safe(key)}.users.npy", test_users.astype(str))
        out[key] = {"seconds": secs, "file": f"{_safe(key)}.npy"}
    return out


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in key)


# ---------------------------------------------------------------------- cofirec side
def ensure_peers_venv() -> Path:
    """Create ``bench/.venv-peers`` with the peer packages when it is missing; returns its python."""
    py = PEERS_VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {PEERS_VENV} (scikit-surprise, implicit) ...", file=sys.stderr)
        subprocess.run(["python3.11", "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", str(PEERS_REQ)], check=True)
    return py


def build_splits(data_dir: Path, which: list[str]) -> dict:
    from cofirec.data.movielens import load_movielens
    from cofirec.data.splits import random_split, train_test_from_files, user_ratio_split

    splits = {}
    if "ml-100k-u1" in which:
        splits["ml-100k-u1"] = ("rating", train_test_from_files(data_dir / "ml-100k" / "u1.base", data_dir / "ml-100k" / "u1.test"))
    if "ml-1m-half-90/10" in which:
        splits["ml-1m-half-90/10"] = ("rating", random_split(load_movielens(data_dir / "ml-1m-half"), 0.1, seed=0))
    if "ml-100k-implicit" in which:
        splits["ml-100k-implicit"] = ("ranking", user_ratio_split(load_movielens(data_dir / "ml-100k").as_implicit(), 0.2, seed=0))
    if "ml-1m-half-implicit" in which:
        splits["ml-1m-half-implicit"] = ("ranking", user_ratio_split(load_movielens(data_dir / "ml-1m-half").as_implicit(), 0.2, seed=0))
    return splits


def write_splits(splits: dict, folder: Path) -> None:
    manifest = {}
    for name, (protocol, split) in splits.items():
        fname = name.replace("/", "_")
        for part, data in (("train", split.train), ("test", split.test)):
            frame = data.to_frame()[["user", "item", "rating"]]
            frame.to_csv(folder / f"{fname}.{part}.tsv", sep="\t", header=False, index=False)
        manifest[fname] = {"protocol": protocol, "svdpp": name == "ml-100k-u1", "ials": IALS, "ials_timing": IALS_TIMING}
    (folder / "splits.json").write_text(json.dumps(manifest))


def cofirec_models(protocol: str, name: str) -> dict:
    """Label -> factory of the cofirec models benchmarked under ``protocol``."""
    from cofirec.errors import ConfigError
    from cofirec.models.registry import get_model_class

    def cls(key):
        try:
            return get_model_class(key)
        except (ConfigError, ImportError, AttributeError):
            return None

    out = {}
    if protocol == "rating":
        wanted = [
            ("baseline", "baseline", {}),
            ("user-knn", "user-knn", {}),
            ("item-knn", "item-knn", {}),
            ("mf", "mf", {}),
            ("mf plain (old default)", "mf", PLAIN_MF),
            ("mf svd++", "mf", SVDPP),
            ("mf 100f/40ep", "mf", {**PLAIN_MF, "epochs": 40}),
            ("als", "als", {}),
        ]
    else:
        wanted = [
            ("popularity", "popularity", {}),
            ("item-knn", "item-knn", {}),
            ("user-knn", "user-knn", {}),
            ("ease", "ease", {}),
            ("ials", "ials", {}),
            ("ials plain reg (= implicit ALS settings)", "ials", {**IALS, "reg_exponent": 0.0}),
            *([("ials val-tuned", "ials", IALS_TUNED[name])] if name in IALS_TUNED else []),
            (f"ials {IALS_TIMING['factors']}f/{IALS_TIMING['epochs']}it (timing)", "ials", {**IALS_TIMING, "reg_exponent": 0.0, "track_loss": False}),
            ("bpr", "bpr", {}),
        ]
    for label, key, params in wanted:
        c = cls(key)
        if c is not None:
            out[label] = lambda c=c, params=params: c(**params)
    return out


def score_peer(protocol: str, split, path: Path, users_path: Path | None) -> dict:
    from cofirec.evaluate import metrics as M

    test = split.test
    if protocol == "rating":
        pred = np.load(path)
        return {"rmse": M.rmse(test.ratings, pred), "mae": M.mae(test.ratings, pred)}
    recs = np.load(path)
    users = np.load(users_path)
    frame = test.to_frame()
    truth = set(zip(frame["user"].astype(str), frame["item"].astype(str)))
    n_rel = frame.groupby(frame["user"].astype(str)).size().reindex(users).to_numpy()
    keys = np.char.add(np.char.add(np.repeat(users, recs.shape[1]).reshape(recs.shape), "\t"), recs)
    truth_keys = np.array([f"{u}\t{i}" for u, i in truth])
    hits = np.isin(keys, truth_keys)
    return {"ndcg@10": M.ndcg_at_k(hits, n_rel, 10), "recall@20": M.recall_at_k(hits, n_rel, 20)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=BENCH.parent / ".." / "shared" / "data")
    ap.add_argument("--splits", nargs="*", default=["ml-100k-u1", "ml-1m-half-90/10", "ml-100k-implicit", "ml-1m-half-implicit"])
    ap.add_argument("--no-peers", action="store_true", help="skip Surprise / implicit")
    ap.add_argument("--peer", nargs=2, metavar=("SPLIT_DIR", "OUT_DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.peer:
        run_peers(Path(args.peer[0]), Path(args.peer[1]))
        return 0

    from cofirec.evaluate import evaluate

    if not (args.data_dir / "ml-100k" / "u.data").exists():
        print(f"MovieLens data not found under {args.data_dir}", file=sys.stderr)
        return 2
    splits = build_splits(args.data_dir, args.splits)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "splits").mkdir()
        (tmp / "out").mkdir()
        write_splits(splits, tmp / "splits")
        peers = {}
        if not args.no_peers:
            py = ensure_peers_venv()
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
            env["OPENBLAS_NUM_THREADS"] = "1"  # implicit asks for this (its own threads do the parallel work)
            subprocess.run([str(py), str(Path(__file__).resolve()), "--peer", str(tmp / "splits"), str(tmp / "out")], check=True, env=env)
            peers = json.loads((tmp / "out" / "peers.json").read_text())
        _warm_up()
        for name, (protocol, split) in splits.items():
            for label, make in cofirec_models(protocol, name).items():
                model = make()
                try:
                    model.fit(split.train)
                except Exception as exc:  # a model another engineer is still writing must not stop the table
                    print(f"{name} {label}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                res = evaluate(model, split.test, protocol=protocol, k=(10, 20))
                rows.append(_row(name, protocol, f"cofirec {label}", res, model.fit_seconds_))
                print(_fmt(rows[-1]), file=sys.stderr, flush=True)
            for key, info in peers.items():
                pname, plabel = key.split("|", 1)
                if pname != name.replace("/", "_"):
                    continue
                users_path = tmp / "out" / info["file"].replace(".npy", ".users.npy")
                res = score_peer(protocol, split, tmp / "out" / info["file"], users_path if protocol == "ranking" else None)
                rows.append(_row(name, protocol, plabel, res, info["seconds"]))
                print(_fmt(rows[-1]), file=sys.stderr, flush=True)
    print(_table(rows))
    return 0


def _warm_up() -> None:
    """Fit every model once on tiny data so numba's one-time compilation / cache loading is not timed."""
    from cofirec.data.synthetic import make_synthetic

    tiny = make_synthetic(n_users=30, n_items=20, seed=0)
    for protocol, data in (("rating", tiny), ("ranking", tiny.as_implicit())):
        for make in cofirec_models(protocol, "warm-up").values():
            try:
                make().fit(data)
            except Exception:  # noqa: BLE001 - warm-up only
                pass


def _row(dataset, protocol, model, res, seconds) -> dict:
    if protocol == "rating":
        return {"dataset": dataset, "protocol": protocol, "model": model, "m1": res["rmse"], "m2": res["mae"], "fit_s": seconds}
    return {"dataset": dataset, "protocol": protocol, "model": model, "m1": res["ndcg@10"], "m2": res["recall@20"], "fit_s": seconds}


def _fmt(r: dict) -> str:
    names = ("RMSE", "MAE") if r["protocol"] == "rating" else ("NDCG@10", "Recall@20")
    return f"{r['dataset']} {r['model']}: {names[0]}={r['m1']:.4f} {names[1]}={r['m2']:.4f} fit={r['fit_s']:.2f}s"


def _table(rows: list[dict]) -> str:
    lines = ["| dataset | protocol | model | RMSE / NDCG@10 | MAE / Recall@20 | fit s |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['protocol']} | {r['model']} | {r['m1']:.4f} | {r['m2']:.4f} | {r['fit_s']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
