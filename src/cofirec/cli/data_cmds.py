"""Data commands: ``cofirec datasets``, ``cofirec info``, ``cofirec split``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cofirec.cli.common import load_source, skipped_lines
from cofirec.cli.options import (
    ColdOpt,
    ColumnsOpt,
    CutoffOpt,
    DataDirOpt,
    DownloadOpt,
    EncodingOpt,
    JsonOpt,
    OnBadLinesOpt,
    SepOpt,
)
from cofirec.cli.output import emit_json, fmt_number, stdout_console

SourceArg = Annotated[str, typer.Argument(metavar="SOURCE", help="Dataset name (ml-100k, ...), MovieLens-layout folder or ratings file.", show_default=False)]


def datasets(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """Known datasets and whether each is present locally (and where)."""
    from cofirec.data.resolve import dataset_status

    rows = dataset_status(data_dir=data_dir)
    if json_out:
        emit_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Datasets" + (f" in {data_dir}" if data_dir else ""))
    table.add_column("name")
    table.add_column("present")
    table.add_column("path / how to get it", overflow="fold")
    for row in rows:
        present = bool(row.get("present"))
        if present:
            where = str(row.get("path") or "")
        elif row.get("url"):
            where = f"missing: downloaded on first use from {row['url']} (or unzip it into --data-dir)"
        else:
            where = "missing"
        table.add_row(escape(str(row.get("name", ""))), "[green]yes[/]" if present else "[red]no[/]", escape(where))
    stdout_console().print(table)


def info(
    source: SourceArg,
    data_dir: DataDirOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    on_bad_lines: OnBadLinesOpt = "error",
    download: DownloadOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """Users, items, ratings, sparsity, rating histogram and activity quantiles of a dataset."""
    data = load_source(source, data_dir=data_dir, columns=columns, on_bad_lines=on_bad_lines, download=download, sep=sep, encoding=encoding)
    stats = data.stats()
    n_skipped = skipped_lines(data)
    if n_skipped:
        stats["skipped_lines"] = n_skipped
    if json_out:
        emit_json(stats)
        return
    _print_stats(stats)


def _print_stats(stats: dict[str, Any]) -> None:
    from rich.table import Table

    console = stdout_console()
    summary = Table(title=f"{stats.get('name') or 'data'} ({stats.get('kind')})", show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value", justify="right")
    for key in ("users", "items", "ratings", "sparsity", "rating_min", "rating_max", "rating_mean", "skipped_lines"):
        if key in stats:
            value = stats[key]
            text = f"{value:.4%}" if key == "sparsity" else fmt_number(value)
            summary.add_row(key.replace("_", " "), text)
    if "timestamp_min" in stats:
        summary.add_row("timestamps", f"{stats['timestamp_min']} .. {stats['timestamp_max']}")
    feats = [name for name, flag in (("users", stats.get("has_user_features")), ("items", stats.get("has_item_features"))) if flag]
    summary.add_row("side features", ", ".join(feats) or "none")
    console.print(summary)
    hist = stats.get("rating_histogram") or {}
    if hist:
        total = sum(hist.values()) or 1
        table = Table(title="rating histogram")
        table.add_column("rating", justify="right")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        table.add_column("", no_wrap=True)
        top = max(hist.values())
        for value, count in hist.items():
            table.add_row(value, fmt_number(count), f"{count / total:.1%}", "#" * max(1, round(30 * count / top)))
        console.print(table)
    uq, iq = stats.get("user_count_quantiles") or {}, stats.get("item_count_quantiles") or {}
    if uq or iq:
        table = Table(title="interactions per user / item (quantiles)")
        table.add_column("quantile")
        table.add_column("per user", justify="right")
        table.add_column("per item", justify="right")
        for q in uq or iq:
            table.add_row(q, fmt_number(uq.get(q)), fmt_number(iq.get(q)))
        console.print(table)


def split(
    source: SourceArg,
    out: Annotated[Path, typer.Option("--out", help="Folder for train.tsv and test.tsv (created).", show_default=False)],
    method: Annotated[str, typer.Option("--method", "--split", help="random | user | loo | kfold | temporal | user-temporal.")] = "random",
    test_ratio: Annotated[float, typer.Option("--test-ratio", help="Fraction held out (random, user, user-temporal; temporal without --cutoff).")] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the split.")] = 0,
    k: Annotated[int, typer.Option("--folds", "--k", help="Number of folds (kfold; --k is the older name).")] = 5,
    fold: Annotated[int, typer.Option("--fold", help="Which fold is the test set (kfold).")] = 0,
    cutoff: CutoffOpt = None,
    cold: ColdOpt = None,
    data_dir: DataDirOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    on_bad_lines: OnBadLinesOpt = "error",
    download: DownloadOpt = True,
    json_out: JsonOpt = False,
) -> None:
    """Split a dataset into OUT/train.tsv, OUT/test.tsv and OUT/split.json and print the split report."""
    from cofirec._atomic import check_folder_target
    from cofirec.data.split_folder import SPLIT_FILES

    check_folder_target(out, SPLIT_FILES)
    data = load_source(source, data_dir=data_dir, columns=columns, on_bad_lines=on_bad_lines, download=download, sep=sep, encoding=encoding)
    _, report = write_split(data, out, method=method, test_ratio=test_ratio, seed=seed, k=k, fold=fold, cutoff=cutoff, cold=cold)
    if json_out:
        emit_json(report)
        return
    print_split_report(report)


def write_split(data, out: Path, *, method: str, test_ratio: float, seed: int, k: int = 5, fold: int = 0, **temporal: Any) -> tuple[Any, dict[str, Any]]:
    """Split ``data``, write ``out/train.tsv``, ``out/test.tsv`` (+ ``out/cold.tsv``) and ``out/split.json`` whole
    (an interrupted run leaves the old folder); returns the Split and its report (with file paths).
    ``temporal``: ``cutoff`` / ``cold`` of the temporal split."""
    from cofirec.data.split_folder import save_split

    parts, report, params = make_split(data, out, method=method, test_ratio=test_ratio, seed=seed, k=k, fold=fold, **temporal)
    save_split(out, parts.train, parts.test, params, parts.cold)
    return parts, report


def make_split(
    data, out: Path, *, method: str, test_ratio: float, seed: int, k: int = 5, fold: int = 0, cutoff: str | float | None = None, cold: str | None = None
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The split in memory, its report (with the file paths it will have in ``out``) and its split.json
    parameters (temporal splits add their cut-off, cold policy and counts to both)."""
    from cofirec.data.split_folder import COLD_FILE, TEST_FILE, TRAIN_FILE
    from cofirec.data.splits import SPLIT_METHODS, split_data, split_report

    parts = split_data(data, method, test_ratio=test_ratio, seed=seed, k=k, fold=fold, cutoff=cutoff, cold=cold)
    info = {key: v for key, v in parts.info.items() if key not in ("n_train", "n_test", "test_ratio")}  # the report has these
    report = {"split": parts.name, **split_report(parts.train, parts.test), **info}
    report["train_file"] = str(Path(out) / TRAIN_FILE)
    report["test_file"] = str(Path(out) / TEST_FILE)
    if parts.cold is not None:
        report["cold_file"] = str(Path(out) / COLD_FILE)
    canonical = SPLIT_METHODS.get(str(method).strip().lower(), method)
    params = {
        "source": data.name,
        "split": parts.name,
        "method": canonical,
        "seed": None if canonical in ("temporal", "user-temporal") else seed,  # time decides, not a seed
        "test_ratio": test_ratio if canonical in ("random", "user", "user-temporal") or (canonical == "temporal" and cutoff is None) else None,
        "k": k if canonical == "kfold" else None,
        "fold": fold if canonical == "kfold" else None,
        **info,
    }
    return parts, report, params


