"""Bootstrap intervals, paired tests and Holm correction against hand-computed values and slow naive references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wilcoxon

from cofirec.errors import ConfigError, DataError
from cofirec.evaluate import stats
from cofirec.evaluate.result import EvaluationResult
from cofirec.evaluate.stats import bootstrap_ci, holm, metric_interval, metric_intervals, paired_metric_test, paired_metric_tests, paired_test


# ---------------------------------------------------------------------- slow references (one resample at a time)
def _naive_ci(values, weights, statistic, n_resamples, level, seed):
    v = np.asarray(values, dtype=float)
    w = np.ones(len(v)) if weights is None else np.asarray(weights, dtype=float)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_resamples):
        c = rng.multinomial(len(v), [1 / len(v)] * len(v))
        m = sum(ci * wi * vi for ci, wi, vi in zip(c, w, v)) / sum(ci * wi for ci, wi in zip(c, w))
        out.append(m**0.5 if statistic == "rmse" else m)
    a = (1 - level) / 2
    return tuple(np.quantile(out, [a, 1 - a]))


def _naive_paired(a, b, n_resamples, seed):
    n = len(a)
    d = np.mean(a) - np.mean(b)
    rng = np.random.default_rng(seed)
    extreme = 0
    for _ in range(n_resamples):
        c = rng.multinomial(n, [1 / n] * n)
        ds = sum(ci * (x - y) for ci, x, y in zip(c, a, b)) / n
        extreme += abs(ds - d) >= abs(d)
    return (1 + extreme) / (1 + n_resamples)


# ---------------------------------------------------------------------- bootstrap_ci
def test_constant_values_give_a_degenerate_interval():
    assert bootstrap_ci(np.full(7, 0.25)) == pytest.approx((0.25, 0.25))
    assert bootstrap_ci(np.full(5, 4.0), weights=[1, 2, 3, 4, 5], statistic="rmse") == pytest.approx((2.0, 2.0))


def test_two_value_data_follows_the_binomial():
    # 10 ones and 10 zeros: a resample's mean is Binomial(20, 1/2) / 20. P(X <= 5) = 0.0207 < 0.025 < P(X <= 6) = 0.0577,
    # so the 2.5% quantile is 6/20 and by symmetry the 97.5% quantile 14/20 (the margins are ~4 Monte Carlo sd)
    values = np.r_[np.ones(10), np.zeros(10)]
    assert bootstrap_ci(values, n_resamples=20_000, seed=3) == pytest.approx((0.3, 0.7))
    # 80%: P(X <= 6) = 0.058 < 0.10 < P(X <= 7) = 0.132, so the 10% and 90% quantiles are 7/20 and 13/20
    assert bootstrap_ci(values, n_resamples=20_000, level=0.8, seed=3) == pytest.approx((0.35, 0.65))


@pytest.mark.parametrize("statistic", ["mean", "rmse"])
def test_matches_a_naive_loop(statistic):
    values = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.5])
    weights = np.array([1.0, 2.0, 1.0, 3.0, 1.0, 2.0])
    for w in (None, weights):
        got = bootstrap_ci(values, weights=w, statistic=statistic, n_resamples=300, level=0.9, seed=11)
        assert got == pytest.approx(_naive_ci(values, w, statistic, 300, 0.9, 11), rel=1e-12)


def test_chunks_do_not_change_the_result(monkeypatch):
    values = np.random.default_rng(0).random(50)
    whole = bootstrap_ci(values, n_resamples=101, seed=5)
    monkeypatch.setattr(stats, "_CHUNK_ENTRIES", 120)  # 2 resamples per chunk
    assert bootstrap_ci(values, n_resamples=101, seed=5) == whole
    assert bootstrap_ci(values, n_resamples=101, seed=6) != whole


def test_bootstrap_rejects_bad_input():
    with pytest.raises(DataError, match="no values"):
        bootstrap_ci([])
    with pytest.raises(DataError, match="NaN"):
        bootstrap_ci([1.0, np.nan])
    with pytest.raises(DataError, match="2 weights for 3 values"):
        bootstrap_ci([1, 2, 3], weights=[1, 2])
    with pytest.raises(ConfigError, match="level"):
        bootstrap_ci([1, 2], level=95)
    with pytest.raises(ConfigError, match="n_resamples"):
        bootstrap_ci([1, 2], n_resamples=0)
    with pytest.raises(ConfigError, match="statistic"):
        bootstrap_ci([1, 2], statistic="median")


def _result(users, per_user, weights=None, protocol="ranking"):
    metrics = {}
    for name, v in per_user.items():
        m = float(np.average(v, weights=weights))
        metrics["rmse" if name == "mse" else "mae" if name == "ae" else name] = m**0.5 if name == "mse" else m
    return EvaluationResult(metrics, np.asarray(users), {k: np.asarray(v, dtype=float) for k, v in per_user.items()}, weights, None, protocol)


def _assert_same_intervals(got, expected):
    assert list(got) == list(expected)
    for name, bounds in expected.items():
        assert got[name] == pytest.approx(bounds, rel=1e-12), name


def test_metric_intervals_of_unweighted_metrics_match_one_at_a_time(monkeypatch):
    rng = np.random.default_rng(3)
    res = _result(np.arange(30), {"ndcg@5": rng.random(30), "hr@5": (rng.random(30) > 0.5).astype(float)})
    monkeypatch.setattr(stats, "_CHUNK_ENTRIES", 100)  # several chunks
    both = metric_intervals(res, n_resamples=77, seed=9)
    _assert_same_intervals(both, {m: metric_interval(res, m, n_resamples=77, seed=9) for m in ("ndcg@5", "hr@5")})


def test_metric_interval_uses_the_metric_statistic_and_weights():
    mse, ae, w = np.array([1.0, 4.0, 0.25, 9.0]), np.array([1.0, 2.0, 0.5, 3.0]), np.array([3.0, 1.0, 2.0, 1.0])
    res = _result([1, 2, 3, 4], {"mse": mse, "ae": ae}, w, "rating")
    assert metric_interval(res, "rmse", seed=2) == bootstrap_ci(mse, weights=w, statistic="rmse", seed=2)
    assert metric_interval(res, "mae", seed=2) == bootstrap_ci(ae, weights=w, seed=2)
    lo, hi = metric_interval(res, "rmse")
    assert lo <= res.metrics["rmse"] <= hi
    _assert_same_intervals(metric_intervals(res), {"rmse": metric_interval(res, "rmse"), "mae": metric_interval(res, "mae")})
    _assert_same_intervals(metric_intervals(res, ["mae"], seed=4, level=0.8), {"mae": metric_interval(res, "mae", seed=4, level=0.8)})
    assert metric_intervals(res, []) == {}
    with pytest.raises(ConfigError, match="no per-user values for metric 'auc'"):
        metric_interval(res, "auc")


# ---------------------------------------------------------------------- paired tests
def test_identical_values_give_p_one():
    a = np.array([0.1, 0.5, 0.0, 1.0])
    assert paired_test(a, a.copy()) == 1.0
    assert paired_test(a, a.copy(), method="wilcoxon") == 1.0


def test_symmetric_differences_give_p_one():
    # mean difference exactly 0: every resampled difference is at least as far from it as 0 is
    assert paired_test(np.array([1.0, 0.0, 2.0, 0.0]), np.array([0.0, 1.0, 0.0, 2.0]), n_resamples=200) == 1.0


def test_clearly_different_models_give_the_smallest_p():
    rng = np.random.default_rng(1)
    b = rng.random(40)
    a = b + rng.uniform(0.4, 0.6, 40)  # every difference in [0.4, 0.6]: no resampled mean difference reaches 0 or 2d
    assert paired_test(a, b, n_resamples=999) == pytest.approx(1 / 1000)
    assert paired_test(a, b, method="wilcoxon") < 1e-6


def test_paired_bootstrap_matches_a_naive_loop():
    a = np.array([0.2, 0.9, 0.4, 0.0, 1.0, 0.3, 0.6])
    b = np.array([0.1, 0.7, 0.5, 0.0, 0.6, 0.1, 0.6])
    assert paired_test(a, b, n_resamples=500, seed=4) == pytest.approx(_naive_paired(a, b, 500, 4))


def test_wilcoxon_equals_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.random(30), rng.random(30)
    b[:5] = a[:5]  # zero differences are dropped, as scipy's default does
    assert paired_test(a, b, method="wilcoxon") == pytest.approx(wilcoxon(a - b).pvalue)


def test_paired_test_rejects_bad_input():
    with pytest.raises(DataError, match="same users"):
        paired_test([1.0, 2.0], [1.0])
    with pytest.raises(ConfigError, match="method"):
        paired_test([1.0], [2.0], method="t")


def test_paired_metric_test_aligns_users_by_id():
    a = _result([1, 2, 3, 5], {"ndcg@10": [0.9, 0.1, 0.5, 0.3]})
    b = _result([2, 3, 4, 5], {"ndcg@10": [0.0, 0.2, 0.7, 0.1]})
    shared_a, shared_b = np.array([0.1, 0.5, 0.3]), np.array([0.0, 0.2, 0.1])  # users 2, 3, 5
    for method in ("bootstrap", "wilcoxon"):
        got = paired_metric_test(a, b, "ndcg@10", method=method, n_resamples=300, seed=1)
        assert got == paired_test(shared_a, shared_b, method=method, n_resamples=300, seed=1)
    assert paired_metric_test(a, a, "ndcg@10") == 1.0
    with pytest.raises(DataError, match="share no users"):
        paired_metric_test(a, _result([7, 8], {"ndcg@10": [0.1, 0.2]}), "ndcg@10")


def test_paired_rmse_compares_square_roots_of_weighted_mse():
    w = np.array([1.0, 3.0, 1.0])
    a = _result([1, 2, 3], {"mse": [1.0, 4.0, 1.0]}, w, "rating")
    b = _result([1, 2, 3], {"mse": [1.0, 1.0, 1.0]}, w, "rating")
    # d = sqrt((1 + 12 + 1) / 5) - 1 = 0.67. A resample without user 2 has d* = 0 (|d* - d| = d: counted); with
    # user 2, d* >= 2d would need a weighted mse above 5.5 > 4 (never) and d* > 0: not counted. So p is about
    # P(user 2 never drawn in 3 draws) = (2/3)^3 = 8/27 (Monte Carlo sd 0.01 with 2000 resamples)
    p = paired_metric_test(a, b, "rmse", n_resamples=2000, seed=0)
    assert p == pytest.approx(8 / 27, abs=0.04)


def test_paired_metric_tests_match_one_at_a_time(monkeypatch):
    rng = np.random.default_rng(5)
    va, vb = rng.random((3, 25)), rng.random((3, 25))
    vb[2] = va[2]  # an identical metric
    a = _result(np.arange(25), {"ndcg@5": va[0] + 0.1, "hr@5": va[1], "mrr@5": va[2]})
    b = _result(np.arange(3, 28), {"ndcg@5": vb[0], "hr@5": vb[1], "mrr@5": vb[2]})  # shares users 3..24
    monkeypatch.setattr(stats, "_CHUNK_ENTRIES", 200)
    got = paired_metric_tests(a, b, n_resamples=150, seed=2)
    assert got == pytest.approx({m: paired_metric_test(a, b, m, n_resamples=150, seed=2) for m in ("ndcg@5", "hr@5", "mrr@5")}, rel=1e-12)
    w = rng.integers(1, 4, 25).astype(float)
    ra = _result(np.arange(25), {"mse": va[0] * 4, "ae": va[1]}, w, "rating")
    rb = _result(np.arange(25), {"mse": vb[0] * 4, "ae": vb[1]}, w, "rating")
    got = paired_metric_tests(ra, rb, n_resamples=150, seed=2)
    assert got == pytest.approx({m: paired_metric_test(ra, rb, m, n_resamples=150, seed=2) for m in ("rmse", "mae")}, rel=1e-12)
    assert paired_metric_tests(ra, rb, method="wilcoxon") == {m: paired_metric_test(ra, rb, m, method="wilcoxon") for m in ("rmse", "mae")}


# ---------------------------------------------------------------------- Holm
def test_holm_textbook_example():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_is_monotone_capped_and_keeps_nan():
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])  # 2 x 0.5 caps at 1, and 0.6 may not go below it
    np.testing.assert_allclose(holm([0.02]), [0.02])
    np.testing.assert_allclose(holm([np.nan, 0.01, 0.04]), [np.nan, 0.02, 0.04])
    p = np.random.default_rng(0).random(20) / 10
    adj = holm(p)
    order = np.argsort(p)
    assert (np.diff(adj[order]) >= 0).all() and (adj >= p).all() and (adj <= 1).all()
    assert holm([]).shape == (0,)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        holm([0.2, 1.5])
