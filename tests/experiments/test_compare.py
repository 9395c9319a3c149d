"""compare(): same split, same metric code as evaluate(), timings, sizes, and the report files it writes."""

from __future__ import annotations

import csv
import json
import shlex

import numpy as np
import pytest

from cofirec.evaluate.runner import evaluate
from cofirec.experiments.compare import compare, count_parameters, normalize_models, write_comparison_report
from cofirec.models.registry import create_model

MODELS = [("mean", {}), ("popularity", {}), ("item-knn", {"k": 20}), ("mf", {"factors": 8, "epochs": 4})]


@pytest.fixture(scope="module")
def ranking_result(tiny_split):
    return compare(MODELS, tiny_split.train, tiny_split.test, protocol="ranking", k=(5, 10), seed=0, keep_models=True)


def test_rows_match_separate_evaluate_calls(ranking_result, tiny_split):
    assert [r["model"] for r in ranking_result.rows] == ["mean", "popularity", "item-knn", "mf"]
    assert "ndcg@10" in ranking_result.metrics and "recall@5" in ranking_result.metrics
    assert "users_evaluated" not in ranking_result.metrics  # counts are kept in rows, not charted as metrics
    for (name, params), row in zip(MODELS, ranking_result.rows):
        assert row["error"] is None
        full = {**params, "random_state": 0} if "random_state" in create_model(name).param_names() else params
        assert row["params"] == full
        model = create_model(name, full).fit(tiny_split.train)
        expected = evaluate(model, tiny_split.test, protocol="ranking", k=(5, 10))
        for metric, value in expected.items():
            assert row[metric] == pytest.approx(value, rel=1e-6, abs=1e-9), (name, metric)
    # the personalised models do not all tie with the baselines: the numbers are real
    assert len({round(r["ndcg@10"], 6) for r in ranking_result.rows}) >= 3


def test_timings_sizes_and_histories(ranking_result, tiny_split):
    mf_row = ranking_result.rows[3]
    mf = ranking_result.models["mf"]
    for row in ranking_result.rows:
        assert row["fit_s"] > 0 and row["eval_s"] > 0 and row["recommend_s"] > 0
        assert row["artifact_bytes"] > 1000
    assert ranking_result.rows[0]["n_params"] == 0  # the global mean learns nothing but a number
    n_u, n_i = tiny_split.train.compact().n_users, tiny_split.train.compact().n_items
    assert mf_row["n_params"] == count_parameters(mf) >= (n_u + n_i) * 8
    assert mf_row["epochs"] == len(ranking_result.histories["mf"]) == len(mf.history_) > 0
    assert ranking_result.histories["mean"] == []
    assert ranking_result.rows[3]["artifact_bytes"] > ranking_result.rows[0]["artifact_bytes"]


def test_rating_protocol_skips_models_that_do_not_predict_ratings(tiny_split):
    res = compare(["mean", "popularity", ("mf", {"factors": 8, "epochs": 4})], tiny_split.train, tiny_split.test, protocol="rating")
    assert res.metrics[:2] == ["rmse", "mae"]
    pop = res.rows[1]
    assert "does not predict ratings" in pop["error"] and "rmse" not in pop
    assert res.best("rmse")["model"] == "mf"
    assert res.rows[0]["rmse"] == pytest.approx(evaluate(create_model("mean").fit(tiny_split.train), tiny_split.test, protocol="rating")["rmse"])


def test_a_failing_model_gets_an_error_row_and_the_others_still_run(tiny_split):
    implicit_train = tiny_split.train.as_implicit()
    res = compare(["popularity", ("mf", {"epochs": 2})], implicit_train, tiny_split.test.as_implicit(), protocol="ranking", k=(10,))
    assert res.rows[0]["error"] is None and res.rows[0]["ndcg@10"] > 0
    assert "implicit" in res.rows[1]["error"] and "ndcg@10" not in res.rows[1]


def test_duplicate_models_get_unique_labels_and_params_are_validated():
    specs = normalize_models(["mean", ("popularity", {"by": "rating"}), ("popularity", {"damping": "2.5"})])
    assert [s.display for s in specs] == ["mean", "popularity", "popularity#2"]
    assert specs[2].params == {"damping": 2.5}
    from cofirec.errors import ConfigError

    with pytest.raises(ConfigError, match=r"popularity\.damping: expected float, got 'x'"):
        normalize_models([("popularity", {"damping": "x"})])
    with pytest.raises(ConfigError, match="unknown model 'nope'"):
        normalize_models(["nope"])


