"""``cofirec demo``: the whole story in a few minutes.

Loads MovieLens 100K (from ``--data-dir``, or ``../shared/data`` when present; otherwise synthetic data,
saying so) and splits it 80/20 at random. Two comparisons, each model with its default setting:

* rating models (a bias baseline, item-knn, mf) fitted on the stars, scored by RMSE / MAE on held-out stars;
* ranking models (popularity, item-knn, ials, ease) fitted on who rated what (implicit feedback), scored by
  top-10 metrics over all unseen items.

Then the classic initialiser comparison: ``embedding-dot`` at lr 0.01 with ``he_normal``, ``random_uniform``
and ``lecun_uniform``, train and validation loss side by side in one PNG, and the epoch where each starts to
overfit. Last, top-5 unseen recommendations (with titles) for a user and the movies most related to "Star
Wars (1977)". Each comparison writes a report (HTML, JSON, CSV, PNGs) under ``--report``.
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

Lineup = list[tuple[str, list[str], dict[str, dict], dict[str, dict]]]
"""(slot, candidates in order of preference, params for a full run, params for --quick)."""

RATING_LINEUP: Lineup = [
    ("bias baseline", ["baseline"], {}, {}),
    ("memory-based", ["item-knn", "user-knn"], {}, {"item-knn": {"k": 50}}),
    ("matrix factorisation", ["mf", "als"], {}, {"mf": {"factors": 32, "epochs": 10}}),
]
RANKING_LINEUP: Lineup = [
    ("popularity", ["popularity"], {}, {}),
    ("memory-based", ["item-knn", "user-knn"], {}, {"item-knn": {"k": 50}}),
    ("matrix factorisation", ["ials", "bpr"], {}, {}),
    ("linear item model", ["ease"], {}, {}),
]
LINEUP = RATING_LINEUP + RANKING_LINEUP
INITS = ("he_normal", "random_uniform", "lecun_uniform")
INIT_MODEL = "embedding-dot"
INIT_PARAMS = {"lr": 0.01, "batch_size": 2048, "patience": 0}
"""The seeds' setting: lr 0.01, no early stopping (``patience=0``) so the curves run past the best epoch."""
INIT_EPOCHS = {"full": 6, "quick": 5}
WHY_TWO_TABLES = (
    "Why two tables: rating models learn the stars users gave to movies they chose to watch, so they are judged on "
    "predicting stars (RMSE/MAE); asked to rank all unseen movies they favour obscure, well-rated ones, so top-10 "
    "lists are judged on models fitted to who-watched-what (implicit feedback), where popularity is the bar to beat."
)


@dataclass
class DemoResult:
    """What the demo produced (for tests and callers)."""

    data_source: str
    synthetic: bool
    models: list[str]
    skipped: list[str]
    rating_rows: list[dict[str, Any]]
    ranking_rows: list[dict[str, Any]]
    reports: dict[str, Path]
    init_curves: dict[str, dict[str, Any]] = field(default_factory=dict)
    init_plot: Path | None = None
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


def pick_models(quick: bool, lineup: Lineup | None = None) -> tuple[list[tuple[str, dict]], list[str]]:
    """Models for each slot of ``lineup`` (all of :data:`LINEUP` by default) that can be imported now; notes
    about the missing ones."""
    from cofirec.models.registry import get_model_class

    chosen: list[tuple[str, dict]] = []
    skipped: list[str] = []
    for slot, names, full, fast in LINEUP if lineup is None else lineup:
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

    from cofirec.data.splits import split_data

    con = console or Console()
    start = time.perf_counter()
    data, source, synthetic = load_demo_data(data_dir, force_synthetic=force_synthetic, quick=quick)
    if synthetic:
        reason = "--synthetic given" if force_synthetic else "MovieLens 100K not found in --data-dir or ../shared/data"
        con.print(f"[yellow]note:[/] {reason}: falling back to {source}. Titles are made up.")
    con.rule("[bold]1. Data")
    con.print(f"{source}: {data.n_users:,} users, {data.n_items:,} items, {len(data):,} ratings, sparsity {data.sparsity:.2%}")
    split = split_data(data, "random", test_ratio=0.2, seed=seed)
    con.print(f"random 80/20 split (seed {seed}): train {len(split.train):,} ratings, test {len(split.test):,}; every model runs with its defaults")

    out = Path(report_dir) if report_dir is not None else Path("cofirec-demo")
    command = "cofirec demo" + (f" --data-dir {data_dir}" if data_dir is not None else "") + (" --quick" if quick else "")
    command += (" --synthetic" if force_synthetic else "") + f" --report {out}"
    folder = None if synthetic else find_movielens_100k(data_dir)
    context = {
        "out": out,
        "command": command,
        "quick": quick,
        "seed": seed,
        "source": source,
        "files": [folder / "u.data", folder / "u.item"] if folder is not None else [],
        "notes": [f"Data: {source}."] + (["Fell back to synthetic data: MovieLens 100K was not found."] if synthetic and not force_synthetic else []),
    }

    con.rule("[bold]2. Rating prediction (models fitted on the stars)")
    rating, rating_skipped = _compare_section(con, "rating", RATING_LINEUP, split.train, split.test, context)
    con.rule("[bold]3. Top-10 ranking (models fitted on who rated what)")
    ranking, ranking_skipped = _compare_section(con, "ranking", RANKING_LINEUP, split.train.as_implicit(), split.test.as_implicit(), context)
    con.print(WHY_TWO_TABLES, soft_wrap=True)

    con.rule("[bold]4. Initialisers: where each run starts to overfit")
    curves, init_plot, init_skipped = _init_section(con, split.train, quick=quick, seed=seed, out=out)

    con.rule("[bold]5. Recommendations")
    recs = _show_recommendations(con, ranking, split.train)
    related = _show_related(con, ranking, data)
    con.print(f"\ndone in {time.perf_counter() - start:.0f}s")
    return DemoResult(
        data_source=source,
        synthetic=synthetic,
        models=[r["model"] for r in rating.rows + ranking.rows],
        skipped=rating_skipped + ranking_skipped + init_skipped,
        rating_rows=rating.rows,
        ranking_rows=ranking.rows,
        reports={"rating": out / "rating" / "report.html", "ranking": out / "ranking" / "report.html"},
        init_curves=curves,
        init_plot=init_plot,
        recommendations=recs,
        related=related,
    )


