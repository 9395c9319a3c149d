"""The JSON endpoints. Each request reads the current model state once (see :mod:`cofirec.serve.state`).

Endpoints are plain ``def``: FastAPI runs them in its thread pool, so scoring (numpy, releasing the GIL) and
database calls never block the event loop.
"""

from __future__ import annotations

import math
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from cofirec.errors import DataError, UnknownIdError
from cofirec.serve.schemas import (
    MAX_N,
    Error,
    Health,
    HistoryRequest,
    Item,
    ItemList,
    RatingsRequest,
    RatingsStored,
    Ready,
    Reason,
    RecommendationList,
    Recommended,
    Reloaded,
    SimilarItems,
    UserHistory,
    UserHistoryItem,
)
from cofirec.serve.state import ModelState

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Error, "description": "Unknown user or item"},
    422: {"model": Error, "description": "Invalid request"},
}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": Error, "description": "API key missing"}, 403: {"model": Error, "description": "Wrong API key"}}
UserId = Annotated[str, Path(min_length=1, max_length=256, description="A user id")]
ItemId = Annotated[str, Path(min_length=1, max_length=256, description="An item id")]
TopN = Annotated[int, Query(ge=1, le=MAX_N, description="Length of the list")]
Why = Annotated[int, Query(ge=0, le=10, description="Reasons per recommended item (0: none)")]

router = APIRouter()


_thread_state = threading.local()


def one_kernel_thread() -> None:
    """Run this request thread's numba kernels and faiss searches on one core. The server's parallelism is its
    concurrent requests; a parallel kernel over one user's row pays thread hand-offs that cost more than the row
    (top-k of 3,700 items: 0.1 ms on one thread, 0.7 ms p50 and long tails on two busy cores). Both settings
    are per thread, so this touches neither other threads nor batch work in the same process."""
    if getattr(_thread_state, "single", False):
        return
    _thread_state.single = True
    try:
        import numba

        numba.set_num_threads(1)
    except ImportError:  # pragma: no cover - numba is a core dependency
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:
        pass


async def service(request: Request) -> Any:
    """The app's Service (``async``: runs on the event loop, not as a thread-pool hop of its own)."""
    return request.app.state.service


async def require_key(request: Request) -> None:
    request.app.state.service.check_key(request)


Svc = Annotated[Any, Depends(service)]
Auth = Annotated[None, Depends(require_key)]


def _finite(x: Any) -> float | None:
    value = float(x)
    return value if math.isfinite(value) else None


def _reasons(state: ModelState, pairs: list | None) -> list[Reason] | None:
    if pairs is None:
        return None
    titles = state.title([item for item, _ in pairs])
    return [Reason(item=item, title=title, contribution=_finite(c) or 0.0) for (item, c), title in zip(pairs, titles)]


def _recommended(state: ModelState, items: list, scores: list, reasons: list | None) -> list[Recommended]:
    titles = state.title(items)
    out = []
    for k, (item, score, title) in enumerate(zip(items, scores, titles)):
        why = _reasons(state, reasons[k]) if reasons is not None else None
        out.append(Recommended(item=item, title=title, score=_finite(score) or 0.0, reasons=why))
    return out


def _history_values(state: ModelState, entries: list[tuple[Any, float]]) -> tuple[list[tuple[Any, float]], list[Any]]:
    """Ratings (checked against the model's scale) -> (fold-in history, items to exclude that carry no signal)."""
    history, silent = [], []
    for item, rating in entries:
        state.scale.check(rating)
        value = state.scale.model_value(rating)
        (silent.append(item) if value is None else history.append((item, value)))
    return history, silent


def _recommend_history(state: ModelState, history: list, n: int, why: int, exclude: list) -> Any:
    model = state.model
    if not hasattr(model, "recommend_history"):
        raise DataError(f"model {model.name} cannot recommend from a history (this cofirec has no fold-in)")
    return model.recommend_history(history, n, exclude=exclude or None, why=why)


# ---------------------------------------------------------------------------------------------------- health
@router.get("/health", response_model=Health, tags=["status"], summary="The process is up")
def health() -> Health:
    return Health(status="ok")


