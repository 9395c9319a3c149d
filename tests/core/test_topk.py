import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cofirec.kernels.topk import topk_rows


def naive(scores, k):
    idx = [sorted(range(len(r)), key=lambda j: (-r[j], j))[:k] for r in scores]
    return np.array(idx)


def test_simple():
    s = np.array([[0.1, 0.5, 0.3], [3, 2, 1]], dtype=np.float32)
    idx, vals = topk_rows(s, 2)
    assert idx.tolist() == [[1, 2], [0, 1]]
    assert vals.tolist() == [[0.5, np.float32(0.3)], [3, 2]]


def test_ties_broken_by_lower_index_and_inf_last():
    s = np.array([[1, 1, 1, 1, -np.inf, 2]], dtype=np.float32)
    idx, _ = topk_rows(s, 3)
    assert idx.tolist() == [[5, 0, 1]]
    idx, vals = topk_rows(s, 10)
    assert idx.tolist() == [[5, 0, 1, 2, 3, 4]] and np.isneginf(vals[0, -1])


@settings(max_examples=60)
@given(arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 12)), elements=st.sampled_from([0.0, 1.0, 2.0, 0.5, -np.inf])), st.integers(0, 14))
def test_matches_naive(scores, k):
    idx, vals = topk_rows(scores, k)
    expected = naive(scores, min(k, scores.shape[1]))
    assert idx.shape == expected.shape
    assert np.array_equal(idx, expected)


# ---------------------------------------------------------------------- against np.lexsort, many seeded cases
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from cofirec.kernels.topk import topk_rows_masked  # noqa: E402

_POOL = np.array([0.0, -0.0, 1.0, 2.0, 0.5, -3.0, -np.inf, np.inf, np.nan])


