"""One id policy everywhere (issue 10): file readers (fast, careful and Parquet paths), ``from_frame``,
``IdMap`` look-ups, NCF negatives files, MovieLens metadata, evaluation and the command line.

Policy (README "Ids", ``cofirec.data.idmap``): an id column is int64 only when every value is a plain decimal
integer that fits int64 (no leading zeros); integral floats (``196.0``) are those integers, with a warning;
otherwise the column is strings. Missing ids and fractional numbers are errors. Look-ups convert each queried
value on its own.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofirec.data.dataset import Interactions
from cofirec.data.idmap import IdMap, parse_ids
from cofirec.data.movielens import load_metadata
from cofirec.data.negatives import read_ncf_negatives
from cofirec.data.readers import read_ratings_file
from cofirec.errors import DataError
from cofirec.evaluate.runner import evaluate
from cofirec.models import create_model

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs" / "ids"


def _train_rows() -> list[tuple[int, int, int, int]]:
    """20 users x 10 items each out of 30 (user u has items u+1..u+10, mod 30); the corpus test files hold
    item u+11 for each user and negatives u+13..u+16, all unseen in training."""
    return [(u, (u + k) % 30 + 1, 1 + (u + k) % 5, 881250000 + 10 * u + k) for u in range(1, 21) for k in range(10)]


@pytest.fixture
def train_file(tmp_path) -> Path:
    path = tmp_path / "train.tsv"
    path.write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in _train_rows()))
    return path


@pytest.fixture
def int_test_file(tmp_path) -> Path:
    """The corpus' float_ids.tsv written with plain integer ids."""
    frame = pd.read_csv(CORPUS / "float_ids.tsv", sep="\t")
    path = tmp_path / "test_int.tsv"
    frame.astype(np.int64).to_csv(path, sep="\t", index=False)
    return path


def _quiet_read(path, **kw) -> Interactions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_ratings_file(path, **kw)


# ---------------------------------------------------------------------- file readers
def test_leading_zeros_keep_ids_apart():
    data = read_ratings_file(CORPUS / "leading_zero_ids.tsv")
    assert sorted(data.user_map.ids.tolist()) == ["007", "07", "7"]
    assert data.user_map.lookup(["007", "07", "7"]).tolist() == [0, 1, 2]


def test_leading_zeros_keep_ids_apart_beyond_the_sampled_head(tmp_path):
    """The separator/type sniffer sees only the first lines; a 007 after them must not become 7."""
    path = tmp_path / "late.tsv"
    path.write_text("".join(f"{u}\t{u % 7 + 1}\t3\n" for u in range(1, 3000)) + "0042\t1\t5\n")
    data = read_ratings_file(path)
    assert not data.user_map.is_integer
    assert data.user_map.lookup(["0042"]).tolist() != [-1]
    assert data.user_map.lookup(["42"])[0] != data.user_map.lookup(["0042"])[0]


def test_leading_zeros_on_the_typed_fast_path(tmp_path):
    path = tmp_path / "big.tsv"
    path.write_text("".join(f"{u}\t{u % 5 + 1}\t3\t100\n" for u in range(1, 60)) + "07\t1\t5\t100\n-0\t2\t4\t100\n")
    data = read_ratings_file(path)
    assert {"07", "7", "-0", "0"} - set(data.user_map.ids.tolist()) == {"0"}
    plain = tmp_path / "plain.tsv"
    plain.write_text("".join(f"{u}\t{u % 5 + 1}\t3\t100\n" for u in range(0, 60)))
    assert read_ratings_file(plain).user_map.is_integer


