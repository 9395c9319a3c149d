import numpy as np
import pytest

from cofirec.data.synthetic import make_synthetic
from cofirec.errors import ConfigError
from cofirec.models.neural.deepfm import DeepFM
from cofirec.models.registry import create_model
from cofirec.testing import check_recommender


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch):
    monkeypatch.setenv("COFIREC_THREADS", "1")  # the test machine's cores are shared


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=60, n_items=40, seed=1)


def _small(**kw) -> DeepFM:
    return DeepFM(**{"factors": 4, "hidden": (8,), "epochs": 2, "batch_size": 128, **kw})


def test_contract_binary(data):
    model = check_recommender(lambda: _small(), data.binarize(4.0))
    p = model.predict(data.user_map.ids[:40], data.item_map.ids[:40])
    assert ((p > 0) & (p < 1)).all(), "binary DeepFM predicts probabilities"
    assert model.loss_ == "bce" and model.user_spec_["names"][:2] == ["id", "gender"]


def test_contract_ratings(data):
    model = check_recommender(lambda: _small(title_tokens=True), data)
    assert model.loss_ == "mse" and "title" in model.item_spec_["names"]
    r = model.predict(data.user_map.ids[:40], data.item_map.ids[:40])
    assert (r >= 1).all() and (r <= 5).all()


def test_without_features_and_registry(data):
    model = create_model("deepfm", {"features": "none", "factors": "4", "hidden": "8", "epochs": "1"})
    assert isinstance(model, DeepFM) and model.hidden == (8,)
    model.fit(data.binarize())
    assert model.user_spec_["names"] == ["id", "history"] and model.item_encoder_ is None


def test_learns_planted_structure(data):
    """On synthetic data with planted factors DeepFM's like probabilities rank held-in likes above dislikes."""
    binary = make_synthetic(n_users=120, n_items=60, seed=4).binarize(4.0)
    model = DeepFM(factors=8, hidden=(16,), epochs=15, batch_size=128, lr=0.01, holdout=0.0).fit(binary)
    frame = binary.to_frame()
    p = model.predict(frame["user"], frame["item"])
    y = frame["rating"].to_numpy() > 0.5
    assert p[y].mean() > p[~y].mean() + 0.15
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]


def test_bad_params(data):
    with pytest.raises(ConfigError, match="factors"):
        DeepFM(factors=0).fit(data)
    with pytest.raises(ConfigError, match="dropout"):
        DeepFM(dropout=1.5).fit(data)
    with pytest.raises(ConfigError, match="hidden"):
        DeepFM(hidden=(8, 0)).fit(data)
    with pytest.raises(ConfigError, match="negatives"):
        DeepFM(epochs=1).fit(data.as_implicit())
    with pytest.raises(ConfigError, match="embed_dropout"):
        DeepFM(embed_dropout=-0.1).fit(data)
    with pytest.raises(ConfigError, match="norm"):
        DeepFM(norm="group").fit(data)
    with pytest.raises(ConfigError, match="id_reg"):
        DeepFM(id_reg=-1.0).fit(data)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_norm_and_embed_dropout_contract(data, norm):
    """The regularisation options keep the Recommender contract (save/load included) and add their layers."""
    from torch import nn

    model = check_recommender(lambda: _small(norm=norm, embed_dropout=0.3), data.binarize(4.0))
    kinds = {type(m) for m in model.module_.deep.modules()}
    assert (nn.BatchNorm1d if norm == "batch" else nn.LayerNorm) in kinds
    assert isinstance(model.module_.embed_dropout, nn.Dropout)


