"""What a model learns from: the target of a run (``explicit``, ``implicit[:MIN]``, ``binary[:T]``).

One place for the whole life of a target, shared by the command line, experiment configs and any other
front end: :func:`parse_target` reads ``"binary:4"`` (or ``--implicit``), :func:`apply_target` turns the
interactions into what the model is fitted on, :func:`fitted_target` reads back the target a fitted model
was trained with and :func:`align_to_model` gives test data the same transform.

* ``explicit``: the ratings as they are.
* ``implicit``: every interaction is a positive; ``implicit:MIN`` keeps ratings >= MIN only; on 0/1 label
  data the likes are the positives.
* ``binary:T``: rating >= T is a like (1), else 0; the ratings stay behind the labels
  (``Interactions.raw_ratings``, e.g. for ordinal losses). Bare ``binary`` only for data that already holds
  0/1 labels.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.errors import ConfigError, DataError

TARGET_SYNTAX = "'explicit', 'implicit[:MIN]' or 'binary:THRESHOLD' (e.g. 'binary:4')"
_TARGET_RE = re.compile(r"^(explicit|rating|implicit|binary)(?::(-?\d+(?:\.\d+)?))?$")


@dataclass(frozen=True)
class Target:
    """A target: ``kind`` and its threshold (binary) or minimum rating (implicit).

    ``label`` says how the user gave it (``--target binary:4``, ``target 'binary:4'``) for messages; it takes
    no part in comparisons.
    """

    kind: Literal["explicit", "implicit", "binary"] = "explicit"
    value: float | None = None
    label: str = field(default="", compare=False)

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value:g}"

    @property
    def described(self) -> str:
        return self.label or f"target {str(self)!r}"


def parse_target(text: str | None, implicit: bool = False, *, where: str = "--target", label: str | None = None) -> Target:
    """``"binary:4"`` (and an ``implicit`` flag) -> :class:`Target`; ConfigError naming ``where`` otherwise.

    ``label`` is how messages name the target later (default ``"{where} {text}"``). Bare ``binary`` keeps
    value None: it applies to 0/1 label data only (:func:`apply_target` refuses it on ratings).
    """
    if text is None or not text.strip():
        return Target("implicit", label="--implicit" if where.startswith("--") else "implicit = true") if implicit else Target()
    m = _TARGET_RE.match(text.strip().lower())
    if m is None:
        raise ConfigError(f"{where}: expected {TARGET_SYNTAX}, got {text!r}")
    kind = "explicit" if m.group(1) == "rating" else m.group(1)
    value = float(m.group(2)) if m.group(2) is not None else None
    if implicit and kind != "implicit":
        raise ConfigError(f"{where}: {text!r} contradicts implicit (every interaction a positive); drop one of the two")
    if kind == "explicit" and value is not None:
        raise ConfigError(f"{where}: {text!r}: explicit takes no threshold")
    return Target(kind, value, label if label is not None else f"{where} {text.strip()}")  # type: ignore[arg-type]


def apply_target(data: Interactions, target: Target) -> Interactions:
    """The interactions a model with this target is fitted on (explicit: ``data`` as it is).

    ``implicit:MIN`` keeping nothing is a DataError; ``binary:T`` giving one label to every interaction is a
    warning; bare ``binary`` on ratings and ``binary:T`` (T > 1) on 0/1 labels are ConfigErrors.
    """
    if target.kind == "implicit":
        return _as_implicit(data, target)
    if target.kind == "binary":
        return _as_binary(data, target)
    return data


def _as_implicit(data: Interactions, target: Target) -> Interactions:
    if data.kind == "implicit" and target.value is None:
        return data
    if data.kind == "binary":
        return data.subset(data.ratings > 0).as_implicit()  # the likes are the positives
    out = data.as_implicit(min_rating=target.value)
    if len(data) and not len(out):
        raise DataError(f"{data.name or 'data'}: {target.described} keeps no interaction ({rating_range(data)})")
    return out


def _as_binary(data: Interactions, target: Target) -> Interactions:
    name = data.name or "the data"
    if data.kind == "binary":
        if target.value is None or 0.0 < target.value <= 1.0:
            return data  # labels >= T are the labels themselves
        raise ConfigError(
            f"{target.described}: {name} already holds 0/1 like labels, a like threshold of {target.value:g} does not apply to them (use --target binary)"
        )
    if data.kind != "explicit":
        raise DataError(f"{name}: {target.described} needs explicit ratings, the data is {data.kind} feedback")
    threshold = target.value
    if threshold is None:
        if not np.isin(data.ratings, (0.0, 1.0)).all():
            raise ConfigError(
                f"{target.described}: {name} holds ratings ({rating_range(data)}), not 0/1 labels; "
                "give the like threshold, e.g. --target binary:4 (rating >= 4 is a like)"
            )
        threshold = 1.0  # a 0/1 label column read as ratings: 1 is a like
    out = data.binarize(float(threshold))
    positives = int(out.ratings.sum()) if len(out) else 0
    if len(out) and positives in (0, len(out)):
        which = f"no rating is >= {threshold:g}: every label is 0" if positives == 0 else f"every rating is >= {threshold:g}: every label is 1"
        warnings.warn(f"{target.described}: {which} ({rating_range(data)})", UserWarning, stacklevel=3)
    return out


def rating_range(data: Interactions) -> str:
    """``"ratings are 1 to 5"`` (for messages)."""
    return f"ratings are {float(data.ratings.min()):g} to {float(data.ratings.max()):g}"


def fitted_target(model: Any) -> Target:
    """The target a fitted model was trained with (its ``kind_``, ``binary_threshold_``, ``implicit_min_rating_``)."""
    kind = getattr(model, "kind_", "explicit")
    if kind == "binary":
        thr = getattr(model, "binary_threshold_", None)
        return Target("binary", float(thr) if thr is not None else None)
    if kind == "implicit":
        low = getattr(model, "implicit_min_rating_", None)
        return Target("implicit", float(low) if low is not None else None)
    return Target()


def reads_labels(model: Any) -> bool:
    """Whether test data for ``model`` should be read with its ratings when a file also has a label column
    (a model fitted with ``binary:T`` derives its labels from the ratings)."""
    target = fitted_target(model)
    return target.kind == "binary" and target.value is not None


def align_to_model(test: Interactions, model: Any) -> Interactions:
    """``test`` with the transform ``model`` was fitted with (implicit, or binary with its threshold).

    Explicit 0/1 test values for a model fitted with ``binary:T`` (T > 1) are read as like/dislike labels
    (with a warning) rather than thresholded.
    """
    target = fitted_target(model)
    if target.kind == "implicit":
        return test if test.kind == "implicit" else apply_target(test, target)
    if target.kind == "binary" and test.kind == "explicit":
        values = np.unique(test.ratings)
        if target.value is None or (np.isin(values, (0.0, 1.0)).all() and target.value > 1.0):
            warnings.warn(f"{test.name or 'test'}: ratings are 0/1, read as like/dislike labels", UserWarning, stacklevel=2)
            return replace(test, kind="binary", meta={**test.meta, "binary_threshold": target.value})
        return test.binarize(target.value)
    return test


def read_preferring_ratings(read: Callable[[list[str] | None], Interactions], columns: list[str] | None, prefer_ratings: bool) -> Interactions:
    """``read(columns)``; with ``prefer_ratings`` (a ``binary:T`` target, which derives its labels from the
    ratings) and no explicit ``columns``, a file with both a rating and a 0/1 label column is read with its
    ratings (with a warning) instead of being refused; otherwise the reader's error, naming the way out, stands."""
    from cofirec.data.readers import DuplicateColumnError

    try:
        return read(columns)
    except DuplicateColumnError as exc:
        if not prefer_ratings or columns is not None or exc.rating_columns is None:
            raise
        warnings.warn(
            "the file has both rating and label columns: --target binary derives likes from the ratings, the label column is ignored", UserWarning, stacklevel=2
        )
        return read(exc.rating_columns)
