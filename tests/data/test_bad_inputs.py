"""The bad-input corpus (tests/data/bad_inputs/): every file gives a clear DataError naming the file and the
1-based line, or follows the documented policy (skip mode, duplicates, negative ratings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cofirec.data.readers import read_ratings_file
from cofirec.errors import DataError

CORPUS = Path(__file__).resolve().parent / "bad_inputs"

# file -> (first bad line or None for file-level problems, message fragment,
#          (lines skipped, rows kept) with on_bad_lines="skip", or None when skipping cannot help)
ERRORS = {
    "wrong_field_count.tsv": (3, "expected 4 fields, got 3", (1, 3)),
    "extra_field.csv": (4, "expected 4 fields, got 5", (1, 3)),
    "non_numeric_rating.csv": (3, "rating is empty or not a number", (1, 2)),
    "nan_rating.tsv": (2, "rating is empty or not a number", (1, 2)),
    "inf_rating.csv": (5, "rating is infinite", (1, 3)),
    "empty_rating.psv": (2, "rating is empty or not a number", (1, 2)),
    "absurd_rating.tsv": (3, "absurd rating", (1, 2)),
    "empty.csv": (None, "file is empty", None),
    "blank_lines_only.txt": (None, "file is empty", None),
    "header_only.csv": (1, "a header but no data lines", None),
    "unknown_header.csv": (1, "no recognisable user and item columns", None),
    "missing_item_column.csv": (1, "no recognisable user and item columns", None),
    "latin1_text.csv": (3, "not valid UTF-8", None),
    "binary_nul.dat": (2, "NUL byte", None),
    "no_separator.txt": (1, "cannot detect the field separator", None),
    "empty_user_id.csv": (4, "empty user id", (1, 2)),
    "bad_timestamp.tsv": (3, "timestamp is empty or not a number", (1, 3)),
    "fractional_timestamp.csv": (2, "not a whole number of seconds", (1, 1)),
    "too_many_fields_no_header.txt": (1, "7 fields but no header", None),
    "mixed_separators.csv": (2, "expected 3 fields, got 1", (1, 2)),
    "crlf_bad_line.csv": (3, "expected 4 fields, got 3", (1, 2)),
    "gzip_named_csv.csv": (None, "gzip-compressed", None),
    "utf16.csv": (1, "UTF-16", None),
    "whitespace_line.tsv": (2, "expected 3 fields, got 1", (1, 2)),
    "blank_lines_between.tsv": (7, "expected 3 fields, got 2", (1, 3)),
    "quoted_ids.csv": (4, "expected 3 fields, got 2", (1, 2)),
    "rating_and_label.tsv": (1, "pick one with --columns / columns=: user,item,rating,-,timestamp reads 'rating'", None),
}


def test_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file()}
    assert len(on_disk) >= 20
    assert set(ERRORS) <= on_disk
    assert on_disk - set(ERRORS) == {"duplicate_pairs.tsv", "negative_rating.csv"}


@pytest.mark.parametrize("file", sorted(ERRORS))
def test_error_names_file_and_line(file):
    line, fragment, _ = ERRORS[file]
    path = CORPUS / file
    with pytest.raises(DataError) as info:
        read_ratings_file(path)
    msg = str(info.value)
    assert str(path) in msg
    assert fragment in msg
    if line is not None:
        assert f"line {line}:" in msg
    assert "\n" not in msg and "Traceback" not in msg


@pytest.mark.parametrize("file", sorted(f for f, v in ERRORS.items() if v[2] is not None))
def test_skip_mode_drops_only_bad_lines(file):
    line, _, (n_bad, n_kept) = ERRORS[file]
    path = CORPUS / file
    with pytest.warns(UserWarning, match=rf"skipped {n_bad} bad line\(s\); first: line {line}:"):
        data = read_ratings_file(path, on_bad_lines="skip")
    assert data.meta["skipped_lines"] == n_bad
    assert len(data) == n_kept  # every other line with data is kept


@pytest.mark.parametrize("file", sorted(f for f, v in ERRORS.items() if v[2] is None))
def test_skip_mode_cannot_rescue_file_level_problems(file):
    with pytest.raises(DataError, match="line|empty|gzip"):
        read_ratings_file(CORPUS / file, on_bad_lines="skip")


def test_duplicates_keep_latest_with_warning():
    path = CORPUS / "duplicate_pairs.tsv"
    with pytest.warns(UserWarning, match=r"duplicate_pairs.tsv: 2 duplicate \(user, item\) pairs"):
        data = read_ratings_file(path)
    frame = data.to_frame().sort_values(["user", "item"]).reset_index(drop=True)
    # user 1 / item 10 appears at timestamps 100, 300, 200: the rating at 300 (2) wins
    assert frame.to_dict("list") == {"user": [1, 2], "item": [10, 10], "rating": [2.0, 5.0], "timestamp": [300, 100]}
    assert data.meta["duplicates_dropped"] == 2


def test_negative_ratings_are_allowed():
    data = read_ratings_file(CORPUS / "negative_rating.csv")
    np.testing.assert_allclose(np.sort(data.ratings), [-7.5, 0.0, 9.25])


def test_latin1_loads_when_asked():
    data = read_ratings_file(CORPUS / "latin1_text.csv", encoding="latin-1")
    assert sorted(data.item_map.ids.tolist()) == ["Amélie", "Toy Story"]


def test_wrong_separator_given():
    path = CORPUS / "nan_rating.tsv"
    with pytest.raises(DataError, match=r"nan_rating.tsv, line 1: only one field with separator comma; the file looks tab-separated"):
        read_ratings_file(path, sep=",")


def test_unknown_and_excess_column_names(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("1,10,4\n2,11,5\n")
    with pytest.raises(DataError, match=r"r.csv: unknown column name 'film'"):
        read_ratings_file(path, columns=["user", "film", "rating"])
    with pytest.raises(DataError, match=r"r.csv, line 1: --columns / columns= names 4 columns but the line has 3 fields"):
        read_ratings_file(path, columns=["user", "item", "rating", "timestamp"])
    with pytest.raises(DataError, match=r"no item column"):
        read_ratings_file(path, columns=["user", "-", "rating"])


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_ratings_file(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_ratings_file(tmp_path)


def test_parquet_bad_row_and_damaged_file(tmp_path):
    good = tmp_path / "r.parquet"
    pd.DataFrame({"userId": [1, 1, 2], "movieId": [10, 11, 10], "rating": [4.0, np.nan, 3.0]}).to_parquet(good)
    with pytest.raises(DataError, match=r"r.parquet, row 2: rating is empty or not a number"):
        read_ratings_file(good)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert len(read_ratings_file(good, on_bad_lines="skip")) == 2
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataError, match=r"broken.parquet: cannot read Parquet"):
        read_ratings_file(broken)


def test_unrecognised_header_tells_how_to_name_the_columns(tmp_path):
    """The fix is named for library users (columns=) and command-line users (--columns) alike."""
    path = tmp_path / "h.csv"
    path.write_text("a,b,c\n1,2,5\n")
    with pytest.raises(DataError, match=r"h.csv, line 1: header .* no recognisable user and item columns.*--columns user,item"):
        read_ratings_file(path)
    wide = tmp_path / "w.tsv"
    wide.write_text("1\t2\t5\t9\t7\n")
    with pytest.raises(DataError, match=r"5 fields but no header.*--columns.*columns="):
        read_ratings_file(wide)


def test_timestamp_beyond_64_bit_is_an_error_not_a_wrapped_value(tmp_path):
    path = tmp_path / "ts.tsv"
    path.write_text("1\t2\t4\t881250949\n2\t3\t5\t99999999999999999999\n")
    with pytest.raises(DataError, match=r"ts.tsv, line 2: timestamp out of range"):
        read_ratings_file(path)
    with pytest.warns(UserWarning, match="skipped 1 bad line"):
        data = read_ratings_file(path, on_bad_lines="skip")
    assert len(data) == 1 and int(data.timestamps[0]) == 881250949
