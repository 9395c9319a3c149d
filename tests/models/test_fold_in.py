"""New users (recommend_history), reasons (why= / explain), exclude= and scoring vectors on hand-checkable data."""

import numpy as np
import pandas as pd
import pytest

from cofirec.data.dataset import Interactions
from cofirec.data.synthetic import make_synthetic
from cofirec.errors import DataError, UnknownIdError
from cofirec.models.als import ExplicitALS
from cofirec.models.baselines import BiasBaseline, Popularity
from cofirec.models.ease import EASE
from cofirec.models.ials import ImplicitALS
from cofirec.models.knn import ItemKNN
from cofirec.models.mf_sgd import BiasedMF

R2, R6 = 1 / np.sqrt(2), 1 / np.sqrt(6)


@pytest.fixture(scope="module")
def tiny():
    """4 users x 5 items: u1 {A, B}, u2 {A, B, C}, u3 {B, C, D}, u4 {D, E} (implicit)."""
    rows = [("u1", "A"), ("u1", "B"), ("u2", "A"), ("u2", "B"), ("u2", "C"), ("u3", "B"), ("u3", "C"), ("u3", "D"), ("u4", "D"), ("u4", "E")]
    frame = pd.DataFrame(rows, columns=["user", "item"])
    frame["rating"] = 1.0
    return Interactions.from_frame(frame, kind="implicit")


@pytest.fixture(scope="module")
def knn(tiny):
    return ItemKNN(k=10, similarity="cosine", weighting="none", shrinkage=0.0).fit(tiny)


def test_item_knn_reasons_by_hand(knn):
    # item columns: A {u1,u2}, B {u1,u2,u3}, C {u2,u3}, D {u3,u4}, E {u4}; plain cosine of the columns:
    # cos(A,B) = 2/sqrt(6), cos(A,C) = 1/2, cos(B,D) = 1/sqrt(6), cos(C,D) = 1/2, cos(D,E) = 1/sqrt(2)
    recs = knn.recommend_history(["A", "D"], n=5, why=3)
    assert recs.items.tolist() == ["B", "C", "E"]  # A and D are never recommended back
    assert np.allclose(recs.scores, [2 * R6 + R6, 1.0, R2], atol=1e-6)
    assert [r for r, _ in recs.reasons[0]] == ["A", "D"] and np.allclose([c for _, c in recs.reasons[0]], [2 * R6, R6], atol=1e-6)
    assert [r for r, _ in recs.reasons[1]] == ["A", "D"] and np.allclose([c for _, c in recs.reasons[1]], [0.5, 0.5], atol=1e-6)
    assert [r for r, _ in recs.reasons[2]] == ["D"] and np.isclose(recs.reasons[2][0][1], R2, atol=1e-6)  # A adds nothing to E
    assert bool(recs.known) and recs.users is None and recs.ignored == []


def test_item_knn_explain_known_user_by_hand(knn):
    out = knn.explain("u1", ["C", "D"], k=2)
    assert [r for r, _ in out[0]] == ["B", "A"] and np.allclose([c for _, c in out[0]], [2 * R6, 0.5], atol=1e-6)
    assert [r for r, _ in out[1]] == ["B"] and np.isclose(out[1][0][1], R6, atol=1e-6)
    with pytest.raises(UnknownIdError):
        knn.explain("nobody", ["C"])
    with pytest.raises(UnknownIdError):
        knn.explain("u1", ["Z"])


def test_fold_in_of_a_known_users_history_equals_their_list(knn, tiny):
    known = knn.recommend("u2", n=5)
    folded = knn.recommend_history({"A": 1, "B": 1, "C": 1}, n=5)
    assert folded.items.tolist() == known.items.tolist() and np.allclose(folded.scores, known.scores)


def test_history_forms_unknown_and_duplicate_items(knn):
    a = knn.recommend_history({"A": 1.0, "D": 1.0}, n=3)
    b = knn.recommend_history([("A", 1.0), ("D", 1.0), ("nope", 5.0)], n=3)
    assert a.items.tolist() == b.items.tolist() and b.ignored == ["nope"]
    with pytest.raises(DataError, match="'A' appears more than once"):
        knn.recommend_history(["A", "D", "A"])
    with pytest.raises(DataError, match="number"):
        knn.recommend_history([("A", "five")])
    with pytest.raises(DataError):
        knn.recommend_history("A")
    cold = knn.recommend_history(["nope"], n=3)
    assert not bool(cold.known) and cold.items.tolist() == knn.recommend("nobody", n=3).items.tolist()
    assert knn.recommend_history([], n=3).items.tolist() == cold.items.tolist()


