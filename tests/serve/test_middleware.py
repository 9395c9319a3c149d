"""The metrics middleware (plain ASGI) in process: statuses counted by route, an internal error answered as clean JSON."""

from __future__ import annotations

import asyncio

import httpx

from cofirec.serve.app import create_app

from .conftest import sqlite_url


def test_statuses_are_counted_and_an_internal_error_is_a_clean_500(model_dir, tmp_path, monkeypatch):
    app = create_app(model_dir, sqlite_url(tmp_path))
    state = app.state.service.holder.current

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom in a model")

    monkeypatch.setattr(state.model, "similar_items", broken)

    async def session() -> tuple[list[httpx.Response], str]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            paths = ("/users/7/recommendations", "/users/nobody/recommendations", "/items/3/similar", "/static/app.js")
            responses = [await client.get(path) for path in paths]
            return responses, (await client.get("/metrics")).text

    (ok, missing, failed, static), metrics = asyncio.run(session())
    app.state.service.close()
    assert (ok.status_code, missing.status_code, failed.status_code, static.status_code) == (200, 404, 500, 200)
    assert failed.json() == {"error": "internal error (RuntimeError); the server log has the details", "kind": "internal"}
    for route, status in (("/users/{user_id}/recommendations", 200), ("/users/{user_id}/recommendations", 404), ("/items/{item_id}/similar", 500)):
        assert f'cofirec_requests_total{{method="GET",route="{route}",status="{status}"}} 1.0' in metrics
    assert 'route="/static",status="200"' in metrics
