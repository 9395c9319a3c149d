"""Model commands: ``models``, ``train``, ``evaluate``, ``recommend``, ``similar``, ``plot``.

Each command is a thin adapter: it loads data or a saved model through the library, calls one library
function and prints tables (Rich) or JSON. Heavy imports happen inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cofirec.cli.common import (
    ColumnsOpt,
    DataDirOpt,
    DownloadOpt,
    EncodingOpt,
    ImplicitOpt,
    JsonOpt,
    MetadataOpt,
    OnBadLinesOpt,
    SepOpt,
    TargetOpt,
    align_to_model,
    apply_target,
    attach_metadata,
    emit_json,
    emit_jsonl,
    fmt_number,
    load_source,
    note,
    parse_int_list,
    parse_target,
    read_file,
    stdout_console,
    titled_table,
    to_jsonable,
)
from cofirec.errors import ConfigError, DataError, UnknownIdError
from cofirec.evaluate import PROTOCOLS
from cofirec.cli.common import AllowUnknownOpt, StrictOpt  # unknown-id policy options

if TYPE_CHECKING:  # pragma: no cover
    from cofirec.data.dataset import Interactions
    from cofirec.models.base import Recommender

ModelDirArg = Annotated[Path, typer.Argument(metavar="DIR", help="Model folder written by 'cofirec train --out'.", show_default=False)]
FormatOpt = Annotated[str | None, typer.Option("--format", help="table | json | jsonl.", show_default=False)]


# ---------------------------------------------------------------------- models
def models(json_out: JsonOpt = False) -> None:
    """Registered models and presets: feedback kinds, default parameters and where the defaults come from."""
    from cofirec.models.registry import MODELS, Preset, default_source, get_model_class

    rows = []
    for name, entry in MODELS.items():
        try:
            cls = get_model_class(name)
            defaults = cls.param_defaults()
        except ConfigError as exc:
            rows.append({"name": name, "available": False, "reason": str(exc), "params": {}})
            continue
        row = {"name": name, "available": True, "kinds": sorted(cls.supported_kinds), "params": dict(defaults), "default_source": default_source(name)}
        if isinstance(entry, Preset):
            row.update(preset_of=entry.model, overrides=dict(entry.params), usage=entry.usage, summary=f"preset of {entry.model}")
        else:
            row["summary"] = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        rows.append(row)
    if json_out:
        emit_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="models (presets: validated recipes of a model; -p NAME=VALUE overrides any default)")
    table.add_column("name", style="bold")
    table.add_column("feedback")
    table.add_column("default setting and why", overflow="fold")
    for row in rows:
        if not row["available"]:
            table.add_row(row["name"], "[dim]not available[/]", escape(row["reason"]))
            continue
        if "preset_of" in row:
            shown = f"= {row['preset_of']} with " + ", ".join(f"{k}={v!r}" for k, v in row["overrides"].items())
        else:
            shown = ", ".join(f"{k}={v!r}" for k, v in row["params"].items())
        text = f"{escape(shown)}\n[dim]why: {escape(row['default_source'])}[/]"
        if row.get("usage"):
            text += f"\n[dim]use: {escape(row['usage'])}[/]"
        table.add_row(row["name"], ",".join(row["kinds"]), text)
    stdout_console().print(table)


# ---------------------------------------------------------------------- train
def train(
    model_name: Annotated[str | None, typer.Argument(metavar="MODEL", help="Registered model name (see 'cofirec models').", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to save the fitted model (and split files) in.", show_default=False)] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Dataset name, MovieLens folder or ratings file.", show_default=False)] = None,
    train_file: Annotated[Path | None, typer.Option("--train", help="Ratings file to fit on (all of it).", show_default=False)] = None,
    split_method: Annotated[str | None, typer.Option("--split", help="Split --dataset first: random | user | loo | kfold.", show_default=False)] = None,
    test_ratio: Annotated[float, typer.Option("--test-ratio", help="Fraction held out by --split.")] = 0.2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the split and validation split.")] = 0,
    k_folds: Annotated[int, typer.Option("--folds", "--k", help="Folds of --split kfold (--k is the older name).")] = 5,
    fold: Annotated[int, typer.Option("--fold", help="Test fold of --split kfold.")] = 0,
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
    json_out: JsonOpt = False,
) -> None:
    """Fit a model on a dataset or file and save it to --out."""
    cfg = _load_config(config)
    spec_name, spec_params = _pick_model(model_name, cfg)
    opts = _merge_config(
        cfg, dataset=dataset, train_file=train_file, data_dir=data_dir, metadata=metadata, columns=columns, sep=sep, encoding=encoding, implicit=implicit,
        target=target, split_method=split_method, test_ratio=test_ratio, seed=seed, k_folds=k_folds, fold=fold,
    )
    if out is None:
        raise ConfigError("train: --out DIR is required (the folder the fitted model is saved in)")
    _check_out_folder(out)
    if opts["split_method"] is not None and opts["dataset"] is None:
        raise ConfigError("train: --split applies to --dataset; a --train file is used whole")
    if validation is not None and not 0.0 < validation < 1.0:
        raise ConfigError(f"--validation {validation}: expected a fraction between 0 and 1")
    model = _build_model(spec_name, spec_params, params, epochs=epochs, device=device, seed=cfg.seed if cfg is not None else None)
    if refit:
        _check_refit(model, validation)
    tgt = parse_target(opts["target"], opts["implicit"])

    data = _load_training_data(
        opts["dataset"], opts["train_file"], data_dir=opts["data_dir"], columns=opts["columns"], on_bad_lines=on_bad_lines, download=download,
        sep=opts["sep"], encoding=opts["encoding"], ignore_label=tgt.kind == "binary" and tgt.value is not None,
    )
    data = attach_metadata(data, opts["metadata"])
    from cofirec.data.split_folder import training_record

    training = training_record(opts["dataset"] or opts["train_file"])  # checks a split file against its split.json
    report: dict[str, Any] = {"model": spec_name, "params": model.get_params(), "data": data.name}
    split_files = None  # (train, test, split.json params): written with the model, in one swap of the folder
    if opts["split_method"] is not None:
        from cofirec.cli.data_cmds import make_split

        parts, report["split"], split_params = make_split(
            data, out, method=opts["split_method"], test_ratio=opts["test_ratio"], seed=opts["seed"], k=opts["k_folds"], fold=opts["fold"]
        )
        split_files = (parts.train, parts.test, split_params)
        data = parts.train
    elif cfg is not None and cfg.test is not None:
        report["test_file"] = cfg.test
    fit_data = apply_target(data, tgt)
    valid = None
    if validation is not None:
        from cofirec.data.splits import validation_split

        fit_data, valid = validation_split(fit_data, validation, opts["seed"])
    also_seen = None if fit_data is data else data  # ratings below an implicit threshold, validation pairs: still "seen"
    model.fit(fit_data, validation=valid, progress=not json_out, also_seen=also_seen)
    if refit:
        full = apply_target(data, tgt)
        stage1, model = model, model.refit(full, progress=not json_out, also_seen=None if full is data else data)
        report["refit"] = {"epochs": int(stage1.best_epoch_), "stage1_last_epoch": stage1.history_[-1] if stage1.history_ else None}
        fit_data, valid = full, None
    from cofirec.models.artifact import save_model

    save_model(model, out, training=training, split=split_files)
    report.update(_fit_summary(model, fit_data, valid, out))
    if json_out:
        emit_json(report)
        return
    _print_train_report(report)


def _check_out_folder(out: Path) -> None:
    """Fail before any work when --out cannot take the model (a file, the current folder, a folder of folders)."""
    from cofirec._atomic import check_folder_target
    from cofirec.data.split_folder import SPLIT_FILES
    from cofirec.models.artifact import MODEL_FILES

    check_folder_target(out, (*MODEL_FILES, *SPLIT_FILES))


def _check_refit(model: Any, validation: float | None) -> None:
    """Fail before any fitting when --refit cannot work: no epoch count, or nothing to early-stop on."""
    from cofirec.models.base import EPOCH_PARAMS

    params = model.get_params()
    if not any(k in params for k in EPOCH_PARAMS) or (validation is None and not params.get("holdout")):
        raise ConfigError(f"--refit: {model.name}: refit needs a model whose epoch count was chosen by early stopping on validation data "
                          "(an iterative model with --validation F, or with a holdout)")


def _merge_config(cfg, **cli: Any) -> dict[str, Any]:
    """Command-line values, completed from the experiment config where the command line left them unset."""
    opts = dict(cli)
    if cfg is None:
        return opts
    if opts["dataset"] is None and opts["train_file"] is None:
        opts["dataset"] = cfg.dataset
        opts["train_file"] = Path(cfg.train) if cfg.train is not None else None
    for key in ("data_dir", "metadata"):
        if opts[key] is None and getattr(cfg, key):
            opts[key] = Path(getattr(cfg, key))
    if opts["columns"] is None and cfg.columns is not None:
        opts["columns"] = cfg.columns if isinstance(cfg.columns, str) else ",".join(cfg.columns)
    for key in ("sep", "encoding"):
        if opts[key] is None:
            opts[key] = getattr(cfg, key, None)
    if not opts["implicit"] and opts["target"] is None:
        opts["implicit"], opts["target"] = cfg.implicit, cfg.target
    if opts["split_method"] is None and opts["dataset"] is not None and opts["dataset"] == cfg.dataset:
        opts.update(split_method=cfg.split.method, test_ratio=cfg.split.test_ratio, seed=cfg.split_seed)
        opts["k_folds"] = cfg.split.k or opts["k_folds"]
        opts["fold"] = cfg.split.fold or opts["fold"]
    return opts


def _fit_summary(model: Any, fit_data: "Interactions", valid: "Interactions | None", out: Path) -> dict[str, Any]:
    return {
        "kind": model.kind_,
        "train_interactions": int(len(fit_data)),
        "validation_interactions": int(len(valid)) if valid is not None else 0,
        "users": int(model.n_users),
        "items": int(model.n_items),
        "fit_seconds": float(model.fit_seconds_),
        "epochs_run": len(model.history_),
        "last_epoch": model.history_[-1] if model.history_ else None,
        "out": str(out),
    }


def _load_config(path: Path | None):
    if path is None:
        return None
    from cofirec.experiments.config import load_config

    return load_config(path)


def _pick_model(name: str | None, cfg) -> tuple[str, dict[str, Any]]:
    """Model name and config parameters: MODEL, or the config's model (matched by name or label)."""
    specs = list(cfg.models) if cfg is not None else []
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