def test_exclude_and_candidates(knn):
    assert knn.recommend_history(["A", "D"], n=5, exclude=["B", "unknown"]).items.tolist() == ["C", "E"]
    assert knn.recommend_history(["A", "D"], n=5, candidates=["E", "A"]).items.tolist() == ["E"]
    assert knn.recommend("u1", n=5, exclude=["C"]).items.tolist() == ["D", "E"]  # E: score 0, still ranked
    batch = knn.recommend(["u1", "u4"], n=5, exclude=["C"])
    assert "C" not in batch.items[0].tolist() and "C" not in batch.items[1].tolist()


def test_ease_reasons_are_its_weights(tiny):
    model = EASE(reg=1.0).fit(tiny)
    recs = model.recommend_history(["A", "D"], n=3, why=2)
    col = {i: k for k, i in enumerate(model.item_map_.ids.tolist())}
    for item, score, reasons in zip(recs.items, recs.scores, recs.reasons):
        weights = {h: float(model.weights_[col[h], col[item]]) for h in ("A", "D")}
        assert np.isclose(score, sum(weights.values()), atol=1e-5)
        assert reasons == sorted([(h, w) for h, w in weights.items() if w > 0], key=lambda p: -p[1]) or np.allclose(
            [c for _, c in reasons], sorted([w for w in weights.values() if w > 0], reverse=True), atol=1e-6
        )


@pytest.mark.parametrize(
    "factory",
    [lambda: ExplicitALS(factors=4, epochs=5), lambda: BiasedMF(factors=4, epochs=5), lambda: BiasedMF(factors=4, epochs=5, implicit_feedback=True)],
    ids=["als", "mf", "svdpp"],
)
def test_factor_contributions_add_up_to_the_folded_in_score(factory):
    data = make_synthetic(n_users=30, n_items=20, density=0.3, seed=3)
    model = factory().fit(data)
    idx, values = model._user_history(0)
    fold = model._fold_in_system(idx, values)
    scores = model._fold_in(idx, values)
    contrib = model._contributions(idx, values, np.arange(model.n_items))
    assert np.allclose(contrib.sum(axis=1), scores - fold.offset - model.item_bias_, atol=1e-4)


def test_ials_contributions_add_up_and_fold_in_matches_the_exact_user_step():
    data = make_synthetic(n_users=30, n_items=20, density=0.3, seed=3).as_implicit()
    model = ImplicitALS(factors=4, epochs=3, solver="cholesky").fit(data)
    idx, values = model._user_history(5)
    scores = model._fold_in(idx, values)
    assert np.allclose(model._contributions(idx, values, np.arange(model.n_items)).sum(axis=1), scores, atol=1e-4)
    # after the final item step, one more exact user step from the fitted item factors is what fold-in solves
    Y = model.item_factors_.astype(np.float64)
    c = model.confidences(values)
    m = Y.T @ Y + (Y[idx] * (c - 1)[:, None]).T @ Y[idx] + model.reg * len(idx) ** model.reg_exponent * np.eye(4)
    assert np.allclose(scores, Y @ np.linalg.solve(m, Y[idx].T @ c), atol=1e-4)


def test_baselines_fold_in():
    data = make_synthetic(n_users=30, n_items=20, density=0.3, seed=3)
    bias = BiasBaseline().fit(data)
    history = {data.item_map.ids[0]: 5.0, data.item_map.ids[1]: 5.0}
    high = bias.recommend_history(history, n=3).scores
    low = bias.recommend_history({k: 1.0 for k in history}, n=3).scores
    assert (high > low).all()  # the solved user bias follows the ratings
    pop = Popularity().fit(data)
    assert (
        pop.recommend_history(history, n=5).items.tolist()
        == pop.recommend("nobody", n=7).items[~np.isin(pop.recommend("nobody", n=7).items, list(history))][:5].tolist()
    )


def test_vectors_rank_like_scores():
    data = make_synthetic(n_users=30, n_items=20, density=0.3, seed=3)
    model = ExplicitALS(factors=4, epochs=3).fit(data)
    assert np.allclose(model.user_vectors() @ model.item_vectors().T, model.score_users(data.user_map.ids), atol=1e-4)
    assert ItemKNN().fit(data).item_vectors() is None and EASE().fit(data.as_implicit()).user_vectors() is None
