"""compare() on the official ML-100K u1 split: the classic RMSE ordering holds (mean > item-knn > mf)."""

from __future__ import annotations

import pytest

from cofirec.experiments.compare import run_comparison
from cofirec.experiments.config import config_from_dict

pytestmark = pytest.mark.realdata


def test_ml100k_u1_rating_comparison(real_data, tmp_path):
    folder = real_data("ml-100k")
    cfg = config_from_dict(
        {
            "train": str(folder / "u1.base"),
            "test": str(folder / "u1.test"),
            "protocol": "rating",
            "models": ["mean", {"name": "item-knn"}, {"name": "mf", "params": {"factors": 32, "epochs": 15}}],
        }
    )
    result, path = run_comparison(cfg, report_dir=tmp_path)
    rmse = {r["model"]: r["rmse"] for r in result.rows}
    # the global mean on u1 is a known number: 1.1537 (every predictor below is measured against it)
    assert rmse["mean"] == pytest.approx(1.1537, abs=2e-3)
    assert rmse["item-knn"] < 0.96 and rmse["mf"] < 0.97
    assert rmse["mf"] < rmse["mean"] - 0.15
    fingerprint = __import__("json").loads((tmp_path / "results.json").read_text())["data"]["files"]
    u1_base = fingerprint[str(folder / "u1.base")]
    assert u1_base["sha256"] == "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a"


def test_metadata_folder_attaches_titles_to_plain_files(real_data):
    from cofirec.experiments.data import prepare_data

    folder = real_data("ml-100k")
    cfg = config_from_dict({"train": str(folder / "u1.base"), "test": str(folder / "u1.test"), "metadata": str(folder)})
    prepared = prepare_data(cfg)
    assert (len(prepared.train), len(prepared.test)) == (80_000, 20_000)
    titles = prepared.train.item_titles()
    assert titles is not None and "Star Wars (1977)" in set(titles.tolist())


def test_acceptance_command_temporal_with_intervals_groups_beyond_cold(cli, real_data, tmp_path):
    """The issue-14 acceptance command, scaled to ML-100K and short neural training to stay quick."""
    import json

    folder = real_data("ml-100k")
    out = tmp_path / "report"
    res = cli(
        "compare", "--dataset", folder, "--split", "temporal", "--models", "popularity,item-knn,ease,ials,embedding-dot",
        "--protocol", "ranking", "-p", "embedding-dot.epochs=2", "--report", out,
    )  # fmt: skip
    assert res.code == 0, res.stderr
    assert "Holm-corrected" in res.stdout and "cold rows after the cut-off" in res.stdout
    saved = json.loads((out / "results.json").read_text())
    rows = {r["model"]: r for r in saved["rows"]}
    assert set(rows) == {"popularity", "item-knn", "ease", "ials", "embedding-dot"}
    best = max(rows.values(), key=lambda r: r["ndcg@10"])
    for r in rows.values():
        lo, hi = r["intervals"]["ndcg@10"]
        assert lo <= r["ndcg@10"] <= hi and hi - lo > 0
        assert (r["p_holm"]["ndcg@10"] is None) == (r is best)
        assert r["significant"]["ndcg@10"] in (None, True, False)
        assert {"gini@10", "popularity_pct@10", "diversity@10"} <= set(r["beyond"]) and r["diversity_basis"] == "genres"
        assert {"activity", "gender", "age"} <= set(r["groups"])
    assert saved["significance"]["n_resamples"] == 1000 and saved["cold"]["cutoff"].startswith("1998-")
    assert saved["cold"]["n_cold_rows"] > 0 and saved["cold"]["new_users"]["metrics"]["popularity"]["hr@10"] > 0
    page = (out / "report.html").read_text()
    for anchor in ('id="significance-legend"', 'class="ci"', 'id="beyond"', 'id="groups"', 'id="cold"', 'alt="Metrics"'):
        assert anchor in page, anchor
