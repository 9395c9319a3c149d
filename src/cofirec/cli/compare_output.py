"""Console output of ``cofirec compare`` beyond the main table: interval and significance marks, their legend,
spread across seeds, sampled-vs-full order flips, beyond-accuracy numbers and the cold-start rows."""

from __future__ import annotations

import math
from typing import Any

from cofirec.cli.output import stdout_console
from cofirec.experiments.report_sections import NS_MARK, not_significant


def interval_text(row: dict[str, Any], metric: str) -> str:
    """`` ±0.0110`` (half the width of the interval) and `` ≈`` when not significantly different from the best."""
    out = ""
    lo_hi = (row.get("intervals") or {}).get(metric)
    if lo_hi and all(isinstance(v, (int, float)) and math.isfinite(v) for v in lo_hi):
        out += f" [dim]±{(lo_hi[1] - lo_hi[0]) / 2:.4f}[/]"
    if not_significant(row, metric):
        out += f" [yellow]{NS_MARK}[/]"
    return out


def print_extras(result: Any) -> None:
    """Legend, notes, seeds table, order flips, beyond-accuracy table and cold-start summary (when present)."""
    from rich.markup import escape

    console = stdout_console()
    sig = result.significance
    if sig:
        console.print(
            f"± half the width of the {sig.get('level', 0.95):.0%} bootstrap interval over users ({sig.get('n_resamples')} resamples, "
            f"seed {sig.get('seed')}); {NS_MARK} not significantly different from the best model (paired {sig.get('method')} test, "
            f"Holm-corrected, alpha {1 - sig.get('level', 0.95):.2f}).",
            markup=False,
        )
    for line in result.notes:
        console.print(f"note: {line}", markup=False)
    _print_seeds(result)
    _print_beyond(result)
    if result.protocol == "sampled" and any(isinstance(r.get("full"), dict) for r in result.rows):
        from cofirec.experiments.sampled import FLIP_NOTE, describe_flip

        if result.flips:
            console.print(f"[yellow]{len(result.flips)} order flip(s) between sampled and full ranking:[/]")
            for flip in result.flips:
                console.print("  " + escape(describe_flip(flip)))
        else:
            console.print("no order flip between sampled and full-ranking metrics")
        console.print(FLIP_NOTE, markup=False)
    if result.cold:
        cold = result.cold
        counts = ", ".join(f"{k[2:]} {v:,}" for k, v in cold.items() if k.startswith("n_") and isinstance(v, int))
        console.print(f"cold rows after the cut-off {cold.get('cutoff', '')}: {counts}", markup=False)
        fallback = (cold.get("new_users") or {}).get("metrics") or {}
        if fallback:
            first = next(iter(fallback.values()))
            shown = [m for m in first if m.startswith(("hr@", "ndcg@"))][:2]
            per_model = "; ".join(f"{name} " + ", ".join(f"{m} {v[m]:.4f}" for m in shown if m in v) for name, v in fallback.items())
            console.print(f"  new users ({cold['new_users']['n_users']:,}) on known items, fallback lists: {per_model}", markup=False)
        for key in ("new_users_note", "new_items_note"):
            if cold.get(key):
                console.print(f"  {cold[key]}", markup=False)


def _print_seeds(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cofirec.experiments.report import headline_metrics

    if len(result.seeds) < 2:
        return
    metrics = headline_metrics(result.metrics, limit=4)
    table = Table(title=f"across seeds {','.join(map(str, result.seeds))}: mean ± std")
    table.add_column("model", style="bold", no_wrap=True)
    for m in metrics:
        table.add_column(m, justify="right", no_wrap=True)
    for row in result.rows:
        stats = row.get("seeds") or {}
        table.add_row(escape(row["model"]), *[f"{stats[m]['mean']:.4f} ± {stats[m]['std']:.4f}" if m in stats else "-" for m in metrics])
    stdout_console().print(table)


def _print_beyond(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    rows = [r for r in result.rows if r.get("beyond")]
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r["beyond"]))
    extra = [m for m in result.metrics if m.split("@")[0] in ("coverage", "novelty")][:2]
    table = Table(title="beyond accuracy")
    table.add_column("model", style="bold", no_wrap=True)
    for key in keys + extra:
        table.add_column(key, justify="right", no_wrap=True)
    for row in rows:
        values = [row["beyond"].get(k) for k in keys] + [row.get(m) for m in extra]
        table.add_row(escape(row["model"]), *[f"{v:.4f}" if isinstance(v, (int, float)) else "-" for v in values])
    stdout_console().print(table)
