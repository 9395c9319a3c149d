"""Contract checks every registered model must pass (used by cofirec's own tests; usable by plugin authors).

Call :func:`check_recommender` with a factory that builds an unfitted model (fixed seed) and training data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import ArtifactError, DataError, NotFittedError, UnknownIdError
from cofirec.models.base import Recommender


def check_recommender(factory: Callable[[], Recommender], data: Interactions, *, n: int = 5, fold_in_overlap: float = 0.0) -> Recommender:
    """Assert the model API contract; returns the fitted model.

    Checks: NotFittedError before fit; fit returns self; predict shape and finiteness; recommend excludes seen
    items, is sorted and batch/single consistent; ``candidates`` and ``exclude`` restrict the lists; a batch
    over all users equals per-user calls; unknown users get the fallback with ``known=False`` (also mixed into
    a batch); ``user_vectors() @ item_vectors().T`` ranks like ``score_users``; ``recommend_history`` with a
    known user's own history overlaps their list by at least ``fold_in_overlap`` on average, ignores unknown
    items, refuses duplicates, falls back without history and gives reasons; ``explain`` names training items;
    similar_items excludes the query; save/load round trip gives identical scores and fold-ins; a damaged
    artifact is refused; two fits with the same seed give the same scores; clone keeps the parameters.
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

    check_filters(model, data, users, n)
    check_all_users_batch(model, data, n)
    check_vectors(model, data)
    check_fold_in(model, data, n=10, min_overlap=fold_in_overlap)
    check_explain(model, data)

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
        hist = _own_history(model, data.user_map.ids[0])
        assert np.array_equal(again.recommend_history(hist, n=n).items, model.recommend_history(hist, n=n).items), "save/load must keep fold-ins"
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
    stage1: Any = factory().fit(fit, validation=val)  # an iterative model: has best_epoch_
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


def _unknown_item(data: Interactions):
    ids = data.item_map.ids
    return int(ids.max()) + 1000 if data.item_map.is_integer else "__cofirec_unknown_item__"


def _unknown_id(data: Interactions):
    ids = data.user_map.ids
    if data.user_map.is_integer:
        return int(ids.max()) + 1000
    return "__cofirec_unknown_user__"


def check_filters(model: Recommender, data: Interactions, users: np.ndarray, n: int) -> None:
    """``candidates``: lists hold exactly the unseen candidates (shorter than ``n`` when fewer qualify);
    ``exclude``: those items are never returned and the rest of the list is unchanged."""
    cands = data.item_map.ids[:3]
    limited = model.recommend(users, n=n, candidates=cands)
    seen = data.to_csr("binary")
    for row, u in enumerate(data.user_map.lookup(users)):
        real = limited.items[row][limited.scores[row] > -np.inf]
        unseen = set(cands.tolist()) - set(data.item_map.ids[seen[u].indices].tolist())
        assert set(real.tolist()) == unseen, "recommend(candidates=...) returns the user's unseen candidates, nothing else"
    first = model.recommend(users[0], n=n)
    drop = first.items[:2]
    kept = model.recommend(users[0], n=n, exclude=list(drop.tolist()) + [_unknown_item(data)])
    assert not (set(kept.items.tolist()) & set(drop.tolist())), "recommend(exclude=...) must leave those items out"
    assert kept.items[: len(first.items) - 2].tolist() == first.items[2:].tolist(), "exclude only removes the excluded items"


def check_all_users_batch(model: Recommender, data: Interactions, n: int) -> None:
    """A batch over every user (as ``recommend --all-users``) equals per-user calls, unknown users mixed in."""
    every = data.user_map.ids
    batch = model.recommend(list(every.tolist()) + [_unknown_id(data)], n=n)
    assert batch.known.tolist() == [True] * len(every) + [False], "known flags: True for training users, False for unknown"
    for row, u in enumerate(every[: min(len(every), 25)]):
        one = model.recommend(u, n=n)
        assert one.items.tolist() == batch.items[row][: len(one.items)].tolist(), f"batch row of user {u!r} differs from a per-user call"
        assert np.allclose(one.scores, batch.scores[row][: len(one.items)], atol=1e-6)
    cold = model.recommend(_unknown_id(data), n=n)
    assert cold.items.tolist() == batch.items[-1][: len(cold.items)].tolist()


