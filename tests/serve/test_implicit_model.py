"""A model trained on implicit feedback (ratings >= 4 as positives): the server's scale, the page's "like" value,
and fold-in of a known user's training items with new likes (lower ratings carry no signal but are not shown back)."""

from __future__ import annotations

import pytest

import cofirec
from cofirec.data.synthetic import make_synthetic

from .conftest import needs_fold_in, running, sqlite_url


@pytest.fixture(scope="module")
def implicit_dir(tmp_path_factory):
    data = make_synthetic(n_users=100, n_items=60, density=0.15, seed=4).as_implicit(min_rating=4)
    folder = tmp_path_factory.mktemp("implicit") / "ials"
    cofirec.create_model("ials", {"factors": 8, "epochs": 5}).fit(data).save(folder)
    return folder


@needs_fold_in
def test_implicit_model_scale_likes_and_fold_in(implicit_dir, tmp_path):
    model = cofirec.load(implicit_dir)
    with running(implicit_dir, sqlite_url(tmp_path), tmp_path / "server.log") as srv:
        c = srv.client
        ready = c.get("/ready").json()
        assert (ready["feedback_kind"], ready["like_value"]) == ("implicit", 4.0)
        assert c.post("/recommendations", json={"history": [{"item": 1, "rating": 0}]}).status_code == 422
        user = model.user_map_.to_list([0])[0]
        before = [r["item"] for r in c.get(f"/users/{user}/recommendations", params={"n": 5}).json()["items"]]
        liked, disliked = before[0], before[1]
        rated = {"ratings": [{"item": liked, "rating": 5}, {"item": disliked, "rating": 2}]}
        assert c.post(f"/users/{user}/ratings", json=rated).status_code == 200
        after = c.get(f"/users/{user}/recommendations", params={"n": 5}).json()
        items = [r["item"] for r in after["items"]]
        assert liked not in items and disliked not in items
        seen = model.item_map_.to_list(model.seen_[0].indices)
        expected = model.recommend_history([*seen, liked], 5, exclude=[disliked])
        assert items == expected.items.tolist()
