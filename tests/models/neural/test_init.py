"""Named initialisers: the weights' empirical statistics match each scheme's formula."""

import math

import pytest
import torch
from torch import nn

from cofirec.errors import ConfigError
from cofirec.models.neural.init import INITIALISERS, init_module_, init_tensor_, parse_init

ROWS, COLS = 400, 250  # fan_out, fan_in of a (rows, cols) weight

EXPECTED = {  # name -> (distribution, scale: std for normal, bound for uniform)
    "he_normal": ("normal", math.sqrt(2 / COLS)),
    "he_uniform": ("uniform", math.sqrt(6 / COLS)),
    "lecun_normal": ("normal", math.sqrt(1 / COLS)),
    "lecun_uniform": ("uniform", math.sqrt(3 / COLS)),
    "glorot_normal": ("normal", math.sqrt(2 / (COLS + ROWS))),
    "glorot_uniform": ("uniform", math.sqrt(6 / (COLS + ROWS))),
    "random_uniform": ("uniform", 0.05),
    "normal": ("normal", 0.01),
    "normal(0.1)": ("normal", 0.1),
    "random_uniform(0.2)": ("uniform", 0.2),
}


@pytest.mark.parametrize("spec", list(EXPECTED))
def test_statistics_match_scheme(spec):
    dist, scale = EXPECTED[spec]
    w = init_tensor_(torch.empty(ROWS, COLS), spec, torch.Generator().manual_seed(0))
    assert abs(float(w.mean())) < 0.02 * scale * 5
    if dist == "normal":
        assert float(w.std()) == pytest.approx(scale, rel=0.02)
        assert float(w.abs().max()) > scale * 3  # unbounded tails
    else:
        assert float(w.abs().max()) <= scale + 1e-7
        assert float(w.abs().max()) > 0.99 * scale
        assert float(w.std()) == pytest.approx(scale / math.sqrt(3), rel=0.02)  # std of U(-a, a)


def test_every_name_is_covered():
    assert set(INITIALISERS) <= {s.split("(")[0] for s in EXPECTED}


def test_module_init_linear_fans_and_zero_biases():
    lin = nn.Linear(COLS, ROWS)  # weight (ROWS, COLS): fan_in = COLS
    bias_table = nn.Embedding(50, 1)
    emb = nn.Embedding(ROWS, 32)
    mod = nn.ModuleList([lin, bias_table, emb])
    init_module_(mod, "he_normal", torch.Generator().manual_seed(1))
    assert float(lin.weight.detach().std()) == pytest.approx(math.sqrt(2 / COLS), rel=0.03)
    assert float(emb.weight.detach().std()) == pytest.approx(math.sqrt(2 / 32), rel=0.05)
    assert torch.count_nonzero(lin.bias.detach()) == 0 and torch.count_nonzero(bias_table.weight.detach()) == 0


def test_seeded_generator_is_reproducible():
    a = init_tensor_(torch.empty(10, 10), "glorot_uniform", torch.Generator().manual_seed(3))
    b = init_tensor_(torch.empty(10, 10), "glorot_uniform", torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("bad", ["xavier", "he_normal(2)", "normal(-1)", "normal(abc)", ""])
def test_bad_names_raise_config_error(bad):
    with pytest.raises(ConfigError):
        parse_init(bad)


def test_parse_defaults():
    assert parse_init("normal") == ("normal", 0.01)
    assert parse_init(" normal( 0.5 ) ") == ("normal", 0.5)
    assert parse_init("he_uniform") == ("he_uniform", None)
