"""Root mean squared error: the one implementation behind ``cofirec.evaluate.rmse`` and the models' validation RMSE
(kept here, below both, so that models need not import the evaluation layer)."""

from __future__ import annotations

import numpy as np


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """``sqrt(mean((a - b)^2))`` over paired values (n,), computed in float64; NaN when there are none."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((a - b) ** 2)))
