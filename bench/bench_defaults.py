"""Default settings against the settings they replaced, on validation data carved from training data only.

    python bench/bench_defaults.py --data-dir ../shared/data [--datasets ml-100k-u1 ml-latest-small] [--grid]

For each dataset the training part is split again (``random_split(train, 0.1, seed=0)``): models are fitted on
90 % of it and scored on the other 10 % (RMSE for rating models). Test parts are never read. Datasets:

* ``ml-100k-u1``: ML-100K ``u1.base``;
* ``ml-latest-small``: the training part of a random 80/20 split (seed 0) of ``ml-latest-small``;
* ``ml-1m-half``: the training part of a random 90/10 split (seed 0) of ``ml-1m-half/ratings.dat``.

``--binary`` scores the same candidates on like/dislike labels (rating >= 4) of the same rows, by AUC.

``--grid`` first prints the small ``mf`` grid the default was picked from: each setting early-stopped on the
same validation part (up to 80 epochs, patience 4), with its best epoch (the in-model ``val_rmse`` leaves out
pairs of users or items unseen in training, so it is lower than the table's RMSE).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

# model -> [(label, parameter overrides)]; the empty dict is the current class default
CANDIDATES: dict[str, list[tuple[str, dict]]] = {
    "mf": [
        ("old default (biased MF, 60 epochs, lr 0.01)", {"implicit_feedback": False, "epochs": 60, "lr": 0.01, "reg_implicit": None}),
        ("SVD++ of bench_classic (26 epochs, lr 0.007, reg_implicit 0.2)", {"epochs": 26, "lr": 0.007, "reg_implicit": 0.2}),
        ("new default (SVD++, 20 epochs, lr 0.01, reg_implicit 0.5)", {}),
    ],
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


MF_GRID = [(ifb, lr, reg, ri) for ifb in (False, True) for lr in (0.005, 0.007, 0.01) for reg in (0.08, 0.1) for ri in (0.2, 0.5)
           if ifb or ri == 0.2]
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


def run(datasets: list[str], data_dir: Path, binary: bool = False) -> list[dict]:
    """Fit every candidate on each dataset's validation split; RMSE / MAE, or with ``binary`` (ratings >= 4 are
    likes) the AUC of the predicted scores (mf's scores are not probabilities)."""
    from cofirec.data.splits import random_split
    from cofirec.evaluate.metrics import auc
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.registry import create_model

    rows = []
    for ds in datasets:
        data = load_train(ds, data_dir)
        parts = random_split(data.binarize(4) if binary else data, 0.1, seed=0)
        for model, settings in CANDIDATES.items():
            for label, params in settings:
                t0 = time.perf_counter()
                fitted = create_model(model, params).fit(parts.train)
                if binary:
                    t = parts.test
                    res = {"auc": auc(t.ratings, fitted.predict(t.user_map.to_raw(t.users), t.item_map.to_raw(t.items)))}
                else:
                    res = evaluate(fitted, parts.test, protocol="rating")
                rows.append({"dataset": ds + (" like/dislike" if binary else ""), "model": model, "setting": label, **res,
                             "fit_s": time.perf_counter() - t0})
                shown = f"AUC {res['auc']:.4f}" if binary else f"RMSE {res['rmse']:.4f} MAE {res['mae']:.4f}"
                print(f"{ds:16s} {model:6s} {label:62s} {shown} ({rows[-1]['fit_s']:.1f}s)", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    ap.add_argument("--datasets", nargs="+", default=["ml-100k-u1", "ml-latest-small", "ml-1m-half"])
    ap.add_argument("--grid", action="store_true", help="first print the mf grid the default was picked from")
    ap.add_argument("--binary", action="store_true", help="like/dislike labels (rating >= 4) instead of ratings; AUC")
    args = ap.parse_args()
    print(f"{platform.machine()}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if args.grid:
        grid(args.datasets, args.data_dir)
    rows = run(args.datasets, args.data_dir, binary=args.binary)
    if args.binary:
        print("\n| dataset | model | setting | val AUC | fit s |\n|---|---|---|---:|---:|")
        for r in rows:
            print(f"| {r['dataset']} | {r['model']} | {r['setting']} | {r['auc']:.4f} | {r['fit_s']:.1f} |")
        return
    print("\n| dataset | model | setting | val RMSE | val MAE | fit s |\n|---|---|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dataset']} | {r['model']} | {r['setting']} | {r['rmse']:.4f} | {r['mae']:.4f} | {r['fit_s']:.1f} |")


if __name__ == "__main__":
    main()
