"""Plots of experiments as PNG files (matplotlib's Agg canvas: no display, no global pyplot state).

* :func:`plot_learning_curves` - per-epoch history of iterative models (``model.history_``)
* :func:`plot_train_validation` - train and validation loss of several runs side by side, best epoch marked
* :func:`plot_metric_bars` - one bar chart per metric comparing models (confidence intervals as error bars)
* :func:`plot_tuning_history` - objective value per trial with the running best
* :func:`plot_param_importance` - hyperparameter importance bars
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from cofirec._extras import require

_SKIP_KEYS = {"epoch", "time", "seconds", "elapsed", "lr", "samples", "samples_per_s", "batches", "n_samples"}
_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _figure(n_panels: int, panel_w: float = 4.2, panel_h: float = 3.2, max_cols: int = 3):
    require("matplotlib", "plotting")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = max(1, min(max_cols, n_panels))
    rows = max(1, math.ceil(n_panels / cols))
    fig = Figure(figsize=(panel_w * cols, panel_h * rows), dpi=72)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(max(n_panels, 1))]
    return fig, axes


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # fixed margins: tight_layout measures every text and costs seconds on a busy machine
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=min(0.3, 0.65 / w), right=0.98, top=1 - 0.4 / h, bottom=min(0.4, 0.75 / h), wspace=0.35, hspace=0.7)
    fig.savefig(path, format="png")
    return path


def _empty(path: str | Path, message: str) -> Path:
    fig, (ax,) = _figure(1, panel_w=6.0, panel_h=2.0)
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11)
    return _save(fig, path)


def history_metrics(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[str]:
    """Numeric keys recorded in any epoch record (``loss`` first, then validation numbers), ``epoch`` excluded."""
    keys: list[str] = []
    for records in histories.values():
        for rec in records:
            for key, value in rec.items():
                if key in _SKIP_KEYS or key in keys or key.endswith(("seconds", "_per_s", "_time", "_s")):
                    continue
                if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
                    keys.append(key)
    return sorted(keys, key=lambda k: (k != "loss", not k.startswith("train"), k))


_PREFIXES = ("train_", "val_", "valid_", "validation_", "test_")


def curve_group(key: str) -> str:
    """Panel a history key goes to: ``train_rmse`` and ``val_rmse`` share ``rmse``; ``val_loss`` joins ``loss``."""
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def plot_learning_curves(histories: dict[str, list[dict]], path: str | Path) -> Path:
    """Learning curves per model: one row of panels per model, one panel per quantity; writes a PNG.

    Train and validation versions of a quantity (``train_rmse`` / ``val_rmse``, ``loss`` / ``val_loss``)
    share a panel. Models keep their own panels because their losses are on different scales.

    Parameters
    ----------
    histories : dict of str -> list of dict
        Model label -> its ``history_`` (one record per epoch, e.g. ``{"epoch": 3, "loss": 0.81,
        "val_rmse": 0.95}``). Records without ``epoch`` are numbered 1, 2, ... Models with an empty
        history (non-iterative models) are left out; when none has a history the PNG says so.
    path : str or Path
        Output PNG file (parent folders are created).
    """
    panels: list[tuple[str, str, list[str]]] = []  # (model, group, keys)
    per_model: dict[str, list[dict]] = {}
    for name, records in histories.items():
        records = list(records or [])
        groups: dict[str, list[str]] = {}
        for key in history_metrics({name: records}):
            groups.setdefault(curve_group(key), []).append(key)
        for group, keys in groups.items():
            panels.append((name, group, keys))
        if groups:
            per_model[name] = records
    if not panels:
        return _empty(path, "No learning curves: none of the models is iterative")
    cols = max(sum(1 for p in panels if p[0] == m) for m in per_model)
    require("matplotlib", "plotting")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.0 * cols, 2.9 * len(per_model)), dpi=72)
    FigureCanvasAgg(fig)
    for row, model in enumerate(per_model):
        mine = [p for p in panels if p[0] == model]
        for col, (_, group, keys) in enumerate(mine):
            ax = fig.add_subplot(len(per_model), cols, row * cols + col + 1)
            for c, key in enumerate(keys):
                pts = [(rec.get("epoch", i + 1), rec[key]) for i, rec in enumerate(per_model[model]) if _is_number(rec.get(key))]
                if pts:
                    x, y = zip(*pts)
                    ax.plot(x, y, marker="o", markersize=3, label=key, color=_COLORS[c % len(_COLORS)])
            ax.set_title(f"{model}: {group}", fontsize=10)
            ax.set_xlabel("epoch", fontsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    height = 2.9 * len(per_model)
    fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.35 / height, bottom=0.5 / height, wspace=0.3, hspace=0.6)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def best_epoch(records: Sequence[Mapping[str, Any]], key: str = "val_loss") -> tuple[int, float] | None:
    """(epoch, value) of the lowest ``key`` in a history (epochs numbered from 1 when unrecorded); None without it."""
    pts = [(int(rec.get("epoch", i + 1)), float(rec[key])) for i, rec in enumerate(records) if _is_number(rec.get(key))]
    return min(pts, key=lambda p: p[1]) if pts else None


def plot_train_validation(
    histories: Mapping[str, Sequence[Mapping[str, Any]]], path: str | Path, *, train_key: str = "loss", val_key: str = "val_loss", title: str = ""
) -> Path:
    """One panel per run (side by side, same y range): ``train_key`` and ``val_key`` per epoch, the epoch of the
    lowest validation value marked (where the run starts to overfit); ``title`` prefixes each panel's title."""
    runs = {name: list(recs) for name, recs in histories.items() if any(_is_number(r.get(train_key)) for r in recs)}
    if not runs:
        return _empty(path, f"No {train_key!r} history to plot")
    fig, axes = _figure(len(runs), panel_w=4.0, panel_h=3.2, max_cols=len(runs))
    values = [float(r[k]) for recs in runs.values() for r in recs for k in (train_key, val_key) if _is_number(r.get(k))]
    lo, hi = min(values), max(values)
    for ax, (name, recs) in zip(axes, runs.items()):
        for c, key in enumerate((train_key, val_key)):
            pts = [(rec.get("epoch", i + 1), rec[key]) for i, rec in enumerate(recs) if _is_number(rec.get(key))]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, marker="o", markersize=3, label="train" if key == train_key else "validation", color=_COLORS[c])
        best = best_epoch(recs, val_key)
        if best is not None:
            ax.axvline(best[0], color=_COLORS[3], linestyle="--", linewidth=1, label=f"best validation: epoch {best[0]}")
        ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
        ax.set_title(f"{title}: {name}" if title else name, fontsize=10)
        ax.set_xlabel("epoch", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel(train_key if val_key == f"val_{train_key}" else f"{train_key} / {val_key}", fontsize=8)
    return _save(fig, path)


def plot_metric_bars(rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], path: str | Path, label_key: str = "model") -> Path:
    """Comparison bar charts: one panel per metric, one bar per row (model); returns the PNG path.

    Rows with ``intervals`` {metric: [lo, hi]} get error bars spanning the interval; a row whose
    ``significant[metric]`` is False (no significant difference from the best model) has ``≈`` after its value.
    """
    metrics = [m for m in metrics if any(_is_number(r.get(m)) for r in rows)]
    if not rows or not metrics:
        return _empty(path, "No metrics to compare")
    fig, axes = _figure(len(metrics), panel_w=max(3.5, 0.7 * len(rows) + 1.5), max_cols=4)
    labels = [str(r.get(label_key, i)) for i, r in enumerate(rows)]
    for ax, metric in zip(axes, metrics):
        values = np.array([float(r[metric]) if _is_number(r.get(metric)) else np.nan for r in rows])
        yerr = interval_errors(rows, metric, values)
        bars = ax.bar(range(len(rows)), values, color=[_COLORS[i % len(_COLORS)] for i in range(len(rows))])
        if yerr is not None:
            ax.errorbar(range(len(rows)), values, yerr=yerr, fmt="none", ecolor="#222", elinewidth=1.2, capsize=4)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(metric + (" (95% CI)" if yerr is not None else ""))
        ax.margins(y=0.12)
        ax.grid(axis="y", alpha=0.3)
        tops = values + (yerr[1] if yerr is not None else 0.0)
        for bar, v, top, row in zip(bars, values, tops, rows):
            if np.isfinite(v):
                ns = (row.get("significant") or {}).get(metric) is False
                ax.annotate(f"{v:.3g}" + (" ≈" if ns else ""), (bar.get_x() + bar.get_width() / 2, top), ha="center", va="bottom", fontsize=7)
    return _save(fig, path)


