"""Result fitting: a tool's output model as compact JSON, cut to the answer budget with a note on how to read the rest.

Tool results and resources share it, so every answer, errors included, fits `max_result_chars`.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import BaseModel

from channel_mcp.models import Page


def to_data(out: BaseModel) -> tuple[dict[str, Any], int]:
    """Dump an output model compactly; returns the data and, for offset pages, where the page starts."""
    data = out.model_dump(mode="json", by_alias=True, exclude_none=True)
    for name in _required(type(out)):
        if name not in data:  # a required null says something: keep it
            data[name] = None
    start = 0
    if isinstance(out, Page) and out.next:
        for value in out.next.values():
            if isinstance(value, int):
                start = value - len(out.items)
    return data, start


@functools.cache
def _required(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(name for name, info in model.model_fields.items() if info.is_required())


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def fitting_prefix(data: dict[str, Any], items: list[Any], limit: int, room: int = 400) -> int:
    """How many leading `items` fit in `limit` characters of `data`, leaving `room` for a note."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(dumps({**data, "items": items[:mid]})) + room <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def fit(data: dict[str, Any], limit: int, *, start: int = 0) -> tuple[dict[str, Any], str]:
    """Cut a result to at most `limit` characters of JSON, saying what was left out and how to get it."""
    text = dumps(data)
    if len(text) <= limit:
        return data, text
    items = data.get("items")
    if isinstance(items, list) and items:
        kept = fitting_prefix(data, items, limit)
        cut = {**data, "items": items[:kept], "truncated": True}
        nxt = data.get("next") or {}
        key = next((k for k, v in nxt.items() if isinstance(v, int)), None)
        if key is not None or not nxt:
            key = key or "skip"
            cut["next"] = {key: start + kept}
            cut["has_more"] = True
            cut["note"] = (
                f"Only {kept} of {len(items)} items fit the result budget; continue with {key}={start + kept} "
                "or ask for a smaller limit."
            )
        else:
            cut["note"] = (
                f"Only {kept} of {len(items)} items fit the result budget; call again with limit={max(1, kept)} "
                "to read this page in smaller parts."
            )
        return cut, dumps(cut)
    trimmed = _trim(data, limit)
    trimmed["truncated"] = True
    trimmed["note"] = "Large values were shortened to fit the result budget."
    return trimmed, dumps(trimmed)


def _trim(data: dict[str, Any], limit: int) -> dict[str, Any]:
    budget = max(200, limit // 4)
    while True:
        out: dict[str, Any] = _shorten(data, budget, top=True)
        if len(dumps(out)) + 200 <= limit:
            return out
        if budget <= 50:
            return _leading_fields(out, limit)
        budget //= 2


def _shorten(value: Any, budget: int, *, top: bool = False) -> Any:
    if isinstance(value, str):
        return value if len(value) <= budget else value[:budget] + "…"
    if isinstance(value, list):
        return [_shorten(v, budget) for v in value[: max(1, budget // 20)]]
    if isinstance(value, dict):
        # Wide nested objects are cut like lists (a 4,000-key config went over the budget); the top level
        # keeps every field, since the output schema names them. Never fewer than 20 keys: small typed
        # objects nested in a result stay whole.
        pairs = list(value.items())
        keep = pairs if top else pairs[: max(20, budget // 20)]
        out = {k: _shorten(v, budget) for k, v in keep}
        if len(keep) < len(pairs):
            out["…"] = f"{len(pairs) - len(keep)} more keys"
        return out
    return value


def _leading_fields(out: dict[str, Any], limit: int) -> dict[str, Any]:
    """Last resort, for a top level with thousands of fields: the leading fields that fit."""
    kept: dict[str, Any] = {}
    size = 0
    for key, value in out.items():
        size += len(dumps({key: value}))  # over-counts by a brace per field: errs on the small side
        if size + 200 > limit:
            break
        kept[key] = value
    return kept
