"""Multi-seed comparisons: repeat the split and the fits with several seeds, report mean and std per model.

One seed measures one draw of the split and of the models' random initialisation; differences smaller than
the spread across seeds are noise. :func:`run_seeded` runs :func:`~cofirec.experiments.compare.compare` once
per seed (the dataset is loaded once) and :func:`seed_summary` adds ``rows[i]["seeds"]`` =
``{metric: {"mean", "std", "values"}}`` to the first seed's result, which stays the reference run
(its per-user values give the intervals and tests).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import numpy as np

from cofirec.errors import ConfigError
from cofirec.experiments.compare import ComparisonResult
from cofirec.experiments.config import ExperimentConfig


def parse_seeds(text: str | Sequence[int] | None) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``: distinct non-negative integers, at least one."""
    if text is None:
        return []
    parts: list[Any] = [p.strip() for p in text.split(",") if p.strip()] if isinstance(text, str) else list(text)
    try:
        seeds = [int(p) for p in parts]
    except (TypeError, ValueError):
        raise ConfigError(f"--seeds {text!r}: expected comma-separated non-negative integers, e.g. 0,1,2") from None
    if not seeds or any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds {text!r}: expected comma-separated non-negative integers, e.g. 0,1,2")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r}: each seed once")
    return seeds


def seeded_config(cfg: ExperimentConfig, seed: int) -> ExperimentConfig:
    """A copy of ``cfg`` whose experiment seed and split seed are ``seed``."""
    out = copy.deepcopy(cfg)
    out.seed = int(seed)
    out.split.seed = None  # the split seed follows the experiment seed
    return out


def seed_summary(results: Sequence[ComparisonResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per model label and metric: ``{"mean", "std", "values"}`` over the runs (std with n-1; 0 for one run).

    A model that failed in some run is summarised over the runs it finished (``values`` shows which)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    metrics = [m for res in results for m in res.metrics]
    for label in dict.fromkeys(r["model"] for res in results for r in res.rows):
        per_metric: dict[str, dict[str, Any]] = {}
        for metric in dict.fromkeys(metrics):
            values = [_value(res, label, metric) for res in results]
            finite = np.array([v for v in values if v is not None], dtype=np.float64)
            if not len(finite):
                continue
            std = float(finite.std(ddof=1)) if len(finite) > 1 else 0.0
            per_metric[metric] = {"mean": float(finite.mean()), "std": std, "values": values}
        out[label] = per_metric
    return out


def _value(result: ComparisonResult, label: str, metric: str) -> float | None:
    row = next((r for r in result.rows if r["model"] == label), None)
    value = None if row is None or row.get("error") else row.get(metric)
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None


def run_seeded(
    cfg: ExperimentConfig,
    seeds: Sequence[int],
    run_one: Callable[[ExperimentConfig, Any], ComparisonResult],
    *,
    on_seed: Callable[[int], None] | None = None,
) -> ComparisonResult:
    """Run ``run_one(seeded_cfg, prepared)`` per seed and return the first seed's result with ``seeds`` added.

    The dataset of ``cfg`` is read once; each seed re-splits it (a split without randomness, e.g. temporal or
    given train/test files, stays the same, and only the models' seeds change: said in ``result.notes``).
    """
    from cofirec.experiments.data import load_config_dataset, prepare_data

    data = load_config_dataset(cfg) if cfg.dataset is not None else None
    results: list[ComparisonResult] = []
    names: list[str] = []
    for seed in seeds:
        if on_seed is not None:
            on_seed(seed)
        seeded = seeded_config(cfg, seed)
        prepared = prepare_data(seeded, data=data)
        names.append(prepared.name)
        results.append(run_one(seeded, prepared))
    ref = results[0]
    summary = seed_summary(results)
    for row in ref.rows:
        row["seeds"] = summary.get(row["model"], {})
    ref.seeds = [int(s) for s in seeds]
    varied = "the split and the models' seeds" if len(set(names)) > 1 else "the models' seeds only (the split has no randomness)"
    ref.notes.append(
        f"seeds {', '.join(map(str, seeds))}: mean and std (n-1) over {len(seeds)} runs varying {varied}; "
        f"intervals and tests are those of the seed {seeds[0]} run"
    )
    return ref
