"""Tolerant reading of provider answers: the one policy both clients use.

APIs drift. The models declare the documented fields (seeds/), and this module decides what happens
when an answer does not fit them:

* envelopes are unwrapped the same way everywhere: ``{"success", "data"}``, nested ``data.data``,
  ``results``/``items``/``docs`` lists, and paging metadata wherever it sits (``pagination`` at the top
  or inside ``data``, ``total``/``has_more``, ``totalDocs``/``hasNextPage``);
* one list item that does not fit never sinks the page: the items that fit are returned, and
  ``unreadable`` says how many did not (with their ids where they have one);
* a single object that does not fit is returned as sent (the clean/mask/bound steps on the way out
  still apply) with ``shape_note`` saying its shape was unexpected: the fields that fit stay in their
  documented places and the ones that do not are kept, as sent, under ``unexpected`` (so the result
  still matches the outputSchema, which MCP clients check);
* only when nothing can be read (an object was expected and a list or a string came) is it an error,
  `ShapeError`, whose text says what came: top-level keys and their types. That is a permanent
  mismatch, so the tool error never suggests that trying again would help. (An empty body is not
  drift but a glitch, and stays an ordinary ResponseError.)
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

from channel_mcp.errors import ResponseError, ShapeError
from channel_mcp.models import ApiModel, Items, Page, Unreadable

__all__ = ["ShapeError", "as_sent", "describe", "offset_page", "raw_items", "read_items", "read_one", "unwrap"]

M = TypeVar("M", bound=ApiModel)

# Keys that only ever appear on an envelope, never on a documented object: a dict with `data` and
# nothing else but these is a wrapper. A Channel or Contact has none of them besides `data`.
_ENVELOPE_KEYS = frozenset(
    {
        "success",
        "data",
        "message",
        "status",
        "code",
        "error",
        "pagination",
        "meta",
        "total",
        "count",
        "has_more",
        "hasMore",
        "totalDocs",
        "hasNextPage",
        "hasPrevPage",
        "nextPage",
        "prevPage",
        "page",
        "limit",
        "offset",
        "skip",
        "totalPages",
        "pagingCounter",
    }
)
_LIST_KEYS = ("data", "results", "items", "docs")
_MAX_IDS = 20
SHAPE_NOTE = "The answer did not have the documented shape: the fields that did not fit are under unexpected, as sent."


def shape_error(message: str, payload: Any, *, provider: str) -> ResponseError:
    """The error for an answer with nothing readable in it. An empty body is the exception: that is what
    restarting services and truncating proxies produce, not drift, so it stays a plain ResponseError
    (worth one more try); anything with content is a ShapeError naming what came."""
    if payload is None:
        return ResponseError(f"{message}, got an empty answer", provider=provider)
    return ShapeError(f"{message}, got {describe(unwrap(payload))}", provider=provider)


def describe(payload: Any) -> str:
    """What came, for an error message: top-level keys and their JSON types, never values."""
    if isinstance(payload, dict):
        if not payload:
            return "an empty object"
        keys = list(payload)[:12]
        parts = ", ".join(f"{k} ({_json_type(payload[k])})" for k in keys)
        more = f" and {len(payload) - len(keys)} more" if len(payload) > len(keys) else ""
        return f"an object with keys {parts}{more}"
    if isinstance(payload, list):
        return f"a list of {len(payload)} item(s)"
    return f"a {_json_type(payload)}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_envelope(payload: Any) -> bool:
    return isinstance(payload, dict) and "data" in payload and set(payload) <= _ENVELOPE_KEYS


def unwrap(payload: Any) -> Any:
    """The object or list inside any number of `{"data": ...}` envelopes."""
    while _is_envelope(payload):
        payload = payload["data"]
    return payload


def _envelopes(payload: Any) -> list[dict[str, Any]]:
    """Every envelope level, outermost first, plus the innermost dict holding the list (paging may sit
    on any of them)."""
    levels: list[dict[str, Any]] = []
    while isinstance(payload, dict):
        levels.append(payload)
        inner = next((payload[k] for k in _LIST_KEYS if isinstance(payload.get(k), dict)), None)
        if inner is None or any(isinstance(payload.get(k), list) for k in _LIST_KEYS):
            break
        payload = inner
    return levels


def raw_items(payload: Any) -> list[Any] | None:
    """The list inside an answer: a bare list, or `data`/`results`/`items`/`docs` at any depth."""
    if isinstance(payload, list):
        return payload
    for level in _envelopes(payload):
        for key in _LIST_KEYS:
            value = level.get(key)
            if isinstance(value, list):
                return value
    if _is_envelope(payload) and unwrap(payload) is None:
        return []  # `{"success": true, "data": null}`: how some services say "nothing"
    return None


def _item_id(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("id", "_id"):
            value = item.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)
    return None


def _validated(model: type[M], item: Any) -> M | None:
    try:
        return model.model_validate(item)
    except ValidationError:
        return None


def read_items(model: type[M], payload: Any, *, label: str, provider: str, what: str) -> Items[M]:
    """Every item that fits `model`; the others counted in `unreadable`. No list at all is a ShapeError."""
    found = raw_items(payload)
    if found is None:
        raise shape_error(
            f"{label} answered {what} with an unexpected shape: expected a list", payload, provider=provider
        )
    items: list[M] = []
    bad_ids: list[str] = []
    bad = 0
    for item in found:
        parsed = _validated(model, item) if isinstance(item, dict) else None
        if parsed is None:
            bad += 1
            item_id = _item_id(item)
            if item_id is not None and len(bad_ids) < _MAX_IDS:
                bad_ids.append(item_id)
        else:
            items.append(parsed)
    return Items[model](items=items, unreadable=_unreadable(bad, bad_ids, len(found)))  # type: ignore[valid-type]


def _unreadable(bad: int, ids: list[str], seen: int) -> Unreadable | None:
    if not bad:
        return None
    which = f" (ids: {', '.join(ids)})" if ids else ""
    return Unreadable(
        count=bad,
        ids=ids,
        note=(
            f"{bad} of {seen} item(s) did not have the documented shape and are left out{which}; "
            "read one by id to see it as sent."
        ),
    )


def read_one(model: type[M], payload: Any, *, label: str, provider: str, what: str) -> M:
    """`payload` as `model`; when it does not fit, the object as sent with `shape_note` set."""
    data = unwrap(payload)
    if not isinstance(data, dict):
        raise shape_error(
            f"{label} answered {what} with an unexpected shape: expected an object", payload, provider=provider
        )
    parsed = _validated(model, data)
    if parsed is not None:
        return parsed
    return as_sent(model, data)


def as_sent(model: type[M], data: dict[str, Any]) -> M:
    """`data` as sent, in a form that still matches the published outputSchema: the fields that fit are in
    their documented places, the ones that do not are under `unexpected` with their values as sent."""
    try:
        model.model_validate(data)
        bad: set[str] = set()
    except ValidationError as exc:  # every field error at once: the top-level names are the ones to move
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
    try:
        obj = model.model_validate({k: v for k, v in data.items() if k not in bad})
    except ValidationError:  # a rule across fields: keep nothing typed, show everything as sent
        obj, bad = model.model_validate({}), set(data)
    obj.unexpected = {k: v for k, v in data.items() if k in bad} or None
    obj.shape_note = SHAPE_NOTE
    return obj


def offset_page(payload: Any, listing: Items[M], *, key: str, start: int, limit: int | None) -> Page[M]:
    """Normalise an offset-paged answer into a `Page`, wherever its paging metadata sits."""
    total: int | None = None
    has_more: bool | None = None
    for level in _envelopes(payload):
        for meta in (level.get("pagination"), level.get("meta"), level):
            if not isinstance(meta, dict):
                continue
            for name in ("total", "totalDocs", "total_count"):
                value = meta.get(name)
                if total is None and isinstance(value, int) and not isinstance(value, bool):
                    total = value
            for name in ("has_next", "has_more", "hasNextPage", "hasMore"):
                value = meta.get(name)
                if has_more is None and isinstance(value, bool):
                    has_more = value
    # Unreadable items still occupy places on the page: the next page starts after them.
    seen = len(listing.items) + (listing.unreadable.count if listing.unreadable else 0)
    if has_more is None:
        has_more = start + seen < total if total is not None else limit is not None and seen >= limit > 0
    nxt: dict[str, int | str] | None = {key: start + seen} if has_more and seen else None
    return Page[M](items=listing.items, unreadable=listing.unreadable, total=total, has_more=bool(nxt), next=nxt)