def test_id_reg_weights_the_id_embeddings_in_the_penalty(data):
    import torch

    net = _small(history=0).fit(data.binarize()).module_
    u, i = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 3])
    with torch.no_grad():
        us, _ = net.users(u)
        its, _ = net.items(i)
        ue = net.user_fields.embedding(us + net.user_fields.single_offsets).pow(2).sum(dim=(0, 2))
        ie = net.item_fields.embedding(its + net.item_fields.single_offsets).pow(2).sum(dim=(0, 2))
        ids, feats = float(ue[0] + ie[0]), float(ue[1:].sum() + ie[1:].sum())
        assert ids > 0 and feats > 0
        for w in (1.0, 30.0):
            net.id_reg = w
            assert float(net.penalty(u, i)) == pytest.approx((w * ids + feats) / 3, rel=1e-5)


def test_linear_and_multi_reg_add_first_order_weights_and_multi_valued_rows(data):
    """linear_reg penalises the first-order weights (ids id_reg times more), multi_reg the mean squared norm of each
    multi-valued field's entries (genres, history); checked against a by-hand sum."""
    import torch

    net = _small(history=5).fit(data.binarize()).module_
    u, i = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 3])
    with torch.no_grad():
        base = float(net.penalty(u, i))
        extra_lin, extra_multi = 0.0, 0.0
        for fields, (single, multi) in ((net.user_fields, net.users(u)), (net.item_fields, net.items(i))):
            idx = single + fields.single_offsets
            lin = fields.linear.weight[:, 0][idx].pow(2)
            extra_lin += float(net.id_reg * lin[:, 0].sum() + lin[:, 1:].sum())
            table = fields.embedding.weight
            for start, end in fields.multi_slices:
                for b in range(len(u)):
                    ids = [int(x) for x in multi[b, start:end] if x > 0]
                    offset = int(fields.multi_offsets[start])
                    if ids:
                        extra_multi += float(table[[offset + x for x in ids]].pow(2).sum(dim=1).mean())
        assert extra_lin > 0 and extra_multi > 0
        net.linear_reg, net.multi_reg = 2.0, 0.5
        assert float(net.penalty(u, i)) == pytest.approx(base + (2.0 * extra_lin + 0.5 * extra_multi) / 3, rel=1e-5)
    with pytest.raises(ConfigError, match="linear_reg"):
        DeepFM(linear_reg=-1.0).fit(data)
    with pytest.raises(ConfigError, match="multi_reg"):
        DeepFM(multi_reg=-0.5).fit(data)


@pytest.mark.parametrize("mode", ["detached", "separate"])
def test_deep_embeddings_contract(data, mode):
    model = check_recommender(lambda: _small(deep_embeddings=mode, history=5), data.binarize(4.0))
    assert model.module_.deep_embeddings == mode
    assert hasattr(model.module_, "deep_user_fields") == (mode == "separate")


def test_no_hidden_layers_is_a_plain_factorisation_machine(data):
    import torch

    model = check_recommender(lambda: _small(hidden=(), history=5), data.binarize(4.0))
    net = model.module_
    assert net.deep is None
    u, i = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    with torch.no_grad():
        assert torch.allclose(net(u, i), _fm_output(net, u, i, history=5), atol=1e-6)


def test_fm_fields_ids_crosses_only_user_id_item_id_and_history(data):
    """fm_fields="ids": the pairwise part is p_u.q_i + h_u.q_i + p_u.h_u (h_u = mean history vector); the side
    features keep their first-order weights."""
    import torch

    model = check_recommender(lambda: _small(hidden=(), history=5, fm_fields="ids"), data.binarize(4.0))
    net = model.module_
    names = model.user_spec_["names"]
    u, i = torch.tensor([0, 1, 2]), torch.tensor([3, 4, 5])
    with torch.no_grad():
        u_single, u_multi = net.users(u)
        hist = u_multi[:, -5:]
        u_multi = torch.cat([u_multi[:, :-5], hist.masked_fill(hist == i[:, None] + 1, 0)], dim=1)
        ue, ul = net.user_fields(u_single, u_multi)
        ie, il = net.item_fields(*net.items(i))
        p, h, q = ue[:, 0], ue[:, names.index("history")], ie[:, 0]
        expected = net.bias + ul + il + (p * q).sum(1) + (h * q).sum(1) + (p * h).sum(1)
        assert torch.allclose(net(u, i), expected, atol=1e-6)
    with pytest.raises(ConfigError, match="fm_fields"):
        DeepFM(fm_fields="some").fit(data)


