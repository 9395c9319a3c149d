"""Dot product of user and item embeddings plus user, item and global biases."""

from __future__ import annotations

import torch
from torch import nn


class DotProduct(nn.Module):
    """score(u, i) = p_u . q_i + b_u + b_i + b, optionally squashed to ``output_range`` by a sigmoid.

    Parameters
    ----------
    n_users, n_items, factors : int
        Table sizes and embedding width d.
    biases : bool
        Learn per-user, per-item and global biases.
    output_range : (lo, hi) or None
        When given, the output is ``sigmoid(x) * (hi - lo) + lo`` (fastai's ``y_range``).
    """

    trains_on_score_all = True
    """``score_all`` is differentiable and cheap enough for the full-softmax loss."""

    def __init__(self, n_users: int, n_items: int, factors: int, biases: bool = True, output_range: tuple[float, float] | None = None) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(n_users, factors)
        self.item_emb = nn.Embedding(n_items, factors)
        self.biases = biases
        if biases:
            self.user_bias = nn.Embedding(n_users, 1)
            self.item_bias = nn.Embedding(n_items, 1)
            self.global_bias = nn.Parameter(torch.zeros(()))
        self.output_range = output_range

    def _squash(self, x: torch.Tensor) -> torch.Tensor:
        if self.output_range is None:
            return x
        lo, hi = self.output_range
        return torch.sigmoid(x) * (hi - lo) + lo

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores (n,) for index pairs (n,)."""
        x = (self.user_emb(users) * self.item_emb(items)).sum(dim=-1)
        if self.biases:
            x = x + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + self.global_bias
        return self._squash(x)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for each user: (b, n_items), one matrix product."""
        return self.score_rows(tuple(table(users) for table in self.user_tables()))

    def user_tables(self) -> tuple[nn.Embedding, ...]:
        """The per-user parameter tables (embedding, and bias with ``biases``): all a user is to the module."""
        return (self.user_emb, self.user_bias) if self.biases else (self.user_emb,)

    def score_rows(self, rows: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Scores of every item (b, n_items) for users given by their rows of :meth:`user_tables` (new users)."""
        x = rows[0] @ self.item_emb.weight.T
        if self.biases:
            x = x + rows[1] + self.item_bias.weight.T + self.global_bias
        return self._squash(x)

    def item_vectors(self) -> torch.Tensor:
        """Item embeddings (n_items, factors)."""
        return self.item_emb.weight

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of ||p_u||^2 + ||q_i||^2 (biases included when present)."""
        sq = self.user_emb(users).pow(2).sum(-1) + self.item_emb(items).pow(2).sum(-1)
        if self.biases:
            sq = sq + self.user_bias(users).pow(2).squeeze(-1) + self.item_bias(items).pow(2).squeeze(-1)
        return sq.mean()

    @torch.no_grad()
    def reset_output(self, mean_target: float) -> None:
        """Start the global bias at the mean training target (no-op with a sigmoid output range)."""
        if self.biases and self.output_range is None:
            self.global_bias.fill_(float(mean_target))
