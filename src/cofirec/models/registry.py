"""The explicit model registry: ``cofirec train NAME`` resolves NAME here.

Entries are ``"module:Class"`` strings resolved on first use, so that listing models or training a classic
one never imports PyTorch, or :class:`Preset` recipes: a registered model with validated parameter overrides
(``svdpp``, ``next-item``, ``deepfm-ordinal``). A preset name works wherever a model name does
(``create_model``, ``cofirec train NAME``, compare/tune model lists, config files); the model it builds is an
instance of the real class with the preset's parameters, so it saves and loads as that class.
:data:`DEFAULTS_SOURCE` says, per model, where its default setting comes from (``cofirec models`` prints it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from cofirec._extras import missing_dependency
from cofirec.errors import ConfigError


@dataclass(frozen=True, eq=False)
class Preset:
    """A named recipe: the registered ``model`` with parameter ``params`` overriding its defaults.

    Class-like where the registry's callers need it (``param_names``, ``param_types``, ``param_defaults``,
    ``from_params``, calling it, ``supported_kinds``), so ``get_model_class(preset)`` is a drop-in factory.
    ``kind`` is the feedback kind the recipe was validated for, ``why`` one line of provenance and ``usage``
    how to train it (flags, data) when the name alone is not enough.
    """

    name: str
    model: str
    params: dict[str, Any]
    kind: str
    why: str
    usage: str = ""

    @property
    def model_class(self) -> Any:
        return get_model_class(self.model)

    @property
    def supported_kinds(self) -> frozenset[str]:
        return frozenset({self.kind})

    @property
    def __name__(self) -> str:  # error messages name ``cls.__name__``
        return self.name

    def param_names(self) -> list[str]:
        return self.model_class.param_names()

    def param_types(self) -> dict[str, Any]:
        return self.model_class.param_types()

    def param_defaults(self) -> dict[str, Any]:
        return {**self.model_class.param_defaults(), **self.params}

    def from_params(self, params: dict[str, Any] | None = None) -> Any:
        """The real model: the preset's parameters, then ``params`` (strings allowed) on top."""
        return self.model_class.from_params({**self.params, **(params or {})})

    def __call__(self, **params: Any) -> Any:
        return self.model_class(**{**self.params, **params})

    def __getattr__(self, key: str) -> Any:  # e.g. ``search_space``, ``predicts_ratings``
        if key.startswith("__"):
            raise AttributeError(key)
        return getattr(self.model_class, key)


PRESETS: dict[str, Preset] = {
    "svdpp": Preset(
        "svdpp",
        "mf",
        {"implicit_feedback": True, "factors": 100, "lr": 0.01, "reg": 0.08, "reg_implicit": 0.5, "epochs": 20},
        kind="explicit",
        why="mf with the SVD++ term (Koren 2008), pinned to mf's validated default: at least as good as plain MF on "
        "validation parts of ML-100K u1, ml-latest-small and ml-1m-half; RMSE 0.913 on u1.test (bench/RESULTS.md, Defaults)",
    ),
    "next-item": Preset(
        "next-item",
        "embedding-dot",
        {"loss": "full_softmax", "recency": 10.0, "factors": 128, "lr": 0.002, "batch_size": 1024, "epochs": 6, "holdout": 0.0, "random_state": 0},
        kind="implicit",
        why="NCF leave-one-out recipe: full softmax, recency half-life 10, 6 epochs = the count early stopping chose "
        "on each user's latest ncf-ml-1m-half training item, i.e. the refit on all data: HR@10 0.756 (bench/RESULTS.md)",
        usage="implicit data with timestamps (--implicit); on other data choose the epochs again: -p epochs=20 --validation 0.1 --refit",
    ),
    "deepfm-ordinal": Preset(
        "deepfm-ordinal",
        "deepfm",
        {"loss": "ordinal", "linear_reg": 1.0, "multi_reg": 10.0},
        kind="binary",
        why="tuned DeepFM + ordinal loss over the ratings behind like/dislike labels and the two penalties: "
        "best DeepFM on ml-1m-half, AUC 0.8161 refitted (validation-chosen, bench/RESULTS.md)",
        usage="like/dislike labels made from ratings (--target binary:4) and --refit",
    ),
}
"""Named recipes (also registered in :data:`MODELS`)."""