def test_report_files_hold_the_same_numbers(ranking_result, tiny_split, tmp_path):
    html_path = write_comparison_report(
        ranking_result, tmp_path, config={"models": [m[0] for m in MODELS]}, command="cofirec compare --x", seed=0, train=tiny_split.train, test=tiny_split.test
    )
    assert html_path == tmp_path / "report.html"
    payload = json.loads((tmp_path / "results.json").read_text())
    assert payload["command"] == "cofirec compare --x"
    assert [r["model"] for r in payload["rows"]] == ["mean", "popularity", "item-knn", "mf"]
    for row, original in zip(payload["rows"], ranking_result.rows):
        assert row["ndcg@10"] == pytest.approx(original["ndcg@10"])
    assert len(payload["data"]["train_sha256"]) == 64
    assert payload["versions"]["numpy"] == np.__version__
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == ["mean", "popularity", "item-knn", "mf"]
    assert float(rows[2]["ndcg@10"]) == pytest.approx(ranking_result.rows[2]["ndcg@10"])
    html = html_path.read_text()
    assert html.index("cofirec compare --x") < html.index("<h2>Results</h2>")
    assert html.count('src="data:image/png;base64,') >= 3  # metrics, timing, learning curves
    assert "http://" not in html and "https://" not in html
    for png in ("metrics.png", "timing.png", "learning_curves.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_compare_writes_report_and_its_command_reproduces_the_numbers(cli, split_files, tmp_path):
    train, test = split_files
    out = tmp_path / "rep"
    res = cli(
        "compare", "--train", train, "--test", test, "--models", "popularity,item-knn", "--param", "item-knn.k=15", "--k", "5,10", "--report", out, "--json"
    )
    assert res.code == 0, res.stderr
    doc = res.json()
    assert [r["model"] for r in doc["rows"]] == ["popularity", "item-knn"]
    assert doc["rows"][1]["params"] == {"k": 15}
    for name in ("report.html", "results.json", "results.csv", "config.json"):
        assert (out / name).exists()
    command = json.loads((out / "results.json").read_text())["command"]
    assert command.startswith("cofirec compare ") and "--param item-knn.k=15" in command
    again = cli(*shlex.split(command)[1:], "--json")
    assert again.code == 0, again.stderr
    assert [r["ndcg@10"] for r in again.json()["rows"]] == [r["ndcg@10"] for r in doc["rows"]]
    # the saved config reproduces the run too
    from_config = cli("compare", "--config", out / "config.json", "--json")
    assert [r["ndcg@10"] for r in from_config.json()["rows"]] == [r["ndcg@10"] for r in doc["rows"]]


def test_cli_compare_errors_are_one_line(cli, split_files):
    train, test = split_files
    res = cli("compare", "--train", train, "--test", test, "--models", "popularity,knn")
    assert res.code == 2 and res.stderr.count("\n") == 1
    assert "unknown model 'knn'" in res.stderr
    res = cli("compare", "--train", train, "--test", test, "--models", "popularity", "--param", "mf.factors=8")
    assert res.code == 2 and "no model 'mf' in this run" in res.stderr
    res = cli("compare", "--models", "popularity")
    assert res.code == 2 and "dataset: missing" in res.stderr


def test_sampled_protocol_with_a_split_object(tiny_split):
    from cofirec.data.negatives import sample_negatives

    neg = sample_negatives(tiny_split.train, tiny_split.test, n=20, seed=0)
    res = compare(["popularity", ("mf", {"factors": 4, "epochs": 3})], tiny_split, protocol="sampled", k=(5,), negatives=neg)
    assert res.metrics[:3] == ["hr@5", "ndcg@5", "mrr@5"]
    model = create_model("popularity").fit(tiny_split.train)
    assert res.rows[0]["hr@5"] == pytest.approx(evaluate(model, tiny_split.test, protocol="sampled", k=(5,), negatives=neg)["hr@5"])


def test_config_target_binary_reads_files_and_binarizes_both_parts(split_files):
    from cofirec.experiments.config import config_from_dict
    from cofirec.experiments.data import prepare_data

    train, test = split_files
    cfg = config_from_dict(
        {"train": str(train), "test": str(test), "target": "binary:4", "protocol": "binary", "models": [{"name": "mf", "params": {"epochs": 2}}]}
    )
    prepared = prepare_data(cfg)
    assert prepared.train.kind == prepared.test.kind == "binary"
    assert set(np.unique(prepared.test.ratings)) <= {0.0, 1.0}
    assert prepared.train.user_map == prepared.test.user_map  # one id space for both files
    res = compare(cfg.models, prepared.train, prepared.test, protocol="binary")
    assert 0.5 < res.rows[0]["auc"] <= 1.0


def test_compare_table_shows_every_metric_with_four_decimals(capsys, monkeypatch):
    """Metric columns line up: 0.12 prints as 0.1200 (not 0.12), as in ``cofirec evaluate``'s table."""
    import re

    from cofirec.cli.experiment_cmds import print_comparison
    from cofirec.experiments.compare import ComparisonResult

    monkeypatch.setenv("COLUMNS", "200")
    rows = [
        {
            "model": "a",
            "name": "popularity",
            "ndcg@10": 0.12,
            "recall@10": 0.011,
            "hr@10": 0.5,
            "precision@10": 0.1234,
            "fit_s": 0.1,
            "recommend_s": 0.01,
            "n_params": 3,
            "artifact_bytes": 100,
        },
        {
            "model": "b",
            "name": "mean",
            "ndcg@10": 0.2,
            "recall@10": 0.25,
            "hr@10": 1.0,
            "precision@10": 0.0,
            "fit_s": 0.1,
            "recommend_s": 0.01,
            "n_params": 0,
            "artifact_bytes": 100,
        },
    ]
    result = ComparisonResult(
        rows=rows,
        metrics=["ndcg@10", "recall@10", "hr@10", "precision@10"],
        histories={},
        protocol="ranking",
        k=(10,),
        data={"name": "x", "train": 10, "test": 2},
    )
    print_comparison(result)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(("│ a ", "│ b "))]
    assert len(lines) == 2
    for line in lines:
        cells = [c.strip() for c in line.strip("│").split("│")][1:5]
        assert all(re.fullmatch(r"\d\.\d{4}", c) for c in cells), line


def test_target_that_keeps_nothing_is_one_clear_error(cli, split_files):
    train, test = split_files
    res = cli("compare", "--train", train, "--test", test, "--models", "popularity,mean", "--target", "implicit:6")
    assert res.code == 2 and res.stderr.count("\n") == 1
    assert "target 'implicit:6' keeps no interaction (ratings are 1 to 5)" in res.stderr


def test_compare_where_no_model_finishes_exits_non_zero(cli, split_files):
    train, test = split_files
    res = cli("compare", "--train", train, "--test", test, "--models", "popularity,ease", "--protocol", "rating")
    assert res.code == 2
    assert res.stderr.splitlines()[-1] == "error: compare: no model finished (2 of 2 failed or were skipped; see the notes above)"
