"""Hyperparameter search with Optuna (TPE sampler, median pruner) that resumes after an interruption.

The validation set is carved out of the training data only (``cofirec.data.splits.validation_split``); the
test set is touched once, by the final model refitted on the whole training data with the best parameters.
Iterative models are pruned per epoch: a fit callback evaluates the validation metric after each epoch and
reports it to the trial. Trials live in an Optuna RDB storage (SQLite ``DIR/study.db`` from the CLI) under a
fixed study name, so running the same command again continues the search; finished trials (complete or
pruned) already stored count towards the requested number.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from cofirec._extras import require
from cofirec.data.dataset import Interactions
from cofirec.errors import CofirecError, ConfigError
from cofirec.evaluate.protocols import is_lower_better, is_quality_metric, protocol_for_metric, protocol_metric_names
from cofirec.experiments.compare import check_test_ids, run_evaluate, with_seed
from cofirec.experiments.config import ModelSpec, check_params
from cofirec.experiments.study import (
    check_same_search,
    count_finished,
    jsonable_scalar,
    load_existing,
    open_storage,
    open_study,
    param_importance,
    sqlite_url,
    study_name_for,
    trial_record,
)


@dataclass
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes
    ----------
    model : str
        Registry name of the tuned model.
    metric, direction, protocol : str
        Optimised validation metric, ``"minimize"``/``"maximize"`` and the evaluation protocol.
    study_name, storage : str
        Where the trials are (``storage`` is an SQLAlchemy URL, or ``"memory"``).
    trials : list of dict
        Every stored trial: ``number``, ``state``, ``value``, ``params``, ``epochs``, ``seconds``.
    n_finished : int
        Complete + pruned trials in the study (what counts towards the requested number).
    n_run : int
        Trials run by this call.
    best_params : dict
        Full parameter set of the best trial (fixed ones included); empty when no trial completed.
    best_value : float or None
        Validation metric of the best trial.
    test_metrics : dict
        Metrics of the refitted best model on the test data (empty without test data or completed trial).
    final_row : dict or None
        Comparison-style row of the final model (metrics, fit_s, params) for reports.
    importance : dict
        Parameter importance (``optuna.importance``), empty when it cannot be computed.
    importance_note : str
        Why importance is missing, or how it was computed.
    history : list of dict
        Per-epoch history of the final model.
    final_model : Recommender or None
    """

    model: str
    metric: str
    direction: str
    protocol: str
    study_name: str
    storage: str
    trials: list[dict[str, Any]]
    n_finished: int
    n_run: int
    best_params: dict[str, Any] = field(default_factory=dict)
    best_value: float | None = None
    default_value: float | None = None
    test_metrics: dict[str, Any] = field(default_factory=dict)
    final_row: dict[str, Any] | None = None
    importance: dict[str, float] = field(default_factory=dict)
    importance_note: str = ""
    history: list[dict] = field(default_factory=list)
    final_model: Any = None

    def tuning_dict(self) -> dict[str, Any]:
        """The ``tuning`` section of a report."""
        best = next((t for t in self.trials if t["state"] == "COMPLETE" and t["value"] == self.best_value), None)
        return {
            "model": self.model,
            "metric": self.metric,
            "direction": self.direction,
            "protocol": self.protocol,
            "study_name": self.study_name,
            "storage": self.storage,
            "n_finished": self.n_finished,
            "n_run": self.n_run,
            "trials": self.trials,
            "best": {"number": best["number"] if best else None, "value": self.best_value, "params": self.best_params},
            "default_value": self.default_value,
            "importance": self.importance,
            "importance_note": self.importance_note,
        }


def metric_cutoffs(metric: str, k: Sequence[int] | None) -> tuple[int, ...]:
    """Cut-offs to evaluate: ``k`` plus the metric's own (``ndcg@20`` -> 20); (10,) when neither gives one."""
    ks = {int(x) for x in (k or ())}
    cut = metric.split("@", 1)[1] if "@" in metric else ""
    if cut:
        if not cut.isdigit() or int(cut) <= 0:
            raise ConfigError(f"metric {metric!r}: the cut-off after '@' must be a positive integer")
        ks.add(int(cut))
    return tuple(sorted(ks or {10}))


def check_metric(metric: str, protocol: str, ks: Sequence[int]) -> None:
    """Raise ConfigError (before any trial runs) when ``protocol`` does not compute ``metric``."""
    known = protocol_metric_names(protocol, ks)
    if known and metric not in known:
        available = ", ".join(sorted(known, key=lambda m: (m.split("@")[0], m)))
        raise ConfigError(f"metric {metric!r} is not computed by the {protocol} protocol (available: {available})")