def print_split_report(report: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"split {report.get('split', '')}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", justify="right", overflow="fold")
    for key, value in report.items():
        if key == "split":
            continue
        text = f"{value:.2%}" if key == "test_fraction" else str(value) if key == "cutoff_unix" else fmt_number(value)
        table.add_row(key.replace("_", " "), text)
    stdout_console().print(table)
    if describe_cold(report):
        stdout_console().print(describe_cold(report), markup=False, soft_wrap=True)


def describe_cold(report: dict[str, Any]) -> str | None:
    """One line on a temporal split's cut-off and cold rows (None for other splits)."""
    if report.get("cutoff") is None:
        return None
    head = f"temporal cut-off {report['cutoff']} UTC (train before it, test from it on)"
    rows, users, items = report.get("n_cold_rows", 0), report.get("n_cold_users", 0), report.get("n_cold_items", 0)
    if not rows:
        return f"{head}: no cold test rows"
    where = "dropped (--cold drop)" if report.get("cold_policy") == "drop" else f"written to {report.get('cold_file', 'the cold part')}, evaluated apart"
    return f"{head}: {rows:,} cold test rows ({users:,} new users, {items:,} new items) {where}"


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
    app.command("datasets")(datasets)
    app.command("info")(info)
    app.command("split")(split)
