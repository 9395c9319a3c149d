"""``cofirec recommend --rate`` (a new visitor's ratings, items by title or id) and ``--why`` reasons."""

from __future__ import annotations

import pandas as pd
import pytest

import cofirec
from cofirec import Interactions

TITLES = {1: "Alien (1979)", 2: "Aliens (1986)", 3: "Heat (1995)", 4: "Toy Story (1995)", 5: "Toy Story 2 (1999)", 6: "Jumanji (1995)"}


def tiny_titled_data(implicit: bool = False) -> Interactions:
    """Users 1-6 like the Alien films, users 7-12 the Toy Story films; everyone rates Heat; two saw Jumanji
    (``implicit``: the same pairs without ratings)."""
    rows = []
    for u in range(1, 7):
        rows += [(u, 1, 5), (u, 2, 4 + u % 2), (u, 3, 2 + u % 2)]
    for u in range(7, 13):
        rows += [(u, 4, 5), (u, 5, 4 + u % 2), (u, 3, 3 - u % 2)]
    rows += [(1, 6, 3), (7, 6, 3)]
    feats = pd.DataFrame({"title": list(TITLES.values())}, index=pd.Index(list(TITLES), name="item"))
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    return Interactions.from_frame(frame[["user", "item"]] if implicit else frame, item_features=feats, name="tiny")


@pytest.fixture(scope="module")
def ease_dir(tmp_path_factory):
    model = cofirec.create_model("ease").fit(tiny_titled_data())
    return model.save(tmp_path_factory.mktemp("rate") / "ease")


def test_titles_matched_case_insensitively_and_ids(cli, ease_dir):
    res = cli("recommend", ease_dir, "--rate", "alien (1979)=5", "--rate", "3=2", "-n", "3", "--json")
    assert res.code == 0, res.stderr
    (rec,) = res.json()
    assert rec["user"] is None and rec["known"] is True
    assert rec["rated"] == [{"item": 1, "title": "Alien (1979)", "rating": 5.0}, {"item": 3, "title": "Heat (1995)", "rating": 2.0}]
    assert 1 not in rec["items"] and 3 not in rec["items"]  # rated items are never recommended back
    assert rec["items"][0] == 2 and rec["titles"][0] == "Aliens (1986)"  # the Alien fans' other film
    assert "reasons" not in rec
    lib = cofirec.load(ease_dir).recommend_history([(1, 5.0), (3, 2.0)], n=3)
    assert rec["items"] == lib.items.tolist()


def test_why_table_names_the_rated_title(cli, ease_dir):
    res = cli("recommend", ease_dir, "--rate", "Alien (1979)=5", "-n", "2", "--why")
    assert res.code == 0, res.stderr
    assert "because you rated" in res.stdout
    assert "Aliens (1986)" in res.stdout and "Alien (1979) 5" in res.stdout
    assert "new visitor" in res.stdout


def test_why_json_shape_matches_library_reasons(cli, ease_dir):
    res = cli("recommend", ease_dir, "--rate", "Alien (1979)=5", "--rate", "Heat (1995)=4", "-n", "3", "--why", "--why-n", "2", "--json")
    assert res.code == 0, res.stderr
    (rec,) = res.json()
    lib = cofirec.load(ease_dir).recommend_history([(1, 5.0), (3, 4.0)], n=3, why=2)
    assert len(rec["reasons"]) == len(rec["items"]) == 3
    for got, want in zip(rec["reasons"], lib.reasons):
        assert [r["item"] for r in got] == [item for item, _ in want]
        assert [r["contribution"] for r in got] == pytest.approx([c for _, c in want], abs=1e-6)
        for r in got:
            assert r["title"] == TITLES[r["item"]] and r["rating"] == {1: 5.0, 3: 4.0}[r["item"]]
    assert rec["reasons"][0][0]["title"] == "Alien (1979)"


