"""Models shared by both providers: the page shape and small action results."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

T = TypeVar("T")


class ApiModel(BaseModel):
    """Base of every upstream model: unknown fields are kept, missing optional ones are None (APIs drift)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class Result(BaseModel):
    """Base of tool results built here (not parsed from an API)."""

    model_config = ConfigDict(defer_build=True)


class Identified(ApiModel):
    id: str = Field(validation_alias=AliasChoices("id", "_id"), description="Id.")


class Page(Result, Generic[T]):
    """One page of a listing. Pass the `next` arguments to the same call to read the following page."""

    items: list[T] = Field(description="Items on this page.")
    total: int | None = Field(None, description="Total items, when the API reports it.")
    has_more: bool = Field(False, description="True when another page follows.")
    next: dict[str, int | str] | None = Field(
        None, description="Arguments to add to the same call for the next page; null on the last page."
    )
    truncated: bool | None = Field(None, description="True when items were cut to fit the result budget.")
    note: str | None = Field(None, description="What was left out and how to read it.")


class ActionResult(Result):
    """Outcome of a write that returns no object."""

    ok: bool = Field(description="True when the API accepted the request.")
    id: str | None = Field(None, description="Id of the affected object.")
    message: str = Field(description="What happened.")
    details: dict[str, Any] | None = Field(None, description="The API's answer, when it gave one.")


def as_items(payload: Any) -> list[Any]:
    """The list inside an answer: a bare list, or `data`/`results`/`items` of an envelope."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in ("data", "results", "items", "docs"):
            value = payload.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict):
                inner = as_items(value)
                if inner:
                    return inner
    return []


def offset_page(payload: Any, items: list[T], *, key: str, start: int, limit: int | None) -> Page[T]:
    """Normalise an offset-paged answer (`pagination{...}` or `total`/`has_more`) into a `Page`."""
    meta: dict[str, Any] = payload if isinstance(payload, dict) else {}
    raw = meta.get("pagination")
    pagination: dict[str, Any] = raw if isinstance(raw, dict) else {}
    total = pagination.get("total", meta.get("total"))
    total = total if isinstance(total, int) else None
    has_more = pagination.get("has_next", meta.get("has_more"))
    if not isinstance(has_more, bool):
        has_more = start + len(items) < total if total is not None else limit is not None and len(items) >= limit > 0
    nxt: dict[str, int | str] | None = {key: start + len(items)} if has_more and items else None
    return Page[T](items=items, total=total, has_more=bool(nxt), next=nxt)
