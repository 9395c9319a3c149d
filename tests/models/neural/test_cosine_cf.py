import numpy as np
import pytest
import torch

from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError, DataError
from cofirec.models.neural.cosine_cf import CosineCF
from cofirec.testing import check_recommender


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("COFIREC_THREADS", "1")


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=60, n_items=40, seed=1)


def test_contract_binary(data):
    check_recommender(lambda: CosineCF(factors=8, epochs=2, batch_size=128), data.binarize(4.0))


def test_contract_implicit_with_negatives(data):
    model = check_recommender(lambda: CosineCF(factors=8, epochs=2, batch_size=128, negatives=2), data.as_implicit())
    assert model.history_[0]["samples"] > 0


def test_probability_is_shifted_cosine(data):
    binary = data.binarize(4.0)
    model = CosineCF(factors=8, epochs=2, batch_size=128).fit(binary)
    users, items = binary.user_map.ids[:30], binary.item_map.ids[:30]
    p = model.predict(users, items)
    u = model.module_.user.weight.detach().numpy()[model.user_map_.lookup(users)]
    v = model.module_.item.weight.detach().numpy()[model.item_map_.lookup(items)]
    cos = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    assert np.allclose(p, (cos + 1) / 2, atol=1e-5)
    full = model.score_users(users[:3])
    assert np.allclose(full[np.arange(3), model.item_map_.lookup(items[:3])], p[:3], atol=1e-5)
    assert (full >= 0).all() and (full <= 1).all()


def test_logit_matches_log_loss():
    """The module's logit 2*atanh(cos) makes BCE-with-logits equal to log loss on (cos + 1) / 2."""
    from cofirec.models.neural.modules.cosine import CosineNet

    net = CosineNet(5, 4, 3)
    u, i = torch.tensor([0, 1, 2, 4]), torch.tensor([0, 3, 2, 1])
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    p = (net.cosine(u, i) + 1) / 2
    manual = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(net(u, i), y)
    assert torch.allclose(manual, bce, atol=1e-5)


def test_learns_planted_structure():
    binary = make_synthetic(n_users=120, n_items=60, seed=4).binarize(4.0)
    model = CosineCF(factors=8, epochs=15, batch_size=128, lr=0.01, holdout=0.0).fit(binary)
    frame = binary.to_frame()
    p = model.predict(frame["user"], frame["item"])
    y = frame["rating"].to_numpy() > 0.5
    assert p[y].mean() > p[~y].mean() + 0.15


def test_rejects_explicit_and_bad_params(data):
    with pytest.raises(DataError, match="binary"):
        CosineCF(epochs=1).fit(data)
    with pytest.raises(ConfigError, match="log loss"):
        CosineCF(loss="mse").fit(data.binarize())
    with pytest.raises(ConfigError, match="factors"):
        CosineCF(factors=0).fit(data.binarize())
    with pytest.raises(ConfigError, match="negatives"):
        CosineCF(epochs=1).fit(data.as_implicit())
