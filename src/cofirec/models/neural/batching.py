"""Tensors built once per fit, index mini-batches, and vectorised negative sampling.

Nothing here creates a Python object per rating: a training set is three flat tensors, a mini-batch is a
slice of a random permutation, and negatives are drawn for a whole epoch at once by rejection sampling
against the sorted keys ``user * n_items + item`` of the known interactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import scipy.sparse as sp
import torch

from cofirec.errors import DataError


@dataclass
class PairTensors:
    """Flat (user index, item index, target) triples.

    users, items : int64 tensors, shape (n,)
    targets : float32 tensor, shape (n,) (ratings in training units, or 0/1 labels)
    weights : float32 tensor, shape (n,), or None
        Per-example loss weights (None: all equal).
    """

    users: torch.Tensor
    items: torch.Tensor
    targets: torch.Tensor
    weights: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @classmethod
    def from_arrays(cls, users: np.ndarray, items: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> "PairTensors":
        return cls(
            users=torch.as_tensor(np.asarray(users, dtype=np.int64)),
            items=torch.as_tensor(np.asarray(items, dtype=np.int64)),
            targets=torch.as_tensor(np.asarray(targets, dtype=np.float32)),
            weights=None if weights is None else torch.as_tensor(np.asarray(weights, dtype=np.float32)),
        )

    def subset(self, rows: torch.Tensor) -> "PairTensors":
        return PairTensors(self.users[rows], self.items[rows], self.targets[rows], None if self.weights is None else self.weights[rows])

    def to(self, device: torch.device | str) -> "PairTensors":
        w = None if self.weights is None else self.weights.to(device)
        return PairTensors(self.users.to(device), self.items.to(device), self.targets.to(device), w)


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None = None, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Index tensors of consecutive mini-batches over ``range(n)`` (a seeded permutation when ``shuffle``).

    Yields int64 tensors of length ``batch_size`` (the last one may be shorter).
    """
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def pair_keys(users: torch.Tensor | np.ndarray, items: torch.Tensor | np.ndarray, n_items: int) -> torch.Tensor:
    """Sortable int64 keys ``user * n_items + item``."""
    u = torch.as_tensor(np.asarray(users) if not isinstance(users, torch.Tensor) else users).to(torch.int64)
    i = torch.as_tensor(np.asarray(items) if not isinstance(items, torch.Tensor) else items).to(torch.int64)
    return u * n_items + i


class NegativeSampler:
    """Uniform negative items per user, never one of the user's known items.

    Parameters
    ----------
    known : csr_matrix, shape (n_users, n_items)
        Nonzero structure = items that must never be returned for that row's user (training interactions,
        and validation items when sampling validation candidates).
    generator : torch.Generator
        Source of randomness (seeded by the caller for reproducible epochs).
    max_rounds : int
        Rejection rounds before giving up; users that still have a known item then raise :class:`DataError`
        (only possible when a user knows almost every item).
    """

    def __init__(self, known: sp.csr_matrix, generator: torch.Generator | None = None, max_rounds: int = 64) -> None:
        known = sp.csr_matrix(known)
        self.n_users, self.n_items = known.shape
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(known.indptr))
        keys = rows * self.n_items + known.indices.astype(np.int64)
        self.keys = torch.as_tensor(np.unique(keys))
        self.counts = torch.as_tensor(np.diff(known.indptr).astype(np.int64))
        self.generator = generator
        self.max_rounds = max_rounds

    def is_known(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Bool tensor, same shape as ``items`` (``users`` broadcast against it): pair is a known interaction."""
        if len(self.keys) == 0:
            return torch.zeros(items.shape, dtype=torch.bool)
        key = users.to(torch.int64) * self.n_items + items.to(torch.int64)
        pos = torch.searchsorted(self.keys, key).clamp_(max=len(self.keys) - 1)
        return self.keys[pos] == key

    def sample(self, users: torch.Tensor, k: int) -> torch.Tensor:
        """``k`` negative item indices per user: int64 tensor (len(users), k), drawn with replacement.

        Raises :class:`DataError` when a user has no unknown item left to sample.
        """
        users = users.to(torch.int64).cpu()
        full = self.counts[users] >= self.n_items
        if bool(full.any()):
            raise DataError(f"cannot sample negatives: user index {int(users[full][0])} has interacted with every item")
        out = torch.randint(0, self.n_items, (len(users), k), generator=self.generator)
        ucol = users[:, None].expand(-1, k)
        bad = self.is_known(ucol, out)
        for _ in range(self.max_rounds):
            n_bad = int(bad.sum())
            if n_bad == 0:
                return out
            fresh = torch.randint(0, self.n_items, (n_bad,), generator=self.generator)
            out[bad] = fresh
            bad_now = torch.zeros_like(bad)
            bad_now[bad] = self.is_known(ucol[bad], fresh)
            bad = bad_now
        return self._fill_exact(users, out, bad)

    def _fill_exact(self, users: torch.Tensor, out: torch.Tensor, bad: torch.Tensor) -> torch.Tensor:
        """Last resort for very dense users: draw from their exact complement (loop over the few rows left)."""
        for row in torch.nonzero(bad.any(dim=1)).flatten().tolist():
            u = int(users[row])
            lo = torch.searchsorted(self.keys, torch.tensor(u * self.n_items))
            hi = torch.searchsorted(self.keys, torch.tensor((u + 1) * self.n_items))
            mask = torch.ones(self.n_items, dtype=torch.bool)
            mask[self.keys[lo:hi] - u * self.n_items] = False
            allowed = torch.nonzero(mask).flatten()
            cols = torch.nonzero(bad[row]).flatten()
            pick = torch.randint(0, len(allowed), (len(cols),), generator=self.generator)
            out[row, cols] = allowed[pick]
        return out


def expand_pointwise(
    users: torch.Tensor, items: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor | None, weights: torch.Tensor | None = None
) -> PairTensors:
    """Positives plus their sampled negatives (label 0) as one flat pointwise set.

    users, items, targets : (n,); negatives : (n, k) item indices or None; weights : (n,) or None (each
    negative gets its positive's weight).
    Returns n * (1 + k) triples: the n given ones first, then the negatives row by row.
    """
    if negatives is None or negatives.shape[1] == 0:
        return PairTensors(users, items, targets, weights)
    k = negatives.shape[1]
    neg_users = users.repeat_interleave(k)
    return PairTensors(
        torch.cat([users, neg_users]),
        torch.cat([items, negatives.reshape(-1)]),
        torch.cat([targets, torch.zeros(len(neg_users), dtype=targets.dtype)]),
        None if weights is None else torch.cat([weights, weights.repeat_interleave(k)]),
    )
