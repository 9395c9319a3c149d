"""Typed hyperparameters: parse ``k=v`` strings (CLI, config files) and check types against ``__init__`` hints."""

from __future__ import annotations

import math
import types
import typing
from typing import Any, Literal

from cofirec._seeds import check_seed
from cofirec.errors import ConfigError

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_assignments(items: list[str] | None) -> dict[str, str]:
    """``["factors=64", "reg=0.1"]`` -> ``{"factors": "64", "reg": "0.1"}``."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"bad --param {item!r}: expected NAME=VALUE")
        key, value = item.split("=", 1)
        out[key.strip().replace("-", "_")] = value.strip()
    return out


def coerce_params(cls: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Validate parameter names and convert string values to the annotated types of ``cls.__init__``."""
    types_ = cls.param_types()
    out = {}
    for key, value in params.items():
        key = key.replace("-", "_")
        if key not in types_:
            raise unknown_parameter(cls, key)
        out[key] = coerce_value(f"{cls.name or cls.__name__}.{key}", types_[key], value)
    return out


def unknown_parameter(cls: Any, key: str) -> ConfigError:
    """The error for a parameter name ``cls`` does not take (naming the new name of a renamed one)."""
    label = getattr(cls, "name", "") or cls.__name__
    new = getattr(cls, "renamed_params", {}).get(key)
    if new is not None:
        return ConfigError(f"{label}: parameter {key!r} was renamed to {new!r}")
    return ConfigError(f"{label}: unknown parameter {key!r} (known: {', '.join(sorted(cls.param_names()))})")


def check_param_types(model: Any) -> None:
    """Raise ConfigError when a parameter value does not match its annotation (or is a NaN/infinite number)."""
    for key, hint in type(model).param_types().items():
        value = getattr(model, key)
        if not _matches(hint, value):
            raise ConfigError(_mismatch(f"{model.name or type(model).__name__}: parameter {key}", hint, value))
    _check_seeds(model)


def _mismatch(label: str, hint: Any, value: Any) -> str:
    if _has_non_finite(value):
        return f"{label}={value!r} must be a finite number (NaN and infinity are refused)"
    return f"{label}={value!r} should be {describe_type(hint)}"


def _has_non_finite(value: Any) -> bool:
    """Whether ``value`` is (text of) a NaN/infinite number, or a sequence holding one."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return any(_has_non_finite(p) for p in value.strip("()[]").split(",")) if "," in value else False
    if isinstance(value, (tuple, list)):
        return any(_has_non_finite(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


SEED_PARAMS = ("random_state", "seed")


def _check_seeds(model: Any) -> None:
    """Seeds must be non-negative integers (numpy refuses negative seeds deep inside ``fit`` otherwise)."""
    for key in SEED_PARAMS:
        value = getattr(model, key, None)
        if isinstance(value, int) and not isinstance(value, bool):
            check_seed(value, f"{model.name or type(model).__name__}: parameter {key}")


def coerce_value(label: str, hint: Any, value: Any) -> Any:
    """Convert ``value`` (often a string) to ``hint``; raise ConfigError naming ``label`` when impossible."""
    if not isinstance(value, str):
        if _matches(hint, value):
            return value
        if isinstance(value, list) and _matches(hint, tuple(value)):
            return tuple(value)
        if isinstance(value, int) and not isinstance(value, bool) and _matches(hint, float(value)):
            return float(value)
        raise ConfigError(_mismatch(label, hint, value))
    text = value.strip()
    for candidate in _candidates(hint):
        try:
            converted = _from_text(candidate, text)
        except (ValueError, TypeError):
            continue
        if _matches(hint, converted):
            return converted
    raise ConfigError(_mismatch(label, hint, value))


def _candidates(hint: Any) -> list[Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = list(typing.get_args(hint))
        # try None first, then bool/int before float/str so "3" becomes an int where allowed
        order = {type(None): 0, bool: 1, int: 2, float: 3, str: 9}
        return sorted(args, key=lambda a: order.get(a, 5))
    return [hint]


def _from_text(hint: Any, text: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is type(None):
        if text.lower() in {"none", "null", ""}:
            return None
        raise ValueError
    if hint is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError
    if hint is int:
        return int(text)
    if hint is float:
        return float(text)
    if hint is str or hint is Any:
        return text
    if origin is Literal:
        for arg in typing.get_args(hint):
            if str(arg) == text:
                return arg
        raise ValueError
    if origin in (tuple, list):
        args = typing.get_args(hint)
        inner = args[0] if args else str
        parts = [p for p in text.strip("()[]").replace(" ", "").split(",") if p != ""]
        seq = [_from_text(inner, p) for p in parts]
        return tuple(seq) if origin is tuple else seq
    raise ValueError


def _matches(hint: Any, value: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(a, value) for a in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # finite only: a NaN or infinite hyperparameter trains a NaN model
        return isinstance(value, (int, float)) and not isinstance(value, bool) and (isinstance(value, int) or math.isfinite(value))
    if hint is str:
        return isinstance(value, str)
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin in (tuple, list):
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return isinstance(value, (tuple, list)) and all(_matches(inner, v) for v in value)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def describe_type(hint: Any) -> str:
    """Human name of a type hint: ``int``, ``float or None``, ``one of 'count', 'rating'``, ``a list of int``."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe_type(a) for a in typing.get_args(hint))
    if origin in (tuple, list):
        args = typing.get_args(hint)
        return f"a list of {describe_type(args[0]) if args else 'values'}"
    if hint is type(None):
        return "None"
    return getattr(hint, "__name__", str(hint))
