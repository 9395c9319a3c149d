"""``cofirec demo``: falls back to synthetic data when MovieLens is absent; on ML-100K the story holds."""

from __future__ import annotations

import json

import pytest

from cofirec.experiments import demo


def test_demo_quick_falls_back_to_synthetic_data(cli, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / "demo"
    res = cli("demo", "--quick", "--data-dir", empty, "--report", out)
    assert res.code == 0, res.stderr
    text = " ".join(res.stdout.split())  # undo Rich's line wrapping
    assert "MovieLens 100K not found" in text and "falling back to synthetic data" in text
    for step in ("1. Data", "2. Rating prediction", "3. Top-10 ranking", "4. Initialisers", "5. Recommendations"):
        assert step in text
    assert "Why two tables:" in text
    rating = json.loads((out / "rating" / "results.json").read_text())
    ranking = json.loads((out / "ranking" / "results.json").read_text())
    fitted_rating = [r["model"] for r in rating["rows"] if not r["error"]]
    fitted_ranking = [r["model"] for r in ranking["rows"] if not r["error"]]
    assert fitted_rating == ["baseline", "item-knn", "mf"], rating["rows"]
    assert fitted_ranking[:2] == ["popularity", "item-knn"] and len(fitted_ranking) >= 3, ranking["rows"]
    # each table reports the metrics its models were fitted for, and only those
    assert all("rmse" in r and "ndcg@10" not in r for r in rating["rows"])
    assert all("ndcg@10" in r and "rmse" not in r for r in ranking["rows"])
    assert ranking["data"]["kind"] == "implicit" and rating["data"]["kind"] == "explicit"
    assert "top-5 unseen recommendations from" in text and "movies related to" in text
    assert text.count("(item ") == 5  # five recommendations, each with its item id
    for folder in ("rating", "ranking"):
        assert (out / folder / "report.html").exists()
    assert (out / "init_curves.png").stat().st_size > 1000
    for init in demo.INITS:
        assert init in text
    assert rating["command"].startswith("cofirec demo --data-dir") and "--quick" in rating["command"]
    assert any("Fell back to synthetic data" in n for n in rating["notes"])


def test_init_section_reports_the_best_validation_epoch_of_each_initialiser(tmp_path):
    from rich.console import Console

    from cofirec.data.synthetic import make_synthetic

    data = make_synthetic(n_users=80, n_items=60, density=0.3, seed=1)
    con = Console(record=True, width=160)
    curves, path, skipped = demo._init_section(con, data, quick=True, seed=0, out=tmp_path)
    assert not skipped and path == tmp_path / "init_curves.png" and path.exists()
    assert set(curves) == set(demo.INITS)
    lines = {line.split()[0]: line for line in con.export_text().splitlines() if line.startswith("  ")}
    for init, c in curves.items():
        assert 1 <= c["best_epoch"] <= demo.INIT_EPOCHS["quick"]
        assert c["best_val_loss"] <= c["last_val_loss"]
        assert f"at epoch {c['best_epoch']}" in lines[init]  # the printed best validation epoch


def test_missing_models_are_skipped_with_a_note(monkeypatch):
    from cofirec.models import registry

    monkeypatch.setitem(registry.MODELS, "ghost", "cofirec.models.ghost_model_not_written:Ghost")
    lineup = [("baseline", ["popularity"], {}, {}), ("imaginary", ["ghost"], {}, {})]
    chosen, skipped = demo.pick_models(quick=True, lineup=lineup)
    assert chosen == [("popularity", {})]
    assert skipped[0].startswith("imaginary: ghost unavailable") and skipped[1] == "imaginary: no model available, skipped"


@pytest.mark.realdata
def test_demo_finds_ml100k_and_star_wars_neighbours_make_sense(real_data):
    folder = real_data("ml-100k")
    assert demo.find_movielens_100k(folder.parent) == folder
    data, source, synthetic = demo.load_demo_data(folder.parent)
    assert not synthetic and len(data) == 100_000 and source.startswith("MovieLens 100K")
    titles = set(data.item_titles().tolist())
    assert demo.STAR_WARS in titles
    from cofirec.models.registry import create_model

    knn = create_model("item-knn").fit(data)
    star_wars = data.item_map.ids[list(data.item_titles()).index(demo.STAR_WARS)]
    related = knn.titles(knn.similar_items(star_wars, n=5).items)
    sequels = {"Return of the Jedi (1983)", "Empire Strikes Back, The (1980)"}
    assert sequels & set(related), related


@pytest.mark.realdata
def test_on_ml100k_each_table_ranks_personalised_models_above_the_baselines(real_data, tmp_path):
    from rich.console import Console

    from cofirec.data.splits import split_data

    data, _, _ = demo.load_demo_data(real_data("ml-100k").parent)
    split = split_data(data, "random", test_ratio=0.2, seed=0)
    ctx = {"out": tmp_path, "command": "test", "quick": False, "seed": 0, "files": [], "notes": []}
    con = Console(record=True, width=160)
    rating, _ = demo._compare_section(con, "rating", demo.RATING_LINEUP, split.train, split.test, ctx)
    ranking, _ = demo._compare_section(con, "ranking", demo.RANKING_LINEUP, split.train.as_implicit(), split.test.as_implicit(), ctx)
    rmse = {r["model"]: r["rmse"] for r in rating.rows}
    ndcg = {r["model"]: r["ndcg@10"] for r in ranking.rows}
    assert rmse["mf"] < rmse["item-knn"] < rmse["baseline"], rmse  # the mf default (SVD++) is the most accurate
    assert min(v for k, v in ndcg.items() if k != "popularity") > 1.5 * ndcg["popularity"], ndcg
