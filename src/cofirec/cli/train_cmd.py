"""``cofirec train``: fit one model on a dataset or file and save it (with the split files when it splits).

Options (over ``--config FILE`` when given) build the same experiment config as ``compare`` and ``tune``
(:func:`cofirec.cli.config_options.build_config`); the data comes from
:func:`cofirec.experiments.data.load_training_data`, the model from :func:`cofirec.models.builder.build_model`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cofirec.cli.common import reading
from cofirec.cli.config_options import build_config
from cofirec.cli.options import (
    ColdOpt,
    ColumnsOpt,
    CutoffOpt,
    DataDirOpt,
    DownloadOpt,
    EncodingOpt,
    ImplicitOpt,
    JsonOpt,
    MetadataOpt,
    OnBadLinesOpt,
    SepOpt,
    TargetOpt,
    parse_on_bad_lines,
)
from cofirec.cli.output import emit_json
from cofirec.cli.train_report import fit_summary, print_train_report
from cofirec.errors import ConfigError

DISTRIBUTED_HELP = (
    "Data-parallel training of a neural model under torchrun (gloo on CPU, NCCL on GPUs; rank 0 saves): "
    "torchrun --standalone --nproc_per_node=2 -m cofirec train embedding-dot --train FILE --distributed --out DIR"
)

if TYPE_CHECKING:  # pragma: no cover
    from cofirec.data.dataset import Interactions
    from cofirec.data.targets import Target
    from cofirec.experiments.config import ExperimentConfig


def train(
    model_name: Annotated[str | None, typer.Argument(metavar="MODEL", help="Registered model name (see 'cofirec models').", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to save the fitted model (and split files) in.", show_default=False)] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Dataset name, MovieLens folder or ratings file.", show_default=False)] = None,
    train_file: Annotated[Path | None, typer.Option("--train", help="Ratings file to fit on (all of it).", show_default=False)] = None,
    split_method: Annotated[
        str | None, typer.Option("--split", help="Split --dataset first: random | user | loo | kfold | temporal | user-temporal.", show_default=False)
    ] = None,
    test_ratio: Annotated[float | None, typer.Option("--test-ratio", help="Fraction held out by --split (default 0.2).", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the split and validation split (default 0).", show_default=False)] = None,
    k_folds: Annotated[
        int | None, typer.Option("--folds", "--k", help="Folds of --split kfold (default 5; --k is the older name).", show_default=False)
    ] = None,
    fold: Annotated[int | None, typer.Option("--fold", help="Test fold of --split kfold (default 0).", show_default=False)] = None,
    cutoff: CutoffOpt = None,
    cold: ColdOpt = None,
    implicit: ImplicitOpt = False,
    target: TargetOpt = None,
    metadata: MetadataOpt = None,
    params: Annotated[list[str] | None, typer.Option("--param", "-p", help="Model parameter NAME=VALUE (repeatable).", show_default=False)] = None,
    config: Annotated[Path | None, typer.Option("--config", help="Experiment config file (TOML/YAML/JSON).", show_default=False)] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu | cuda | auto (models with a 'device' parameter).", show_default=False)] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Shortcut for --param epochs=N.", show_default=False)] = None,
    validation: Annotated[float | None, typer.Option("--validation", help="Carve this fraction of train for early stopping.", show_default=False)] = None,
    refit: Annotated[bool, typer.Option("--refit", help="After early stopping, fit again on all the training data for the chosen epoch count.")] = False,
    data_dir: DataDirOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    on_bad_lines: OnBadLinesOpt = "error",
    download: DownloadOpt = True,
    engine: Annotated[str, typer.Option("--engine", help="local | spark (als and ials on a --train Parquet/CSV path, read by Spark).")] = "local",
    master: Annotated[str | None, typer.Option("--master", help="Spark master of --engine spark (default local[2]).", show_default=False)] = None,
    distributed: Annotated[bool, typer.Option("--distributed", help=DISTRIBUTED_HELP)] = False,
    feedback: Annotated[
        str | None,
        typer.Option("--feedback", help="Add the ratings 'cofirec serve' stored in this database URL (latest per user/item wins).", show_default=False),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit a model on a dataset or file and save it to --out.

    Data-parallel training of a neural model on several processes (CPU cores or GPUs), one per rank:

        torchrun --standalone --nproc_per_node=2 -m cofirec train embedding-dot --train FILE --distributed --out DIR
    """
    from cofirec.cli.spark_train import check_engine, fit_on_spark, refuse_unsupported

    if out is None:
        raise ConfigError("train: --out DIR is required (the folder the fitted model is saved in)")
    if check_engine(engine) == "spark":
        if distributed:
            raise ConfigError("train: --distributed (torchrun) trains the neural models; --engine spark distributes als/ials itself")
        spark_options: dict[str, Any] = {"--dataset": dataset, "--split": split_method, "--test-ratio": test_ratio, "--folds": k_folds, "--fold": fold}
        spark_options |= {"--cutoff": cutoff, "--cold": cold}
        spark_options |= {"--seed": seed, "--validation": validation, "--refit": refit, "--config": config, "--device": device}
        spark_options |= {"--metadata": metadata, "--data-dir": data_dir, "--feedback": feedback}
        spark_name = refuse_unsupported(model_name, train_file, spark_options)
        _check_out_folder(out)
        assert train_file is not None  # refuse_unsupported requires it
        common: dict[str, Any] = dict(
            params=params, epochs=epochs, master=master, columns=columns, sep=sep, encoding=encoding, target=target, implicit=implicit
        )
        spark_model = fit_on_spark(spark_name, train_file, progress=not json_out, **common)
        _save_and_report(
            spark_model, spark_name, out, {"data": train_file.name}, source=train_file, n_fit=int(spark_model.item_popularity_.sum()), json_out=json_out
        )
        return
    if master is not None:
        raise ConfigError("train: --master applies to --engine spark")
    _check_out_folder(out)
    if dataset is not None and train_file is not None:
        raise ConfigError("train: give either --dataset SOURCE or --train FILE, not both")
    if validation is not None and not 0.0 < validation < 1.0:
        raise ConfigError(f"--validation {validation}: expected a fraction between 0 and 1")
    cfg = build_config(
        config,
        label="train",
        dataset=dataset,
        train=train_file,
        data_dir=data_dir,
        columns=columns,
        sep=sep,
        encoding=encoding,
        metadata=metadata,
        implicit=implicit,
        target=target,
        split=split_method,
        test_ratio=test_ratio,
        folds=k_folds,
        fold=fold,
        cutoff=cutoff,
        cold=cold,
        seed=seed,
        require_models=False,
        require_test=False,
        require_data=False,
    )
    if cfg.dataset is None and cfg.train is None:
        raise ConfigError("train: no data; give --dataset SOURCE (name, folder or file) or --train FILE")
    if split_method is not None and cfg.dataset is None:
        raise ConfigError("train: --split applies to --dataset; a --train file is used whole")
    spec_name, spec_params = _pick_model(model_name, cfg)
    from cofirec.models.builder import build_model, check_refit

    model = build_model(spec_name, spec_params, params, epochs=epochs, device=device, seed=cfg.seed if config is not None else None)
    rank0 = not distributed or _join_process_group(model)  # under torchrun every rank fits; rank 0 alone saves and reports
    if refit:
        check_refit(model, validation=validation is not None)
    tgt = parse_target_option(target, implicit, cfg)
    from cofirec.experiments.data import load_training_data

    data = reading(lambda: load_training_data(cfg, on_bad_lines=parse_on_bad_lines(on_bad_lines), download=download))
    from cofirec.data.split_folder import training_record

    training = training_record(cfg.dataset or cfg.train)  # checks a split file against its split.json
    report: dict[str, Any] = {"model": spec_name, "params": model.get_params(), "data": data.name}
    split_files = None  # (train, test, split.json params): written with the model, in one swap of the folder
    if split_method is not None or (config is not None and dataset is None and train_file is None and cfg.dataset is not None):
        from cofirec.cli.data_cmds import make_split

        parts, report["split"], split_params = make_split(
            data, out, method=cfg.split.method, test_ratio=cfg.split.test_ratio, seed=cfg.split_seed, k=cfg.split.k or 5, fold=cfg.split.fold or 0,
            cutoff=cfg.split.cutoff, cold=cfg.split.cold,
        )  # fmt: skip
        split_files = (parts.train, parts.test, split_params, parts.cold)
        data = parts.train
    elif cfg.test is not None:
        report["test_file"] = cfg.test
    if feedback is not None:
        from cofirec.serve.feedback_data import with_stored_feedback

        data, report["feedback"] = with_stored_feedback(data, feedback)
    model, fit_data, valid, report_refit = fit_with_target(
        model, data, tgt, validation=validation, seed=cfg.split_seed, refit=refit, progress=not json_out and rank0
    )
    if distributed:
        from cofirec.models.neural.distributed import stop

        stop()
    if not rank0:
        return
    if report_refit is not None:
        report["refit"] = report_refit
    from cofirec.models.artifact import save_model

    save_model(model, out, training=training, split=split_files)
    report.update(fit_summary(model, len(fit_data), len(valid) if valid is not None else 0, out))
    if json_out:
        emit_json(report)
        return
    print_train_report(report)