def _write_path_variant(tmp_path, variant: str, rows: list[tuple[str, str, str]]) -> Path:
    """The same rows as a file that the reader takes through the given path."""
    if variant == "parquet":
        path = tmp_path / "r.parquet"
        pd.DataFrame(rows, columns=["user", "item", "rating"]).assign(rating=lambda f: f.rating.astype(float)).to_parquet(path)
        return path
    sep = "::" if variant == "double-colon" else "\t"
    text = "".join(sep.join(r) + "\n" for r in rows)
    if variant == "careful":  # a bad line sends the file to the line-by-line parser (read with skip)
        text += "1\t2\n"
    if variant == "gzip":
        import gzip

        path = tmp_path / "r.tsv.gz"
        path.write_bytes(gzip.compress(text.encode()))
        return path
    path = tmp_path / "r.dat"
    path.write_text(text)
    return path


@pytest.mark.filterwarnings("ignore:.*skipped 1 bad line")
@pytest.mark.parametrize("variant", ["fast", "double-colon", "gzip", "careful", "parquet"])
def test_every_reader_path_follows_the_policy(tmp_path, variant):
    zeros = _write_path_variant(tmp_path, variant, [("007", "1", "5"), ("7", "2", "4"), ("07", "3", "3")])
    data = _quiet_read(zeros, on_bad_lines="skip")
    assert sorted(data.user_map.ids.tolist()) == ["007", "07", "7"] and data.item_map.is_integer
    (tmp_path / "r.dat").unlink(missing_ok=True)
    floats = _write_path_variant(tmp_path, variant, [("196.0", "1", "5"), ("196", "2", "4"), ("3.0", "3", "3")])
    with pytest.warns(UserWarning, match="user ids written as floats"):
        data = read_ratings_file(floats, on_bad_lines="skip")
    assert data.user_map.ids.tolist() == [3, 196]


def test_huge_ids_are_kept_exact_not_cast_to_int64_min():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "invalid value encountered in cast"
        data = read_ratings_file(CORPUS / "huge_ids.tsv")
    assert sorted(data.user_map.ids.tolist()) == ["12345678901234567890123", "12345678901234567890124", "9223372036854775808"]
    assert data.n_users == 3 and len(data) == 4


def test_int64_bounds_are_integers():
    ids = parse_ids(["9223372036854775807", "-9223372036854775808", "0"])
    assert ids.dtype == np.int64 and ids.tolist() == [2**63 - 1, -(2**63), 0]
    assert parse_ids(["9223372036854775808", "1"]).tolist() == ["9223372036854775808", "1"]


def test_integer_and_float_spelling_are_one_user_with_a_warning():
    with pytest.warns(UserWarning, match=r"int_and_float_ids.tsv: user ids written as floats \(e.g. '1.0'\) were read as whole numbers \(1\)"):
        data = read_ratings_file(CORPUS / "int_and_float_ids.tsv")
    assert data.user_map.is_integer
    assert data.user_map.ids.tolist() == [1, 2]
    assert len(data) == 3


def test_float_ids_as_pandas_writes_them_are_integers():
    with pytest.warns(UserWarning, match="ids written as floats"):
        data = read_ratings_file(CORPUS / "float_ids.tsv")
    assert data.user_map.is_integer and data.item_map.is_integer
    assert data.user_map.ids.tolist() == list(range(1, 21))


def test_fractional_ids_are_an_error_naming_the_value():
    with pytest.raises(DataError, match=r"fractional_ids.tsv: user id '4.5' at row 1 is not a whole number") as info:
        read_ratings_file(CORPUS / "fractional_ids.tsv")
    assert "\n" not in str(info.value)


def test_one_text_id_makes_a_string_column_that_still_matches_integers():
    data = read_ratings_file(CORPUS / "one_text_id.tsv")
    assert not data.user_map.is_integer
    assert "bob" in data.user_map.ids.tolist() and "5" in data.user_map.ids.tolist()
    model_vocab = IdMap(np.arange(1, 21))
    idx = model_vocab.lookup(data.user_map.ids)
    assert (idx >= 0).sum() == 20 and idx[data.user_map.ids.tolist().index("bob")] == -1


