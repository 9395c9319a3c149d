"""Splits that respect time: one global cut-off (:func:`temporal_split`) or each user's latest interactions
(:func:`user_temporal_split`).

A random split lets a model train on interactions that happened after the ones it is tested on, so it sees
popularity trends and users' later tastes before they happen; these splits keep the future out of training.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.data.splits import Split, _check_data, _check_ratio, _make_split, _sorted_unique
from cofirec.errors import ConfigError, DataError

__all__ = ["COLD_POLICIES", "parse_cutoff", "temporal_split", "user_temporal_split"]

COLD_POLICIES = ("separate", "drop")
"""What :func:`temporal_split` does with test rows whose user or item first appears at/after the cut-off."""


# ---------------------------------------------------------------------- cut-off
def parse_cutoff(cutoff: str | float | int) -> float:
    """Seconds since the epoch from an ISO date/time string (``1998-03-01``, ``1998-03-01T12:00``; naive
    times are UTC), a string of digits, or a number (unix seconds)."""
    if isinstance(cutoff, bool):
        raise ConfigError(f"cutoff: expected a date (e.g. 1998-03-01) or unix seconds, got {cutoff!r}")
    if isinstance(cutoff, (int, float, np.integer, np.floating)):
        value = float(cutoff)
    elif isinstance(cutoff, str):
        value = _parse_cutoff_text(cutoff.strip())
    else:
        raise ConfigError(f"cutoff: expected a date (e.g. 1998-03-01) or unix seconds, got {type(cutoff).__name__}")
    if not np.isfinite(value):
        raise ConfigError(f"cutoff: expected a finite time, got {cutoff!r}")
    return value


def _parse_cutoff_text(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"cutoff {text!r}: not a date (expected ISO, e.g. 1998-03-01 or 1998-03-01T12:00) or unix seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp()


def format_cutoff(seconds: float) -> str:
    """``1998-03-01T00:00:00`` (UTC, no offset written) for unix seconds."""
    moment = _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds" if float(seconds).is_integer() else "microseconds")


def quantile_cutoff(timestamps: np.ndarray, test_ratio: float) -> int:
    """The cut-off T (one of the timestamps) whose test part ``timestamps >= T`` is closest in size to
    ``round(test_ratio * n)`` rows (half rounds up, at least 1 and at most n - 1); when two candidates are
    equally close, the later one (fewer test rows). Rows tied on a timestamp always fall on the same side,
    so with coarse timestamps the test part can be larger or smaller than asked."""
    ts = np.sort(timestamps)
    n = len(ts)
    distinct = _sorted_unique(ts)
    if len(distinct) < 2:
        raise DataError("split temporal: every interaction has the same timestamp; a cut-off needs at least two distinct times")
    wanted = int(min(max(np.floor(test_ratio * n + 0.5), 1), n - 1))
    candidates = distinct[1:]  # T = the first timestamp would leave train empty
    n_test = n - np.searchsorted(ts, candidates, side="left")
    distance = np.abs(n_test - wanted)
    best = np.flatnonzero(distance == distance.min())[-1]  # the later of equally close cut-offs
    return int(candidates[best])


def _check_cutoff(value: float, timestamps: np.ndarray, shown: str | float) -> None:
    first, last = int(timestamps.min()), int(timestamps.max())
    if value <= first:
        raise DataError(f"split temporal: cutoff {shown} is at or before the first timestamp ({format_cutoff(first)}): the training part would be empty")
    if value > last:
        raise DataError(f"split temporal: cutoff {shown} is after the last timestamp ({format_cutoff(last)}): the test part would be empty")


def _timestamps_of(data: Interactions, what: str) -> np.ndarray:
    if data.timestamps is None:
        raise DataError(
            f"split {what} needs a timestamp column; {data.name or 'data'} has none (use the 'random' or 'user' split, "
            "or give the file's columns with a timestamp)"
        )
    return data.timestamps


# ---------------------------------------------------------------------- splits
def temporal_split(data: Interactions, test_ratio: float = 0.2, *, cutoff: str | float | None = None, cold: str = "separate") -> Split:
    """One global cut-off T: rows with ``timestamp < T`` train, rows with ``timestamp >= T`` test.

    T is ``cutoff`` (ISO date/time, naive = UTC, or unix seconds) when given, else chosen by
    :func:`quantile_cutoff` so that about ``test_ratio`` of the rows are test. Rows with equal timestamps
    never straddle the boundary.

    Test rows whose user or item has no training interaction (first seen at/after T) are *cold*: with
    ``cold="separate"`` they go to ``Split.cold`` (same id space) and ``Split.test`` keeps only warm rows;
    with ``cold="drop"`` they are dropped (``Split.cold`` is None) and counted in ``info["n_dropped"]``.
    ``Split.info`` holds ``cutoff`` (ISO, UTC), ``cutoff_unix``, ``cold_policy``, ``n_train``, ``n_test``,
    ``n_cold_users``, ``n_cold_items``, ``n_cold_rows`` and ``n_dropped``.
    """
    _check_data(data, "temporal_split")
    ts = _timestamps_of(data, "temporal")
    if cold not in COLD_POLICIES:
        raise ConfigError(f"cold: expected one of {', '.join(COLD_POLICIES)}, got {cold!r}")
    if cutoff is None:
        test_ratio = _check_ratio(test_ratio)
        value: float = quantile_cutoff(ts, test_ratio)
        how = f"test_ratio={test_ratio:g}, "
    else:
        value = parse_cutoff(cutoff)
        _check_cutoff(value, ts, cutoff)
        how = ""
    after = ts >= value
    user_seen = _seen(data.users, ~after, data.n_users)
    item_seen = _seen(data.items, ~after, data.n_items)
    cold_mask = after & ~(user_seen & item_seen)
    split = _make_split(data, after, f"temporal({how}cutoff={format_cutoff(value)}, cold={cold})")
    split.test = _part(data, after & ~cold_mask, "test")
    if cold == "separate":
        split.cold = _part(data, cold_mask, "cold")
    split.info = {
        "cutoff": format_cutoff(value),
        "cutoff_unix": int(value) if float(value).is_integer() else value,
        "cold_policy": cold,
        "n_train": int((~after).sum()),
        "n_test": int(len(split.test)),
        "n_cold_users": int(len(_sorted_unique(data.users[after & ~user_seen]))),
        "n_cold_items": int(len(_sorted_unique(data.items[after & ~item_seen]))),
        "n_cold_rows": int(cold_mask.sum()),
        "n_dropped": int(cold_mask.sum()) if cold == "drop" else 0,
    }
    return split


def _part(data: Interactions, mask: np.ndarray, part: str) -> Interactions:
    return replace(data.subset(mask), name=f"{data.name}:{part}" if data.name else part)


def _seen(index: np.ndarray, train_mask: np.ndarray, size: int) -> np.ndarray:
    """Per row: does the row's user (or item) ``index`` appear in a training row?"""
    return (np.bincount(index[train_mask], minlength=size) > 0)[index]


