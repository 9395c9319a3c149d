"""Request and response bodies of the HTTP API (pydantic; unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[int | Annotated[str, Field(min_length=1, max_length=256)], Field(description="A raw user or item id, as in the training data")]
MAX_N = 1000
MAX_HISTORY = 1000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(Strict):
    item: Id
    title: str | None = None
    contribution: float


class Recommended(Strict):
    item: Id
    title: str | None = None
    score: float
    reasons: list[Reason] | None = None


class RecommendationList(Strict):
    user: Id | None = None
    known: bool = Field(description="Whether the list is personal (a known user or a history with known items), not the fallback ranking")
    folded_in: int = Field(default=0, description="Ratings folded in at request time (stored feedback, or the posted history)")
    ignored: list[Id] = Field(default_factory=list, description="History items not in the model's catalogue")
    model_version: str
    items: list[Recommended]


class HistoryEntry(Strict):
    item: Id
    rating: float = Field(description="The value given; for a new visitor's history, 1 for implicit feedback")


class HistoryRequest(Strict):
    history: list[HistoryEntry] = Field(..., max_length=MAX_HISTORY, description="The visitor's rated items")
    n: int = Field(default=10, ge=1, le=MAX_N)
    why: int = Field(default=0, ge=0, le=10, description="Reasons per recommended item (0: none)")
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_HISTORY)


class Item(Strict):
    item: Id
    title: str | None = None
    score: float | None = None


class ItemList(Strict):
    items: list[Item]


class SimilarItems(Strict):
    item: Id
    title: str | None = None
    model_version: str
    items: list[Item]


class UserHistoryItem(Strict):
    item: Id
    title: str | None = None
    rating: float | None = Field(default=None, description="The rating given (training or feedback); None where the model keeps no rating (implicit models)")
    source: str = Field(description="'training' or 'feedback'")


class UserHistory(Strict):
    user: Id
    known: bool
    items: list[UserHistoryItem]


class RatingsRequest(Strict):
    ratings: list[HistoryEntry] = Field(..., min_length=1, max_length=MAX_HISTORY)


class RatingsStored(Strict):
    user: Id
    stored: int


class Health(Strict):
    status: str


class Ready(Strict):
    status: str
    model: str | None = None
    model_version: str | None = None
    items: int | None = None
    users: int | None = None
    scale: str | None = None
    feedback_kind: str | None = Field(default=None, description="explicit, implicit or binary")
    like_value: float | None = Field(default=None, description="The rating that says 'I like it' on this model's scale")
    rating_min: float | None = None
    rating_max: float | None = None
    has_titles: bool | None = None
    detail: str | None = None


class Reloaded(Strict):
    model_version: str
    previous_version: str | None = None


class Error(Strict):
    error: str
    kind: str
