"""read_ratings_file: separators, headers, column mapping, Parquet, gzip, encodings, and the real files that must
load with no flags (ml-100k/u1.base, the NCF *.rating files, headered CSV)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from cofirec.data.readers import normalize_column_name, read_ratings_file, write_ratings_file
from cofirec.errors import DataError


def _frame(data) -> list[tuple]:
    return sorted(map(tuple, data.to_frame().itertuples(index=False)))


ROWS = [(1, 10, 4.0, 100), (1, 11, 3.5, 101), (2, 10, 5.0, 102)]


@pytest.mark.parametrize(
    "text",
    [
        "1\t10\t4\t100\n1\t11\t3.5\t101\n2\t10\t5\t102\n",
        "1,10,4,100\n1,11,3.5,101\n2,10,5,102\n",
        "1::10::4::100\n1::11::3.5::101\n2::10::5::102\n",
        "1|10|4|100\n1|11|3.5|101\n2|10|5|102\n",
        "1;10;4;100\n1;11;3.5;101\n2;10;5;102\n",
        "1 10 4 100\n1 11 3.5 101\n2 10 5 102\n",
        "userId,movieId,rating,timestamp\r\n1,10,4.0,100\r\n1,11,3.5,101\r\n2,10,5.0,102\r\n",
        "user_id\titem_id\trating\ttimestamp\n1\t10\t4\t100\n1\t11\t3.5\t101\n2\t10\t5\t102\n",
        "\ufeffUser ID,Item,Score,Time\n1,10,4,100\n1,11,3.5,101\n2,10,5,102\n",
        '"userId","movieId","rating","timestamp"\n1,10,4,100\n1,11,3.5,101\n2,10,5,102\n',
    ],
    ids=["tab", "comma", "double-colon", "pipe", "semicolon", "space", "csv-header-crlf", "tsv-header", "bom-aliases", "quoted-header"],
)
def test_separators_and_headers_detected(tmp_path, text):
    path = tmp_path / "ratings.txt"
    path.write_bytes(text.encode("utf-8"))
    data = read_ratings_file(path)
    assert _frame(data) == ROWS
    assert data.kind == "explicit" and data.name == "ratings.txt"
    assert data.user_map.is_integer and data.item_map.is_integer


def test_two_columns_is_implicit(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("1\t10\n1\t11\n2\t10\n")
    data = read_ratings_file(path)
    assert data.kind == "implicit" and data.timestamps is None
    assert np.all(data.ratings == 1.0) and len(data) == 3


def test_columns_override_order_and_skip(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("10,1,x,4\n11,1,y,3.5\n10,2,z,5\n")
    data = read_ratings_file(path, columns=["item", "user", "-", "rating"])
    assert _frame(data) == [(1, 10, 4.0), (1, 11, 3.5), (2, 10, 5.0)]
    # fewer names than fields: the rest is ignored
    only_pairs = read_ratings_file(path, columns=["movieId", "userId"])
    assert only_pairs.kind == "implicit" and len(only_pairs) == 3


def test_header_and_sep_flags_override_detection(tmp_path):
    path = tmp_path / "r.txt"
    path.write_text("7,8,9\n1,10,4\n2,11,5\n")
    assert len(read_ratings_file(path)) == 3  # numeric first line: no header
    data = read_ratings_file(path, header=True, columns=["user", "item", "rating"])
    assert _frame(data) == [(1, 10, 4.0), (2, 11, 5.0)]
    semi = tmp_path / "semi.txt"
    semi.write_text("1;10;4\n2;11;5\n")
    assert len(read_ratings_file(semi, sep=";")) == 2


def test_string_ids_and_extra_header_columns(tmp_path):
    path = tmp_path / "tags.csv"
    path.write_text("userId,movieId,tag,timestamp\nalice,m1,funny,5\nbob,m1,dark,6\nalice,m2,odd,7\n")
    with pytest.warns(UserWarning, match=r"tags.csv: ignored column\(s\) \['tag'\]"):
        data = read_ratings_file(path)
    assert data.kind == "implicit" and data.meta["ignored_columns"] == ["tag"]
    assert data.user_map.ids.tolist() == ["alice", "bob"]
    assert sorted(data.to_frame()["timestamp"].tolist()) == [5, 6, 7]


def test_iso_dates_as_timestamps(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("user,item,rating,date\n1,10,4,1970-01-02\n2,10,3,1970-01-01T00:01:00\n")
    data = read_ratings_file(path)
    assert sorted(data.timestamps.tolist()) == [60, 86400]


def test_mixed_int_and_string_ids_fall_back_to_strings(tmp_path):
    lines = [f"{u}\t{u % 7}\t3" for u in range(1, 80)] + ["x99\t1\t4"]
    path = tmp_path / "mixed.tsv"
    path.write_text("\n".join(lines) + "\n")
    data = read_ratings_file(path)
    assert not data.user_map.is_integer and "x99" in data.user_map.ids.tolist() and len(data) == 80


def test_parquet_and_gzip(tmp_path):
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10], "rating": [4.0, 3.5, 5.0], "timestamp": [100, 101, 102]})
    pq = tmp_path / "r.parquet"
    frame.to_parquet(pq)
    assert _frame(read_ratings_file(pq)) == ROWS
    gz = tmp_path / "r.tsv.gz"
    gz.write_bytes(gzip.compress(b"1\t10\t4\t100\n1\t11\t3.5\t101\n2\t10\t5\t102\n"))
    assert _frame(read_ratings_file(gz)) == ROWS


def test_write_then_read_round_trip(tmp_path):
    from cofirec.data.synthetic import make_synthetic

    data = make_synthetic(n_users=40, n_items=30, seed=3)
    for name, kwargs in [("a.tsv", {}), ("b.csv", {"sep": ",", "header": True}), ("c.parquet", {})]:
        back = read_ratings_file(write_ratings_file(data, tmp_path / name, **kwargs))
        assert _frame(back) == _frame(data)


def test_normalize_column_name():
    assert normalize_column_name("userId") == normalize_column_name("User ID") == normalize_column_name("user_id") == "user"
    assert normalize_column_name("movieId") == normalize_column_name("item-id") == "item"
    assert normalize_column_name("rating") == "rating" and normalize_column_name("Timestamp") == "timestamp"
    assert normalize_column_name("genre") is None


def test_on_bad_lines_must_be_known(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("1,2,3\n")
    with pytest.raises(DataError, match="on_bad_lines"):
        read_ratings_file(path, on_bad_lines="ignore")


# ---------------------------------------------------------------------- real files, no flags
@pytest.mark.realdata
def test_u1_base_loads_with_no_flags(real_data):
    data = read_ratings_file(real_data("ml-100k/u1.base"))
    assert len(data) == 80_000 and data.n_users == 943
    assert data.kind == "explicit" and set(np.unique(data.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert data.timestamps is not None and data.timestamps.min() > 8e8


@pytest.mark.realdata
def test_ncf_files_load_with_no_flags(real_data):
    train = read_ratings_file(real_data("ncf-ml-1m-half/ml-1m-half.train.rating"))
    test = read_ratings_file(real_data("ncf-ml-1m-half/ml-1m-half.test.rating"))
    assert len(train) == 484_651 and train.n_users == 2_999
    assert len(test) == 2_999 and test.user_map.ids.min() == 0 and test.user_map.ids.max() == 2_998
    assert train.item_map.ids.max() <= 3_614


@pytest.mark.realdata
def test_headered_latest_csv_loads_with_no_flags(real_data):
    data = read_ratings_file(real_data("ml-latest-small/ratings.csv"))
    assert (data.n_users, data.n_items, len(data)) == (610, 9_724, 100_836)
    assert 0.5 in data.ratings and 4.5 in data.ratings  # half stars
    assert data.timestamps.min() == 828_124_615 and data.timestamps.max() == 1_537_799_250


@pytest.mark.realdata
def test_ml_1m_ratings_dat_loads_with_no_flags(real_data):
    data = read_ratings_file(real_data("ml-1m-half/ratings.dat"))
    assert (data.n_users, data.n_items, len(data)) == (2_999, 3_615, 487_650)
    values, counts = np.unique(data.ratings, return_counts=True)
    assert counts.tolist() == [27_472, 53_838, 127_216, 170_579, 108_545]


def test_double_colon_with_colons_inside_fields_and_bad_line(tmp_path):
    path = tmp_path / "ratings.dat"
    path.write_text("a:1::10::5::100\nb::10::3::101\n")
    data = read_ratings_file(path)
    assert sorted(data.user_map.ids.tolist()) == ["a:1", "b"] and len(data) == 2
    bad = tmp_path / "bad.dat"
    bad.write_text("1::10::5::100\n1::11::3\n2::10::4::102\n")
    with pytest.raises(DataError, match=r"bad.dat, line 2: expected 4 fields, got 3: '1::11::3'"):
        read_ratings_file(bad)
