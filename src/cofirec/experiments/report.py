"""Experiment reports: ``report.html`` (self-contained), ``results.json``, ``results.csv`` and the PNG plots.

The HTML embeds every plot as a base64 PNG and uses inline CSS only (no scripts, no external URLs), so it
opens offline and can be mailed as one file. It starts with the one command that reproduces the run, then
the metrics table, plots, tuning details (when any), the exact config, the data fingerprint (sha256 of the
input files), package versions, seed and machine.
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cofirec._json import jsonable
from cofirec.experiments import plots
from cofirec.experiments.fingerprint import files_fingerprint, machine_info, package_versions

REPORT_HTML = "report.html"
RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"


@dataclass
class ReportData:
    """Everything a report shows.

    Attributes
    ----------
    title : str
    command : str
        The command that reproduces the run (printed at the top).
    rows : list of dict
        One row per model (``model`` label, metrics, timings, sizes, params, error).
    metrics : list of str
        Quality metric columns of ``rows``, in display order.
    histories : dict of str -> list of dict
        Per-epoch records per model label (learning curves).
    config : dict
        The exact experiment config.
    data : dict
        Data description (name, sizes, in-memory data sha256).
    files : list of str or Path
        Input files (or folders) to fingerprint.
    seed : int or None
    tuning : dict or None
        ``{"metric", "direction", "trials": [{"number", "state", "value", "params"}], "best", "importance",
        "importance_note"}`` for tuning runs.
    """

    title: str
    command: str
    rows: list[dict[str, Any]]
    metrics: list[str]
    histories: dict[str, list[dict]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    files: Sequence[str | Path] = ()
    seed: int | None = None
    tuning: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Comparison extras written at the top level of ``results.json`` and shown as sections: ``significance``
    (settings of intervals and tests), ``seeds``, ``flips`` and ``flip_note`` (sampled protocol), ``cold``."""