def check_vectors(model: Recommender, data: Interactions) -> None:
    """``item_vectors``/``user_vectors``: both None or matching shapes; their inner products rank each user's
    items exactly as ``score_users`` (ties aside), so an inner-product index retrieves the right items."""
    iv, uv = model.item_vectors(), model.user_vectors()
    assert (iv is None) == (uv is None), "item_vectors and user_vectors are both None or both arrays"
    if iv is None or uv is None:
        return
    assert iv.shape[0] == model.n_items and uv.shape[0] == model.n_users and iv.shape[1] == uv.shape[1]
    assert iv.dtype == np.float32 and uv.dtype == np.float32
    ref = model.score_users(data.user_map.ids).astype(np.float64)
    dots = uv.astype(np.float64) @ iv.astype(np.float64).T
    order = np.argsort(-dots, axis=1, kind="stable")
    by_vectors = np.take_along_axis(ref, order, axis=1)
    tol = 1e-5 * (1.0 + np.abs(ref).max())
    assert (np.diff(by_vectors, axis=1) <= tol).all(), "user_vectors() @ item_vectors().T must rank items as score_users does"


def _own_history(model: Recommender, user) -> list[tuple]:
    u = int(model.user_map_.lookup([user])[0])
    idx, values = model._user_history(u)
    return list(zip(model.item_map_.to_raw(idx).tolist(), values.tolist()))


def fold_in_overlap(model: Recommender, users, n: int = 10) -> float:
    """Mean share of each user's top-``n`` list that ``recommend_history`` with their own training history also
    returns (1.0: the fold-in reproduces the known-user lists)."""
    shares = []
    for u in users:
        known = model.recommend(u, n=n).items
        folded = model.recommend_history(_own_history(model, u), n=n).items
        shares.append(len(set(known.tolist()) & set(folded.tolist())) / max(len(known), 1))
    return float(np.mean(shares))


def check_fold_in(model: Recommender, data: Interactions, *, n: int = 10, min_overlap: float = 0.0) -> float:
    """The ``recommend_history`` contract; returns the measured own-history overlap."""
    users = data.user_map.ids[: min(20, data.n_users)]
    overlap = fold_in_overlap(model, users, n)
    assert overlap >= min_overlap, f"{model.name}: own-history fold-in overlaps the known-user lists by {overlap:.3f} < {min_overlap}"
    hist = _own_history(model, users[0])
    unknown_item = _unknown_item(data)
    recs = model.recommend_history(hist + [(unknown_item, 1.0)], n=n, why=2)
    assert recs.ignored == [unknown_item], "unknown history items are listed in ignored"
    assert bool(recs.known) and recs.items.ndim == 1
    given = {h for h, _ in hist}
    assert not (set(recs.items.tolist()) & given), "history items are never recommended back"
    assert np.all(np.diff(recs.scores) <= 1e-6)
    assert recs.reasons is not None and len(recs.reasons) == len(recs.items)
    for reasons in recs.reasons:
        assert len(reasons) <= 2 and all(item in given and c > 0 for item, c in reasons)
        assert [c for _, c in reasons] == sorted((c for _, c in reasons), reverse=True)
    try:
        model.recommend_history(hist[:1] + hist[:1], n=n)
    except DataError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a duplicate history item must be a DataError")
    cold = model.recommend_history([(unknown_item, 1.0)], n=n)
    fallback = model.recommend(_unknown_id(data), n=n)
    assert not bool(cold.known) and cold.items.tolist() == fallback.items.tolist(), "no known history item: the unknown-user fallback"
    some = model.recommend_history(hist, n=n, exclude=recs.items[:1], candidates=data.item_map.ids[:10])
    assert set(some.items.tolist()) <= set(data.item_map.ids[:10].tolist()) - set(recs.items[:1].tolist()) - given
    return overlap


def check_explain(model: Recommender, data: Interactions) -> None:
    """``explain``: per item, up to k of the user's training items with positive contributions, largest first."""
    user = data.user_map.ids[0]
    history = {h for h, _ in _own_history(model, user)}
    items = model.recommend(user, n=3).items
    out = model.explain(user, items, k=2)
    assert len(out) == len(items)
    for reasons in out:
        assert len(reasons) <= 2 and all(item in history and c > 0 for item, c in reasons)
    try:
        model.explain(_unknown_id(data), items, k=2)
    except UnknownIdError:
        pass
    else:  # pragma: no cover
        raise AssertionError("explain for an unknown user must raise UnknownIdError")
