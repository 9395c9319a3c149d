"""Neural CF benchmark: NCF leave-one-out ranking, explicit RMSE, CPU throughput, initialiser learning curves.

One command runs everything and prints the tables::

    python bench/bench_neural.py --data-dir ../shared/data --jobs 4 --write-results

Protocols (fixed seeds; validation always carved from the training data, never from the test set):

* ``ncf``: ``ncf-ml-1m-half`` train / test / 99 (or fewer) test negatives, as implicit feedback. Fit on the
  train file minus each user's latest interaction (validation, ranked against 99 sampled items) with early
  stopping (best epoch restored); with ``--refit`` a second fit on the whole train file for the best epoch
  count (twice the time); HR@10 / NDCG@10 on the test file with ``evaluate(..., protocol="sampled")``.
* ``explicit``: ``ml-1m-half/ratings.dat``, random 90/10 split (seed 0); 10% of train (per user) is the
  validation set for early stopping; stage 2 refits on all of train for the best epoch count; test RMSE.
* ``throughput``: one epoch of each model on the NCF train file with 4 negatives per positive.
* ``curves``: EmbeddingDot on ML-100K (u1.base, 10% validation) at lr 0.01 with three initialisers; train and
  validation MSE per epoch plotted to ``bench/results/neural_init_curves.png``.

Each job runs in its own process (``--jobs`` in parallel) and leaves a JSON record in ``bench/results/neural/``;
the tables are built from those records, so ``--report`` reprints them without training.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RECORDS = RESULTS / "neural"
QUICK_RECORDS = RESULTS / "tmp" / "neural-quick"
MARK_START = "<!-- neural-cf-A start -->"
MARK_END = "<!-- neural-cf-A end -->"

COMMON = {"batch_size": 4096, "random_state": 0, "epochs": 20, "patience": 2}
NCF_MODELS: dict[str, tuple[str, dict]] = {
    "popularity": ("popularity", {}),
    "gmf": ("gmf", {**COMMON, "factors": 64, "lr": 0.003, "negatives": 4, "epochs": 12}),
    "mlp": ("mlp", {**COMMON, "layers": (64, 32, 16), "init": "normal(0.05)", "lr": 0.005, "negatives": 4, "epochs": 12}),
    "neumf": ("neumf", {**COMMON, "factors": 32, "layers": (64, 32, 16), "init": "normal(0.05)", "lr": 0.003, "negatives": 4, "epochs": 12}),
    "embedding-dot": ("embedding-dot", {**COMMON, "factors": 64, "lr": 0.003, "negatives": 4, "epochs": 12}),
    "embedding-dot-f128": ("embedding-dot", {**COMMON, "factors": 128, "lr": 0.003, "negatives": 8, "batch_size": 8192, "reg": 0.005, "epochs": 16}),
    "embedding-dot-softmax": ("embedding-dot", {**COMMON, "factors": 128, "loss": "softmax", "negatives": 16, "lr": 0.002, "batch_size": 1024, "epochs": 10}),
    "embedding-dot-full-softmax": (
        "embedding-dot",
        {**COMMON, "factors": 128, "loss": "full_softmax", "lr": 0.002, "batch_size": 1024, "epochs": 12, "patience": 3},
    ),
    "embedding-dot-full-softmax-f256": (
        "embedding-dot",
        {**COMMON, "factors": 256, "loss": "full_softmax", "lr": 0.002, "batch_size": 1024, "epochs": 14, "patience": 3},
    ),
    "embedding-dot-full-softmax-recency": (
        "embedding-dot",
        {**COMMON, "factors": 128, "loss": "full_softmax", "lr": 0.002, "batch_size": 1024, "epochs": 12, "patience": 3, "recency": 10.0},
    ),
    # the registered preset of the row above, by name: its 6 epochs on the whole train file (= that row's refit)
    "next-item": ("next-item", {}),
}
EXPLICIT_MODELS: dict[str, tuple[str, dict]] = {
    "baseline": ("baseline", {}),
    "embedding-dot": ("embedding-dot", {**COMMON, "factors": 64, "lr": 0.002, "reg": 0.05, "epochs": 30, "patience": 3}),
    "embedding-dot-f128": ("embedding-dot", {**COMMON, "factors": 128, "lr": 0.002, "reg": 0.07, "epochs": 30, "patience": 3}),
    "gmf": ("gmf", {**COMMON, "factors": 64, "lr": 0.002, "reg": 0.05, "epochs": 30, "patience": 3}),
}
THROUGHPUT_MODELS: dict[str, tuple[str, dict]] = {
    "embedding-dot": ("embedding-dot", {"factors": 64, "holdout": 0.0}),
    "gmf": ("gmf", {"factors": 64}),
    "mlp": ("mlp", {"layers": (64, 32, 16, 8)}),
    "neumf": ("neumf", {"factors": 16, "layers": (64, 32, 16, 8)}),
}
CURVE_INITS = ("he_normal", "lecun_uniform", "glorot_uniform")


# ---------------------------------------------------------------------- data
def load_ncf(data_dir: Path):
    from cofirec.data.negatives import read_ncf_negatives
    from cofirec.data.readers import read_ratings_file

    d = data_dir / "ncf-ml-1m-half"
    cols = ["user", "item", "rating", "timestamp"]
    train = read_ratings_file(d / "ml-1m-half.train.rating", columns=cols).as_implicit()
    test = read_ratings_file(d / "ml-1m-half.test.rating", columns=cols).as_implicit()
    negatives = read_ncf_negatives(d / "ml-1m-half.test.negative")
    return train, test, negatives


def load_ml1m_half(data_dir: Path):
    from cofirec.data.readers import read_ratings_file

    return read_ratings_file(data_dir / "ml-1m-half" / "ratings.dat", columns=["user", "item", "rating", "timestamp"], sep="::")


# ---------------------------------------------------------------------- jobs
def _epoch_stats(history: list[dict]) -> dict:
    if not history:
        return {}
    sec = [r["seconds"] for r in history]
    cpu = [r.get("cpu_seconds", float("nan")) for r in history]
    return {
        "epoch_s": float(sorted(sec)[len(sec) // 2]),
        "epoch_cpu_s": float(sorted(cpu)[len(cpu) // 2]),
        "samples_per_s": float(history[0]["samples"] / sorted(sec)[len(sec) // 2]),
    }


def job_ncf(key: str, data_dir: Path, quick: bool, refit: bool = False) -> dict:
    from cofirec.data.splits import leave_last_out
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.registry import create_model

    name, params = NCF_MODELS[key]
    params = dict(params)
    if quick and "epochs" in params:
        params["epochs"] = 2
    train, test, negatives = load_ncf(data_dir)
    out: dict = {"section": "ncf", "key": key, "model": name, "params": params}
    t0 = time.perf_counter()
    if "epochs" in params:
        tr, va = leave_last_out(train, 1)
        stage1 = create_model(name, params).fit(tr, validation=va)
        best = stage1.history_[stage1.best_epoch_ - 1]
        out.update(best_epoch=stage1.best_epoch_, val_hr=best.get("val_hr@10"), val_ndcg=best.get("val_ndcg@10"))
        out["history"] = stage1.history_
        out.update(_epoch_stats(stage1.history_))
        final = stage1
        if refit:
            res1 = evaluate(stage1, test, protocol="sampled", negatives=negatives, k=(10,))
            out.update(stage1_hr10=res1["hr@10"], stage1_ndcg10=res1["ndcg@10"])
            final = stage1.refit(train)
    else:
        final = create_model(name, params).fit(train)
    out["refit"] = refit
    res = evaluate(final, test, protocol="sampled", negatives=negatives, k=(10,))
    out.update(hr10=res["hr@10"], ndcg10=res["ndcg@10"], seconds=time.perf_counter() - t0)
    return out


def job_explicit(key: str, data_dir: Path, quick: bool) -> dict:
    from cofirec.data.splits import random_split, validation_split
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.registry import create_model

    name, params = EXPLICIT_MODELS[key]
    params = dict(params)
    if quick and "epochs" in params:
        params["epochs"] = 2
    train, test = random_split(load_ml1m_half(data_dir), 0.1, seed=0)
    out: dict = {"section": "explicit", "key": key, "model": name, "params": params}
    t0 = time.perf_counter()
    if "epochs" in params:
        tr, va = validation_split(train, 0.1, seed=0)
        stage1 = create_model(name, params).fit(tr, validation=va)
        out.update(best_epoch=stage1.best_epoch_, val_rmse=stage1.history_[stage1.best_epoch_ - 1]["val_rmse"])
        out["history"] = stage1.history_
        out.update(_epoch_stats(stage1.history_))
        out["stage1_test_rmse"] = evaluate(stage1, test, protocol="rating")["rmse"]
        final = create_model(name, {**params, "epochs": int(stage1.best_epoch_), "patience": 0}).fit(train)
    else:
        final = create_model(name, params).fit(train)
    res = evaluate(final, test, protocol="rating")
    out.update(rmse=res["rmse"], mae=res["mae"], seconds=time.perf_counter() - t0)
    return out


def job_throughput(key: str, data_dir: Path, quick: bool) -> dict:
    from cofirec.models.registry import create_model

    name, params = THROUGHPUT_MODELS[key]
    train, _, _ = load_ncf(data_dir)
    if quick:
        train = train.subset(np.arange(50_000))
    params = {**params, "epochs": 1, "negatives": 4, "batch_size": 1024, "patience": 0}
    model = create_model(name, params).fit(train)
    rec = model.history_[0]
    return {
        "section": "throughput",
        "key": key,
        "model": name,
        "params": params,
        "positives": len(train),
        "samples": rec["samples"],
        "epoch_s": rec["seconds"],
        "epoch_cpu_s": rec["cpu_seconds"],
        "samples_per_s": rec["samples_per_s"],
    }


def job_curves(key: str, data_dir: Path, quick: bool) -> dict:
    from cofirec.data.readers import read_ratings_file
    from cofirec.data.splits import validation_split
    from cofirec.models.registry import create_model

    data = read_ratings_file(data_dir / "ml-100k" / "u1.base", columns=["user", "item", "rating", "timestamp"])
    tr, va = validation_split(data, 0.1, seed=0)
    params = {"factors": 64, "lr": 0.01, "init": key, "epochs": 3 if quick else 20, "patience": 0, "batch_size": 1024}
    model = create_model("embedding-dot", params).fit(tr, validation=va)
    return {"section": "curves", "key": key, "model": "embedding-dot", "params": params, "history": model.history_}


JOBS = {
    "ncf": (job_ncf, NCF_MODELS),
    "explicit": (job_explicit, EXPLICIT_MODELS),
    "throughput": (job_throughput, THROUGHPUT_MODELS),
    "curves": (job_curves, {k: None for k in CURVE_INITS}),
}


def run_job(section: str, key: str, data_dir: Path, quick: bool, refit: bool = False) -> Path:
    fn, _ = JOBS[section]
    rec = fn(key, data_dir, quick, refit) if section == "ncf" else fn(key, data_dir, quick)
    rec["threads"] = os.environ.get("COFIREC_THREADS", "")
    rec["load_avg"] = os.getloadavg()[0]
    folder = QUICK_RECORDS if quick else RECORDS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{section}-{key}.json"
    path.write_text(json.dumps(rec, indent=1, default=lambda v: list(v) if isinstance(v, tuple) else str(v)))
    return path


# ---------------------------------------------------------------------- report
def _load_records(quick: bool = False) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for path in sorted((QUICK_RECORDS if quick else RECORDS).glob("*.json")):
        rec = json.loads(path.read_text())
        out.setdefault(rec["section"], {})[rec["key"]] = rec
    return out


def _fmt(v, nd=4) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def _params_text(params: dict) -> str:
    skip = {"random_state", "patience"}
    return ", ".join(f"{k}={v}" for k, v in params.items() if k not in skip)


def goals(records: dict[str, dict[str, dict]]) -> list[str]:
    """The issue's targets, checked on the saved records (models chosen by validation, not by test)."""
    out = []
    ncf = {k: r for k, r in records.get("ncf", {}).items() if r.get("val_ndcg") is not None}
    if ncf:
        key = max(ncf, key=lambda k: ncf[k]["val_ndcg"])
        r = ncf[key]
        ok = r["hr10"] >= 0.73 and r["ndcg10"] >= 0.455
        best_test = max(ncf.values(), key=lambda x: x["ndcg10"])
        out.append(
            f"- NCF goal HR@10 >= 0.73 and NDCG@10 >= 0.455: best model by validation NDCG@10 is {key} with test "
            f"HR@10 {r['hr10']:.4f} / NDCG@10 {r['ndcg10']:.4f}: {'met' if ok else 'NOT met'} "
            f"(best on test: {best_test['key']} {best_test['hr10']:.4f} / {best_test['ndcg10']:.4f})."
        )
    ex = {k: r for k, r in records.get("explicit", {}).items() if r.get("val_rmse") is not None}
    if ex:
        key = min(ex, key=lambda k: ex[k]["val_rmse"])
        r = ex[key]
        out.append(
            f"- Explicit goal RMSE <= 0.855: best model by validation RMSE is {key} with test RMSE {r['rmse']:.4f}: "
            f"{'met' if r['rmse'] <= 0.855 else 'NOT met'}."
        )
    tp = records.get("throughput", {}).get("neumf")
    if tp:
        out.append(
            f"- NeuMF epoch (4 negatives) < 30 s: {tp['epoch_cpu_s']:.1f} s of CPU time on one thread "
            f"({'met' if tp['epoch_cpu_s'] < 30 else 'NOT met'} for an idle core); {tp['epoch_s']:.0f} s wall on the shared "
            f"machine at load average {tp['load_avg']:.0f}."
        )
    return out