def _build_model(
    name: str, base: dict[str, Any], assignments: list[str] | None, *, epochs: int | None, device: str | None, seed: int | None = None
) -> "Recommender":
    """The unfitted model: config params, then --param, then the --epochs/--device shortcuts (and the config seed)."""
    from cofirec.models.params import parse_assignments
    from cofirec.models.registry import get_model_class

    cls = get_model_class(name)
    merged: dict[str, Any] = dict(base)
    merged.update(parse_assignments(assignments))
    known = set(cls.param_names())
    if seed is not None:
        for key in ("random_state", "seed"):
            if key in known and key not in merged:
                merged[key] = seed
    for option, key, value in (("--epochs", "epochs", epochs), ("--device", "device", device)):
        if value is None:
            continue
        if key not in known:
            raise ConfigError(f"{name}: has no {key!r} parameter, so {option} does not apply (parameters: {', '.join(sorted(known)) or 'none'})")
        merged[key] = value
    return cls.from_params(merged)


def _load_training_data(dataset, train_file, *, data_dir, columns, on_bad_lines, download, **reader: Any) -> "Interactions":
    if dataset is not None and train_file is not None:
        raise ConfigError("train: give either --dataset SOURCE or --train FILE, not both")
    if dataset is None and train_file is None:
        raise ConfigError("train: no data; give --dataset SOURCE (name, folder or file) or --train FILE")
    if train_file is not None:
        return read_file(train_file, columns=columns, on_bad_lines=on_bad_lines, **reader)
    return load_source(dataset, data_dir=data_dir, columns=columns, on_bad_lines=on_bad_lines, download=download, **reader)


