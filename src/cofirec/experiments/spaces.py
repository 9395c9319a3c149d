"""Optuna search spaces per model.

A space maps parameter names to specs::

    {"type": "int", "low": 8, "high": 128, "log": True}           # trial.suggest_int
    {"type": "float", "low": 1e-4, "high": 1.0, "log": True}       # trial.suggest_float
    {"type": "categorical", "choices": [256, 512, 1024]}           # trial.suggest_categorical
    64                                                             # a fixed value (not searched)

The default space of a model is :data:`COMMON` restricted to the parameters its ``__init__`` takes (so new
models get a sensible search without registering anything), with :data:`PER_MODEL` refinements on top; a
refinement naming a parameter the model does not take is an error (:class:`ConfigError`), never dropped. A
config file's ``[tune.space.MODEL]`` table overrides single parameters. A model class that defines a
``search_space(trial) -> dict`` classmethod is used instead; then config fixed values replace its draws and
config specs add parameters it does not draw.
"""

from __future__ import annotations

from typing import Any

from cofirec.errors import ConfigError

Spec = dict[str, Any] | int | float | str | bool | list

COMMON: dict[str, Spec] = {
    "factors": {"type": "int", "low": 8, "high": 128, "log": True},
    "reg": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "weight_decay": {"type": "float", "low": 1e-7, "high": 1e-2, "log": True},
    "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "epochs": {"type": "int", "low": 5, "high": 40},
    "k": {"type": "int", "low": 10, "high": 200, "log": True},
    "shrinkage": {"type": "float", "low": 0.0, "high": 200.0},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "alpha": {"type": "float", "low": 1.0, "high": 100.0, "log": True},
    "damping": {"type": "float", "low": 0.0, "high": 25.0},
    "negatives": {"type": "int", "low": 1, "high": 8},
    "batch_size": {"type": "categorical", "choices": [256, 512, 1024, 2048]},
}
"""Default specs by parameter name, used for every model that takes a parameter of that name."""

PER_MODEL: dict[str, dict[str, Spec]] = {
    "baseline": {"epochs": {"type": "int", "low": 2, "high": 20}},
    "ease": {"reg": {"type": "float", "low": 10.0, "high": 5000.0, "log": True}},
    "als": {"reg": {"type": "float", "low": 1e-3, "high": 10.0, "log": True}, "epochs": {"type": "int", "low": 3, "high": 25}},
    "ials": {"reg": {"type": "float", "low": 1e-3, "high": 10.0, "log": True}, "epochs": {"type": "int", "low": 3, "high": 25}},
    "mf": {"reg": {"type": "float", "low": 1e-3, "high": 0.3, "log": True}, "lr": {"type": "float", "low": 1e-3, "high": 0.05, "log": True}},
    "popularity": {"by": {"type": "categorical", "choices": ["count", "rating"]}},
    "user-knn": {"alpha": {"type": "float", "low": 0.0, "high": 1.0}},
    "item-knn": {"alpha": {"type": "float", "low": 0.0, "high": 1.0}},
}
_NEURAL = {
    "reg": {"type": "float", "low": 1e-7, "high": 1e-2, "log": True},
    "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "epochs": {"type": "int", "low": 3, "high": 30},
}
for _name in ("embedding-dot", "cosine-cf", "gmf", "mlp", "neumf", "deepfm", "two-tower"):
    PER_MODEL[_name] = dict(_NEURAL)
PER_MODEL["neumf"]["alpha"] = {"type": "float", "low": 0.0, "high": 1.0}
PER_MODEL["baseline"].update(
    {"reg_user": {"type": "float", "low": 1.0, "high": 50.0, "log": True}, "reg_item": {"type": "float", "low": 1.0, "high": 50.0, "log": True}}
)
"""Refinements per registry name (ranges that suit one model better than the common default)."""

_TYPES = ("int", "float", "categorical")


def default_space(model_name: str) -> dict[str, Spec]:
    """The default search space of a registered model: common specs for the parameters it takes, refined.

    Raises ConfigError when a :data:`PER_MODEL` refinement names a parameter the model does not take.
    """
    from cofirec.models.registry import get_model_class

    names = set(get_model_class(model_name).param_names())
    refined = PER_MODEL.get(model_name, {})
    wrong = sorted(set(refined) - names)
    if wrong:
        raise ConfigError(
            f"search space of model {model_name!r}: {', '.join(map(repr, wrong))} is not a parameter of it "
            f"(its parameters: {', '.join(sorted(names)) or 'none'})"
        )
    space = {p: spec for p, spec in COMMON.items() if p in names}
    space.update(refined)
    return space


