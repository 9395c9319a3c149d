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
    for step in ("1. Data", "2. Train and compare", "3. Recommendations"):
        assert step in text
    payload = json.loads((out / "results.json").read_text())
    fitted = [r["model"] for r in payload["rows"] if not r["error"]]
    assert fitted[:2] == ["popularity", "item-knn"] and len(fitted) >= 3, payload["rows"]
    assert set(fitted) <= {n for _, names, _, _ in demo.LINEUP for n in names}
    assert "top-5 unseen recommendations from" in text and "movies related to" in text
    assert text.count("(item ") == 5  # five recommendations, each with its item id
    assert (out / "learning_curves.png").exists() and (out / "report.html").exists()
    assert payload["command"].startswith("cofirec demo --data-dir") and "--quick" in payload["command"]
    assert any("Fell back to synthetic data" in n for n in payload["notes"])


def test_missing_models_are_skipped_with_a_note(monkeypatch):
    from cofirec.models import registry

    monkeypatch.setitem(registry.MODELS, "ghost", "cofirec.models.ghost_model_not_written:Ghost")
    monkeypatch.setattr(demo, "LINEUP", [("baseline", ["popularity"], {}, {}), ("imaginary", ["ghost"], {}, {})])
    chosen, skipped = demo.pick_models(quick=True)
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
