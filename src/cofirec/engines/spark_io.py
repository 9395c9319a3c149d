"""Reading interaction logs with Spark and indexing their ids in Spark, under cofirec's id policy.

Input: Parquet (a file or a partitioned folder) or delimited text (CSV, TSV, ``::``...; a file or a folder of
part files, optionally ``.gz``), read by Spark, never by pandas. Only the first line of a text file is looked at
in Python, to detect the separator and the header when they are not given.

Ids follow :mod:`cofirec.data.idmap`: an id column is integer (int64) when every value is a whole number that
fits int64 (``196.0`` counts, with a warning), else a string column of the values' canonical text; missing ids
and columns of numbers with fractions are a :class:`~cofirec.errors.DataError`. The vocabularies are the sorted
distinct ids, indexed by ``zipWithIndex`` in Spark (the same order as :meth:`Interactions.from_frame`).
Duplicate (user, item) pairs keep the latest row (by timestamp, then by position in the input), as the
single-machine reader does.
"""

from __future__ import annotations

import gzip
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cofirec.data.idmap import IdMap
from cofirec.data.readers import MAX_ABS_RATING, normalize_column_name
from cofirec.errors import DataError

_PARQUET_SUFFIXES = (".parquet", ".pq")
_SEPARATORS = ("::", "\t", ",", "|", ";", " ")
_PLAIN_INT = "^(0|-?[1-9][0-9]*)$"
_WHOLE_FLOAT = "^(0|-?[1-9][0-9]*)[.]0+$"
_DECIMAL = "^-?[0-9]+([.][0-9]+)?$"
_FRACTIONAL = "^-?[0-9]+[.][0-9]*[1-9][0-9]*$"


@dataclass
class IndexedLog:
    """Interactions indexed in Spark: ``frame`` has ``uidx``, ``iidx`` (int) and ``rating`` (float, the input's
    values; 1.0 without a rating column), one row per (user, item) pair; ``user_map``/``item_map`` are the
    vocabularies (index k <-> ``ids[k]``)."""

    frame: Any
    user_map: IdMap
    item_map: IdMap
    kind: str
    rows_read: int
    duplicates_dropped: int
    below_threshold: Any = None
    """With an implicit threshold: the (``uidx``, ``iidx``) pairs below it whose user and item are in the
    vocabularies (not training signal, but seen), else None."""