def resolve_space(model_name: str, overrides: dict[str, Spec] | None = None) -> dict[str, Spec]:
    """Default space of ``model_name`` with ``overrides`` (config ``[tune.space.MODEL]``) applied.

    Raises ConfigError when an override names a parameter the model does not take.
    """
    from cofirec.models.registry import get_model_class

    cls = get_model_class(model_name)
    space = default_space(model_name)
    known = set(cls.param_names())
    for param, spec in (overrides or {}).items():
        if param not in known:
            raise ConfigError(f"tune.space.{model_name}.{param}: unknown parameter for model {model_name!r} (known: {', '.join(sorted(known)) or 'none'})")
        space[param] = spec
    return space


def suggest_params(trial: Any, model_name: str, overrides: dict[str, Spec] | None = None) -> dict[str, Any]:
    """Sample one parameter set for ``trial`` (an ``optuna.Trial``).

    Uses ``cls.search_space(trial)`` when the model class defines it, else :func:`resolve_space`. Fixed values
    in ``overrides`` are set as they are (and recorded as trial user attributes).
    """
    from cofirec.models.registry import get_model_class

    cls = get_model_class(model_name)
    custom = getattr(cls, "search_space", None)
    params: dict[str, Any] = {}
    if callable(custom):
        resolve_space(model_name, overrides)  # validates the override names
        params.update(custom(trial))
        # fixed values replace what the custom space drew; specs add parameters it does not draw
        space = {p: s for p, s in (overrides or {}).items() if not isinstance(s, dict) or p not in params}
    else:
        space = resolve_space(model_name, overrides)
    for param, spec in space.items():
        params[param] = suggest_one(trial, param, spec)
    return params


def suggest_one(trial: Any, param: str, spec: Spec) -> Any:
    """One value from ``spec`` (see module docstring); a non-dict spec is a fixed value."""
    if not isinstance(spec, dict):
        trial.set_user_attr(f"fixed:{param}", spec)
        return spec
    kind = spec["type"]
    if kind == "int":
        return trial.suggest_int(param, int(spec["low"]), int(spec["high"]), step=int(spec.get("step", 1)), log=bool(spec.get("log", False)))
    if kind == "float":
        step = spec.get("step")
        return trial.suggest_float(param, float(spec["low"]), float(spec["high"]), step=None if step is None else float(step), log=bool(spec.get("log", False)))
    return trial.suggest_categorical(param, list(spec["choices"]))


def validate_space_overrides(space: dict[str, Any], label: str = "config") -> None:
    """Check the shape of ``[tune.space]`` tables; raise a one-line ConfigError naming the bad entry."""
    for model, params in space.items():
        where = f"{label}: tune.space.{model}"
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: expected a table of parameter specs, got {params!r}")
        for param, spec in params.items():
            _check_spec(spec, f"{where}.{param}")


def _check_spec(spec: Any, where: str) -> None:
    if not isinstance(spec, dict):
        if isinstance(spec, (int, float, str, bool, list)):
            return
        raise ConfigError(f"{where}: expected a spec table or a fixed value, got {spec!r}")
    kind = spec.get("type")
    if kind not in _TYPES:
        raise ConfigError(f"{where}.type: expected one of {', '.join(_TYPES)}, got {kind!r}")
    allowed = {"int": {"type", "low", "high", "log", "step"}, "float": {"type", "low", "high", "log", "step"}, "categorical": {"type", "choices"}}[kind]
    extra = set(spec) - allowed
    if extra:
        raise ConfigError(f"{where}: unknown field {sorted(extra)[0]!r} for a {kind} spec (allowed: {', '.join(sorted(allowed))})")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}.choices: expected a non-empty list, got {choices!r}")
        return
    for bound in ("low", "high"):
        value = spec.get(bound)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}.{bound}: expected a number, got {value!r}")
        if kind == "int" and not float(value).is_integer():
            raise ConfigError(f"{where}.{bound}: expected int, got {value!r}")
    if spec["low"] > spec["high"]:
        raise ConfigError(f"{where}: low ({spec['low']}) is above high ({spec['high']})")
    if spec.get("log") and spec["low"] <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got {spec['low']}")
