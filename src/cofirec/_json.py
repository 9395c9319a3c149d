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


NONFINITE_KEY = "$float"
"""Key of the object that stands for a non-finite float in strict JSON: ``{"$float": "nan" | "inf" | "-inf"}``."""


def encode_nonfinite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by ``{"$float": "nan"|"inf"|"-inf"}`` (lossless, strict JSON);
    numpy scalars become plain values and tuples lists."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, dict):
        return {k: encode_nonfinite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_nonfinite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {NONFINITE_KEY: "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    return value


def decode_nonfinite(value: Any) -> Any:
    """Inverse of :func:`encode_nonfinite`."""
    if isinstance(value, dict):
        if len(value) == 1 and NONFINITE_KEY in value and value[NONFINITE_KEY] in ("nan", "inf", "-inf"):
            return float(value[NONFINITE_KEY])
        return {k: decode_nonfinite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_nonfinite(v) for v in value]
    return value


def dumps_strict(value: Any, **kwargs: Any) -> str:
    """JSON text that any parser accepts: non-finite floats encoded explicitly, never bare ``NaN``/``Infinity``."""
    import json

    return json.dumps(encode_nonfinite(value), allow_nan=False, **kwargs)