class _MetricMissing(Exception):
    """The protocol did not compute the requested metric (a usage error, not a failed trial)."""


class EpochPruner:
    """Fit callback: evaluate the validation metric after each epoch, report it to the trial, prune bad trials.

    The value comes from the epoch record when the model already computed it (``val_<metric>``), else from
    evaluating the partially trained model on the validation data. Models that cannot be scored before
    ``fit`` returns (e.g. neural models that build their scorer at the end) are pruned on the validation
    loss they record (``val_loss`` / ``val_rmse``, sign-adjusted to the study direction); every trial of
    the same model uses the same quantity, so the per-epoch comparison stays fair. Without either,
    pruning is off for that trial (its final value still counts).
    """

    PROXIES = ("val_loss", "val_rmse")

    def __init__(
        self, trial: Any, validation: Interactions, metric: str, protocol: str, k: Sequence[int], negatives: Any = None, *, minimize: bool | None = None
    ) -> None:
        self.trial = trial
        self.validation = validation
        self.metric = metric
        self.protocol = protocol
        self.k = tuple(k)
        self.negatives = negatives
        self.minimize = is_lower_better(metric) if minimize is None else minimize
        self.can_evaluate = True
        self.source: str | None = None
        self.reported = 0

    @property
    def enabled(self) -> bool:
        return self.source != "off"

    def __call__(self, model: Any, record: dict) -> None:
        import optuna

        value = self._value(model, record)
        if value is None or not math.isfinite(value):
            return
        step = int(record.get("epoch", self.reported))
        self.trial.report(value, step)
        self.reported += 1
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {step}: {self.source}={value:.4g}")

    def _value(self, model: Any, record: dict) -> float | None:
        key = f"val_{self.metric}"  # what models record for their validation data (val_rmse, val_ndcg@10)
        if _is_num(record.get(key)):
            self.source = key
            return float(record[key])
        if self.can_evaluate:
            try:
                metrics = run_evaluate(model, self.validation, protocol=self.protocol, k=self.k, negatives=self.negatives, quiet_unknown=True)
            except (AttributeError, CofirecError, ValueError, IndexError, TypeError, RuntimeError):
                self.can_evaluate = False
            else:
                if _is_num(metrics.get(self.metric)):
                    self.source = self.metric
                    return float(metrics[self.metric])
                self.can_evaluate = False
        for key in self.PROXIES:
            if _is_num(record.get(key)):
                self.source = key if self.minimize else f"-{key}"
                return float(record[key]) if self.minimize else -float(record[key])
        self.source = "off"
        return None


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def tune(
    model: str,
    train: Interactions,
    *,
    test: Interactions | None = None,
    metric: str = "ndcg@10",
    trials: int = 20,
    timeout: float | None = None,
    protocol: str | None = None,
    k: Sequence[int] | None = None,
    seed: int = 0,
    validation_ratio: float = 0.1,
    space: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    storage: str | Path | None = None,
    study_name: str | None = None,
    negatives: Any = None,
    prune: bool = True,
    refit: bool = True,
    on_trial: Callable[[dict], None] | None = None,
    strict: bool = False,
    allow_unknown: bool = False,
) -> TuneResult:
    """Search hyperparameters of ``model`` on a validation split of ``train``; refit the best, test it once.

    Parameters
    ----------
    model : str
        Registry name.
    train : Interactions
        Training data; a per-user validation part (``validation_ratio``) is carved out of it for the search.
    test : Interactions or None
        Evaluated once with the refitted best model.
    metric : str
        Validation metric to optimise (direction: minimise error metrics, maximise the others).
    trials : int
        Wanted number of finished (complete or pruned) trials in the study, stored ones included.
    timeout : float or None
        Stop starting trials after this many seconds.
    protocol : str or None
        Evaluation protocol (default: from the metric, see :func:`protocol_for_metric`).
    k : sequence of int or None
        Cut-offs (default: the metric's own, plus 10).
    seed : int
        Seeds the validation split, the sampler and models' ``random_state``.
    space : dict or None
        Search-space overrides for this model (``[tune.space.MODEL]``), see :mod:`cofirec.experiments.spaces`.
    params : dict or None
        Fixed parameters applied to every trial (not searched).
    storage : str, Path or None
        SQLite file path or SQLAlchemy URL of the Optuna storage (None: in memory, no resume).
    study_name : str or None
        Default :func:`study_name_for` (model, metric).
    negatives : Any
        Sampled negatives for the ``sampled`` protocol (test evaluation only).
    prune : bool
        Prune iterative models per epoch (median pruner).
    refit : bool
        Refit the best parameters on the whole ``train`` and evaluate on ``test``.
    on_trial : callable or None
        Called with each finished trial's record (progress display).
    strict, allow_unknown : bool
        Unknown-id policy for ``test`` against ``train`` (:mod:`cofirec.evaluate.unknown`), applied before
        the search starts.

    A stored study records the fingerprint of its training/validation split (``data_sha256``); resuming it
    on other data, another split or another validation seed is an error, as mixing trials would be.
    """
    optuna = require("optuna", "tune")

    from cofirec.data.splits import validation_split
    from cofirec.experiments.spaces import resolve_space
    from cofirec.models.registry import get_model_class

    cls = get_model_class(model)
    fixed = check_params(cls, dict(params or {}), f"{model}.params")
    if trials <= 0:
        raise ConfigError(f"--trials must be a positive integer, got {trials}")
    protocol = protocol or protocol_for_metric(metric)
    ks = metric_cutoffs(metric, k)
    check_metric(metric, protocol, ks)
    resolve_space(model, space)  # unknown parameters in the space: one clear error before the study opens
    direction = "minimize" if is_lower_better(metric) else "maximize"
    split = validation_split(train, ratio=validation_ratio, seed=seed)
    fit_part, valid = split.train, split.test
    if len(valid) == 0:
        raise ConfigError(f"validation split of {train.name or 'train'} is empty: too little data for tuning")
    if test is not None:
        check_test_ids(train, test, strict=strict, allow_unknown=allow_unknown, what="tune")
    from cofirec.experiments.fingerprint import split_sha256

    fingerprint = split_sha256(fit_part, valid)

    url = "memory" if storage is None else (str(storage) if "://" in str(storage) else sqlite_url(storage))
    name = study_name or study_name_for(model, metric)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials are reported through on_trial, with their reason
    store = None if url == "memory" else open_storage(optuna, url)
    existing = load_existing(store, name)
    n_before = 0 if existing is None else count_finished(existing)
    if existing is not None:
        check_same_search(existing, model, metric, protocol, fingerprint, url)
    study = open_study(store, name, direction, seed=seed + n_before, trials=trials, prune=prune)
    for key, value in (("model", model), ("metric", metric), ("protocol", protocol), ("data_sha256", fingerprint)):
        study.set_user_attr(key, value)
    objective = _Objective(
        cls,
        model,
        fit_part,
        valid,
        metric=metric,
        protocol=protocol,
        ks=ks,
        space={**(space or {}), **fixed},
        seed=seed,
        prune=prune,
        minimize=direction == "minimize",
    )

    if not any(t.user_attrs.get("defaults") and t.state.name in ("COMPLETE", "PRUNED", "WAITING") for t in study.trials):
        # trial 0 scores the model's defaults (again if an interruption killed it), so the report shows the gain
        study.enqueue_trial({}, user_attrs={"defaults": True})
    remaining = max(0, trials - n_before)
    callbacks = [lambda st, tr: on_trial(trial_record(tr))] if on_trial is not None else []
    if remaining:
        try:
            study.optimize(objective, n_trials=remaining, timeout=timeout, catch=(CofirecError,), callbacks=callbacks, gc_after_trial=False)
        except _MetricMissing as exc:
            raise ConfigError(str(exc)) from None
    records = [trial_record(t) for t in study.trials]
    n_finished = count_finished(study)
    result = TuneResult(
        model=model,
        metric=metric,
        direction=direction,
        protocol=protocol,
        study_name=name,
        storage=url,
        trials=records,
        n_finished=n_finished,
        n_run=n_finished - n_before,
    )
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        result.importance_note = "no completed trial"
        return result
    best = study.best_trial
    result.best_value = float(best.value)
    default_trial = next((t for t in complete if t.user_attrs.get("defaults")), None)
    result.default_value = None if default_trial is None else float(default_trial.value)
    result.best_params = {**best.user_attrs.get("params", {}), **best.params, **fixed}
    result.importance, result.importance_note = param_importance(study)
    if refit:
        _refit(result, cls, train, test, protocol, ks, negatives, seed)
    return result


