"""Fold-in benchmark: how closely ``recommend_history`` (a new user, no retraining) reproduces a known user's list.

One command (from the repository root)::

    .venv/bin/python bench/bench_fold_in.py --data-dir ../shared/data

Every registered model is fitted on ML-100K ``u1.base`` (explicit ratings for models that predict ratings,
all ratings as implicit positives for ranking models, binary likes (rating >= 4) for cosine-cf), with its
defaults (neural models: ``--neural-epochs`` epochs, default 10, to bound the run time). For the first
``--users`` training users, the user's own training history is given to ``recommend_history`` as if they
were new; the table shows the mean share of their known-user top-10 that the fold-in list also holds, and
the mean time of one fold-in call.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

VARIANTS = {"svdpp": ("mf", {"implicit_feedback": True, "lr": 0.007, "reg": 0.08, "reg_implicit": 0.2, "epochs": 26})}
"""Extra rows: a registered model with other parameters (SVD++: the setting of bench_classic.py)."""
RANKING = {"popularity", "ials", "bpr", "ease", "gmf", "mlp", "neumf", "two-tower"}
BINARY = {"cosine-cf"}


def data_for(name: str, ratings):
    if name in BINARY:
        return ratings.binarize(4), "binary"
    if name in RANKING:
        return ratings.as_implicit(), "implicit"
    return ratings, "explicit"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--models", default="")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--neural-epochs", type=int, default=10)
    args = ap.parse_args(argv)
    from cofirec.data.splits import train_test_from_files
    from cofirec.models.registry import MODELS, create_model
    from cofirec.testing import fold_in_overlap

    folder = Path(args.data_dir) / "ml-100k"
    train, _ = train_test_from_files(folder / "u1.base", folder / "u1.test")
    names = [m for m in (args.models.split(",") if args.models else MODELS)]
    print("| model | data | overlap@10 | fold-in ms | fit s |")
    print("|---|---|---|---|---|")
    for name in names:
        base, params = VARIANTS.get(name, (name, {}))
        data, kind = data_for(base, train)
        model = create_model(base, params)
        if "device" in model.get_params():
            model.set_params(epochs=args.neural_epochs, device="cpu")
        start = time.perf_counter()
        model.fit(data)
        fit_s = time.perf_counter() - start
        users = data.user_map.ids[: args.users]
        start = time.perf_counter()
        overlap = fold_in_overlap(model, users, 10)
        per_call = (time.perf_counter() - start) / len(users) * 1000
        print(f"| {name} | {kind} | {overlap:.3f} | {per_call:.1f} | {fit_s:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