def _compare_section(con: Any, protocol: str, lineup: Lineup, train: Interactions, test: Interactions, ctx: dict) -> tuple[Any, list[str]]:
    """Fit the lineup's models on ``train``, print the test table, write the report to ``out/protocol``."""
    from rich.table import Table

    from cofirec.experiments.compare import compare, write_comparison_report

    models, skipped = pick_models(ctx["quick"], lineup)
    for note in skipped:
        con.print(f"[yellow]note:[/] {note}")

    def progress(label: str, row: dict) -> None:
        if row.get("error"):
            con.print(f"  {label}: [red]{row['error']}[/]")
        else:
            con.print(f"  {label}: fitted in {row['fit_s']:.1f}s" + (f" ({row['epochs']} epochs)" if row.get("epochs") else ""))

    result = compare(models, train, test, protocol=protocol, k=(10,), seed=ctx["seed"], keep_models=True, on_model=progress)
    _print_table(con, result, Table)
    folder = ctx["out"] / protocol
    config = {
        "demo": True,
        "quick": ctx["quick"],
        "seed": ctx["seed"],
        "split": "random 80/20",
        "protocol": protocol,
        "models": [{"name": n, "params": p} for n, p in models],
    }
    report = write_comparison_report(
        result,
        folder,
        config=config,
        files=ctx["files"],
        command=ctx["command"],
        seed=ctx["seed"],
        train=train,
        test=test,
        title=f"cofirec demo: {protocol}",
        notes=ctx["notes"] + [f"Skipped: {s}" for s in skipped],
    )
    con.print(f"report: {report}", soft_wrap=True)
    return result, skipped


def _init_section(con: Any, train: Interactions, *, quick: bool, seed: int, out: Path) -> tuple[dict[str, dict], Path | None, list[str]]:
    """``embedding-dot`` at lr 0.01 once per initialiser on 90% of train; curves of train and validation MSE."""
    from cofirec.data.splits import validation_split
    from cofirec.experiments.plots import best_epoch, plot_train_validation
    from cofirec.models.registry import create_model, get_model_class

    try:
        get_model_class(INIT_MODEL)
    except (CofirecError, ImportError) as exc:
        note = f"initialisers: {INIT_MODEL} unavailable ({exc})"
        con.print(f"[yellow]note:[/] {note}")
        return {}, None, [note]
    parts = validation_split(train, ratio=0.1, seed=seed)
    epochs = INIT_EPOCHS["quick" if quick else "full"]
    con.print(f"{INIT_MODEL}, lr {INIT_PARAMS['lr']}, {epochs} epochs without early stopping, on 90% of train; validation: the other 10%")
    histories: dict[str, list[dict]] = {}
    curves: dict[str, dict[str, Any]] = {}
    for init in INITS:
        model = create_model(INIT_MODEL, {**INIT_PARAMS, "init": init, "epochs": epochs, "random_state": seed}).fit(parts.train, validation=parts.test)
        histories[init] = list(model.history_)
        best = best_epoch(model.history_, "val_loss")
        last = model.history_[-1]
        curves[init] = {
            "best_epoch": best[0] if best else None,
            "best_val_loss": best[1] if best else None,
            "last_val_loss": last.get("val_loss"),
            "last_train_loss": last.get("loss"),
        }
        where = (
            f"best validation MSE {best[1]:.4f} at epoch {best[0]}, then it overfits"
            if best and best[0] < len(model.history_)
            else (f"still improving at epoch {best[0]} ({best[1]:.4f})" if best else "no validation loss recorded")
        )
        con.print(f"  {init:15s} {where}; after epoch {last['epoch']}: train {last['loss']:.4f}, validation {last.get('val_loss', float('nan')):.4f}")
    path = plot_train_validation(histories, out / "init_curves.png", title=f"{INIT_MODEL}, lr {INIT_PARAMS['lr']}, MSE")
    con.print(f"curves: {path}", soft_wrap=True)
    return curves, path, []


def _print_table(con: Any, result: Any, Table: Any) -> None:
    wanted = ("rmse", "mae") if result.protocol == "rating" else ("ndcg@10", "hr@10", "recall@10", "precision@10")
    metrics = [m for m in wanted if any(m in r for r in result.rows)]
    what = "held-out ratings" if result.protocol == "rating" else "held-out interactions, top-10 over all unseen items"
    table = Table(title=f"test metrics ({result.data['test']:,} {what})")
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
    con.print("lower is better" if result.protocol == "rating" else "higher is better")


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
    seen = data.subset(data.users == 0)
    top_seen = np.argsort(-seen.ratings, kind="stable")[:3]
    liked = [(_title(data, seen.item_map.ids[seen.items[j]]), float(seen.ratings[j])) for j in top_seen]
    rec = model.recommend(user, n=5)
    titles = model.titles(rec.items) or [str(i) for i in rec.items]
    con.print(f"user {user} rated {len(seen)} movies in the training part; among their favourites: " + "; ".join(f"{t} ({r:g})" for t, r in liked))
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
