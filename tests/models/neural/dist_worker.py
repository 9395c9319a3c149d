"""One rank of the 2-process data-parallel tests (run by ``python -m torch.distributed.run``; not a test module).

``dist_worker.py OUT``: joins the gloo group from torchrun's variables, fits two embedding-dot models on the same
synthetic data as the test (one epoch recording the (user, item) pairs this rank trains on, with a last global
batch of one row; one with a holdout and early stopping) and writes ``OUT/rank{R}.npz``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from cofirec.data.synthetic import make_synthetic
from cofirec.models.neural import distributed
from cofirec.models.neural.embedding_dot import EmbeddingDot

SHARD_PARAMS = dict(factors=8, epochs=1, lr=0.01, holdout=0.0, device="cpu", random_state=1)
EARLY_PARAMS = dict(factors=8, epochs=8, batch_size=64, lr=0.05, holdout=0.2, patience=1, device="cpu", random_state=2)


def synthetic():
    return make_synthetic(n_users=80, n_items=50, seed=3)


def odd_batch_size(n: int) -> int:
    """A batch size that leaves one row for the last global batch (so one rank has an empty part)."""
    return next(b for b in range(5, n) if n % b == 1)


class Recording(EmbeddingDot):
    """Embedding-dot that keeps the (user, item) index pairs of every training forward pass."""

    def _forward(self, module, users, items):
        if module.training:
            self.trained_pairs.append(torch.stack([users, items], dim=1))
        return super()._forward(module, users, items)


def main(out: Path) -> None:
    data = synthetic()
    model = Recording(batch_size=odd_batch_size(len(data)), **SHARD_PARAMS)
    model.trained_pairs = []
    ctx = distributed.start(model)
    model.fit(data)
    seen = torch.cat(model.trained_pairs).numpy()
    early = EmbeddingDot(**EARLY_PARAMS).fit(data)
    arrays = {f"shard/{k}": v.numpy() for k, v in model.module_.state_dict().items()}
    arrays |= {f"early/{k}": v.numpy() for k, v in early.module_.state_dict().items()}
    np.savez(out / f"rank{ctx.rank}.npz", seen=seen, best_epoch=early.best_epoch_, epochs_run=early.epochs_run_, world=ctx.world_size, **arrays)
    distributed.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
