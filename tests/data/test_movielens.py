"""MovieLens loaders on the real copies in ../shared/data (skipped when absent) and on tiny hand-made folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cofirec.data.movielens import (
    detect_layout,
    load_metadata,
    load_movielens,
    load_movielens_1m,
    load_movielens_100k,
    load_movielens_latest,
)
from cofirec.errors import DataError


@pytest.fixture(scope="module")
def ml100k(real_data):
    return load_movielens_100k(real_data("ml-100k"))


@pytest.mark.realdata
def test_ml100k_counts_and_features(ml100k):
    data = ml100k
    assert (data.n_users, data.n_items, len(data)) == (943, 1_682, 100_000)
    assert data.name == "ml-100k" and data.kind == "explicit"
    values, counts = np.unique(data.ratings, return_counts=True)
    assert counts.tolist() == [6_110, 11_370, 27_145, 34_174, 21_201]
    uf, itf = data.user_features, data.item_features
    assert list(uf.columns) == ["age", "gender", "occupation", "zip"] and len(uf) == 943
    assert uf.loc[1].tolist() == [24, "M", "technician", "85711"]
    assert set(uf["gender"]) == {"M", "F"} and uf["occupation"].nunique() == 21
    assert list(itf.columns) == ["title", "year", "genres"] and len(itf) == 1_682
    assert itf.loc[1, "title"] == "Toy Story (1995)" and itf.loc[1, "year"] == 1995
    assert itf.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert itf.loc[2, "genres"] == "Action|Adventure|Thriller"
    titles = data.item_titles()
    assert len(titles) == 1_682 and (titles != "").all()


@pytest.mark.realdata
def test_ml100k_latin1_titles_decoded(ml100k):
    titles = set(ml100k.item_features["title"])
    assert "Misérables, Les (1995)" in titles
    assert "C'est arrivé près de chez vous (1992)" in titles
    assert not any("\ufffd" in t for t in titles)


@pytest.mark.realdata
def test_ml100k_split_file_keeps_features(real_data):
    data = load_movielens_100k(real_data("ml-100k"), ratings_file="u1.test")
    assert len(data) == 20_000 and data.name == "ml-100k/u1.test"
    assert data.item_features is not None and data.user_features is not None


@pytest.mark.realdata
def test_ml1m_half_counts_features_and_latin1(real_data):
    data = load_movielens_1m(real_data("ml-1m-half"))
    assert (data.n_users, data.n_items, len(data)) == (2_999, 3_615, 487_650)
    assert data.name == "ml-1m-half"
    uf, itf = data.user_features, data.item_features
    assert len(uf) == 6_040 and len(itf) == 3_883
    assert uf.loc[1].tolist() == [1, "F", "K-12 student", "48067"]
    assert uf.loc[2, "occupation"] == "self-employed" and uf.loc[2, "age"] == 56
    assert itf.loc[1].tolist() == ["Toy Story (1995)", 1995, "Animation|Children's|Comedy"]
    assert itf["year"].notna().all()
    assert any("é" in t for t in itf["title"]) and not any("\ufffd" in t for t in itf["title"])
    assert set(data.item_map.ids) <= set(itf.index)


@pytest.mark.realdata
def test_ml_latest_small_counts_half_stars_and_titles(real_data):
    data = load_movielens_latest(real_data("ml-latest-small"))
    assert (data.n_users, data.n_items, len(data)) == (610, 9_724, 100_836)
    assert np.array_equal(np.unique(data.ratings), np.arange(1, 11) / 2)
    assert data.user_features is None
    itf = data.item_features
    assert len(itf) == 9_742 and itf.loc[1, "genres"] == "Adventure|Animation|Children|Comedy|Fantasy"
    assert itf.loc[1, "year"] == 1995 and not itf["title"].str.endswith("\r").any()
    assert "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)" in set(itf["title"])
    assert (itf["genres"] == "(no genres listed)").sum() == 0


@pytest.mark.realdata
@pytest.mark.parametrize("folder,layout", [("ml-100k", "ml-100k"), ("ml-1m-half", "ml-1m"), ("ml-latest-small", "ml-latest")])
def test_detect_layout_and_metadata(folder, layout, real_data):
    path = real_data(folder)
    assert detect_layout(path) == layout
    users, items = load_metadata(path)
    assert items is not None and {"title", "year", "genres"} <= set(items.columns)
    assert (users is None) == (layout == "ml-latest")


# ---------------------------------------------------------------------- tiny hand-made folders
def _write(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_tiny_100k_layout(tmp_path):
    flags = "|".join(["0"] * 18)
    folder = _write(
        tmp_path / "mini",
        {
            "u.data": b"1\t1\t5\t881250949\n2\t1\t3\t881250950\n2\t2\t4\t881250951\n",
            "u.item": f"1|Am\u00e9lie (2001)|01-Jan-2001||http://x|0|{flags}\n2|Unknown||||1|{flags}\n".encode("latin-1"),
            "u.user": b"1|24|M|technician|85711\n2|53|F|other|T8H1N\n",
        },
    )
    data = load_movielens(folder)
    assert data.item_features.loc[1].tolist() == ["Amélie (2001)", 2001, ""]
    assert data.item_features.loc[2, "genres"] == "unknown" and pd.isna(data.item_features.loc[2, "year"])
    assert data.user_features.loc[2, "zip"] == "T8H1N"


def test_tiny_1m_layout_bad_metadata_line(tmp_path):
    folder = _write(
        tmp_path / "m1",
        {
            "ratings.dat": b"1::10::5::978300760\n2::10::3::978300761\n",
            "movies.dat": b"10::Heat (1995)::Action|Crime\n11::Broken\n",
            "users.dat": b"1::F::1::10::48067\n2::M::56::16::70072\n",
        },
    )
    with pytest.raises(DataError, match=r"movies.dat, line 2: expected 3 fields"):
        load_movielens_1m(folder)


def test_not_a_movielens_folder(tmp_path):
    with pytest.raises(DataError, match="not a MovieLens folder"):
        load_movielens(tmp_path)
    with pytest.raises(DataError, match="no MovieLens metadata"):
        load_metadata(tmp_path)
    with pytest.raises(DataError, match="no u.data here"):
        load_movielens_100k(tmp_path)
