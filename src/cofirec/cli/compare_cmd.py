"""``cofirec compare``: fit several models on one split and compare them (table, JSON or report folder).

Options build an :class:`~cofirec.experiments.config.ExperimentConfig` (on top of ``--config FILE`` when given;
command-line options win); the report folder gets ``config.json`` and the command that reproduces the run.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cofirec.cli.config_options import build_config, reproduce_command, write_config
from cofirec.cli.options import (
    AllowUnknownOpt,
    ColdOpt,
    ColumnsOpt,
    ConfigOpt,
    CutoffOpt,
    DataDirOpt,
    DatasetOpt,
    EncodingOpt,
    FoldOpt,
    FoldsOpt,
    ImplicitOpt,
    JsonOpt,
    KOpt,
    MetadataOpt,
    NegativesOpt,
    ParamOpt,
    ProtocolOpt,
    ReportOpt,
    SeedOpt,
    SepOpt,
    SplitOpt,
    SplitSeedOpt,
    StrictOpt,
    TargetOpt,
    TestOpt,
    TestRatioOpt,
    TrainOpt,
)
from cofirec.cli.output import emit_json, fmt_number, note, stdout_console
from cofirec.errors import CofirecError


def compare_cmd(
    models: Annotated[str | None, typer.Option("--models", "-m", help="Comma-separated model names, e.g. mean,item-knn,mf.", show_default=False)] = None,
    dataset: DatasetOpt = None,
    train: TrainOpt = None,
    test: TestOpt = None,
    split: SplitOpt = None,
    test_ratio: TestRatioOpt = None,
    folds: FoldsOpt = None,
    fold: FoldOpt = None,
    split_seed: SplitSeedOpt = None,
    cutoff: CutoffOpt = None,
    cold: ColdOpt = None,
    protocol: ProtocolOpt = None,
    k: KOpt = None,
    strict: StrictOpt = False,
    allow_unknown: AllowUnknownOpt = False,
    negatives: NegativesOpt = None,
    params: ParamOpt = None,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    report: ReportOpt = None,
    data_dir: DataDirOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    metadata: MetadataOpt = None,
    implicit: ImplicitOpt = False,
    target: TargetOpt = None,
    json_out: JsonOpt = False,
    seeds: Annotated[
        str | None,
        typer.Option("--seeds", help="Repeat split and fits once per seed, e.g. 0,1,2: mean and std per model (replaces --seed).", show_default=False),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples of the 95% intervals and paired tests vs the best model (0: none).")
    ] = 1000,
) -> None:
    """Fit several models on one split and compare them with the same metrics, timings and sizes.

    Before fitting: more than 10% of the test users or items missing from train prints a warning
    (--strict: an error); all of them missing is an error unless --allow-unknown.
    """
    from cofirec.cli.compare_output import print_extras
    from cofirec.experiments.compare import run_comparison
    from cofirec.experiments.seeds import parse_seeds

    seed_list = parse_seeds(seeds)
    if seed_list:
        if split_seed is not None:
            raise CofirecError("--seeds sets the split seed of each run; give --seeds or --split-seed, not both")
        seed = seed_list[0]

    cfg = build_config(
        config,
        label="compare",
        dataset=dataset,
        train=train,
        test=test,
        data_dir=data_dir,
        columns=columns,
        sep=sep,
        encoding=encoding,
        metadata=metadata,
        implicit=implicit,
        target=target,
        split=split,
        test_ratio=test_ratio,
        folds=folds,
        fold=fold,
        split_seed=split_seed,
        cutoff=cutoff,
        cold=cold,
        seed=seed,
        protocol=protocol,
        k=k,
        negatives=negatives,
        models=models,
        params=params,
    )
    command = reproduce_command("compare", cfg, report)
    if report is not None:
        write_config(cfg, report)

    def progress(label: str, row: dict) -> None:
        if row.get("error"):
            note(f"{label}: {row['error']}")
        elif not json_out:
            note(f"{label}: fitted in {row['fit_s']:.2f}s, evaluated in {row['eval_s']:.2f}s")

    if len(seed_list) > 1:
        command += " --seeds " + ",".join(map(str, seed_list))
    if bootstrap != 1000:
        command += f" --bootstrap {bootstrap}"

    def seed_note(s: int) -> None:
        if not json_out:
            note(f"seed {s}")

    result, path = run_comparison(
        cfg,
        report_dir=report,
        command=command,
        on_model=progress,
        strict=strict,
        allow_unknown=allow_unknown,
        seeds=seed_list,
        on_seed=seed_note,
        n_resamples=bootstrap,
    )
    failed = sum(1 for row in result.rows if row.get("error"))
    if json_out and result.rows and failed == len(result.rows):  # stdout gets the one error object, not two documents
        raise CofirecError(f"compare: no model finished ({failed} of {len(result.rows)} failed or were skipped; see the notes above)")
    if json_out:
        emit_json(
            {
                "command": command,
                "protocol": result.protocol,
                "k": list(result.k),
                "data": result.data,
                "metrics": result.metrics,
                "rows": result.rows,
                "seeds": result.seeds,
                "flips": result.flips,
                "cold": result.cold,
                "significance": result.significance or None,
                "notes": result.notes,
                "report": str(path) if path else None,
            }
        )
    else:
        print_comparison(result)
        print_extras(result)
        if path is not None:
            stdout_console().print(f"report: {path}", markup=False)
    if result.rows and failed == len(result.rows):
        raise CofirecError(f"compare: no model finished ({failed} of {len(result.rows)} failed or were skipped; see the notes above)")


def print_comparison(result) -> None:
    """Rich table: model, headline metrics, fit/recommend seconds, parameters and artifact size."""
    from rich.markup import escape
    from rich.table import Table

    from cofirec.cli.compare_output import interval_text
    from cofirec.experiments.report import headline_metrics

    metrics = headline_metrics(result.metrics, limit=4)
    title = f"{result.data.get('name', '')}: {result.protocol} (train {result.data.get('train', 0):,}, test {result.data.get('test', 0):,})"
    table = Table(title=escape(title))
    table.add_column("model", style="bold", no_wrap=True)
    for m in metrics:
        table.add_column(m, justify="right", no_wrap=True)
    for col in ("fit s", "rec s", "params", "size"):
        table.add_column(col, justify="right", no_wrap=True)
    best = {m: result.best(m) for m in metrics}
    for row in result.rows:
        if row.get("error"):
            table.add_row(escape(row["model"]), *["-"] * len(metrics), "-", "-", "-", "-")
            continue
        cells = []
        for m in metrics:
            value = row.get(m)
            text = f"{value:.4f}" if isinstance(value, float) else fmt_number(value)
            text = f"[green]{text}[/]" if best[m] is row else text
            cells.append(text + interval_text(row, m))
        size = row.get("artifact_bytes")
        cells += [f"{row.get('fit_s', 0):.2f}", f"{row.get('recommend_s', 0):.3f}", fmt_number(row.get("n_params")), _human_bytes(size)]
        table.add_row(escape(row["model"]), *cells)
    stdout_console().print(table)


def _human_bytes(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
