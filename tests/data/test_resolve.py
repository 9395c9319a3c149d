"""load_dataset: the three forms (name, MovieLens folder, ratings file), search order, and dataset_status."""

from __future__ import annotations

from pathlib import Path

import pytest

from cofirec.data.resolve import dataset_status, load_dataset, resolve_source, search_dirs
from cofirec.errors import DataError, DatasetNotFoundError


@pytest.fixture
def data_dir(real_data) -> Path:
    """The folder holding the MovieLens copies (skips when ml-100k is absent)."""
    return real_data("ml-100k/u.data").parents[1]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COFIREC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COFIREC_DATA", raising=False)


def _mini_1m(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "ratings.dat").write_text("1::10::5::978300760\n2::10::3::978300761\n2::11::4::978300762\n")
    (folder / "movies.dat").write_text("10::Heat (1995)::Action|Crime\n11::Net, The (1995)::Sci-Fi|Thriller\n")
    (folder / "users.dat").write_text("1::F::1::10::48067\n2::M::56::16::70072\n")
    return folder


@pytest.mark.realdata
def test_folder_name_in_data_dir(data_dir):
    data = load_dataset("ml-1m-half", data_dir=data_dir)
    assert (data.n_users, data.n_items, len(data)) == (2_999, 3_615, 487_650)
    assert data.item_features is not None and data.user_features is not None


@pytest.mark.realdata
def test_known_name_found_locally_without_download(data_dir):
    data = load_dataset("ml-100k", data_dir=data_dir, download=False)
    assert (data.n_users, data.n_items, len(data)) == (943, 1_682, 100_000)


@pytest.mark.realdata
def test_file_in_movielens_folder_gets_its_features(data_dir):
    data = load_dataset("ml-100k/u1.base", data_dir=data_dir)
    assert len(data) == 80_000 and data.name == "ml-100k/u1.base"
    assert data.item_features.loc[1, "title"] == "Toy Story (1995)"


@pytest.mark.realdata
def test_plain_path_and_ncf_file(data_dir):
    data = load_dataset(data_dir / "ncf-ml-1m-half" / "ml-1m-half.test.rating")
    assert len(data) == 2_999 and data.item_features is None


def test_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    a, b = _mini_1m(tmp_path / "a" / "mini"), _mini_1m(tmp_path / "b" / "mini")
    (b / "ratings.dat").write_text("7::10::5::978300760\n")
    monkeypatch.setenv("COFIREC_DATA", str(tmp_path / "b"))
    assert resolve_source("mini", data_dir=tmp_path / "a") == a
    assert resolve_source("mini") == b
    assert load_dataset("mini").user_map.ids.tolist() == [7]
    dirs = search_dirs(tmp_path / "a")
    assert dirs == [tmp_path / "a", tmp_path / "b", tmp_path / "cache"]


def test_folder_layout_and_columns_for_files(tmp_path):
    folder = _mini_1m(tmp_path / "m")
    data = load_dataset(folder)
    assert data.name == "m" and data.item_features.loc[11, "genres"] == "Sci-Fi|Thriller"
    with pytest.raises(DataError, match="columns= applies to a ratings file"):
        load_dataset(folder, columns=["user", "item"])
    plain = tmp_path / "plain.csv"
    plain.write_text("10,1,x\n11,2,y\n")
    assert load_dataset(plain, columns=["item", "user", "-"]).user_map.ids.tolist() == [1, 2]


def test_skip_mode_passes_through(tmp_path):
    path = tmp_path / "r.tsv"
    path.write_text("1\t10\t4\n1\t11\n2\t10\t5\n")
    with pytest.raises(DataError, match=r"r.tsv, line 2"):
        load_dataset(path)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert load_dataset(path, on_bad_lines="skip").meta["skipped_lines"] == 1


def test_unusable_folder_and_unknown_name(tmp_path):
    (tmp_path / "stuff").mkdir()
    with pytest.raises(DataError, match="not a dataset folder"):
        load_dataset(tmp_path / "stuff")
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("ml-unknown", data_dir=tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "ml-unknown") in msg and "ml-100k" in msg


def test_missing_known_name_without_download_says_where(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("ml-100k", data_dir=tmp_path, download=False)
    msg = str(info.value)
    assert "https://files.grouplens.org/datasets/movielens/ml-100k.zip" in msg
    assert str(tmp_path / "cache" / "ml-100k" / "u.data") in msg


def test_dataset_status(tmp_path):
    _mini_1m(tmp_path / "data" / "ml-1m")
    _mini_1m(tmp_path / "data" / "ml-1m-half")
    rows = {r["name"]: r for r in dataset_status(tmp_path / "data")}
    assert rows["ml-1m"]["present"] and rows["ml-1m"]["path"] == str(tmp_path / "data" / "ml-1m")
    assert not rows["ml-100k"]["present"] and rows["ml-100k"]["path"] is None
    assert rows["ml-1m-half"] == {
        "name": "ml-1m-half", "present": True, "path": str(tmp_path / "data" / "ml-1m-half"),
        "known": False, "url": None, "layout": "ml-1m", "ratings": 0,
    }  # fmt: skip
    assert [r["name"] for r in dataset_status(tmp_path / "nowhere")] == ["ml-100k", "ml-1m", "ml-latest-small"]