def test_parquet_follows_the_same_policy(tmp_path):
    floats = tmp_path / "floats.parquet"
    pd.DataFrame({"user": [1.0, 2.0, 1.0], "item": [1, 2, 3], "rating": [5.0, 4.0, 3.0]}).to_parquet(floats)
    with pytest.warns(UserWarning, match="user ids written as floats"):
        data = read_ratings_file(floats)
    assert data.user_map.ids.tolist() == [1, 2]
    zeros = tmp_path / "zeros.parquet"
    pd.DataFrame({"user": ["007", "7", "07"], "item": [1, 2, 3]}).to_parquet(zeros)
    assert sorted(read_ratings_file(zeros).user_map.ids.tolist()) == ["007", "07", "7"]
    missing = tmp_path / "missing.parquet"
    pd.DataFrame({"user": ["a", None], "item": [1, 2]}).to_parquet(missing)
    with pytest.raises(DataError, match="row 2: empty user id"):
        read_ratings_file(missing)


def test_written_string_ids_read_back_the_same(tmp_path):
    from cofirec.data.readers import write_ratings_file

    data = read_ratings_file(CORPUS / "leading_zero_ids.tsv")
    back = read_ratings_file(write_ratings_file(data, tmp_path / "out.tsv"))
    assert back.user_map == data.user_map


_INT64 = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(_INT64, min_size=1, max_size=20))
def test_plain_and_float_spellings_of_int64_are_the_integers(xs):
    assert parse_ids([str(x) for x in xs]).tolist() == xs
    with pytest.warns(UserWarning, match="written as floats"):
        assert parse_ids([f"{x}.0" for x in xs]).tolist() == xs
    padded = [f"0{abs(x)}" for x in xs]  # leading zeros: a string column, spelled as written
    assert parse_ids(padded).tolist() == padded


_ID_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=6).filter(lambda t: t.strip() == t and t)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_ID_TEXT, _INT64.map(str), _INT64.map(lambda x: f"{x}.0")), min_size=1, max_size=20))
def test_every_id_is_found_by_its_own_spelling(xs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ids = parse_ids(xs)
    except DataError:  # a column of numbers with a fraction
        return
    vocab = IdMap(pd.unique(ids))
    idx = vocab.lookup(xs)
    assert (idx >= 0).all()
    assert vocab.lookup(ids).tolist() == idx.tolist()


# ---------------------------------------------------------------------- from_frame
def test_from_frame_agrees_with_the_reader_on_1_and_1_0():
    frame = pd.DataFrame({"user": ["1", "1.0", "2"], "item": [1, 2, 1], "rating": [5, 4, 3]})
    with pytest.warns(UserWarning, match="user ids written as floats"):
        data = Interactions.from_frame(frame)
    assert data.user_map.ids.tolist() == [1, 2]
    assert data.user_map == _quiet_read(CORPUS / "int_and_float_ids.tsv").user_map


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA, ""])
def test_from_frame_refuses_missing_ids(missing):
    frame = pd.DataFrame({"user": pd.Series(["a", missing, "b"], dtype=object), "item": [1, 2, 3]})
    with pytest.raises(DataError, match=r"missing user id at row 2"):
        Interactions.from_frame(frame, name="frame")
    floats = pd.DataFrame({"user": [1, 2], "item": [1.0, np.nan]})
    with pytest.raises(DataError, match=r"missing item id at row 2"):
        Interactions.from_frame(floats)


def test_from_frame_mixed_and_fractional_columns():
    mixed = Interactions.from_frame(pd.DataFrame({"user": pd.Series([196, "bob"], dtype=object), "item": [1, 2]}))
    assert sorted(mixed.user_map.ids.tolist()) == ["196", "bob"]
    with pytest.raises(DataError, match="user id 4.5 at row 2 is not a whole number"):
        Interactions.from_frame(pd.DataFrame({"user": [1.0, 4.5], "item": [1, 2]}))
    big = Interactions.from_frame(pd.DataFrame({"user": pd.Series([12345678901234567890123, 5], dtype=object), "item": [1, 2]}))
    assert sorted(big.user_map.ids.tolist()) == ["12345678901234567890123", "5"]