def interval_errors(rows: Sequence[Mapping[str, Any]], metric: str, values: np.ndarray) -> np.ndarray | None:
    """(2, n) distances from each value down to ``lo`` and up to ``hi`` of ``row["intervals"][metric]`` (0 where a
    row has no interval); None when no row has one."""
    err = np.zeros((2, len(rows)))
    found = False
    for i, row in enumerate(rows):
        lo_hi = (row.get("intervals") or {}).get(metric)
        if lo_hi and _is_number(lo_hi[0]) and _is_number(lo_hi[1]) and np.isfinite(values[i]):
            err[0, i] = max(0.0, values[i] - float(lo_hi[0]))
            err[1, i] = max(0.0, float(lo_hi[1]) - values[i])
            found = True
    return err if found else None


def plot_tuning_history(values: Sequence[float | None], path: str | Path, *, minimize: bool = False, metric: str = "objective") -> Path:
    """Objective value of each trial (None/NaN for pruned or failed trials) and the running best."""
    vals = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    if not np.isfinite(vals).any():
        return _empty(path, "No finished trials yet")
    fig, (ax,) = _figure(1, panel_w=6.5, panel_h=3.5)
    x = np.arange(1, len(vals) + 1)
    ok = np.isfinite(vals)
    ax.scatter(x[ok], vals[ok], s=18, label="trial", color=_COLORS[0])
    filled = np.where(ok, vals, np.inf if minimize else -np.inf)
    best = np.minimum.accumulate(filled) if minimize else np.maximum.accumulate(filled)
    best[~np.isfinite(best)] = np.nan
    ax.step(x, best, where="post", label="best so far", color=_COLORS[3])
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"Tuning history ({'lower' if minimize else 'higher'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_param_importance(importance: Mapping[str, float], path: str | Path, note: str = "") -> Path:
    """Horizontal bars of hyperparameter importance (values sum to about 1); ``note`` is shown when empty."""
    if not importance:
        return _empty(path, note or "Parameter importance not available")
    items = sorted(importance.items(), key=lambda kv: kv[1])
    fig, (ax,) = _figure(1, panel_w=6.0, panel_h=max(2.0, 0.45 * len(items) + 1.0))
    ax.barh([k for k, _ in items], [float(v) for _, v in items], color=_COLORS[0])
    ax.set_xlabel("importance")
    ax.set_title("Hyperparameter importance" + (f" ({note})" if note else ""))
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isfinite(float(value))