def _fm_output(net, users, items, history: int = 0):
    """bias + first-order + FM pairwise terms, without the deep part (reference for the gradient tests)."""
    import torch

    u_single, u_multi = net.users(users)
    if history:
        hist = u_multi[:, -history:]
        u_multi = torch.cat([u_multi[:, :-history], hist.masked_fill(hist == items[:, None] + 1, 0)], dim=1)
    ue, ul = net.user_fields(u_single, u_multi)
    ie, il = net.item_fields(*net.items(items))
    fields = torch.cat([ue, ie], dim=1)
    return net.bias + ul + il + 0.5 * (fields.sum(dim=1).pow(2) - fields.pow(2).sum(dim=1)).sum(dim=1)


def test_detached_deep_part_sends_no_gradient_into_the_embeddings(data):
    """With deep_embeddings="detached" the embeddings get the FM part's gradient only; "shared" adds the MLP's."""
    import torch

    net = _small(deep_embeddings="detached", history=0).fit(data.binarize()).module_
    u, i = torch.tensor([0, 1, 2, 5]), torch.tensor([3, 4, 3, 7])

    def embedding_grad(fn):
        net.zero_grad()
        fn(u, i).sum().backward()
        return net.user_fields.embedding.weight.grad.clone(), net.deep[0].weight.grad

    full, deep_grad = embedding_grad(net)
    fm_only, _ = embedding_grad(lambda a, b: _fm_output(net, a, b))
    assert torch.allclose(full, fm_only, atol=1e-6) and deep_grad is not None and deep_grad.abs().sum() > 0
    net.deep_embeddings = "shared"
    shared, _ = embedding_grad(net)
    assert not torch.allclose(shared, fm_only, atol=1e-6)


def test_separate_deep_embeddings_are_penalised(data):
    import torch

    net = _small(deep_embeddings="separate", history=0).fit(data.binarize()).module_
    u, i = torch.tensor([0, 1]), torch.tensor([3, 4])
    with torch.no_grad():
        both = float(net.penalty(u, i))
        net.deep_user_fields.embedding.weight.zero_()
        net.deep_item_fields.embedding.weight.zero_()
        assert float(net.penalty(u, i)) < both
    with pytest.raises(ConfigError, match="deep_embeddings"):
        DeepFM(deep_embeddings="tied").fit(data)


def test_defaults_use_history_and_input_dropout(data):
    """The benchmark-chosen defaults: item history (capped at the longest history), dropout on the field inputs."""
    model = DeepFM(epochs=1).fit(data.binarize())
    longest = int(np.bincount(data.users).max())  # the history field is built from every row given to fit
    assert model.user_spec_["names"][-1] == "history" and model.user_spec_["multi_lens"][-1] == min(400, longest)
    assert model.module_.history == model.user_spec_["multi_lens"][-1]
    assert model.factors == 32 and model.dropout == 0.0 and model.embed_dropout == 0.2 and model.id_reg == 30.0


def test_implicit_with_sampled_negatives(data):
    model = _small(negatives=2).fit(data.as_implicit())
    samples = model.history_[0]["samples"]  # each positive plus 2 sampled negatives
    assert samples % 3 == 0 and samples > 2 * len(data)


