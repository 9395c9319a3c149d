"""Neural collaborative filtering modules (He et al. 2017): GMF, MLP and their fusion NeuMF."""

from __future__ import annotations

import torch
from torch import nn


def _tower(sizes: tuple[int, ...], dropout: float) -> nn.Sequential:
    """Dense ReLU layers ``sizes[0] -> sizes[1] -> ...`` with dropout after each activation."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(a, b))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class GMFModule(nn.Module):
    """Generalised matrix factorisation: h^T (p_u * q_i) + b.

    Shapes: user_emb (n_users, factors), item_emb (n_items, factors), out Linear(factors, 1).
    """

    trains_on_score_all = True
    """``score_all`` is differentiable and cheap enough for the full-softmax loss."""

    def __init__(self, n_users: int, n_items: int, factors: int) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(n_users, factors)
        self.item_emb = nn.Embedding(n_items, factors)
        self.out = nn.Linear(factors, 1)

    def features(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """The element-wise product layer (n, factors)."""
        return self.user_emb(users) * self.item_emb(items)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(users, items)).squeeze(-1)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """(b, n_items): (p_u * h) @ Q^T + b."""
        return self.score_rows((self.user_emb(users),))

    def user_tables(self) -> tuple[nn.Embedding, ...]:
        """The per-user parameter tables: all a user is to the module."""
        return (self.user_emb,)

    def score_rows(self, rows: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(b, n_items) for users given by their rows of :meth:`user_tables` (new users)."""
        return (rows[0] * self.out.weight[0]) @ self.item_emb.weight.T + self.out.bias

    def item_vectors(self) -> torch.Tensor:
        return self.item_emb.weight * self.out.weight[0].abs().sqrt()

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user_emb(users).pow(2).sum(-1) + self.item_emb(items).pow(2).sum(-1)).mean()

    @torch.no_grad()
    def reset_output(self, mean_target: float) -> None:
        self.out.bias.fill_(float(mean_target))


class MLPModule(nn.Module):
    """Concatenated user and item embeddings through a ReLU tower, then a linear output.

    ``layers[0]`` is the width of the concatenation (each embedding is ``layers[0] // 2`` wide, as in NCF);
    the tower maps ``layers[0] -> layers[1] -> ... -> layers[-1]`` and ``out`` maps ``layers[-1] -> 1``.
    """

    trains_on_score_all = True
    """``score_all`` is differentiable and cheap enough for the full-softmax loss."""

    def __init__(self, n_users: int, n_items: int, layers: tuple[int, ...], dropout: float = 0.0) -> None:
        super().__init__()
        half = layers[0] // 2
        self.user_emb = nn.Embedding(n_users, half)
        self.item_emb = nn.Embedding(n_items, half)
        self.tower = _tower((2 * half, *layers[1:]), dropout)
        self.out = nn.Linear(layers[-1] if len(layers) > 1 else 2 * half, 1)

    def features(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Last hidden layer (n, layers[-1])."""
        return self.tower(torch.cat([self.user_emb(users), self.item_emb(items)], dim=-1))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(users, items)).squeeze(-1)

    def all_features(self, users: torch.Tensor) -> torch.Tensor:
        """Last hidden layer for every (user, item): (b, n_items, layers[-1]).

        The first dense layer splits over the concatenation (W [p; q] = W_u p + W_i q), so the item half is
        computed once per item rather than once per pair.
        """
        return self.features_of_rows(self.user_emb(users))

    def features_of_rows(self, p: torch.Tensor) -> torch.Tensor:
        """:meth:`all_features` for users given by their embedding rows ``p`` (b, half)."""
        if len(self.tower) == 0:
            q = self.item_emb.weight[None].expand(len(p), -1, -1)
            return torch.cat([p[:, None, :].expand(-1, self.item_emb.num_embeddings, -1), q], dim=-1)
        first: nn.Linear = self.tower[0]  # type: ignore[assignment]
        half = self.user_emb.embedding_dim
        hu = p @ first.weight[:, :half].T + first.bias  # (b, h1)
        hi = self.item_emb.weight @ first.weight[:, half:].T  # (n_items, h1)
        x = hu[:, None, :] + hi[None, :, :]
        return self.tower[1:](x)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """(b, n_items) raw scores."""
        return self.out(self.all_features(users)).squeeze(-1)

    def user_tables(self) -> tuple[nn.Embedding, ...]:
        """The per-user parameter tables: all a user is to the module."""
        return (self.user_emb,)

    def score_rows(self, rows: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(b, n_items) for users given by their rows of :meth:`user_tables` (new users)."""
        return self.out(self.features_of_rows(rows[0])).squeeze(-1)

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user_emb(users).pow(2).sum(-1) + self.item_emb(items).pow(2).sum(-1)).mean()

    @torch.no_grad()
    def reset_output(self, mean_target: float) -> None:
        self.out.bias.fill_(float(mean_target))


class NeuMFModule(nn.Module):
    """NeuMF: GMF and MLP branches with separate embeddings, concatenated into one linear output."""

    trains_on_score_all = True
    """``score_all`` is differentiable and cheap enough for the full-softmax loss."""

    def __init__(self, n_users: int, n_items: int, factors: int, layers: tuple[int, ...], dropout: float = 0.0) -> None:
        super().__init__()
        self.gmf = GMFModule(n_users, n_items, factors)
        self.mlp = MLPModule(n_users, n_items, layers, dropout)
        width = factors + self.mlp.out.in_features
        self.out = nn.Linear(width, 1)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        z = torch.cat([self.gmf.features(users, items), self.mlp.features(users, items)], dim=-1)
        return self.out(z).squeeze(-1)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """(b, n_items): GMF part as a matrix product, MLP part via :meth:`MLPModule.all_features`."""
        return self.score_rows((self.gmf.user_emb(users), self.mlp.user_emb(users)))

    def user_tables(self) -> tuple[nn.Embedding, ...]:
        """The per-user parameter tables (GMF and MLP embeddings): all a user is to the module."""
        return (self.gmf.user_emb, self.mlp.user_emb)

    def score_rows(self, rows: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """(b, n_items) for users given by their rows of :meth:`user_tables` (new users)."""
        f = self.gmf.user_emb.weight.shape[1]
        w_g, w_m = self.out.weight[0, :f], self.out.weight[0, f:]
        gmf = (rows[0] * w_g) @ self.gmf.item_emb.weight.T
        mlp = self.mlp.features_of_rows(rows[1]) @ w_m
        return gmf + mlp + self.out.bias

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.gmf.penalty(users, items) + self.mlp.penalty(users, items)

    @torch.no_grad()
    def reset_output(self, mean_target: float) -> None:
        self.out.bias.fill_(float(mean_target))

    @torch.no_grad()
    def load_pretrained(self, gmf: GMFModule, mlp: MLPModule, alpha: float = 0.5) -> None:
        """Copy a trained GMF and MLP in (He et al. 2017, section 3.4.1): embeddings and tower as they are,
        output weights ``[alpha * h_gmf, (1 - alpha) * h_mlp]`` and bias ``alpha * b_gmf + (1 - alpha) * b_mlp``."""
        self.gmf.load_state_dict(gmf.state_dict())
        self.mlp.load_state_dict(mlp.state_dict())
        f = gmf.out.in_features
        self.out.weight[0, :f] = alpha * gmf.out.weight[0]
        self.out.weight[0, f:] = (1 - alpha) * mlp.out.weight[0]
        self.out.bias.fill_(float(alpha * gmf.out.bias[0] + (1 - alpha) * mlp.out.bias[0]))
