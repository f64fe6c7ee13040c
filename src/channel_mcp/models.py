"""Models shared by both providers: the page shape and small action results."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

T = TypeVar("T")


class ApiModel(BaseModel):
    """Base of every upstream model: the documented fields are declared, unknown fields are kept, and a
    missing one is None (APIs drift). See channel_mcp.reading for what happens when an answer does not fit."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    # Set by channel_mcp.reading only; a documented object never carries them.
    shape_note: str | None = Field(None, description="Set when the answer did not have the documented shape.")
    unexpected: dict[str, Any] | None = Field(None, description="Fields that did not fit, as the API sent them.")


class Result(BaseModel):
    """Base of tool results built here (not parsed from an API)."""

    model_config = ConfigDict(defer_build=True)


class Identified(ApiModel):
    """An object with the documented `id` (a missing one is tolerated, as every documented field is)."""

    id: str | None = Field(None, validation_alias=AliasChoices("id", "_id"), description="Id.")


class DocumentId(ApiModel):
    """An object whose documented id field is `_id` (credentials, comments, files, Facebook pages)."""

    id: str | None = Field(
        None, validation_alias=AliasChoices("_id", "id"), serialization_alias="_id", description="Id."
    )


class Unreadable(Result):
    """List items that did not have the documented shape and were left out."""

    count: int = Field(description="How many items were left out.")
    ids: list[str] = Field(description="Their ids, where they had one (at most 20).")
    note: str = Field(description="What to do about them.")


class Items(Result, Generic[T]):
    """A list answer: the items that could be read, and what could not."""

    items: list[T] = Field(description="Items on this page.")
    unreadable: Unreadable | None = Field(None, description="Items left out because their shape was unexpected.")


class Page(Items[T], Generic[T]):
    """One page of a listing. Pass the `next` arguments to the same call to read the following page."""

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
