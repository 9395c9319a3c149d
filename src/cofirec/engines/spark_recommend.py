"""Batch top-N for every user of a factor model, computed in Spark and written as Parquet.

The users travel as rows (their factors, offset plus bias, and the items they have seen, taken from the
model); the item factors, biases and ids are broadcast once. Each Python worker scores a block of users with
one matrix product, exactly as :class:`~cofirec.models._factor.FactorScoring` does on one machine
(``offset_u + b_u + b_i + p_u . q_i`` in float32), drops the seen items and keeps the top ``n`` with cofirec's
order (higher score first, ties by the smaller item index). Lists are never padded: a user who has seen all
but three items gets three rows.

Output: a Parquet folder (Spark writes one part file per partition) with one row per recommendation:
``user`` (raw id), ``rank`` (1 = best), ``item`` (raw id), ``score`` (float32).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from cofirec.engines.session import DEFAULT_MASTER, Stages, spark_session
from cofirec.errors import ConfigError
from cofirec.models.base import Recommender, check_top_n

_FACTOR_STATE = ("user_factors_", "item_factors_", "user_bias_", "item_bias_", "user_offset_")
_USERS_PER_PARTITION = 20_000


def top_n_block(
    factors: np.ndarray, user_shift: np.ndarray, seen_offsets: np.ndarray, seen_items: np.ndarray, item_factors: np.ndarray, item_bias: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top ``n`` unseen items of a block of users: ``(row, item index, score)`` arrays, best first within a row.

    ``seen_offsets``/``seen_items``: CSR-style lists of each row's seen item indices. Ties go to the smaller
    item index (cofirec's top-k order); seen items never appear.
    """
    scores = factors @ item_factors.T
    scores += item_bias[None, :]
    scores += user_shift[:, None]
    scores = scores.astype(np.float32, copy=False)
    rows = np.repeat(np.arange(len(factors)), np.diff(seen_offsets))
    scores[rows, seen_items] = -np.inf
    k = min(n, scores.shape[1])
    if k < scores.shape[1]:
        kth = np.partition(scores, scores.shape[1] - k, axis=1)[:, scores.shape[1] - k]  # k-th largest per row
        above = scores > kth[:, None]
        tied = scores == kth[:, None]
        room = k - above.sum(axis=1)
        keep = above | (tied & (np.cumsum(tied, axis=1) <= room[:, None]))  # ties: smaller item index first
    else:
        keep = np.ones_like(scores, dtype=bool)
    keep &= scores > -np.inf
    r, c = np.nonzero(keep)
    s = scores[r, c]
    order = np.lexsort((c, -s, r))
    return r[order], c[order], s[order]


def _user_table(model: Any) -> Any:
    """One Arrow row per user: index, raw id, factors, offset plus bias, seen item indices."""
    import pyarrow as pa

    seen = model.seen_.tocsr()
    seen.sort_indices()
    k = model.user_factors_.shape[1]
    factors = pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(model.user_factors_, dtype=np.float32).ravel()), k)
    return pa.table(
        {
            "uidx": pa.array(np.arange(model.n_users, dtype=np.int32)),
            "user": pa.array(model.user_map_.ids),
            "factors": pa.ListArray.from_arrays(pa.array(np.arange(model.n_users + 1, dtype=np.int32) * k), factors.flatten()),
            "shift": pa.array((model.user_offset_ + model.user_bias_).astype(np.float32)),
            "seen": pa.ListArray.from_arrays(pa.array(seen.indptr.astype(np.int32)), pa.array(seen.indices.astype(np.int32))),
        }
    )


def _scorer(items: Any, n: int, k: int) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The ``mapInArrow`` function: batches of user rows in, recommendation rows out (``items``: a broadcast)."""

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        item_factors, item_bias, item_ids = items.value
        for batch in batches:
            if batch.num_rows == 0:
                continue
            factors = batch.column("factors").flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, k)
            seen = batch.column("seen")
            offsets = seen.offsets.to_numpy() - seen.offsets[0].as_py()
            row, col, val = top_n_block(
                factors,
                batch.column("shift").to_numpy(zero_copy_only=False),
                offsets,
                seen.flatten().to_numpy(zero_copy_only=False).astype(np.int64),
                item_factors,
                item_bias,
                n,
            )
            starts = np.searchsorted(row, np.arange(batch.num_rows))
            rank = np.arange(len(row)) - starts[row] + 1
            users = batch.column("user").take(pa.array(row))
            yield pa.RecordBatch.from_arrays(
                [users, pa.array(rank.astype(np.int32)), pa.array(item_ids[col]), pa.array(val.astype(np.float32))], names=["user", "rank", "item", "score"]
            )

    return score


def load_factor_model(model_or_dir: Recommender | str | Path) -> Any:
    """A fitted factor model (``als``, ``ials``, ``mf``, ``bpr``...): the object itself or ``cofirec.load(dir)``."""
    if isinstance(model_or_dir, (str, Path)):
        from cofirec.models.artifact import load_model

        model = load_model(model_or_dir)
    else:
        model = model_or_dir
        model._check_fitted()
    missing = [a for a in _FACTOR_STATE if not hasattr(model, a)]
    if missing:
        raise ConfigError(f"recommend --engine spark needs a factor model (als, ials, mf, bpr...): {model.name} has no {missing[0]}")
    return model


def spark_recommend_all(
    model_or_dir: Recommender | str | Path,
    n: int,
    out_parquet: str | Path,
    *,
    master: str = DEFAULT_MASTER,
    spark: Any = None,
    overwrite: bool = False,
    progress: bool | Callable[[str], None] = False,
) -> Path:
    """Top-``n`` unseen items for every user of the model, computed in Spark, written to the Parquet folder
    ``out_parquet`` (see the module docstring for its rows). The lists equal ``model.recommend(all users, n)``
    up to ties between float32 scores that differ in the last bits. An existing ``out_parquet`` is an error
    unless ``overwrite``. Returns the output path."""
    from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

    n = check_top_n(n, "recommend --all-users")
    out = Path(out_parquet)
    if out.exists() and not overwrite:
        raise ConfigError(f"{out}: already exists; remove it or pass overwrite=True (--overwrite)")
    stage = Stages(progress)
    model = load_factor_model(model_or_dir)
    stage(f"starting Spark ({master if spark is None else spark.sparkContext.master})")
    spark = spark if spark is not None else spark_session(master)
    users = _user_table(model)
    parts = max(spark.sparkContext.defaultParallelism, -(-model.n_users // _USERS_PER_PARTITION))
    frame = spark.createDataFrame(users).repartition(parts)
    item_ids = model.item_map_.ids
    items = spark.sparkContext.broadcast((np.ascontiguousarray(model.item_factors_, dtype=np.float32), model.item_bias_.astype(np.float32), item_ids))
    schema = StructType(
        [
            StructField("user", frame.schema["user"].dataType),
            StructField("rank", IntegerType()),
            StructField("item", _spark_type(item_ids)),
            StructField("score", FloatType()),
        ]
    )
    stage(f"scoring {model.n_users:,} users x {model.n_items:,} items (top {n}) in {parts} partitions")
    recs = frame.mapInArrow(_scorer(items, n, model.item_factors_.shape[1]), schema)
    recs.write.mode("overwrite" if overwrite else "errorifexists").parquet(str(out))
    items.unpersist()
    stage(f"wrote {out}")
    return out


def _spark_type(ids: np.ndarray) -> Any:
    from pyspark.sql.types import LongType, StringType

    return LongType() if ids.dtype.kind in "iu" else StringType()