@router.get("/ready", response_model=Ready, tags=["status"], summary="A model is loaded and the database answers", responses={503: {"model": Ready}})
def ready(svc: Svc) -> Any:
    if not svc.holder.ready:
        return JSONResponse(Ready(status="not ready", detail=svc.holder.load_error).model_dump(), status_code=503)
    state = svc.holder.current
    svc.store.count_ratings()
    return Ready(
        status="ready",
        model=state.model.name,
        model_version=state.version,
        items=state.n_items,
        users=state.n_users,
        scale=state.scale.describe(),
        feedback_kind=state.scale.kind,
        like_value=state.scale.like_value(),
        rating_min=state.scale.low,
        rating_max=state.scale.high,
        has_titles=state.titles is not None,
    )


@router.get("/metrics", response_class=PlainTextResponse, tags=["status"], summary="Prometheus metrics")
def metrics(svc: Svc) -> PlainTextResponse:
    return PlainTextResponse(svc.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


# ---------------------------------------------------------------------------------------------------- recommendations
@router.get(
    "/users/{user_id}/recommendations",
    response_model=RecommendationList,
    responses=ERRORS,
    tags=["recommendations"],
    summary="Top-N for a known user (stored feedback folded in at once)",
)
def user_recommendations(
    svc: Svc,
    user_id: UserId,
    n: TopN = 10,
    why: Why = 0,
    exclude_seen: Annotated[
        bool, Query(description="Leave out training items (a user with stored feedback is folded in, and then never gets rated items back)")
    ] = True,
) -> RecommendationList:
    one_kernel_thread()
    state = svc.holder.current
    raw = state.user_raw(user_id)
    key = str(raw) if raw is not None else user_id
    feedback = svc.store.ratings_of(key)
    if raw is None and not feedback:
        raise UnknownIdError(f"unknown user {user_id!r}: not in the model's training data and no stored feedback")
    if feedback:
        recs, folded = _folded_in(state, raw, feedback, n, why), len(feedback)
    else:
        recs, folded = state.model.recommend(raw, n, exclude_seen=exclude_seen), 0
        if why and len(recs.items):
            recs.reasons = state.model.explain(raw, recs.items.tolist(), k=why)
    items = recs.items.tolist()
    svc.served.log(key, [str(i) for i in items], state.version)  # queued: written off the request path
    return RecommendationList(
        user=raw if raw is not None else user_id,
        known=bool(recs.known),
        folded_in=folded,
        ignored=list(getattr(recs, "ignored", None) or []),
        model_version=state.version,
        items=_recommended(state, items, recs.scores.tolist(), getattr(recs, "reasons", None) if why else None),
    )


def _folded_in(state: ModelState, raw: Any, feedback: list, n: int, why: int) -> Any:
    """Fold-in of the training history (when the user is known) with the stored feedback replacing it item by item."""
    stored = [(state.item_raw(r.item), r.rating) for r in feedback]
    history, silent = _history_values(state, stored)
    given = {item for item, _ in stored}
    if raw is not None:
        training, _ = state.training_history(raw)
        history = [(item, v) for item, v in training if item not in given and v is not None] + history
        silent += [item for item, v in training if item not in given and v is None]
    return _recommend_history(state, history, n, why, silent)


@router.post(
    "/recommendations",
    response_model=RecommendationList,
    responses=ERRORS,
    tags=["recommendations"],
    summary="Top-N for a new visitor from a few rated items (fold-in, with reasons)",
)
def history_recommendations(svc: Svc, body: HistoryRequest) -> RecommendationList:
    one_kernel_thread()
    state = svc.holder.current
    history, silent = _history_values(state, [(e.item, e.rating) for e in body.history])
    recs = _recommend_history(state, history, body.n, body.why, silent + list(body.exclude))
    return RecommendationList(
        known=bool(recs.known),
        folded_in=len(history),
        ignored=list(getattr(recs, "ignored", None) or []),
        model_version=state.version,
        items=_recommended(state, recs.items.tolist(), recs.scores.tolist(), getattr(recs, "reasons", None) if body.why else None),
    )


# ---------------------------------------------------------------------------------------------------- items
@router.get("/items/{item_id}/similar", response_model=SimilarItems, responses=ERRORS, tags=["items"], summary="More like this")
def similar(svc: Svc, item_id: ItemId, n: TopN = 10) -> SimilarItems:
    one_kernel_thread()
    state = svc.holder.current
    raw = state.item_raw(item_id)
    recs = state.model.similar_items(raw, n)
    items = recs.items.tolist()
    return SimilarItems(
        item=raw,
        title=state.title([raw])[0],
        model_version=state.version,
        items=[Item(item=i, title=t, score=_finite(s)) for i, t, s in zip(items, state.title(items), recs.scores.tolist())],
    )


@router.get("/items", response_model=ItemList, responses=ERRORS, tags=["items"], summary="Search items by title")
def search_items(
    svc: Svc, query: Annotated[str, Query(max_length=200, description="Part of a title, any case")] = "", limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> ItemList:
    state = svc.holder.current
    items = state.search(query, limit)
    return ItemList(items=[Item(item=i, title=t) for i, t in zip(items, state.title(items))])


# ---------------------------------------------------------------------------------------------------- users
@router.get("/users/{user_id}/history", response_model=UserHistory, responses=ERRORS, tags=["users"], summary="A user's training items and stored feedback")
def user_history(svc: Svc, user_id: UserId) -> UserHistory:
    state = svc.holder.current
    raw = state.user_raw(user_id)
    key = str(raw) if raw is not None else user_id
    feedback = svc.store.ratings_of(key)
    if raw is None and not feedback:
        raise UnknownIdError(f"unknown user {user_id!r}: not in the model's training data and no stored feedback")
    training, exact = state.training_history(raw) if raw is not None else ([], False)
    stored = [(state.item_raw(r.item), r.rating) for r in feedback]
    rows = [
        UserHistoryItem(item=i, title=t, rating=v if exact else None, source="training") for (i, v), t in zip(training, state.title([i for i, _ in training]))
    ]
    rows += [UserHistoryItem(item=i, title=t, rating=r, source="feedback") for (i, r), t in zip(stored, state.title([i for i, _ in stored]))]
    return UserHistory(user=raw if raw is not None else user_id, known=raw is not None, items=rows)


@router.post(
    "/users/{user_id}/ratings",
    response_model=RatingsStored,
    responses={**ERRORS, **AUTH_ERRORS},
    tags=["users"],
    summary="Store feedback (one or many ratings); it changes the user's recommendations at once",
)
def post_ratings(svc: Svc, _auth: Auth, user_id: UserId, body: RatingsRequest) -> RatingsStored:
    state = svc.holder.current
    raw = state.user_raw(user_id)
    seen: set = set()
    rows = []
    for entry in body.ratings:
        item = state.item_raw(entry.item)
        state.scale.check(entry.rating)
        if item in seen:
            raise DataError(f"item {entry.item!r} is rated twice in one request")
        seen.add(item)
        rows.append((str(item), entry.rating))
    stored = svc.store.add_ratings(str(raw) if raw is not None else user_id, rows)
    return RatingsStored(user=raw if raw is not None else user_id, stored=stored)


# ---------------------------------------------------------------------------------------------------- admin
@router.post(
    "/admin/reload",
    response_model=Reloaded,
    responses={**AUTH_ERRORS, 409: {"model": Error, "description": "The folder holds no usable model"}},
    tags=["admin"],
    summary="Load the model folder again and swap it in atomically",
)
def reload_model(svc: Svc, _auth: Auth) -> Reloaded:
    try:
        state, previous = svc.holder.reload()
    except Exception:
        svc.metrics.reloads.labels(outcome="failed").inc()
        raise
    svc.metrics.reloads.labels(outcome="ok").inc()
    svc.metrics.set_model(state.version, state.model.name)
    return Reloaded(model_version=state.version, previous_version=previous.version if previous else None)
