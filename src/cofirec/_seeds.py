"""Random seeds: one check for every entry point that takes one (numpy refuses negative seeds deep inside)."""

from __future__ import annotations

from typing import Any

from cofirec.errors import ConfigError


def check_seed(seed: Any, what: str = "seed") -> int:
    """``seed`` as an int; ConfigError naming ``what`` unless it is a non-negative integer."""
    import numpy as np

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"{what}={seed!r} should be a non-negative integer")
    return int(seed)
