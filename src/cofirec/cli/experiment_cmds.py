"""Experiment commands: ``cofirec compare``, ``cofirec tune``, ``cofirec demo``.

Options build an :class:`~cofirec.experiments.config.ExperimentConfig` (on top of ``--config FILE`` when
given; command-line options win), so the command line and config files share one validation path. Each
report folder gets ``config.json``, the exact config, and the report starts with the one command that
reproduces the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cofirec.cli.config_options import build_config, reproduce_command, write_config
from cofirec.cli.options import (
    AllowUnknownOpt,
    ColumnsOpt,
    ConfigOpt,
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
from cofirec.errors import CofirecError, ConfigError


# ---------------------------------------------------------------------- compare
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
) -> None:
    """Fit several models on one split and compare them with the same metrics, timings and sizes.

    Before fitting: more than 10% of the test users or items missing from train prints a warning
    (--strict: an error); all of them missing is an error unless --allow-unknown.
    """
    from cofirec.experiments.compare import run_comparison

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

    result, path = run_comparison(cfg, report_dir=report, command=command, on_model=progress, strict=strict, allow_unknown=allow_unknown)
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
                "report": str(path) if path else None,
            }
        )
    else:
        print_comparison(result)
        if path is not None:
            stdout_console().print(f"report: {path}", markup=False)
    if result.rows and failed == len(result.rows):
        raise CofirecError(f"compare: no model finished ({failed} of {len(result.rows)} failed or were skipped; see the notes above)")


def print_comparison(result) -> None:
    """Rich table: model, headline metrics, fit/recommend seconds, parameters and artifact size."""
    from rich.markup import escape
    from rich.table import Table

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
            cells.append(f"[green]{text}[/]" if best[m] is row else text)
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


# ---------------------------------------------------------------------- tune
def tune_cmd(
    model: Annotated[str, typer.Argument(help="Model to tune (see 'cofirec models').", show_default=False)],
    trials: Annotated[int | None, typer.Option("--trials", "-n", help="Finished trials wanted in the study (stored ones count).", show_default=False)] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop starting trials after this many seconds.", show_default=False)] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Validation metric, e.g. ndcg@10 or rmse (default ndcg@10).", show_default=False)] = None,
    validation_ratio: Annotated[
        float | None, typer.Option("--validation-ratio", help="Fraction of train used for validation (default 0.1).", show_default=False)
    ] = None,
    prune: Annotated[bool, typer.Option("--prune/--no-prune", help="Prune bad trials of iterative models per epoch.")] = True,
    storage: Annotated[str | None, typer.Option("--storage", help="Optuna storage URL or SQLite file (default REPORT/study.db).", show_default=False)] = None,
    dataset: DatasetOpt = None,
    train: TrainOpt = None,
    test: TestOpt = None,
    split: SplitOpt = None,
    test_ratio: TestRatioOpt = None,
    folds: FoldsOpt = None,
    fold: FoldOpt = None,
    split_seed: SplitSeedOpt = None,
    k: KOpt = None,
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
) -> None:
    """Search hyperparameters with Optuna on a validation part of train; refit the best and test it once.

    Trials are stored in REPORT/study.db, so running the same command again resumes the search.
    """
    from cofirec.experiments.data import prepare_data
    from cofirec.experiments.fingerprint import data_sha256
    from cofirec.experiments.tune import protocol_for_metric, tune, write_tune_report

    if report is None and storage is None:
        raise ConfigError("tune: --report DIR is required (trials are stored in DIR/study.db so the search can resume)")
    cfg = build_config(
        config,
        label="tune",
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
        seed=seed,
        k=k,
        require_models=False,
    )
    if trials is not None:
        cfg.tune.trials = trials
    if timeout is not None:
        cfg.tune.timeout = timeout
    if metric is not None:
        cfg.tune.metric = metric
    if validation_ratio is not None:
        if not 0.0 < validation_ratio < 1.0:
            raise ConfigError(f"--validation-ratio {validation_ratio}: expected a fraction between 0 and 1")
        cfg.tune.validation_ratio = validation_ratio
    cfg.protocol = protocol_for_metric(cfg.tune.metric)  # the validation metric decides the protocol
    # precedence: the config's model params < its [tune.space.MODEL] < --param on the command line
    base_models = _models_for_tune(cfg, model)
    from cofirec.models.builder import apply_param_assignments

    spec_models = apply_param_assignments(base_models, [p if "." in p.split("=", 1)[0] else f"{model}.{p}" for p in params or []])
    from cofirec.experiments.config import config_from_dict

    raw = cfg.to_dict()
    raw["models"] = spec_models
    cfg = config_from_dict(raw, label=config.name if config else "tune")
    chosen = next(m for m in cfg.models if m.name == model)
    cli_keys = {p.split("=", 1)[0].rpartition(".")[2].replace("-", "_") for p in params or []}
    fixed = {key: v for key, v in chosen.params.items() if key in cli_keys}
    space = dict(cfg.tune.space.get(model, {}))
    space = {**{key: v for key, v in chosen.params.items() if key not in cli_keys and key not in space}, **space}
    extra = ["--trials", str(cfg.tune.trials), "--metric", cfg.tune.metric, "--validation-ratio", f"{cfg.tune.validation_ratio:g}"]
    if cfg.tune.timeout is not None:
        extra += ["--timeout", f"{cfg.tune.timeout:g}"]
    if not prune:
        extra.append("--no-prune")
    command = reproduce_command("tune", cfg, report, extra=extra, model=model)
    if report is not None:
        write_config(cfg, report)
    prepared = prepare_data(cfg)

    def progress(rec: dict) -> None:
        if not json_out:
            value = "-" if rec["value"] is None else f"{rec['value']:.4f}"
            why = f": {rec['error']}" if rec.get("error") else ""
            note(f"trial {rec['number']}: {rec['state'].lower()} {cfg.tune.metric}={value} {rec['params']}{why}")

    if storage is None:
        assert report is not None  # --report is required without --storage (checked above)
        storage = str(Path(report) / "study.db")
    result = tune(
        model,
        prepared.train,
        test=prepared.test,
        metric=cfg.tune.metric,
        trials=cfg.tune.trials,
        timeout=cfg.tune.timeout,
        protocol=cfg.protocol,
        k=cfg.k,
        seed=cfg.seed,
        validation_ratio=cfg.tune.validation_ratio,
        space=space,
        params=fixed,
        storage=storage,
        negatives=prepared.negatives,
        prune=prune,
        on_trial=progress,
    )
    path = None
    if report is not None:
        data = {
            "name": prepared.name,
            "train": len(prepared.train),
            "test": len(prepared.test),
            "train_sha256": data_sha256(prepared.train),
            "test_sha256": data_sha256(prepared.test),
        }
        path = write_tune_report(result, report, config=cfg.to_dict(), files=prepared.files, command=command, seed=cfg.seed, data=data)
    if json_out:
        emit_json(
            {
                "command": command,
                **result.tuning_dict(),
                "best_params": result.best_params,
                "best_value": result.best_value,
                "test_metrics": result.test_metrics,
                "report": str(path) if path else None,
            }
        )
        return
    console = stdout_console()
    console.print(f"{result.n_finished} finished trials ({result.n_run} run now) in study {result.study_name!r} at {result.storage}", markup=False)
    if result.best_value is None:
        console.print("no trial completed", markup=False)
    else:
        console.print(f"best validation {result.metric}: {result.best_value:.4f} with {result.best_params}", markup=False)
        if result.default_value is not None:
            console.print(f"the model's defaults scored {result.default_value:.4f} on validation", markup=False)
        shown = {m: v for m, v in result.test_metrics.items() if "@" in m or m in ("rmse", "mae", "auc")}
        console.print("test: " + ", ".join(f"{m}={fmt_number(v)}" for m, v in shown.items()), markup=False)
    if path is not None:
        console.print(f"report: {path}", markup=False)


def _models_for_tune(cfg, model: str) -> list[dict]:
    entries = [m for m in cfg.to_dict()["models"] if m["name"] == model or m.get("label") == model]
    if entries:
        return [{"name": entries[0]["name"], "params": entries[0]["params"]}]
    return [{"name": model, "params": {}}]


# ---------------------------------------------------------------------- demo
def demo_cmd(
    data_dir: DataDirOpt = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smaller models and fewer epochs (about a minute).")] = False,
    report: ReportOpt = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Use synthetic data even when MovieLens is available.")] = False,
) -> None:
    """The whole story on MovieLens 100K (or synthetic data offline): train, compare, plot, recommend."""
    from cofirec.experiments.demo import run_demo

    run_demo(data_dir=data_dir, quick=quick, report_dir=report, force_synthetic=synthetic, console=stdout_console())


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``tune`` and ``demo`` to ``app``."""
    app.command("compare")(compare_cmd)
    app.command("tune")(tune_cmd)
    app.command("demo")(demo_cmd)
