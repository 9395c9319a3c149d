"""The HTTP service (``cofirec serve``): a thin FastAPI adapter over a saved model and a feedback database.

Importing this package loads nothing; :func:`create_app` needs the ``serve`` extra
(``pip install 'cofirec[serve]'``) and raises :class:`~cofirec.errors.MissingDependencyError` naming it otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["SERVE_PACKAGES", "create_app", "require_serve_extra"]

SERVE_PACKAGES = ("fastapi", "uvicorn", "sqlalchemy", "prometheus_client")


def require_serve_extra(what: str = "cofirec serve") -> None:
    """MissingDependencyError naming the ``serve`` extra when one of its packages is missing."""
    from cofirec._extras import require

    for module in SERVE_PACKAGES:
        require(module, what)


def create_app(model_dir: str | Path, db_url: str | None = None, api_key: str | None = None, **kwargs: Any) -> Any:
    """The FastAPI app serving the model in ``model_dir`` (see :func:`cofirec.serve.app.create_app`)."""
    require_serve_extra()
    from cofirec.serve.app import create_app as _create_app

    return _create_app(model_dir, db_url, api_key, **kwargs)
