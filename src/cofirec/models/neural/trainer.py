"""The epoch loop shared by every neural model.

:class:`Trainer` owns mini-batching, negative sampling, the optimiser, validation after each epoch, early
stopping with restore of the best weights, the progress bar and the per-epoch records. It knows nothing about
a model's architecture, nor about the wrapper class: the wrapper hands it a :class:`TrainingHooks` (the forward
passes, the embedding penalty, the mapping of raw outputs to ratings and the epoch report), and nothing else.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from cofirec.errors import ConfigError, DataError
from cofirec.kernels.rating_error import rmse
from cofirec.models.neural import distributed
from cofirec.models.neural.batching import NegativeSampler, PairTensors, batch_indices, expand_pointwise
from cofirec.models.neural.losses import LISTWISE, PAIRWISE, RANKING, full_softmax_loss, pairwise_loss, pointwise_loss
from cofirec.models.neural.optim import make_optimizer

EVAL_BLOCK = 262_144
"""(user, item) pairs scored per forward pass during validation."""


@dataclass
class TrainConfig:
    """What the trainer needs from the wrapper's hyperparameters (already validated)."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    reg: float = 0.0
    optimizer: str = "adam"
    loss: str = "mse"
    negatives: int = 0
    patience: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    ordinal: tuple[torch.Tensor, torch.Tensor] | None = None
    """(levels, offsets) of the ordinal loss (on ``device``)."""


@dataclass
class TrainingHooks:
    """What the trainer needs from the model it trains (the wrapper builds one per fit).

    ``forward(module, users, items) -> (n,)`` raw scores of index pairs; ``forward_all(module, users) ->
    (b, n_items)`` raw scores of every item, with gradients (listwise losses); ``penalty(module, users, items)``
    the L2 term scaled by ``reg``; ``to_output(scores, users) -> (n,)`` raw scores as predictions on the rating
    scale (clipped to the training range), for the validation RMSE; ``on_epoch(record)`` receives each epoch's
    record. ``name``, ``n_items`` and ``rating_range`` ((lo, hi) of explicit ratings, else None) go into
    messages and sample counts.
    """

    name: str
    n_items: int
    forward: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
    forward_all: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    penalty: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
    to_output: Callable[[np.ndarray, np.ndarray], np.ndarray]
    on_epoch: Callable[[dict], None]
    rating_range: tuple[float, float] | None = None


@dataclass
class ValidationSet:
    """Held-out data scored after every epoch.

    Pointwise part (explicit ratings or binary labels): ``pairs`` with targets in training units and
    ``ratings`` (float32 (n,)) on the original scale, for RMSE.
    Ranking part (implicit data): ``rank_users`` (u,) and ``rank_items`` (u, 1 + c): column 0 is the user's
    held-out item, the other c columns are sampled items the user never interacted with.
    """

    pairs: PairTensors | None = None
    ratings: torch.Tensor | None = None
    rank_users: torch.Tensor | None = None
    rank_items: torch.Tensor | None = None

    @property
    def monitor(self) -> tuple[str, str]:
        """(record key, "min" | "max") used for early stopping."""
        if self.rank_users is not None:
            return "val_ndcg@10", "max"
        if self.ratings is not None:
            return "val_rmse", "min"
        return "val_loss", "min"