# ---------------------------------------------------------------------- reading
def data_files(path: Path) -> list[Path]:
    """The data files of a file or folder (hidden files, ``_SUCCESS`` and the like left out), sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))


def is_parquet(path: Path) -> bool:
    files = data_files(path)
    return bool(files) and all(p.suffix.lower() in _PARQUET_SUFFIXES for p in files) or path.suffix.lower() in _PARQUET_SUFFIXES


def read_log(
    spark: Any, path: str | Path, *, columns: Sequence[str] | None = None, sep: str | None = None, header: bool | None = None, encoding: str | None = None
) -> Any:
    """A Spark DataFrame with columns ``user``, ``item`` and, when the input has them, ``rating`` and ``timestamp``
    (as read: strings for text input, the stored types for Parquet), plus ``_pos`` (position in the input)."""
    import pyspark.sql.functions as F

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    files = data_files(path)
    if not files:
        raise DataError(f"{path}: folder holds no data files")
    if is_parquet(path):
        frame = spark.read.parquet(str(path))
        names = _names(path, columns, frame.columns) if columns is not None else [normalize_column_name(c) for c in frame.columns]
        raw_cols = frame.columns
    else:
        first_line = _first_line(files[0], encoding)
        sep = sep if sep is not None else _detect_sep(files[0], first_line)
        fields = _split(first_line, sep)
        if header is None:  # a first line naming a known column (not a number) is a header, as the single-machine reader sees it
            header = any(normalize_column_name(f) is not None and not _is_number(f) for f in fields)
        if columns is not None:
            names = _names(path, columns, [f"field {k + 1}" for k in range(len(fields))])
        elif header:
            names = [normalize_column_name(f) for f in fields]
        else:
            names = ["user", "item", "rating", "timestamp"][: len(fields)] + [None] * max(0, len(fields) - 4)
        from pyspark.sql.types import StringType, StructField, StructType

        schema = StructType([StructField(f"_c{k}", StringType()) for k in range(len(names))])
        frame = spark.read.csv(
            str(path),
            schema=schema,
            sep=sep,
            header=bool(header),
            encoding=encoding or "UTF-8",
            ignoreLeadingWhiteSpace=True,
            ignoreTrailingWhiteSpace=True,
            mode="PERMISSIVE",
        )
        raw_cols = frame.columns
    chosen = [n for n in names if n is not None]
    if "user" not in chosen or "item" not in chosen:
        raise DataError(f"{path}: no recognisable user and item columns (have {list(raw_cols)}); give the column order with columns=[...]")
    if len(set(chosen)) != len(chosen):
        raise DataError(f"{path}: more than one column maps to the same field ({chosen}); give the column order with columns=[...]")
    picked = [F.col(f"`{c}`").alias(n) for c, n in zip(raw_cols, names) if n is not None]
    return frame.select(*picked).withColumn("_pos", F.monotonically_increasing_id())


def _names(path: Path, columns: Sequence[str], fields: Sequence[str]) -> list[str | None]:
    """Canonical names for ``columns`` given in input order (``-`` skips a field; fields past the list are ignored)."""
    out: list[str | None] = []
    for name in columns:
        if str(name).strip() in ("-", "_", "", "skip", "ignore"):
            out.append(None)
            continue
        canon = normalize_column_name(name)
        if canon is None:
            raise DataError(f"{path}: unknown column name {name!r} (use user, item, rating, timestamp or '-')")
        out.append(canon)
    if len(out) > len(fields):
        raise DataError(f"{path}: {len(out)} columns given but the input has {len(fields)} fields")
    return out + [None] * (len(fields) - len(out))


def _first_line(path: Path, encoding: str | None) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding or "utf-8-sig", errors="strict") as f:  # type: ignore[operator]
            for line in f:
                if line.strip():
                    return line.rstrip("\r\n")
    except (UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{path}: cannot read as text ({exc}); give encoding=... for non-UTF-8 text") from None
    raise DataError(f"{path}: file is empty")


def _split(line: str, sep: str) -> list[str]:
    return [f.strip() for f in line.split(sep)] if sep != " " else line.split()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _detect_sep(path: Path, line: str) -> str:
    for sep in _SEPARATORS:
        if len(_split(line, sep)) >= 2:
            return sep
    raise DataError(f"{path}: cannot detect the field separator from {line[:80]!r}; give sep=...")


# ---------------------------------------------------------------------- ids under the id policy
def canonical_ids(frame: Any, col: str, source: str) -> Any:
    """``frame`` with id column ``col`` in its canonical form: long when every id is a whole number fitting int64,
    else the ids' canonical text (see the module docstring). One aggregation over the data."""
    from pyspark.sql.types import DecimalType, DoubleType, FloatType, NumericType

    dtype = frame.schema[col].dataType
    if isinstance(dtype, (FloatType, DoubleType, DecimalType)):
        return _float_ids(frame, col, source)
    if isinstance(dtype, NumericType):
        return _integer_ids(frame, col, source)
    return _text_ids(frame, col, source)


def _integer_ids(frame: Any, col: str, source: str) -> Any:
    import pyspark.sql.functions as F

    missing = frame.filter(F.col(col).isNull()).count()
    if missing:
        raise DataError(f"{source}: {missing} row(s) have no {col} id; every row needs a {col} id")
    return frame.withColumn(col, F.col(col).cast("long"))


def _float_ids(frame: Any, col: str, source: str) -> Any:
    """A float id column: whole numbers fitting int64 become long ids (with a warning), anything else is an error."""
    import pyspark.sql.functions as F

    c = F.col(col).cast("double")
    missing = c.isNull() | F.isnan(c) | (F.abs(c) == float("inf"))
    fractional = ~missing & (c != F.floor(c))
    too_big = ~missing & ((c < -(2.0**63)) | (c >= 2.0**63))
    stats = frame.agg(*(F.sum(x.cast("long")).alias(n) for x, n in ((missing, "missing"), (fractional, "fractional"), (too_big, "too_big")))).first()
    if stats["missing"]:
        raise DataError(f"{source}: {stats['missing']} row(s) have no {col} id (empty, NaN or infinite); every row needs a {col} id")
    if stats["fractional"]:
        example = frame.filter(fractional).select(col).first()[0]
        raise DataError(f"{source}: {col} id {example!r} is not a whole number; ids are whole numbers or names (is a rating or timestamp in the {col} column?)")
    if stats["too_big"]:
        raise DataError(f"{source}: {col} ids beyond the int64 range stored as floats lose digits; store them as integers or text")
    warnings.warn(f"{source}: {col} ids written as floats were read as whole numbers", UserWarning, stacklevel=4)
    return frame.withColumn(col, c.cast("long"))


