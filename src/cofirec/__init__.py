"""cofirec: a collaborative-filtering recommender toolkit.

Data (``cofirec.data``) -> models (``cofirec.models``) -> evaluation (``cofirec.evaluate``) -> experiments
(``cofirec.experiments``); the command line (``cofirec.cli``) is a thin adapter over these.

Names below are imported lazily so that ``import cofirec`` (and ``cofirec --help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Interactions": "cofirec.data.dataset",
    "IdMap": "cofirec.data.idmap",
    "CofirecError": "cofirec.errors",
    "Recommendations": "cofirec.models.base",
    "Recommender": "cofirec.models.base",
    "MODELS": "cofirec.models.registry",
    "create_model": "cofirec.models.registry",
}

if TYPE_CHECKING:  # pragma: no cover
    from cofirec.data.dataset import Interactions
    from cofirec.data.idmap import IdMap
    from cofirec.errors import CofirecError
    from cofirec.models.base import Recommendations, Recommender
    from cofirec.models.registry import MODELS, create_model


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cofirec' has no attribute {name!r}")


def load(path):
    """Load a model saved with ``model.save(path)`` or ``cofirec train --out path``."""
    from cofirec.models.artifact import load_model

    return load_model(path)


__all__ = ["MODELS", "CofirecError", "IdMap", "Interactions", "Recommendations", "Recommender", "create_model", "load", "__version__"]
