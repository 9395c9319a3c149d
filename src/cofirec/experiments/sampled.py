"""Honest sampled metrics: full-ranking metrics next to the sampled ones, and the model pairs they order differently.

Sampled metrics rank each held-out item among ~100 random negatives instead of the whole catalogue. Krichene &
Rendle (KDD 2020) showed that they are not consistent with the full-ranking metrics they approximate: two models
can swap places. ``compare --protocol sampled`` therefore also ranks the whole catalogue when that is affordable
(:func:`full_ranking_allowed`) and lists the pairs whose order flips (:func:`find_flips`).
"""

from __future__ import annotations

from typing import Any, Sequence

from cofirec.data.dataset import Interactions
from cofirec.evaluate.protocols import is_lower_better

FULL_RANKING_MAX_SCORES = 2_000_000_000
"""Largest ``n_items x n_test_users`` scored for the extra full-ranking pass (per model). Ranking the catalogue
costs one score per item and test user; past two billion scores the extra pass would dominate the run (minutes per
model on a laptop), so it is skipped with a note. ML-1M needs 22 million, ML-20M about 3.6 billion."""

FLIP_NOTE = (
    "Sampled metrics rank each held-out item among ~100 random negatives, not the whole catalogue; they are not "
    "consistent with full-ranking metrics and can reorder models (Krichene & Rendle, KDD 2020), so trust the full-ranking order."
)


def full_ranking_allowed(train: Interactions, test: Any, *, max_scores: int = FULL_RANKING_MAX_SCORES) -> tuple[bool, str]:
    """Whether full-ranking metrics may be computed next to sampled ones, and a one-line reason."""
    n_test_users = int(test.user_counts().astype(bool).sum()) if isinstance(test, Interactions) else 0
    scores = int(train.n_items) * n_test_users
    if n_test_users == 0:
        return False, "full ranking skipped: the test set is not an Interactions container"
    if scores > max_scores:
        return False, (
            f"full ranking skipped: {train.n_items:,} items x {n_test_users:,} test users = {scores:,} scores per model, "
            f"above the bound of {max_scores:,} (FULL_RANKING_MAX_SCORES)"
        )
    return True, f"full ranking computed: {train.n_items:,} items x {n_test_users:,} test users = {scores:,} scores per model"


def find_flips(rows: Sequence[dict[str, Any]], metrics: Sequence[str], *, full_key: str = "full") -> list[dict[str, Any]]:
    """Pairs of models whose order under a sampled metric is the reverse of their order under the full-ranking
    metric of the same name (``row[full_key][metric]``); ties in either protocol are not flips.

    Returns one dict per flip: ``{"metric", "models": [a, b], "sampled": [va, vb], "full": [fa, fb]}`` where ``a``
    is ahead of ``b`` on the sampled metric.
    """
    flips: list[dict[str, Any]] = []
    ok = [r for r in rows if not r.get("error") and isinstance(r.get(full_key), dict)]
    for metric in metrics:
        have = [r for r in ok if _number(r.get(metric)) and _number(r[full_key].get(metric))]
        sign = -1.0 if is_lower_better(metric) else 1.0
        for i, a in enumerate(have):
            for b in have[i + 1 :]:
                ds = sign * (float(a[metric]) - float(b[metric]))
                df = sign * (float(a[full_key][metric]) - float(b[full_key][metric]))
                if ds * df < 0:
                    first, second = (a, b) if ds > 0 else (b, a)
                    flips.append(
                        {
                            "metric": metric,
                            "models": [first["model"], second["model"]],
                            "sampled": [float(first[metric]), float(second[metric])],
                            "full": [float(first[full_key][metric]), float(second[full_key][metric])],
                        }
                    )
    return flips


def describe_flip(flip: dict[str, Any]) -> str:
    """One line: ``ndcg@10: a > b sampled (0.41 vs 0.39) but a < b full ranking (0.05 vs 0.06)``."""
    a, b = flip["models"]
    s, f = flip["sampled"], flip["full"]
    return f"{flip['metric']}: {a} ahead of {b} on sampled ({s[0]:.4f} vs {s[1]:.4f}) but behind on full ranking ({f[0]:.4f} vs {f[1]:.4f})"


def _number(value: Any) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))
