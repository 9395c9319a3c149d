"""Spark ALS engine on ML-100K u1: accuracy against cofirec's own ALS, exported artifacts, batch top-N in Spark.

Fair comparisons: Spark's explicit ALS has no biases and regularises by ``reg * n_ratings``, so cofirec's ``als``
runs with ``biases=False`` and ``weighted_reg=True`` (both centre on the global mean); Spark's implicit ALS
regularises the same way, which is cofirec's ``ials`` with ``reg_exponent=1`` and the exact (cholesky) solver.
Only the initialisations differ.
"""

from __future__ import annotations

import numpy as np
import pytest

import cofirec
from cofirec.evaluate.runner import evaluate
from cofirec.models.als import ExplicitALS
from cofirec.models.ials import ImplicitALS

pytestmark = [pytest.mark.spark, pytest.mark.realdata]

ALS_PARAMS = {"factors": 16, "epochs": 10, "reg": 0.1}
IALS_PARAMS = {"factors": 16, "epochs": 10, "reg": 0.1, "alpha": 3.0}


@pytest.fixture(scope="module")
def u1(real_data):
    from cofirec.data.splits import train_test_from_files

    base, test = real_data("ml-100k/u1.base"), real_data("ml-100k/u1.test")
    train, test = train_test_from_files(base, test)
    return base, train, test


@pytest.fixture(scope="module")
def spark_als(spark, u1):
    from cofirec.engines.spark import train_spark_als

    lines: list[str] = []
    model = train_spark_als("als", u1[0], {k: str(v) for k, v in ALS_PARAMS.items()}, spark=spark, progress=lines.append)
    return model, lines


def test_explicit_rmse_within_001_of_cofirec_als(spark_als, u1):
    model, lines = spark_als
    _, train, test = u1
    ours = ExplicitALS(**ALS_PARAMS, biases=False).fit(train)
    spark_rmse = evaluate(model, test, protocol="rating")["rmse"]
    cofirec_rmse = evaluate(ours, test, protocol="rating")["rmse"]
    assert spark_rmse < 1.0  # a real model: the global mean alone gives ~1.15 on u1
    assert abs(spark_rmse - cofirec_rmse) <= 0.01, (spark_rmse, cofirec_rmse)
    assert any("fitting Spark ALS" in line for line in lines) and lines[-1].startswith("spark: done")


def test_export_has_the_fitted_state_of_a_normal_fit(spark_als, u1):
    model, _ = spark_als
    _, train, _ = u1
    normal = ExplicitALS(**ALS_PARAMS, biases=False).fit(train)
    fitted = {k for k in vars(normal) if k.endswith("_") and not k.startswith("_")}
    assert {k for k in vars(model) if k.endswith("_") and not k.startswith("_")} == fitted | {"engine_"}
    assert model.user_map_ == normal.user_map_ and model.item_map_ == normal.item_map_  # integer ids, same sorted order
    assert model.user_map_.ids.dtype == np.int64
    assert (model.seen_ != normal.seen_).nnz == 0
    assert model.get_params()["biases"] is False and model.get_params()["center"] == "global"
    np.testing.assert_allclose(model.user_offset_, train.global_mean, rtol=1e-6)
    assert not model.user_bias_.any() and not model.item_bias_.any()


def test_saved_model_loads_recommends_and_folds_nothing_away(spark_als, u1, tmp_path):
    model, _ = spark_als
    _, _, test = u1
    model.save(tmp_path / "m")
    loaded = cofirec.load(tmp_path / "m")  # the strict artifact checks run on load
    assert type(loaded) is ExplicitALS and loaded.engine_["engine"] == "spark"
    users = test.user_map.ids[:50]
    a, b = model.recommend(users, 10), loaded.recommend(users, 10)
    np.testing.assert_array_equal(a.items, b.items)
    np.testing.assert_array_equal(
        loaded.predict(test.user_map.to_raw(test.users), test.item_map.to_raw(test.items)),
        model.predict(test.user_map.to_raw(test.users), test.item_map.to_raw(test.items)),
    )
    seen = set(loaded.seen_[loaded.user_map_.index([1])].indices.tolist())
    assert not seen & set(loaded.item_map_.lookup(loaded.recommend(1, 20).items).tolist())
    assert loaded.similar_items(1, 5).items.shape == (5,)


def test_batch_recommendations_equal_single_machine(spark, spark_als, tmp_path):
    """Compared per user and rank: same item, or (a near tie) scores equal within 1e-4 at that rank."""
    import pyarrow.parquet as pq

    from cofirec.engines.spark_recommend import spark_recommend_all

    model, _ = spark_als
    out = spark_recommend_all(model, 10, tmp_path / "recs.parquet", spark=spark)
    table = pq.read_table(out).sort_by([("user", "ascending"), ("rank", "ascending")])
    users = table.column("user").to_numpy()
    assert len(users) == 10 * model.n_users
    np.testing.assert_array_equal(np.unique(users), model.user_map_.ids)
    expected = model.recommend(model.user_map_.ids, 10)
    items = table.column("item").to_numpy().reshape(model.n_users, 10)
    scores = table.column("score").to_numpy().reshape(model.n_users, 10)
    np.testing.assert_array_equal(table.column("rank").to_numpy().reshape(-1, 10)[0], np.arange(1, 11))
    np.testing.assert_allclose(scores, expected.scores, atol=1e-4)
    same = items == expected.items
    assert same.mean() > 0.999
    assert np.all(same | np.isclose(scores, expected.scores, atol=1e-4))
    with pytest.raises(cofirec.CofirecError, match="already exists"):
        spark_recommend_all(model, 10, out, spark=spark)


def test_implicit_als_exports_and_ranks_like_cofirec_ials(spark, u1, tmp_path):
    from cofirec.engines.spark import train_spark_als

    base, train, test = u1
    model = train_spark_als("ials", base, IALS_PARAMS, spark=spark)
    model.save(tmp_path / "ials")
    loaded = cofirec.load(tmp_path / "ials")
    assert type(loaded) is ImplicitALS and loaded.get_params()["solver"] == "cholesky"
    ours = ImplicitALS(**IALS_PARAMS, solver="cholesky").fit(train)
    spark_ndcg = evaluate(loaded, test, protocol="ranking", k=10)["ndcg@10"]
    cofirec_ndcg = evaluate(ours, test, protocol="ranking", k=10)["ndcg@10"]
    assert spark_ndcg > 0.40  # item popularity gives 0.325 here; Spark 0.496 and cofirec 0.491 when written
    assert abs(spark_ndcg - cofirec_ndcg) <= 0.03, (spark_ndcg, cofirec_ndcg)
