"""ModelState's id look-ups: the hash fast path agrees with the id policy of ``IdMap.lookup`` for every spelling."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cofirec.data.idmap import IdMap
from cofirec.errors import UnknownIdError
from cofirec.serve.state import ModelState, RatingScale


def _state(user_ids, item_ids, titles=None) -> ModelState:
    model = SimpleNamespace(user_map_=IdMap(np.asarray(user_ids)), item_map_=IdMap(np.asarray(item_ids)))
    return ModelState(model=model, version="v", model_dir=None, loaded_at=0.0, scale=RatingScale("explicit", 1, 5), titles=titles)  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["7", 7, "007", " 7", "7.0", "-3", "abc", "", "99", "1e3", "٧"])
def test_integer_ids_match_the_id_policy(given):
    state = _state([1, 7, 1000, -3], [5])
    expected = int(state.model.user_map_.lookup(np.asarray([str(given)]))[0])
    assert state._index_of("user", given) == expected
    assert state.user_raw(given) == (None if expected < 0 else state.model.user_map_.ids[expected].item())


@pytest.mark.parametrize("given", ["a", "b c", "B", " a", "7", "", "x" * 300])
def test_text_ids_match_the_id_policy(given):
    state = _state(["a", "b c", "7", "Zed"], ["i1"])
    expected = int(state.model.user_map_.lookup(np.asarray([str(given)]))[0])
    assert state._index_of("user", given) == expected


def test_items_and_titles():
    state = _state([1], [10, 20, 30], titles=np.array(["Ten", "", "Thirty"]))
    assert state.item_raw("20") == 20 and isinstance(state.item_raw(20), int)
    with pytest.raises(UnknownIdError, match="unknown item '21'"):
        state.item_raw("21")
    assert state.title([30, 10, 20, 99]) == ["Thirty", "Ten", None, None]
    assert state.title(["10", 30]) == ["Ten", "Thirty"]  # ids given as text take the policy's path
