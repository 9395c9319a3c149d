"""ANN retrieval: recall against exact search, two-stage recommend, exact fallback, artifact round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

faiss = pytest.importorskip("faiss")

from cofirec.errors import ArtifactError, ConfigError, DataError  # noqa: E402
from cofirec.models.artifact import ANN_INDEX, load_model  # noqa: E402
from cofirec.retrieval import build_index, load_index, save_index  # noqa: E402
from cofirec.retrieval.synthetic import factor_model, generate_vectors  # noqa: E402


@pytest.fixture(scope="module")
def model():
    users, items = generate_vectors(300, 4000, 16, seed=1)
    return factor_model(users, items, seen_per_user=20, seed=1)


def _recall(exact, approx) -> float:
    return float(np.mean([len(set(e) & set(a)) / len(e) for e, a in zip(exact.items.tolist(), approx.items.tolist())]))


@pytest.mark.parametrize("kind,params", [("hnsw", {"m": 16, "ef_search": 64}), ("ivf", {"nlist": 64, "nprobe": 24})])
def test_recall_at_10_against_exact(model, kind, params):
    users = model.user_map_.ids
    exact = model.recommend(users, 10)
    index = build_index(model, kind=kind, min_items=0, **params)
    assert index.kind == kind and index.params["kind"] == kind
    model.attach_index(index)
    try:
        approx = model.recommend(users, 10)
    finally:
        model.attach_index(None)
    assert _recall(exact, approx) >= 0.95


def test_raw_search_matches_brute_force_top_k(model):
    index = build_index(model, kind="hnsw", ef_search=200, min_items=0)
    queries = model.user_vectors()[:50]
    ids, scores = index.search(queries, 10)
    truth = np.argsort(-(queries @ model.item_vectors().T), axis=1)[:, :10]
    hits = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), truth.tolist())])
    assert hits >= 0.95
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    index.set_search(ef_search=16)
    ids, _ = index.search(queries, 50)  # more results than ef_search: widened for this search only
    assert (ids >= 0).all() and index.params["ef_search"] == 16


def test_two_stage_never_returns_seen_or_excluded_items(model):
    index = build_index(model, kind="ivf", nlist=32, nprobe=4, candidates=2, min_items=0)
    model.attach_index(index)
    try:
        users = model.user_map_.ids
        exclude = model.recommend(users[:5], 10).items.ravel()  # items that would rank high for many users
        recs = model.recommend(users, 10, exclude=exclude)
    finally:
        model.attach_index(None)
    seen = model.seen_
    item_idx = model.item_map_.lookup(recs.items.ravel()).reshape(recs.items.shape)
    assert (item_idx >= 0).all() and (recs.lengths == 10).all()
    for row, u in enumerate(model.user_map_.lookup(users)):
        assert not set(item_idx[row].tolist()) & set(seen[u].indices.tolist())
    assert not set(recs.items.ravel().tolist()) & set(exclude.tolist())


def test_two_stage_equals_exact_when_every_item_is_a_candidate(model):
    users = model.user_map_.ids[:40]
    exact = model.recommend(users, 10, exclude=[0, 1, 2])
    model.attach_index(build_index(model, kind="ivf", nlist=16, nprobe=16, candidates=model.n_items, min_items=0))
    try:
        two_stage = model.recommend(users, 10, exclude=[0, 1, 2])
    finally:
        model.attach_index(None)
    np.testing.assert_array_equal(two_stage.items, exact.items)
    np.testing.assert_allclose(two_stage.scores, exact.scores, rtol=1e-5, atol=1e-5)


def test_exact_fallback_below_threshold_is_identical(model):
    users = np.concatenate([model.user_map_.ids[:30], np.array(["nobody"])])
    exact = model.recommend(users, 10)
    single = model.recommend(users[0], 5, exclude_seen=False)
    model.attach_index(build_index(model, kind="ivf", nlist=16, nprobe=1, candidates=1), min_items=model.n_items + 1)
    try:
        again, again_single = model.recommend(users, 10), model.recommend(users[0], 5, exclude_seen=False)
    finally:
        model.attach_index(None)
    for a, b in ((exact, again), (single, again_single)):
        np.testing.assert_array_equal(a.items, b.items)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.known, b.known)


def test_unknown_users_get_the_fallback_ranking_through_the_index(model):
    exact = model.recommend(["nobody", "u3"], 10)
    model.attach_index(build_index(model, kind="hnsw", min_items=0))
    try:
        approx = model.recommend(["nobody", "u3"], 10)
    finally:
        model.attach_index(None)
    np.testing.assert_array_equal(approx.items[0], exact.items[0])
    assert approx.known.tolist() == [False, True]


def test_bad_parameters_and_foreign_index_are_clear_errors(model):
    with pytest.raises(ConfigError, match="kind"):
        build_index(model, kind="lsh")
    with pytest.raises(ConfigError, match="nlist"):
        build_index(model, kind="ivf", nlist=0)
    other = factor_model(*generate_vectors(10, 4000, 16, seed=9))
    with pytest.raises(DataError, match="not built from"):
        other.attach_index(build_index(model, kind="ivf", nlist=8))


def test_save_load_round_trip_through_the_artifact(model, tmp_path):
    folder = tmp_path / "m"
    model.save(folder)
    index = build_index(model, kind="hnsw", m=8, ef_search=40, candidates=7, min_items=0)
    save_index(index, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"arrays.npz", ANN_INDEX}
    loaded = load_model(folder)
    attached = loaded.__dict__["_ann_index"]
    assert attached.params == {"kind": "hnsw", "m": 8, "ef_construction": 64, "ef_search": 40}
    assert (attached.candidates, attached.min_items) == (7, 0)
    users = model.user_map_.ids[:50]
    model.attach_index(index)
    try:
        np.testing.assert_array_equal(loaded.recommend(users, 10).items, model.recommend(users, 10).items)
    finally:
        model.attach_index(None)
    model.save(folder)  # saving the model again drops the index built from the old vectors
    assert not (folder / ANN_INDEX).exists() and "_ann_index" not in load_model(folder).__dict__


def test_damaged_index_file_is_a_damaged_artifact(model, tmp_path):
    folder = tmp_path / "m"
    model.save(folder)
    save_index(build_index(model, kind="ivf", nlist=16), folder)
    data = bytearray((folder / ANN_INDEX).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / ANN_INDEX).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=f"damaged artifact: {ANN_INDEX} checksum mismatch"):
        load_model(folder)
    with pytest.raises(ArtifactError, match="damaged artifact"):
        load_index(folder)
    (folder / ANN_INDEX).unlink()
    with pytest.raises(ArtifactError, match=f"damaged artifact: missing file {ANN_INDEX}"):
        load_model(folder)


def test_module_command_adds_the_index_to_a_model_folder(model, tmp_path, capsys):
    from cofirec.retrieval.__main__ import main

    folder = tmp_path / "m"
    model.save(folder)
    assert main([str(folder), "--kind", "ivf", "--nlist", "16", "--min-items", "0"]) == 0
    assert "'kind': 'ivf'" in capsys.readouterr().out
    assert load_model(folder).__dict__["_ann_index"].params == {"kind": "ivf", "nlist": 16, "nprobe": 2}
    assert main([str(folder), "--kind", "lsh"]) == 2
    assert "error: ANN index kind 'lsh'" in capsys.readouterr().err


def test_new_user_fold_in_goes_through_the_index_and_matches_the_exact_fold_in(model):
    rng = np.random.default_rng(3)
    histories = [{int(i): 1.0 for i in rng.choice(model.n_items, 8, replace=False)} for _ in range(40)]
    exact = [model.recommend_history(h, 10) for h in histories]
    index = build_index(model, kind="hnsw", ef_search=128, min_items=0)
    model.attach_index(index)
    searched = []
    original = index.search
    index.search = lambda *a, **k: searched.append(1) or original(*a, **k)  # type: ignore[method-assign]
    try:
        approx = [model.recommend_history(h, 10) for h in histories]
        excluded = model.recommend_history(histories[0], 10, exclude=exact[0].items[:3].tolist())
    finally:
        model.attach_index(None)
    assert len(searched) == 41
    overlap = np.mean([len(set(e.items.tolist()) & set(a.items.tolist())) / 10 for e, a in zip(exact, approx)])
    assert overlap >= 0.95
    for h, a, e in zip(histories, approx, exact):
        assert not set(h) & set(a.items.tolist())  # history items never come back
        shared = sorted(set(a.items.tolist()) & set(e.items.tolist()))
        got, want = dict(zip(a.items.tolist(), a.scores.tolist())), dict(zip(e.items.tolist(), e.scores.tolist()))
        assert [got[i] for i in shared] == pytest.approx([want[i] for i in shared], rel=1e-5)  # exact re-scoring
    assert not set(exact[0].items[:3].tolist()) & set(excluded.items.tolist()) and len(excluded.items) == 10


def test_search_threads_are_per_call_and_checked(model):
    index = build_index(model, kind="hnsw", min_items=0)
    before = faiss.omp_get_max_threads()
    ids_default, _ = index.search(model.user_vectors()[:5], 10)
    assert index.set_search(threads=1).search_threads == 1
    ids_one, _ = index.search(model.user_vectors()[:5], 10)
    assert np.array_equal(ids_default, ids_one) and faiss.omp_get_max_threads() == before
    assert index.set_search(threads=0).search_threads is None
    with pytest.raises(ConfigError, match="threads=-1"):
        index.set_search(threads=-1)
