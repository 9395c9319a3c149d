"""``cofirec train als|ials --engine spark``: fit with Spark MLlib ALS (:func:`cofirec.engines.train_spark_als`) and
save the exported model like any other ``cofirec train`` run.

The log (``--train``: Parquet file or folder, or delimited text) is read by Spark, never by pandas. Options the
Spark engine has no counterpart for (a dataset to split, early stopping, a config file) are refused in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cofirec.errors import ConfigError

ENGINES = ("local", "spark")


def check_engine(engine: str) -> str:
    """``--engine`` normalised; ConfigError for an unknown engine."""
    name = engine.strip().lower()
    if name not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    return name


def refuse_unsupported(model_name: str | None, train_file: Path | None, options: dict[str, Any]) -> str:
    """The model name when ``--engine spark`` can run it; ConfigError naming the first option it cannot honour."""
    from cofirec.engines.spark import SPARK_MODELS

    if model_name not in SPARK_MODELS:
        shown = "a MODEL" if model_name is None else repr(model_name)
        raise ConfigError(f"train --engine spark: trains {' or '.join(SPARK_MODELS)}, not {shown} (drop --engine spark for other models)")
    for flag, value in options.items():
        if value is not None and value is not False:
            raise ConfigError(f"train --engine spark: {flag} is not supported (Spark fits one --train PATH whole; drop {flag} or use --engine local)")
    if train_file is None:
        raise ConfigError("train --engine spark: --train PATH is required (a Parquet file or folder, or a CSV/TSV file, read by Spark)")
    return model_name


def spark_implicit(target: str | None, implicit: bool) -> bool | float:
    """``--implicit`` / ``--target`` as :func:`~cofirec.engines.train_spark_als`'s ``implicit`` argument."""
    from cofirec.data.targets import parse_target

    tgt = parse_target(target, implicit)
    if tgt.kind == "explicit":
        return False
    if tgt.kind == "implicit":
        return True if tgt.value is None else float(tgt.value)
    raise ConfigError(f"train --engine spark: --target {target} is not supported (use explicit or implicit[:MIN])")


def spark_params(params: list[str] | None, epochs: int | None) -> dict[str, Any]:
    """``--param NAME=VALUE`` (and ``--epochs N``) as a dict of strings, converted by the engine like the CLI's."""
    out: dict[str, Any] = {}
    for text in params or []:
        key, eq, value = text.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--param {text!r}: expected NAME=VALUE")
        out[key.strip().rpartition(".")[2]] = value.strip()
    if epochs is not None:
        out["epochs"] = epochs
    return out


def fit_on_spark(
    model_name: str,
    train_file: Path,
    *,
    params: list[str] | None,
    epochs: int | None,
    master: str | None,
    columns: str | None,
    sep: str | None,
    encoding: str | None,
    target: str | None,
    implicit: bool,
    progress: bool,
) -> Any:
    """The fitted (unsaved) cofirec model Spark trained on ``train_file``; without pyspark or Java 17+ the library's
    one-line error, before any progress line."""
    from cofirec.cli.options import parse_sep
    from cofirec.engines import train_spark_als
    from cofirec.engines.session import DEFAULT_MASTER, check_java, require_pyspark

    require_pyspark()
    check_java()
    return train_spark_als(
        model_name,  # type: ignore[arg-type]  # checked by refuse_unsupported
        train_file,
        spark_params(params, epochs),
        master=master or DEFAULT_MASTER,
        columns=[c.strip() for c in columns.split(",")] if columns else None,
        sep=parse_sep(sep),
        encoding=encoding,
        implicit=spark_implicit(target, implicit),
        progress=progress,
    )