def _stage1(rec: dict) -> str:
    """Test HR@10 / NDCG@10 of the stage-1 model (trained without the validation items), when refitted."""
    if rec.get("stage1_hr10") is None:
        return ""
    return f"{rec['stage1_hr10']:.4f} / {rec['stage1_ndcg10']:.4f}"


def report(records: dict[str, dict[str, dict]]) -> str:
    lines: list[str] = []
    checked = goals(records)
    if checked:
        lines += ["### Goals", "", *checked, ""]
    ncf = records.get("ncf", {})
    if ncf:
        lines += [
            "### NCF leave-one-out (ncf-ml-1m-half, sampled negatives)",
            "",
            "| model | params | best epoch | val HR@10 | val NDCG@10 | test HR@10 / NDCG@10 (stage 1) | refit | test HR@10 | test NDCG@10 | epoch s | epoch CPU s | samples/s |",
            "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
        for key in NCF_MODELS:
            r = ncf.get(key)
            if r:
                lines.append(
                    f"| {key} | {_params_text(r['params'])} | {_fmt(r.get('best_epoch'))} | {_fmt(r.get('val_hr'))} | {_fmt(r.get('val_ndcg'))} | "
                    f"{_stage1(r)} | {'yes' if r.get('refit') else 'no'} | {_fmt(r['hr10'])} | {_fmt(r['ndcg10'])} | {_fmt(r.get('epoch_s'), 1)} | {_fmt(r.get('epoch_cpu_s'), 1)} | {_fmt(r.get('samples_per_s'), 0)} |"
                )
        lines.append("")
    ex = records.get("explicit", {})
    if ex:
        lines += [
            "### Explicit ratings (ml-1m-half, random 90/10, seed 0)",
            "",
            "| model | params | best epoch | val RMSE | test RMSE (stage 1) | test RMSE | test MAE | epoch s | epoch CPU s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key in EXPLICIT_MODELS:
            r = ex.get(key)
            if r:
                lines.append(
                    f"| {key} | {_params_text(r['params'])} | {_fmt(r.get('best_epoch'))} | {_fmt(r.get('val_rmse'))} | {_fmt(r.get('stage1_test_rmse'))} | "
                    f"{_fmt(r['rmse'])} | {_fmt(r['mae'])} | {_fmt(r.get('epoch_s'), 1)} | {_fmt(r.get('epoch_cpu_s'), 1)} |"
                )
        lines.append("")
    tp = records.get("throughput", {})
    if tp:
        lines += [
            "### CPU throughput (one epoch, ncf-ml-1m-half train, 4 negatives per positive, batch 1024)",
            "",
            "| model | params | samples | epoch s (wall) | epoch CPU s | samples/s (wall) | samples per CPU s | threads | load avg |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key in THROUGHPUT_MODELS:
            r = tp.get(key)
            if r:
                lines.append(
                    f"| {key} | {_params_text(r['params'])} | {r['samples']:,} | {_fmt(r['epoch_s'], 1)} | {_fmt(r['epoch_cpu_s'], 1)} | "
                    f"{_fmt(r['samples_per_s'], 0)} | {_fmt(r['samples'] / r['epoch_cpu_s'], 0)} | {r.get('threads') or 'all'} | {_fmt(r.get('load_avg'), 1)} |"
                )
        lines.append("")
    cv = records.get("curves", {})
    if cv:
        lines += [
            "### Initialisers (EmbeddingDot on ML-100K u1.base, lr 0.01): final and best validation MSE",
            "",
            "| init | epochs | first train MSE | last train MSE | best val MSE (epoch) | last val MSE |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for key in CURVE_INITS:
            r = cv.get(key)
            if r:
                h = r["history"]
                vals = [e["val_loss"] for e in h]
                b = min(range(len(vals)), key=vals.__getitem__)
                lines.append(f"| {key} | {len(h)} | {_fmt(h[0]['loss'])} | {_fmt(h[-1]['loss'])} | {_fmt(vals[b])} ({b + 1}) | {_fmt(vals[-1])} |")
        lines += ["", "![learning curves](results/neural_init_curves.png)", ""]
    return "\n".join(lines)


def plot_curves(records: dict[str, dict[str, dict]]) -> Path | None:
    cv = records.get("curves", {})
    if not cv:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for key in CURVE_INITS:
        if key not in cv:
            continue
        h = cv[key]["history"]
        ep = [e["epoch"] for e in h]
        axes[0].plot(ep, [e["loss"] for e in h], marker="o", ms=3, label=key)
        axes[1].plot(ep, [e["val_loss"] for e in h], marker="o", ms=3, label=key)
    axes[0].set_title("train MSE")
    axes[1].set_title("validation MSE")
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("MSE (ratings)")
    fig.suptitle("EmbeddingDot on ML-100K u1.base, lr 0.01, three initialisers")
    fig.tight_layout()
    path = RESULTS / "neural_init_curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


NOTES = """### Notes

- NCF: every neural model scores about 0.03 HR@10 lower on the test file than on its validation item (each user's
  second-latest interaction against 99 items we sampled); the test items (latest per user) are harder. Stage-1 models
  (trained without the validation item) are evaluated unless the refit column says yes.
- Exploration runs on the same protocol (not in the records, test scores seen only after the fit): EmbeddingDot
  64 factors, 4 negatives, lr 0.002, no reg: test 0.6989 / 0.4220 (best epoch 12); with reg 0.001 and lr 0.003:
  0.6996 / 0.4225; 128 factors, 8 negatives, batch 8192, no reg: 0.7049 / 0.4243 (overfits after epoch 6). The
  ``embedding-dot-f128`` configuration (same with reg 0.005) did not finish before the deadline and has no row. More negatives and factors help; the goal of 0.73 / 0.455 needs further tuning (reg, lr
  decay, the refit on the full train file).
- Second round (02:00 UTC, settings chosen on validation only, test evaluated once for the chosen one): sampled
  softmax (``loss="softmax"``, the positive against 16 fresh negatives per epoch) beats BCE at every epoch.
  Validation HR@10 / NDCG@10 at the best epoch: softmax 128 factors, lr 0.002, no reg: 0.7329 / 0.4557 (epoch 8,
  chosen; row ``embedding-dot-softmax``, test 0.7099 / 0.4392); softmax 128 factors, lr 0.003, reg 0.002:
  0.7296 / 0.4506 (epoch 5, overfits after); BCE 128 factors, 8 negatives, batch 8192, reg 0.005: 0.7146 / 0.4358
  after 7 epochs (stopped by hand, still rising slowly); softmax 192 factors, reg 0.005: 0.6442 / 0.3752 after
  epoch 1 (stopped at the deadline). The ``embedding-dot-softmax`` record comes from that exploration fit (same
  seed, split and parameters as ``--sections ncf --models embedding-dot-softmax``), evaluated once on the test
  file. That round still missed the goal (0.73 / 0.455): the validation-to-test gap (~0.02 HR@10) eats the gain; next
  steps are stronger regularisation with more epochs, 32+ negatives and the refit on the full train file.
- Third round (2026-11-26 02:50-04:20 UTC, CPU, chosen on validation only): the full softmax
  (``loss="full_softmax"``: each positive against every item, one ``score_all`` per batch of 1024 positives,
  about 45 CPU-seconds an epoch at 128 factors) beats the sampled softmax. Validation HR@10 / NDCG@10 at the
  best epoch: 128 factors, lr 0.002: 0.7389 / 0.4599 (epoch 9; row ``embedding-dot-full-softmax``); 128 factors
  with reg 0.02: 0.7312 / 0.4565 at epoch 9 (stopped by hand, below the unregularised run at every epoch); 256
  factors at lr 0.001: 0.7069 / 0.4311 after 5 epochs (stopped by hand, slower than lr 0.002); 256 factors at
  lr 0.002: 0.7419 / 0.4677 at epoch 6 and 0.7409 / 0.4692 at epoch 7 (stopped by hand after epoch 8; chosen:
  row ``embedding-dot-full-softmax-f256``, whose bench run repeats that fit from the same seed). Both rows
  were run with ``--refit``: the model is refitted on the whole train file (the validation items, each user's
  latest training interaction, included) for the chosen number of epochs, and both the stage-1 and the refitted
  model are scored on the test file. Result: 128 factors 0.7206 / 0.4412 (stage 1) and 0.7292 / 0.4506
  (refit); 256 factors, the validation choice, 0.7132 / 0.4370 and 0.7246 / 0.4513. The refit is worth about
  +0.01 on both metrics (the latest training interaction matters for predicting the next one). That round
  still missed the goal (0.73 / 0.455), by 0.001-0.005 HR@10 and 0.004 NDCG@10; with 2,999 test users the standard
  error of HR@10 is about 0.008, so 128 against 256 factors is not a measurable difference on the test file,
  and picking between them by test score would be tuning on the test set.
- Fourth round (2026-11-26 04:37-04:50 UTC, chosen on validation only): recency weights (``recency=H``: each
  user's training interactions weigh ``0.5 ** (age / H)`` in the loss, age counted back from the latest). The
  test item of this protocol is each user's next interaction, so recent behaviour predicts it best. Full
  softmax, 128 factors, lr 0.002, validation HR@10 / NDCG@10 at the best epoch: no weights 0.7389 / 0.4599;
  H = 100: 0.7456 / 0.4694 at epoch 5 (stopped by hand); H = 30: 0.7699 / 0.5067 (epoch 6); H = 10:
  0.7769 / 0.5301 at epoch 5 (stopped by hand to start the bench run; chosen: row
  ``embedding-dot-full-softmax-recency``, whose bench run repeats that fit from the same seed with early stopping).
  Bench run (best epoch 6, validation 0.7776 / 0.5303): test 0.7269 / 0.4769 for the stage-1 model and
  **0.7559 / 0.5074** after the refit on the whole train file: the NCF goal (0.73 / 0.455) is met, above
  implicit's ALS (0.720 / 0.447) and the NCF paper's NeuMF on full ML-1M (0.726 / 0.445). The recency weights
  are worth +0.03 HR@10 / +0.06 NDCG@10 over the unweighted full softmax, and the refit another +0.03 here.
- MLP learns slowly from NCF's normal(0.01) embeddings; normal(0.05) embeddings with lecun_uniform dense layers
  train in a few epochs.
- Learning curves: at lr 0.01 without regularisation EmbeddingDot overfits ML-100K after two epochs whatever the
  initialiser; glorot_uniform starts lowest and stays lowest on validation.
"""


def _load_range(records: dict[str, dict[str, dict]]) -> str:
    """ "a-b": the 1-minute load averages the jobs recorded as they ended (or "not recorded")."""
    loads = [r["load_avg"] for section in records.values() for r in section.values() if r.get("load_avg") is not None]
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not recorded"


def write_results(text: str, command: str, records: dict[str, dict[str, dict]]) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    head = (
        f"## Neural CF (GMF, MLP, NeuMF, EmbeddingDot)\n\n{command} on {platform.machine()} with {os.cpu_count()} CPUs "
        f"(shared machine, load average {_load_range(records)} as the jobs ended), torch threads per job: see the "
        f"throughput table (1 unless noted), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n"
        "Wall-clock seconds are inflated by the shared machine's load; CPU s is the process CPU time.\n\n"
    )
    block = f"{MARK_START}\n{head}{text}\n{NOTES}{MARK_END}"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    start = old.find(MARK_START)
    end = old.find(MARK_END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        new = old[:start] + block + old[end + len(MARK_END) :]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--sections", default="ncf,explicit,throughput,curves", help="comma-separated: " + ",".join(JOBS))
    ap.add_argument("--models", default="", help="comma-separated model keys to run (default: all of each section)")
    ap.add_argument("--jobs", type=int, default=1, help="jobs run in parallel processes")
    ap.add_argument("--quick", action="store_true", help="2 epochs / small data: a smoke test of the script")
    ap.add_argument("--refit", action="store_true", help="ncf: refit on the whole train file for the best epoch count")
    ap.add_argument("--report", action="store_true", help="only print the tables from saved records")
    ap.add_argument("--write-results", action="store_true", help="update this section of bench/RESULTS.md")
    ap.add_argument("--ran", default="", help="with --report --write-results: the command(s) that produced the records")
    ap.add_argument("--job", nargs=2, metavar=("SECTION", "KEY"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.job:
        print(run_job(args.job[0], args.job[1], args.data_dir, args.quick, args.refit), flush=True)
        return 0
    if not args.data_dir.exists():
        print(f"data folder {args.data_dir} not found (expected the shared MovieLens copies)", file=sys.stderr)
        return 2
    if not args.report:
        only = {m for m in args.models.split(",") if m}
        todo = [(s, k) for s in args.sections.split(",") if s for k in JOBS[s][1] if not only or k in only]
        env = {**os.environ, "COFIREC_THREADS": os.environ.get("COFIREC_THREADS", "1")}
        running: list[tuple[subprocess.Popen, str]] = []
        failed = []
        for section, key in todo:
            while len(running) >= max(1, args.jobs):
                running, failed = _reap(running, failed)
            cmd = [sys.executable, __file__, "--data-dir", str(args.data_dir), "--job", section, key]
            cmd += (["--quick"] if args.quick else []) + (["--refit"] if args.refit else [])
            running.append((subprocess.Popen(cmd, env=env), f"{section}/{key}"))
            print(f"started {section}/{key}", flush=True)
        while running:
            running, failed = _reap(running, failed)
        if failed:
            print("failed jobs: " + ", ".join(failed), file=sys.stderr)
    records = _load_records(args.quick)
    if not args.quick:
        plot_curves(records)
    text = report(records)
    print(text)
    if args.write_results and not args.quick:
        write_results(text, records=records, command=args.ran or "`python bench/bench_neural.py " + " ".join(argv if argv is not None else sys.argv[1:]) + "`")
    return 0


def _reap(running, failed):
    time.sleep(1.0)
    still = []
    for proc, label in running:
        code = proc.poll()
        if code is None:
            still.append((proc, label))
        else:
            print(f"finished {label} (exit {code})", flush=True)
            if code != 0:
                failed.append(label)
    return still, failed


if __name__ == "__main__":
    raise SystemExit(main())
