"""--protocol sampled also ranks the full catalogue (within a bound) and flags model pairs whose order flips."""

from __future__ import annotations

import json

import pytest

from cofirec.data.negatives import sample_negatives
from cofirec.evaluate.runner import evaluate
from cofirec.experiments.compare import compare, write_comparison_report
from cofirec.experiments.sampled import FLIP_NOTE, describe_flip, find_flips, full_ranking_allowed
from cofirec.models.registry import create_model


def _row(model, sampled, full, metric="ndcg@10"):
    return {"model": model, "error": None, metric: sampled, "full": {metric: full}}


def test_find_flips_hand_made():
    rows = [_row("a", 0.50, 0.10), _row("b", 0.40, 0.20), _row("c", 0.30, 0.05), _row("d", 0.30, 0.30)]
    flips = find_flips(rows, ["ndcg@10"])
    pairs = [tuple(f["models"]) for f in flips]
    # a>b sampled, a<b full; a>d and b>d sampled, both behind d on full; c=d sampled is a tie, not a flip
    assert pairs == [("a", "b"), ("a", "d"), ("b", "d")]
    assert flips[0] == {"metric": "ndcg@10", "models": ["a", "b"], "sampled": [0.5, 0.4], "full": [0.1, 0.2]}
    assert "a ahead of b on sampled (0.5000 vs 0.4000) but behind on full ranking (0.1000 vs 0.2000)" in describe_flip(flips[0])
    # lower-is-better metrics are ordered the other way; failed rows and rows without full numbers are skipped
    err = [_row("a", 0.9, 0.8, "rmse"), _row("b", 1.0, 0.7, "rmse"), {"model": "x", "error": "boom"}, {"model": "y", "error": None, "rmse": 0.1}]
    assert [f["models"] for f in find_flips(err, ["rmse"])] == [["a", "b"]]
    assert find_flips([_row("a", 0.5, 0.2), _row("b", 0.4, 0.1)], ["ndcg@10"]) == []


def test_full_ranking_bound(tiny_split):
    ok, reason = full_ranking_allowed(tiny_split.train, tiny_split.test)
    n_test_users = len(set(tiny_split.test.users.tolist()))
    assert ok and f"{tiny_split.train.n_items} items x {n_test_users} test users" in reason
    ok, reason = full_ranking_allowed(tiny_split.train, tiny_split.test, max_scores=100)
    assert not ok and "above the bound of 100" in reason


@pytest.fixture(scope="module")
def sampled_result(tiny_split):
    negatives = sample_negatives(tiny_split.train, tiny_split.test, n=30, seed=0)
    models = ["popularity", ("item-knn", {"k": 20}), ("mf", {"factors": 4, "epochs": 3})]
    return compare(models, tiny_split.train, tiny_split.test, protocol="sampled", k=(5, 10), negatives=negatives), negatives


def test_sampled_rows_carry_full_ranking_metrics(sampled_result, tiny_split):
    result, _ = sampled_result
    assert any("full ranking computed" in n for n in result.notes)
    knn = create_model("item-knn", {"k": 20}).fit(tiny_split.train)
    full = evaluate(knn, tiny_split.test, protocol="ranking", k=(5, 10))
    row = result.rows[1]
    assert row["full"]["ndcg@10"] == pytest.approx(full["ndcg@10"]) and row["full"]["recall@5"] == pytest.approx(full["recall@5"])
    assert row["ndcg@10"] != pytest.approx(row["full"]["ndcg@10"])  # sampled and full are different numbers
    assert result.flips == find_flips(result.rows, result.metrics)


def test_full_ranking_can_be_switched_off(tiny_split, sampled_result):
    _, negatives = sampled_result
    result = compare(["popularity"], tiny_split.train, tiny_split.test, protocol="sampled", k=(10,), negatives=negatives, full_ranking=False)
    assert "full" not in result.rows[0] and result.flips == [] and result.notes == []


def test_report_shows_both_protocols_and_flips(sampled_result, tmp_path):
    result, _ = sampled_result
    result.flips = [{"metric": "ndcg@10", "models": ["popularity", "mf"], "sampled": [0.5, 0.4], "full": [0.1, 0.2]}]
    page = write_comparison_report(result, tmp_path).read_text()
    assert 'id="sampled-vs-full"' in page and "ndcg@10 sampled" in page and "ndcg@10 full" in page
    assert "1 order flip(s)" in page and "popularity ahead of mf on sampled" in page
    assert "Krichene &amp; Rendle, KDD 2020" in page
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["flips"] == result.flips and saved["flip_note"] == FLIP_NOTE
    assert saved["rows"][0]["full"]["ndcg@10"] == pytest.approx(result.rows[0]["full"]["ndcg@10"])


def test_cli_sampled_prints_flip_note(cli, tmp_path):
    from cofirec.data.readers import write_ratings_file
    from cofirec.data.synthetic import make_synthetic

    path = write_ratings_file(make_synthetic(n_users=80, n_items=300, density=0.04, seed=2), tmp_path / "r.tsv", header=True)
    res = cli("compare", "--dataset", path, "--models", "popularity,item-knn", "--protocol", "sampled", "--k", "10")
    assert res.code == 0, res.stderr
    assert "Krichene & Rendle" in res.stdout and ("order flip" in res.stdout or "no order flip" in res.stdout)
