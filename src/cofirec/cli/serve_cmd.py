"""``cofirec serve DIR``: the HTTP service and web page for a trained model (FastAPI + uvicorn)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cofirec.errors import ConfigError


def serve(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by 'cofirec train --out'.", show_default=False)],
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Feedback database URL (SQLAlchemy), e.g. postgresql://user@host/db. Default: an SQLite file DIR.feedback.sqlite beside the model folder.",
            show_default=False,
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env", help="Environment variable holding the API key that write and admin endpoints then require (X-API-Key header).", show_default=False
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Server processes (each loads the model; /admin/reload swaps one).")] = 1,
) -> None:
    """Serve recommendations over HTTP: JSON API (docs at /docs), web page at /, status at /status, metrics at /metrics.

    Retrain into the same folder, then POST /admin/reload (or send SIGHUP) to swap the new model in."""
    from cofirec.serve import require_serve_extra

    require_serve_extra()
    import uvicorn

    from cofirec.serve.app import ENV_API_KEY_ENV, ENV_DB, ENV_MODEL_DIR, create_app, reload_on_sighup

    if not 0 < port < 65536:
        raise ConfigError(f"--port {port}: expected 1-65535")
    if workers < 1:
        raise ConfigError(f"--workers {workers}: expected at least 1")
    if api_key_env is not None and not os.environ.get(api_key_env):
        raise ConfigError(f"--api-key-env {api_key_env}: that environment variable is not set or empty")
    api_key = os.environ.get(api_key_env) if api_key_env else None
    app = create_app(model_dir, db, api_key)  # loads and checks the model and database before listening
    typer.echo(
        f"serving {app.state.service.holder.current.version} on http://{host}:{port}/ (feedback: {app.state.service.store.safe_url}; Ctrl-C stops)", err=True
    )
    if workers == 1:
        reload_on_sighup(app)
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    app.state.service.close()
    os.environ.update({ENV_MODEL_DIR: str(model_dir.resolve()), ENV_DB: db or "", ENV_API_KEY_ENV: api_key_env or ""})
    uvicorn.run("cofirec.serve.app:create_app_from_env", factory=True, host=host, port=port, workers=workers, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
