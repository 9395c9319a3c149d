"""HTML sections of comparison reports that go beyond one number per model: interval and significance marks in
the metrics table (with their legend), spread across seeds, sampled vs full ranking, beyond-accuracy metrics,
breakdowns by user group and the cold-start rows of a temporal split.

Every function takes plain ``results.json`` structures (rows, ``extra``) and returns an HTML fragment (``""`` when
it has nothing to show), so the page and the JSON cannot disagree.
"""

from __future__ import annotations

import html
import math
from typing import Any, Sequence

NS_MARK = "≈"
"""Marks a model whose difference from the best one is not statistically significant."""

e = html.escape


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a table cell ("" for None/NaN)."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    return str(value)


def not_significant(row: dict[str, Any], metric: str) -> bool:
    """Whether ``row`` differs from the best model on ``metric`` by less than the test can tell (Holm-adjusted)."""
    return (row.get("significant") or {}).get(metric) is False


def metric_cell(row: dict[str, Any], metric: str, best: bool) -> str:
    """``<td>`` of one metric: value (bold when best), its interval, and the not-significant mark."""
    value = row.get(metric)
    text = e(fmt(value) if isinstance(value, (int, float)) else "")
    if best:
        text = f"<b>{text}</b>"
    lo_hi = (row.get("intervals") or {}).get(metric)
    if lo_hi and all(isinstance(v, (int, float)) and math.isfinite(v) for v in lo_hi):
        text += f' <span class="ci">[{fmt(float(lo_hi[0]))}, {fmt(float(lo_hi[1]))}]</span>'
    if not_significant(row, metric):
        p = (row.get("p_holm") or {}).get(metric)
        tip = "not significantly different from the best model" + (f" (Holm-adjusted p = {p:.3g})" if isinstance(p, float) else "")
        text += f' <span class="ns" title="{e(tip)}">{NS_MARK}</span>'
    return f"<td>{text}</td>"


def significance_legend(settings: dict[str, Any] | None) -> str:
    """The sentence under the metrics table that says what the bold, the brackets and the mark mean."""
    if not settings:
        return ""
    level = float(settings.get("level", 0.95))
    method = "paired bootstrap" if settings.get("method", "bootstrap") == "bootstrap" else "Wilcoxon signed-rank"
    return (
        f'<p class="legend" id="significance-legend"><b>Bold</b>: best model per metric. <span class="ci">[lo, hi]</span>: '
        f"{level:.0%} confidence interval (bootstrap over the {e(str(settings.get('n_users', '')))} test users, "
        f"{settings.get('n_resamples', 1000)} resamples, seed {settings.get('seed', 0)}). "
        f'<span class="ns">{NS_MARK}</span>: not significantly different from the best model ({method} test on per-user values, '
        f"Holm correction across models, &alpha; = {1 - level:.2f}); unmarked models are significantly worse. "
        "Metrics without per-user values (coverage and novelty are catalogue-level, auc ranks all pairs) get neither.</p>"
    )


def seeds_section(rows: Sequence[dict[str, Any]], metrics: Sequence[str], seeds: Sequence[int]) -> str:
    """Mean ± std per model and metric over the seeds."""
    if len(seeds) < 2:
        return ""
    ok = [r for r in rows if r.get("seeds")]
    cols = [m for m in metrics if any(m in r["seeds"] for r in ok)]
    head = '<tr><th class="l">model</th>' + "".join(f"<th>{e(m)}</th>" for m in cols) + "</tr>"
    body = "".join(
        f'<tr><td class="l">{e(str(r["model"]))}</td>'
        + "".join(f"<td>{fmt(r['seeds'][m]['mean'])} &plusmn; {fmt(r['seeds'][m]['std'])}</td>" if m in r["seeds"] else "<td></td>" for m in cols)
        + "</tr>"
        for r in ok
    )
    return (
        f'<h2 id="seeds">Across seeds</h2><p class="muted">Mean &plusmn; standard deviation (n-1) over seeds {e(", ".join(map(str, seeds)))}.</p>'
        f"<table>{head}{body}</table>"
    )