def _print_train_report(report: dict[str, Any]) -> None:
    console = stdout_console()
    console.print(
        f"fitted [bold]{report['model']}[/] on {report['train_interactions']:,} {report['kind']} interactions "
        f"({report['users']:,} users x {report['items']:,} items) in {report['fit_seconds']:.2f}s",
        soft_wrap=True,
    )
    if report.get("epochs_run"):
        last = report.get("last_epoch") or {}
        extra = ", ".join(f"{k}={fmt_number(v)}" for k, v in last.items() if k != "epoch" and isinstance(v, (int, float)))
        console.print(f"epochs: {report['epochs_run']}" + (f"; last: {extra}" if extra else ""))
    if report.get("refit"):
        console.print(f"refitted on all {report['train_interactions']:,} training interactions for the {report['refit']['epochs']} epochs early stopping chose")
    console.print(f"saved model to {report['out']}", markup=False, soft_wrap=True)
    split = report.get("split")
    if split:
        console.print(
            f"wrote {split['train_file']} ({split['train_interactions']:,} rows) and {split['test_file']} "
            f"({split['test_interactions']:,} rows); evaluate with: cofirec evaluate {report['out']} --test {split['test_file']}",
            markup=False,
            soft_wrap=True,
        )


# ---------------------------------------------------------------------- evaluate
def evaluate(
    model_dir: ModelDirArg,
    test: Annotated[Path, typer.Option("--test", help="Test ratings file (e.g. DIR/test.tsv).", show_default=False)],
    protocol: Annotated[str | None, typer.Option("--protocol", help="rating | ranking | sampled | binary (default: from the model).", show_default=False)] = None,
    negatives: Annotated[Path | None, typer.Option("--negatives", help="NCF .test.negative file (sampled protocol).", show_default=False)] = None,
    sample_negatives: Annotated[int | None, typer.Option("--sample-negatives", help="Sample N negatives per test row (sampled protocol).", show_default=False)] = None,
    k: Annotated[str, typer.Option("--k", help="Cut-offs of top-k metrics, e.g. 10,20.")] = "10",
    relevance: Annotated[float | None, typer.Option("--relevance", help="Test ratings >= T count as relevant (ranking) or as likes (binary).", show_default=False)] = None,
    strict: StrictOpt = False,
    allow_unknown: AllowUnknownOpt = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --sample-negatives.")] = 0,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    encoding: EncodingOpt = None,
    on_bad_lines: OnBadLinesOpt = "error",
    json_out: JsonOpt = False,
) -> None:
    """Evaluate a saved model on a test file (same transforms as in training).

    More than 10% of the test users or items unknown to the model prints a warning (--strict: an error);
    all of them unknown is an error unless --allow-unknown. With --negatives the test pairs still come
    from --test and their negatives are looked up in the file by user and held-out item.
    """
    import cofirec

    ks = parse_int_list(k, "--k")
    if protocol is not None and protocol not in PROTOCOLS:
        raise ConfigError(f"--protocol {protocol!r}: use one of {', '.join(PROTOCOLS)}")
    if negatives is not None and sample_negatives is not None:
        raise ConfigError("give --negatives FILE or --sample-negatives N, not both")
    if sample_negatives is not None and sample_negatives <= 0:
        raise ConfigError(f"--sample-negatives {sample_negatives}: expected a positive number")
    model = cofirec.load(model_dir)
    _check_test_split(model_dir, test)
    binary_model = getattr(model, "kind_", None) == "binary" and getattr(model, "binary_threshold_", None) is not None
    test_data = align_to_model(read_file(test, columns=columns, on_bad_lines=on_bad_lines, sep=sep, encoding=encoding, ignore_label=binary_model), model)
    protocol = protocol or default_protocol(model, sampled=negatives is not None or sample_negatives is not None)
    negs = None
    if protocol == "sampled":
        negs = _negatives_for(model, test_data, negatives, sample_negatives, seed)
    elif negatives is not None or sample_negatives is not None:
        raise ConfigError(f"negatives apply to the sampled protocol, not {protocol!r}")
    from cofirec.evaluate.runner import evaluate as run_evaluation
    from cofirec.evaluate.unknown import UnknownReport

    metrics = run_evaluation(model, test_data, protocol=protocol, k=ks, negatives=negs, relevance_threshold=relevance,
                             strict=strict, allow_unknown=allow_unknown)
    if json_out:
        emit_json({**metrics, "unknown": UnknownReport.from_metrics(metrics).as_dict()})
        return
    from rich.markup import escape

    table = titled_table(escape(f"{getattr(model, 'name', 'model')} on {test.name} ({protocol} protocol, {len(test_data):,} test rows)"))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, fmt_number(value) if not isinstance(value, float) else f"{value:.4f}")
    stdout_console().print(table)