def _refit(result: TuneResult, cls: type, train, test, protocol, ks, negatives, seed) -> None:
    params = check_params(cls, dict(result.best_params), f"{result.model}.best")
    final = cls(**params)
    start = time.perf_counter()
    final.fit(train)
    row: dict[str, Any] = {"model": f"{result.model} (tuned)", "name": result.model, "params": params, "error": None}
    row["fit_s"] = time.perf_counter() - start
    row["epochs"] = len(final.history_)
    if test is not None:
        start = time.perf_counter()
        result.test_metrics = run_evaluate(final, test, protocol=protocol, k=ks, negatives=negatives, quiet_unknown=True)
        row["eval_s"] = time.perf_counter() - start
        row.update(result.test_metrics)
    result.final_row = row
    result.history = list(final.history_)
    result.final_model = final


class _Objective:
    """One trial: draw parameters, fit on the training part (pruned per epoch), score on the validation part."""

    def __init__(
        self,
        cls: type,
        model: str,
        fit_part: Interactions,
        valid: Interactions,
        *,
        metric: str,
        protocol: str,
        ks: tuple[int, ...],
        space: dict[str, Any],
        seed: int,
        prune: bool,
        minimize: bool,
    ) -> None:
        self.cls, self.model, self.fit_part, self.valid = cls, model, fit_part, valid
        self.metric, self.protocol, self.ks, self.space = metric, protocol, ks, space
        self.seed, self.prune, self.minimize = seed, prune, minimize

    def __call__(self, trial: Any) -> float:
        from cofirec.experiments.spaces import suggest_params

        if trial.user_attrs.get("defaults"):  # the model's own defaults, with only the fixed values of the space
            drawn = {p: v for p, v in self.space.items() if not isinstance(v, dict)}
        else:
            drawn = suggest_params(trial, self.model, self.space)
        full = with_seed(ModelSpec(self.model, check_params(self.cls, drawn, f"{self.model}.space")), self.seed)
        rec = self.cls(**full)
        pruner = EpochPruner(trial, self.valid, self.metric, self.protocol, self.ks, minimize=self.minimize)
        start = time.perf_counter()
        try:
            rec.fit(self.fit_part, validation=self.valid, callbacks=[pruner] if self.prune else [])
        except CofirecError as exc:
            trial.set_user_attr("error", str(exc))
            raise
        finally:
            trial.set_user_attr("seconds", time.perf_counter() - start)
            trial.set_user_attr("epochs", len(getattr(rec, "history_", []) or []))
            shown = full
            if trial.user_attrs.get("defaults"):  # record the default values of the searched parameters too
                from cofirec.experiments.spaces import resolve_space

                shown = {**{p: getattr(rec, p) for p in resolve_space(self.model, self.space) if hasattr(rec, p)}, **full}
            trial.set_user_attr("params", {k: v for k, v in shown.items() if jsonable_scalar(v)})
            if pruner.source is not None:
                trial.set_user_attr("pruning_signal", pruner.source)
        metrics = run_evaluate(rec, self.valid, protocol=self.protocol, k=self.ks, quiet_unknown=True)
        if self.metric not in metrics:
            available = ", ".join(m for m in metrics if is_quality_metric(m))
            raise _MetricMissing(f"metric {self.metric!r} is not computed by the {self.protocol} protocol (available: {available})")
        trial.set_user_attr("validation", {m: v for m, v in metrics.items() if jsonable_scalar(v)})
        return float(metrics[self.metric])


def write_tune_report(
    result: TuneResult,
    out_dir: str | Path,
    *,
    config: dict | None = None,
    files: Sequence[str | Path] = (),
    command: str | None = None,
    seed: int | None = None,
    data: dict | None = None,
) -> Path:
    """Report of a search: final test row, tuning history, parameter importance, trials table, learning curve."""
    from cofirec.experiments.fingerprint import command_line
    from cofirec.experiments.report import ReportData, write_report

    rows = [result.final_row] if result.final_row else []
    metrics = [m for m in (result.final_row or {}) if is_quality_metric(m)]
    notes = [] if result.final_row else ["No completed trial: nothing was refitted or tested."]
    report = ReportData(
        title=f"cofirec tune {result.model} ({result.metric}, {result.n_finished} finished trials)",
        command=command or command_line(),
        rows=rows,
        metrics=metrics,
        histories={f"{result.model} (tuned)": result.history} if result.history else {},
        config=config or {},
        data=dict(data or {}),
        files=list(files),
        seed=seed,
        tuning=result.tuning_dict(),
        notes=notes,
    )
    return write_report(report, out_dir)
