"""Default settings against alternatives, on validation data carved from training data only.

    python bench/bench_defaults.py --data-dir ../shared/data [--kind rating|binary|implicit] [--datasets ...] [--grid]

For each dataset the training part is split again and the test part is never read. Datasets:

* ``ml-100k-u1``: ML-100K ``u1.base``;
* ``ml-latest-small``: the training part of a random 80/20 split (seed 0) of ``ml-latest-small``;
* ``ml-1m-half``: the training part of a random 90/10 split (seed 0) of ``ml-1m-half/ratings.dat``.

Kinds: ``rating`` (default): ``random_split(train, 0.1, seed=0)``, RMSE / MAE on the held-out 10 %;
``binary``: the same rows with the rating turned into a like (>= 4), AUC of the predicted scores;
``implicit``: every rating an interaction, ``validation_split(train, 0.2, seed=0)`` (per user), NDCG@10 and
recall@10 over all unseen items. Each kind runs the candidates of the models that fit it (:data:`CANDIDATES`).

``--grid`` first prints the small ``mf`` grid the default was picked from: each setting early-stopped on the
rating validation part (up to 80 epochs, patience 4), with its best epoch (the in-model ``val_rmse`` leaves
out pairs of users or items unseen in training, so it is lower than the table's RMSE).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

# model -> (kinds it is checked on, [(label, parameter overrides)]); the empty dict is the current class default
CANDIDATES: dict[str, tuple[tuple[str, ...], list[tuple[str, dict]]]] = {
    "mf": (
        ("rating", "binary"),
        [
            ("old default (biased MF, 60 epochs, lr 0.01)", {"implicit_feedback": False, "epochs": 60, "lr": 0.01, "reg_implicit": None}),
            ("SVD++ of bench_classic (26 epochs, lr 0.007, reg_implicit 0.2)", {"epochs": 26, "lr": 0.007, "reg_implicit": 0.2}),
            ("new default (SVD++, 20 epochs, lr 0.01, reg_implicit 0.5)", {}),
        ],
    ),
    "embedding-dot": (
        ("rating", "implicit"),
        [
            ("old default (lr 0.001, batch 1024, 20 epochs, no holdout)", {"holdout": 0.0}),
            ("new default (the same, early stopping on a 10% holdout)", {}),
            ("early stopping on a 10% holdout, up to 40 epochs", {"epochs": 40}),
            ("bench explicit (lr 0.002, reg 0.05, batch 4096, holdout 0.1, 30 epochs)", {"lr": 0.002, "reg": 0.05, "batch_size": 4096, "epochs": 30}),
            ("lr 0.002, batch 4096, holdout 0.1, 30 epochs", {"lr": 0.002, "batch_size": 4096, "epochs": 30}),
        ],
    ),
}


def load_train(name: str, data_dir: Path):
    from cofirec.data.movielens import load_movielens
    from cofirec.data.readers import read_ratings_file
    from cofirec.data.splits import random_split

    if name == "ml-100k-u1":
        return read_ratings_file(data_dir / "ml-100k" / "u1.base", columns=["user", "item", "rating", "timestamp"])
    if name == "ml-latest-small":
        return random_split(load_movielens(data_dir / "ml-latest-small"), 0.2, seed=0).train
    if name == "ml-1m-half":
        data = read_ratings_file(data_dir / "ml-1m-half" / "ratings.dat", columns=["user", "item", "rating", "timestamp"], sep="::")
        return random_split(data, 0.1, seed=0).train
    raise SystemExit(f"unknown dataset {name!r}")


MF_GRID = [(ifb, lr, reg, ri) for ifb in (False, True) for lr in (0.005, 0.007, 0.01) for reg in (0.08, 0.1) for ri in (0.2, 0.5) if ifb or ri == 0.2]
"""(implicit_feedback, lr, reg, reg_implicit) settings of ``--grid``."""


def grid(datasets: list[str], data_dir: Path) -> None:
    from cofirec.data.splits import random_split
    from cofirec.models.registry import create_model

    for ds in datasets:
        parts = random_split(load_train(ds, data_dir), 0.1, seed=0)
        for ifb, lr, reg, ri in MF_GRID:
            params = {"implicit_feedback": ifb, "lr": lr, "reg": reg, "reg_implicit": ri, "epochs": 80, "patience": 4}
            model = create_model("mf", params).fit(parts.train, validation=parts.test)
            vals = [r["val_rmse"] for r in model.history_]
            best = min(range(len(vals)), key=vals.__getitem__)
            print(f"{ds:16s} svd++={ifb!s:5s} lr={lr} reg={reg} reg_implicit={ri}: best val_rmse {vals[best]:.4f} at epoch {best + 1}", flush=True)


def validation_parts(data, kind: str):
    from cofirec.data.splits import random_split, validation_split

    if kind == "implicit":
        return validation_split(data.as_implicit(), 0.2, seed=0)
    return random_split(data.binarize(4) if kind == "binary" else data, 0.1, seed=0)


def score(model, valid, kind: str) -> dict:
    from cofirec.evaluate.metrics import auc
    from cofirec.evaluate.runner import evaluate

    if kind == "binary":  # mf's scores are not probabilities: AUC only
        return {"auc": auc(valid.ratings, model.predict(valid.user_map.to_raw(valid.users), valid.item_map.to_raw(valid.items)))}
    if kind == "implicit":
        res = evaluate(model, valid, protocol="ranking", k=(10,))
        return {"ndcg@10": res["ndcg@10"], "recall@10": res["recall@10"]}
    res = evaluate(model, valid, protocol="rating")
    return {"rmse": res["rmse"], "mae": res["mae"]}


def run(datasets: list[str], data_dir: Path, kind: str = "rating") -> list[dict]:
    """Fit every candidate of the models checked on ``kind`` on each dataset's validation split and score it."""
    from cofirec.models.registry import create_model

    rows = []
    for ds in datasets:
        parts = validation_parts(load_train(ds, data_dir), kind)
        for model, (kinds, settings) in CANDIDATES.items():
            if kind not in kinds:
                continue
            for label, params in settings:
                t0 = time.perf_counter()
                fitted = create_model(model, params).fit(parts.train)
                res = score(fitted, parts.test, kind)
                rows.append({"dataset": ds, "model": model, "setting": label, **res, "epochs": len(fitted.history_), "fit_s": time.perf_counter() - t0})
                shown = " ".join(f"{k} {v:.4f}" for k, v in res.items())
                print(f"{ds:16s} {model:13s} {label:62s} {shown} ({rows[-1]['epochs']} epochs, {rows[-1]['fit_s']:.1f}s)", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--datasets", nargs="+", default=["ml-100k-u1", "ml-latest-small", "ml-1m-half"])
    ap.add_argument("--kind", choices=("rating", "binary", "implicit"), default="rating")
    ap.add_argument("--grid", action="store_true", help="first print the mf grid the default was picked from")
    args = ap.parse_args()
    print(f"{platform.machine()}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if args.grid:
        grid(args.datasets, args.data_dir)
    rows = run(args.datasets, args.data_dir, kind=args.kind)
    metrics = [k for k in rows[0] if k not in ("dataset", "model", "setting", "epochs", "fit_s")] if rows else []
    print(f"\n| dataset | model | setting | {' | '.join('val ' + m for m in metrics)} | epochs | fit s |")
    print("|---|---|---|" + "---:|" * (len(metrics) + 2))
    for r in rows:
        print(f"| {r['dataset']} | {r['model']} | {r['setting']} | " + " | ".join(f"{r[m]:.4f}" for m in metrics) + f" | {r['epochs']} | {r['fit_s']:.1f} |")


if __name__ == "__main__":
    main()