class Trainer:
    """Runs ``config.epochs`` epochs of mini-batch training on ``module``.

    Parameters
    ----------
    hooks : TrainingHooks
        The model's side: forward passes, penalty, output mapping, epoch report.
    module : nn.Module
        Already on ``config.device``; trained in place (best weights restored at the end).
    config : TrainConfig
    generator : torch.Generator
        Seeded CPU generator for batch order and negative sampling.
    sampler : NegativeSampler or None
        Needed when ``config.negatives > 0`` or the loss is pairwise.
    progress : bool
        Show a rich progress bar with the running loss.
    """

    def __init__(
        self,
        hooks: TrainingHooks,
        module: nn.Module,
        config: TrainConfig,
        generator: torch.Generator,
        sampler: NegativeSampler | None = None,
        progress: bool = False,
    ) -> None:
        self.hooks = hooks
        self.module = module
        self.config = config
        self.generator = generator
        self.sampler = sampler
        self.progress = progress
        self.optimizer = make_optimizer(config.optimizer, module.parameters(), config.lr, config.weight_decay)
        self.best_epoch: int = 0
        self.stopped_early: bool = False
        self.dist = distributed.current()
        """The process group under torchrun (data-parallel training, :mod:`~cofirec.models.neural.distributed`), else None."""
        if self.dist is not None:
            distributed.broadcast_module(module, self.dist)
        if (config.loss in PAIRWISE or config.negatives > 0) and config.loss not in LISTWISE and sampler is None:
            raise ConfigError(f"loss {config.loss!r} with negatives={config.negatives} needs a negative sampler")

    # ------------------------------------------------------------------ loop
    def fit(self, train: PairTensors, validation: ValidationSet | None = None) -> list[dict]:
        """Train; returns the epoch records (also passed to ``hooks.on_epoch`` one by one)."""
        records: list[dict] = []
        monitor = validation.monitor if validation is not None else None
        best_value = math.inf
        best_state: dict[str, torch.Tensor] | None = None
        bad_epochs = 0
        for epoch in range(1, self.config.epochs + 1):
            record = {"epoch": epoch, **self.train_epoch(train, epoch)}
            self._check_finite(epoch, record)
            if validation is not None and (self.dist is None or self.dist.is_main):
                record.update(self.evaluate(validation))
            if self.dist is not None:  # rank 0's record (its validation) drives every rank's early stopping
                record = distributed.broadcast_object(record, self.dist)
            records.append(record)
            self.hooks.on_epoch(record)
            if monitor is None:
                self.best_epoch = epoch
                continue
            key, mode = monitor
            value = record[key] if mode == "min" else -record[key]
            if not math.isfinite(value):
                value = math.inf
            if value < best_value - 1e-7 or best_state is None:
                best_value, best_state, bad_epochs = value, _copy_state(self.module), 0
                self.best_epoch = epoch
            else:
                bad_epochs += 1
                if self.config.patience > 0 and bad_epochs >= self.config.patience:
                    self.stopped_early = True
                    break
        if best_state is not None:
            self.module.load_state_dict(best_state)
        return records

    def _check_finite(self, epoch: int, record: dict) -> None:
        """DataError when the epoch left a non-finite loss or weight: training diverged (nothing is returned or saved)."""
        bad = [] if math.isfinite(record["loss"]) else ["loss"]
        with torch.no_grad():
            bad += [name for name, p in self.module.named_parameters() if not bool(torch.isfinite(p).all())][:3]
        if bad:
            scale = "" if self.hooks.rating_range is None else " (ratings range from {:g} to {:g})".format(*self.hooks.rating_range)
            raise DataError(
                f"{self.hooks.name}: training diverged at epoch {epoch} (non-finite {', '.join(bad)}): "
                f"lower the learning rate (lr={self.config.lr:g}) or rescale the ratings{scale}"
            )

    def train_epoch(self, train: PairTensors, epoch: int = 0) -> dict:
        """One pass over ``train`` (plus fresh negatives).

        Returns ``loss`` (mean training loss), ``samples`` (scored pairs, negatives included), ``seconds`` (wall),
        ``cpu_seconds`` (process CPU time, all threads) and ``samples_per_s``.
        """
        cfg = self.config
        start = time.perf_counter()
        cpu_start = time.process_time()
        self.module.train()
        pairwise, listwise = cfg.loss in PAIRWISE, cfg.loss in LISTWISE
        k = max(cfg.negatives, 1) if pairwise else cfg.negatives
        negatives = self.sampler.sample(train.users, k) if (k > 0 and self.sampler is not None and not listwise) else None
        if pairwise or listwise:
            step_data = train
        else:
            step_data = expand_pointwise(train.users, train.items, train.targets, negatives, train.weights)
        n = len(step_data)
        total, count = 0.0, 0
        bar = _Progress(self.progress, n, f"epoch {epoch}/{cfg.epochs}")
        with bar:
            for batch in batch_indices(n, cfg.batch_size, self.generator):
                idx = batch if self.dist is None else distributed.local_part(batch, self.dist)
                if len(idx) == 0:  # fewer rows than ranks in the last batch: still join the gradient all-reduce
                    self._idle_step()
                    bar.advance(len(batch), total / max(count, 1))
                    continue
                if listwise:
                    loss, size = self._listwise_step(step_data.subset(idx))
                elif pairwise:
                    loss, size = self._pairwise_step(step_data.subset(idx), negatives[idx])  # type: ignore[index]
                else:
                    loss, size = self._pointwise_step(step_data.subset(idx))
                total += loss * size
                count += size
                bar.advance(len(batch), total / max(count, 1))
        if self.dist is not None:  # the epoch's mean loss over every rank's rows
            total, rows = distributed.sum_across([total, float(count)], self.dist)
            count = int(rows)
        seconds = time.perf_counter() - start
        samples = n * (1 + k) if pairwise else n * self.hooks.n_items if listwise else n
        return {
            "loss": total / max(count, 1),
            "samples": int(samples),
            "seconds": seconds,
            "cpu_seconds": time.process_time() - cpu_start,
            "samples_per_s": samples / max(seconds, 1e-9),
        }

    def _pointwise_step(self, batch: PairTensors) -> tuple[float, int]:
        dev = self.config.device
        users, items, targets = batch.users.to(dev), batch.items.to(dev), batch.targets.to(dev)
        scores = self.hooks.forward(self.module, users, items)
        loss = pointwise_loss(self.config.loss, scores, targets, self.config.ordinal, weights=_on(batch.weights, dev))
        return self._step(loss, users, items), len(users)

    def _pairwise_step(self, batch: PairTensors, negatives: torch.Tensor) -> tuple[float, int]:
        dev = self.config.device
        b, k = negatives.shape
        users = batch.users.to(dev)
        all_users = torch.cat([users, users.repeat_interleave(k)])
        all_items = torch.cat([batch.items.to(dev), negatives.to(dev).reshape(-1)])
        scores = self.hooks.forward(self.module, all_users, all_items)
        loss = pairwise_loss(self.config.loss, scores[:b], scores[b:].view(b, k), weights=_on(batch.weights, dev))
        return self._step(loss, all_users, all_items), b

    def _listwise_step(self, batch: PairTensors) -> tuple[float, int]:
        dev = self.config.device
        users, items = batch.users.to(dev), batch.items.to(dev)
        loss = full_softmax_loss(self.hooks.forward_all(self.module, users), items, weights=_on(batch.weights, dev))
        return self._step(loss, users, items), len(users)

    def _step(self, loss: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> float:
        value = float(loss.detach())
        if self.config.reg > 0:
            loss = loss + self.config.reg * self.hooks.penalty(self.module, users, items)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.dist is not None:
            distributed.average_gradients(self.module, len(users), self.dist)
        self.optimizer.step()
        return value

    def _idle_step(self) -> None:
        """A step with no local rows (distributed only): apply the other ranks' averaged gradient."""
        assert self.dist is not None
        self.optimizer.zero_grad(set_to_none=True)
        distributed.average_gradients(self.module, 0, self.dist)
        self.optimizer.step()

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def evaluate(self, validation: ValidationSet) -> dict:
        """Validation loss and metric: ``val_loss`` and ``val_rmse`` (pointwise) or ``val_hr@10``/``val_ndcg@10``."""
        self.module.eval()
        out: dict = {}
        if validation.pairs is not None and len(validation.pairs):
            out.update(self._evaluate_pairs(validation))
        if validation.rank_users is not None and len(validation.rank_users):
            out.update(self._evaluate_ranking(validation))
        return out

    def _scores(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dev = self.config.device
        parts = [
            self.hooks.forward(self.module, users[s : s + EVAL_BLOCK].to(dev), items[s : s + EVAL_BLOCK].to(dev)).float().cpu()
            for s in range(0, len(users), EVAL_BLOCK)
        ]
        return torch.cat(parts) if parts else torch.empty(0)

    def _evaluate_pairs(self, validation: ValidationSet) -> dict:
        pairs = validation.pairs
        assert pairs is not None
        scores = self._scores(pairs.users, pairs.items)
        loss_name = self.config.loss if self.config.loss not in RANKING | {"ordinal"} else "bce"  # validation targets are labels
        out = {"val_loss": float(pointwise_loss(loss_name, scores, pairs.targets))}
        if validation.ratings is not None:
            pred = self.hooks.to_output(scores.numpy(), pairs.users.numpy())
            out["val_rmse"] = rmse(pred, validation.ratings.numpy())
        return out

    def _evaluate_ranking(self, validation: ValidationSet) -> dict:
        users, cands = validation.rank_users, validation.rank_items
        assert users is not None and cands is not None
        u, c = cands.shape
        scores = self._scores(users.repeat_interleave(c), cands.reshape(-1)).view(u, c)
        pos, neg = scores[:, 0], scores[:, 1:]
        rank = (neg >= pos[:, None]).sum(dim=1)  # ties count against the model
        hit = rank < 10
        ndcg = torch.where(hit, 1.0 / torch.log2(rank.float() + 2.0), torch.zeros(()))
        k = neg.shape[1] if self.config.loss in LISTWISE else max(self.config.negatives, 1)
        neg_k = neg[:, :k]
        if self.config.loss in RANKING:  # full softmax: estimated by the softmax over the sampled candidates
            loss = pairwise_loss("softmax" if self.config.loss in LISTWISE else self.config.loss, pos, neg_k)
        else:
            s = torch.cat([pos, neg_k.reshape(-1)])
            t = torch.cat([torch.ones(u), torch.zeros(neg_k.numel())])
            loss = pointwise_loss(self.config.loss, s, t)
        return {"val_loss": float(loss), "val_hr@10": float(hit.float().mean()), "val_ndcg@10": float(ndcg.mean())}


def _on(weights: torch.Tensor | None, device: torch.device) -> torch.Tensor | None:
    return None if weights is None else weights.to(device)


def _copy_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class _Progress:
    """A rich progress bar showing the running loss, or nothing when disabled."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.enabled = enabled
        self.total = total
        self.label = label
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "_Progress":
        from rich.console import Console

        console = Console(stderr=True) if self.enabled else None
        if console is not None and console.is_terminal:  # piped stderr: no bar, no blank line left behind
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}"),
                TimeElapsedColumn(),
                transient=True,
                console=console,  # stdout stays clean for --json output
            )
            bar.__enter__()
            self._task = bar.add_task(self.label, total=self.total, loss=float("nan"))
            self._bar = bar
        return self

    def advance(self, n: int, loss: float) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=n, loss=loss)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
