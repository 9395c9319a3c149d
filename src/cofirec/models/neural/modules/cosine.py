"""CosineCF network: cosine similarity of a user and an item embedding, read as a like probability."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_EPS = 1e-6


class CosineNet(nn.Module):
    """``p(like) = (cos(p_u, q_i) + 1) / 2``.

    :meth:`forward` returns the matching logit ``2 * atanh(cos)`` (``sigmoid(2 atanh c) = (1 + c) / 2``), so the
    log loss on ``p`` is ``binary_cross_entropy_with_logits`` on the output; ``cos`` is clamped to
    ``[-1 + 1e-6, 1 - 1e-6]`` to keep the logit finite.
    """

    def __init__(self, n_users: int, n_items: int, dim: int = 64) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)

    def cosine(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Cosine similarity (B,) of (user index, item index) pairs."""
        return F.cosine_similarity(self.user(users), self.item(items), dim=1, eps=1e-8)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits (B,) whose sigmoid is ``(cos + 1) / 2``."""
        c = self.cosine(users, items).clamp(-1.0 + _EPS, 1.0 - _EPS)
        return 2.0 * torch.atanh(c)

    @torch.no_grad()
    def unit_vectors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """L2-normalised user (n_users, d) and item (n_items, d) embeddings: ``p = (U @ I.T + 1) / 2``."""
        return F.normalize(self.user.weight, dim=1, eps=1e-8), F.normalize(self.item.weight, dim=1, eps=1e-8)

    def user_tables(self) -> tuple[nn.Embedding, ...]:
        """The per-user parameter tables: all a user is to the module."""
        return (self.user,)

    def score_rows(self, rows: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Logits (b, n_items) for users given by their rows of :meth:`user_tables` (new users)."""
        cos = F.normalize(rows[0], dim=1, eps=1e-8) @ F.normalize(self.item.weight, dim=1, eps=1e-8).T
        return 2.0 * torch.atanh(cos.clamp(-1.0 + _EPS, 1.0 - _EPS))
