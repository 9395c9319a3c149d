"""Uncertainty and significance of evaluation metrics: bootstrap intervals over users, paired tests, Holm correction.

Users are the unit of resampling: a metric is a (weighted) mean of per-user values
(:class:`~cofirec.evaluate.result.EvaluationResult`), and its sampling variability comes from which users
happen to be in the test set.

Vectorised: one resample is a row of a multinomial count matrix ``C`` (how often each user is drawn, rows
summing to ``n_users``), and the statistic of every resample is a matrix product, ``C @ (w * v) / C @ w``. The
count matrix is drawn in chunks of at most ~12M entries (~100 MB) so memory stays bounded for large test sets.
The same seed gives the same resamples (``numpy.random.default_rng(seed).multinomial``, one row per resample).
"""

from __future__ import annotations

from typing import Iterator, Literal, Sequence

import numpy as np

from cofirec.errors import ConfigError, DataError
from cofirec.evaluate.result import EvaluationResult

__all__ = ["bootstrap_ci", "holm", "metric_interval", "metric_intervals", "paired_metric_test", "paired_metric_tests", "paired_test"]

Statistic = Literal["mean", "rmse"]
_CHUNK_ENTRIES = 12_000_000


# ---------------------------------------------------------------------- resampling core
def _check_values(values, weights, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    v = np.asarray(values, dtype=np.float64).ravel()
    if len(v) == 0:
        raise DataError(f"{what}: no values (no users evaluated)")
    if not np.isfinite(v).all():
        raise DataError(f"{what}: the per-user values hold NaN or infinite entries")
    if weights is None:
        return v, None
    w = np.asarray(weights, dtype=np.float64).ravel()
    if len(w) != len(v):
        raise DataError(f"{what}: {len(w)} weights for {len(v)} values")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise DataError(f"{what}: weights must be finite, non-negative and not all zero")
    return v, w


def _check_options(n_resamples: int, level: float | None, statistic: str, what: str) -> None:
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 1:
        raise ConfigError(f"{what}: n_resamples must be a positive integer, got {n_resamples!r}")
    if level is not None and not 0.0 < level < 1.0:
        raise ConfigError(f"{what}: level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    if statistic not in ("mean", "rmse"):
        raise ConfigError(f"{what}: statistic must be 'mean' or 'rmse', got {statistic!r}")


def _resample_counts(n: int, n_resamples: int, seed: int | None) -> Iterator[np.ndarray]:
    """Multinomial count matrices (chunk, n), float64: row ``b`` says how often each of the ``n`` users is drawn
    in resample ``b`` (rows sum to ``n``). Chunks together hold ``n_resamples`` rows."""
    rng = np.random.default_rng(seed)
    pvals = np.full(n, 1.0 / n)
    rows = max(1, _CHUNK_ENTRIES // n)
    for b0 in range(0, n_resamples, rows):
        yield rng.multinomial(n, pvals, size=min(rows, n_resamples - b0)).astype(np.float64)


def _statistic(counts: np.ndarray | None, v: np.ndarray, w: np.ndarray | None, statistic: str) -> np.ndarray | float:
    """The statistic of each resample (``counts`` rows), or of the data itself (``counts`` None)."""
    if counts is None:
        mean = float(np.average(v, weights=w))
        return float(np.sqrt(max(mean, 0.0))) if statistic == "rmse" else mean
    if w is None:
        means = counts @ v / len(v)
    else:
        den = counts @ w
        means = np.divide(counts @ (w * v), den, out=np.full(len(den), np.nan), where=den > 0)
    return np.sqrt(np.maximum(means, 0.0)) if statistic == "rmse" else means


def bootstrap_distribution(values, *, weights=None, statistic: Statistic = "mean", n_resamples: int = 1000, seed: int | None = 0) -> np.ndarray:
    """The statistic of ``n_resamples`` resamples of users (with replacement), float64 (n_resamples,).

    A resample in which every drawn user has weight 0 has no statistic (NaN); :func:`bootstrap_ci` ignores those.
    """
    _check_options(n_resamples, None, statistic, "bootstrap")
    v, w = _check_values(values, weights, "bootstrap")
    return np.concatenate([np.atleast_1d(_statistic(c, v, w, statistic)) for c in _resample_counts(len(v), int(n_resamples), seed)])


def bootstrap_ci(
    values,
    *,
    weights=None,
    statistic: Statistic = "mean",
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a metric over users.

    Parameters
    ----------
    values : array (n_users,)
        Per-user metric values (``EvaluationResult.per_user[...]``).
    weights : array (n_users,), optional
        Per-user weights (test rows per user for rmse/mae); resampled together with the values, so the
        statistic of a resample is ``sum(c * w * v) / sum(c * w)`` with ``c`` the draw counts.
    statistic : "mean" or "rmse"
        ``"mean"``: the (weighted) mean of ``values``; ``"rmse"``: its square root (``values`` are per-user mse).
    n_resamples, level, seed
        Number of resamples, coverage (0.95: the 2.5% and 97.5% quantiles of the resampled statistic) and the
        seed of ``numpy.random.default_rng``.

    Returns (low, high). Constant values give the degenerate interval (value, value).
    """
    _check_options(n_resamples, level, statistic, "bootstrap_ci")
    dist = bootstrap_distribution(values, weights=weights, statistic=statistic, n_resamples=n_resamples, seed=seed)
    dist = dist[np.isfinite(dist)]
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(dist, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def metric_interval(result: EvaluationResult, metric: str, *, n_resamples: int = 1000, level: float = 0.95, seed: int | None = 0) -> tuple[float, float]:
    """Bootstrap confidence interval of ``result.metrics[metric]`` over the result's users (:func:`bootstrap_ci` on
    :meth:`EvaluationResult.values_for`: ``rmse`` from per-user mse with weights, ``mae`` from per-user ae ...).
    ConfigError for a metric without per-user values (``auc``, ``coverage@K``, ``novelty@K``)."""
    mv = result.values_for(metric)
    return bootstrap_ci(mv.values, weights=mv.weights, statistic=mv.statistic, n_resamples=n_resamples, level=level, seed=seed)


def metric_intervals(
    result: EvaluationResult, metrics: Sequence[str] | None = None, *, n_resamples: int = 1000, level: float = 0.95, seed: int | None = 0
) -> dict[str, tuple[float, float]]:
    """:func:`metric_interval` of several metrics (default: every metric with per-user values), equal to calling it
    per metric with this seed but drawing the resamples of users once for all of them."""
    names = result.metric_names() if metrics is None else list(metrics)
    _check_options(n_resamples, level, "mean", "metric_intervals")
    if not names:
        return {}
    parts = [result.values_for(m) for m in names]
    values = np.column_stack([_check_values(mv.values, None, "metric_intervals")[0] for mv in parts])
    _, w = _check_values(values[:, 0], result.weights, "metric_intervals")
    dists = []
    for counts in _resample_counts(len(values), int(n_resamples), seed):
        if w is None:
            dists.append(counts @ values / len(values))
        else:
            den = (counts @ w)[:, None]
            dists.append(np.divide(counts @ (w[:, None] * values), den, out=np.full((len(den), values.shape[1]), np.nan), where=den > 0))
    dist = np.concatenate(dists)
    alpha = (1.0 - level) / 2.0
    out: dict[str, tuple[float, float]] = {}
    for j, (name, mv) in enumerate(zip(names, parts)):
        col = dist[:, j]
        col = col[np.isfinite(col)]
        if mv.statistic == "rmse":
            col = np.sqrt(np.maximum(col, 0.0))
        lo, hi = np.quantile(col, [alpha, 1.0 - alpha])
        out[name] = (float(lo), float(hi))
    return out


# ---------------------------------------------------------------------- paired tests
def paired_test(
    a,
    b,
    *,
    method: Literal["bootstrap", "wilcoxon"] = "bootstrap",
    n_resamples: int = 1000,
    seed: int | None = 0,
    weights=None,
    statistic: Statistic = "mean",
) -> float:
    """Two-sided p-value of "two models score the same on these users", from paired per-user values.

    ``a`` and ``b`` hold the same users in the same order (see :func:`paired_metric_test` to align results).

    ``"bootstrap"`` (paired bootstrap of the difference): users are resampled together for both models; with
    ``d`` the observed difference of the statistics (``statistic(a) - statistic(b)``, weighted by ``weights``)
    and ``d*`` its resampled values, the resampled differences are centred on the null hypothesis and
    ``p = (1 + #{|d* - d| >= |d|}) / (1 + n_resamples)`` (a Monte Carlo p-value, never exactly 0).
    ``"wilcoxon"``: the Wilcoxon signed-rank test of the per-user differences (``scipy.stats.wilcoxon``,
    zero differences dropped, unweighted). Identical values (all differences 0) give p = 1 for both.
    """
    if method not in ("bootstrap", "wilcoxon"):
        raise ConfigError(f"paired_test: method must be 'bootstrap' or 'wilcoxon', got {method!r}")
    _check_options(n_resamples, None, statistic, "paired_test")
    va, w = _check_values(a, weights, "paired_test")
    vb, _ = _check_values(b, weights, "paired_test")
    if len(va) != len(vb):
        raise DataError(f"paired_test: {len(va)} values against {len(vb)}; the two must hold the same users")
    if np.array_equal(va, vb):
        return 1.0
    if method == "wilcoxon":
        return _wilcoxon(va - vb)
    observed = float(_statistic(None, va, w, statistic)) - float(_statistic(None, vb, w, statistic))
    extreme = 0
    for counts in _resample_counts(len(va), int(n_resamples), seed):
        diff = np.asarray(_statistic(counts, va, w, statistic)) - np.asarray(_statistic(counts, vb, w, statistic))
        extreme += int((np.abs(diff[np.isfinite(diff)] - observed) >= abs(observed)).sum())
    return (1.0 + extreme) / (1.0 + n_resamples)


def _wilcoxon(diff: np.ndarray) -> float:
    from scipy.stats import wilcoxon

    if not np.any(diff != 0):
        return 1.0
    return float(wilcoxon(diff).pvalue)


def paired_metric_test(
    a: EvaluationResult,
    b: EvaluationResult,
    metric: str,
    *,
    method: Literal["bootstrap", "wilcoxon"] = "bootstrap",
    n_resamples: int = 1000,
    seed: int | None = 0,
) -> float:
    """Two-sided p-value of the difference in ``metric`` between two results on the users they share.

    Users are aligned by raw id (the intersection of ``a.users`` and ``b.users``; DataError when they share none).
    ``rmse`` compares the square roots of the weighted mean per-user mse, ``mae`` and row-weighted metrics
    their weighted means (weights of ``a``; both results weight a user by their test rows). See :func:`paired_test`.
    """
    va, vb = a.values_for(metric), b.values_for(metric)
    _, ia, ib = np.intersect1d(a.users, b.users, assume_unique=True, return_indices=True)
    if len(ia) == 0:
        raise DataError(f"paired_metric_test: the two results share no users, so {metric} cannot be compared pairwise")
    weights = None if va.weights is None else va.weights[ia]
    return paired_test(va.values[ia], vb.values[ib], method=method, n_resamples=n_resamples, seed=seed, weights=weights, statistic=va.statistic)


def paired_metric_tests(
    a: EvaluationResult,
    b: EvaluationResult,
    metrics: Sequence[str] | None = None,
    *,
    method: Literal["bootstrap", "wilcoxon"] = "bootstrap",
    n_resamples: int = 1000,
    seed: int | None = 0,
) -> dict[str, float]:
    """:func:`paired_metric_test` of several metrics (default: every metric of ``a`` with per-user values), equal to
    calling it per metric with this seed but drawing the paired resamples of users once for all of them."""
    names = a.metric_names() if metrics is None else list(metrics)
    if method != "bootstrap" or len(names) < 2:
        return {m: paired_metric_test(a, b, m, method=method, n_resamples=n_resamples, seed=seed) for m in names}
    _check_options(n_resamples, None, "mean", "paired_metric_tests")
    _, ia, ib = np.intersect1d(a.users, b.users, assume_unique=True, return_indices=True)
    if len(ia) == 0:
        raise DataError("paired_metric_tests: the two results share no users, so they cannot be compared pairwise")
    pa, pb = [a.values_for(m) for m in names], [b.values_for(m) for m in names]
    va = np.column_stack([_check_values(mv.values[ia], None, "paired_metric_tests")[0] for mv in pa])
    vb = np.column_stack([_check_values(mv.values[ib], None, "paired_metric_tests")[0] for mv in pb])
    _, w = _check_values(va[:, 0], None if a.weights is None else a.weights[ia], "paired_metric_tests")
    rmse = np.array([mv.statistic == "rmse" for mv in pa])
    observed = _column_statistics(None, va, w, rmse) - _column_statistics(None, vb, w, rmse)
    extreme = np.zeros(len(names), dtype=np.int64)
    for counts in _resample_counts(len(va), int(n_resamples), seed):
        diff = _column_statistics(counts, va, w, rmse) - _column_statistics(counts, vb, w, rmse)
        extreme += ((np.abs(diff - observed) >= np.abs(observed)) & np.isfinite(diff)).sum(axis=0)
    p = (1.0 + extreme) / (1.0 + n_resamples)
    same = (va == vb).all(axis=0)
    return {m: 1.0 if same[j] else float(p[j]) for j, m in enumerate(names)}


def _column_statistics(counts: np.ndarray | None, values: np.ndarray, w: np.ndarray | None, rmse: np.ndarray) -> np.ndarray:
    """Per column of ``values`` (n_users, n_metrics): the (weighted) mean, square-rooted where ``rmse``; per resample
    row of ``counts`` when given ((n_resamples, n_metrics)), else of the data ((n_metrics,))."""
    c = np.ones((1, len(values))) if counts is None else counts
    ww = np.ones(len(values)) if w is None else w
    den = (c @ ww)[:, None]
    means = np.divide(c @ (ww[:, None] * values), den, out=np.full((len(c), values.shape[1]), np.nan), where=den > 0)
    means = np.where(rmse, np.sqrt(np.maximum(means, 0.0)), means)
    return means[0] if counts is None else means


# ---------------------------------------------------------------------- multiple comparisons
def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the order given.

    With the ``m`` p-values sorted ascending, ``p_(i)`` gets ``max_{j <= i} min(1, (m - j + 1) p_(j))`` (1-based):
    monotone in the raw p-values and at most 1. Rejecting where the adjusted value is below alpha controls the
    family-wise error rate at alpha. NaN entries stay NaN and do not count towards ``m``.
    """
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    finite = ~np.isnan(p)
    if ((p[finite] < 0) | (p[finite] > 1)).any():
        raise DataError(f"holm: p-values must lie in [0, 1], got {p[finite][(p[finite] < 0) | (p[finite] > 1)][0]!r}")
    out = np.full(len(p), np.nan)
    idx = np.flatnonzero(finite)
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out
