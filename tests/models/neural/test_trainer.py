"""Trainer machinery: seeding, early stopping with restore, history persistence, negative sampling, losses."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from cofirec import load
from cofirec.data.splits import validation_split
from cofirec.data.synthetic import make_planted_implicit, make_synthetic
from cofirec.errors import ConfigError, DataError
from cofirec.models.neural.batching import NegativeSampler, batch_indices, expand_pointwise
from cofirec.models.neural.embedding_dot import EmbeddingDot
from cofirec.models.neural.losses import bpr_loss, full_softmax_loss, ordinal_loss, softmax_loss
from cofirec.models.neural.ncf import GMF, MLP


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=80, n_items=50, seed=3)


def _weights(model):
    return {k: v.clone() for k, v in model.module_.state_dict().items()}


def test_same_seed_same_weights_different_seed_differs(data):
    imp = data.as_implicit()
    a = MLP(layers=(16, 8), dropout=0.2, epochs=2, batch_size=128, random_state=5).fit(imp)
    b = MLP(layers=(16, 8), dropout=0.2, epochs=2, batch_size=128, random_state=5).fit(imp)
    c = MLP(layers=(16, 8), dropout=0.2, epochs=2, batch_size=128, random_state=6).fit(imp)
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    assert [r["loss"] for r in a.history_] == [r["loss"] for r in b.history_]


def test_fit_leaves_global_rng_alone(data):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    GMF(factors=4, epochs=1).fit(data)
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_restores_best_weights(data):
    train, val = validation_split(data, ratio=0.2, seed=0)
    model = EmbeddingDot(factors=32, lr=0.05, epochs=40, patience=3, batch_size=64, biases=False)
    model.fit(train, validation=val)
    rmse = [r["val_rmse"] for r in model.history_]
    best = int(np.argmin(rmse))
    assert model.stopped_early_ and len(rmse) < 40, "an overfitting model must stop early"
    assert model.best_epoch_ == best + 1
    assert rmse[-1] > rmse[best], "the last epoch is worse than the best one"
    frame = val.to_frame()
    pred, known = model.predict(frame["user"], frame["item"], return_known=True)
    err = (pred - frame["rating"].to_numpy())[known]
    assert np.sqrt(np.mean(err**2)) == pytest.approx(rmse[best], abs=1e-4)


def test_history_recorded_and_saved(data, tmp_path):
    model = GMF(factors=8, epochs=3, holdout=0.1, patience=0).fit(data.as_implicit())
    assert [r["epoch"] for r in model.history_] == [1, 2, 3]
    for key in ("loss", "val_loss", "val_hr@10", "val_ndcg@10", "seconds", "samples_per_s"):
        assert all(np.isfinite(r[key]) for r in model.history_), key
    model.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert again.history_ == model.history_
    assert again.best_epoch_ == model.best_epoch_ and again.loss_ == "bce"


def test_callbacks_see_every_epoch(data):
    seen = []
    EmbeddingDot(factors=4, epochs=3).fit(data, callbacks=[lambda m, rec: seen.append(rec["epoch"])])
    assert seen == [1, 2, 3]


def test_training_reduces_loss(data):
    model = EmbeddingDot(factors=8, epochs=8, lr=0.01, batch_size=128).fit(data)
    losses = [r["loss"] for r in model.history_]
    assert losses[-1] < 0.8 * losses[0]


# ---------------------------------------------------------------------- negative sampling
def test_sampler_never_returns_known_items():
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 40
    dense = rng.random((n_users, n_items)) < rng.uniform(0.05, 0.97, n_users)[:, None]
    dense[:, 0] = False  # every user has at least one free item
    known = sp.csr_matrix(dense.astype(np.float32))
    sampler = NegativeSampler(known, torch.Generator().manual_seed(0))
    users = torch.arange(n_users).repeat(50)
    neg = sampler.sample(users, 7).numpy()
    assert neg.shape == (len(users), 7)
    assert not dense[users.numpy()[:, None], neg].any()
    assert neg.min() >= 0 and neg.max() < n_items


def test_sampler_is_seeded_and_refuses_full_users():
    known = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=np.float32))
    a = NegativeSampler(known, torch.Generator().manual_seed(1)).sample(torch.tensor([0, 0, 0]), 5)
    b = NegativeSampler(known, torch.Generator().manual_seed(1)).sample(torch.tensor([0, 0, 0]), 5)
    assert torch.equal(a, b) and set(a.flatten().tolist()) <= {2, 3}
    with pytest.raises(DataError, match="every item"):
        NegativeSampler(known).sample(torch.tensor([1]), 2)


def test_batches_partition_a_permutation():
    idx = torch.cat(list(batch_indices(103, 10, torch.Generator().manual_seed(0))))
    assert sorted(idx.tolist()) == list(range(103)) and idx.tolist() != list(range(103))


def test_expand_pointwise_labels_negatives_zero():
    u, i, t = torch.tensor([0, 1]), torch.tensor([5, 6]), torch.ones(2)
    out = expand_pointwise(u, i, t, torch.tensor([[1, 2], [3, 4]]))
    assert out.users.tolist() == [0, 1, 0, 0, 1, 1]
    assert out.items.tolist() == [5, 6, 1, 2, 3, 4]
    assert out.targets.tolist() == [1, 1, 0, 0, 0, 0]


# ---------------------------------------------------------------------- losses and parameters
def test_pairwise_losses_by_hand():
    pos, neg = torch.tensor([2.0]), torch.tensor([[0.0, 1.0]])
    expected_bpr = -(np.log(1 / (1 + np.exp(-2.0))) + np.log(1 / (1 + np.exp(-1.0)))) / 2
    assert float(bpr_loss(pos, neg)) == pytest.approx(expected_bpr, rel=1e-6)
    expected_sm = -np.log(np.exp(2.0) / (np.exp(2.0) + np.exp(0.0) + np.exp(1.0)))
    assert float(softmax_loss(pos, neg)) == pytest.approx(expected_sm, rel=1e-6)


def test_ordinal_loss_by_hand():
    logits, ratings = torch.tensor([0.5, -1.0]), torch.tensor([4.0, 2.0])
    levels, offsets = torch.tensor([3.0, 4.0]), torch.tensor([1.0, 0.0])

    def bce(z, y):
        p = 1 / (1 + np.exp(-z))
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    expected = (bce(1.5, 1) + bce(0.5, 1) + bce(0.0, 0) + bce(-1.0, 0)) / 4
    assert float(ordinal_loss(logits, ratings, levels, offsets)) == pytest.approx(expected, rel=1e-6)


def test_ordinal_loss_learns_likes_from_the_whole_rating_scale():
    """On binarized data the ordinal loss sees 1-5 ratings, not only like/dislike: it ranks held-out likes
    better than BCE; sigmoid(score) stays P(rating >= threshold) (offset 0 at the threshold), and a saved
    model predicts the same probabilities."""
    from cofirec.data.splits import random_split
    from cofirec.evaluate.runner import evaluate

    train, test = random_split(make_synthetic(n_users=300, n_items=150, seed=2).binarize(4), 0.2, seed=0)
    common = dict(factors=8, negatives=0, epochs=12, lr=0.01, reg=0.01, batch_size=256, holdout=0.1, patience=3)
    ordinal = EmbeddingDot(loss="ordinal", **common).fit(train)
    bce = EmbeddingDot(loss="bce", **common).fit(train)
    auc_ord = evaluate(ordinal, test, protocol="binary")["auc"]
    assert auc_ord > evaluate(bce, test, protocol="binary")["auc"] + 0.02
    assert ordinal.ordinal_levels_ == [2.0, 3.0, 4.0, 5.0] and ordinal.ordinal_offsets_[2] == 0.0
    assert ordinal.ordinal_offsets_ == sorted(ordinal.ordinal_offsets_, reverse=True)
    frame = test.to_frame()
    p = ordinal.predict(frame["user"], frame["item"])
    assert 0 < p.min() and p.max() < 1


def test_ordinal_loss_needs_binarized_ratings(data):
    with pytest.raises(ConfigError, match="binary data made by Interactions.binarize"):
        EmbeddingDot(loss="ordinal", epochs=1).fit(data)
    labels_only = dataclasses.replace(data.binarize(4), raw_ratings=None)  # e.g. a file of 0/1 labels
    with pytest.raises(ConfigError, match="needs the ratings behind the labels"):
        EmbeddingDot(loss="ordinal", epochs=1).fit(labels_only)


def test_full_softmax_loss_by_hand():
    logits, target = torch.tensor([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]]), torch.tensor([0, 2])
    expected = -(np.log(np.exp(2.0) / (np.exp(2.0) + 1 + np.exp(1.0))) + np.log(1 / (2 + np.exp(3.0)))) / 2
    assert float(full_softmax_loss(logits, target)) == pytest.approx(expected, rel=1e-6)


def test_full_softmax_learns_preferences_beyond_popularity():
    """Softmax over every item, on taste-driven implicit data: held-out items rank far higher than under
    popularity, and each epoch counts every (positive, item) pair as scored."""
    from cofirec.data.splits import random_split
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.baselines import Popularity

    train, test = random_split(make_planted_implicit(), 0.2, seed=0)
    model = EmbeddingDot(factors=8, loss="full_softmax", lr=0.01, epochs=10, batch_size=128, holdout=0.0).fit(train)
    ours = evaluate(model, test, protocol="ranking", k=(10,))["ndcg@10"]
    pop = evaluate(Popularity().fit(train), test, protocol="ranking", k=(10,))["ndcg@10"]
    assert ours > pop + 0.1, (ours, pop)
    assert model.history_[0]["samples"] == len(train) * train.n_items


def test_full_softmax_needs_whole_catalogue_scoring(data):
    from cofirec.models.neural.deepfm import DeepFM

    class PairsOnly(EmbeddingDot):
        def _forward(self, module, users, items):  # extra inputs per pair: no one-shot scoring of every item
            return module(users, items)

    with pytest.raises(ConfigError, match="scores every item at once"):
        PairsOnly(loss="full_softmax", epochs=1).fit(data.as_implicit())
    with pytest.raises(ConfigError, match="scores every item at once"):
        DeepFM(loss="full_softmax", negatives=1, epochs=1, history=0).fit(data.as_implicit())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"loss": "bpr"}, "explicit ratings need loss='mse'"),
        ({"loss": "full_softmax"}, "explicit ratings need loss='mse'"),
        ({"init": "xavier"}, "unknown initialiser"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"holdout": 1.5}, "holdout"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters_raise_config_error(data, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        EmbeddingDot(epochs=1, **kwargs).fit(data)


def test_params_from_strings_and_clone():
    from cofirec.models.registry import create_model

    m = create_model("neumf", {"layers": "32,16,8", "lr": "0.01", "pretrain": "true", "loss": "bpr"})
    assert m.layers == (32, 16, 8) and m.lr == 0.01 and m.pretrain is True and m.loss == "bpr"
    assert m.clone().get_params() == m.get_params()


def test_recency_weights_halve_every_half_life():
    """Ages count each user's interactions back from the latest (timestamps, then row order); weights are
    0.5 ** (age / half_life), normalised to mean 1."""
    import pandas as pd

    from cofirec.data.dataset import Interactions

    frame = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [1, 2, 3, 1, 2], "rating": [5, 4, 3, 2, 1], "timestamp": [30, 10, 20, 5, 5]})
    data = Interactions.from_frame(frame)
    w = data.subset(np.arange(5)).recency_weights(1.0)
    raw = np.array([1.0, 0.25, 0.5, 0.5, 1.0])  # user 1: ages 0, 2, 1; user 2 (tied times): the later row is newest
    np.testing.assert_allclose(w, raw / raw.mean(), rtol=1e-6)
    np.testing.assert_allclose(data.subset(np.array([1, 2])).recency_weights(1.0), np.array([0.5, 1.0]) / 0.75, rtol=1e-6)


def test_weighted_losses_are_weighted_means():
    pos, neg, w = torch.tensor([2.0, 0.0]), torch.tensor([[0.0], [1.0]]), torch.tensor([3.0, 1.0])
    per_row = -torch.nn.functional.logsigmoid(pos[:, None] - neg)[:, 0]
    assert float(bpr_loss(pos, neg, w)) == pytest.approx(float((per_row * w).sum() / 4), rel=1e-6)
    assert float(bpr_loss(pos, neg, torch.ones(2))) == pytest.approx(float(bpr_loss(pos, neg)), rel=1e-6)
    logits, target = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0])
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    assert float(full_softmax_loss(logits, target, w)) == pytest.approx(float((ce * w).sum() / 4), rel=1e-6)


def test_recency_parameter_trains_every_loss_family(data):
    imp = data.as_implicit()
    for kw in ({"loss": "bce"}, {"loss": "bpr"}, {"loss": "full_softmax"}):
        model = EmbeddingDot(factors=4, epochs=2, batch_size=64, recency=10.0, **kw).fit(imp)
        assert np.isfinite(model.history_[-1]["loss"])
    EmbeddingDot(factors=4, epochs=2, batch_size=64, recency=10.0).fit(data)  # explicit MSE
    with pytest.raises(ConfigError, match="recency must be >= 0"):
        EmbeddingDot(recency=-1.0, epochs=1).fit(data)


def test_recency_follows_a_change_of_taste():
    """Users who watched group-A items long ago and group-B items lately: with recency weights the held-out
    next item (from group B) ranks higher than without them."""
    import pandas as pd

    from cofirec.data.dataset import Interactions
    from cofirec.evaluate.runner import evaluate

    rng = np.random.default_rng(0)
    rows = []
    for u in range(150):
        old = rng.choice(40, 24, replace=False)
        new = 40 + rng.choice(40, 7, replace=False)
        rows += [(u, int(i), t) for t, i in enumerate(old)] + [(u, int(i), 100 + t) for t, i in enumerate(new)]
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    data = Interactions.from_frame(frame, rating_col=None, name="drift")
    last = frame.groupby("user").timestamp.transform("max") == frame.timestamp
    train, test = data.subset(~last.to_numpy()), data.subset(last.to_numpy())
    common = dict(factors=8, loss="full_softmax", lr=0.02, epochs=8, batch_size=256)
    plain = evaluate(EmbeddingDot(**common).fit(train), test, protocol="ranking", k=(10,))["hr@10"]
    recent = evaluate(EmbeddingDot(recency=3.0, **common).fit(train), test, protocol="ranking", k=(10,))["hr@10"]
    assert recent > plain + 0.05, (recent, plain)


# ---------------------------------------------------------------------- the trainer's narrow interface (issue 11)
class _DotModule(torch.nn.Module):
    def __init__(self, n_users: int, n_items: int) -> None:
        super().__init__()
        self.u = torch.nn.Embedding(n_users, 4)
        self.i = torch.nn.Embedding(n_items, 4)

    def forward(self, users, items):
        return (self.u(users) * self.i(items)).sum(-1)


def test_trainer_works_through_the_hooks_alone():
    """No wrapper: a bare module, TrainingHooks of plain functions, epochs numbered from 1, RMSE through to_output."""
    from cofirec.models.neural.batching import PairTensors
    from cofirec.models.neural.trainer import TrainConfig, Trainer, TrainingHooks, ValidationSet

    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 20, 400), rng.integers(0, 15, 400)
    targets = ((users % 3) - (items % 2)).astype(np.float32)
    seen, scaled = [], []
    hooks = TrainingHooks(
        name="toy",
        n_items=15,
        forward=lambda m, u, i: m(u, i),
        forward_all=lambda m, u: m.u(u) @ m.i.weight.T,
        penalty=lambda m, u, i: torch.zeros(()),
        to_output=lambda s, u: scaled.append(len(s)) or s * 1.0,
        on_epoch=seen.append,
    )
    module = _DotModule(20, 15)
    val = ValidationSet(pairs=PairTensors.from_arrays(users[:50], items[:50], targets[:50]), ratings=torch.as_tensor(targets[:50]))
    trainer = Trainer(hooks, module, TrainConfig(epochs=4, batch_size=64, lr=0.05, loss="mse"), torch.Generator().manual_seed(0))
    records = trainer.fit(PairTensors.from_arrays(users, items, targets), val)
    assert [r["epoch"] for r in seen] == [1, 2, 3, 4] and records == seen
    assert scaled == [50] * 4 and all("val_rmse" in r for r in records)
    assert records[-1]["loss"] < records[0]["loss"]


def test_trainer_does_not_import_the_wrapper():
    """The trainer <-> NeuralRecommender cycle is gone: trainer.py imports nothing of the wrapper module."""
    import ast
    import inspect

    import cofirec.models.neural.trainer as trainer

    tree = ast.parse(inspect.getsource(trainer))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert "cofirec.models.neural.base" not in imported
    assert not any(
        isinstance(n, ast.Attribute) and n.attr.startswith("_") and isinstance(n.value, ast.Attribute) and n.value.attr == "model" for n in ast.walk(tree)
    )


def test_divergence_message_names_the_rating_range():
    from cofirec.models.neural.batching import PairTensors
    from cofirec.models.neural.trainer import TrainConfig, Trainer, TrainingHooks

    hooks = TrainingHooks(
        name="toy",
        n_items=3,
        forward=lambda m, u, i: m(u, i) * float("inf"),
        forward_all=lambda m, u: None,
        penalty=lambda m, u, i: torch.zeros(()),
        to_output=lambda s, u: s,
        on_epoch=lambda r: None,
        rating_range=(1.0, 5.0),
    )
    trainer = Trainer(hooks, _DotModule(3, 3), TrainConfig(epochs=1, batch_size=4, lr=0.1, loss="mse"), torch.Generator().manual_seed(0))
    with pytest.raises(DataError, match=r"toy: training diverged at epoch 1 .*ratings range from 1 to 5"):
        trainer.fit(PairTensors.from_arrays(np.array([0, 1, 2]), np.array([0, 1, 2]), np.ones(3, np.float32)))
