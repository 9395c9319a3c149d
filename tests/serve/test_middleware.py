"""The metrics middleware (plain ASGI) in process: statuses counted by route, an internal error answered as clean JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cofirec.serve.app import create_app

from .conftest import sqlite_url


def test_statuses_are_counted_and_an_internal_error_is_a_clean_500(model_dir, tmp_path, monkeypatch):
    app = create_app(model_dir, sqlite_url(tmp_path))
    state = app.state.service.holder.current

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom in a model")

    monkeypatch.setattr(state.model, "similar_items", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/users/7/recommendations").status_code == 200
        assert client.get("/users/nobody/recommendations").status_code == 404
        response = client.get("/items/3/similar")
        assert response.status_code == 500
        assert response.json() == {"error": "internal error (RuntimeError); the server log has the details", "kind": "internal"}
        assert client.get("/static/app.js").status_code == 200
        metrics = client.get("/metrics").text
    for route, status in (("/users/{user_id}/recommendations", 200), ("/users/{user_id}/recommendations", 404), ("/items/{item_id}/similar", 500)):
        assert f'cofirec_requests_total{{method="GET",route="{route}",status="{status}"}} 1.0' in metrics
    assert 'route="/static",status="200"' in metrics
