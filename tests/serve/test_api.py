"""The JSON API against a real ``cofirec serve`` process: answers, validation, errors, API key, online hit rate."""

from __future__ import annotations

import re

import pytest

from .conftest import needs_fold_in, running, sqlite_url


def _assert_clean_error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "kind"}
    assert "Traceback" not in body["error"] and 'File "' not in body["error"]
    for word in words:
        assert word in body["error"]
    return body


def test_health_ready_docs_and_page(server):
    c = server.client
    assert c.get("/health").json() == {"status": "ok"}
    ready = c.get("/ready").json()
    assert ready["status"] == "ready" and ready["model"] == "mf" and ready["items"] == 80 and ready["users"] == 120
    assert (ready["rating_min"], ready["rating_max"], ready["feedback_kind"]) == (1.0, 5.0, "explicit")
    assert ready["model_version"].startswith("mf-")
    assert "/users/{user_id}/recommendations" in c.get("/openapi.json").json()["paths"]
    assert c.get("/docs").status_code == 200
    page = c.get("/")
    assert page.status_code == 200 and '<label for="search-input">' in page.text
    assert c.get("/static/app.js").status_code == 200


def test_known_user_recommendations_match_the_model(server, model_dir):
    import cofirec

    model = cofirec.load(model_dir)
    body = server.client.get("/users/7/recommendations", params={"n": 5}).json()
    expected = model.recommend(7, n=5)
    assert [r["item"] for r in body["items"]] == expected.items.tolist()
    assert [r["score"] for r in body["items"]] == pytest.approx(expected.scores.tolist(), rel=1e-5)
    assert body["user"] == 7 and body["known"] is True and body["folded_in"] == 0
    assert body["items"][0]["title"] == model.titles([expected.items[0]])[0]
    if hasattr(model, "explain"):
        why = server.client.get("/users/7/recommendations", params={"n": 5, "why": 2}).json()
        assert [[(r["item"], r["contribution"]) for r in item["reasons"]] for item in why["items"]] == [
            [(i, pytest.approx(v, rel=1e-5)) for i, v in pairs] for pairs in model.explain(7, expected.items.tolist(), k=2)
        ]
    seen = set(model.seen_[model.user_map_.lookup([7])[0]].indices.tolist())
    with_seen = server.client.get("/users/7/recommendations", params={"n": 80, "exclude_seen": "false"}).json()
    assert len(with_seen["items"]) == 80 and len(seen) > 0
    assert [r["item"] for r in with_seen["items"]] == model.recommend(7, n=80, exclude_seen=False).items.tolist()


def test_similar_search_and_history(server, model_dir):
    import cofirec

    model = cofirec.load(model_dir)
    similar = server.client.get("/items/3/similar", params={"n": 4}).json()
    assert similar["item"] == 3 and [r["item"] for r in similar["items"]] == model.similar_items(3, n=4).items.tolist()
    found = server.client.get("/items", params={"query": "ITEM 1", "limit": 50}).json()["items"]
    assert found and all("item 1" in r["title"].casefold() for r in found)
    assert all(r["title"].startswith("Item 1") for r in found)  # prefix matches come first; here all of them do
    history = server.client.get("/users/7/history").json()
    uidx = model.user_map_.lookup([7])[0]
    assert sorted(r["item"] for r in history["items"]) == sorted(model.item_map_.to_list(model.seen_[uidx].indices))
    assert {r["source"] for r in history["items"]} == {"training"}
    row = model.train_ratings_[uidx]
    assert {r["item"]: r["rating"] for r in history["items"]} == dict(zip(model.item_map_.to_list(row.indices), row.data.tolist()))


