"""Experiment configuration files (TOML, YAML or JSON) validated into an :class:`ExperimentConfig`.

A config file describes the data, the split, the evaluation protocol and the models of one experiment; the
same object is built from command-line options, so ``cofirec train --config``, ``cofirec compare`` and
``cofirec tune`` share one schema. Validation is strict: unknown fields, unknown models, unknown parameters
and values of the wrong type are refused with one line naming the file and the field, e.g.::

    config.toml: models[1].params.factors: expected int, got 'abc'

Example (TOML)::

    dataset = "ml-100k"            # a dataset name, a folder or a ratings file (or give train + test)
    data_dir = "../shared/data"    # where named datasets live (relative paths: to the config file)
    protocol = "ranking"           # rating | ranking | sampled | binary
    k = [10, 20]
    seed = 42

    [split]
    method = "random"
    test_ratio = 0.2
    seed = 42

    [[models]]
    name = "item-knn"
    params = { k = 50 }

    [[models]]
    name = "mf"
    label = "mf-64"                # optional display name (to compare one model with two settings)
    params = { factors = 64, epochs = 20 }

    # models may also be given as tables, one per model: [models.ease] then reg = 300

    [tune]
    metric = "ndcg@10"
    trials = 30
    [tune.space.mf]
    factors = { type = "int", low = 8, high = 128, log = true }
"""

from __future__ import annotations

import json
import tomllib
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

from cofirec._seeds import check_seed
from cofirec.data.targets import parse_target
from cofirec.errors import ConfigError
from cofirec.evaluate import PROTOCOLS
from cofirec.experiments.config_schema import ExperimentConfig, ModelSpec, SplitConfig, TuneConfig
from cofirec.models.params import describe_type

__all__ = ["PROTOCOLS", "ExperimentConfig", "ModelSpec", "SplitConfig", "TuneConfig", "check_params", "config_from_dict", "describe_type", "load_config"]


