"""``/status``: a small page (and ``/status.json``) with the online hit rate per model version, request rates,
latency percentiles, catalogue and user counts."""

from __future__ import annotations

import html
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

status_router = APIRouter(tags=["status"])


def status_data(svc: Any) -> dict[str, Any]:
    data = svc.online_summary()
    data["uptime_seconds"] = time.time() - svc.started_at
    data["loaded_at"] = svc.holder.current.loaded_at
    data["routes"] = svc.metrics.route_summary()
    return data


@status_router.get("/status.json", summary="Status numbers as JSON")
def status_json(request: Request) -> dict[str, Any]:
    return status_data(request.app.state.service)


@status_router.get("/status", response_class=HTMLResponse, summary="Status page")
def status_page(request: Request) -> HTMLResponse:
    return HTMLResponse(render_status(status_data(request.app.state.service)), headers={"Cache-Control": "no-store"})


def _table(caption: str, head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return f"<h2>{html.escape(caption)}</h2><p>None yet.</p>"
    th = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h2>{html.escape(caption)}</h2><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def render_status(d: dict[str, Any]) -> str:
    online = [
        [r["model_version"] + (" (serving)" if r["model_version"] == d["model_version"] else ""), r["lists"], r["hits"], f"{r['hit_rate']:.1%}"]
        for r in d["online"]
    ]
    routes = [[r["route"], r["requests"], f"{r['per_second']:.2f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"] for r in d["routes"]]
    summary = [
        ["Model", d["model_version"]],
        ["Items in catalogue", f"{d['items']:,}"],
        ["Users in training data", f"{d['users']:,}"],
        ["Stored ratings", f"{d['feedback_ratings']:,}"],
        ["Users with feedback", f"{d['feedback_users']:,}"],
        ["Uptime", f"{d['uptime_seconds']:.0f} s"],
    ]
    rows = "".join(f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>' for k, v in summary)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>cofirec status</title><link rel="stylesheet" href="/static/style.css"></head>
<body><main><h1>cofirec status</h1><p><a href="/">Recommendations page</a> &middot; <a href="/metrics">Prometheus metrics</a>
&middot; <a href="/docs">API docs</a></p>
<table><tbody>{rows}</tbody></table>
{_table(f"Online hit rate (last {d['hit_window']:,} served lists per model version)", ["Model version", "Lists", "Hits", "Hit rate"], online)}
{_table("Requests (recent window)", ["Route", "Requests", "Per second (last minute)", "p50 ms", "p99 ms"], routes)}
</main></body></html>"""
