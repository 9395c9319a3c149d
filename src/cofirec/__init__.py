"""cofirec: a collaborative-filtering recommender toolkit.

Data (``cofirec.data``) -> models (``cofirec.models``) -> evaluation (``cofirec.evaluate``) -> experiments
(``cofirec.experiments``); the command line (``cofirec.cli``) is a thin adapter over these.
"""

from __future__ import annotations

__version__ = "0.1.0"

from cofirec.data.dataset import Interactions
from cofirec.data.idmap import IdMap
from cofirec.errors import CofirecError
from cofirec.models.base import Recommendations, Recommender
from cofirec.models.registry import MODELS, create_model


def load(path):
    """Load a model saved with ``model.save(path)`` or ``cofirec train --out path``."""
    from cofirec.models.artifact import load_model

    return load_model(path)


__all__ = ["MODELS", "CofirecError", "IdMap", "Interactions", "Recommendations", "Recommender", "create_model", "load", "__version__"]
