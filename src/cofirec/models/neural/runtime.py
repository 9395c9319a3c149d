"""Where and how a neural model runs: the device, torch's thread count, and seeded torch state for one fit."""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

from cofirec.errors import ConfigError


def _resolve_device(spec: str, name: str = "") -> torch.device:
    """``"auto"`` -> cuda when available, else cpu; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` as given (checked)."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(spec)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"{name}: unknown device {spec!r} (use auto, cpu or cuda)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{name}: device={spec!r} but CUDA is not available here (use device='auto' or 'cpu')")
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"{name}: unsupported device {spec!r} (use auto, cpu or cuda)")
    return dev


def cpu_threads() -> int:
    """Threads torch may use: ``COFIREC_THREADS`` if set, else the CPUs this process may run on."""
    env = os.environ.get("COFIREC_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def _threads() -> Iterator[None]:
    """Cap torch's intra-op threads at :func:`cpu_threads` for the duration, then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(min(before, cpu_threads()))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _torch_context(seed: int, device: str) -> Iterator[None]:
    """Seeded, thread-capped torch state for one fit; the global RNG state is restored after.

    The CPU kernels used here (embedding lookups and their index-add backward, dense layers) are
    deterministic, so no global ``torch.use_deterministic_algorithms`` switch is flipped (it also imports
    the compiler stack, which costs seconds).
    """
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices), _threads():
        torch.manual_seed(seed)
        yield
