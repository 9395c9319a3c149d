"""Optional dependencies: which ``pip install 'cofirec[EXTRA]'`` brings a missing package.

The core install (data, classic models, evaluation, CLI) needs no PyTorch, Optuna or matplotlib; neural models,
tuning and plots do. A missing optional package becomes :class:`~cofirec.errors.MissingDependencyError` naming
the extra to install, never a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from cofirec.errors import MissingDependencyError

EXTRA_OF: dict[str, str] = {
    "torch": "neural",
    "optuna": "experiments",
    "matplotlib": "experiments",
    "fastapi": "serve",
    "starlette": "serve",
    "uvicorn": "serve",
    "sqlalchemy": "serve",
    "prometheus_client": "serve",
    "httpx": "serve",
    "psycopg": "serve",
    "faiss": "serve",
    "pyspark": "spark",
}
"""Top-level package name -> the cofirec extra that installs it."""


def missing_dependency(exc: BaseException, what: str | None = None) -> MissingDependencyError | None:
    """The user-facing error for ``exc`` when it is a missing optional package, else None."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    package = exc.name.split(".")[0]
    extra = EXTRA_OF.get(package)
    if extra is None:
        return None
    needs = f"{what} needs {package}" if what else f"this needs {package}"
    return MissingDependencyError(f"{needs}, which is not installed: pip install 'cofirec[{extra}]' (or 'cofirec[all]')")


def require(module: str, what: str) -> ModuleType:
    """Import ``module`` or raise MissingDependencyError saying which extra brings it (``what`` needs it)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        error = missing_dependency(exc, what)
        if error is None:
            raise
        raise error from None