# ---------------------------------------------------------------------- loading
def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment config file (``.toml``, ``.yaml``/``.yml`` or ``.json``).

    Relative paths in the file (data_dir, dataset folders/files, train, test, metadata, negatives) are taken
    relative to the file's folder. Raises :class:`~cofirec.errors.ConfigError` with one line naming the file
    and field for any problem.
    """
    path = Path(path)
    label = path.name
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, expected a .toml, .yaml or .json config file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label}: not UTF-8 text ({exc.reason})") from exc
    raw = _parse_text(text, suffix, label)
    return config_from_dict(raw, label=label, base_dir=path.resolve().parent, source=str(path))


def _parse_text(text: str, suffix: str, label: str) -> dict:
    if suffix == ".toml":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{label}: invalid TOML: {exc}") from exc
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{label}: invalid YAML{where}: {problem}") from exc
        raw = {} if raw is None else raw
    elif suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{label}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    else:
        raise ConfigError(f"{label}: unsupported config format {suffix or '(no extension)'!r}; use .toml, .yaml, .yml or .json")
    if not isinstance(raw, dict):
        raise ConfigError(f"{label}: expected a table of settings at the top level, got {type(raw).__name__}")
    return raw


def config_from_dict(
    raw: dict[str, Any],
    *,
    label: str = "config",
    base_dir: Path | None = None,
    source: str | None = None,
    require_data: bool = True,
    require_models: bool = False,
    require_test: bool = True,
) -> ExperimentConfig:
    """Validate a mapping (parsed file or CLI options) into an :class:`ExperimentConfig`.

    ``label`` prefixes every error message; ``base_dir`` resolves relative paths. ``require_test=False``
    accepts a ``train`` file without ``test`` (fitting one model on all of it).
    """
    v = _Validator(label)
    v.no_extra(raw, ExperimentConfig, "", exclude=frozenset({"source"}))
    cfg = ExperimentConfig(source=source)
    for name in ("dataset", "train", "test", "data_dir", "metadata", "negatives", "target", "sep", "encoding"):
        setattr(cfg, name, v.opt_str(raw, name, ""))
    cfg.columns = v.columns(raw.get("columns"), "columns")
    cfg.implicit = v.typed(raw, "implicit", bool, "", False)
    cfg.seed = v.typed(raw, "seed", int, "", 0)
    check_seed(cfg.seed, f"{label}: seed")
    cfg.protocol = v.choice(raw, "protocol", PROTOCOLS, "", "ranking")  # type: ignore[assignment]  # one of PROTOCOLS
    cfg.k = v.k_list(raw.get("k", [10, 20]), "k")
    cfg.split = v.split(raw.get("split", {}))
    cfg.tune = v.tune(raw.get("tune", {}))
    cfg.models = v.models(raw.get("models", []))
    parse_target(cfg.target, cfg.implicit, where=f"{label}: target")
    if (cfg.train is None and cfg.test is not None) or (require_test and cfg.train is not None and cfg.test is None):
        missing = "test" if cfg.test is None else "train"
        raise ConfigError(f"{label}: {missing}: missing; give both 'train' and 'test' files, or a 'dataset'")
    if cfg.dataset is not None and cfg.train is not None:
        raise ConfigError(f"{label}: give either 'dataset' or 'train' + 'test', not both")
    if require_data and cfg.dataset is None and cfg.train is None:
        raise ConfigError(f"{label}: dataset: missing; set 'dataset' (a name such as 'ml-100k', a folder or a ratings file) or both 'train' and 'test'")
    if require_models and not cfg.models:
        raise ConfigError(f'{label}: models: missing; list at least one model, e.g. [[models]] name = "mean"')
    if base_dir is not None:
        _resolve_paths(cfg, base_dir)
    return cfg


def _resolve_paths(cfg: ExperimentConfig, base: Path) -> None:
    for name in ("train", "test", "metadata", "negatives", "data_dir"):
        value = getattr(cfg, name)
        if value is not None and not Path(value).expanduser().is_absolute():
            setattr(cfg, name, str((base / value).resolve()))
    if cfg.dataset is not None:
        candidate = Path(cfg.dataset).expanduser()
        if not candidate.is_absolute() and (base / candidate).exists():
            cfg.dataset = str((base / candidate).resolve())


# ---------------------------------------------------------------------- validation helpers
class _Validator:
    """Field checks that raise one-line ConfigErrors prefixed with the file label."""

    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, where: str, message: str) -> typing.NoReturn:
        raise ConfigError(f"{self.label}: {where}: {message}")

    def no_extra(self, raw: Any, cls: type, prefix: str, exclude: frozenset[str] = frozenset()) -> None:
        where = prefix.rstrip(".") or "top level"
        if not isinstance(raw, dict):
            self.fail(where, f"expected a table, got {_show(raw)}")
        allowed = [f.name for f in fields(cls) if f.name not in exclude]
        for key in raw:
            if key not in allowed:
                hint = _close(key, allowed)
                self.fail(f"{prefix}{key}", f"unknown field{hint} (allowed: {', '.join(allowed)})")

    def typed(self, raw: dict, key: str, kind: type, prefix: str, default: Any) -> Any:
        if key not in raw or raw[key] is None:
            return default
        value = raw[key]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            self.fail(f"{prefix}{key}", f"expected {kind.__name__}, got {_show(value)}")
        return value

    def opt_str(self, raw: dict, key: str, prefix: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{prefix}{key}", f"expected a non-empty string, got {_show(value)}")
        return value

    def choice(self, raw: dict, key: str, options: tuple[str, ...], prefix: str, default: str) -> str:
        value = raw.get(key, default)
        if value not in options:
            self.fail(f"{prefix}{key}", f"expected one of {', '.join(options)}, got {_show(value)}")
        return value

    def columns(self, value: Any, where: str) -> str | list[str] | None:
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, list) and value and all(isinstance(c, str) for c in value):
            return list(value)
        self.fail(where, f"expected a comma-separated string or a list of column names, got {_show(value)}")

    def k_list(self, value: Any, where: str) -> list[int]:
        if isinstance(value, str):
            try:
                value = [int(p) for p in value.split(",") if p.strip()]
            except ValueError:
                self.fail(where, f"expected a list of positive int, got {_show(value)}")
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or not value:
            self.fail(where, f"expected a list of positive int, got {_show(value)}")
        for i, x in enumerate(value):
            if not isinstance(x, int) or isinstance(x, bool) or x <= 0:
                self.fail(f"{where}[{i}]", f"expected a positive int, got {_show(x)}")
        return sorted(set(value))

    def split(self, raw: Any) -> SplitConfig:
        self.no_extra(raw, SplitConfig, "split.")
        out = SplitConfig(
            method=self.opt_str(raw, "method", "split.") or "random",
            test_ratio=self.typed(raw, "test_ratio", float, "split.", 0.2),
            seed=self.typed(raw, "seed", int, "split.", None),
            k=self.typed(raw, "k", int, "split.", None),
            fold=self.typed(raw, "fold", int, "split.", None),
            cutoff=self.cutoff(raw.get("cutoff")),
            cold=self.typed(raw, "cold", str, "split.", None),
        )
        self.temporal_options(out)
        if not 0.0 < out.test_ratio < 1.0:
            self.fail("split.test_ratio", f"expected a fraction between 0 and 1, got {out.test_ratio!r}")
        if out.k is not None and out.k <= 0:
            self.fail("split.k", f"expected a positive int, got {out.k!r}")
        return out

    def cutoff(self, value: Any) -> str | float | None:
        """``split.cutoff``: an ISO date string, unix seconds, or a TOML/YAML date (kept as its ISO string)."""
        import datetime as dt

        from cofirec.data.temporal import parse_cutoff

        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail("split.cutoff", f"expected a date (e.g. 1998-03-01) or unix seconds, got {_show(value)}")
        try:
            parse_cutoff(value)
        except ConfigError as exc:
            self.fail("split.cutoff", str(exc))
        return value

    def temporal_options(self, split: SplitConfig) -> None:
        from cofirec.data.temporal import COLD_POLICIES

        if split.cold is not None and split.cold not in COLD_POLICIES:
            self.fail("split.cold", f"expected one of {', '.join(COLD_POLICIES)}, got {_show(split.cold)}")
        for key in ("cutoff", "cold"):
            if getattr(split, key) is not None and split.method.strip().lower() != "temporal":
                self.fail(f"split.{key}", f"applies to the temporal split only (split.method is {split.method!r})")

    def tune(self, raw: Any) -> TuneConfig:
        self.no_extra(raw, TuneConfig, "tune.")
        out = TuneConfig(
            metric=self.opt_str(raw, "metric", "tune.") or "ndcg@10",
            trials=self.typed(raw, "trials", int, "tune.", 20),
            timeout=self.typed(raw, "timeout", float, "tune.", None),
            validation_ratio=self.typed(raw, "validation_ratio", float, "tune.", 0.1),
            space=raw.get("space", {}) or {},
        )
        if out.trials <= 0:
            self.fail("tune.trials", f"expected a positive int, got {out.trials!r}")
        if not 0.0 < out.validation_ratio < 1.0:
            self.fail("tune.validation_ratio", f"expected a fraction between 0 and 1, got {out.validation_ratio!r}")
        if not isinstance(out.space, dict):
            self.fail("tune.space", f"expected a table of models, got {_show(out.space)}")
        from cofirec.experiments.spaces import validate_space_overrides
        from cofirec.models.registry import MODELS

        for model in out.space:
            if model not in MODELS:
                self.fail(f"tune.space.{model}", f"unknown model{_close(model, list(MODELS))} (known: {', '.join(MODELS)})")
        validate_space_overrides(out.space, self.label)
        for model, params in out.space.items():
            known = set(self.model_class(model, f"tune.space.{model}").param_names())
            for param in params:
                if param not in known:
                    self.fail(f"tune.space.{model}.{param}", f"unknown parameter for model {model!r} (known: {', '.join(sorted(known)) or 'none'})")
        return out

    def models(self, raw: Any) -> list[ModelSpec]:
        if isinstance(raw, dict) and raw and "name" not in raw and all(isinstance(v, dict) for v in raw.values()):
            return [self.model_table(name, params) for name, params in raw.items()]  # [models.NAME] tables
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list):
            self.fail("models", f"expected a list of models, got {_show(raw)}")
        return [self.model(entry, f"models[{i}]") for i, entry in enumerate(raw)]

    def model(self, entry: Any, where: str) -> ModelSpec:
        if isinstance(entry, str):
            entry = {"name": entry}
        self.no_extra(entry, ModelSpec, f"{where}.")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            self.fail(f"{where}.name", f"expected a model name, got {_show(name)}")
        cls = self.model_class(name, f"{where}.name")
        params = entry.get("params", {}) or {}
        if not isinstance(params, dict):
            self.fail(f"{where}.params", f"expected a table of parameters, got {_show(params)}")
        label = entry.get("label")
        if label is not None and (not isinstance(label, str) or not label):
            self.fail(f"{where}.label", f"expected a non-empty string, got {_show(label)}")
        return ModelSpec(name=name, params=check_params(cls, params, f"{self.label}: {where}.params"), label=label)

    def model_table(self, name: str, params: dict[str, Any]) -> ModelSpec:
        """One ``[models.NAME]`` table: its keys are the model's parameters."""
        cls = self.model_class(name, f"models.{name}")
        return ModelSpec(name=name, params=check_params(cls, params, f"{self.label}: models.{name}"))

    def model_class(self, name: str, where: str) -> Any:
        from cofirec.models.registry import MODELS, get_model_class

        if name not in MODELS:
            hint = _close(name, list(MODELS))
            self.fail(where, f"unknown model {name!r}{hint} (known: {', '.join(MODELS)})")
        try:
            return get_model_class(name)
        except ConfigError as exc:
            self.fail(where, str(exc))


def check_params(cls: Any, params: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate ``params`` against ``cls.__init__``; converts numeric strings and lists where the hint allows.

    Raises ConfigError ``"{where}.{param}: expected {type}, got {value!r}"`` or an unknown-parameter line.
    """
    from cofirec.models.params import coerce_value

    types_ = cls.param_types()
    out: dict[str, Any] = {}
    for key, value in params.items():
        pkey = str(key).replace("-", "_")
        if pkey not in types_:
            known = ", ".join(sorted(types_)) or "none"
            raise ConfigError(f"{where}.{key}: unknown parameter{_close(pkey, list(types_))} for model {cls.name!r} (known: {known})")
        try:
            out[pkey] = coerce_value(pkey, types_[pkey], value)
        except ConfigError:
            raise ConfigError(f"{where}.{key}: expected {describe_type(types_[pkey])}, got {_show(value)}") from None
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _close(word: str, options: list[str]) -> str:
    import difflib

    match = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""
