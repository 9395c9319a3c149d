"""Data-parallel training of the neural models with ``torch.distributed`` (processes started by ``torchrun``).

Every rank loads the same data, builds the same module from the same seed and draws the same epoch order and
negatives from its seeded generator. Each global mini-batch of ``batch_size`` rows is then cut into
``world_size`` nearly equal parts and rank ``r`` trains on part ``r``: the ranks' shards of an epoch are
disjoint and together cover every row, and every rank takes the same number of optimiser steps. After each
backward pass the gradients are all-reduced, each rank's weighted by its part's size, so every rank applies
the gradient of the whole global batch and the weights stay identical (checked by broadcasting rank 0's
weights once at the start). Validation runs on rank 0 and its epoch record is broadcast, so early stopping
and the restored best epoch are the same decision everywhere. Rank 0 alone saves the model: a normal artifact.

Launch (gloo on CPU, NCCL when the model's device is CUDA, one GPU per local rank)::

    torchrun --standalone --nproc_per_node=2 -m cofirec train embedding-dot --train FILE --distributed --out DIR
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Iterable

import torch
from torch import nn

from cofirec.errors import ConfigError

TORCHRUN_LINE = "torchrun --standalone --nproc_per_node=2 -m cofirec train embedding-dot --train FILE --distributed --out DIR"
ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
TIMEOUT = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class DistContext:
    """This process's place in the process group."""

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def torchrun_env(environ: dict[str, str] | None = None) -> tuple[int, int, int]:
    """(rank, world size, local rank) from the variables ``torchrun`` sets; :class:`ConfigError` when absent."""
    env = os.environ if environ is None else environ
    missing = [name for name in ENV_VARS if not env.get(name)]
    if missing:
        raise ConfigError(f"--distributed: {', '.join(missing)} not set; launch the command with torchrun, e.g. {TORCHRUN_LINE}")
    try:
        rank, world, local = (int(env[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    except ValueError:
        raise ConfigError(
            f"--distributed: RANK, WORLD_SIZE and LOCAL_RANK must be integers (got {env['RANK']!r}, {env['WORLD_SIZE']!r}, {env['LOCAL_RANK']!r})"
        ) from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ConfigError(f"--distributed: RANK={rank} is not in 0..WORLD_SIZE-1 (WORLD_SIZE={world})")
    return rank, world, local


def start(model: Any) -> DistContext:
    """Join the process group for training ``model`` (a neural model): gloo on CPU, NCCL on CUDA."""
    from cofirec.models.neural.base import NeuralRecommender
    from cofirec.models.neural.runtime import _resolve_device

    if not isinstance(model, NeuralRecommender):
        raise ConfigError(f"--distributed trains the neural models (embedding-dot, gmf, mlp, neumf, ...); {model.name!r} is not one")
    rank, world, local = torchrun_env()
    import torch.distributed as dist

    if not dist.is_available():  # pragma: no cover - torch built without distributed support
        raise ConfigError("--distributed: this PyTorch build has no torch.distributed")
    device = _resolve_device(model.device, model.name)
    backend = "gloo"
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ConfigError(f"--distributed: LOCAL_RANK={local} but only {torch.cuda.device_count()} CUDA device(s); use --nproc_per_node <= the GPU count")
        torch.cuda.set_device(local)
        backend = "nccl"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world, timeout=TIMEOUT)
    return DistContext(rank, world, local, backend)


def stop() -> None:
    """Leave the process group (a no-op when none was joined)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def current() -> DistContext | None:
    """The running process group with more than one rank, else None (single-process training)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return DistContext(dist.get_rank(), dist.get_world_size(), local, str(dist.get_backend()))


def local_device(device: torch.device) -> torch.device:
    """``cuda`` becomes this rank's GPU (``cuda:LOCAL_RANK``) under a process group; anything else is unchanged."""
    ctx = current()
    if ctx is None or device.type != "cuda":
        return device
    return torch.device("cuda", ctx.local_rank)


def local_part(batch: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """This rank's part of a global mini-batch: ``world_size`` contiguous, nearly equal parts (one may be empty
    when the batch has fewer rows than ranks)."""
    return torch.tensor_split(batch, ctx.world_size)[ctx.rank]


def shard_rows(order: Iterable[torch.Tensor], ctx: DistContext) -> list[torch.Tensor]:
    """This rank's rows of every global mini-batch in ``order`` (disjoint across ranks, covering all rows)."""
    return [local_part(batch, ctx) for batch in order]


def _comm_device(ctx: DistContext, fallback: torch.device) -> torch.device:
    """Where collective tensors live: this rank's GPU under NCCL, else ``fallback``."""
    return torch.device("cuda", torch.cuda.current_device()) if ctx.backend == "nccl" else fallback


def _module_device(module: nn.Module) -> torch.device:
    return next((p.device for p in module.parameters()), torch.device("cpu"))


def average_gradients(module: nn.Module, weight: int, ctx: DistContext) -> None:
    """All-reduce the gradients: every parameter gets ``sum_r w_r g_r / sum_r w_r`` (``w_r`` the rows rank r
    trained on in this step, ``g_r`` its gradient of the mean loss): the gradient of the whole global batch.

    A parameter with no gradient on any rank keeps none (the optimiser skips it, as in one process).
    """
    import torch.distributed as dist

    params = [p for p in module.parameters() if p.requires_grad]
    dev = _comm_device(ctx, _module_device(module))
    parts = [(p.grad.detach() * weight if p.grad is not None else torch.zeros_like(p)).reshape(-1).to(dev, torch.float32) for p in params]
    flags = torch.tensor([float(weight)] + [float(p.grad is not None) for p in params], device=dev)
    flat = torch.cat([*parts, flags])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    tail = flat[len(flat) - len(flags) :]
    total = float(tail[0])
    offset = 0
    for p, present in zip(params, tail[1:].tolist()):
        size = p.numel()
        if present > 0 and total > 0:
            p.grad = (flat[offset : offset + size] / total).view_as(p).to(p.device, p.dtype)
        else:
            p.grad = None
        offset += size


def broadcast_module(module: nn.Module, ctx: DistContext) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    import torch.distributed as dist

    dev = _comm_device(ctx, _module_device(module))
    with torch.no_grad():
        for tensor in module.state_dict().values():
            same = tensor.device == dev
            buf = tensor.detach() if same else tensor.detach().to(dev)  # detach() shares the storage: received in place
            dist.broadcast(buf, src=0)
            if not same:
                tensor.copy_(buf.to(tensor.device))


def broadcast_object(obj: Any, ctx: DistContext) -> Any:
    """Rank 0's ``obj`` on every rank (a small picklable value such as an epoch record)."""
    import torch.distributed as dist

    box = [obj if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0, device=_comm_device(ctx, torch.device("cpu")) if ctx.backend == "nccl" else None)
    return box[0]


def sum_across(values: list[float], ctx: DistContext, device: torch.device | None = None) -> list[float]:
    """Element-wise sums of ``values`` over the ranks."""
    import torch.distributed as dist

    dev = _comm_device(ctx, device or torch.device("cpu"))
    buf = torch.tensor(values, dtype=torch.float64, device=dev)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    return [float(v) for v in buf.tolist()]
