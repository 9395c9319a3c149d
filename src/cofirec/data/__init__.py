"""Data layer: the interaction container, readers, MovieLens loaders, synthetic data and splits."""

from cofirec.data.dataset import Interactions
from cofirec.data.idmap import IdMap

__all__ = ["IdMap", "Interactions"]