def _text_ids(frame: Any, col: str, source: str) -> Any:
    """A text id column: long ids when every value is a plain whole number (``196`` or ``196.0``) fitting int64,
    else the canonical text (``196.0`` -> ``196``, other values stripped of surrounding spaces)."""
    import pyspark.sql.functions as F

    text = F.coalesce(F.trim(F.col(col).cast("string")), F.lit(""))
    whole_float = text.rlike(_WHOLE_FLOAT)
    canonical = F.when(whole_float, F.regexp_replace(text, "[.]0+$", "")).otherwise(text)
    frame = frame.withColumn("__id", canonical).withColumn("__long", F.expr("try_cast(__id as bigint)"))
    is_int = (text.rlike(_PLAIN_INT) | whole_float) & F.col("__long").isNotNull()
    stats = frame.agg(
        F.sum((text == "").cast("long")).alias("missing"),
        F.sum((~is_int & (text != "")).cast("long")).alias("not_int"),
        F.sum(text.rlike(_FRACTIONAL).cast("long")).alias("fractional"),
        F.sum((~text.rlike(_DECIMAL)).cast("long")).alias("not_numeric"),
        F.sum(whole_float.cast("long")).alias("from_float"),
    ).first()
    if stats["missing"] is None:
        raise DataError(f"{source}: no interactions")
    if stats["missing"]:
        raise DataError(f"{source}: {stats['missing']} row(s) have no {col} id (empty or missing); every row needs a {col} id")
    if stats["fractional"] and not stats["not_numeric"]:
        example = frame.filter(text.rlike(_FRACTIONAL)).select(col).first()[0]
        raise DataError(f"{source}: {col} id {example!r} is not a whole number; ids are whole numbers or names (is a rating or timestamp in the {col} column?)")
    if stats["not_int"]:
        return frame.withColumn(col, F.col("__id")).drop("__id", "__long")
    if stats["from_float"]:
        warnings.warn(f"{source}: {col} ids written as floats (e.g. 196.0) were read as whole numbers", UserWarning, stacklevel=4)
    return frame.withColumn(col, F.col("__long")).drop("__id", "__long")


def checked_ratings(frame: Any, source: str) -> tuple[Any, int]:
    """``(frame, rows)``: ``rating`` as double, refusing missing, non-numeric, non-finite and absurd values, and
    the number of rows (one aggregation)."""
    import pyspark.sql.functions as F

    if "rating" not in frame.columns:
        frame = frame.withColumn("rating", F.lit(1.0).cast("double"))
        return frame, frame.count()
    r = F.expr("try_cast(trim(cast(rating as string)) as double)")
    bad = r.isNull() | F.isnan(r) | (F.abs(r) > MAX_ABS_RATING)
    frame = frame.withColumn("_r", r)
    counts = frame.agg(F.count(F.lit(1)).alias("rows"), F.sum(bad.cast("long")).alias("bad")).first()
    n_bad = counts["bad"] or 0
    if n_bad:
        example = frame.filter(bad).select("user", "item", "rating").first()
        raise DataError(
            f"{source}: {n_bad} row(s) have a missing, non-numeric, non-finite or absurd rating "
            f"(e.g. user {example['user']!r}, item {example['item']!r}, rating {example['rating']!r}; |rating| must be <= {MAX_ABS_RATING:g})"
        )
    return frame.withColumn("rating", F.col("_r")).drop("_r"), int(counts["rows"])


def latest_per_pair(frame: Any) -> Any:
    """One row per (user, item): the latest by timestamp (numeric timestamps; others count as unknown), then by position."""
    import pyspark.sql.functions as F

    ts = F.expr("try_cast(trim(cast(timestamp as string)) as double)") if "timestamp" in frame.columns else F.lit(None).cast("double")
    order = F.struct(F.coalesce(ts, F.lit(float("-inf"))).alias("t"), F.col("_pos").alias("p"))
    return frame.groupBy("user", "item").agg(F.max_by("rating", order).alias("rating"))


