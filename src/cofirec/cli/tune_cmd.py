"""``cofirec tune``: Optuna search on a validation part of train, then the best parameters refitted and tested.

Options build the same :class:`~cofirec.experiments.config.ExperimentConfig` as ``compare``; trials are stored
in ``REPORT/study.db`` so the same command resumes the search.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cofirec.cli.config_options import build_config, reproduce_command, write_config
from cofirec.cli.options import (
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
    ParamOpt,
    ReportOpt,
    SeedOpt,
    SepOpt,
    SplitOpt,
    SplitSeedOpt,
    TargetOpt,
    TestOpt,
    TestRatioOpt,
    TrainOpt,
)
from cofirec.cli.output import emit_json, fmt_number, note, stdout_console
from cofirec.errors import ConfigError


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
    cutoff: CutoffOpt = None,
    cold: ColdOpt = None,
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
        cutoff=cutoff,
        cold=cold,
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