def write_report(report: ReportData, out_dir: str | Path) -> Path:
    """Write the report folder (created if needed); returns the path of ``report.html``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = files_fingerprint(report.files)
    versions = package_versions()
    machine = machine_info()
    images = _write_plots(report, out)
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    payload = {
        "title": report.title,
        "command": report.command,
        "created": created,
        "seed": report.seed,
        "metrics": report.metrics,
        "rows": report.rows,
        "histories": report.histories,
        "tuning": report.tuning,
        "config": report.config,
        "data": {**report.data, "files": fingerprint},
        "versions": versions,
        "machine": machine,
        "notes": report.notes,
        "plots": [p.name for _, p in images],
        **report.extra,
    }
    (out / RESULTS_JSON).write_text(json.dumps(jsonable(payload), indent=2) + "\n", encoding="utf-8")
    write_csv(report.rows, report.metrics, out / RESULTS_CSV)
    page = render_html(report, images, fingerprint, versions, machine, created)
    path = out / REPORT_HTML
    path.write_text(page, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- files
def write_csv(rows: list[dict[str, Any]], metrics: Sequence[str], path: Path) -> Path:
    """One line per model: label, registry name, metrics, timings, sizes, params (``k=v; ...``), error."""
    rows = [flat_row(r, metrics) for r in rows]
    lead = ["model", "name", *metrics]
    rest = sorted({k for r in rows for k in r} - set(lead) - {"params", "error"})
    header = lead + rest + ["params", "error"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for r in rows:
            line = []
            for col in header:
                value = r.get(col)
                if col == "params":
                    value = "; ".join(f"{k}={v}" for k, v in (value or {}).items())
                line.append("" if value is None else jsonable(value))
            writer.writerow(line)
    return path


def flat_row(row: dict[str, Any], metrics: Sequence[str]) -> dict[str, Any]:
    """A row for the CSV: nested results (intervals, p-values, seeds, beyond) as ``METRIC_lo`` / ``METRIC_hi`` /
    ``METRIC_p_holm`` / ``METRIC_seed_mean`` / ``METRIC_seed_std`` / beyond keys; groups stay in results.json."""
    out = {k: v for k, v in row.items() if not isinstance(v, (dict, list)) or k == "params"}
    for m in metrics:
        lo_hi = (row.get("intervals") or {}).get(m)
        if lo_hi:
            out[f"{m}_lo"], out[f"{m}_hi"] = lo_hi
        if m in (row.get("p_holm") or {}):
            out[f"{m}_p_holm"] = row["p_holm"][m]
        if m in (row.get("seeds") or {}):
            out[f"{m}_seed_mean"], out[f"{m}_seed_std"] = row["seeds"][m]["mean"], row["seeds"][m]["std"]
    out.update(row.get("beyond") or {})
    return out


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def _write_plots(report: ReportData, out: Path) -> list[tuple[str, Path]]:
    images: list[tuple[str, Path]] = []
    if not _have_matplotlib():
        warnings.warn("report without plots: matplotlib is not installed (pip install 'cofirec[experiments]')", UserWarning, stacklevel=2)
        return images
    main = headline_metrics(report.metrics)
    ok_rows = [r for r in report.rows if not r.get("error")]
    if ok_rows and main:
        images.append(("Metrics", plots.plot_metric_bars(ok_rows, main, out / "metrics.png")))
    if ok_rows:
        images.append(("Fit time (s)", plots.plot_metric_bars(ok_rows, ["fit_s", "recommend_s"], out / "timing.png")))
    if any(report.histories.values()):
        images.append(("Learning curves", plots.plot_learning_curves(report.histories, out / "learning_curves.png")))
    if report.tuning:
        t = report.tuning
        values = [tr.get("value") if tr.get("state") == "COMPLETE" else None for tr in t.get("trials", [])]
        minimize = t.get("direction") == "minimize"
        images.append(("Tuning history", plots.plot_tuning_history(values, out / "tuning_history.png", minimize=minimize, metric=t.get("metric", "objective"))))
        images.append(
            ("Parameter importance", plots.plot_param_importance(t.get("importance") or {}, out / "param_importance.png", note=t.get("importance_note", "")))
        )
    return images


def headline_metrics(metrics: Sequence[str], limit: int = 4) -> list[str]:
    """The metrics worth a bar chart: error metrics, then ndcg/recall/hr/precision/auc at each cut-off."""
    order = ["rmse", "mae", "auc", "logloss", "accuracy", "ndcg", "recall", "hr", "precision", "mrr", "map"]
    picked = [m for base in order for m in metrics if m.split("@")[0] == base]
    return picked[:limit] or list(metrics)[:limit]


# ---------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.3rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
pre{background:#f6f8fa;padding:.7rem;border-radius:4px;overflow-x:auto;font-size:.85rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}tr.best td{font-weight:600}.err{color:#b00}
img{max-width:100%;border:1px solid #eee;margin:.5rem 0}.muted{color:#666;font-size:.85rem}
.ci{color:#555;font-size:.75rem;white-space:nowrap}.ns{color:#b36b00;font-weight:700;cursor:help}.legend{font-size:.8rem;color:#444;max-width:60rem}
.warn{color:#8a4b00}.wide{overflow-x:auto;max-width:100%}
"""