# ---------------------------------------------------------------------- IdMap look-ups
def test_lookup_converts_each_value_on_its_own():
    ints = IdMap(np.array([7, 196, 200]))
    assert ints.lookup(["196", "bob", 200.0, "7.0", "007", None, 3.5]).tolist() == [1, -1, 2, 0, -1, -1, -1]
    assert ints.coerce(["196", "bob"]).tolist() == [196, "bob"]
    assert ints.coerce(["196", " 200"]).dtype == np.int64
    strings = IdMap(np.array(["007", "196", "bob"]))
    assert strings.lookup([196, "196.0", 7, "007", "bob", 196.0]).tolist() == [1, 1, -1, 0, 2, 1]


def test_index_names_only_the_unknown_id():
    from cofirec.errors import UnknownIdError

    with pytest.raises(UnknownIdError, match="unknown user 'bob'$"):
        IdMap(np.array([1, 2])).index(["2", "bob"], kind="user")


# ---------------------------------------------------------------------- negatives and metadata
def test_ncf_negatives_float_ids_are_integers_and_evaluate_like_integers(train_file):
    with pytest.warns(UserWarning, match="ids written as floats"):
        neg = read_ncf_negatives(CORPUS / "float_ids.test.negative")
    assert neg.users.dtype == np.int64 and neg.positives.dtype == np.int64 and neg.negatives.dtype == np.int64
    model = create_model("item-knn").fit(_quiet_read(train_file))
    as_float = evaluate(model, None, protocol="sampled", negatives=neg)
    assert as_float["test_users_unknown"] == 0
    text = (CORPUS / "float_ids.test.negative").read_text().replace(".0", "")
    ints = train_file.parent / "ints.test.negative"
    ints.write_text(text)
    assert as_float == evaluate(model, None, protocol="sampled", negatives=read_ncf_negatives(ints))


def test_ncf_negatives_leading_zeros_stay_apart(tmp_path):
    path = tmp_path / "z.test.negative"
    path.write_text("(007,1)\t2\t3\n(7,1)\t2\t3\n")
    neg = read_ncf_negatives(path)
    assert neg.users.tolist() == ["007", "7"]
    assert neg.positives.tolist() == [1, 1]


def test_metadata_ids_follow_the_policy(tmp_path):
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n007,Zero Zero Seven (1999),Action\n7,Seven (1995),Drama\n")
    _, items = load_metadata(tmp_path)
    assert sorted(items.index.tolist()) == ["007", "7"]
    data = Interactions.from_frame(pd.DataFrame({"user": [1, 2], "item": [7, 8], "rating": [5, 4]}))
    titles = data.with_features(item_features=items).item_titles()
    assert titles.tolist() == ["Seven (1995)", ""]


# ---------------------------------------------------------------------- evaluation
def test_evaluation_maps_float_test_ids_onto_an_integer_model(train_file, int_test_file):
    model = create_model("item-knn").fit(_quiet_read(train_file))
    as_float = evaluate(model, _quiet_read(CORPUS / "float_ids.tsv"), protocol="ranking")
    assert as_float["test_users_unknown"] == 0
    assert as_float == evaluate(model, read_ratings_file(int_test_file), protocol="ranking")


def test_one_text_test_id_is_unknown_alone(train_file):
    model = create_model("item-knn").fit(_quiet_read(train_file))
    for protocol in ("ranking", "rating"):
        out = evaluate(model, read_ratings_file(CORPUS / "one_text_id.tsv"), protocol=protocol)
        assert out["test_users_unknown"] == 1, protocol


def test_python_api_lookups_convert_each_id(train_file):
    model = create_model("item-knn").fit(_quiet_read(train_file))
    recs = model.recommend(np.array(["3", "bob", "4.0"], dtype=object), n=3)
    assert recs.known.tolist() == [True, False, True]
    assert recs.items[0].tolist() == model.recommend(3, n=3).items.tolist()
    assert model.predict(["3", 3.0], ["5", "5.0"]).tolist() == [model.predict([3], [5])[0]] * 2
    assert model.similar_items("5.0", n=2).items.tolist() == model.similar_items(5, n=2).items.tolist()


