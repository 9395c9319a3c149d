"""Command-line options laid over an experiment config (``--config``), and the command that reproduces a run.

``train``, ``compare`` and ``tune`` all build their :class:`~cofirec.experiments.config.ExperimentConfig`
through :func:`build_config`, so flags and config files share one validation path.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from cofirec.cli.options import parse_encoding, parse_sep
from cofirec.errors import ConfigError


def build_config(
    config: Path | None,
    *,
    label: str,
    dataset: str | None = None,
    train: Path | None = None,
    test: Path | None = None,
    data_dir: Path | None = None,
    columns: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
    metadata: Path | None = None,
    implicit: bool = False,
    target: str | None = None,
    split: str | None = None,
    test_ratio: float | None = None,
    folds: int | None = None,
    fold: int | None = None,
    split_seed: int | None = None,
    cutoff: str | None = None,
    cold: str | None = None,
    seed: int | None = None,
    protocol: str | None = None,
    k: str | None = None,
    negatives: Path | None = None,
    models: str | None = None,
    params: list[str] | None = None,
    require_models: bool = True,
    require_test: bool = True,
    require_data: bool = True,
):
    """An ExperimentConfig from ``--config`` (if any) with the given command-line options laid over it.

    ``--implicit`` / ``--target`` replace both of the config's ``implicit`` and ``target``."""
    from cofirec.experiments.config import config_from_dict, load_config

    base = load_config(config).to_dict() if config is not None else {}
    raw: dict[str, Any] = dict(base)
    if dataset is not None:
        raw.update(dataset=dataset, train=None, test=None)
    if train is not None or test is not None:
        raw.update(train=_path(train), test=_path(test), dataset=None)
    for key, value in (
        ("data_dir", _path(data_dir)),
        ("columns", columns),
        ("sep", parse_sep(sep)),
        ("encoding", parse_encoding(encoding)),
        ("metadata", _path(metadata)),
        ("seed", seed),
        ("protocol", protocol),
        ("negatives", _path(negatives)),
    ):
        if value is not None:
            raw[key] = value
    if implicit or target is not None:
        from cofirec.data.targets import parse_target

        parse_target(target, implicit)  # a bad --target is named as such
        raw.update(implicit=implicit, target=target)
    if k is not None:
        raw["k"] = k
    split_raw: dict[str, Any] = dict(raw.get("split") or {})
    split_opts: tuple[tuple[str, Any], ...] = (("method", split), ("test_ratio", test_ratio), ("k", folds), ("fold", fold), ("seed", split_seed))
    split_opts += (("cutoff", cutoff), ("cold", cold))
    for key, value in split_opts:
        if value is not None:
            split_raw[key] = value
    raw["split"] = split_raw
    if models is not None:
        raw["models"] = _models_from_names(models, base.get("models", []))
    from cofirec.models.builder import apply_param_assignments

    raw["models"] = apply_param_assignments(raw.get("models", []), params)
    where = config.name if config is not None else label
    return config_from_dict(
        {key: v for key, v in raw.items() if v is not None or key in base},
        label=where,
        require_models=require_models,
        require_test=require_test,
        require_data=require_data,
    )


def _path(p: Path | None) -> str | None:
    return None if p is None else str(p)


def _models_from_names(text: str, config_models: list[dict]) -> list[dict]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"--models {text!r}: expected comma-separated model names, e.g. mean,item-knn,mf")
    out = []
    for name in names:
        match = next((m for m in config_models if m.get("label") == name), None) or next((m for m in config_models if m.get("name") == name), None)
        out.append(dict(match) if match else {"name": name, "params": {}})
    return out


def reproduce_command(command: str, cfg, report_dir: Path | None, extra: list[str] | None = None, model: str | None = None) -> str:
    """The one command that reproduces a run: flags when the config can be written as flags, else ``--config``."""
    args = ["cofirec", command] + ([model] if model else [])
    if report_dir is not None and _needs_config_file(cfg, command):
        args += ["--config", str(Path(report_dir) / "config.json")]
    else:
        if cfg.dataset is not None:
            args += ["--dataset", cfg.dataset]
            if cfg.data_dir:
                args += ["--data-dir", cfg.data_dir]
            args += ["--split", cfg.split.method, "--test-ratio", f"{cfg.split.test_ratio:g}"]
            if cfg.split.k is not None:
                args += ["--folds", str(cfg.split.k)]
            if cfg.split.fold is not None:
                args += ["--fold", str(cfg.split.fold)]
            if cfg.split.seed is not None and cfg.split.seed != cfg.seed:
                args += ["--split-seed", str(cfg.split.seed)]
            for flag, value in (("--cutoff", cfg.split.cutoff), ("--cold", cfg.split.cold)):
                if value is not None:
                    args += [flag, str(value)]
        else:
            args += ["--train", str(cfg.train), "--test", str(cfg.test)]
        for flag, value in (
            ("--columns", cfg.columns if isinstance(cfg.columns, str) or cfg.columns is None else ",".join(cfg.columns)),
            ("--sep", cfg.sep),
            ("--encoding", cfg.encoding),
            ("--metadata", cfg.metadata),
            ("--target", cfg.target),
            ("--negatives", cfg.negatives),
        ):
            if value is not None:
                args += [flag, str(value)]
        if cfg.implicit:
            args.append("--implicit")
        args += ["--seed", str(cfg.seed)]
        if command == "compare":
            args += ["--protocol", cfg.protocol, "--k", ",".join(str(x) for x in cfg.k)]
            args += ["--models", ",".join(m.name for m in cfg.models)]
            for m in cfg.models:
                args += [a for key, v in m.params.items() for a in ("--param", f"{m.name}.{key}={_flag_value(v)}")]
        else:
            spec = next((m for m in cfg.models if m.name == model), None)
            for key, v in spec.params.items() if spec else []:
                args += ["--param", f"{key}={_flag_value(v)}"]
    args += extra or []
    if report_dir is not None:
        args += ["--report", str(report_dir)]
    return " ".join(shlex.quote(a) for a in args)


def _needs_config_file(cfg, command: str) -> bool:
    names = [m.name for m in cfg.models]
    return any(m.label for m in cfg.models) or len(set(names)) != len(names) or bool(cfg.tune.space)


def _flag_value(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


def write_config(cfg, report_dir: Path) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
