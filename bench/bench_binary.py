"""Binary like/dislike benchmark on ml-1m-half: DeepFM vs CosineCF vs EmbeddingDot (BCE) vs LightFM (logistic).

Protocol: ratings >= 4 are likes (1), the rest dislikes (0); random 80/20 split of the labelled pairs (seed 0);
side features from ML-1M ``users.dat`` / ``movies.dat``. Every cofirec model picks its epoch count on a seeded
10% validation slice of the training data (``holdout=0.1``, early stopping, best weights restored) and is
scored with ``cofirec.evaluate.runner.evaluate(model, test, protocol="binary")``: AUC, log-loss, accuracy.
With ``--refit`` each cofirec model is then fitted again on the whole training split for the epoch count its
validation slice chose, and that model is scored (the stage-1 AUC is kept beside it).
LightFM (logistic loss, with the same user/item features) runs in ``bench/.venv-peers`` when it is installed
there; its epoch count is chosen on the same kind of validation slice.

Usage::

    .venv/bin/python bench/bench_binary.py                      # all models, prints a markdown table
    .venv/bin/python bench/bench_binary.py --models deepfm,cosine-cf --out bench/results/binary.json
    .venv/bin/python bench/bench_binary.py --models deepfm-ordinal --refit      # the best DeepFM, refitted
    .venv/bin/python bench/bench_binary.py --sweep default --out sweep.jsonl --jobs 6   # DeepFM settings
    .venv/bin/python bench/bench_binary.py --sweep grid.json --sweep-base tuned --jobs 14   # on top of CONFIGS["deepfm"]

``--sweep`` never looks at the test split: it carves a seeded 10% validation slice out of the training split
(``random_split(train, 0.1, seed=1)``), fits DeepFM with each setting of the JSON list (dicts of DeepFM
parameters on top of ``SWEEP_BASE``, or of ``CONFIGS["deepfm"]`` with ``--sweep-base tuned``) on the rest,
early-stopped on that slice, and reports the slice's AUC and log-loss; one JSON line per setting. A setting
may name another ``model`` (its parameters then stand alone) and ``"target": "ratings"`` (regress the 1-5
ratings of the same pairs; the slice's AUC is that of the predicted rating).
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

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "ml-1m-half"
PEERS_PY = ROOT / "bench" / ".venv-peers" / "bin" / "python"

TUNED_DEEPFM: dict = dict(
    factors=32, hidden=(256, 128), dropout=0.0, embed_dropout=0.2, history=400, lr=0.001, batch_size=2048, reg=1e-4, id_reg=30.0, epochs=20
)
"""DeepFM settings chosen by sweep rounds 1-3 (the class defaults)."""

CONFIGS: dict[str, tuple[str, dict]] = {
    "deepfm": ("deepfm", TUNED_DEEPFM),
    "deepfm-ordinal": ("deepfm-ordinal", TUNED_DEEPFM),  # the registered preset: loss ordinal, linear_reg 1, multi_reg 10 (round 4)
    "cosine-cf": ("cosine-cf", dict(factors=64, lr=0.003, batch_size=2048, epochs=30)),
    "embedding-dot": ("embedding-dot", dict(factors=64, loss="bce", negatives=0, lr=0.001, batch_size=2048, reg=1e-4, holdout=0.1, patience=2, epochs=30)),
}


SWEEP_BASE: dict = dict(
    factors=16,
    hidden=(256, 128),
    dropout=0.2,
    embed_dropout=0.0,
    history=0,
    norm="none",
    id_reg=1.0,
    lr=0.001,
    batch_size=2048,
    reg=1e-5,
    epochs=20,
    patience=3,
)
"""What every ``--sweep`` setting is applied on top of: the DeepFM configuration of the first benchmark run."""

DEEPFM_GRID: list[dict] = [
    {},
    {"reg": 0.0001, "id_reg": 10},
    {"reg": 0.001},
    {"reg": 0.0001, "id_reg": 30},
    {"reg": 0.001, "id_reg": 10},
    {"embed_dropout": 0.2},
    {"embed_dropout": 0.3, "reg": 0.0001, "id_reg": 10},
    {"norm": "batch"},
    {"norm": "layer"},
    {"optimizer": "adamw", "weight_decay": 0.05},
    {"optimizer": "adamw", "weight_decay": 0.2},
    {"factors": 32, "reg": 0.0001, "id_reg": 10},
    {"factors": 64, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.2},
    {"factors": 64, "reg": 0.001, "id_reg": 10, "embed_dropout": 0.3},
    {"batch_size": 8192, "lr": 0.004, "epochs": 40},
    {"batch_size": 512, "lr": 0.0005},
    {"history": 100},
    {"history": 400},
    {"history": 100, "reg": 0.0001, "id_reg": 10},
    {"history": 400, "reg": 0.0001, "id_reg": 10, "embed_dropout": 0.2},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.2},
    {"hidden": [400, 400, 400], "dropout": 0.5},
    {"features": "none"},
    {"dropout": 0.0},
    {"dropout": 0.5},
    {"lr": 0.0003, "epochs": 40},
    {"hidden": [64], "dropout": 0.2},
    {"history": 400, "norm": "layer", "reg": 0.0001, "id_reg": 10},
    {"history": 1000, "reg": 0.0001, "id_reg": 10},
    {"factors": 32, "reg": 0.001, "id_reg": 30, "norm": "layer", "embed_dropout": 0.2},
    {"history": 100, "embed_dropout": 0.2},
    {"history": 100, "embed_dropout": 0.3},
    {"history": 200, "embed_dropout": 0.2, "factors": 32, "reg": 0.0001, "id_reg": 30},
    {"history": 400, "factors": 32, "reg": 0.01, "id_reg": 10, "embed_dropout": 0.2},
    {"history": 400, "factors": 32, "reg": 0.03, "embed_dropout": 0.2},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.3},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.4},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.2, "dropout": 0.0},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.2, "dropout": 0.4},
    {"history": 400, "factors": 48, "reg": 0.001, "id_reg": 30, "embed_dropout": 0.3},
    {"history": 100, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.3},
    {"embed_dropout": 0.3},
    {"reg": 0.01, "id_reg": 10},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.2, "hidden": [512, 256]},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.2, "lr": 0.002, "batch_size": 4096},
    {"history": 400, "factors": 32, "reg": 0.0001, "id_reg": 30, "embed_dropout": 0.2, "optimizer": "adamw", "weight_decay": 0.05},
]
"""The DeepFM settings scored with ``--sweep default`` (rounds 1 and 2 of bench/RESULTS.md, on top of
``SWEEP_BASE``); the winner on top of ``SWEEP_BASE`` is ``CONFIGS['deepfm']``."""


LIKE = 4.0
"""Ratings at or above this are likes."""


def load_split(folder: Path, ratings: bool = False):
    """The benchmark's random 80/20 split (seed 0) of the like/dislike labels, or with ``ratings`` of the same
    pairs with their 1-5 ratings (the same rows go to test: binarising keeps the row order)."""
    from cofirec.data.movielens import load_movielens_1m
    from cofirec.data.splits import random_split

    data = load_movielens_1m(folder)
    return random_split(data if ratings else data.binarize(LIKE), 0.2, seed=0)


def run_cofirec(label: str, train, test, refit: bool = False) -> dict:
    """Fit, early-stopped on the model's seeded validation slice, and score the test split. With ``refit``, fit
    again on the whole training split for the chosen number of epochs and score that model (the stage-1
    scores are kept as ``stage1_*``)."""
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.registry import create_model

    name, params = CONFIGS[label]
    model = create_model(name, params)
    start = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - start
    res = evaluate(model, test, protocol="binary")
    row = {"model": label, "params": params}
    if refit:
        row.update({f"stage1_{k}": res[k] for k in ("auc", "logloss", "accuracy")})
        start = time.perf_counter()
        model = model.refit(train)
        fit_s += time.perf_counter() - start
        res = evaluate(model, test, protocol="binary")
    row.update(
        auc=res["auc"],
        logloss=res["logloss"],
        accuracy=res["accuracy"],
        best_epoch=int(model.best_epoch_),
        epochs_run=int(model.epochs_run_),
        fit_s=fit_s,
        refit=refit,
    )
    return row


# LightFM runs in the peers venv; it gets the split as arrays and prints one JSON line.
_LIGHTFM = r"""
import json, sys, time
import numpy as np, scipy.sparse as sp
from lightfm import LightFM
z = np.load(sys.argv[1])
nu, ni = int(z["n_users"]), int(z["n_items"])
def mat(u, i, y):
    return sp.coo_matrix((np.where(y > 0, 1.0, -1.0).astype(np.float32), (u, i)), shape=(nu, ni))