def _join_process_group(model: Any) -> bool:
    """``--distributed``: join torchrun's process group; True on rank 0."""
    from cofirec.models.neural.distributed import start

    return start(model).is_main


def _save_and_report(model: Any, name: str, out: Path, extra: dict[str, Any], *, source: Path, n_fit: int, json_out: bool) -> None:
    """Save a model fitted elsewhere (the Spark engine) with ``source`` as its training record, then report."""
    from cofirec.data.split_folder import training_record
    from cofirec.models.artifact import save_model

    save_model(model, out, training=training_record(source))
    report: dict[str, Any] = {"model": name, "params": model.get_params(), **extra, **fit_summary(model, n_fit, 0, out)}
    if json_out:
        emit_json(report)
        return
    print_train_report(report)


def parse_target_option(target: str | None, implicit: bool, cfg: "ExperimentConfig") -> "Target":
    """``--target`` / ``--implicit`` as given on the command line (named so in messages), else the config's."""
    from cofirec.data.targets import parse_target

    return parse_target(target, implicit) if target is not None or implicit else cfg.parsed_target()


def fit_with_target(model: Any, data: "Interactions", tgt: "Target", *, validation: float | None, seed: int, refit: bool, progress: bool):
    """Fit ``model`` on ``data`` with the target applied (a ``validation`` fraction carved out; ``refit``: again on
    all of it for the chosen epoch count). Returns (model, data fitted last, validation part, refit record)."""
    from cofirec.data.targets import apply_target

    fit_data = apply_target(data, tgt)
    valid = None
    if validation is not None:
        from cofirec.data.splits import validation_split

        fit_data, valid = validation_split(fit_data, validation, seed)
    also_seen = None if fit_data is data else data  # ratings below an implicit threshold, validation pairs: still "seen"
    model.fit(fit_data, validation=valid, progress=progress, also_seen=also_seen)
    if not refit:
        return model, fit_data, valid, None
    full = apply_target(data, tgt)
    stage1, model = model, model.refit(full, progress=progress, also_seen=None if full is data else data)
    record = {"epochs": int(stage1.best_epoch_), "stage1_last_epoch": stage1.history_[-1] if stage1.history_ else None}
    return model, full, None, record


