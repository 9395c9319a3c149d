"""``cofirec demo``: the whole story in a few minutes.

Loads MovieLens 100K (from ``--data-dir``, or ``../shared/data`` when present; otherwise synthetic data,
saying so), splits it, fits a baseline, a memory-based model (item-knn), a matrix factorisation (mf or als)
and a neural model (embedding-dot or neumf) - whichever of them are registered and importable - compares
them on RMSE and top-10 ranking metrics, writes a report with learning curves, and prints top-5 unseen
recommendations (with titles) for a user and the movies most related to "Star Wars (1977)".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import CofirecError

STAR_WARS = "Star Wars (1977)"

# (slot, candidates in order of preference, params for a full run, params for --quick)
LINEUP: list[tuple[str, list[str], dict[str, dict], dict[str, dict]]] = [
    ("baseline", ["popularity"], {}, {}),
    ("memory-based", ["item-knn", "user-knn"], {"item-knn": {"k": 50}}, {"item-knn": {"k": 30}}),
    ("matrix factorisation", ["mf", "als"], {"mf": {"factors": 64, "epochs": 25}, "als": {"factors": 32, "epochs": 8}},
     {"mf": {"factors": 32, "epochs": 8}, "als": {"factors": 16, "epochs": 3}}),
    ("neural", ["embedding-dot", "neumf"], {"embedding-dot": {"factors": 32, "epochs": 5}, "neumf": {"epochs": 4}},
     {"embedding-dot": {"factors": 16, "epochs": 2}, "neumf": {"epochs": 1}}),
]


@dataclass
class DemoResult:
    """What the demo produced (for tests and callers)."""

    data_source: str
    synthetic: bool
    models: list[str]
    skipped: list[str]
    rows: list[dict[str, Any]]
    report: Path | None
    recommendations: dict[str, Any] = field(default_factory=dict)
    related: dict[str, Any] = field(default_factory=dict)


def find_movielens_100k(data_dir: str | Path | None) -> Path | None:
    """The ML-100K folder: ``data_dir`` itself or ``data_dir/ml-100k``; else ``../shared/data/ml-100k``
    relative to the working directory or to the source checkout."""
    candidates: list[Path] = []
    if data_dir is not None:
        candidates += [Path(data_dir), Path(data_dir) / "ml-100k"]
    else:
        repo = Path(__file__).resolve().parents[3]
        candidates += [Path("../shared/data/ml-100k"), repo.parent / "shared" / "data" / "ml-100k"]
    for c in candidates:
        if (c / "u.data").is_file():
            return c.resolve()
    return None


def load_demo_data(data_dir: str | Path | None, *, force_synthetic: bool = False, quick: bool = False) -> tuple[Interactions, str, bool]:
    """(data, description, is_synthetic): ML-100K when found, else synthetic data with titles."""
    folder = None if force_synthetic else find_movielens_100k(data_dir)
    if folder is not None:
        from cofirec.data.movielens import load_movielens

        return load_movielens(folder), f"MovieLens 100K ({folder})", False
    from cofirec.data.synthetic import make_synthetic

    n_users, n_items = (300, 200) if quick else (943, 1682)
    data = make_synthetic(n_users=n_users, n_items=n_items, density=0.06, seed=0, name="synthetic")
    return data, f"synthetic data ({n_users} users x {n_items} items, planted rank-4 structure)", True


def pick_models(quick: bool) -> tuple[list[tuple[str, dict]], list[str]]:
    """Models for each slot of :data:`LINEUP` that can be imported now; notes about the missing ones."""
    from cofirec.models.registry import get_model_class

    chosen: list[tuple[str, dict]] = []
    skipped: list[str] = []
    for slot, names, full, fast in LINEUP:
        for name in names:
            try:
                get_model_class(name)
            except (CofirecError, ImportError) as exc:
                skipped.append(f"{slot}: {name} unavailable ({exc})")
                continue
            chosen.append((name, dict((fast if quick else full).get(name, {}))))
            break
        else:
            skipped.append(f"{slot}: no model available, skipped")
    return chosen, skipped


def run_demo(
    data_dir: str | Path | None = None,
    *,
    quick: bool = False,
    report_dir: str | Path | None = None,
    force_synthetic: bool = False,
    console: Any = None,
    seed: int = 0,
) -> DemoResult:
    """Run the demo, printing as it goes; returns a :class:`DemoResult`."""
    from rich.console import Console
    from rich.table import Table

    from cofirec.data.splits import split_data, validation_split
    from cofirec.experiments.compare import compare, run_evaluate, write_comparison_report

    con = console or Console()
    start = time.perf_counter()
    data, source, synthetic = load_demo_data(data_dir, force_synthetic=force_synthetic, quick=quick)
    if synthetic:
        reason = "--synthetic given" if force_synthetic else "MovieLens 100K not found in --data-dir or ../shared/data"
        con.print(f"[yellow]note:[/] {reason}: falling back to {source}. Titles are made up.")
    con.rule("[bold]1. Data")
    con.print(f"{source}: {data.n_users:,} users, {data.n_items:,} items, {len(data):,} ratings, sparsity {data.sparsity:.2%}")
    split = split_data(data, "random", test_ratio=0.2, seed=seed)
    parts = validation_split(split.train, ratio=0.1, seed=seed)  # for the learning curves and early stopping
    con.print(
        f"random 80/20 split (seed {seed}): train {len(split.train):,} ({len(parts.test):,} of them held out as validation "
        f"for learning curves), test {len(split.test):,}"
    )

    models, skipped = pick_models(quick)
    for s in skipped:
        con.print(f"[yellow]note:[/] {s}")
    con.rule("[bold]2. Train and compare")

    def progress(label: str, row: dict) -> None:
        if row.get("error"):
            con.print(f"  {label}: [red]{row['error']}[/]")
        else:
            con.print(f"  {label}: fitted in {row['fit_s']:.1f}s ({row.get('epochs') or 0} epochs)")

    result = compare(models, parts.train, split.test, protocol="ranking", k=(10,), seed=seed, validation=parts.test, keep_models=True, on_model=progress)
    for row in result.rows:
        model = result.models.get(row["model"])
        if model is not None and model.predicts_ratings:
            row.update({m: v for m, v in run_evaluate(model, split.test, protocol="rating", k=(10,)).items() if m in ("rmse", "mae")})
    result.metrics = ["rmse", "mae", *result.metrics]
    _print_table(con, result, Table)

    out = Path(report_dir) if report_dir is not None else Path("cofirec-demo")
    command = "cofirec demo" + (f" --data-dir {data_dir}" if data_dir is not None else "") + (" --quick" if quick else "")
    command += (" --synthetic" if force_synthetic else "") + f" --report {out}"
    notes = [f"Data: {source}."] + (["Fell back to synthetic data: MovieLens 100K was not found."] if synthetic and not force_synthetic else [])
    notes += [f"Skipped: {s}" for s in skipped]
    folder = None if synthetic else find_movielens_100k(data_dir)
    files = [folder / "u.data", folder / "u.item"] if folder is not None else []
    config = {"demo": True, "quick": quick, "seed": seed, "split": "random 80/20, 10% of train for validation", "models": [{"name": n, "params": p} for n, p in models]}
    report = write_comparison_report(result, out, config=config, files=files, command=command, seed=seed, train=parts.train,
                                     test=split.test, title="cofirec demo", notes=notes)
    con.print(f"learning curves: {out / 'learning_curves.png'}")
    con.print(f"report: {report}")

    con.rule("[bold]3. Recommendations")
    recs = _show_recommendations(con, result, data)
    related = _show_related(con, result, data)
    con.print(f"\ndone in {time.perf_counter() - start:.0f}s")
    return DemoResult(data_source=source, synthetic=synthetic, models=[r["model"] for r in result.rows], skipped=skipped,
                      rows=result.rows, report=report, recommendations=recs, related=related)


def _print_table(con: Any, result: Any, Table: Any) -> None:
    metrics = [m for m in ("rmse", "mae", "ndcg@10", "recall@10", "hr@10") if any(m in r for r in result.rows)]
    table = Table(title=f"test metrics ({result.data['test']:,} held-out ratings)")
    table.add_column("model", style="bold", no_wrap=True)
    for m in metrics + ["fit s"]:
        table.add_column(m, justify="right", no_wrap=True)
    for row in result.rows:
        if row.get("error"):
            table.add_row(row["model"], *(["-"] * (len(metrics) + 1)))
            continue
        best = {m: result.best(m) for m in metrics}
        cells = [("[green]" if best[m] is row else "") + (f"{row[m]:.4f}" if m in row else "-") + ("[/]" if best[m] is row else "") for m in metrics]
        table.add_row(row["model"], *cells, f"{row['fit_s']:.1f}")
    con.print(table)
    con.print("RMSE/MAE: rating prediction (lower is better); ndcg/recall/precision/hr@10: top-10 lists of unseen items (higher is better).")


def _personal_model(result: Any) -> tuple[str, Any] | None:
    """The fitted non-baseline model with the best ndcg@10 (any fitted model when none)."""
    fitted = [(r, result.models[r["model"]]) for r in result.rows if r["model"] in result.models]
    personal = [(r, m) for r, m in fitted if r["name"] not in ("popularity", "mean")] or fitted
    if not personal:
        return None
    row, model = max(personal, key=lambda rm: rm[0].get("ndcg@10", float("-inf")))
    return row["model"], model


def _show_recommendations(con: Any, result: Any, data: Interactions) -> dict:
    picked = _personal_model(result)
    if picked is None:
        con.print("[yellow]no model could be fitted; no recommendations[/]")
        return {}
    label, model = picked
    user = data.user_map.ids[0]
    uidx = 0
    seen = data.subset(data.users == uidx)
    top_seen = np.argsort(-seen.ratings, kind="stable")[:3]
    liked = [(_title(data, seen.item_map.ids[seen.items[j]]), float(seen.ratings[j])) for j in top_seen]
    rec = model.recommend(user, n=5)
    titles = model.titles(rec.items) or [str(i) for i in rec.items]
    con.print(f"user {user} rated {len(seen)} movies; among their favourites: " + "; ".join(f"{t} ({r:g})" for t, r in liked))
    con.print(f"top-5 unseen recommendations from [bold]{label}[/]:")
    for rank, (item, title, score) in enumerate(zip(rec.items.tolist(), titles, rec.scores.tolist()), 1):
        con.print(f"  {rank}. {title or item}  [dim](item {item}, score {score:.3f})[/]")
    return {"user": user, "model": label, "items": rec.items.tolist(), "titles": list(titles)}


def _show_related(con: Any, result: Any, data: Interactions) -> dict:
    knn = next((m for lbl, m in result.models.items() if "knn" in lbl), None)
    label = next((lbl for lbl in result.models if "knn" in lbl), None)
    if knn is None:
        picked = _personal_model(result)
        if picked is None:
            return {}
        label, knn = picked
    titles = data.item_titles()
    query = None
    if titles is not None:
        hits = np.flatnonzero(titles == STAR_WARS)
        query = data.item_map.ids[hits[0]] if len(hits) else None
    if query is None:
        query = data.item_map.ids[int(np.argmax(data.item_counts()))]
        con.print(f"[yellow]note:[/] {STAR_WARS!r} not in this data; using the most rated item instead")
    sim = knn.similar_items(query, n=5)
    names = knn.titles(sim.items) or [str(i) for i in sim.items]
    con.print(f"movies related to [bold]{_title(data, query)}[/] ({label}):")
    for rank, (item, title, score) in enumerate(zip(sim.items.tolist(), names, sim.scores.tolist()), 1):
        con.print(f"  {rank}. {title or item}  [dim](similarity {score:.3f})[/]")
    return {"item": query, "model": label, "items": sim.items.tolist(), "titles": list(names)}


def _title(data: Interactions, item: Any) -> str:
    titles = data.item_titles()
    if titles is None:
        return str(item)
    idx = data.item_map.lookup([item])[0]
    return str(titles[idx]) if idx >= 0 and titles[idx] else str(item)
