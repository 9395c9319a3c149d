"""``cofirec recommend --all-users --engine spark --out recs.parquet``: batch top-N for every user in Spark
(:func:`cofirec.engines.spark_recommend_all`), one progress line per stage on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cofirec.cli.output import emit_json, note, stdout_console
from cofirec.errors import ConfigError

ENGINES = ("local", "spark")


def check_engine_options(engine: str, *, all_users: bool, out: Path | None, master: str | None, why: bool) -> str:
    """The engine name (lower case) after checking the options that go with it."""
    engine = engine.strip().lower()
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: use local or spark")
    if engine == "local":
        if out is not None and not all_users:
            raise ConfigError("--out writes the --all-users lists to a file: add --all-users (--user lists print to stdout)")
        if master is not None:
            raise ConfigError("--master applies to --engine spark only")
        return engine
    if not all_users:
        raise ConfigError("--engine spark scores every user: use it with --all-users")
    if out is None:
        raise ConfigError("--engine spark needs --out PATH (a Parquet folder to write)")
    if why:
        raise ConfigError("--why is not available with --engine spark")
    return engine


def recommend_all_spark(model: Any, n: int, out: Path, *, master: str | None, overwrite: bool, as_json: bool) -> None:
    """Check pyspark and Java (one-line errors saying what to install), then score every user in Spark."""
    from cofirec.engines import spark_recommend_all
    from cofirec.engines.session import DEFAULT_MASTER, check_java, require_pyspark

    require_pyspark()
    check_java()
    master = master or DEFAULT_MASTER
    path = spark_recommend_all(model, n, out, master=master, overwrite=overwrite, progress=lambda line: note(line))
    summary = {"out": str(path), "users": int(model.n_users), "n": n, "engine": "spark", "master": master}
    if as_json:
        emit_json(summary)
    else:
        stdout_console().print(f"wrote top-{n} lists of {model.n_users:,} users to {path} (Parquet: user, rank, item, score)", markup=False, soft_wrap=True)
