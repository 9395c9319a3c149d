"""Compare models on one split with one metric code: fit each, time it, evaluate it, measure its size."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Sequence

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import CofirecError, ConfigError
from cofirec.evaluate.protocols import is_lower_better, is_quality_metric
from cofirec.experiments.config import ExperimentConfig, ModelSpec, check_params
from cofirec.experiments.evaluation import check_test_ids, plain_metrics, run_evaluate
from cofirec.experiments.measure import artifact_bytes, count_parameters, time_recommend

ModelLike = ModelSpec | tuple[str, dict] | str

TIMING_COLUMNS = ("fit_s", "eval_s", "recommend_s")
SIZE_COLUMNS = ("n_params", "artifact_bytes")


@dataclass
class ComparisonResult:
    """Rows of a comparison, one per model, plus what reports need.

    Attributes
    ----------
    rows : list of dict
        Per model: ``model`` (label), ``name`` (registry name), ``params``, every metric from ``evaluate``,
        ``fit_s``, ``eval_s``, ``recommend_s`` (seconds), ``n_params``, ``artifact_bytes``, ``epochs``, and
        ``error`` (None, or the message when the model could not be fitted or evaluated).
    metrics : list of str
        Metric columns, in evaluator order.
    histories : dict of str -> list of dict
        Model label -> its per-epoch ``history_``.
    protocol : str
    k : tuple of int
    data : dict
        Train/test sizes and name.
    models : dict of str -> Recommender
        Fitted models (only with ``keep_models=True``).
    flips : list of dict
        Sampled protocol: model pairs whose order flips between sampled and full-ranking metrics
        (:func:`cofirec.experiments.sampled.find_flips`); rows then hold the full-ranking metrics under ``full``.
    notes : list of str
        Lines for the table and the report (skipped full ranking, what the seeds varied, ...).
    seeds : list of int
        Seeds of a multi-seed run (``rows[i]["seeds"]`` holds mean and std per metric); empty for one run.
    significance : dict
        Settings of the intervals and tests in the rows (``n_resamples``, ``level``, ``seed``, ``method``); empty when none.
    cold : dict or None
        Temporal splits: counts of the rows after the cut-off with a new user or item, and what could be evaluated.
    details : dict of str -> EvaluationResult
        Model label -> its per-user values (:func:`cofirec.evaluate.evaluate_detailed`); not written to reports.
    """

    rows: list[dict[str, Any]]
    metrics: list[str]
    histories: dict[str, list[dict]]
    protocol: str
    k: tuple[int, ...]
    data: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    flips: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    significance: dict[str, Any] = field(default_factory=dict)
    cold: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_frame(self):
        """Rows as a pandas DataFrame (params as a compact string)."""
        import pandas as pd

        frame = pd.DataFrame([{**r, "params": _params_text(r["params"])} for r in self.rows])
        cols = ["model", "name", *self.metrics, *TIMING_COLUMNS, *SIZE_COLUMNS, "epochs", "params", "error"]
        return frame[[c for c in cols if c in frame.columns]]

    def best(self, metric: str) -> dict[str, Any] | None:
        """Row with the best value of ``metric`` (lowest for error metrics such as rmse/mae/loss)."""
        ok = [r for r in self.rows if _finite(r.get(metric))]
        if not ok:
            return None
        pick = min if is_lower_better(metric) else max
        return pick(ok, key=lambda r: float(r[metric]))


def normalize_models(models: Iterable[ModelLike]) -> list[ModelSpec]:
    """ModelSpec list from specs, ``(name, params)`` pairs or names; validates names and parameters.

    Labels are made unique (``mf``, ``mf#2``) so that one model may appear with two settings.
    """
    from cofirec.models.registry import get_model_class

    out: list[ModelSpec] = []
    seen: dict[str, int] = {}
    for m in models:
        if isinstance(m, str):
            spec = ModelSpec(m, {})
        elif isinstance(m, ModelSpec):
            spec = ModelSpec(m.name, dict(m.params), m.label)
        else:
            name, params = m
            spec = ModelSpec(name, dict(params or {}))
        cls = get_model_class(spec.name)
        spec.params = check_params(cls, spec.params, spec.name)
        label = spec.display
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            spec.label = f"{label}#{seen[label]}"
        out.append(spec)
    if not out:
        raise ConfigError("no models to compare: give at least one (e.g. --models mean,popularity)")
    return out


def with_seed(spec: ModelSpec, seed: int | None) -> dict[str, Any]:
    """Params of ``spec`` with the experiment ``seed`` filled into a ``seed``/``random_state`` parameter left unset."""
    from cofirec.models.builder import seeded_params

    return seeded_params(spec.name, spec.params, seed)


def compare(
    models: Sequence[ModelLike],
    train: Interactions | Any,
    test: Interactions | None = None,
    *,
    protocol: str = "ranking",
    k: Sequence[int] = (10, 20),
    negatives: Any = None,
    seed: int | None = 0,
    validation: Interactions | None = None,
    keep_models: bool = False,
    measure_size: bool = True,
    on_model: Callable[[str, dict], None] | None = None,
    strict: bool = False,
    allow_unknown: bool = False,
    full_ranking: bool = True,
    n_resamples: int = 1000,
    level: float = 0.95,
    test_method: Literal["bootstrap", "wilcoxon"] = "bootstrap",
    cold: Interactions | None = None,
    split_info: dict[str, Any] | None = None,
) -> ComparisonResult:
    """Fit every model on ``train`` and evaluate it on ``test`` with the same evaluator.

    Parameters
    ----------
    models : sequence of ModelSpec, (name, params) or name
    train, test : Interactions
        The shared split; or a ``Split`` (``cofirec.data.splits``) as ``train`` with ``test`` left out.
    protocol, k, negatives
        Passed to ``cofirec.evaluate.runner.evaluate``.
    seed : int or None
        Filled into models' ``seed``/``random_state`` parameters that the caller left unset.
    validation : Interactions or None
        Passed to ``fit`` (early stopping / validation history of iterative models).
    keep_models : bool
        Keep fitted models in ``result.models`` (e.g. to recommend afterwards).
    measure_size : bool
        Save each model to a temporary folder to measure its artifact size.
    on_model : callable or None
        Called with (label, row) after each model (progress display).
    strict, allow_unknown : bool
        Unknown-id policy (:mod:`cofirec.evaluate.unknown`), applied once to train vs test before any model
        is fitted: more than 10% of the test users or items absent from train warns (``strict``: error),
        all of them absent is an error unless ``allow_unknown``. The counts are in ``result.data["unknown"]``.
    full_ranking : bool
        ``sampled`` protocol: also rank the whole catalogue (rows get ``full``: those metrics) when
        :func:`cofirec.experiments.sampled.full_ranking_allowed`, and list the pairs whose order flips.
    n_resamples, level, test_method
        Per metric with per-user values: a ``level`` bootstrap interval over users (``n_resamples`` resamples,
        seeded with ``seed``) and a paired test (``"bootstrap"`` or ``"wilcoxon"``) of each model against the
        best one, Holm-corrected across models (:mod:`cofirec.experiments.significance`); ``n_resamples=0``
        skips both. Rows also get ``groups`` (breakdowns by user group) and, for ranked lists, ``beyond``
        (diversity, popularity percentile, Gini of exposure).
    cold, split_info
        A temporal split's ``Split.cold`` and ``Split.info`` (taken from a ``Split`` given as ``train``):
        ``result.cold`` counts the cold rows and ranks each model's fallback lists for new users
        (:mod:`cofirec.experiments.cold`).

    Returns
    -------
    ComparisonResult
        A model that raises a :class:`CofirecError` gets a row with ``error`` set; the others still run.
    """
    if test is None:
        if not (hasattr(train, "train") and hasattr(train, "test")):
            raise ConfigError("compare: give train and test interactions, or a Split as the second argument")
        cold, split_info = getattr(train, "cold", None), getattr(train, "info", None)
        train, test = train.train, train.test
    specs = normalize_models(models)
    unknown = check_test_ids(train, test, strict=strict, allow_unknown=allow_unknown, what="compare")
    k = tuple(int(x) for x in k)
    notes: list[str] = []
    also_full = False
    if protocol == "sampled" and full_ranking:
        from cofirec.experiments.sampled import full_ranking_allowed

        also_full, reason = full_ranking_allowed(train, test)
        notes.append(reason)
    from cofirec.experiments.cold import cold_summary, new_user_metrics, new_user_rows

    cold_info = cold_summary(train, cold, split_info or {})
    new_users = new_user_rows(train, cold) if cold_info and cold is not None and len(cold) and protocol in ("ranking", "sampled") else None
    cold_metrics: dict[str, dict[str, float]] = {}
    rows: list[dict[str, Any]] = []
    histories: dict[str, list[dict]] = {}
    fitted: dict[str, Any] = {}
    details: dict[str, Any] = {}
    metric_names: list[str] = []
    for spec in specs:
        row, model, detail = _run_one(
            spec, train, test, protocol=protocol, k=k, negatives=negatives, seed=seed, validation=validation, measure_size=measure_size, also_full=also_full
        )
        for key in row.get("_metrics", []):
            if key not in metric_names:
                metric_names.append(key)
        row.pop("_metrics", None)
        rows.append(row)
        histories[spec.display] = list(model.history_) if model is not None else []
        if detail is not None:
            details[spec.display] = detail
        if model is not None and new_users is not None and len(new_users):
            cold_metrics[spec.display] = new_user_metrics(model, new_users, k)
        if keep_models and model is not None:
            fitted[spec.display] = model
        if on_model is not None:
            on_model(spec.display, row)
    data = {
        "name": train.name,
        "train": len(train),
        "test": len(test),
        "users": int(train.n_users),
        "items": int(train.n_items),
        "kind": train.kind,
        "unknown": unknown.as_dict(),
        **({"split": dict(split_info)} if split_info else {}),
    }
    result = ComparisonResult(
        rows=rows, metrics=metric_names, histories=histories, protocol=protocol, k=k, data=data, models=fitted, notes=notes, details=details
    )
    if cold_info is not None and new_users is not None:
        n_new = len(np.unique(new_users.users))
        cold_info["new_users"] = {"n_users": n_new, "n_rows": len(new_users), "metrics": cold_metrics}
    result.cold = cold_info
    if cold_info is not None:
        notes.append(f"temporal split: train before {cold_info['cutoff']} (UTC), test at or after it; cold rows are reported apart")
    if details:
        from cofirec.experiments.significance import annotate_groups, annotate_significance

        if n_resamples > 0:
            result.significance = annotate_significance(rows, details, metric_names, n_resamples=n_resamples, level=level, seed=seed or 0, method=test_method)
        annotate_groups(rows, details, train, metric_names)
    if also_full:
        from cofirec.experiments.sampled import find_flips

        result.flips = find_flips(rows, metric_names)
    return result


def _run_one(spec: ModelSpec, train, test, *, protocol, k, negatives, seed, validation, measure_size, also_full=False) -> tuple[dict, Any, Any]:
    from cofirec.models.registry import create_model

    params = with_seed(spec, seed)
    row: dict[str, Any] = {"model": spec.display, "name": spec.name, "params": params, "error": None}
    model = None
    try:
        model = create_model(spec.name, params)
        if protocol == "rating" and not type(model).predicts_ratings:
            row["error"] = f"{spec.name} ranks items but does not predict ratings; rating metrics not computed"
            return row, None, None
        start = time.perf_counter()
        model.fit(train, validation=validation) if validation is not None else model.fit(train)
        row["fit_s"] = time.perf_counter() - start
        row["epochs"] = len(model.history_)
        start = time.perf_counter()
        detail = run_evaluate(model, test, protocol=protocol, k=k, negatives=negatives, quiet_unknown=True, detailed=True)
        metrics = plain_metrics(detail.metrics)
        row["eval_s"] = time.perf_counter() - start
        row["recommend_s"] = time_recommend(model, test, max(k))
        ranked = detail
        if also_full:
            ranked = run_evaluate(model, test, protocol="ranking", k=k, quiet_unknown=True, detailed=True)
            row["full"] = {m: v for m, v in plain_metrics(ranked.metrics).items() if is_quality_metric(m)}
        if ranked.recommended is not None:
            from cofirec.experiments.significance import beyond_row

            row["beyond"], row["diversity_basis"] = beyond_row(model, ranked, train, k)
    except CofirecError as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row, None, None
    row.update(metrics)
    row["_metrics"] = [m for m in metrics if is_quality_metric(m)]
    row["n_params"] = count_parameters(model)
    row["artifact_bytes"] = artifact_bytes(model) if measure_size else None
    return row, model, detail


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(float(value))


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


# ---------------------------------------------------------------------- config-driven runs and reports
def run_comparison(
    cfg: ExperimentConfig,
    *,
    report_dir: str | Path | None = None,
    command: str | None = None,
    prepared: Any = None,
    keep_models: bool = False,
    on_model: Callable[[str, dict], None] | None = None,
    strict: bool = False,
    allow_unknown: bool = False,
    seeds: Sequence[int] = (),
    on_seed: Callable[[int], None] | None = None,
    n_resamples: int = 1000,
) -> tuple[ComparisonResult, Path | None]:
    """Load the data of ``cfg``, compare its models and (with ``report_dir``) write the report.

    ``strict`` / ``allow_unknown``: the unknown-id policy of :func:`compare`. ``seeds``: two or more repeat the
    split and the fits once per seed (:mod:`cofirec.experiments.seeds`; they replace ``cfg.seed`` and the split
    seed); the result is the first seed's run with mean and std per model and metric in ``rows[i]["seeds"]``.
    ``n_resamples``: bootstrap resamples of the intervals and tests (0: none; see :func:`compare`).

    Returns the result and the path of ``report.html`` (None without ``report_dir``).
    """
    from cofirec.experiments.data import prepare_data

    if not cfg.models:
        raise ConfigError("no models to compare: give --models a,b,c or [[models]] entries in the config")
    used: list[Any] = []

    def run_one(run_cfg: ExperimentConfig, data: Any) -> ComparisonResult:
        used.append(data)
        res = compare(
            run_cfg.models,
            data.train,
            data.test,
            protocol=run_cfg.protocol,
            k=run_cfg.k,
            negatives=data.negatives,
            seed=run_cfg.seed,
            keep_models=keep_models,
            on_model=on_model,
            strict=strict,
            allow_unknown=allow_unknown,
            n_resamples=n_resamples,
            cold=getattr(data, "cold", None),
            split_info=getattr(data, "split_info", None),
        )
        res.data["name"] = data.name
        return res

    if len(seeds) > 1:
        from cofirec.experiments.seeds import run_seeded

        result = run_seeded(cfg, seeds, run_one, on_seed=on_seed)
        cfg = seeded_config_of(cfg, seeds[0])
    else:
        if len(seeds) == 1:
            cfg = seeded_config_of(cfg, seeds[0])
        result = run_one(cfg, prepared if prepared is not None else prepare_data(cfg))
    ref = used[0]
    path = None
    if report_dir is not None:
        path = write_comparison_report(
            result, report_dir, config=cfg.to_dict(), files=ref.files, command=command, seed=cfg.seed, train=ref.train, test=ref.test
        )
    return result, path


def seeded_config_of(cfg: ExperimentConfig, seed: int) -> ExperimentConfig:
    """``cfg`` with experiment and split seed ``seed`` (see :func:`cofirec.experiments.seeds.seeded_config`)."""
    from cofirec.experiments.seeds import seeded_config

    return seeded_config(cfg, seed)


def write_comparison_report(
    result: ComparisonResult,
    out_dir: str | Path,
    *,
    config: dict | None = None,
    files: Sequence[str | Path] = (),
    command: str | None = None,
    seed: int | None = None,
    train: Interactions | None = None,
    test: Interactions | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
) -> Path:
    """Write ``report.html``, ``results.json``, ``results.csv`` and PNGs for a comparison; returns the HTML path."""
    from cofirec.experiments.fingerprint import command_line, data_sha256
    from cofirec.experiments.report import ReportData, write_report

    data = dict(result.data)
    data["protocol"] = result.protocol
    data["k"] = list(result.k)
    if train is not None:
        data["train_sha256"] = data_sha256(train)
    if test is not None:
        data["test_sha256"] = data_sha256(test)
    extra: dict[str, Any] = {"significance": result.significance or None, "seeds": result.seeds, "flips": result.flips, "cold": result.cold}
    if result.protocol == "sampled":
        from cofirec.experiments.sampled import FLIP_NOTE

        extra["flip_note"] = FLIP_NOTE
    report = ReportData(
        title=title or f"cofirec comparison: {', '.join(r['model'] for r in result.rows)}",
        command=command or command_line(),
        rows=result.rows,
        metrics=result.metrics,
        histories=result.histories,
        config=config or {},
        data=data,
        files=list(files),
        seed=seed,
        notes=list(dict.fromkeys([*result.notes, *notes])),
        extra=extra,
    )
    return write_report(report, out_dir)