# ---------------------------------------------------------------------- indexing
def vocabulary(spark: Any, frame: Any, col: str) -> tuple[Any, IdMap]:
    """``(DataFrame[col, idx], IdMap)``: the sorted distinct ids of ``col`` numbered 0, 1, ... in Spark.

    A ``zipWithIndex`` without Python workers: the sorted ids are cached with their partition and position,
    the partitions' sizes give each partition's first index."""
    import pyspark.sql.functions as F

    ordered = (
        frame.select(col).distinct().orderBy(col).withColumn("_part", F.spark_partition_id()).withColumn("_mono", F.monotonically_increasing_id())
    ).cache()
    sizes = {int(r["_part"]): int(r["count"]) for r in ordered.groupBy("_part").count().collect()}
    starts = np.concatenate([[0], np.cumsum([sizes.get(p, 0) for p in range(max(sizes, default=-1) + 1)])]).astype(np.int64)
    first = F.element_at(F.array(*[F.lit(int(v)) for v in starts[:-1]] or [F.lit(0)]), F.col("_part") + 1)
    within = F.col("_mono") - F.shiftleft(F.col("_part").cast("long"), 33)  # monotonically_increasing_id: partition << 33 | row
    indexed = ordered.select(col, (first + within).cast("int").alias("idx")).cache()
    table = indexed.orderBy("idx").toArrow()
    ordered.unpersist()
    ids = table.column(col).to_numpy(zero_copy_only=False)
    if ids.dtype == object:
        ids = ids.astype(str)
    if len(ids) >= 2**31 - 1:
        raise DataError(f"{len(ids)} distinct {col} ids: Spark ALS indexes ids as 32-bit integers")
    if not np.array_equal(table.column("idx").to_numpy(), np.arange(len(ids))):
        raise DataError(f"indexing the {col} ids in Spark gave non-contiguous indices")  # a guard; never expected
    return indexed, IdMap(ids)


def index_log(spark: Any, frame: Any, source: str, implicit: bool | float = False) -> IndexedLog:
    """Canonical ids, checked ratings, duplicates resolved, ids indexed: the ALS input (cached).

    ``implicit``: True makes every interaction a positive of value 1; a number keeps only the pairs rated at
    least that as positives (the others come back as ``below_threshold``), as :meth:`Interactions.as_implicit`."""
    import pyspark.sql.functions as F

    kind = "explicit" if "rating" in frame.columns else "implicit"
    frame = canonical_ids(frame, "user", source)
    frame = canonical_ids(frame, "item", source)
    frame, rows = checked_ratings(frame, source)
    frame = frame.cache()
    if rows == 0:
        raise DataError(f"{source}: no interactions")
    pairs = latest_per_pair(frame).cache()
    n_pairs = pairs.count()
    below = None
    if implicit is not False:
        kind = "implicit"
        if implicit is not True:
            below = pairs.filter(F.col("rating") < float(implicit))
            pairs = pairs.filter(F.col("rating") >= float(implicit))
            if pairs.isEmpty():
                raise DataError(f"{source}: implicit threshold {float(implicit):g} keeps no interaction")
        pairs = pairs.withColumn("rating", F.lit(1.0))
    users, user_map = vocabulary(spark, pairs, "user")
    items, item_map = vocabulary(spark, pairs, "item")
    indexed = _indexed(pairs, users, items, len(item_map)).select("uidx", "iidx", F.col("rating").cast("float").alias("rating")).cache()
    indexed.count()
    if below is not None:
        below = _indexed(below, users, items, len(item_map)).select("uidx", "iidx")
    frame.unpersist()
    dropped = rows - n_pairs
    if dropped:
        warnings.warn(f"{source}: {dropped} duplicate (user, item) pairs; kept the latest of each", UserWarning, stacklevel=3)
    return IndexedLog(indexed, user_map, item_map, kind, int(rows), int(dropped), below)


def _indexed(pairs: Any, users: Any, items: Any, n_items: int) -> Any:
    """``pairs`` joined with the vocabularies (``uidx``, ``iidx``); pairs with an id outside them are dropped."""
    import pyspark.sql.functions as F

    return (
        pairs.join(users, "user")
        .withColumnRenamed("idx", "uidx")
        .join(F.broadcast(items) if n_items < 5_000_000 else items, "item")
        .withColumnRenamed("idx", "iidx")
    )


def collect_pairs(frame: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indexed interactions on the driver as numpy arrays ``(users int32, items int32, ratings float32)``, through
    Arrow (for the model's ``seen_`` matrix and training statistics); ratings 1 when ``frame`` has none."""
    if "rating" not in frame.columns:
        import pyspark.sql.functions as F

        frame = frame.withColumn("rating", F.lit(1.0).cast("float"))
    table = frame.select("uidx", "iidx", "rating").toArrow()
    users = table.column("uidx").to_numpy().astype(np.int32, copy=False)
    items = table.column("iidx").to_numpy().astype(np.int32, copy=False)
    ratings = table.column("rating").to_numpy().astype(np.float32, copy=False)
    return users, items, ratings
