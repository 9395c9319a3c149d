"""Neural (PyTorch) recommenders: the shared trainer and wrapper base, and the models built on them.

Importing this package imports PyTorch; the registry imports it only when a neural model is asked for.
"""

from cofirec.models.neural.base import NeuralRecommender
from cofirec.models.neural.batching import NegativeSampler, PairTensors, batch_indices
from cofirec.models.neural.init import INITIALISERS, init_module_, init_tensor_, parse_init
from cofirec.models.neural.trainer import TrainConfig, Trainer, TrainingHooks, ValidationSet

__all__ = [
    "INITIALISERS",
    "NegativeSampler",
    "NeuralRecommender",
    "PairTensors",
    "TrainConfig",
    "Trainer",
    "TrainingHooks",
    "ValidationSet",
    "batch_indices",
    "init_module_",
    "init_tensor_",
    "parse_init",
]
