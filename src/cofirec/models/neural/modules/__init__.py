"""PyTorch modules (architecture only, no training code); one file per model family.

Contract: ``forward(users, items) -> scores`` for int64 index tensors (n,), float scores (n,). Optional:
``score_all(users) -> (b, n_items)``, ``item_vectors() -> (n_items, d)``, ``penalty(users, items) -> scalar``,
``reset_output(mean_target)``; the class attribute ``trains_on_score_all = True`` when ``score_all`` is
differentiable and cheap enough to train the full-softmax loss on.
"""

from cofirec.models.neural.modules.embedding_dot import DotProduct
from cofirec.models.neural.modules.ncf import GMFModule, MLPModule, NeuMFModule

__all__ = ["DotProduct", "GMFModule", "MLPModule", "NeuMFModule"]
