"""DeepFM network (Guo et al. 2017) over user/item field embeddings, and the field embedder it shares.

Every user and every item is a row of small integer field indices (its ``id`` field followed by side
features, see :mod:`cofirec.data.encoding`). The module keeps these tables as buffers, so it scores
(user index, item index) pairs directly and a saved ``state_dict`` holds everything needed for serving.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class FieldEmbedder(nn.Module):
    """Embed a row of field indices as one vector per field.

    Single-valued fields look up one row; multi-valued fields (padded with 0) average the rows of their
    non-zero indices (an empty list gives a zero vector). All fields share one table, with per-field offsets.

    Parameters
    ----------
    single_cards, multi_cards : sequence of int
        Cardinality of each single / multi-valued field (index 0 = unknown included).
    multi_lens : sequence of int
        Padded width of each multi-valued field.
    dim : int
        Embedding size.
    linear : bool
        Also keep a width-1 table for first-order (linear) terms.
    """

    def __init__(self, single_cards: Sequence[int], multi_cards: Sequence[int], multi_lens: Sequence[int], dim: int, *, linear: bool = False) -> None:
        super().__init__()
        cards = [int(c) for c in single_cards] + [int(c) for c in multi_cards]
        starts = torch.cumsum(torch.tensor([0, *cards], dtype=torch.long), 0)[:-1]
        n_single, n_multi = len(single_cards), len(multi_cards)
        lens = [int(x) for x in multi_lens]
        self.n_fields = n_single + n_multi
        self.dim = dim
        self.embedding = nn.Embedding(max(int(sum(cards)), 1), dim)
        self.linear = nn.Embedding(max(int(sum(cards)), 1), 1) if linear else None
        self.register_buffer("single_offsets", starts[:n_single].clone(), persistent=False)
        col_field = torch.repeat_interleave(torch.arange(n_multi), torch.tensor(lens, dtype=torch.long)) if n_multi else torch.zeros(0, dtype=torch.long)
        self.register_buffer("multi_offsets", starts[n_single:][col_field].clone() if n_multi else torch.zeros(0, dtype=torch.long), persistent=False)
        ends = [int(e) for e in torch.cumsum(torch.tensor(lens, dtype=torch.long), 0)] if n_multi else []
        self.multi_slices: list[tuple[int, int]] = [(e - n, e) for e, n in zip(ends, lens)]

    def forward(self, single: torch.Tensor, multi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Field vectors (B, n_fields, dim) and, with ``linear``, first-order sums (B,).

        ``single``: (B, n_single) local indices; ``multi``: (B, sum(multi_lens)) local indices, 0 = padding.
        """
        vecs = self.embedding(single + self.single_offsets)
        lin = self.linear(single + self.single_offsets).sum(dim=(1, 2)) if self.linear is not None else None
        if self.multi_slices:
            idx, keep = multi + self.multi_offsets, multi > 0
            pooled = []
            for start, end in self.multi_slices:
                bag = _MeanBag(idx[:, start:end], keep[:, start:end])
                pooled.append(bag(self.embedding))
                if lin is not None:
                    lin = lin + bag(self.linear)[:, 0]
            vecs = torch.cat([vecs, torch.stack(pooled, dim=1)], dim=1)
        return vecs, lin

    def squared_norms(
        self, single: torch.Tensor, multi: torch.Tensor, *, with_linear: bool = True, with_multi: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch sums of squared norms, per field: single-valued embeddings (n_single,), their first-order weights
        (n_single,; zeros without ``linear`` or ``with_linear``) and, per multi-valued field, the mean over each
        row's entries of the squared embedding norms (n_multi,; empty unless ``with_multi``)."""
        idx = single + self.single_offsets
        emb = self.embedding(idx).pow(2).sum(dim=(0, 2))
        lin = self.linear(idx).pow(2).sum(dim=(0, 2)) if self.linear is not None and with_linear else torch.zeros_like(emb)
        per_field = []
        if with_multi and self.multi_slices:
            sq_rows = self.embedding.weight.pow(2).sum(dim=1, keepdim=True)
            keep, multi_idx = multi > 0, multi + self.multi_offsets
            per_field = [_MeanBag(multi_idx[:, a:b], keep[:, a:b])(sq_rows).sum() for a, b in self.multi_slices]
        multi_sq = torch.stack(per_field) if per_field else emb.new_zeros(0)
        return emb, lin, multi_sq


class _MeanBag:
    """Mean of the embedding rows of each row's kept indices, via ``embedding_bag`` over the kept entries only
    (no (B, L, dim) tensor of padded lookups; an empty row gives zeros)."""

    def __init__(self, idx: torch.Tensor, keep: torch.Tensor) -> None:
        counts = keep.sum(dim=1)
        self.flat = idx[keep]
        self.offsets = torch.cumsum(counts, 0) - counts
        self.weights = (1.0 / counts.clamp(min=1).float()).repeat_interleave(counts)

    def __call__(self, table: nn.Embedding | torch.Tensor) -> torch.Tensor:
        weight = table.weight if isinstance(table, nn.Embedding) else table
        w = self.weights.to(weight.dtype)
        return F.embedding_bag(self.flat, weight, self.offsets, mode="sum", per_sample_weights=w)


def mlp(in_dim: int, hidden: Sequence[int], dropout: float = 0.0, out_dim: int | None = None, norm: str = "none") -> nn.Sequential:
    """Linear -> [norm] -> ReLU -> Dropout blocks for each ``hidden`` width, then an optional linear output layer.

    ``norm``: "none", "batch" (``BatchNorm1d``) or "layer" (``LayerNorm``) after each hidden linear layer.
    """
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers.append(nn.Linear(width, int(h)))
        if norm == "batch":
            layers.append(nn.BatchNorm1d(int(h)))
        elif norm == "layer":
            layers.append(nn.LayerNorm(int(h)))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = int(h)
    if out_dim is not None:
        layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


class EntityTable(nn.Module):
    """Field-index tables of every user (or item) kept as buffers: ``single`` (n, S) and ``multi`` (n, L)."""

    def __init__(self, n: int, n_single: int, n_multi_cols: int) -> None:
        super().__init__()
        self.register_buffer("single", torch.zeros(n, n_single, dtype=torch.long))
        self.register_buffer("multi", torch.zeros(n, n_multi_cols, dtype=torch.long))

    def fill(self, single, multi) -> "EntityTable":
        """Copy encoded tables (numpy or tensors) into the buffers."""
        self.single.copy_(torch.as_tensor(single, dtype=torch.long))
        self.multi.copy_(torch.as_tensor(multi, dtype=torch.long))
        return self

    def forward(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.single[index], self.multi[index]


DEEP_EMBEDDINGS: tuple[str, ...] = ("shared", "detached", "separate")
"""What the deep part of :class:`DeepFMNet` reads (see its ``deep_embeddings``)."""

FM_FIELDS: tuple[str, ...] = ("all", "ids")
"""Which fields the FM part of :class:`DeepFMNet` crosses (see its ``fm_fields``)."""


class DeepFMNet(nn.Module):
    """DeepFM: ``bias + first-order + FM pairwise interactions + MLP(concat of field vectors)``.

    Parameters
    ----------
    user_spec, item_spec : dict
        ``EncodedFeatures.spec()`` of the user / item tables (``id`` field first).
    n_users, n_items : int
        Rows of the tables.
    dim : int
        Field embedding size (shared by the FM and the deep part).
    hidden : sequence of int
        Widths of the deep part's hidden layers; empty: no deep part (a plain factorisation machine).
    dropout : float
        Dropout after each hidden layer.
    history : int
        Width of the user table's trailing ``history`` field (item index + 1 of rated items; 0 = none). The
        scored item is masked out of its user's history, so training pairs look like unseen test pairs.
    embed_dropout : float
        Dropout on the field vectors fed to the deep part (the FM part always sees them whole).
    norm : {"none", "batch", "layer"}
        Normalisation after each hidden layer of the deep part.
    id_reg : float
        Weight of the id-field embeddings in :meth:`penalty` relative to the side-feature fields.
    linear_reg : float
        Weight of the first-order weights in :meth:`penalty` (id fields again ``id_reg`` times more); 0 leaves
        them unpenalised.
    multi_reg : float
        Weight in :meth:`penalty` of the multi-valued fields' embedding rows (genres, history: the mean squared
        norm of each pair's entries, as SVD++ penalises its implicit factors); 0 leaves them unpenalised.
    deep_embeddings : {"shared", "detached", "separate"}
        What the deep part reads: the FM's field vectors with gradients into them ("shared", the paper's
        design), the same vectors without gradients into them ("detached": the embeddings learn from the FM
        part alone and the MLP learns on top of them), or field embeddings of its own ("separate", penalised
        like the FM's). Under Adam the MLP's gradient swamps the small pairwise one and the shared embeddings
        learn little of the user x item interaction (bench/RESULTS.md).
    fm_fields : {"all", "ids"}
        Fields whose pairwise interactions the FM part sums: every field (the paper), or only the user id, the
        item id and the user's item history (matrix factorisation with SVD++'s implicit term; the side features
        then reach the output through their first-order weights and the deep part).
    """

    def __init__(
        self,
        user_spec: dict,
        item_spec: dict,
        n_users: int,
        n_items: int,
        dim: int = 16,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.1,
        history: int = 0,
        embed_dropout: float = 0.0,
        norm: str = "none",
        id_reg: float = 1.0,
        linear_reg: float = 0.0,
        multi_reg: float = 0.0,
        deep_embeddings: str = "shared",
        fm_fields: str = "all",
    ) -> None:
        super().__init__()
        if deep_embeddings not in DEEP_EMBEDDINGS:
            raise ValueError(f"deep_embeddings must be one of {DEEP_EMBEDDINGS}, got {deep_embeddings!r}")
        if fm_fields not in FM_FIELDS:
            raise ValueError(f"fm_fields must be one of {FM_FIELDS}, got {fm_fields!r}")
        self.deep_embeddings = deep_embeddings
        self.history = int(history)
        self.id_reg = float(id_reg)
        self.linear_reg = float(linear_reg)
        self.multi_reg = float(multi_reg)
        self.embed_dropout = nn.Dropout(embed_dropout) if embed_dropout > 0 else nn.Identity()
        self.users = EntityTable(n_users, len(user_spec["single_cards"]), int(sum(user_spec["multi_lens"])))
        self.items = EntityTable(n_items, len(item_spec["single_cards"]), int(sum(item_spec["multi_lens"])))
        self.user_fields = FieldEmbedder(user_spec["single_cards"], user_spec["multi_cards"], user_spec["multi_lens"], dim, linear=True)
        self.item_fields = FieldEmbedder(item_spec["single_cards"], item_spec["multi_cards"], item_spec["multi_lens"], dim, linear=True)
        if deep_embeddings == "separate" and len(hidden):
            self.deep_user_fields = FieldEmbedder(user_spec["single_cards"], user_spec["multi_cards"], user_spec["multi_lens"], dim)
            self.deep_item_fields = FieldEmbedder(item_spec["single_cards"], item_spec["multi_cards"], item_spec["multi_lens"], dim)
        n_fields = self.user_fields.n_fields + self.item_fields.n_fields
        self.fm_index: list[int] | None = None
        if fm_fields == "ids":
            user_names = list(user_spec["names"])
            self.fm_index = [k for k, name in enumerate(user_names) if name in ("id", "history")] + [len(user_names) + list(item_spec["names"]).index("id")]
        self.deep = mlp(n_fields * dim, hidden, dropout, out_dim=1, norm=norm) if len(hidden) else None
        self.bias = nn.Parameter(torch.zeros(()))

    def forward_features(self, u_single: torch.Tensor, u_multi: torch.Tensor, i_single: torch.Tensor, i_multi: torch.Tensor) -> torch.Tensor:
        """Logits / raw outputs (B,) from explicit field indices (cold-start users or items)."""
        ue, ul = self.user_fields(u_single, u_multi)
        ie, il = self.item_fields(i_single, i_multi)
        fields = torch.cat([ue, ie], dim=1)  # (B, F, d)
        crossed = fields if self.fm_index is None else fields[:, self.fm_index]
        total = crossed.sum(dim=1)
        fm = 0.5 * (total.pow(2) - crossed.pow(2).sum(dim=1)).sum(dim=1)
        return self.bias + ul + il + fm + self._deep_output(fields, u_single, u_multi, i_single, i_multi)

    def _deep_output(
        self, fields: torch.Tensor, u_single: torch.Tensor, u_multi: torch.Tensor, i_single: torch.Tensor, i_multi: torch.Tensor
    ) -> torch.Tensor | float:
        """The deep part's output (B,), on the inputs ``deep_embeddings`` names; 0 without a deep part."""
        if self.deep is None:
            return 0.0
        if self.deep_embeddings == "separate":
            deep_in = torch.cat([self.deep_user_fields(u_single, u_multi)[0], self.deep_item_fields(i_single, i_multi)[0]], dim=1)
        else:
            deep_in = fields.detach() if self.deep_embeddings == "detached" else fields
        return self.deep(self.embed_dropout(deep_in).flatten(1))[:, 0]

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Raw outputs (B,) for (user index, item index) pairs (logits for binary targets)."""
        u_single, u_multi = self.users(users)
        if self.history:
            hist = u_multi[:, -self.history :]
            u_multi = torch.cat([u_multi[:, : -self.history], hist.masked_fill(hist == items[:, None] + 1, 0)], dim=1)
        return self.forward_features(u_single, u_multi, *self.items(items))

    @torch.no_grad()
    def reset_output(self, value: float) -> None:
        """Start the global bias at ``value`` (mean rating, or the logit of the like rate)."""
        self.bias.fill_(value)

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Squared norms of the field embeddings used by the batch, per pair (the ``reg`` term).

        Single-valued fields count once, the id fields (column 0) ``id_reg`` times; first-order weights count
        ``linear_reg`` times as much and multi-valued fields ``multi_reg`` times (0: not penalised).
        """
        total = users.new_zeros((), dtype=torch.float32)
        tables = [(self.user_fields, self.users(users)), (self.item_fields, self.items(items))]
        if self.deep is not None and self.deep_embeddings == "separate":
            tables += [(self.deep_user_fields, tables[0][1]), (self.deep_item_fields, tables[1][1])]
        for fields, (single, multi) in tables:
            emb, lin, multi_sq = fields.squared_norms(single, multi, with_linear=bool(self.linear_reg), with_multi=bool(self.multi_reg))
            weights = torch.ones_like(emb)
            weights[0] = self.id_reg
            total = total + (weights * emb).sum()
            if self.linear_reg:
                total = total + self.linear_reg * (weights * lin).sum()
            if self.multi_reg:
                total = total + self.multi_reg * multi_sq.sum()
        return total / max(len(users), 1)

    @torch.no_grad()
    def score_all(self, users: torch.Tensor, block: int = 65_536) -> torch.Tensor:
        """Raw outputs for every item, (len(users), n_items), in blocks of about ``block`` pairs."""
        n_items = self.items.single.shape[0]
        out = torch.empty(len(users), n_items)
        all_items = torch.arange(n_items)
        per = max(1, block // max(n_items, 1))
        for s in range(0, len(users), per):
            ub = users[s : s + per]
            scores = self(ub.repeat_interleave(n_items), all_items.repeat(len(ub)))
            out[s : s + per] = scores.view(len(ub), n_items)
        return out

    @torch.no_grad()
    def item_vectors(self) -> torch.Tensor:
        """Concatenated item field vectors (n_items, n_item_fields * dim), for ``similar_items``."""
        vecs, _ = self.item_fields(self.items.single, self.items.multi)
        return vecs.flatten(1)
