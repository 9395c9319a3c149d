"""Named weight initialisers for embeddings and dense layers.

Names (the ``init`` hyperparameter of every neural model):

=================  =================================================  =======================
name               distribution                                       scale
=================  =================================================  =======================
``he_normal``      N(0, std^2)                                        std = sqrt(2 / fan_in)
``he_uniform``     U(-a, a)                                           a = sqrt(6 / fan_in)
``lecun_normal``   N(0, std^2)                                        std = sqrt(1 / fan_in)
``lecun_uniform``  U(-a, a)                                           a = sqrt(3 / fan_in)
``glorot_normal``  N(0, std^2)                                        std = sqrt(2 / (fan_in + fan_out))
``glorot_uniform`` U(-a, a)                                           a = sqrt(6 / (fan_in + fan_out))
``random_uniform`` U(-a, a), ``random_uniform(a)``                    a = 0.05 by default
``normal``         N(0, std^2), ``normal(std)``                       std = 0.01 by default
=================  =================================================  =======================

Fans follow PyTorch's convention for a 2-d weight of shape (rows, cols): ``fan_in = cols`` and
``fan_out = rows``. For an ``nn.Linear`` (out, in) that is the usual fan in/out; for an ``nn.Embedding``
(n, d) ``fan_in`` is the embedding size ``d``, so a dot product of two embeddings starts at unit scale.
Biases are set to zero.
"""

from __future__ import annotations

import math
import re

import torch
from torch import nn

from cofirec.errors import ConfigError

INITIALISERS: tuple[str, ...] = (
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "random_uniform",
    "normal",
)
_DEFAULT_ARG = {"random_uniform": 0.05, "normal": 0.01}
_SPEC = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*([-+0-9.eE]+)\s*\))?\s*$")


def parse_init(spec: str) -> tuple[str, float | None]:
    """Split an initialiser name like ``"normal(0.01)"`` into ``("normal", 0.01)``.

    Raises :class:`ConfigError` for an unknown name, a bad number or an argument on a scheme that takes none.
    """
    m = _SPEC.match(spec or "")
    if not m or m.group(1) not in INITIALISERS:
        raise ConfigError(f"unknown initialiser {spec!r} (known: {', '.join(INITIALISERS)}; e.g. 'normal(0.01)')")
    name, arg = m.group(1), m.group(2)
    if arg is None:
        return name, _DEFAULT_ARG.get(name)
    if name not in _DEFAULT_ARG:
        raise ConfigError(f"initialiser {name!r} takes no argument (got {spec!r})")
    try:
        value = float(arg)
    except ValueError as exc:
        raise ConfigError(f"bad initialiser argument in {spec!r}") from exc
    if not value > 0:
        raise ConfigError(f"initialiser {spec!r}: the scale must be > 0")
    return name, value


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: (cols, rows) for 2-d, receptive field included for more dims."""
    if weight.dim() < 2:
        return int(weight.numel()), int(weight.numel())
    receptive = int(weight[0][0].numel()) if weight.dim() > 2 else 1
    return int(weight.shape[1]) * receptive, int(weight.shape[0]) * receptive


def init_scale(spec: str, weight: torch.Tensor) -> tuple[str, float]:
    """``("normal" | "uniform", scale)`` for a weight: the std of a normal or the bound ``a`` of U(-a, a)."""
    name, arg = parse_init(spec)
    fan_in, fan_out = fans(weight)
    if name == "he_normal":
        return "normal", math.sqrt(2.0 / fan_in)
    if name == "he_uniform":
        return "uniform", math.sqrt(6.0 / fan_in)
    if name == "lecun_normal":
        return "normal", math.sqrt(1.0 / fan_in)
    if name == "lecun_uniform":
        return "uniform", math.sqrt(3.0 / fan_in)
    if name == "glorot_normal":
        return "normal", math.sqrt(2.0 / (fan_in + fan_out))
    if name == "glorot_uniform":
        return "uniform", math.sqrt(6.0 / (fan_in + fan_out))
    if name == "random_uniform":
        return "uniform", float(arg)  # type: ignore[arg-type]
    return "normal", float(arg)  # type: ignore[arg-type]


@torch.no_grad()
def init_tensor_(weight: torch.Tensor, spec: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``weight`` in place from the named scheme (see module docstring); returns it."""
    dist, scale = init_scale(spec, weight)
    if dist == "normal":
        weight.normal_(0.0, scale, generator=generator)
    else:
        weight.uniform_(-scale, scale, generator=generator)
    return weight


@torch.no_grad()
def init_module_(module: nn.Module, spec: str, generator: torch.Generator | None = None, dense: str | None = None) -> nn.Module:
    """Initialise every ``nn.Embedding`` (scheme ``spec``) and ``nn.Linear`` (scheme ``dense``, default ``spec``)
    of ``module`` in place; biases to zero.

    Embeddings of width 1 are per-user/per-item bias tables and are set to zero as well.

    Submodules order is deterministic (registration order), so a seeded ``generator`` gives the same weights.
    Other parameters (e.g. a scalar global bias) are left to the module's own constructor.
    """
    dense = dense or spec
    parse_init(spec)  # fail early on a bad name
    parse_init(dense)
    for sub in module.modules():
        if isinstance(sub, nn.Embedding) and sub.embedding_dim == 1:
            sub.weight.zero_()
        elif isinstance(sub, nn.Embedding):
            init_tensor_(sub.weight, spec, generator)
        elif isinstance(sub, nn.Linear):
            init_tensor_(sub.weight, dense, generator)
            bias = getattr(sub, "bias", None)
            if bias is not None:
                bias.zero_()
    return module
