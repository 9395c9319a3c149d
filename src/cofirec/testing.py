"""Contract checks every registered model must pass (used by cofirec's own tests; usable by plugin authors).

Call :func:`check_recommender` with a factory that builds an unfitted model (fixed seed) and training data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import ArtifactError, NotFittedError
from cofirec.models.base import Recommender


def check_recommender(factory: Callable[[], Recommender], data: Interactions, *, n: int = 5) -> Recommender:
    """Assert the model API contract; returns the fitted model.

    Checks: NotFittedError before fit; fit returns self; predict shape and finiteness; recommend excludes seen
    items, is sorted and batch/single consistent; unknown users get the fallback with ``known=False``;
    similar_items excludes the query; save/load round trip gives identical scores; a damaged artifact is
    refused; two fits with the same seed give the same scores; clone keeps the parameters.
    """
    model = factory()
    try:
        model.recommend(data.user_map.ids[0], n=n)
    except NotFittedError:
        pass
    else:  # pragma: no cover - contract violation
        raise AssertionError("recommend before fit must raise NotFittedError")

    fitted = model.fit(data)
    assert fitted is model, "fit must return self"

    frame = data.to_frame()
    sample = frame.iloc[: min(200, len(frame))]
    pred = model.predict(sample["user"].to_numpy(), sample["item"].to_numpy())
    assert pred.shape == (len(sample),) and np.isfinite(pred).all(), "predict must return finite scores per pair"

    users = data.user_map.ids[: min(20, data.n_users)]
    recs = model.recommend(users, n=n)
    assert recs.items.shape == (len(users), min(n, data.n_items))
    seen = data.to_csr("binary")
    for row, u in enumerate(data.user_map.lookup(users)):
        finite = np.isfinite(recs.scores[row])
        assert np.all(np.diff(recs.scores[row][finite]) <= 1e-6), "recommendations must be sorted best first"
        seen_items = set(data.item_map.ids[seen[u].indices].tolist())
        assert not (set(recs.items[row][finite].tolist()) & seen_items), "recommend must exclude seen items"
    single = model.recommend(users[0], n=n)
    assert np.array_equal(single.items, recs.items[0]), "single-user recommend must match the batch row"
    assert bool(single.known)

    unknown = _unknown_id(data)
    cold = model.recommend([unknown], n=n)
    assert not cold.known[0] and np.isfinite(cold.scores[0]).any(), "unknown users get a fallback ranking"
    cold_pred, known = model.predict([unknown], [data.item_map.ids[0]], return_known=True)
    assert not known[0] and np.isfinite(cold_pred).all()

    sim = model.similar_items(data.item_map.ids[0], n=n)
    assert data.item_map.ids[0] not in set(sim.items.tolist()), "similar_items must exclude the query item"

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        model.save(path)
        from cofirec import load

        again = load(path)
        assert type(again) is type(model)
        assert np.allclose(again.score_users(users), model.score_users(users), atol=1e-5), "save/load must keep scores"
        assert np.allclose(again.predict(sample["user"], sample["item"]), pred, atol=1e-5)
        assert np.array_equal(again.recommend(users, n=n).items, recs.items)
        with open(path / "arrays.npz", "r+b") as f:
            f.seek(-3, 2)
            f.write(b"xyz")
        try:
            load(path)
        except ArtifactError:
            pass
        else:  # pragma: no cover
            raise AssertionError("a damaged artifact must be refused")

    twin = factory().fit(data)
    assert np.allclose(twin.score_users(users), model.score_users(users), atol=1e-5), "same seed must give same scores"
    assert model.clone().get_params() == model.get_params()
    if "epochs" in model.get_params():
        check_refit(factory, data)
    return model


_MONITORED = (("val_ndcg@10", max), ("val_rmse", min), ("val_loss", min))
"""Validation numbers early stopping follows, in order of preference, and which way is better."""


def check_refit(factory: Callable[[], Recommender], data: Interactions) -> Recommender:
    """Assert the epoch contract of an iterative model (one with an ``epochs`` parameter); returns the refit model.

    Fitted with validation data, epochs are numbered 1, 2, ... in ``history_`` with validation numbers, and
    ``best_epoch_`` names the epoch whose state was kept (with ``patience``: the best validation number); ``refit``
    then trains exactly ``best_epoch_`` epochs on all of ``data``, without validation.
    """
    from cofirec.data.splits import user_ratio_split

    fit, val = user_ratio_split(data, 0.25, seed=0)
    stage1 = factory().fit(fit, validation=val)
    history = stage1.history_
    assert [r["epoch"] for r in history] == list(range(1, len(history) + 1)), "epochs must be numbered from 1"
    assert any(k.startswith("val_") for k in history[0]), "a fit with validation data records validation numbers"
    best = int(stage1.best_epoch_)
    assert 1 <= best <= len(history), f"best_epoch_={best} must name a recorded epoch (1..{len(history)})"
    if "patience" in stage1.get_params():
        key, pick = next((k, f) for k, f in _MONITORED if k in history[0])
        values = [r[key] for r in history]
        assert abs(values[best - 1] - pick(values)) <= 1e-6, f"best_epoch_={best} must be the epoch with the best {key}"
    again = stage1.refit(data)
    assert again.get_params()["epochs"] == best, "refit trains for the epoch count early stopping chose"
    assert [r["epoch"] for r in again.history_] == list(range(1, best + 1)), f"refit must run exactly best_epoch_={best} epochs"
    assert not any(k.startswith("val_") for r in again.history_ for k in r), "refit trains without validation"
    assert again.n_users == data.compact().n_users
    return again


def _unknown_id(data: Interactions):
    ids = data.user_map.ids
    if data.user_map.is_integer:
        return int(ids.max()) + 1000
    return "__cofirec_unknown_user__"
