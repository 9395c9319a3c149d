"""Intervals and paired tests against the best model in compare(): hand-made per-user values, then a real comparison
whose duplicate model must come out as not significantly different, and the marks in the table, HTML and charts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cofirec.evaluate.result import EvaluationResult
from cofirec.evaluate.stats import holm, metric_interval, paired_metric_test
from cofirec.experiments.compare import compare, write_comparison_report
from cofirec.experiments.significance import annotate_significance


def _detail(values: np.ndarray, users: np.ndarray | None = None) -> EvaluationResult:
    users = np.arange(len(values)) if users is None else users
    return EvaluationResult(metrics={"ndcg@10": float(values.mean())}, users=users, per_user={"ndcg@10": values}, protocol="ranking")


@pytest.fixture(scope="module")
def hand_made():
    rng = np.random.default_rng(0)
    best = rng.uniform(0.2, 0.8, 400)
    details = {
        "best": _detail(best),
        "twin": _detail(best + rng.normal(0, 0.001, 400)),  # the same model up to noise
        "worse": _detail(best - 0.2),  # every user loses 0.2
        "bit_worse": _detail(best - rng.normal(0.01, 0.3, 400)),
    }
    rows = [{"model": m, "error": None, "ndcg@10": d.metrics["ndcg@10"]} for m, d in details.items()]
    settings = annotate_significance(rows, details, ["ndcg@10", "coverage@10"], n_resamples=500, seed=3)
    return {r["model"]: r for r in rows}, details, settings


def test_best_has_no_test_and_others_are_holm_adjusted(hand_made):
    rows, details, settings = hand_made
    best = max(rows.values(), key=lambda r: r["ndcg@10"])
    assert best["p_values"]["ndcg@10"] is None and best["significant"]["ndcg@10"] is None
    others = [m for m in rows if rows[m] is not best]
    raw = [paired_metric_test(details[best["model"]], details[m], "ndcg@10", n_resamples=500, seed=3) for m in others]
    assert [rows[m]["p_values"]["ndcg@10"] for m in others] == pytest.approx(raw)
    assert [rows[m]["p_holm"]["ndcg@10"] for m in others] == pytest.approx(holm(raw))
    assert rows["worse"]["significant"]["ndcg@10"] is True and rows["worse"]["p_holm"]["ndcg@10"] < 0.01
    # the twin differs by noise only: it cannot be told apart from the best (whichever of the two is ahead)
    pair = [r for r in (rows["best"], rows["twin"]) if r is not best][0]
    assert pair["significant"]["ndcg@10"] is False and pair["p_holm"]["ndcg@10"] > 0.05
    assert settings["metrics"] == ["ndcg@10"]  # coverage has no per-user values: no interval, no test
    assert settings["n_resamples"] == 500 and settings["alpha"] == 0.05 and settings["n_users"] == 400


def test_intervals_are_the_seeded_bootstrap_intervals(hand_made):
    rows, details, _ = hand_made
    for name, row in rows.items():
        lo, hi = row["intervals"]["ndcg@10"]
        assert (lo, hi) == pytest.approx(metric_interval(details[name], "ndcg@10", n_resamples=500, seed=3))
        assert lo < row["ndcg@10"] < hi
        assert "coverage@10" not in row["intervals"]
    # ~1.96 standard errors each side for a mean of 400 values
    se = details["best"].per_user["ndcg@10"].std(ddof=1) / np.sqrt(400)
    lo, hi = rows["best"]["intervals"]["ndcg@10"]
    assert (hi - lo) / 2 == pytest.approx(1.96 * se, rel=0.15)


def test_lower_is_better_metrics_pick_the_smallest_as_best():
    w = np.ones(50)
    small = EvaluationResult(metrics={"rmse": 0.5}, users=np.arange(50), per_user={"mse": np.full(50, 0.25)}, weights=w, protocol="rating")
    big = EvaluationResult(
        metrics={"rmse": 1.0}, users=np.arange(50), per_user={"mse": np.full(50, 1.0) + np.linspace(0, 0.1, 50)}, weights=w, protocol="rating"
    )
    rows = [{"model": "big", "rmse": 1.0}, {"model": "small", "rmse": 0.5}]
    annotate_significance(rows, {"big": big, "small": small}, ["rmse"], n_resamples=200)
    assert rows[1]["p_values"]["rmse"] is None and rows[0]["significant"]["rmse"] is True


@pytest.fixture(scope="module")
def duplicate_result(tiny_split):
    # popularity twice: identical per-user values, so the copy can never differ significantly from the original
    models = ["popularity", "popularity", ("mf", {"factors": 4, "epochs": 2})]
    return compare(models, tiny_split.train, tiny_split.test, protocol="ranking", k=(10,), n_resamples=300)


def test_compare_rows_carry_intervals_and_tests(duplicate_result):
    res = duplicate_result
    labels = [r["model"] for r in res.rows]
    assert labels == ["popularity", "popularity#2", "mf"]
    assert res.significance["n_resamples"] == 300 and "ndcg@10" in res.significance["metrics"]
    assert "coverage@10" not in res.significance["metrics"]
    for r in res.rows:
        assert set(r["intervals"]) == set(res.significance["metrics"])
        assert r["intervals"]["ndcg@10"][0] <= r["ndcg@10"] <= r["intervals"]["ndcg@10"][1]
    best = res.best("ndcg@10")
    twin = {"popularity": "popularity#2", "popularity#2": "popularity"}.get(best["model"])
    if twin is not None:  # the copy of the best model: p = 1, not significant
        copy = next(r for r in res.rows if r["model"] == twin)
        assert copy["p_values"]["ndcg@10"] == 1.0 and copy["significant"]["ndcg@10"] is False
    assert set(res.details) == set(labels)


def test_n_resamples_zero_skips_intervals(tiny_split):
    res = compare(["popularity"], tiny_split.train, tiny_split.test, k=(10,), n_resamples=0)
    assert res.significance == {} and "intervals" not in res.rows[0]


def test_report_marks_and_legend(duplicate_result, tmp_path):
    res = duplicate_result
    res.rows[1]["significant"]["ndcg@10"] = False  # make sure one mark is present whatever the best model
    res.rows[1]["p_holm"]["ndcg@10"] = 0.62
    page = write_comparison_report(res, tmp_path).read_text()
    assert 'id="significance-legend"' in page and "Holm correction" in page and "95% confidence interval" in page
    assert '<span class="ns" title="not significantly different from the best model (Holm-adjusted p = 0.62)">≈</span>' in page
    lo, hi = res.rows[2]["intervals"]["ndcg@10"]
    assert f'<span class="ci">[{lo:.4f}, {hi:.4f}]</span>' in page
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["significance"]["level"] == 0.95
    assert saved["rows"][1]["significant"]["ndcg@10"] is False and saved["rows"][2]["intervals"]["ndcg@10"] == pytest.approx([lo, hi])
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert {"ndcg@10_lo", "ndcg@10_hi", "ndcg@10_p_holm"} <= set(header)


def test_bar_chart_draws_interval_error_bars(duplicate_result, tmp_path):
    from cofirec.experiments.plots import interval_errors, plot_metric_bars

    rows = duplicate_result.rows
    values = np.array([r["ndcg@10"] for r in rows])
    err = interval_errors(rows, "ndcg@10", values)
    assert err.shape == (2, 3) and (err >= 0).all() and err.sum() > 0
    assert np.allclose(values - err[0], [r["intervals"]["ndcg@10"][0] for r in rows])
    assert interval_errors([{"model": "x", "ndcg@10": 0.1}], "ndcg@10", np.array([0.1])) is None
    path = plot_metric_bars(rows, ["ndcg@10"], tmp_path / "bars.png")
    bare = plot_metric_bars([{k: v for k, v in r.items() if k != "intervals"} for r in rows], ["ndcg@10"], tmp_path / "bare.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    with_bars, without = imread(path), imread(bare)
    assert with_bars.shape == without.shape
    # the error bars are drawn in near-black (#222) where the chart without intervals has none (title row left out:
    # its "(95% CI)" suffix is dark too)
    dark = lambda img: int((img[img.shape[0] // 6 :, :, :3].max(axis=-1) < 0.2).sum())  # noqa: E731
    assert dark(with_bars) > dark(without) + 20


def test_cli_table_marks_and_legend(cli, split_files):
    train, test = split_files
    res = cli("compare", "--train", train, "--test", test, "--models", "popularity,popularity,item-knn", "--k", "10")
    assert res.code == 0, res.stderr
    assert "±" in res.stdout and "Holm-corrected" in res.stdout
