"""Test ids the model has never seen: count them, and warn or refuse when they distort an evaluation.

A test user unknown to the model scores zero on every ranking metric and gets the fallback prediction
under the rating and binary protocols; a few such users are normal (cold start), but when many are unknown
the numbers describe the fallback, not the model, and when *all* are unknown the evaluation almost always
compares two unrelated id spaces (another dataset, ids written differently). The policy, used by
:func:`cofirec.evaluate.evaluate`, ``compare`` and the command line:

* more than ``threshold`` (10%) of the distinct test users, or of the distinct test items, unknown:
  a warning (:class:`UnknownIdsWarning`), an error with ``strict``;
* every test user, or every test item, unknown: an error (:class:`~cofirec.errors.UnknownIdError`)
  unless ``allow_unknown``, which turns it back into a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cofirec.data.idmap import IdMap
from cofirec.errors import ConfigError, UnknownIdError

__all__ = ["UNKNOWN_THRESHOLD", "UnknownIdsWarning", "UnknownReport", "check_unknown", "unknown_report"]

UNKNOWN_THRESHOLD = 0.10


class UnknownIdsWarning(UserWarning):
    """Many test users or items are unknown to the model; ``report`` holds the counts."""

    def __init__(self, message: str, report: "UnknownReport | None" = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class UnknownReport:
    """Distinct test users/items and how many of them the model does not know."""

    users: int
    of_users: int
    items: int
    of_items: int

    def as_dict(self) -> dict[str, int]:
        """``{"users", "of_users", "items", "of_items"}`` (the ``unknown`` object of ``--json`` output)."""
        return asdict(self)

    @classmethod
    def from_metrics(cls, metrics: dict[str, Any]) -> "UnknownReport":
        """The counts ``evaluate`` put in its result (``test_users_unknown``, ``test_users``, ...)."""
        return cls(*(int(metrics.get(k, 0)) for k in ("test_users_unknown", "test_users", "test_items_unknown", "test_items")))

    def describe(self) -> str:
        """``"12 of 100 test users (12%) and 0 of 50 test items (0%) are unknown to the model"``."""
        return (
            f"{self.users:,} of {self.of_users:,} test users ({_pct(self.users, self.of_users)}) and "
            f"{self.items:,} of {self.of_items:,} test items ({_pct(self.items, self.of_items)}) are unknown to the model"
        )


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.0f}%" if whole else "0%"


def _distinct_unknown(raw: np.ndarray, vocabulary: IdMap) -> tuple[int, int]:
    """(distinct values of ``raw`` not in ``vocabulary``, distinct values)."""
    uniq = np.unique(np.asarray(raw))
    return int((vocabulary.lookup(uniq) < 0).sum()), len(uniq)


def _vocabularies(known: Any) -> tuple[IdMap, IdMap]:
    """User and item vocabularies of a fitted model, or of the users/items that have interactions in data."""
    if hasattr(known, "user_map_"):
        return known.user_map_, known.item_map_
    if hasattr(known, "user_counts") and hasattr(known, "user_map"):
        users = known.user_map.to_raw(np.flatnonzero(known.user_counts() > 0))
        items = known.item_map.to_raw(np.flatnonzero(known.item_counts() > 0))
        return IdMap(users), IdMap(items)
    raise ConfigError(f"unknown_report: expected a fitted model or training Interactions, got {type(known).__name__}")


def unknown_report(known: Any, test: Any) -> UnknownReport:
    """Count the distinct users and items of ``test`` that ``known`` does not know.

    Parameters
    ----------
    known : Recommender or Interactions
        A fitted model (its ``user_map_`` / ``item_map_``), or training data (users and items with at least
        one interaction, which is what a model fitted on it knows).
    test : Interactions or SampledNegatives
        Held-out interactions, or sampled-protocol rows (their users and positive items).
    """
    user_vocab, item_vocab = _vocabularies(known)
    if hasattr(test, "positives"):  # SampledNegatives
        users, items = np.asarray(test.users), np.asarray(test.positives)
    else:
        users, items = test.user_map.to_raw(test.users), test.item_map.to_raw(test.items)
    u_unknown, u_all = _distinct_unknown(users, user_vocab)
    i_unknown, i_all = _distinct_unknown(items, item_vocab)
    return UnknownReport(u_unknown, u_all, i_unknown, i_all)


def check_unknown(
    report: UnknownReport, *, strict: bool = False, allow_unknown: bool = False, threshold: float = UNKNOWN_THRESHOLD, what: str = "evaluation"
) -> str | None:
    """Apply the unknown-id policy (module docstring) to ``report``.

    Raises :class:`~cofirec.errors.UnknownIdError` when the policy says error; otherwise issues an
    :class:`UnknownIdsWarning` and returns its message when the share of unknown ids is above ``threshold``
    (None when it is not).
    """
    everything = (report.of_users and report.users == report.of_users) or (report.of_items and report.items == report.of_items)
    many = report.users > threshold * report.of_users or report.items > threshold * report.of_items
    if not many:
        return None
    if everything and not allow_unknown:
        raise UnknownIdError(
            f"{what}: {report.describe()}; the test data does not share ids with the training data (another dataset, "
            "or ids written differently?); pass --allow-unknown (API: allow_unknown=True) to evaluate anyway"
        )
    message = f"{what}: {report.describe()}; the model cannot score them (they get its fallback, or count as misses)"
    if strict:
        raise UnknownIdError(f"{message} (more than {threshold:.0%} unknown is an error with --strict)")
    warnings.warn(UnknownIdsWarning(message, report), stacklevel=2)
    return message