def test_why_jsonl_record_carries_reasons(cli, ease_dir):
    res = cli("recommend", ease_dir, "--rate", "Alien (1979)=5", "-n", "2", "--why", "--format", "jsonl")
    assert res.code == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1
    import json

    rec = json.loads(lines[0])
    assert set(rec) == {"user", "items", "scores", "known", "rated", "titles", "reasons"}


def test_why_for_known_user_uses_explain(cli, ease_dir):
    res = cli("recommend", ease_dir, "--user", "2", "-n", "2", "--why", "--json")
    assert res.code == 0, res.stderr
    (rec,) = res.json()
    want = cofirec.load(ease_dir).explain(2, rec["items"], 3)
    assert [[r["item"] for r in rs] for rs in rec["reasons"]] == [[i for i, _ in w] for w in want]
    ratings = {1: 5.0, 2: 4.0, 3: 2.0}  # user 2's training ratings
    assert all(r["rating"] == ratings[r["item"]] for rs in rec["reasons"] for r in rs)
    table = cli("recommend", ease_dir, "--user", "2", "-n", "2", "--why")
    assert table.code == 0 and "because you rated" in table.stdout


def test_ambiguous_title_lists_candidates(cli, ease_dir):
    res = cli("recommend", ease_dir, "--rate", "toy story=5")
    assert res.code == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error:")
    assert "ambiguous" in res.stderr and "4: Toy Story (1995)" in res.stderr and "5: Toy Story 2 (1999)" in res.stderr


def test_unknown_titles_all_reported_with_suggestions(cli, ease_dir):
    res = cli("recommend", ease_dir, "--rate", "Jaws (1975)=4", "--rate", "Heatt (1995)=3", "--rate", "Alien (1979)=5")
    assert res.code == 2
    assert res.stderr.count("\n") == 1
    assert "2 items not matched" in res.stderr and "'Jaws (1975)'" in res.stderr
    assert "did you mean: Heat (1995)" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate", "Alien (1979)=9"), "outside the model's scale"),
        (("--rate", "Alien (1979)=five"), "is not a number"),
        (("--rate", "Alien (1979)"), "give a rating"),
        (("--rate", "Alien (1979)=5", "--rate", "1=4"), "name the same item 1"),
        (("--rate", "Alien (1979)=5", "--user", "1"), "cannot be combined"),
        (("--rate", "Alien (1979)=5", "--all-users"), "cannot be combined"),
    ],
)
def test_bad_rate_options_are_one_line_errors(cli, ease_dir, args, message):
    res = cli("recommend", ease_dir, *args)
    assert res.code == 2, res.stdout
    assert res.stderr.count("\n") == 1 and message in res.stderr


def test_implicit_model_takes_bare_titles(cli, tmp_path):
    model = cofirec.create_model("ials", {"factors": 4, "epochs": 3}).fit(tiny_titled_data(implicit=True))
    path = model.save(tmp_path / "ials")
    res = cli("recommend", path, "--rate", "Toy Story (1995)", "-n", "2", "--json")
    assert res.code == 0, res.stderr
    (rec,) = res.json()
    assert rec["rated"][0]["item"] == 4 and 4 not in rec["items"]


@pytest.mark.realdata
def test_rate_on_movielens(cli, real_data, tmp_path):
    out = tmp_path / "knn"
    assert cli("train", "item-knn", "--dataset", real_data("ml-100k"), "--out", out).code == 0
    res = cli("recommend", out, "--rate", "Toy Story (1995)=5", "--rate", "heat (1995)=2", "-n", "10", "--why", "--json")
    assert res.code == 0, res.stderr
    (rec,) = res.json()
    assert [r["title"] for r in rec["rated"]] == ["Toy Story (1995)", "Heat (1995)"]
    assert len(rec["items"]) == 10 and not {r["item"] for r in rec["rated"]} & set(rec["items"])
    assert all(r["title"] in ("Toy Story (1995)", "Heat (1995)") for rs in rec["reasons"] for r in rs)
    assert any(rec["reasons"])
