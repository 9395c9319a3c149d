"""Build an unfitted model from layered parameters: one precedence rule for every front end.

``cofirec train``, ``compare``, ``tune`` (and a service) all build models here, lowest to highest precedence:

1. the model's (or preset's) defaults,
2. parameters from a config file (``config_params``),
3. ``NAME=VALUE`` assignments (``--param``),
4. the shortcuts ``epochs`` and ``device`` (``--epochs``, ``--device``), refused for a model without them.

The experiment ``seed`` fills a ``seed`` / ``random_state`` parameter that no layer set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from cofirec.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from cofirec.models.base import Recommender

SEED_PARAMS = ("seed", "random_state")


def seeded_params(name: str, params: Mapping[str, Any], seed: int | None) -> dict[str, Any]:
    """``params`` with ``seed`` filled into the model's ``seed``/``random_state`` parameters left unset."""
    from cofirec.models.registry import get_model_class

    out = dict(params)
    if seed is None:
        return out
    names = get_model_class(name).param_names()
    for key in SEED_PARAMS:
        if key in names and key not in out:
            out[key] = seed
    return out


def build_model(
    name: str,
    config_params: Mapping[str, Any] | None = None,
    assignments: list[str] | None = None,
    *,
    epochs: int | None = None,
    device: str | None = None,
    seed: int | None = None,
) -> "Recommender":
    """An unfitted model of the registered ``name`` with the layered parameters (see the module docstring);
    string values (``--param``) are converted to the model's parameter types."""
    from cofirec.models.params import parse_assignments
    from cofirec.models.registry import get_model_class

    cls = get_model_class(name)
    known = set(cls.param_names())
    merged: dict[str, Any] = dict(config_params or {})
    merged.update(parse_assignments(assignments))
    for option, key, value in (("--epochs", "epochs", epochs), ("--device", "device", device)):
        if value is None:
            continue
        if key not in known:
            raise ConfigError(f"{name}: has no {key!r} parameter, so {option} does not apply (parameters: {', '.join(sorted(known)) or 'none'})")
        merged[key] = value
    return cls.from_params(seeded_params(name, merged, seed))


def apply_param_assignments(models: list[Any], assignments: list[str] | None) -> list[Any]:
    """``MODEL.NAME=VALUE`` / ``NAME=VALUE`` strings (``--param``) laid over the parameters of several model
    entries (dicts ``{name, params, label}``, or names): ``MODEL`` picks entries by label, else by name; a bare
    ``NAME`` goes to every model that takes it. Values stay strings (converted when the model is built)."""
    from cofirec.models.registry import get_model_class

    models = [({"name": m} if isinstance(m, str) else {**m, "params": dict(m.get("params") or {})}) for m in models]
    for item in assignments or []:
        if "=" not in item:
            raise ConfigError(f"--param {item!r}: expected MODEL.NAME=VALUE or NAME=VALUE")
        key, value = (s.strip() for s in item.split("=", 1))
        target, _, pname = key.rpartition(".")
        pname = pname.replace("-", "_")
        if target:
            hits = [m for m in models if m.get("label") == target] or [m for m in models if m["name"] == target]
            if not hits:
                raise ConfigError(
                    f"--param {item!r}: no model {target!r} in this run (models: {', '.join(m.get('label') or m['name'] for m in models) or 'none'})"
                )
        else:
            hits = [m for m in models if pname in _param_names(get_model_class, m["name"])]
            if not hits:
                raise ConfigError(f"--param {item!r}: none of the models takes a parameter {pname!r}")
        for m in hits:
            m.setdefault("params", {})[pname] = value
    return models


def _param_names(get_cls: Callable[[str], Any], name: str) -> list[str]:
    try:
        return get_cls(name).param_names()
    except ConfigError:
        return []


def check_refit(model: "Recommender", *, validation: bool) -> None:
    """Fail before any fitting when ``refit`` cannot work: no epoch count, or nothing to early-stop on
    (``validation``: validation data will be given to ``fit``)."""
    from cofirec.models.base import EPOCH_PARAMS

    params = model.get_params()
    if not any(k in params for k in EPOCH_PARAMS) or (not validation and not params.get("holdout")):
        raise ConfigError(
            f"--refit: {model.name}: refit needs a model whose epoch count was chosen by early stopping on validation data "
            "(an iterative model with --validation F, or with a holdout)"
        )
