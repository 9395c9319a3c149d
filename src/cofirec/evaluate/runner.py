"""The evaluation runner: a fitted model and a test set in, a flat dict of metrics out.

Uses only the public :class:`~cofirec.models.base.Recommender` API (``predict``, ``recommend``, the
fitted ``user_map_`` / ``item_map_`` / ``item_popularity_``), so it works for every model and never
reaches into a model's internals. Four protocols:

``rating``   ``predict`` on every test pair: ``rmse``, ``mae``.
``binary``   ``predict`` gives probabilities of the test labels: ``auc``, ``logloss``, ``accuracy``.
``ranking``  full-catalogue top-K with ``recommend(..., exclude_seen=True)`` against each user's test items:
             ``precision@K``, ``recall@K``, ``ndcg@K``, ``hr@K``, ``map@K``, ``mrr@K``, ``coverage@K``,
             ``novelty@K``.
``sampled``  rank of each positive among its sampled negatives: ``hr@K``, ``ndcg@K``, ``mrr@K``, ``mrr``.

:func:`evaluate_detailed` runs the same code and also keeps the per-user values behind every mean-type metric
and the ranking protocol's recommended lists (:class:`~cofirec.evaluate.result.EvaluationResult`);
:func:`evaluate` returns its ``metrics``.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np

from cofirec.data.dataset import Interactions
from cofirec.data.negatives import SampledNegatives, match_test_pairs
from cofirec.errors import ConfigError, DataError
from cofirec.evaluate import metrics as M
from cofirec.evaluate.protocols import PROTOCOLS
from cofirec.evaluate.result import EvaluationResult, group_rows_by_user, sort_by_user
from cofirec.evaluate.unknown import UnknownReport, check_unknown, unknown_report

__all__ = ["PROTOCOLS", "EvaluationResult", "evaluate", "evaluate_detailed"]

_PAIRS_PER_CALL = 1_000_000
_USERS_PER_CALL = 1024


def default_protocol(model, *, sampled: bool = False) -> str:
    """The protocol a fitted model is evaluated with when none is named: ``sampled`` with negatives; ``binary``
    for binary models that predict labels; ``rating`` for explicit rating predictors; else ``ranking`` (binary
    labels: the likes are the relevant items)."""
    if sampled:
        return "sampled"
    kind = getattr(model, "kind_", "explicit")
    if kind == "binary":
        return "binary" if getattr(model, "predicts_ratings", True) else "ranking"
    if kind == "explicit" and getattr(model, "predicts_ratings", True):
        return "rating"
    return "ranking"


def evaluate(
    model,
    test: Interactions,
    *,
    protocol: Literal["rating", "ranking", "sampled", "binary"] = "ranking",
    k: Sequence[int] | int = (10,),
    negatives: SampledNegatives | None = None,
    relevance_threshold: float | None = None,
    batch_size: int | None = None,
    strict: bool = False,
    allow_unknown: bool = False,
) -> dict[str, float]:
    """Evaluate a fitted model on held-out interactions.

    Parameters
    ----------
    model : Recommender
        A fitted model (raw ids of ``test`` must be in the model's id space to count as known).
    test : Interactions
        Held-out interactions. For ``sampled`` the test pairs, whose negatives are looked up in
        ``negatives`` by user and held-out item (a pair missing there is an error); None: the rows of
        ``negatives`` as they are.
    protocol : "rating", "binary", "ranking" or "sampled"
        See the module docstring.
    k : int or sequence of int
        Cut-offs for the top-K metrics.
    negatives : SampledNegatives
        Required by ``sampled``: each row's user, positive item and negatives (raw ids).
    relevance_threshold : float, optional
        ``ranking``: only test rows with rating >= threshold are relevant (users with none are left out);
        without it every test row is relevant, except for binary test data, where the likes (label 1) are.
        ``binary``: labels are ``rating >= threshold``.
    batch_size : int, optional
        Pairs per ``predict`` call (rating, binary; default 1,000,000), users per ``recommend`` call
        (ranking; default 1,024), or rows per ``predict`` call (sampled; default ~1,000,000 pairs).
    strict, allow_unknown : bool
        Unknown-id policy (:mod:`cofirec.evaluate.unknown`): more than 10% of the distinct test users or
        items unknown to the model is an :class:`~cofirec.evaluate.unknown.UnknownIdsWarning`, an error
        with ``strict``; all of them unknown is an error unless ``allow_unknown``.

    Returns
    -------
    dict
        Flat ``{name: value}``: the protocol's metrics (``"ndcg@10"`` ...) plus counts such as
        ``users_evaluated``, ``test_users`` / ``test_users_unknown`` and ``test_items`` /
        ``test_items_unknown`` (distinct ids of the test data, and those unknown to the model).

    Notes
    -----
    Test users unknown to the model score zero on every ranking metric (ranking and sampled); for rating
    and binary they get the model's fallback prediction. The rating protocol needs a model that predicts
    ratings, fitted on explicit ratings.
    """
    return evaluate_detailed(
        model,
        test,
        protocol=protocol,
        k=k,
        negatives=negatives,
        relevance_threshold=relevance_threshold,
        batch_size=batch_size,
        strict=strict,
        allow_unknown=allow_unknown,
    ).metrics


def evaluate_detailed(
    model,
    test: Interactions,
    *,
    protocol: Literal["rating", "ranking", "sampled", "binary"] = "ranking",
    k: Sequence[int] | int = (10,),
    negatives: SampledNegatives | None = None,
    relevance_threshold: float | None = None,
    batch_size: int | None = None,
    strict: bool = False,
    allow_unknown: bool = False,
) -> EvaluationResult:
    """:func:`evaluate` with the per-user values behind its metrics (same arguments, same ``metrics``).

    Returns an :class:`~cofirec.evaluate.result.EvaluationResult`: ``metrics`` (what :func:`evaluate`
    returns), the evaluated ``users`` (raw ids, sorted), ``per_user`` values of every mean-type metric
    (ranking and sampled: every top-K metric; rating: ``mse`` and ``ae``; binary: ``logloss`` and
    ``accuracy``), their ``weights`` (test rows per user where metrics weight users by them) and, for the
    ranking protocol, the ``recommended`` lists (model item indices, -1 padded).
    """
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown evaluation protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    _ = model.n_users  # raises NotFittedError for an unfitted model
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
        raise ConfigError(f"evaluate: batch_size must be a positive integer, got {batch_size!r}")
    if protocol == "sampled":
        if negatives is None:
            raise ConfigError("the 'sampled' protocol needs negatives (cofirec.data.negatives.sample_negatives or read_ncf_negatives)")
        if isinstance(test, Interactions):
            negatives = match_test_pairs(negatives, test)
        report = _check_unknown(model, negatives, strict, allow_unknown)
        return _with_counts(_evaluate_sampled(model, negatives, _check_ks(k), batch_size), report)
    if not isinstance(test, Interactions):
        raise DataError(f"evaluate expects an Interactions test set, got {type(test).__name__}")
    if len(test) == 0:
        raise DataError(f"evaluate: the test set {test.name or ''} has no interactions".replace("  ", " "))
    if protocol == "rating":
        _check_predicts_ratings(model)
    report = _check_unknown(model, test, strict, allow_unknown)
    if protocol == "rating":
        return _with_counts(_evaluate_rating(model, test, batch_size), report)
    if protocol == "binary":
        return _with_counts(_evaluate_binary(model, test, relevance_threshold, batch_size), report)
    return _with_counts(_evaluate_ranking(model, test, _check_ks(k), relevance_threshold, batch_size), report)


def _check_unknown(model, test, strict: bool, allow_unknown: bool) -> UnknownReport:
    report = unknown_report(model, test)
    check_unknown(report, strict=strict, allow_unknown=allow_unknown, what=f"evaluate {getattr(model, 'name', '') or type(model).__name__}")
    return report


def _with_counts(result: EvaluationResult, report: UnknownReport) -> EvaluationResult:
    """``result`` with the distinct test users/items and how many are unknown (the report's counts) in its metrics."""
    result.metrics.update(test_users=report.of_users, test_users_unknown=report.users, test_items=report.of_items, test_items_unknown=report.items)
    return result


def _check_predicts_ratings(model) -> None:
    """The rating protocol compares predictions with ratings: refuse models whose scores are not ratings."""
    kind = model.kind_
    name = model.name or type(model).__name__
    if kind != "explicit":
        use = "the binary protocol (--protocol binary)" if kind == "binary" else "the ranking or sampled protocol (--protocol ranking)"
        raise ConfigError(
            f"rating protocol: {name} was fitted on {kind} data, so its scores are not ratings and rmse/mae "
            f"would be meaningless; use {use}, or fit on explicit ratings"
        )
    if not model.predicts_ratings:
        raise ConfigError(
            f"rating protocol: {name} ranks items but does not predict ratings, so rmse/mae would be meaningless; use the ranking protocol (--protocol ranking)"
        )


# ---------------------------------------------------------------------- helpers
def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort-based: ``np.unique`` hashes and is far slower on many distinct ints)."""
    s = np.sort(np.asarray(values).ravel())
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Membership of ``values`` in the sorted array ``sorted_keys``, bool, same shape as ``values``."""
    if len(sorted_keys) == 0:
        return np.zeros(np.shape(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def _check_ks(k: Sequence[int] | int) -> list[int]:
    ks: list[Any] = [k] if isinstance(k, (int, np.integer)) or np.ndim(k) == 0 else list(k)  # type: ignore[arg-type]
    if not ks:
        raise ConfigError("evaluate: k must name at least one cut-off")
    out = []
    for v in ks:
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ConfigError(f"evaluate: every k must be a positive integer, got {v!r}")
        out.append(int(v))
    return sorted(set(out))


def _predict_batched(model, users: np.ndarray, items: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """``model.predict`` over pairs of raw ids in chunks; returns (scores float64 (n,), known bool (n,))."""
    scores = np.empty(len(users), dtype=np.float64)
    known = np.empty(len(users), dtype=bool)
    for b0 in range(0, len(users), batch):
        s, kn = model.predict(users[b0 : b0 + batch], items[b0 : b0 + batch], return_known=True)
        scores[b0 : b0 + batch] = s
        known[b0 : b0 + batch] = kn
    return scores, known


def _unknown_users(model, raw_users: np.ndarray) -> int:
    uniq = _sorted_unique(raw_users)
    return int((model.user_map_.lookup(uniq) < 0).sum())


# ---------------------------------------------------------------------- rating and binary
def _evaluate_rating(model, test: Interactions, batch_size: int | None) -> EvaluationResult:
    users = test.user_map.to_raw(test.users)
    items = test.item_map.to_raw(test.items)
    pred, known = _predict_batched(model, users, items, batch_size or _PAIRS_PER_CALL)
    metrics = {
        "rmse": M.rmse(test.ratings, pred),
        "mae": M.mae(test.ratings, pred),
        "test_interactions": int(len(test)),
        "predictions_unknown": int((~known).sum()),
        "test_users_unknown": _unknown_users(model, users),
    }
    err = test.ratings.astype(np.float64) - pred
    return _row_weighted_result(metrics, test, {"mse": err * err, "ae": np.abs(err)}, "rating")


def _row_weighted_result(metrics: dict[str, float], test: Interactions, per_row: dict[str, np.ndarray], protocol: str) -> EvaluationResult:
    """A result whose per-user values are each user's mean over their test rows, weighted by the row counts."""
    uniq, means, counts = group_rows_by_user(test.users, per_row)
    users, per_user, weights, _ = sort_by_user(test.user_map.to_raw(uniq), means, counts, None)
    return EvaluationResult(metrics, users, per_user, weights, None, protocol)


def _binary_labels(model, test: Interactions, threshold: float | None) -> np.ndarray:
    r = test.ratings.astype(np.float64)
    if threshold is not None:
        return (r >= threshold).astype(np.float64)
    if test.kind == "binary" or np.isin(r, (0.0, 1.0)).all():
        return r
    fitted_threshold = model.binary_threshold_
    if fitted_threshold is not None:
        return (r >= fitted_threshold).astype(np.float64)
    raise DataError(
        f"binary protocol: test ratings of {test.name or 'the test set'} are not 0/1; give the like threshold "
        "with --relevance 4 (Python: relevance_threshold=4.0), or fit and test on labels (--target binary:4)"
    )


def _evaluate_binary(model, test: Interactions, threshold: float | None, batch_size: int | None) -> EvaluationResult:
    labels = _binary_labels(model, test, threshold)
    users = test.user_map.to_raw(test.users)
    items = test.item_map.to_raw(test.items)
    prob, known = _predict_batched(model, users, items, batch_size or _PAIRS_PER_CALL)
    lo, hi = float(np.nanmin(prob)), float(np.nanmax(prob))
    if np.isnan(prob).any() or lo < -1e-6 or hi > 1 + 1e-6:
        raise DataError(
            f"binary protocol needs probabilities, but {type(model).__name__} predicted values in [{lo:g}, {hi:g}]"
            + (" (with NaN)" if np.isnan(prob).any() else "")
            + (
                "; it was fitted on binary labels but its scores are not probabilities: use the ranking protocol (--protocol ranking)"
                if model.kind_ == "binary"
                else "; fit a model on like/dislike labels (--target binary:T / Interactions.binarize) or use the ranking protocol"
            )
        )
    prob = np.clip(prob, M.PROBA_EPS, 1.0 - M.PROBA_EPS)
    metrics = {
        "auc": M.auc(labels, prob),
        "logloss": M.log_loss(labels, prob),
        "accuracy": M.accuracy(labels, prob),
        "test_interactions": int(len(test)),
        "positives": int((labels > 0.5).sum()),
        "predictions_unknown": int((~known).sum()),
        "test_users_unknown": _unknown_users(model, users),
    }
    per_row = {
        "logloss": -(labels * np.log(prob) + (1.0 - labels) * np.log1p(-prob)),
        "accuracy": ((prob >= 0.5) == (labels > 0.5)).astype(np.float64),
    }
    return _row_weighted_result(metrics, test, per_row, "binary")


# ---------------------------------------------------------------------- full ranking
def _evaluate_ranking(model, test: Interactions, ks: list[int], threshold: float | None, batch_size: int | None) -> EvaluationResult:
    if threshold is None:  # binary labels: the likes are the relevant items, dislikes are not
        relevant = test.ratings > 0 if test.kind == "binary" else np.ones(len(test), dtype=bool)
    else:
        relevant = test.ratings >= threshold
    if not relevant.any():
        raise DataError(f"ranking protocol: no test rating >= {threshold} in {test.name or 'the test set'}")
    rel_users = test.users[relevant].astype(np.int64)
    eval_users = _sorted_unique(rel_users)  # indices into test.user_map
    n_relevant = np.bincount(rel_users, minlength=test.n_users)[eval_users]
    raw_users = test.user_map.to_raw(eval_users)
    model_uidx = model.user_map_.lookup(raw_users)
    known = model_uidx >= 0

    # truth as keys row * (n_items + 1) + model item index; items unknown to the model can never be hit
    n_items = model.n_items
    row_of_test_user = np.full(test.n_users, -1, dtype=np.int64)
    row_of_test_user[eval_users] = np.arange(len(eval_users))
    truth_items = model.item_map_.lookup(test.item_map.to_raw(test.items[relevant]))
    ok = truth_items >= 0
    truth_keys = _sorted_unique(row_of_test_user[rel_users[ok]] * (n_items + 1) + truth_items[ok])

    kmax = max(ks)
    hits = np.zeros((len(eval_users), kmax), dtype=bool)
    known_rows = np.flatnonzero(known)
    rec_idx = np.full((len(eval_users), kmax), -1, dtype=np.int64)  # unknown users: empty rows
    block = batch_size or _USERS_PER_CALL
    for b0 in range(0, len(known_rows), block):
        rows = known_rows[b0 : b0 + block]
        recs = model.recommend(raw_users[rows], n=kmax, exclude_seen=True)
        idx = model.item_map_.lookup(np.asarray(recs.items).ravel()).reshape(len(rows), -1)
        idx[~np.isfinite(np.asarray(recs.scores))] = -1
        keys = rows[:, None] * (n_items + 1) + idx
        hits[rows, : idx.shape[1]] = (idx >= 0) & _in_sorted(keys, truth_keys)
        rec_idx[rows, : idx.shape[1]] = idx

    out: dict[str, float] = {}
    per_user: dict[str, np.ndarray] = {}
    for k in ks:
        h = hits[:, :k]
        for name, fn in _TOPK.items():
            per_user[f"{name}@{k}"] = fn(h, n_relevant, per_user=True)
            out[f"{name}@{k}"] = _mean(per_user[f"{name}@{k}"])
        out[f"coverage@{k}"] = M.coverage(rec_idx[:, :k], n_items)
        out[f"novelty@{k}"] = M.novelty(rec_idx[:, :k], model.item_popularity_, n_users=model.n_users)
    out.update(
        {
            "users_evaluated": int(len(eval_users)),
            "test_users_unknown": int((~known).sum()),
            "test_users_no_relevant": int(len(_sorted_unique(test.users)) - len(eval_users)),
            "test_interactions": int(len(test)),
            "relevant_interactions": int(relevant.sum()),
            "relevant_items_unknown": int((~ok).sum()),
        }
    )
    users, per_user, _, recommended = sort_by_user(raw_users, per_user, None, rec_idx)
    return EvaluationResult(out, users, per_user, None, recommended, "ranking")


_TOPK = {"precision": M.precision_at_k, "recall": M.recall_at_k, "ndcg": M.ndcg_at_k, "hr": M.hr_at_k, "map": M.map_at_k, "mrr": M.mrr_at_k}


def _mean(values: np.ndarray) -> float:
    """The mean the metric functions report (0.0 for no users)."""
    return float(values.mean()) if len(values) else 0.0


# ---------------------------------------------------------------------- sampled ranking
def _evaluate_sampled(model, neg: SampledNegatives, ks: list[int], batch_size: int | None) -> EvaluationResult:
    """Rank of each positive among its negatives, ties counted pessimistically.

    ``rank = #{valid negatives j : not (score_j < score_pos)}``: a negative that ties with the positive (or a
    NaN score) is ranked above it. Negatives equal to the row's positive item are dropped (as NCF's evaluation
    does by keying scores on item ids). Rows of users unknown to the model score 0.
    """
    n, m = neg.negatives.shape
    if n == 0:
        raise DataError("sampled protocol: no rows in the negatives")
    users = np.asarray(neg.users)
    positives = np.asarray(neg.positives)
    negs = np.asarray(neg.negatives)
    if positives.dtype.kind != negs.dtype.kind:  # e.g. int positives, str negatives: compare as strings
        positives, negs = positives.astype(str), negs.astype(str)
    valid = neg.mask & (negs != positives[:, None])
    n_dropped = int((neg.mask & ~valid).sum())
    known = model.user_map_.lookup(users) >= 0
    rank = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    rows_per_call = batch_size or max(1, _PAIRS_PER_CALL // (m + 1))
    for b0 in range(0, n, rows_per_call):
        sl = slice(b0, min(b0 + rows_per_call, n))
        b = sl.stop - sl.start
        cand = np.concatenate([positives[sl, None], negs[sl]], axis=1)
        s = model.predict(np.repeat(users[sl], m + 1), cand.ravel()).reshape(b, m + 1).astype(np.float64)
        above = ~(s[:, 1:] < s[:, :1]) & valid[sl]
        rank[sl] = np.where(known[sl], above.sum(axis=1), rank[sl])

    kmax = max(ks)
    hits = np.zeros((n, kmax), dtype=bool)
    in_list = rank < kmax
    hits[np.flatnonzero(in_list), rank[in_list]] = True
    ones = np.ones(n, dtype=np.int64)
    out: dict[str, float] = {}
    per_row: dict[str, np.ndarray] = {}
    for k in ks:
        for name in ("hr", "ndcg", "mrr"):
            per_row[f"{name}@{k}"] = _TOPK[name](hits[:, :k], ones, per_user=True)
            out[f"{name}@{k}"] = _mean(per_row[f"{name}@{k}"])
    per_row["mrr"] = np.where(known, 1.0 / (np.minimum(rank, m + 1) + 1.0), 0.0)
    out["mrr"] = float(per_row["mrr"].mean())
    out.update(
        {
            "users_evaluated": int(n),
            "test_users_unknown": int(len(_sorted_unique(users[~known]))),
            "negatives_per_row": float(valid.sum(axis=1).mean()),
            "negatives_equal_positive": n_dropped,
        }
    )
    users_sorted, per_user, counts = group_rows_by_user(users, per_row)
    weights = counts if bool((counts != 1).any()) else None  # one row per user: plain means
    return EvaluationResult(out, users_sorted, per_user, weights, None, "sampled")
