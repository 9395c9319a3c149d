"""The FastAPI app: :func:`create_app` builds one around a model folder and a feedback database.

Nothing happens at import; ``create_app`` loads the model (an unusable folder is an ArtifactError right there)
and opens (or creates) the database. Endpoints live in :mod:`cofirec.serve.routes`; this module wires errors,
metrics and the web page.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cofirec import __version__
from cofirec.errors import ArtifactError, CofirecError, ConfigError, NotFittedError, UnknownIdError
from cofirec.serve.metrics import Metrics
from cofirec.serve.served_log import DEFAULT_INTERVAL, ServedLog
from cofirec.serve.state import ModelHolder
from cofirec.serve.store import FeedbackStore, default_db_url

log = logging.getLogger("cofirec.serve")

ENV_MODEL_DIR = "COFIREC_SERVE_MODEL_DIR"
ENV_DB = "COFIREC_SERVE_DB"
ENV_API_KEY_ENV = "COFIREC_SERVE_API_KEY_ENV"
ENV_LOG_INTERVAL = "COFIREC_SERVE_LOG_INTERVAL"
"""Seconds a served list waits in the queue at most before it is written (default 0.2; tests set it long)."""
HIT_RATE_WINDOW = 1000
"""Served lists per model version the online hit rate looks at."""


class Service:
    """What the endpoints share: the model holder, the feedback store, metrics and the API key."""

    def __init__(self, holder: ModelHolder, store: FeedbackStore, api_key: str | None, hit_window: int, log_interval: float = DEFAULT_INTERVAL) -> None:
        self.holder = holder
        self.store = store
        self.served = ServedLog(store, interval=log_interval)
        self.api_key = api_key
        self.hit_window = hit_window
        self.started_at = time.time()
        self.metrics = Metrics(self.online_summary)

    def close(self) -> None:
        """Write the queued served lists, then close the database."""
        self.served.close()
        self.store.close()

    def online_summary(self) -> dict[str, Any]:
        state = self.holder.current
        self.served.flush()  # count every list served before this read
        rates = self.store.hit_rates(self.hit_window)
        return {
            "model": state.model.name,
            "model_version": state.version,
            "items": state.n_items,
            "users": state.n_users,
            "feedback_ratings": self.store.count_ratings(),
            "feedback_users": self.store.count_feedback_users(),
            "hit_window": self.hit_window,
            "online": [{"model_version": r.model_version, "lists": r.lists, "hits": r.hits, "hit_rate": r.rate} for r in rates],
        }

    def check_key(self, request: Request) -> None:
        """401 without a key, 403 with a wrong one; open when the server has no key."""
        if not self.api_key:
            return
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given:
            raise StarletteHTTPException(401, "this endpoint needs the API key (header X-API-Key or Authorization: Bearer)")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.api_key.encode("utf-8")):
            raise StarletteHTTPException(403, "wrong API key")


def create_app(
    model_dir: str | Path, db_url: str | None = None, api_key: str | None = None, *, hit_window: int = HIT_RATE_WINDOW, log_interval: float | None = None
) -> FastAPI:
    """The app serving the model saved in ``model_dir``, storing feedback at ``db_url`` (default: an SQLite file
    beside the folder, see :func:`~cofirec.serve.store.default_db_url`). ``api_key``: needed by write and admin
    endpoints when given. ``log_interval``: see :mod:`cofirec.serve.served_log` (default: $COFIREC_SERVE_LOG_INTERVAL
    or 0.2 s)."""
    holder = ModelHolder(model_dir)
    holder.reload()
    store = FeedbackStore(db_url or default_db_url(model_dir))
    if log_interval is None:
        log_interval = _env_seconds(ENV_LOG_INTERVAL, DEFAULT_INTERVAL)
    service = Service(holder, store, api_key or None, hit_window, log_interval)
    service.metrics.set_model(holder.current.version, holder.current.model.name)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("serving %s (%s), feedback in %s", holder.current.version, model_dir, store.safe_url)
        yield
        service.close()  # every queued served list is written before the database closes

    app = FastAPI(
        title="cofirec",
        version=__version__,
        lifespan=lifespan,
        description="Recommendations from a trained cofirec model, with a feedback database and online evaluation.",
    )
    app.state.service = service
    _add_error_handlers(app)
    _add_metrics_middleware(app, service)

    from cofirec.serve.routes import router
    from cofirec.serve.status import status_router

    app.include_router(router)
    app.include_router(status_router)
    static = resources.files("cofirec.serve") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(static / "index.html"), media_type="text/html")

    return app


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    try:
        value = float(text) if text else default
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"${name}={text!r}: expected seconds >= 0")
    return value


def reload_on_sighup(app: FastAPI) -> None:
    """``kill -HUP PID`` reloads the model folder like ``POST /admin/reload`` (in a thread, never blocking requests)."""
    import signal
    import threading

    service: Service = app.state.service

    def reload_now() -> None:
        try:
            state, _ = service.holder.reload()
        except Exception as exc:  # the running model stays; say why in the server log
            service.metrics.reloads.labels(outcome="failed").inc()
            log.error("reload on SIGHUP failed, still serving %s: %s", service.holder.current.version, exc)
            return
        service.metrics.reloads.labels(outcome="ok").inc()
        service.metrics.set_model(state.version, state.model.name)
        log.warning("reloaded on SIGHUP: now serving %s", state.version)

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda _sig, _frame: threading.Thread(target=reload_now, daemon=True).start())


def create_app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` (``cofirec serve --workers N``): settings from the environment."""
    model_dir = os.environ.get(ENV_MODEL_DIR)
    if not model_dir:
        raise RuntimeError(f"{ENV_MODEL_DIR} is not set (start the server with 'cofirec serve DIR')")
    key_env = os.environ.get(ENV_API_KEY_ENV)
    app = create_app(model_dir, os.environ.get(ENV_DB) or None, os.environ.get(key_env) if key_env else None)
    reload_on_sighup(app)
    return app


def error_response(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": message, "kind": kind}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_message(exc), "validation")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
        return error_response(exc.status_code, str(exc.detail), kind)

    @app.exception_handler(CofirecError)
    async def cofirec_error(_request: Request, exc: CofirecError) -> JSONResponse:
        if isinstance(exc, UnknownIdError):
            return error_response(404, str(exc), "unknown_id")
        if isinstance(exc, NotFittedError):
            return error_response(503, str(exc), "not_ready")
        if isinstance(exc, ArtifactError):
            return error_response(409, str(exc), "artifact")
        return error_response(422, " ".join(str(exc).split()), "invalid")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); the server log has the details", "internal")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _add_metrics_middleware(app: FastAPI, service: Service) -> None:
    app.add_middleware(MetricsMiddleware, service=service)


class MetricsMiddleware:
    """Counts and times every HTTP request by route (a plain ASGI middleware: no request/response objects of its
    own, so it adds microseconds, not the milliseconds of a ``@app.middleware("http")`` one). An exception from
    the app is counted as a 500 and passed on to the app's error handler, which answers it."""

    def __init__(self, app: Any, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except Exception:
            status = 500
            raise
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or ("/static" if str(scope.get("path", "")).startswith("/static") else "unmatched")
            self.service.metrics.observe(path, scope.get("method", ""), status, time.perf_counter() - start)


def page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