def sampled_section(rows: Sequence[dict[str, Any]], metrics: Sequence[str], flips: Sequence[dict[str, Any]], note: str) -> str:
    """Sampled and full-ranking values side by side, and the pairs whose order flips."""
    ok = [r for r in rows if isinstance(r.get("full"), dict)]
    if not ok:
        return ""
    cols = [m for m in metrics if any(m in r["full"] for r in ok)]
    head = '<tr><th class="l">model</th>' + "".join(f"<th>{e(m)} sampled</th><th>{e(m)} full</th>" for m in cols) + "</tr>"
    body = "".join(
        f'<tr><td class="l">{e(str(r["model"]))}</td>' + "".join(f"<td>{fmt(r.get(m))}</td><td>{fmt(r['full'].get(m))}</td>" for m in cols) + "</tr>"
        for r in ok
    )
    from cofirec.experiments.sampled import describe_flip

    if flips:
        items = "".join(f"<li>{e(describe_flip(f))}</li>" for f in flips)
        flip_html = f'<p class="warn"><b>{len(flips)} order flip(s)</b> between sampled and full ranking:</p><ul id="flips">{items}</ul>'
    else:
        flip_html = '<p id="flips">No pair of models changes order between the sampled and the full-ranking metrics.</p>'
    return f'<h2 id="sampled-vs-full">Sampled vs full ranking</h2><table>{head}{body}</table>{flip_html}<p class="muted">{e(note)}</p>'


def beyond_section(rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> str:
    """Beyond-accuracy columns per model: diversity, popularity percentile, Gini of exposure, coverage, novelty."""
    ok = [r for r in rows if not r.get("error")]
    extra = [m for m in metrics if m.split("@")[0] in ("coverage", "novelty")]
    keys = list(dict.fromkeys(k for r in ok for k in (r.get("beyond") or {})))
    if not keys:
        return ""
    cols = keys + extra
    head = '<tr><th class="l">model</th>' + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>"
    body = "".join(
        f'<tr><td class="l">{e(str(r["model"]))}</td>' + "".join(f"<td>{fmt((r.get('beyond') or {}).get(c, r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in ok
    )
    return (
        '<h2 id="beyond">Beyond accuracy</h2><p class="muted">diversity: mean pairwise dissimilarity inside a list (genres when the data has '
        "them, else item vectors); popularity_pct: mean popularity percentile of recommended items (100 = the most popular); "
        "gini: Gini coefficient of how often each catalogue item is recommended (1 = all exposure on one item); coverage: share "
        "of the catalogue recommended; novelty: mean self-information of recommended items.</p>"
        f"<table>{head}{body}</table>"
    )


def groups_section(rows: Sequence[dict[str, Any]], metric: str) -> str:
    """One table per grouping (activity, gender, age): groups down, models across, ``metric`` in the cells."""
    ok = [r for r in rows if r.get("groups")]
    if not ok:
        return ""
    parts = [f'<h2 id="groups">By user group</h2><p class="muted">{e(metric)} per group of test users (every metric is in results.json).</p>']
    for grouping in dict.fromkeys(g for r in ok for g in r["groups"]):
        labels = list(dict.fromkeys(str(g["group"]) for r in ok for g in r["groups"].get(grouping, [])))
        counts = {str(g["group"]): g.get("n_users") for r in ok for g in r["groups"].get(grouping, [])}
        head = f'<tr><th class="l">{e(grouping)}</th><th>users</th>' + "".join(f"<th>{e(str(r['model']))}</th>" for r in ok) + "</tr>"
        body = []
        for label in labels:
            cells = []
            for r in ok:
                match: dict[str, Any] = next((g for g in r["groups"].get(grouping, []) if str(g["group"]) == label), {})
                cells.append(f"<td>{fmt(match.get(metric))}</td>")
            body.append(f'<tr><td class="l">{e(label)}</td><td>{fmt(counts.get(label))}</td>{"".join(cells)}</tr>')
        parts.append(f'<table class="groups">{head}{"".join(body)}</table>')
    return "".join(parts)


def cold_section(cold: dict[str, Any] | None) -> str:
    """Counts and fallback metrics of the cold rows of a temporal split, and what they mean."""
    if not cold:
        return ""
    counts = {k: v for k, v in cold.items() if k.startswith("n_") or k in ("cutoff", "policy")}
    rows = "".join(f'<tr><td class="l">{e(k)}</td><td>{e(fmt(v))}</td></tr>' for k, v in counts.items())
    parts = [f'<h2 id="cold">Cold start (after the cut-off)</h2><table>{rows}</table>']
    models = cold.get("new_users") or {}
    if isinstance(models, dict) and models.get("metrics"):
        cols = list(dict.fromkeys(m for v in models["metrics"].values() for m in v))
        head = '<tr><th class="l">model</th>' + "".join(f"<th>{e(c)}</th>" for c in cols) + "</tr>"
        body = "".join(
            f'<tr><td class="l">{e(name)}</td>' + "".join(f"<td>{fmt(v.get(c))}</td>" for c in cols) + "</tr>" for name, v in models["metrics"].items()
        )
        parts.append(f"<p>New users ({fmt(models.get('n_users'))}), known items:</p><table>{head}{body}</table>")
    for key in ("note", "new_items_note", "new_users_note"):
        if cold.get(key):
            parts.append(f'<p class="muted">{e(str(cold[key]))}</p>')
    return "".join(parts)