def user_temporal_split(data: Interactions, test_ratio: float = 0.2) -> Split:
    """Hold out each user's latest ``test_ratio`` of interactions (by timestamp): leave-last-out by fraction.

    A user with ``c`` interactions gives their ``min(round(test_ratio * c), c - 1)`` latest ones to test
    (half rounds up, as in :func:`~cofirec.data.splits.user_ratio_split`), so users with one interaction stay
    in train. Ties on the timestamp are broken by position, as in
    :func:`~cofirec.data.splits.leave_last_out`: of two rows with the same time, the later row in ``data``
    counts as later. ``Split.info`` holds ``test_ratio``, ``n_train``, ``n_test`` and ``n_test_users``.
    """
    _check_data(data, "user_temporal_split")
    _timestamps_of(data, "user-temporal")
    test_ratio = _check_ratio(test_ratio)
    counts = np.bincount(data.users, minlength=data.n_users)[data.users]
    n_test = np.minimum(np.floor(test_ratio * counts + 0.5).astype(np.int64), counts - 1)
    mask = data.recency_rank() < n_test
    split = _make_split(data, mask, f"user-temporal(test_ratio={test_ratio:g})")
    split.info = {
        "test_ratio": test_ratio,
        "n_train": int((~mask).sum()),
        "n_test": int(mask.sum()),
        "n_test_users": int(len(_sorted_unique(data.users[mask]))),
    }
    return split