def render_html(report: ReportData, images: list[tuple[str, Path]], fingerprint: dict, versions: dict, machine: dict, created: str) -> str:
    """The whole report page as a string (images read from disk and embedded)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="muted">Created {e(created)} &middot; seed {e(str(report.seed))} &middot; data {e(str(report.data.get("name", "")))}</p>',
        "<h2>Reproduce</h2>",
        f'<pre id="command">{e(report.command)}</pre>',
    ]
    for n in report.notes:
        parts.append(f'<p class="muted">{e(n)}</p>')
    legend, sections = _comparison_sections(report)
    parts += ["<h2>Results</h2>", f'<div class="wide">{_metrics_table(report.rows, report.metrics)}</div>', legend]
    parts += [_image(title, path) for title, path in images if title == "Metrics"]  # the bars illustrate the table
    parts += sections
    if report.tuning:
        parts.append(_tuning_section(report.tuning))
    parts += [_image(title, path) for title, path in images if title != "Metrics"]
    parts += ["<h2>Data</h2>", _kv_table(report.data)]
    if fingerprint:
        rows = "".join(
            f'<tr><td class="l">{e(p)}</td><td>{v["bytes"]:,}</td><td class="l"><code>{e(v["sha256"])}</code></td></tr>' for p, v in fingerprint.items()
        )
        parts.append(f'<table><tr><th class="l">file</th><th>bytes</th><th class="l">sha256</th></tr>{rows}</table>')
    else:
        parts.append('<p class="muted">No input files (in-memory data); see the data sha256 above.</p>')
    parts += ["<h2>Config</h2>", f"<pre>{e(json.dumps(jsonable(report.config), indent=2))}</pre>"]
    parts += ["<h2>Environment</h2>", _kv_table({**versions, **{f"machine.{k}": v for k, v in machine.items()}})]
    parts.append("</body></html>")
    return "\n".join(parts)


def _image(title: str, path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def _comparison_sections(report: ReportData) -> tuple[str, list[str]]:
    """The legend of the interval/significance marks, and the sections on seeds, sampled vs full, beyond-accuracy,
    groups and cold rows (those with something to show)."""
    from cofirec.experiments import report_sections as rs

    x = report.extra
    group_metric = next((m for m in headline_metrics(report.metrics, limit=1)), "")
    sections = (
        rs.seeds_section(report.rows, report.metrics, x.get("seeds") or []),
        rs.sampled_section(report.rows, report.metrics, x.get("flips") or [], x.get("flip_note", "")),
        rs.beyond_section(report.rows, report.metrics),
        rs.groups_section(report.rows, group_metric),
        rs.cold_section(x.get("cold")),
    )
    return rs.significance_legend(x.get("significance")), [s for s in sections if s]


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return ""
        return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3g}"
    return str(value)


def _metrics_table(rows: list[dict[str, Any]], metrics: Sequence[str]) -> str:
    from cofirec.evaluate.protocols import is_lower_better
    from cofirec.experiments.report_sections import metric_cell

    e = html.escape
    extra = [c for c in ("fit_s", "eval_s", "recommend_s", "n_params", "artifact_bytes", "epochs") if any(c in r for r in rows)]
    cols = list(metrics) + extra
    best: dict[str, float] = {}
    for m in metrics:
        vals = [float(r[m]) for r in rows if isinstance(r.get(m), (int, float)) and math.isfinite(float(r[m]))]
        if vals:
            best[m] = min(vals) if is_lower_better(m) else max(vals)
    head = '<tr><th class="l">model</th>' + "".join(f"<th>{e(c)}</th>" for c in cols) + '<th class="l">params</th></tr>'
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            mark = c in best and isinstance(v, (int, float)) and float(v) == best[c]
            cells.append(metric_cell(r, c, mark) if c in metrics else f"<td>{'<b>' if mark else ''}{e(_fmt(v))}{'</b>' if mark else ''}</td>")
        params = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items())
        tail = f'<td class="l">{e(params)}</td>'
        if r.get("error"):
            tail = f'<td class="l err" colspan="1">{e(str(r["error"]))}</td>'
        body.append(f'<tr><td class="l">{e(str(r.get("model", "")))}</td>{"".join(cells)}{tail}</tr>')
    return f"<table>{head}{''.join(body)}</table>"


def _tuning_section(t: dict[str, Any]) -> str:
    e = html.escape
    best = t.get("best") or {}
    trials = t.get("trials", [])
    params = sorted({p for tr in trials for p in (tr.get("params") or {})})
    head = "<tr><th>#</th><th>state</th><th>value</th>" + "".join(f"<th>{e(p)}</th>" for p in params) + "</tr>"
    body = "".join(
        f"<tr><td>{tr.get('number')}</td><td class='l'>{e(str(tr.get('state')))}</td><td>{e(_fmt(tr.get('value')))}</td>"
        + "".join(f"<td>{e(_fmt((tr.get('params') or {}).get(p)))}</td>" for p in params)
        + "</tr>"
        for tr in trials
    )
    counts = {s: sum(1 for tr in trials if tr.get("state") == s) for s in ("COMPLETE", "PRUNED", "FAIL")}
    summary = ", ".join(f"{v} {k.lower()}" for k, v in counts.items() if v)
    return (
        "<h2>Tuning</h2>"
        f"<p>Metric <b>{e(str(t.get('metric')))}</b> ({e(str(t.get('direction')))}) on validation; {e(summary)}. "
        f"Best trial #{e(str(best.get('number')))}: value {e(_fmt(best.get('value')))}, params <code>{e(json.dumps(jsonable(best.get('params', {}))))}</code>."
        + (f" The model's defaults scored {e(_fmt(t['default_value']))}." if t.get("default_value") is not None else "")
        + "</p>"
        f"<table>{head}{body}</table>"
    )


def _kv_table(values: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><td class="l">{e(str(k))}</td><td class="l">{e(_fmt(v) if not isinstance(v, (dict, list)) else json.dumps(jsonable(v)))}</td></tr>'
        for k, v in values.items()
    )
    return f"<table>{rows}</table>"
