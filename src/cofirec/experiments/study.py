"""The Optuna side of a search: storage, the study (created or resumed), the check that a resumed study searched
the same thing on the same data, trial records and parameter importance."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from cofirec.errors import ConfigError

FINISHED_STATES = ("COMPLETE", "PRUNED")
STUDY_PREFIX = "cofirec"


def sqlite_url(path: str | Path) -> str:
    """SQLAlchemy URL of an SQLite file (parent folder created)."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def study_name_for(model: str, metric: str) -> str:
    """The fixed study name of a search: the same command finds the same study."""
    return f"{STUDY_PREFIX}:{model}:{metric}"


def open_storage(optuna: Any, url: str) -> Any:
    """An Optuna RDB storage; a URL it cannot open (unknown database kind, bad path) is a ConfigError."""
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as exc:  # sqlalchemy raises many kinds (NoSuchModuleError, ArgumentError, OperationalError)
        raise ConfigError(f"--storage {url!r}: cannot open it as a study database ({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc


def open_study(store: Any, name: str, direction: str, *, seed: int, trials: int, prune: bool) -> Any:
    """Create or load the study: TPE sampler (seeded past the stored trials, so a resumed search draws new
    points) and a median pruner on per-epoch validation values."""
    import optuna

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, trials // 3)))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1) if prune else optuna.pruners.NopPruner()
    optimise: Any = direction  # "minimize" or "maximize"
    return optuna.create_study(storage=store, study_name=name, direction=optimise, sampler=sampler, pruner=pruner, load_if_exists=True)


def param_importance(study: Any) -> tuple[dict[str, float], str]:
    """``optuna.importance.get_param_importances`` with a graceful fallback for too few trials."""
    import optuna

    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    varied = {p for t in complete for p in t.params if len({repr(u.params.get(p)) for u in complete}) > 1}
    if len(complete) < 3 or not varied:
        return {}, f"needs at least 3 completed trials with varied parameters (have {len(complete)})"
    try:
        with warnings.catch_warnings():  # few-trial caveats are stated in the note instead
            warnings.simplefilter("ignore")
            imp = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ImportError) as exc:
        return {}, f"not available ({type(exc).__name__}: {exc})"
    return {k: float(v) for k, v in imp.items()}, f"fANOVA over {len(complete)} completed trials"


def load_existing(storage: Any, name: str) -> Any:
    import optuna

    if storage is None:
        return None
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return None


def count_finished(study: Any) -> int:
    return sum(1 for t in study.trials if t.state.name in FINISHED_STATES)


def check_same_search(study: Any, model: str, metric: str, protocol: str, fingerprint: str, url: str) -> None:
    attrs = study.user_attrs
    for key, value in (("model", model), ("metric", metric), ("protocol", protocol)):
        if key in attrs and attrs[key] != value:
            raise ConfigError(f"study {study.study_name!r} in this storage searched {key} {attrs[key]!r}, not {value!r}; use another --report folder")
    stored = attrs.get("data_sha256")
    if stored != fingerprint and (stored is not None or study.trials):
        was = "has no data fingerprint (made by an older cofirec)" if stored is None else f"was run on other data (fingerprint {stored[:12]})"
        raise ConfigError(
            f"study {study.study_name!r} in {url} {was}; this training/validation split (other dataset, split, seed or "
            f"validation ratio) has fingerprint {fingerprint[:12]}, and mixing their trials would compare unlike scores; "
            "use another --report folder (or --storage), or delete that study file to start afresh"
        )


def trial_record(t: Any) -> dict[str, Any]:
    params = {**t.user_attrs.get("params", {}), **t.params}
    return {
        "number": t.number,
        "state": t.state.name,
        "value": None if t.value is None else float(t.value),
        "params": params,
        "epochs": t.user_attrs.get("epochs"),
        "seconds": t.user_attrs.get("seconds"),
        "validation": t.user_attrs.get("validation", {}),
        "pruned_at": max(t.intermediate_values) if t.state.name == "PRUNED" and t.intermediate_values else None,
        "error": t.user_attrs.get("error"),
    }


def jsonable_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str)) or (isinstance(v, (list, tuple)) and all(isinstance(x, (int, float, str, bool)) for x in v))
