"""Two-tower retrieval network: a user tower and an item tower (field embeddings -> MLP), dot-product score."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cofirec.models.neural.modules.deepfm import EntityTable, FieldEmbedder, mlp


class Tower(nn.Module):
    """Field embeddings of one side (``id`` + features), concatenated, then an MLP to ``out_dim``."""

    def __init__(self, spec: dict, dim: int, hidden: Sequence[int], out_dim: int, dropout: float, id_dropout: float = 0.0) -> None:
        super().__init__()
        self.fields = FieldEmbedder(spec["single_cards"], spec["multi_cards"], spec["multi_lens"], dim)
        self.net = mlp(self.fields.n_fields * dim, hidden, dropout, out_dim=out_dim)
        self.id_dropout = id_dropout

    def forward(self, single: torch.Tensor, multi: torch.Tensor) -> torch.Tensor:
        """Vectors (B, out_dim) from field indices (B, S) and (B, L).

        In training mode the ``id`` field (column 0) is set to unknown (0) with probability ``id_dropout``, so
        the tower also learns to place new users/items from their features alone.
        """
        if self.training and self.id_dropout > 0 and single.shape[1] > 1:
            drop = torch.rand(single.shape[0], device=single.device) < self.id_dropout
            single = single.clone()
            single[:, 0] = torch.where(drop, torch.zeros_like(single[:, 0]), single[:, 0])
        vecs, _ = self.fields(single, multi)
        return self.net(vecs.flatten(1))


class TwoTowerNet(nn.Module):
    """``score(u, i) = <f(user fields), g(item fields)>``; with ``normalize`` both vectors are unit length.

    Parameters
    ----------
    user_spec, item_spec : dict
        ``EncodedFeatures.spec()`` of the user / item tables (``id`` field first).
    n_users, n_items : int
        Rows of the tables kept as buffers.
    dim : int
        Field embedding size.
    hidden : sequence of int
        Hidden widths of each tower.
    out_dim : int
        Size of the user and item vectors.
    dropout : float
        Dropout after hidden layers.
    normalize : bool
        L2-normalise tower outputs (scores are cosines; a temperature scales them in the loss).
    id_dropout : float
        Training-time probability of hiding a row's ``id`` field (cold-start robustness).
    """

    def __init__(
        self,
        user_spec: dict,
        item_spec: dict,
        n_users: int,
        n_items: int,
        dim: int = 32,
        hidden: Sequence[int] = (128,),
        out_dim: int = 64,
        dropout: float = 0.0,
        normalize: bool = True,
        id_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.users = EntityTable(n_users, len(user_spec["single_cards"]), int(sum(user_spec["multi_lens"])))
        self.items = EntityTable(n_items, len(item_spec["single_cards"]), int(sum(item_spec["multi_lens"])))
        self.user_tower = Tower(user_spec, dim, hidden, out_dim, dropout, id_dropout)
        self.item_tower = Tower(item_spec, dim, hidden, out_dim, dropout, id_dropout)
        self.normalize = normalize

    def _out(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1, eps=1e-8) if self.normalize else x

    def user_vectors_from_features(self, single: torch.Tensor, multi: torch.Tensor) -> torch.Tensor:
        """User vectors (B, out_dim) from explicit field indices (``id`` field 0 for a new user)."""
        return self._out(self.user_tower(single, multi))

    def user_vectors(self, users: torch.Tensor) -> torch.Tensor:
        """User vectors (B, out_dim) of user indices."""
        return self.user_vectors_from_features(*self.users(users))

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        """Item vectors (B, out_dim) of item indices (every item, (n_items, out_dim), when ``items`` is None)."""
        if items is None:
            return self._out(self.item_tower(self.items.single, self.items.multi))
        return self._out(self.item_tower(*self.items(items)))

    @torch.no_grad()
    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item, (len(users), n_items): user vectors @ item vectors.T."""
        return self.user_vectors(users) @ self.item_vectors().T

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores (B,) of (user, item) index pairs."""
        return (self.user_vectors(users) * self.item_vectors(items)).sum(dim=1)
