"""Recommender models: one module per model, all implementing :class:`~cofirec.models.base.Recommender`."""

from cofirec.models.base import Recommendations, Recommender
from cofirec.models.registry import MODELS, create_model, get_model_class

__all__ = ["MODELS", "Recommendations", "Recommender", "create_model", "get_model_class"]
