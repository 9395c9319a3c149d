"""Property tests: whatever frame is written, reading it back gives the same interactions (ids round-trip;
nothing lost or duplicated)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofirec.data.readers import read_ratings_file, write_ratings_file

int_ids = st.integers(min_value=-(10**12), max_value=10**12)
str_ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_.:;|,\- ]{0,11}[A-Za-z0-9]", fullmatch=True)
ratings = st.one_of(st.integers(1, 5).map(float), st.sampled_from([0.5, 1.5, 2.5, 3.5, 4.5, -2.0, 10.0]))


@st.composite
def frames(draw):
    id_kind = draw(st.sampled_from(["int", "str", "mixed"]))
    user_ids = int_ids if id_kind == "int" else str_ids
    item_ids = str_ids if id_kind == "mixed" else user_ids
    n = draw(st.integers(1, 40))
    users = draw(st.lists(user_ids, min_size=n, max_size=n))
    items = draw(st.lists(item_ids, min_size=n, max_size=n))
    rows = {"user": users, "item": items, "rating": draw(st.lists(ratings, min_size=n, max_size=n))}
    if draw(st.booleans()):
        rows["timestamp"] = draw(st.lists(st.integers(0, 2_000_000_000), min_size=n, max_size=n, unique=True))
    return pd.DataFrame(rows)


def _expected(frame: pd.DataFrame) -> set[tuple]:
    """Latest row per (user, item): by timestamp when there is one, else the last written."""
    if "timestamp" in frame.columns:
        frame = frame.sort_values("timestamp", kind="stable")
    last = frame.drop_duplicates(["user", "item"], keep="last")
    return set(map(tuple, last.itertuples(index=False)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), fmt=st.sampled_from([("r.tsv", "\t", False), ("r.csv", ",", True), ("r.dat", "|", False), ("r.parquet", "\t", False)]))
def test_write_read_round_trip(frame, fmt):
    name, sep, header = fmt
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate pairs warn; their policy is checked below
        path = write_ratings_file(frame, Path(tmp) / name, sep=sep, header=header)
        cols = None if header or name.endswith(".parquet") else list(frame.columns)
        # the separator is given: a short file whose text ids contain ',' ';' ':' or spaces is ambiguous to sniff
        # (separator detection has its own tests); this property is about writing and reading back
        data = read_ratings_file(path, columns=cols, sep=None if name.endswith(".parquet") else sep)
    back = data.to_frame()
    got = set(map(tuple, back.itertuples(index=False)))
    assert len(back) == len(got)  # no interaction duplicated
    assert got == _expected(frame)  # none lost, ids and values unchanged
    assert data.meta.get("duplicates_dropped", 0) == len(frame) - len(got)


@settings(max_examples=15, deadline=None)
@given(n_users=st.integers(1, 30), n_items=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_index_space_is_dense_and_sorted(n_users, n_items, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200))
    frame = pd.DataFrame({"user": rng.integers(0, n_users, n) * 7 + 3, "item": rng.integers(0, n_items, n) - 5, "rating": 1.0})
    frame = frame.drop_duplicates(["user", "item"])
    with tempfile.TemporaryDirectory() as tmp:
        data = read_ratings_file(write_ratings_file(frame, Path(tmp) / "r.tsv"), columns=["user", "item", "rating"])
    assert np.array_equal(data.user_map.ids, np.unique(frame["user"]))
    assert np.array_equal(data.item_map.ids, np.unique(frame["item"]))
    assert data.users.max() == data.n_users - 1 and data.items.max() == data.n_items - 1


rating_texts = st.one_of(
    st.integers(-5, 5).map(str),
    st.sampled_from(["0.5", "3.25", "4.0", "-1.5", "10.125", "007", "2."]),
    st.sampled_from(["4e0", " 3", "+2", ".5", "1,5", '"4"']),  # odd forms: the fast path may decline them
)


@settings(max_examples=20, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(-(10**15), 10**15), st.integers(0, 50), rating_texts, st.integers(0, 2 * 10**9)), min_size=1, max_size=25),
    sep=st.sampled_from([",", "\t", "|", ";"]),
    header=st.booleans(),
    crlf=st.booleans(),
    blank=st.booleans(),
)
def test_fast_path_agrees_with_the_careful_parser(rows, sep, header, crlf, blank):
    """pyarrow's typed read of the whole file (fast path) gives what the careful line-by-line parser gives."""
    from cofirec.data import readers
    from cofirec.errors import DataError

    eol = "\r\n" if crlf else "\n"
    lines = [sep.join(["userId", "movieId", "rating", "timestamp"])] if header else []
    lines += [sep.join(map(str, r)) for r in rows]
    text = eol.join(lines) + eol + (eol if blank else "")

    def read(careful: bool):
        fast = readers._fast_from_path
        if careful:
            readers._fast_from_path = lambda *args: None
        try:
            with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                path = Path(tmp) / "r.txt"
                path.write_text(text, newline="")
                try:
                    data = readers.read_ratings_file(path, columns=["user", "item", "rating", "timestamp"], sep=sep, header=header)
                except DataError as exc:
                    return ("error", str(exc).replace(tmp, ""))
                return sorted(map(tuple, data.to_frame().itertuples(index=False)))
        finally:
            readers._fast_from_path = fast

    assert read(careful=False) == read(careful=True)
