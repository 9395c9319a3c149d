"""Distributed engines that train cofirec models and score them at scale, handing back normal cofirec models.

``cofirec.engines.spark``: Spark MLlib ALS for ``als``/``ials`` (:func:`train_spark_als`), batch top-N for every
user in Spark (:func:`spark_recommend_all`) and the session helper (:func:`spark_session`). PySpark is the
optional ``spark`` extra (``pip install 'cofirec[spark]'``) and needs Java 17+; importing this package needs
neither (names load lazily).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "spark_session": "cofirec.engines.session",
    "check_java": "cofirec.engines.session",
    "train_spark_als": "cofirec.engines.spark",
    "spark_recommend_all": "cofirec.engines.spark_recommend",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cofirec.engines' has no attribute {name!r}")
