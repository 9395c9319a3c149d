"""Neural fold-in on trained models: a user's own history gives back their list, someone else's history does not."""

import numpy as np
import pytest

from cofirec.data.synthetic import make_synthetic
from cofirec.models.registry import create_model
from cofirec.testing import _own_history

CASES = [  # (model, data kind, parameters, least own-history overlap@10, measured)
    ("gmf", "implicit", {"factors": 16}, 0.9),  # 0.99 own vs 0.60 with another user's history
    ("embedding-dot", "explicit", {"factors": 16}, 0.62),  # 0.72 vs 0.47
    ("mlp", "implicit", {"layers": (32, 16)}, 0.9),  # 1.00 vs 0.62
]


@pytest.fixture(autouse=True)
def _one_torch_thread(monkeypatch):
    monkeypatch.setenv("COFIREC_THREADS", "1")


@pytest.mark.parametrize("name, kind, params, least", CASES, ids=[c[0] for c in CASES])
def test_fold_in_reproduces_the_users_own_list(name, kind, params, least):
    data = make_synthetic(n_users=200, n_items=100, density=0.1, seed=1)
    data = data if kind == "explicit" else data.as_implicit()
    model = create_model(name, {"epochs": 10, "device": "cpu", **params}).fit(data)
    users = data.user_map.ids[:15]
    own, cross = [], []
    for user, other in zip(users, np.roll(users, 1)):
        known = set(model.recommend(user, n=10).items.tolist())
        own.append(len(known & set(model.recommend_history(_own_history(model, user), n=10).items.tolist())) / 10)
        cross.append(len(known & set(model.recommend_history(_own_history(model, other), n=10).items.tolist())) / 10)
    assert np.mean(own) >= least
    assert np.mean(own) >= np.mean(cross) + 0.2, "the fold-in must follow the given history, not a user-independent ranking"