def test_errors_are_clean_404_and_422(server):
    c = server.client
    _assert_clean_error(c.get("/users/no-such-user/recommendations"), 404, "no-such-user")
    _assert_clean_error(c.get("/users/no-such-user/history"), 404, "no-such-user")
    _assert_clean_error(c.get("/items/99999/similar"), 404, "99999")
    for n in (0, -1, 100000, "ten"):
        _assert_clean_error(c.get("/users/7/recommendations", params={"n": n}), 422, "n")
    _assert_clean_error(c.get("/items", params={"limit": 0}), 422, "limit")
    bad_json = c.post("/users/7/ratings", content=b"{not json", headers={"content-type": "application/json"})
    _assert_clean_error(bad_json, 422)
    _assert_clean_error(c.post("/users/7/ratings", json={"ratings": [{"item": 3, "rating": 9}]}), 422, "outside the model's scale")
    _assert_clean_error(c.post("/users/7/ratings", json={"ratings": [{"item": 3, "rating": 0.5}]}), 422, "1 to 5")
    _assert_clean_error(c.post("/users/7/ratings", json={"ratings": [{"item": 3, "rating": 4, "extra": 1}]}), 422, "extra")
    _assert_clean_error(c.post("/users/7/ratings", json={"ratings": []}), 422)
    _assert_clean_error(c.post("/users/7/ratings", json={"ratings": [{"item": 99999, "rating": 4}]}), 404, "99999")
    _assert_clean_error(c.post("/users/7/ratings", json={"ratings": [{"item": 3, "rating": 4}, {"item": "3", "rating": 2}]}), 422, "twice")
    _assert_clean_error(c.post("/recommendations", json={"history": [{"item": 3, "rating": 7}]}), 422, "scale")
    _assert_clean_error(c.post("/recommendations", json={"history": [], "n": 0}), 422, "n")
    _assert_clean_error(c.post("/recommendations", json={"history": [], "surprise": True}), 422, "surprise")
    _assert_clean_error(c.delete("/users/7/ratings"), 405)
    _assert_clean_error(c.get("/nowhere"), 404)
    assert "Traceback" not in server.server_log().split("Traceback")[0]  # the log may hold tracebacks; responses never do


def test_ratings_are_stored_and_shown_in_history(server):
    c = server.client
    assert c.post("/users/12/ratings", json={"ratings": [{"item": 5, "rating": 4}, {"item": 6, "rating": 1.5}]}).json() == {"user": 12, "stored": 2}
    history = c.get("/users/12/history").json()["items"]
    assert [(r["item"], r["rating"]) for r in history if r["source"] == "feedback"] == [(5, 4.0), (6, 1.5)]
    # a brand-new user id can give feedback too; their history is then the feedback
    assert c.post("/users/visitor-1/ratings", json={"ratings": [{"item": 9, "rating": 5}]}).status_code == 200
    visitor = c.get("/users/visitor-1/history").json()
    assert (visitor["user"], visitor["known"]) == ("visitor-1", False)
    assert [(r["item"], r["rating"], r["source"]) for r in visitor["items"]] == [(9, 5.0, "feedback")]
    assert visitor["items"][0]["title"].startswith("Item 9 (")


@needs_fold_in
def test_stored_feedback_changes_recommendations_at_once(server, model_dir):
    import cofirec

    model = cofirec.load(model_dir)
    c = server.client
    before = c.get("/users/20/recommendations", params={"n": 10}).json()
    top = [r["item"] for r in before["items"]]
    low = [{"item": item, "rating": 1} for item in top[:5]]
    assert c.post("/users/20/ratings", json={"ratings": low}).status_code == 200
    after = c.get("/users/20/recommendations", params={"n": 10, "why": 2}).json()
    assert after["folded_in"] == 5 and after["known"] is True
    items = [r["item"] for r in after["items"]]
    assert not set(items) & set(top[:5])  # rated items are never recommended back
    assert items != top
    assert all(r["reasons"] is not None and len(r["reasons"]) <= 2 for r in after["items"])
    # the same as folding in the user's training ratings with the new ones by hand
    row = model.train_ratings_[model.user_map_.lookup([20])[0]]
    history = dict(zip(model.item_map_.to_list(row.indices), row.data.tolist())) | {item: 1.0 for item in top[:5]}
    assert items == model.recommend_history(history, 10).items.tolist()