def _check_test_split(model_dir: Path, test: Path) -> None:
    """Refuse a test file from another split of the data the model was trained on (see check_test_file)."""
    from cofirec.data.split_folder import check_test_file
    from cofirec.models.artifact import training_of

    check_test_file(model_dir, training_of(model_dir), test)


def default_protocol(model: Any, *, sampled: bool = False) -> str:
    """sampled with negatives; binary for binary models that predict labels; rating for explicit rating
    predictors; else ranking (binary labels: the likes are the relevant items)."""
    if sampled:
        return "sampled"
    kind = getattr(model, "kind_", "explicit")
    if kind == "binary":
        return "binary" if getattr(model, "predicts_ratings", True) else "ranking"
    if kind == "explicit" and getattr(model, "predicts_ratings", True):
        return "rating"
    return "ranking"


def _negatives_for(model: Any, test: "Interactions", path: Path | None, n: int | None, seed: int):
    if path is not None:
        if not path.exists():
            raise FileNotFoundError(2, "no such negatives file", str(path))
        from cofirec.data.negatives import read_ncf_negatives

        return read_ncf_negatives(path)
    from cofirec.data.negatives import sample_negatives

    return sample_negatives(training_interactions(model), test, n or 99, seed)


def training_interactions(model: Any) -> "Interactions":
    """The (user, item) pairs a fitted model saw in training, rebuilt from ``seen_`` (implicit, value 1)."""
    import numpy as np

    from cofirec.data.dataset import Interactions

    coo = model.seen_.tocoo()
    return Interactions(
        users=coo.row.astype(np.int32),
        items=coo.col.astype(np.int32),
        ratings=np.ones(len(coo.row), dtype=np.float32),
        user_map=model.user_map_,
        item_map=model.item_map_,
        kind="implicit",
        name="train",
    )