def lexsort_reference(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: value descending, ties by the smaller column, -inf after finite values, NaN last."""
    b, m = scores.shape
    k = min(max(k, 0), m)
    idx = np.array([np.lexsort((np.arange(m), -row))[:k] for row in scores], dtype=np.int64).reshape(b, k)
    return idx, np.take_along_axis(scores, idx, axis=1)


def _random_scores(rng: np.random.Generator, b: int, m: int, dtype, tie_heavy: bool) -> np.ndarray:
    if tie_heavy:
        return rng.choice(_POOL, size=(b, m)).astype(dtype)
    s = rng.standard_normal((b, m)).astype(dtype)
    s[rng.random((b, m)) < 0.1] = -np.inf
    return s


def _assert_same(got, want):
    assert got[0].dtype == np.int64 and got[0].shape == want[0].shape
    assert np.array_equal(got[0], want[0])
    assert got[1].dtype == want[1].dtype
    np.testing.assert_array_equal(got[1], want[1])  # equal_nan, -inf included


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(40))
def test_matches_lexsort_reference(dtype, seed):
    rng = np.random.default_rng(seed)
    b, m = int(rng.integers(0, 7)), int(rng.integers(0, 40))
    scores = _random_scores(rng, b, m, dtype, tie_heavy=seed % 2 == 0)
    for k in sorted({0, 1, 3, m - 1, m, m + 2, int(rng.integers(0, m + 3))}):
        _assert_same(topk_rows(scores, k), lexsort_reference(scores, k))


def test_wide_rows_with_ties_and_dead_rows():
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 50, size=(60, 3000)).astype(np.float32)  # many ties at every cut
    scores[5] = -np.inf  # a row with nothing selectable
    scores[6, ::2] = np.nan
    for k in (1, 10, 100, 2999, 3000):
        _assert_same(topk_rows(scores, k), lexsort_reference(scores, k))


def test_non_contiguous_and_integer_inputs():
    rng = np.random.default_rng(3)
    base = rng.choice(_POOL[:6], size=(20, 30))
    view = base.T[::2]  # strided, not C-contiguous
    _assert_same(topk_rows(view, 5), lexsort_reference(np.ascontiguousarray(view), 5))
    ints = rng.integers(-5, 5, size=(8, 13))
    idx, vals = topk_rows(ints, 4)
    want_idx, want_vals = lexsort_reference(ints, 4)
    assert np.array_equal(idx, want_idx) and vals.dtype == ints.dtype and np.array_equal(vals, want_vals)


def test_input_is_left_untouched_and_bad_shape_refused():
    s = np.array([[3.0, 1.0, 2.0]])
    before = s.copy()
    topk_rows(s, 2)
    assert np.array_equal(s, before)
    with pytest.raises(ValueError, match="2-d"):
        topk_rows(np.zeros(4), 2)


# ---------------------------------------------------------------------- fused exclusion / allowed mask
def _masked_copy(scores, exclude, exclude_rows, allowed):
    out = scores.copy()
    if exclude is not None:
        ex = sp.csr_matrix(exclude)
        rows = np.arange(len(scores)) if exclude_rows is None else exclude_rows
        for r, er in enumerate(rows):
            if er >= 0:
                out[r, ex.indices[ex.indptr[er] : ex.indptr[er + 1]]] = -np.inf
    if allowed is not None:
        out[:, ~allowed] = -np.inf
    return out


def _random_exclude(rng, n_rows, m, density):
    ex = sp.random(n_rows, m, density=density, format="csr", random_state=rng, dtype=np.float64)
    ex.data[::3] = 0.0  # stored zeros still exclude
    return ex


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(30))
def test_masked_equals_topk_of_masked_copy(dtype, seed):
    rng = np.random.default_rng(100 + seed)
    b, m = int(rng.integers(1, 9)), int(rng.integers(1, 35))
    scores = _random_scores(rng, b, m, dtype, tie_heavy=seed % 2 == 1)
    n_ex = int(rng.integers(1, 12))
    exclude = _random_exclude(rng, n_ex, m, float(rng.choice([0.0, 0.2, 0.6, 1.0])))
    exclude_rows = rng.integers(-1, n_ex, size=b)
    allowed = rng.random(m) < 0.7 if seed % 3 else None
    before = scores.copy()
    for k in sorted({0, 1, 4, m, m + 1}):
        got = topk_rows_masked(scores, k, exclude=exclude, exclude_rows=exclude_rows, allowed=allowed)
        want = lexsort_reference(_masked_copy(scores, exclude, exclude_rows, allowed), k)
        _assert_same(got, want)
    assert np.array_equal(scores, before, equal_nan=True)  # the scores are never written


def test_masked_default_rows_unsorted_and_duplicate_indices():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    # row 0 excludes columns 3, 0 (unsorted, 0 twice); row 1 excludes column 2
    exclude = sp.csr_matrix((np.ones(4), np.array([3, 0, 0, 2]), np.array([0, 3, 4])), shape=(2, 5))
    assert not exclude.has_sorted_indices
    idx, vals = topk_rows_masked(scores, 5, exclude=exclude)
    assert idx.tolist() == [[1, 2, 4, 0, 3], [0, 1, 3, 4, 2]]
    assert vals.tolist() == [[4.0, 3.0, 1.0, -np.inf, -np.inf], [1.0, 1.0, 1.0, 1.0, -np.inf]]
    assert scores[0, 0] == 5.0  # not modified


def test_masked_refuses_inconsistent_arguments():
    scores = np.zeros((3, 4))
    with pytest.raises(ValueError, match="columns"):
        topk_rows_masked(scores, 2, exclude=sp.csr_matrix((3, 5)))
    with pytest.raises(ValueError, match="exclude_rows"):
        topk_rows_masked(scores, 2, exclude=sp.csr_matrix((2, 4)))
    with pytest.raises(ValueError, match="exclude_rows"):
        topk_rows_masked(scores, 2, exclude=sp.csr_matrix((2, 4)), exclude_rows=np.array([0, 1]))
    with pytest.raises(ValueError, match="row 5"):
        topk_rows_masked(scores, 2, exclude=sp.csr_matrix((2, 4)), exclude_rows=np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="allowed"):
        topk_rows_masked(scores, 2, allowed=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="without exclude"):
        topk_rows_masked(scores, 2, exclude_rows=np.array([0, 1, 2]))


@pytest.mark.parametrize("seed", range(4))
def test_serial_kernel_equals_parallel(seed):
    rng = np.random.default_rng(seed)
    scores = _random_scores(rng, 30, 50, np.float32, tie_heavy=bool(seed % 2))
    ex = sp.random(40, 50, density=0.2, format="csr", random_state=seed)
    rows = rng.integers(-1, 40, 30)
    allowed = rng.random(50) < 0.7
    a = topk_rows_masked(scores, 7, exclude=ex, exclude_rows=rows, allowed=allowed)
    b = topk_rows_masked(scores, 7, exclude=ex, exclude_rows=rows, allowed=allowed, parallel=False)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1], equal_nan=True)


def test_non_contiguous_float_scores_keep_masked_values_inf():
    """Regression: a Fortran-order float block (e.g. a broadcast row's astype) was copied to C order and the
    values were then read back from the original array, so excluded entries came back with real scores."""
    scores = np.asfortranarray(np.tile(np.arange(6, dtype=np.float32), (2, 1)))
    allowed = np.array([True, True, False, False, False, False])
    idx, vals = topk_rows_masked(scores, 4, allowed=allowed)
    assert idx.tolist() == [[1, 0, 2, 3]] * 2
    assert np.isneginf(vals[:, 2:]).all() and vals[:, :2].tolist() == [[1.0, 0.0]] * 2