def _check_out_folder(out: Path) -> None:
    """Fail before any work when --out cannot take the model (a file, the current folder, a folder of folders)."""
    from cofirec._atomic import check_folder_target
    from cofirec.data.split_folder import SPLIT_FILES
    from cofirec.models.artifact import MODEL_FILES

    check_folder_target(out, (*MODEL_FILES, *SPLIT_FILES))


def _pick_model(name: str | None, cfg: "ExperimentConfig") -> tuple[str, dict[str, Any]]:
    """Model name and config parameters: MODEL, or the config's model (matched by name or label)."""
    specs = list(cfg.models)
    if name is None:
        if len(specs) == 1:
            return specs[0].name, dict(specs[0].params)
        if not specs:
            raise ConfigError("train: missing MODEL (e.g. 'cofirec train item-knn --dataset ml-100k --out runs/knn'; see 'cofirec models')")
        raise ConfigError(f"train: the config lists {len(specs)} models; name one: {', '.join(s.display for s in specs)}")
    matches = [s for s in specs if s.label == name] or [s for s in specs if s.name == name]
    if len(matches) > 1:
        raise ConfigError(f"train: the config has several {name!r} models; pick one by label: {', '.join(s.display for s in matches)}")
    if matches:
        return matches[0].name, dict(matches[0].params)
    return name, {}