# ---------------------------------------------------------------------- recommend
def recommend(
    model_dir: ModelDirArg,
    user: Annotated[list[str] | None, typer.Option("--user", "-u", help="Raw user id (repeatable).", show_default=False)] = None,
    all_users: Annotated[bool, typer.Option("--all-users", help="Every training user, streamed in batches (jsonl).")] = False,
    n: Annotated[int, typer.Option("-n", "--num", help="Items per user.")] = 10,
    include_seen: Annotated[bool, typer.Option("--include-seen", help="Do not drop items the user rated in training.")] = False,
    no_fallback: Annotated[bool, typer.Option("--no-fallback", help="Unknown user is an error instead of the fallback ranking.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Users per batch with --all-users.")] = 2048,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Top-N unseen items for users of a saved model (titles when the model has them)."""
    import cofirec

    fmt = _output_format(fmt, json_out, default="jsonl" if all_users else "table")
    if n <= 0:
        raise ConfigError(f"-n {n}: expected a positive number of items")
    if all_users == bool(user):
        raise ConfigError("recommend: give --user ID (repeatable) or --all-users")
    model = cofirec.load(model_dir)
    if all_users:
        if fmt == "table":
            raise ConfigError("--all-users prints jsonl or json, not a table (use --format jsonl)")
        _recommend_all(model, n, exclude_seen=not include_seen, batch_size=batch_size, as_lines=fmt == "jsonl")
        return
    recs = model.recommend(model.user_map_.coerce(list(user)), n=n, exclude_seen=not include_seen)
    records = recs.to_records()
    for rec in records:
        rec["scores"] = [round(s, 6) for s in rec["scores"]]
        titles = model.titles(rec["items"])
        if titles is not None:
            rec["titles"] = titles
    unknown = [r["user"] for r in records if not r["known"]]
    if unknown:
        label = ", ".join(repr(u) for u in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        if no_fallback:
            raise UnknownIdError(f"unknown user {label}: not in the training data of {model_dir}")
        note(f"user {label} is not in the training data: showing the non-personalised fallback ranking ({_fallback_name(model)})")
    short = [r["user"] for r in records if len(r["items"]) < n]
    if short:
        note(f"{len(short)} of {len(records)} users have fewer than {n} items left to recommend (their lists are shorter): "
             + ", ".join(repr(u) for u in short[:5]) + (" ..." if len(short) > 5 else ""))
    if fmt == "json":
        emit_json(records)  # always a list of records (one per user), as with --all-users --json
    elif fmt == "jsonl":
        emit_jsonl(to_jsonable(records))
    else:
        for rec in records:
            _print_recommendations(rec, exclude_seen=not include_seen, label="score")


def _fallback_name(model: Any) -> str:
    return "item popularity" if getattr(model, "kind_", "explicit") == "implicit" else "damped item mean ratings"


def _output_format(fmt: str | None, json_out: bool, *, default: str) -> str:
    if json_out:
        if fmt not in (None, "json"):
            raise ConfigError(f"--json contradicts --format {fmt}")
        return "json"
    fmt = (fmt or default).lower()
    if fmt not in ("table", "json", "jsonl"):
        raise ConfigError(f"--format {fmt!r}: use table, json or jsonl")
    return fmt


def _recommend_all(model: Any, n: int, *, exclude_seen: bool, batch_size: int, as_lines: bool) -> None:
    """Stream ``{"user", "items", "scores", "known", ["titles"]}`` per training user (the fields of ``--user``),
    ``batch_size`` users per scoring call."""
    import json

    import numpy as np

    if batch_size <= 0:
        raise ConfigError(f"--batch-size {batch_size}: expected a positive number")
    ids = model.user_map_.ids
    title_of = getattr(model, "item_titles_", None)
    title_of = None if title_of is None else np.asarray(title_of, dtype=object)
    write = sys.stdout.write
    if not as_lines:
        write("[")
    first = True
    for b0 in range(0, len(ids), batch_size):
        batch = ids[b0 : b0 + batch_size]
        recs = model.recommend(batch, n=n, exclude_seen=exclude_seen)
        items = recs.items.tolist()
        titles = None if title_of is None else title_of[model.item_map_.lookup(recs.items.ravel())].reshape(recs.items.shape).tolist()
        scores = np.round(recs.scores.astype(np.float64), 6)
        finite = np.isfinite(scores)
        score_lists = scores.tolist()
        users = batch.tolist()
        chunks = []
        for row, u in enumerate(users):
            ok = finite[row]
            its, scs = items[row], score_lists[row]
            tts = titles[row] if titles is not None else None
            if not ok.all():
                its = [x for x, keep in zip(its, ok) if keep]
                scs = [x for x, keep in zip(scs, ok) if keep]
                tts = [x for x, keep in zip(tts, ok) if keep] if tts is not None else None
            rec = {"user": u, "items": its, "scores": scs, "known": True}
            if tts is not None:
                rec["titles"] = [str(t) for t in tts]
            chunks.append(json.dumps(rec, separators=(",", ":")))
        if as_lines:
            write("\n".join(chunks) + "\n")
        else:
            write(("" if first else ",\n") + ",\n".join(chunks))
        first = False
    if not as_lines:
        write("]\n")


def _print_recommendations(rec: dict, *, exclude_seen: bool, label: str) -> None:
    from rich.markup import escape

    titles = rec.get("titles")
    if "user" in rec:
        caption = "items this user has not rated in training" if exclude_seen else "training items included"
        if not rec.get("known", True):
            caption = "fallback ranking: user not in the training data"
        title = f"recommendations for user {rec['user']}"
    else:
        caption, title = None, f"items similar to {rec['item']}" + (f" ({rec['item_title']})" if rec.get("item_title") else "")
    table = titled_table(escape(title), caption)
    table.add_column("#", justify="right")
    table.add_column("item", justify="right")
    if titles is not None:
        table.add_column("title", overflow="fold")
    table.add_column(label, justify="right")
    for rank, item in enumerate(rec["items"]):
        row = [str(rank + 1), escape(str(item))]
        if titles is not None:
            row.append(escape(titles[rank]))
        row.append(f"{rec['scores'][rank]:.4f}")
        table.add_row(*row)
    stdout_console().print(table)


# ---------------------------------------------------------------------- similar
def similar(
    model_dir: ModelDirArg,
    item: Annotated[str, typer.Option("--item", "-i", help="Raw item id, or part of a title (case-insensitive).", show_default=False)],
    n: Annotated[int, typer.Option("-n", "--num", help="Number of similar items.")] = 10,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Items most similar to one item, given by id or (part of) its title."""
    import cofirec

    fmt = _output_format(fmt, json_out, default="table")
    if n <= 0:
        raise ConfigError(f"-n {n}: expected a positive number of items")
    model = cofirec.load(model_dir)
    item_id = resolve_item(model, item)
    recs = model.similar_items(item_id, n=n)
    record = recs.to_records()[0]
    out: dict[str, Any] = {"item": record["user"], "items": record["items"], "scores": [round(s, 6) for s in record["scores"]]}
    titles = model.titles(out["items"])
    if titles is not None:
        out["item_title"] = model.titles([out["item"]])[0]
        out["titles"] = titles
    if fmt == "json":
        emit_json(out)
    elif fmt == "jsonl":
        emit_jsonl([to_jsonable(out)])
    else:
        _print_recommendations(out, exclude_seen=False, label="similarity")


def resolve_item(model: Any, text: str) -> Any:
    """A raw item id from an id or a case-insensitive title substring; ambiguous titles list candidates."""
    import numpy as np

    idx = int(model.item_map_.lookup([text])[0])
    if idx >= 0:
        return model.item_map_.ids[idx].item()
    titles = getattr(model, "item_titles_", None)
    if titles is None:
        raise UnknownIdError(f"unknown item {text!r}: not an item id of this model (it has no titles to search)")
    needle = text.strip().lower()
    lowered = np.char.lower(np.asarray(titles, dtype=str))
    exact = np.flatnonzero(lowered == needle)
    hits = exact if len(exact) else np.flatnonzero(np.char.find(lowered, needle) >= 0)
    if len(hits) == 0:
        raise UnknownIdError(f"unknown item {text!r}: no item id or title matches")
    if len(hits) > 1:
        shown = "; ".join(f"{model.item_map_.ids[i]}: {titles[i]}" for i in hits[:10])
        more = f" (and {len(hits) - 10} more)" if len(hits) > 10 else ""
        raise UnknownIdError(f"item {text!r} is ambiguous, {len(hits)} titles match: {shown}{more}; give the id or more of the title")
    return model.item_map_.ids[hits[0]].item()


# ---------------------------------------------------------------------- plot
def plot(
    model_dirs: Annotated[list[Path], typer.Argument(metavar="DIR...", help="One or more model folders.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.", show_default=False)],
    json_out: JsonOpt = False,
) -> None:
    """Learning curves (loss and validation metrics per epoch) from the models' training history."""
    import cofirec

    histories: dict[str, list[dict]] = {}
    for path in model_dirs:
        model = cofirec.load(path)
        label = model.name or path.name
        if label in histories:
            label = f"{label} ({path.name})"
        histories[label] = list(getattr(model, "history_", []) or [])
    if not any(histories.values()):
        names = ", ".join(histories)
        raise DataError(f"no training history to plot: {names} {'is not an iterative model' if len(histories) == 1 else 'are not iterative models'}")
    from cofirec.experiments.plots import plot_learning_curves

    path = plot_learning_curves(histories, out)
    if json_out:
        emit_json({"out": str(path), "models": {k: len(v) for k, v in histories.items()}})
        return
    stdout_console().print(f"wrote {path}", markup=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    app.command("models")(models)
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("recommend")(recommend)
    app.command("similar")(similar)
    app.command("plot")(plot)
