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