DEFAULTS_SOURCE: dict[str, str] = {
    "mean": "no parameters",
    "popularity": "interaction count (by='count'); nothing to tune",
    "baseline": "reg_user 10, reg_item 2 (ALS) chosen on a per-user 80/20 holdout of ML-100K u1.base (val RMSE 0.939); u1.test 0.955",
    "user-knn": "'auto' per feedback kind: pearson_baseline k 400 (ratings), bm25 cosine k 100 (implicit), chosen on a "
    "per-user 80/20 holdout of ML-100K u1.base; u1.test RMSE 0.936",
    "item-knn": "'auto' per feedback kind: adjusted_cosine k 400 (ratings), bm25 cosine k 200 (implicit), chosen on a "
    "per-user 80/20 holdout of ML-100K u1.base; u1.test RMSE 0.930, implicit NDCG@10 0.413",
    "mf": "SVD++ term on (lr 0.01, reg_implicit 0.5, 20 epochs): at least as good as plain MF on validation parts of "
    "ML-100K u1.base, ml-latest-small and ml-1m-half (bench/bench_defaults.py); u1.test RMSE 0.913",
    "als": "64 factors, weighted lambda 0.1, chosen on 10% of ML-100K u1.base; u1.test RMSE 0.926",
    "ials": "32 factors, reg 0.3*n_u, alpha 3, chosen on per-user validation of ML-100K and ML-1M-half implicit; NDCG@10 0.448 / 0.401",
    "bpr": "64 factors, lr 0.05, 40 epochs: benchmark setting, not tuned on validation; NDCG@10 0.366 on ML-100K implicit (ials is better)",
    "ease": "reg 500, checked on a per-user 80/20 holdout of ML-100K u1.base (300-500 within noise); NDCG@10 0.450",
    "embedding-dot": "Adam lr 0.001, 20 epochs, early stopping on a 10% holdout (changed): validation RMSE 0.933 / 0.883 / "
    "0.866 vs 0.951 / 0.909 / 0.952 without (ML-100K u1, ml-latest-small, ml-1m-half), about -0.005 NDCG@10 "
    "on implicit data; for next-item data use 'next-item' (HR@10 0.756)",
    "cosine-cf": "64 factors, lr 0.003, batch 2048, holdout 0.1: the like/dislike benchmark setting on ml-1m-half (AUC 0.808), not re-tuned",
    "gmf": "generic neural defaults, not tuned (NCF-style 32 factors, 4 negatives); 64 factors, lr 0.003 gave HR@10 "
    "0.683 on ncf-ml-1m-half; 'next-item' gives 0.756",
    "mlp": "NCF paper's 64-32-16-8 tower, generic training defaults, not tuned; HR@10 0.665 on ncf-ml-1m-half with normal(0.05) init, lr 0.005",
    "neumf": "NCF paper's 16 factors + 64-32-16-8 tower, generic training defaults, not tuned; HR@10 0.673 on ncf-ml-1m-half (32 factors, lr 0.003)",
    "deepfm": "tuned on a 10% validation slice of ml-1m-half like/dislike (3 rounds, val AUC 0.8128, test 0.812); the best DeepFM is 'deepfm-ordinal'",
    "two-tower": "batch 512, lr 0.003, epochs by validation NDCG@10 (holdout 0.1); not tuned on MovieLens",
}
"""One line per registered model: where its default setting comes from (``cofirec models``)."""

MODELS: dict[str, str | Preset] = {
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
    # presets: validated recipes of the models above
    **PRESETS,
}


def available_models() -> list[str]:
    """Registered names whose module can be imported (neural models need the ``neural`` extra)."""
    out = []
    for name in MODELS:
        try:
            entry = get_model_class(name)
            if isinstance(entry, Preset):
                entry.model_class  # noqa: B018 - a preset is available when its model is
        except ConfigError:
            continue
        out.append(name)
    return out


def get_model_class(name: str) -> Any:
    """The model class registered as ``name`` (a :class:`Preset` for a preset); ConfigError for an unknown name."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r} (known: {', '.join(MODELS)})")
    entry = MODELS[name]
    if isinstance(entry, Preset):
        return entry
    module_name, cls_name = entry.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        error = missing_dependency(exc, f"model {name!r}")
        if error is None:
            raise
        raise error from None
    return getattr(module, cls_name)


def create_model(name: str, params: dict | None = None):
    """An unfitted model of the registered ``name`` built from (possibly string) parameter values.

    For a preset, ``params`` go on top of the preset's own; the result is the preset's real model class.
    """
    return get_model_class(name).from_params(params)


def default_source(name: str) -> str:
    """One line: where the default setting of ``name`` comes from (a preset's ``why``)."""
    entry = MODELS.get(name)
    if isinstance(entry, Preset):
        return entry.why
    return DEFAULTS_SOURCE.get(name, "library default; not tuned")
