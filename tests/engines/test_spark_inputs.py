"""Spark engine inputs (Parquet folders, CSV with string and float-written ids, duplicates, bad rows) and the
clear errors without pyspark or Java 17+ (those run without Spark)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cofirec
from cofirec.errors import ConfigError, DataError, MissingDependencyError

SMALL = {"factors": 2, "epochs": 2, "reg": 0.1}


# ---------------------------------------------------------------------- without Spark
def test_parameters_spark_cannot_honour_are_refused():
    from cofirec.engines.spark import spark_model

    with pytest.raises(ConfigError, match="biases=True is not supported.*no bias terms"):
        spark_model("als", {"biases": "true"})
    with pytest.raises(ConfigError, match="reg_exponent"):
        spark_model("ials", {"reg_exponent": 0.0})
    with pytest.raises(ConfigError, match="no counterpart of init_std"):
        spark_model("als", {"init_std": 0.5})
    with pytest.raises(ConfigError, match="trains als and ials"):
        spark_model("ease", {})
    with pytest.raises(ConfigError, match="unknown parameter"):
        spark_model("als", {"rank": 3})
    with pytest.raises(ConfigError, match="renamed to 'epochs'"):
        spark_model("als", {"iterations": 3})
    model = spark_model("als", {"epochs": "3", "factors": "4"})  # CLI strings are converted
    assert (model.epochs, model.factors, model.biases, model.weighted_reg) == (3, 4, False, True)


def test_missing_java_and_old_java_say_what_to_install(monkeypatch):
    from cofirec.engines import session

    monkeypatch.setattr(session, "find_java", lambda: None)
    with pytest.raises(ConfigError, match="needs Java 17 or newer.*install a Java runtime 17"):
        session.check_java()
    monkeypatch.setattr(session, "find_java", lambda: "/opt/jdk11/bin/java")
    monkeypatch.setattr(session, "java_major", lambda java: 11)
    with pytest.raises(ConfigError, match="found Java 11 at /opt/jdk11/bin/java") as info:
        session.check_java()
    assert "\n" not in str(info.value)


def test_missing_pyspark_names_the_spark_extra(monkeypatch):
    import sys

    from cofirec.engines import session

    monkeypatch.setitem(sys.modules, "pyspark", None)  # an import of pyspark now fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"the Spark engine needs pyspark.*pip install 'cofirec\[spark\]'"):
        session.require_pyspark()


def test_java_version_parsing(tmp_path):
    from cofirec.engines.session import java_major

    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n")
    fake.chmod(0o755)
    assert java_major(str(fake)) == 8
    fake.write_text("#!/bin/sh\necho 'openjdk version \"21.0.2\" 2024-01-16' >&2\n")
    assert java_major(str(fake)) == 21
    assert java_major(str(tmp_path / "absent")) is None


# ---------------------------------------------------------------------- with Spark
@pytest.mark.spark
def test_partitioned_parquet_folder_with_integer_ids(spark, tmp_path):
    from cofirec.engines.spark import train_spark_als

    rng = np.random.default_rng(0)
    users, items = rng.integers(10, 40, 400), rng.integers(100, 130, 400)
    folder = tmp_path / "log"
    for part in range(2):
        (folder / f"part={part}").mkdir(parents=True)
        rows = slice(part * 200, (part + 1) * 200)
        pq.write_table(
            pa.table({"userId": users[rows], "movieId": items[rows], "rating": rng.integers(1, 6, 200).astype(float)}), folder / f"part={part}" / "data.parquet"
        )
    with pytest.warns(UserWarning, match="duplicate"):
        model = train_spark_als("als", folder, SMALL, spark=spark)
    assert model.user_map_.ids.dtype == np.int64 and model.user_map_.ids.tolist() == sorted(set(users.tolist()))
    assert model.item_map_.ids.tolist() == sorted(set(items.tolist()))
    assert model.seen_.nnz == len(set(zip(users.tolist(), items.tolist())))
    model.save(tmp_path / "m")
    assert cofirec.load(tmp_path / "m").recommend(int(users[0]), 3).items.dtype == np.int64


@pytest.mark.spark
def test_csv_ids_follow_the_id_policy_and_duplicates_keep_the_latest(spark, tmp_path):
    from cofirec.engines.spark import train_spark_als

    text = tmp_path / "log.csv"
    text.write_text("user,item,rating,timestamp\n1.0,a,5,10\n2.0,b,4,10\n1.0,b,1,20\n1,b,2,30\n3.0,a,3,5\n2,a,1,1\n")
    with pytest.warns(UserWarning) as caught:
        model = train_spark_als("als", text, SMALL, spark=spark)
    messages = " | ".join(str(w.message) for w in caught)
    assert "written as floats" in messages and "1 duplicate (user, item) pairs; kept the latest" in messages
    assert model.user_map_.ids.dtype == np.int64 and model.user_map_.ids.tolist() == [1, 2, 3]  # 1.0 and 1 are one id
    assert model.item_map_.ids.tolist() == ["a", "b"]
    assert model.seen_.nnz == 5 and model.rating_max_ == 5.0
    pair = (model.user_map_.index([1])[0], model.item_map_.index(["b"])[0])
    assert model.engine_["duplicates_dropped"] == 1
    # the duplicate (1, b) keeps its latest row (timestamp 30, rating 2): mean of 5, 4, 2, 3, 1
    assert model.global_mean_ == pytest.approx(3.0) and model.seen_[pair] == 1

    named = tmp_path / "named.csv"  # a header is recognised (and skipped) also when the columns are given
    named.write_text("item,user,stars\n10,1,4\n11,2,5\n")
    model = train_spark_als("als", named, SMALL, spark=spark, columns=["item", "user", "rating"])
    assert model.user_map_.ids.tolist() == [1, 2] and model.item_map_.ids.tolist() == [10, 11]

    mixed = tmp_path / "mixed.tsv"
    mixed.write_text("007\t1\t4\n7\t2\t3\nbob\t1\t5\n")
    model = train_spark_als("ials", mixed, SMALL, spark=spark)
    assert model.user_map_.ids.dtype.kind == "U" and sorted(model.user_map_.ids.tolist()) == ["007", "7", "bob"]
    assert model.item_map_.ids.dtype == np.int64


@pytest.mark.spark
def test_bad_input_is_one_line_data_error(spark, tmp_path):
    from cofirec.engines.spark import train_spark_als

    cases = {
        "frac.csv": ("1,2.5,4\n2,3,5\n", "item id '2.5' is not a whole number"),
        "rating.csv": ("1,2,4\n2,3,x\n", "non-numeric"),
        "noid.csv": ("1,2,4\n,3,5\n", "have no user id"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(DataError, match=message) as info:
            train_spark_als("als", tmp_path / name, SMALL, spark=spark)
        assert "\n" not in str(info.value)
    (tmp_path / "pairs.csv").write_text("1,2\n2,3\n")
    with pytest.raises(DataError, match="cannot fit implicit feedback"):
        train_spark_als("als", tmp_path / "pairs.csv", SMALL, spark=spark)
    with pytest.raises(DataError, match="no such file"):
        train_spark_als("als", tmp_path / "absent.parquet", SMALL, spark=spark)


@pytest.mark.spark
def test_implicit_threshold_trains_on_liked_pairs_and_keeps_the_rest_seen(spark, tmp_path):
    from cofirec.engines.spark import train_spark_als

    text = tmp_path / "log.tsv"
    text.write_text("1\t10\t5\n1\t11\t2\n2\t10\t4\n2\t12\t5\n3\t11\t1\n2\t11\t3\n")
    model = train_spark_als("ials", text, SMALL, spark=spark, implicit=4.0)
    assert model.kind_ == "implicit" and model.implicit_min_rating_ == 4.0
    assert model.user_map_.ids.tolist() == [1, 2] and model.item_map_.ids.tolist() == [10, 12]  # user 3, item 11: no like
    assert model.seen_.nnz == 3 and model.rating_max_ == 1.0
    assert model.recommend(1, 5).items.tolist() == [12]  # 10 was liked (seen), nothing else is left out
    everything = train_spark_als("ials", text, SMALL, spark=spark, implicit=True)
    assert everything.kind_ == "implicit" and everything.seen_.nnz == 6 and everything.implicit_min_rating_ is None