def feats(cols, n):
    m = sp.hstack([sp.identity(n, format="csr")] + [sp.csr_matrix((np.ones(len(c)), (np.arange(n), c)), shape=(n, int(c.max()) + 1)) for c in cols]).tocsr()
    return m
def auc(y, s):
    order = np.argsort(s, kind="mergesort"); ranks = np.empty(len(s)); ranks[order] = np.arange(1, len(s) + 1)
    _, inv, cnt = np.unique(s, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks); ranks = (sums / cnt)[inv]
    p = y > 0; n1 = p.sum(); n0 = len(y) - n1
    return float((ranks[p].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
uf = feats([z[k] for k in z.files if k.startswith("uf_")], nu)
itf = sp.hstack([sp.identity(ni, format="csr"), sp.csr_matrix(z["item_genres"])]).tocsr()
rng = np.random.default_rng(0)
val = rng.random(len(z["tr_u"])) < 0.1
fit = mat(z["tr_u"][~val], z["tr_i"][~val], z["tr_y"][~val])
m = LightFM(no_components=32, loss="logistic", learning_rate=0.05, item_alpha=1e-6, user_alpha=1e-6, random_state=0)
best = (-1, 0, None)
t0 = time.perf_counter()
bad = 0
for ep in range(1, 31):
    m.fit_partial(fit, user_features=uf, item_features=itf, epochs=1, num_threads=1)
    v = auc(z["tr_y"][val], m.predict(z["tr_u"][val].astype(np.int32), z["tr_i"][val].astype(np.int32), user_features=uf, item_features=itf))
    if v > best[0]:
        s = m.predict(z["te_u"].astype(np.int32), z["te_i"].astype(np.int32), user_features=uf, item_features=itf)
        best, bad = (v, ep, s), 0
    else:
        bad += 1
        if bad >= 2:
            break
fit_s = time.perf_counter() - t0
y = z["te_y"]; p = np.clip(1 / (1 + np.exp(-best[2])), 1e-7, 1 - 1e-7)
print(json.dumps({"model": "lightfm (logistic)", "auc": auc(y, best[2]), "logloss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
                  "accuracy": float(np.mean((p >= 0.5) == (y > 0))), "best_epoch": best[1], "epochs_run": ep, "fit_s": fit_s}))
"""


def run_lightfm(train, test) -> dict | None:
    """LightFM in the peers venv (None when it is not installed there)."""
    if not PEERS_PY.exists():
        return None
    probe = subprocess.run([str(PEERS_PY), "-c", "import lightfm"], capture_output=True)
    if probe.returncode != 0:
        return None
    from cofirec.data.encoding import FeatureEncoder, encode_entities

    uenc = FeatureEncoder().fit(train.user_features)
    ut = encode_entities(train.user_features, train.user_map, uenc)
    ienc = FeatureEncoder(columns=["genres"]).fit(train.item_features)
    it = encode_entities(train.item_features, train.item_map, ienc)
    genres = np.zeros((train.n_items, it.multi_cards[0]), dtype=np.float32)
    rows = np.repeat(np.arange(train.n_items), it.multi.shape[1])
    genres[rows, it.multi.ravel()] = 1.0
    genres[:, 0] = 0.0
    arrays = {
        "n_users": np.int64(train.n_users),
        "n_items": np.int64(train.n_items),
        "tr_u": train.users,
        "tr_i": train.items,
        "tr_y": train.ratings,
        "te_u": test.users,
        "te_i": test.items,
        "te_y": test.ratings,
        "item_genres": genres,
        **{f"uf_{k}": ut.single[:, k] for k in range(1, ut.single.shape[1])},
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "split.npz"
        np.savez(path, **arrays)
        out = subprocess.run([str(PEERS_PY), "-c", _LIGHTFM, str(path)], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if out.returncode != 0:
        print(f"lightfm failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def sweep_one(args: tuple[Path, int, dict, dict]) -> dict:
    """Fit a setting (``base`` updated by ``extra``) on train minus a validation slice; score the slice.

    ``extra`` may name ``model`` (default ``deepfm``) and ``target``: ``"binary"`` (default, the like/dislike
    labels) or ``"ratings"`` (regress the 1-5 ratings of the same pairs with MSE; AUC of the predicted rating
    against the slice's labels, no log-loss).
    """
    from cofirec.data.splits import random_split
    from cofirec.evaluate import metrics
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.registry import create_model

    folder, index, base, extra = args
    extra = dict(extra)
    name, target = extra.pop("model", "deepfm"), extra.pop("target", "binary")
    train, _ = load_split(folder, ratings=target == "ratings")
    fit, val = random_split(train, 0.1, seed=1)
    params = {**base, **extra} if name == "deepfm" else extra
    model = create_model(name, params)
    start = time.perf_counter()
    model.fit(fit, validation=val)
    fit_s = time.perf_counter() - start
    if target == "ratings":
        labels = (val.ratings >= LIKE).astype(np.float64)
        auc, logloss = metrics.auc(labels, model.predict(val.user_map.to_raw(val.users), val.item_map.to_raw(val.items))), None
    else:
        res = evaluate(model, val, protocol="binary")
        auc, logloss = res["auc"], res["logloss"]
    return {
        "index": index,
        "params": {"model": name, "target": target, **extra},
        "val_auc": auc,
        "val_logloss": logloss,
        "best_epoch": int(model.best_epoch_),
        "epochs_run": int(model.epochs_run_),
        "fit_s": fit_s,
    }


def run_sweep(folder: Path, grid_path: Path, out: Path | None, jobs: int, seconds: float = float("inf"), base: str = "old") -> None:
    """Run :func:`sweep_one` for every setting of the JSON list at ``grid_path`` (``jobs`` processes) on top of
    ``SWEEP_BASE`` (``base="old"``) or ``CONFIGS["deepfm"]`` (``"tuned"``); settings not finished after
    ``seconds`` are dropped (the workers are terminated)."""
    import multiprocessing as mp

    grid = DEEPFM_GRID if str(grid_path) == "default" else json.loads(grid_path.read_text())
    base_params = dict(SWEEP_BASE if base == "old" else CONFIGS["deepfm"][1])
    tasks = [(folder, i, base_params, dict(g)) for i, g in enumerate(grid)]
    deadline = time.monotonic() + seconds
    with mp.get_context("spawn").Pool(jobs) as pool:
        results = pool.imap_unordered(sweep_one, tasks)
        for _ in tasks:
            try:
                row = results.next(timeout=max(deadline - time.monotonic(), 0.01) if seconds != float("inf") else None)
            except mp.TimeoutError:
                print(f"sweep: stopped after {seconds:g} s", file=sys.stderr, flush=True)
                break
            line = json.dumps(row)
            print(line, flush=True)
            if out is not None:
                with out.open("a") as fh:
                    fh.write(line + "\n")


def table(rows: list[dict]) -> str:
    head = "| model | AUC | log-loss | accuracy | best epoch (run) | refit (stage-1 AUC) | fit time (s) |\n|---|---:|---:|---:|---:|---:|---:|"
    lines = [
        f"| {r['model']} | {r['auc']:.4f} | {r['logloss']:.4f} | {r['accuracy']:.4f} | {r['best_epoch']} ({r['epochs_run']}) | "
        f"{'yes (%.4f)' % r['stage1_auc'] if r.get('refit') else 'no'} | {r['fit_s']:.0f} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="ml-1m-half folder (ML-1M layout)")
    ap.add_argument("--models", default="deepfm,deepfm-ordinal,cosine-cf,embedding-dot,lightfm")
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    ap.add_argument("--merge", type=Path, nargs="+", default=None, help="only print the table of earlier --out files")
    ap.add_argument("--sweep", type=Path, default=None, help="JSON list of DeepFM settings to score on a validation slice of train ('default': DEEPFM_GRID)")
    ap.add_argument("--deepfm", default=None, help="JSON dict of DeepFM parameters on top of CONFIGS['deepfm']")
    ap.add_argument("--jobs", type=int, default=1, help="processes for --sweep")
    ap.add_argument("--refit", action="store_true", help="cofirec models: refit on the whole training split for the chosen epoch count")
    ap.add_argument("--sweep-seconds", type=float, default=float("inf"), help="stop --sweep after this many seconds")
    ap.add_argument("--sweep-base", choices=("old", "tuned"), default="old", help="settings --sweep starts from: SWEEP_BASE or CONFIGS['deepfm']")
    args = ap.parse_args(argv)
    if args.merge:
        print(table([row for path in args.merge for row in json.loads(path.read_text())]))
        return 0
    if not (args.data / "ratings.dat").is_file():
        print(f"ml-1m-half not found at {args.data}", file=sys.stderr)
        return 2
    if args.deepfm:
        CONFIGS["deepfm"] = ("deepfm", {**CONFIGS["deepfm"][1], **json.loads(args.deepfm)})
    if args.sweep is not None:
        run_sweep(args.data, args.sweep, args.out, args.jobs, args.sweep_seconds, args.sweep_base)
        return 0
    train, test = load_split(args.data)
    print(f"{args.data.name}: train {len(train):,} / test {len(test):,} labelled pairs, like rate {test.ratings.mean():.3f}", flush=True)
    rows = []
    for label in [m.strip() for m in args.models.split(",") if m.strip()]:
        row = run_lightfm(train, test) if label == "lightfm" else run_cofirec(label, train, test, args.refit)
        if row is None:
            print(f"{label}: skipped (not installed in bench/.venv-peers)", flush=True)
            continue
        rows.append(row)
        print(f"{row['model']}: auc {row['auc']:.4f} logloss {row['logloss']:.4f} ({row['fit_s']:.0f} s)", flush=True)
    print()
    print(table(rows))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
