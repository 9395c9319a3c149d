"""compare(): beyond-accuracy columns, group breakdowns, and the cold section of a temporal split (hand-made data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.splits import split_data
from cofirec.evaluate.beyond import gini_exposure, item_genre_matrix, popularity_percentile
from cofirec.experiments.cold import new_user_metrics, new_user_rows
from cofirec.experiments.compare import compare, write_comparison_report


@pytest.fixture(scope="module")
def result(tiny_split):
    models = ["popularity", ("item-knn", {"k": 20}), ("mf", {"factors": 4, "epochs": 2})]
    return compare(models, tiny_split.train, tiny_split.test, protocol="ranking", k=(5, 10), keep_models=True, n_resamples=200)


def test_beyond_columns_match_the_library_functions(result, tiny_split):
    for row in result.rows:
        model, detail = result.models[row["model"]], result.details[row["model"]]
        rec = detail.recommended[:, :10]
        assert row["beyond"]["gini@10"] == pytest.approx(gini_exposure(rec, model.n_items))
        assert row["beyond"]["popularity_pct@5"] == pytest.approx(popularity_percentile(detail.recommended[:, :5], model.item_popularity_))
        # the synthetic items have genres, so every model's diversity is measured on them
        assert row["diversity_basis"] == "genres" and 0.0 <= row["beyond"]["diversity@10"] <= 1.0
    assert item_genre_matrix(result.models["popularity"], tiny_split.train.item_features) is not None
    assert result.rows[0]["beyond"]["popularity_pct@10"] > 90  # popularity recommends the most popular items


def test_group_breakdowns_add_up_to_the_overall_metric(result, tiny_split):
    for row in result.rows:
        groups = row["groups"]
        assert set(groups) == {"activity", "gender", "age"}
        n_users = len(result.details[row["model"]].users)
        for grouping, table in groups.items():
            assert sum(g["n_users"] for g in table) == n_users, grouping
            weighted = sum(g["n_users"] * g["ndcg@10"] for g in table) / n_users
            assert weighted == pytest.approx(row["ndcg@10"]), grouping
        assert groups["activity"][0]["group"].startswith("q1 (") and {g["group"] for g in groups["gender"]} <= {"F", "M", "unknown"}


def test_report_has_beyond_and_group_tables(result, tmp_path):
    page = write_comparison_report(result, tmp_path).read_text()
    assert 'id="beyond"' in page and "gini@10" in page and "popularity_pct@10" in page and "coverage@10" in page
    assert 'id="groups"' in page and page.count('class="groups"') == 3
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["rows"][2]["groups"]["gender"][0]["group"] in ("F", "M")
    assert "gini@10" in (tmp_path / "results.csv").read_text().splitlines()[0]


# ---------------------------------------------------------------------- temporal split: cold rows
def _timeline() -> Interactions:
    """Six users, six items; day 10 is the cut-off. u5 and u6 arrive after it; item i6 too."""
    rows = [
        # before the cut-off: u1-u4 on i1-i5 (i1 the most popular, then i2, i3)
        ("u1", "i1", 1), ("u1", "i2", 2), ("u1", "i3", 3),
        ("u2", "i1", 1), ("u2", "i2", 2), ("u2", "i4", 3),
        ("u3", "i1", 2), ("u3", "i3", 4), ("u3", "i5", 5),
        ("u4", "i1", 3), ("u4", "i2", 4),
        # after: warm rows of known users on known items
        ("u1", "i4", 11), ("u2", "i3", 12), ("u4", "i5", 13),
        # cold: new users on known items, a known user on a new item, a new user on a new item
        ("u5", "i1", 12), ("u5", "i4", 13), ("u6", "i5", 14), ("u3", "i6", 15), ("u6", "i6", 16),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user", "item", "day"])
    frame["timestamp"] = frame["day"] * 86400
    frame["rating"] = 4.0
    return Interactions.from_frame(frame.drop(columns="day"), name="timeline")


@pytest.fixture(scope="module")
def temporal():
    return split_data(_timeline(), "temporal", cutoff=10 * 86400)


def test_cold_counts_by_kind(temporal):
    res = compare(["popularity", "item-knn"], temporal, protocol="ranking", k=(1, 3), n_resamples=100)
    cold = res.cold
    assert cold["cutoff"] == temporal.info["cutoff"] and cold["policy"] == "separate"
    assert (cold["n_cold_rows"], cold["n_cold_users"], cold["n_cold_items"]) == (5, 2, 1)
    assert (cold["n_rows_new_user_known_item"], cold["n_rows_known_user_new_item"], cold["n_rows_new_user_new_item"]) == (3, 1, 1)
    assert "2 cold rows hold an item first seen after the cut-off" in cold["new_items_note"]
    assert cold["new_users"]["n_users"] == 2 and cold["new_users"]["n_rows"] == 3
    assert res.data["split"]["cutoff"] == temporal.info["cutoff"]
    assert any("train before" in n for n in res.notes)
    # popularity's list for a newcomer is i1, then i2 (3 and 3 ratings... i1 has 4), i3: u5 holds i1 and i4, u6 holds i5
    pop = cold["new_users"]["metrics"]["popularity"]
    assert pop["hr@1"] == pytest.approx(0.5)  # u5 gets i1 first; u6 does not
    assert pop["recall@3"] == pytest.approx((1 / 2 + 0) / 2)
    idcg_u5 = 1 + 1 / np.log2(3)
    assert pop["ndcg@3"] == pytest.approx((1 / idcg_u5 + 0) / 2)


def test_new_user_metrics_hand_computed(temporal):
    from cofirec.models.registry import create_model

    model = create_model("popularity").fit(temporal.train)
    rows = new_user_rows(temporal.train, temporal.cold)
    assert sorted(rows.user_map.to_raw(rows.users).tolist()) == ["u5", "u5", "u6"]
    out = new_user_metrics(model, rows, (1, 3))
    assert out["hr@3"] == pytest.approx(0.5) and out["hr@1"] == pytest.approx(0.5)
    assert new_user_metrics(model, rows.subset(np.zeros(len(rows), dtype=bool)), (3,)) == {}


def test_cold_drop_and_non_temporal_splits(tiny_split):
    dropped = split_data(_timeline(), "temporal", cutoff=10 * 86400, cold="drop")
    res = compare(["popularity"], dropped, k=(3,), n_resamples=0)
    assert res.cold["n_dropped"] == 5 and "dropped" in res.cold["note"] and "new_users" not in res.cold
    assert compare(["popularity"], tiny_split, k=(3,), n_resamples=0).cold is None


def test_cold_section_in_report(temporal, tmp_path):
    res = compare(["popularity"], temporal, k=(1, 3), n_resamples=100)
    page = write_comparison_report(res, tmp_path).read_text()
    assert 'id="cold"' in page and "n_rows_known_user_new_item" in page and "New users (2)" in page
    assert json.loads((tmp_path / "results.json").read_text())["cold"]["n_cold_rows"] == 5
