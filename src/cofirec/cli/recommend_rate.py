"""``cofirec recommend --rate``: recommendations for a new visitor from a few ratings, and ``--why`` reasons.

Each ``--rate "TITLE=VALUE"`` names an item by id or title (case-insensitive, :func:`cofirec.models.titles.resolve_item`);
the ratings are checked against the model's scale and folded in by ``model.recommend_history``. Reasons come from
``recommend_history(..., why=k)`` for a new visitor and ``model.explain`` for a known user.
"""

from __future__ import annotations

import math
from typing import Any

from cofirec.errors import ConfigError, DataError, UnknownIdError

_SUGGEST_MAX_TITLES = 200_000  # close-title suggestions for an unknown title only on catalogues up to this size


def parse_rate(text: str) -> tuple[str, float | None]:
    """``"Toy Story (1995)=5"`` -> ``("Toy Story (1995)", 5.0)``; ``"Heat (1995)"`` -> ``("Heat (1995)", None)``
    (the split is at the last ``=``, so titles may contain one)."""
    name, sep, value = text.rpartition("=")
    if not sep:
        return text.strip(), None
    if not name.strip():
        raise ConfigError(f"--rate {text!r}: expected ITEM=RATING, e.g. --rate 'Toy Story (1995)=5'")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"--rate {text!r}: rating {value.strip()!r} is not a number (expected ITEM=RATING)") from None
    if not math.isfinite(number):
        raise ConfigError(f"--rate {text!r}: rating must be a finite number")
    return name.strip(), number


def resolve_rates(model: Any, rates: list[str]) -> list[tuple[Any, float]]:
    """``--rate`` values -> ``[(raw item id, rating as given)]``. Every unknown or ambiguous item is reported in one
    UnknownIdError (with candidates); a rating off the model's scale or an item named twice is a DataError."""
    from cofirec.models.titles import resolve_item
    from cofirec.serve.state import rating_scale

    scale = rating_scale(model)
    problems: list[str] = []
    resolved: list[tuple[Any, float, str]] = []
    for text in rates:
        name, value = parse_rate(text)
        if value is None:
            if scale.kind == "explicit":
                raise ConfigError(f"--rate {text!r}: give a rating, e.g. --rate '{name}=4' ({scale.describe()})")
            value = scale.like_value()
        try:
            item = resolve_item(model, name)
        except UnknownIdError as exc:
            problems.append(str(exc) + _suggestions(model, name, str(exc)))
            continue
        try:
            scale.check(value)
        except DataError as exc:
            raise DataError(f"--rate {text!r}: {exc}") from None
        resolved.append((item, value, text))
    if problems:
        raise UnknownIdError(f"--rate: {len(problems)} item{'s' if len(problems) > 1 else ''} not matched: " + " | ".join(problems))
    seen: dict[Any, str] = {}
    for item, _, text in resolved:
        if item in seen:
            raise DataError(f"--rate {seen[item]!r} and --rate {text!r} name the same item {item!r}; rate each item once")
        seen[item] = text
    return [(item, value) for item, value, _ in resolved]


def _suggestions(model: Any, name: str, message: str) -> str:
    """``; did you mean: A; B`` for an unknown title (close spellings among the model's titles), else ''."""
    titles = getattr(model, "item_titles_", None)
    if titles is None or "no item id or title matches" not in message or len(titles) > _SUGGEST_MAX_TITLES:
        return ""
    import difflib

    lowered = {str(t).lower(): str(t) for t in titles}
    close = difflib.get_close_matches(name.strip().lower(), list(lowered), n=3, cutoff=0.6)
    return ("; did you mean: " + "; ".join(lowered[c] for c in close)) if close else ""


def recommend_for_rates(model: Any, rates: list[str], n: int, why: int) -> dict:
    """The new visitor's record: ``items``, ``scores``, ``known``, ``rated`` (the resolved ratings), ``titles``
    when the model has them and, with ``why > 0``, ``reasons`` per item."""
    from cofirec.serve.state import rating_scale

    history = resolve_rates(model, rates)
    scale = rating_scale(model)
    signal = [(item, scale.model_value(value)) for item, value in history]
    fold = [(item, v) for item, v in signal if v is not None]
    silent = [item for item, v in signal if v is None]  # below an implicit model's threshold: not recommended back
    recs = model.recommend_history(fold, n=n, exclude=silent or None, why=why)
    record: dict[str, Any] = {
        "user": None,
        "items": recs.items.tolist(),
        "scores": [round(float(s), 6) for s in recs.scores],
        "known": bool(recs.known),
        "rated": rated_records(model, history),
    }
    titles = model.titles(record["items"])
    if titles is not None:
        record["titles"] = titles
    if why:
        record["reasons"] = [reason_records(model, pairs, dict(history)) for pairs in recs.reasons or []]
    return record


def rated_records(model: Any, history: list[tuple[Any, float]]) -> list[dict]:
    titles = model.titles([item for item, _ in history])
    return [{"item": item, **({"title": titles[k]} if titles is not None else {}), "rating": value} for k, (item, value) in enumerate(history)]


def reason_records(model: Any, pairs: list[tuple[Any, float]], values: dict) -> list[dict]:
    """(history item, contribution) pairs -> ``{"item", ["title"], "rating", "contribution"}`` dicts."""
    titles = model.titles([item for item, _ in pairs]) if pairs else []
    out = []
    for k, (item, contribution) in enumerate(pairs):
        rec: dict[str, Any] = {"item": item}
        if titles is not None:
            rec["title"] = titles[k]
        rec["rating"] = values.get(item)
        rec["contribution"] = round(float(contribution), 6)
        out.append(rec)
    return out


def add_known_user_reasons(model: Any, records: list[dict], why: int) -> None:
    """``reasons`` for each known user's recommended items (``model.explain``); unknown users get empty lists."""
    import numpy as np

    ratings = getattr(model, "train_ratings_", None)
    for rec in records:
        if not rec["known"] or not rec["items"]:
            rec["reasons"] = [[] for _ in rec["items"]]
            continue
        u = int(model.user_map_.lookup(np.asarray([rec["user"]]))[0])
        row = (ratings if ratings is not None else model.seen_)[u]
        values = dict(zip(model.item_map_.to_raw(row.indices).tolist(), row.data.tolist()))
        rec["reasons"] = [reason_records(model, pairs, values) for pairs in model.explain(rec["user"], rec["items"], why)]


def reason_text(reasons: list[dict], implicit: bool) -> str:
    """``Alien (1979) 5, Heat (1995) 2`` (no ratings for implicit models); '' when nothing contributes."""
    parts = []
    for r in reasons:
        name = r.get("title") or str(r["item"])
        value = r.get("rating")
        parts.append(name if implicit or value is None else f"{name} {value:g}")
    return ", ".join(parts)