# ---------------------------------------------------------------------- command line
def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_cli_recommend_mixed_user_list(cli, train_file, tmp_path):
    assert cli("train", "item-knn", "--train", train_file, "--out", tmp_path / "m").code == 0
    res = cli("recommend", tmp_path / "m", "--user", "196", "--user", "bob", "--user", "3", "--user", "4.0", "-n", "3", "--format", "jsonl")
    assert res.code == 0, res.stderr
    recs = {str(r["user"]): r for r in _jsonl(res.stdout)}
    assert recs["bob"]["known"] is False and recs["196"]["known"] is False  # 196 is not a training user
    assert recs["3"]["known"] is True and recs["4"]["known"] is True
    alone = _jsonl(cli("recommend", tmp_path / "m", "--user", "3", "-n", "3", "--format", "jsonl").stdout)[0]
    assert alone["items"] == recs["3"]["items"]
    sim = cli("similar", tmp_path / "m", "--item", "5.0", "-n", "2", "--json")
    assert sim.code == 0 and sim.json()["item"] == 5


def test_cli_evaluate_float_ids_like_integer_ids(cli, train_file, int_test_file, tmp_path):
    assert cli("train", "item-knn", "--train", train_file, "--out", tmp_path / "m").code == 0
    ints = cli("evaluate", tmp_path / "m", "--test", int_test_file, "--protocol", "ranking", "--json")
    floats = cli("evaluate", tmp_path / "m", "--test", CORPUS / "float_ids.tsv", "--protocol", "ranking", "--json")
    assert floats.code == 0, floats.stderr
    assert "ids written as floats" in floats.stderr
    assert floats.json()["test_users_unknown"] == 0
    assert floats.json()["ndcg@10"] == ints.json()["ndcg@10"] > 0


def test_cli_evaluate_one_text_id_among_numbers(cli, train_file, tmp_path):
    assert cli("train", "item-knn", "--train", train_file, "--out", tmp_path / "m").code == 0
    res = cli("evaluate", tmp_path / "m", "--test", CORPUS / "one_text_id.tsv", "--protocol", "ranking", "--json")
    assert res.code == 0, res.stderr
    assert res.json()["test_users_unknown"] == 1
    assert res.json()["users_evaluated"] == 21


def test_cli_leading_zero_and_huge_ids_are_distinct_users(cli, tmp_path):
    rows = (CORPUS / "leading_zero_ids.tsv").read_text() + (CORPUS / "huge_ids.tsv").read_text()
    path = tmp_path / "odd.tsv"
    path.write_text(rows)
    assert cli("train", "popularity", "--train", path, "--out", tmp_path / "m").code == 0
    users = ["007", "07", "7", "12345678901234567890123", "12345678901234567890124", "9223372036854775808"]
    res = cli("recommend", tmp_path / "m", *[a for u in users for a in ("--user", u)], "-n", "5", "--format", "jsonl")
    assert res.code == 0, res.stderr
    recs = _jsonl(res.stdout)
    assert [r["user"] for r in recs] == users
    assert all(r["known"] for r in recs)
    by_user = {r["user"]: set(r["items"]) for r in recs}
    assert 1 not in by_user["007"] and 1 in by_user["7"]  # 007 saw item 1 (seen items excluded), 7 did not
    assert _jsonl(cli("recommend", tmp_path / "m", "--user", "0007", "--format", "jsonl").stdout)[0]["known"] is False


def test_cli_fractional_ids_error(cli, tmp_path):
    res = cli("train", "popularity", "--train", CORPUS / "fractional_ids.tsv", "--out", tmp_path / "m")
    assert res.code == 2
    assert "user id '4.5' at row 1 is not a whole number" in res.stderr
    assert "Traceback" not in res.stderr