@pytest.mark.realdata
def test_ml100k_binary_beats_popularity(real_data):
    folder = real_data("ml-100k/u.data").parent
    from cofirec.data.movielens import load_movielens_100k
    from cofirec.data.splits import random_split
    from cofirec.evaluate.runner import evaluate
    from cofirec.models.baselines import Popularity

    data = load_movielens_100k(folder).binarize(4.0)
    train, test = random_split(data, 0.2, seed=0)
    pop = evaluate(Popularity(by="rating").fit(train), test, protocol="binary")
    model = DeepFM(factors=16, hidden=(32,), dropout=0.0, history=0, epochs=3, batch_size=4096, lr=0.005, holdout=0.0).fit(train)
    res = evaluate(model, test, protocol="binary")
    assert model.user_spec_["names"] == ["id", "age", "gender", "occupation", "zip"]
    assert res["auc"] > pop["auc"] + 0.04, (res, pop)  # measured: ~0.775 vs 0.709
    assert res["logloss"] < pop["logloss"]


def test_history_field_masks_the_scored_item(data):
    import torch

    model = _small(history=5).fit(data.binarize())
    assert model.user_spec_["names"][-1] == "history"
    net = model.module_
    u = torch.tensor([0])
    hist = net.users.multi[0, -5:]
    item = int(hist[0]) - 1  # an item in user 0's history
    single, multi = net.users(u)
    masked = multi.clone()
    masked[0, -5:] = torch.where(hist == item + 1, torch.zeros_like(hist), hist)
    with torch.no_grad():
        expected = net.forward_features(single, masked, *net.items(torch.tensor([item])))
        assert torch.allclose(net(u, torch.tensor([item])), expected)
        assert not torch.allclose(net.forward_features(single, multi, *net.items(torch.tensor([item]))), expected)


def test_cold_start_user_rows_match_the_table_with_history(data):
    """Encoded new users get an empty history block, so ``forward_features`` scores them."""
    import torch

    model = _small(history=5).fit(data.binarize())
    enc = model.encode_user_features({"gender": "F", "age": 25})
    assert enc.names == model.user_spec_["names"] and enc.multi.shape[1] == model.module_.users.multi.shape[1]
    assert (enc.multi[:, -5:] == 0).all()
    items = torch.arange(3)
    with torch.no_grad():
        p = model.module_.forward_features(torch.as_tensor(enc.single).repeat(3, 1), torch.as_tensor(enc.multi).repeat(3, 1), *model.module_.items(items))
    assert p.shape == (3,) and torch.isfinite(p).all()


def test_field_embedder_pools_multi_valued_fields_by_mean():
    """Single fields look up one row; each multi-valued field averages its non-padding rows (zeros when empty);
    the first-order term sums single weights and per-field mean weights. Checked against a loop reference."""
    import torch

    from cofirec.models.neural.modules.deepfm import FieldEmbedder

    torch.manual_seed(0)
    emb = FieldEmbedder(single_cards=[5, 3], multi_cards=[4, 6], multi_lens=[2, 3], dim=4, linear=True)
    single = torch.tensor([[1, 2], [4, 0], [0, 1]])
    multi = torch.tensor([[1, 3, 5, 0, 2], [0, 0, 0, 0, 0], [2, 0, 1, 1, 4]])
    with torch.no_grad():
        vecs, lin = emb(single, multi)
        table, weights = emb.embedding.weight.detach(), emb.linear.weight[:, 0].detach()
    for b in range(3):
        rows = [int(single[b, 0]), 5 + int(single[b, 1])]
        expected_lin = float(weights[rows].sum())
        for f, (start, off) in enumerate([(0, 8), (2, 12)]):
            width = 2 if f == 0 else 3
            ids = [off + int(i) for i in multi[b, start : start + width] if i > 0]
            mean = table[ids].mean(dim=0) if ids else torch.zeros(4)
            assert torch.allclose(vecs[b, 2 + f], mean, atol=1e-6)
            expected_lin += float(weights[ids].mean()) if ids else 0.0
        assert torch.allclose(vecs[b, :2], table[rows], atol=1e-6)
        assert float(lin[b]) == pytest.approx(expected_lin, abs=1e-6)
