"""compare --seeds: one split and fit per seed, mean and std (n-1) per model and metric, the first seed's run as reference."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cofirec.errors import ConfigError
from cofirec.experiments.compare import ComparisonResult, run_comparison
from cofirec.experiments.config import config_from_dict
from cofirec.experiments.seeds import parse_seeds, seed_summary, seeded_config


def test_parse_seeds():
    assert parse_seeds("0, 1,2") == [0, 1, 2]
    assert parse_seeds(None) == []
    for bad in ("", "a,b", "-1", "1,1"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)


def _result(values: dict[str, float | None], error: str | None = None) -> ComparisonResult:
    rows = [{"model": m, "error": error if v is None else None, **({"ndcg@10": v} if v is not None else {})} for m, v in values.items()]
    return ComparisonResult(rows=rows, metrics=["ndcg@10"], histories={}, protocol="ranking", k=(10,))


def test_seed_summary_is_mean_and_sample_std():
    runs = [_result({"a": 0.1, "b": 0.5}), _result({"a": 0.2, "b": None}, error="boom"), _result({"a": 0.3, "b": 0.7})]
    out = seed_summary(runs)
    assert out["a"]["ndcg@10"]["mean"] == pytest.approx(0.2)
    assert out["a"]["ndcg@10"]["std"] == pytest.approx(0.1)  # sqrt(((0.1)^2 + 0 + (0.1)^2) / (3 - 1))
    # a failed run is left out of b's numbers, and its slot says so
    assert out["b"]["ndcg@10"]["values"] == [0.5, None, 0.7]
    assert out["b"]["ndcg@10"]["mean"] == pytest.approx(0.6) and out["b"]["ndcg@10"]["std"] == pytest.approx(np.sqrt(0.02))
    assert seed_summary([_result({"a": 0.4})])["a"]["ndcg@10"]["std"] == 0.0


def test_seeded_config_sets_experiment_and_split_seed():
    cfg = config_from_dict({"dataset": "x", "seed": 7, "split": {"seed": 3}, "models": ["mean"]})
    out = seeded_config(cfg, 2)
    assert (out.seed, out.split_seed) == (2, 2) and (cfg.seed, cfg.split_seed) == (7, 3)


@pytest.fixture(scope="module")
def ratings_file(tmp_path_factory):
    from cofirec.data.readers import write_ratings_file
    from cofirec.data.synthetic import make_synthetic

    data = make_synthetic(n_users=100, n_items=60, density=0.12, seed=5)
    return write_ratings_file(data, tmp_path_factory.mktemp("seeds") / "ratings.tsv", header=True)


def test_three_seeds_resplit_and_refit(ratings_file, tmp_path):
    cfg = config_from_dict(
        {"dataset": str(ratings_file), "protocol": "ranking", "k": [10], "models": ["popularity", {"name": "mf", "params": {"factors": 4, "epochs": 3}}]}
    )
    result, path = run_comparison(cfg, seeds=[0, 1, 2], report_dir=tmp_path)
    assert result.seeds == [0, 1, 2]
    for row in result.rows:
        stats = row["seeds"]["ndcg@10"]
        values = stats["values"]
        assert len(values) == 3 and values[0] == pytest.approx(row["ndcg@10"])  # the reference run is the first seed's
        assert len(set(values)) == 3  # another split each time: the numbers move
        assert stats["mean"] == pytest.approx(np.mean(values)) and stats["std"] == pytest.approx(np.std(values, ddof=1))
    one, _ = run_comparison(seeded_config(cfg, 1))
    assert result.rows[1]["seeds"]["ndcg@10"]["values"][1] == pytest.approx(one.rows[1]["ndcg@10"])  # seed 1 of the three is a plain seed-1 run
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["seeds"] == [0, 1, 2] and saved["rows"][0]["seeds"]["ndcg@10"]["std"] > 0
    page = path.read_text()
    assert 'id="seeds"' in page and "&plusmn;" in page
    assert any("seeds 0, 1, 2" in n for n in saved["notes"])
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert "ndcg@10_seed_mean" in header and "ndcg@10_seed_std" in header and "seeds" not in header


def test_cli_seeds_table_and_errors(cli, ratings_file):
    res = cli("compare", "--dataset", ratings_file, "--models", "popularity,item-knn", "--k", "10", "--seeds", "0,1")
    assert res.code == 0, res.stderr
    assert "across seeds 0,1: mean ± std" in res.stdout and "note: seeds 0, 1" in res.stdout
    res = cli("compare", "--dataset", ratings_file, "--models", "popularity", "--seeds", "0,1", "--json")
    assert res.code == 0 and res.json()["seeds"] == [0, 1] and "ndcg@10" in res.json()["rows"][0]["seeds"]
    bad = cli("compare", "--dataset", ratings_file, "--models", "popularity", "--seeds", "0,x")
    assert bad.code == 2 and "--seeds" in bad.stderr
    both = cli("compare", "--dataset", ratings_file, "--models", "popularity", "--seeds", "0,1", "--split-seed", "3")
    assert both.code == 2 and "--split-seed" in both.stderr