@needs_fold_in
def test_new_visitor_history_gets_recommendations_with_reasons(server, model_dir):
    import cofirec

    model = cofirec.load(model_dir)
    history = [{"item": 1, "rating": 5}, {"item": "2", "rating": 4}, {"item": 4242, "rating": 3}]
    body = server.client.post("/recommendations", json={"history": history, "n": 5, "why": 2}).json()
    assert body["known"] is True and body["ignored"] == [4242] and body["folded_in"] == 3
    expected = model.recommend_history([(1, 5.0), (2, 4.0), (4242, 3.0)], 5, why=2)
    assert [r["item"] for r in body["items"]] == expected.items.tolist()
    assert {1, 2}.isdisjoint(r["item"] for r in body["items"])
    for got, want in zip(body["items"], expected.reasons):
        assert [(r["item"], round(r["contribution"], 4)) for r in got["reasons"]] == [(i, round(v, 4)) for i, v in want]
        assert all(r["title"] for r in got["reasons"])


def test_online_hit_rate_moves_when_a_served_item_is_rated(server):
    c = server.client

    def hit_line() -> tuple[float, float]:
        text = c.get("/metrics").text
        lists = float(re.search(r'^cofirec_online_served_lists\{version="[^"]+"\} (\S+)$', text, re.M).group(1))
        hits = float(re.search(r'^cofirec_online_hits\{version="[^"]+"\} (\S+)$', text, re.M).group(1))
        return lists, hits

    c.get("/users/33/recommendations", params={"n": 3})  # make sure a list was served
    lists0, hits0 = hit_line()
    served = c.get("/users/34/recommendations", params={"n": 3}).json()
    lists1, hits1 = hit_line()
    assert (lists1, hits1) == (lists0 + 1, hits0)
    unserved = next(i for i in range(1, 81) if i not in {r["item"] for r in served["items"]})
    c.post("/users/34/ratings", json={"ratings": [{"item": unserved, "rating": 4}]})
    assert hit_line() == (lists1, hits1)  # feedback on an item that was not served is no hit
    c.post("/users/34/ratings", json={"ratings": [{"item": served["items"][1]["item"], "rating": 5}]})
    assert hit_line() == (lists1, hits1 + 1)
    status = c.get("/status.json").json()
    row = next(r for r in status["online"] if r["model_version"] == served["model_version"])
    assert row["hits"] == hits1 + 1 and row["hit_rate"] == pytest.approx((hits1 + 1) / lists1)
    assert any(r["route"] == "GET /users/{user_id}/recommendations" and r["p99_ms"] > 0 for r in status["routes"])
    page = c.get("/status").text
    assert served["model_version"] in page and "Online hit rate" in page
    metrics = c.get("/metrics").text
    assert 'cofirec_requests_total{method="GET",route="/users/{user_id}/recommendations",status="200"}' in metrics
    assert "cofirec_request_seconds_bucket" in metrics and "cofirec_items 80.0" in metrics


def test_api_key_guards_write_and_admin_endpoints(model_dir, tmp_path):
    with running(model_dir, sqlite_url(tmp_path), tmp_path / "server.log", api_key="s3cret") as srv:
        c = srv.client
        rating = {"ratings": [{"item": 3, "rating": 4}]}
        _assert_clean_error(c.post("/users/7/ratings", json=rating), 401, "API key")
        _assert_clean_error(c.post("/users/7/ratings", json=rating, headers={"X-API-Key": "wrong"}), 403)
        _assert_clean_error(c.post("/admin/reload"), 401)
        _assert_clean_error(c.post("/admin/reload", headers={"Authorization": "Bearer nope"}), 403)
        assert c.post("/users/7/ratings", json=rating, headers={"X-API-Key": "s3cret"}).json()["stored"] == 1
        assert c.post("/admin/reload", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/users/7/recommendations").status_code == 200  # reading needs no key
