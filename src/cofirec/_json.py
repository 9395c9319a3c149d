"""Plain JSON values from numpy scalars/arrays, tuples and paths (shared by the CLI and the reports)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def jsonable(value: Any) -> Any:
    """Numpy values, tuples and paths as plain JSON values; NaN and infinities as None."""
    import numpy as np  # lazily: the CLI imports this module at start-up
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
