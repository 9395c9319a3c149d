"""The explicit model registry: ``cofirec train NAME`` resolves NAME here.

Entries are ``"module:Class"`` strings resolved on first use, so that listing models or training a classic
one never imports PyTorch.
"""

from __future__ import annotations

import importlib

from cofirec._extras import missing_dependency
from cofirec.errors import ConfigError

MODELS: dict[str, str] = {
    # baselines
    "mean": "cofirec.models.baselines:GlobalMean",
    "popularity": "cofirec.models.baselines:Popularity",
    "baseline": "cofirec.models.baselines:BiasBaseline",
    # memory-based
    "user-knn": "cofirec.models.knn:UserKNN",
    "item-knn": "cofirec.models.knn:ItemKNN",
    # matrix factorisation and linear item models
    "mf": "cofirec.models.mf_sgd:BiasedMF",
    "als": "cofirec.models.als:ExplicitALS",
    "ials": "cofirec.models.ials:ImplicitALS",
    "bpr": "cofirec.models.bpr:BPR",
    "ease": "cofirec.models.ease:EASE",
    # neural (PyTorch)
    "embedding-dot": "cofirec.models.neural.embedding_dot:EmbeddingDot",
    "cosine-cf": "cofirec.models.neural.cosine_cf:CosineCF",
    "gmf": "cofirec.models.neural.ncf:GMF",
    "mlp": "cofirec.models.neural.ncf:MLP",
    "neumf": "cofirec.models.neural.ncf:NeuMF",
    "deepfm": "cofirec.models.neural.deepfm:DeepFM",
    "two-tower": "cofirec.models.neural.two_tower:TwoTower",
}


def available_models() -> list[str]:
    """Registered names whose module can be imported (neural models need the ``neural`` extra)."""
    out = []
    for name in MODELS:
        try:
            get_model_class(name)
        except ConfigError:
            continue
        out.append(name)
    return out


def get_model_class(name: str) -> type:
    """The model class registered as ``name``; ConfigError for an unknown name."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    module_name, cls_name = MODELS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        error = missing_dependency(exc, f"model {name!r}")
        if error is None:
            raise
        raise error from None
    return getattr(module, cls_name)


def create_model(name: str, params: dict | None = None):
    """An unfitted model of the registered ``name`` built from (possibly string) parameter values."""
    return get_model_class(name).from_params(params)
