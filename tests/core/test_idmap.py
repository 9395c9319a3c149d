import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cofirec.data.idmap import IdMap
from cofirec.errors import UnknownIdError


def test_lookup_and_round_trip_integer_ids():
    m = IdMap(np.array([10, 3, 7]))
    assert m.is_integer
    assert m.lookup([7, 10, 99]).tolist() == [2, 0, -1]
    assert m.to_raw(np.array([1, 2])).tolist() == [3, 7]


def test_strings_typed_on_a_command_line_find_integer_ids():
    m = IdMap(np.array([1, 2, 3]))
    assert m.lookup(["2", "3"]).tolist() == [1, 2]
    assert m.lookup(["abc"]).tolist() == [-1]


def test_string_ids():
    m = IdMap(["u1", "u2"])
    assert not m.is_integer
    assert m.lookup(["u2", "zz"]).tolist() == [1, -1]


def test_index_names_the_unknown_id():
    m = IdMap([1, 2])
    with pytest.raises(UnknownIdError, match="unknown user 5"):
        m.index([1, 5], kind="user")


def test_duplicates_rejected():
    with pytest.raises(ValueError):
        IdMap([1, 1])


@given(st.lists(st.integers(-(10**12), 10**12), unique=True, min_size=1))
def test_round_trip_property_int(ids):
    m = IdMap(ids)
    idx = m.lookup(ids)
    assert idx.tolist() == list(range(len(ids)))
    assert m.to_raw(idx).tolist() == ids


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=8), unique=True, min_size=1))
def test_round_trip_property_str(ids):
    m = IdMap(ids)
    assert m.to_list(m.lookup(ids)) == ids
