"""Small first-order optimisers: Adam, AdamW, SGD with momentum, Adagrad.

Same update rules and defaults as ``torch.optim`` (checked against it in the tests), written out here
because constructing any ``torch.optim`` optimiser imports the compiler stack (``torch._dynamo``), which
costs several seconds per process, more than training a small model.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch

OPTIMIZERS = ("adam", "adamw", "sgd", "adagrad")


class Optimizer:
    """Base: holds the trainable parameters; ``step()`` applies one update from their ``.grad``."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float = 0.0) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._update(i, p, p.grad)

    def _update(self, i: int, p: torch.Tensor, g: torch.Tensor) -> None:
        raise NotImplementedError


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015); ``decoupled=True`` gives AdamW's weight decay (Loshchilov & Hutter 2019)."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0, betas=(0.9, 0.999), eps: float = 1e-8, decoupled: bool = False) -> None:
        super().__init__(params, lr, weight_decay)
        self.b1, self.b2 = betas
        self.eps = eps
        self.decoupled = decoupled
        self.t = [0] * len(self.params)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def _update(self, i: int, p: torch.Tensor, g: torch.Tensor) -> None:
        if self.weight_decay:
            if self.decoupled:
                p.mul_(1.0 - self.lr * self.weight_decay)
            else:
                g = g.add(p, alpha=self.weight_decay)
        self.t[i] += 1
        t = self.t[i]
        m, v = self.m[i], self.v[i]
        m.lerp_(g, 1.0 - self.b1)
        v.mul_(self.b2).addcmul_(g, g, value=1.0 - self.b2)
        bc1 = 1.0 - self.b1**t
        bc2 = 1.0 - self.b2**t
        denom = (v.sqrt() / math.sqrt(bc2)).add_(self.eps)
        p.addcdiv_(m, denom, value=-self.lr / bc1)


class SGD(Optimizer):
    """SGD with (heavy-ball) momentum and L2 weight decay, as ``torch.optim.SGD``."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0, momentum: float = 0.9) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = momentum
        self.buf: list[torch.Tensor | None] = [None] * len(self.params)

    def _update(self, i: int, p: torch.Tensor, g: torch.Tensor) -> None:
        if self.weight_decay:
            g = g.add(p, alpha=self.weight_decay)
        if self.momentum:
            buf = self.buf[i]
            if buf is None:
                buf = self.buf[i] = g.clone()
            else:
                buf.mul_(self.momentum).add_(g)
            g = buf
        p.add_(g, alpha=-self.lr)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011), as ``torch.optim.Adagrad`` with no learning-rate decay."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0, eps: float = 1e-10) -> None:
        super().__init__(params, lr, weight_decay)
        self.eps = eps
        self.sum = [torch.zeros_like(p) for p in self.params]

    def _update(self, i: int, p: torch.Tensor, g: torch.Tensor) -> None:
        if self.weight_decay:
            g = g.add(p, alpha=self.weight_decay)
        self.sum[i].addcmul_(g, g, value=1.0)
        p.addcdiv_(g, self.sum[i].sqrt().add_(self.eps), value=-self.lr)


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float = 0.0) -> Optimizer:
    """``"adam"``, ``"adamw"`` (decoupled decay), ``"sgd"`` (momentum 0.9) or ``"adagrad"`` over ``params``."""
    if name == "adam":
        return Adam(params, lr, weight_decay)
    if name == "adamw":
        return Adam(params, lr, weight_decay, decoupled=True)
    if name == "sgd":
        return SGD(params, lr, weight_decay)
    if name == "adagrad":
        return Adagrad(params, lr, weight_decay)
    from cofirec.errors import ConfigError

    raise ConfigError(f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})")
