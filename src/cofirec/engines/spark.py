"""Training cofirec's ``als`` and ``ials`` with Spark MLlib ALS, exported as normal cofirec models.

:func:`train_spark_als` reads the log with Spark (:mod:`cofirec.engines.spark_io`), indexes the ids in Spark,
fits ``pyspark.ml.recommendation.ALS`` and returns a fitted :class:`~cofirec.models.als.ExplicitALS` or
:class:`~cofirec.models.ials.ImplicitALS`: ``model.save(dir)`` writes the same artifact as single-machine
training, which ``cofirec.load``, evaluate, recommend and similar use unchanged.

What Spark fits, in cofirec's terms
-----------------------------------
Parameter names map as ``factors -> rank``, ``epochs -> maxIter``, ``reg -> regParam``, ``alpha -> alpha``,
``random_state -> seed``. Spark regularises each row by ``regParam * n`` (its number of ratings), which is
cofirec's ``weighted_reg=True`` (``als``) and ``reg_exponent=1`` (``ials``): other values are refused.

* ``als``: Spark's explicit ALS has **no bias terms**. The exported model scores
  ``r_hat(u, i) = offset + p_u . q_i`` with ``biases=False`` (user and item biases stored as zeros) and
  ``center`` honoured by cofirec: ``global`` (the default) subtracts the global mean in Spark before fitting and
  stores it as the offset; ``none`` fits the raw ratings (offset 0). That is exactly cofirec's own ``als`` with
  ``biases=False``; ``biases=True`` is refused. ``reg_bias`` has nothing to act on.
* ``ials``: Spark's implicit ALS (``implicitPrefs=True``) with confidence ``1 + alpha * r``; ``confidence="log"``
  is honoured by giving Spark ``log(1 + r / epsilon)`` as the values. The solve is exact, so the exported
  model says ``solver="cholesky"``. Values <= 0 get preference 0 in Spark (cofirec gives every stored pair
  preference 1); logs of counts or ratings have none.

Spark has its own initialisation, no validation split and no per-epoch history: ``init_std``, ``patience``,
``cg_steps`` and ``track_loss`` must stay at their defaults, ``history_`` is empty and
``best_epoch_ = epochs_run_ = epochs``. ``engine_`` records Spark's version and master.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.engines.session import DEFAULT_MASTER, Stages, spark_session
from cofirec.engines.spark_io import collect_pairs, index_log, read_log
from cofirec.errors import ConfigError, DataError
from cofirec.models.base import Recommender

SPARK_MODELS = ("als", "ials")

FIXED_PARAMS: dict[str, dict[str, Any]] = {
    "als": {"biases": False, "weighted_reg": True},
    "ials": {"reg_exponent": 1.0, "solver": "cholesky"},
}
"""Parameter values that describe what Spark fits (set on the exported model; other values are refused)."""

UNUSED_PARAMS: dict[str, tuple[str, ...]] = {
    "als": ("init_std", "patience"),
    "ials": ("init_std", "patience", "cg_steps", "track_loss"),
}
"""Parameters Spark has no counterpart for: accepted only at their defaults."""

_WHY = {
    "biases": "Spark MLlib's explicit ALS has no bias terms",
    "weighted_reg": "Spark scales regularisation by each row's number of ratings",
    "reg_exponent": "Spark scales regularisation by each row's number of interactions (reg_exponent=1)",
    "solver": "Spark solves each row exactly (cholesky)",
}


def spark_model(model_name: str, params: dict[str, Any] | None = None) -> Recommender:
    """The unfitted cofirec model a Spark fit will fill in: ``params`` checked (names, types, ranges) and the values
    Spark imposes (:data:`FIXED_PARAMS`) set; ConfigError for a parameter Spark cannot honour."""
    from cofirec.models.registry import get_model_class

    if model_name not in SPARK_MODELS:
        raise ConfigError(f"the Spark engine trains {' and '.join(SPARK_MODELS)}, not {model_name!r}")
    cls = get_model_class(model_name)
    given = cls.from_params(params or {}).get_params()
    explicit = set(cls.upgrade_params({k.replace("-", "_"): v for k, v in (params or {}).items()}))
    defaults = cls.param_defaults()
    for key, value in FIXED_PARAMS[model_name].items():
        if key in explicit and given[key] != value:
            raise ConfigError(
                f"{model_name} --engine spark: {key}={given[key]!r} is not supported ({_WHY[key]}); use {key}={value!r} or the single-machine engine"
            )
    for key in UNUSED_PARAMS[model_name]:
        if key in explicit and given[key] != defaults[key]:
            raise ConfigError(f"{model_name} --engine spark: Spark has no counterpart of {key}; leave it at its default ({defaults[key]!r})")
    model = cls(**{**given, **FIXED_PARAMS[model_name]})
    model._validate_params()
    return model


def als_estimator(model: Any, blocks: int = 10) -> Any:
    """``pyspark.ml.recommendation.ALS`` configured from a model made by :func:`spark_model` (``blocks``: user and
    item blocks, the parallelism of each half step)."""
    from pyspark.ml.recommendation import ALS

    implicit = model.name == "ials"
    return ALS(
        rank=int(model.factors),
        maxIter=int(model.epochs),
        regParam=float(model.reg),
        alpha=float(getattr(model, "alpha", 1.0)),
        implicitPrefs=implicit,
        seed=int(model.random_state) % 2**63,
        userCol="uidx",
        itemCol="iidx",
        ratingCol="target",
        nonnegative=False,
        coldStartStrategy="nan",
        numUserBlocks=blocks,
        numItemBlocks=blocks,
    )


def train_spark_als(
    model_name: Literal["als", "ials"],
    train_path: str | Path,
    params: dict[str, Any] | None = None,
    *,
    master: str = DEFAULT_MASTER,
    spark: Any = None,
    columns: Sequence[str] | None = None,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    implicit: bool | float = False,
    progress: bool | Callable[[str], None] = False,
) -> Recommender:
    """Fit ``als`` or ``ials`` on ``train_path`` with Spark MLlib ALS; returns the fitted cofirec model.

    ``train_path``: Parquet (a file or a partitioned folder) or delimited text (a file or a folder of parts;
    ``columns``, ``sep``, ``header``, ``encoding`` as for :func:`cofirec.data.readers.read_ratings_file`), read by
    Spark. ``params``: cofirec parameter names and values (strings are converted, as on the command line); see
    the module docstring for how they map onto Spark. ``master``: Spark master for a new session (``local[2]``
    or ``spark://HOST:7077``); ``spark``: an existing SparkSession to use instead. ``progress``: print one line per
    stage on stderr (True) or pass each line to a callable.

    Data with a rating column is explicit (``als`` and ``ials`` use the values), without one implicit (value 1).
    ``implicit=True`` makes every interaction a positive of value 1 (``--implicit``); ``implicit=T`` keeps only
    ratings >= T as positives, the others still count as seen (``--target implicit:T``).
    The returned model is fitted as if by ``model.fit``: vocabularies, ``seen_``, popularity and fallbacks come
    from the same interactions Spark trained on (the pairs are collected to the driver for ``seen_``).
    """
    model: Any = spark_model(model_name, params)
    stage = Stages(progress)
    started = time.perf_counter()
    source = str(train_path)
    stage(f"starting Spark ({master if spark is None else spark.sparkContext.master})")
    spark = spark if spark is not None else spark_session(master)
    stage(f"reading {source}")
    raw = read_log(spark, train_path, columns=columns, sep=sep, header=header, encoding=encoding).cache()
    kind = "implicit" if implicit is not False or "rating" not in raw.columns else "explicit"
    if kind not in type(model).supported_kinds:
        raise DataError(
            f"{model.name}: cannot fit {kind} feedback (supports: {', '.join(sorted(type(model).supported_kinds))})"
            + ("" if implicit is not False else f"; {source} has no rating column")
        )
    stage("checking and indexing ids")
    log = index_log(spark, raw, source, implicit)
    raw.unpersist()
    data = _driver_interactions(log, Path(train_path).name, implicit)
    stage(
        f"{len(data):,} interactions, {data.n_users:,} users, {data.n_items:,} items; fitting Spark ALS "
        f"({'implicit' if model.name == 'ials' else 'explicit'}, rank {model.factors}, {model.epochs} iterations)"
    )
    offset = _offset(model, data)
    fitted = als_estimator(model, max(2, spark.sparkContext.defaultParallelism)).fit(_targets(model, log.frame, offset))
    stage("exporting factors")
    model._remember_training_data(data)  # what Recommender.fit records: maps, seen_, popularity, fallbacks
    if log.below_threshold is not None:
        model._add_seen(_below_threshold(log))
    model.history_ = []
    _set_factors(model, fitted, data, offset)
    model.best_epoch_ = model.epochs_run_ = int(model.epochs)
    model.stopped_early_ = False
    model.engine_ = {
        "engine": "spark",
        "spark_version": str(spark.version),
        "master": str(spark.sparkContext.master),
        "rows_read": log.rows_read,
        "duplicates_dropped": log.duplicates_dropped,
    }
    model.fit_seconds_ = float(time.perf_counter() - started)
    log.frame.unpersist()
    stage("done")
    return model


def _driver_interactions(log: Any, name: str, implicit: bool | float) -> Interactions:
    users, items, ratings = collect_pairs(log.frame)
    meta: dict[str, Any] = {"duplicates_dropped": log.duplicates_dropped} if log.duplicates_dropped else {}
    if implicit is not False and implicit is not True:
        meta["implicit_min_rating"] = float(implicit)
    return Interactions(users=users, items=items, ratings=ratings, user_map=log.user_map, item_map=log.item_map, kind=log.kind, name=name, meta=meta)


def _below_threshold(log: Any) -> Interactions:
    """The pairs under the implicit threshold (known users and items): seen, never recommended back."""
    users, items, ratings = collect_pairs(log.below_threshold)
    return Interactions(users=users, items=items, ratings=ratings, user_map=log.user_map, item_map=log.item_map, kind="implicit")


def _offset(model: Any, data: Interactions) -> float:
    """The fixed offset cofirec's ``als`` subtracts (``center="global"``: the mean rating), else 0."""
    return float(data.global_mean) if model.name == "als" and model.center == "global" else 0.0


def _targets(model: Any, frame: Any, offset: float) -> Any:
    """The ALS input: ``uidx``, ``iidx`` and ``target`` (centred ratings, or log confidences' values for ``ials``)."""
    import pyspark.sql.functions as F

    r = F.col("rating").cast("double")
    if model.name == "ials" and model.confidence == "log":
        target = F.log1p(F.greatest(r, F.lit(0.0)) / float(model.epsilon))
    else:
        target = r - F.lit(offset)
    return frame.select("uidx", "iidx", target.cast("float").alias("target"))


def _factor_matrix(factors_frame: Any, n: int, rank: int, what: str) -> np.ndarray:
    """Spark's ``(id, features)`` factor frame as a dense float32 (n, rank) matrix in index order."""
    table = factors_frame.toArrow()
    ids = table.column("id").to_numpy()
    flat = table.column("features").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    out = np.zeros((n, rank), dtype=np.float32)
    out[ids] = np.asarray(flat, dtype=np.float32).reshape(len(ids), rank)
    if len(np.unique(ids)) != n:
        raise DataError(f"Spark ALS returned factors for {len(np.unique(ids))} of {n} {what}")
    if not np.isfinite(out).all():
        raise DataError(f"Spark ALS diverged (non-finite {what} factors): raise reg or rescale the values")
    return out


def _set_factors(model: Any, fitted: Any, data: Interactions, offset: float) -> None:
    k = int(model.factors)
    model.user_factors_ = _factor_matrix(fitted.userFactors, data.n_users, k, "user")
    model.item_factors_ = _factor_matrix(fitted.itemFactors, data.n_items, k, "item")
    model.user_bias_ = np.zeros(data.n_users, dtype=np.float32)
    model.item_bias_ = np.zeros(data.n_items, dtype=np.float32)
    model.user_offset_ = np.full(data.n_users, offset if math.isfinite(offset) else 0.0, dtype=np.float32)
