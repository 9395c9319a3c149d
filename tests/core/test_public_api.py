"""The curated package namespaces: every name in ``__all__`` exists and the main entry points are there."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    ("module", "required"),
    [
        (
            "cofirec.data",
            {
                "Interactions",
                "IdMap",
                "load_dataset",
                "read_ratings_file",
                "load_metadata",
                "split_data",
                "make_synthetic",
                "sample_negatives",
                "train_test_from_files",
                "validation_split",
            },
        ),
        ("cofirec.evaluate", {"evaluate", "rmse", "mae", "auc", "ndcg_at_k", "recall_at_k", "coverage", "novelty"}),
    ],
)
def test_all_is_complete_sorted_and_importable(module, required):
    mod = importlib.import_module(module)
    names = list(mod.__all__)
    assert required <= set(names), f"{module}.__all__ lacks {sorted(required - set(names))}"
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(mod, name) is not None
    namespace: dict = {}
    exec(f"from {module} import *", namespace)  # noqa: S102 - star import is the API people use in notebooks
    assert required <= set(namespace)


def test_data_api_end_to_end_on_synthetic():
    from cofirec.data import make_synthetic, split_data

    data = make_synthetic(n_users=30, n_items=20, density=0.3, seed=1)
    split = split_data(data, "user", test_ratio=0.25, seed=0)
    assert len(split.train) + len(split.test) == len(data)
