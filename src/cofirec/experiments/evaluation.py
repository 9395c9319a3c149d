"""Evaluation calls shared by compare and tune: the unknown-id policy applied once, and the evaluator with plain floats."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from cofirec.data.dataset import Interactions


def check_test_ids(train: Interactions, test: Interactions, *, strict: bool = False, allow_unknown: bool = False, what: str = "compare"):
    """The unknown-id report of ``test`` against the users/items of ``train``, with the policy applied
    (:func:`cofirec.evaluate.unknown.check_unknown`: a warning, or an error) before anything is fitted."""
    from cofirec.evaluate.unknown import check_unknown, unknown_report

    report = unknown_report(train, test)
    check_unknown(report, strict=strict, allow_unknown=allow_unknown, what=what)
    return report


def run_evaluate(
    model: Any, test: Interactions, *, protocol: str, k: Sequence[int], negatives: Any = None, quiet_unknown: bool = False, detailed: bool = False
) -> Any:
    """``cofirec.evaluate.runner.evaluate`` with the options it accepts; values as plain floats.

    ``quiet_unknown``: skip the unknown-id policy (already applied by the caller, or validation data the
    library carved out itself); the counts are still in the result. ``detailed``: the whole
    :class:`~cofirec.evaluate.result.EvaluationResult` of ``evaluate_detailed`` (per-user values) instead.
    """
    from cofirec.evaluate.runner import evaluate, evaluate_detailed
    from cofirec.evaluate.unknown import UnknownIdsWarning

    kwargs: dict[str, Any] = {"protocol": protocol, "k": tuple(k), "allow_unknown": quiet_unknown}
    if negatives is not None:
        kwargs["negatives"] = negatives
    with warnings.catch_warnings():
        if quiet_unknown:
            warnings.simplefilter("ignore", UnknownIdsWarning)
        if detailed:
            return evaluate_detailed(model, test, **kwargs)
        return plain_metrics(evaluate(model, test, **kwargs))


def plain_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Numpy numbers of an evaluator's dict as plain floats."""
    return {key: (float(v) if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) else v) for key, v in dict(metrics).items()}
